#!/usr/bin/python3
"""bench/fd_flood.py: one server under a churning TCP connection flood,
driven by fd_flood.sh (which starts the server with a low RLIMIT_NOFILE).

  fd_flood.py --port P --pid PID [--seconds 10] [--hold 1500] [--probe NAME]

Two threads open TCP connections as fast as they can (1 s connect timeout)
and keep up to --hold of them each, closing the older half whenever they
reach it; a third sends one UDP query for --probe every 50 ms (1 s
timeout) from a fresh socket. The flood runs --seconds, then every client
socket closes. Prints one line of key=value:

  udp_sent, udp_answered   UDP probes during the flood, and answered
  conns                    TCP connections the flood opened
  fds_max                  the server's peak descriptor count (/proc, 10/s)
  recover_ms               from the end of the flood to the first answer
                           over TCP (-1: none within 30 s)
  fds_after, cpu_after     descriptors held and CPU used (% of one core)
                           over the 3 s after recovery
"""

import argparse
import os
import socket
import struct
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def query_wire(name, qtype=33):
    q = struct.pack("!HHHHHH", 0x1234, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def tcp_answer(port, wire):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            return len(s.recv(2)) == 2
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--hold", type=int, default=1500)
    ap.add_argument("--probe", default="_matrix-fed._tcp.bench.test")
    a = ap.parse_args()
    wire = query_wire(a.probe)
    stop = time.monotonic() + a.seconds
    stats = {"udp_sent": 0, "udp_answered": 0, "conns": 0, "fds_max": 0}
    lock = threading.Lock()

    def flood():
        held = []
        try:
            while time.monotonic() < stop:
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.settimeout(1)
                try:
                    c.connect(("127.0.0.1", a.port))
                    held.append(c)
                    with lock:
                        stats["conns"] += 1
                except OSError:
                    c.close()
                if len(held) >= a.hold:
                    for c in held[: a.hold // 2]:
                        c.close()
                    del held[: a.hold // 2]
        finally:
            for c in held:
                c.close()

    def probe():
        while time.monotonic() < stop:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(1)
                s.sendto(wire, ("127.0.0.1", a.port))
                stats["udp_sent"] += 1
                try:
                    s.recv(4096)
                    stats["udp_answered"] += 1
                except OSError:
                    pass
            time.sleep(0.05)

    def watch():
        while time.monotonic() < stop:
            stats["fds_max"] = max(stats["fds_max"], fds(a.pid))
            time.sleep(0.1)

    threads = [threading.Thread(target=f) for f in (flood, flood, probe, watch)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t0 = time.monotonic()
    recover = -1
    while time.monotonic() - t0 < 30:
        if tcp_answer(a.port, wire):
            recover = int((time.monotonic() - t0) * 1000)
            break
        time.sleep(0.05)
    c0, w0 = cpu_ticks(a.pid), time.monotonic()
    time.sleep(3)
    cpu = 100.0 * (cpu_ticks(a.pid) - c0) / TICK / (time.monotonic() - w0)
    print(" ".join(f"{k}={v}" for k, v in stats.items()),
          f"recover_ms={recover} fds_after={fds(a.pid)} cpu_after={cpu:.0f}")


if __name__ == "__main__":
    main()
