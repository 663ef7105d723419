"""A primary that lies, scripted in Python, for the cases no real primary
produces on demand: IXFR refused with NOTIMP followed by an AXFR older than
what the secondary holds, or an AXFR that never ends.

It serves one zone on 127.0.0.1 (UDP and TCP, one port) from a thread:
SOA queries get `soa_serial`; IXFR gets NOTIMP when `ixfr_notimp`; AXFR
gets a small zone at `axfr_serial`, or with `endless` a stream of distinct
records that ends only when the client hangs up, `endless_bytes` are sent,
or the primary is stopped. Every query is counted in `queries` by type.
Stop it with stop() (the tests' fixtures do).
"""

import socket
import struct
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from srvdtest import free_ports


def _zone_rrsets(zone, serial, records):
    soa = dns.rrset.from_text(f"{zone}.", 300, "IN", "SOA",
                              f"ns.{zone}. hostmaster.{zone}. {serial} 60 30 604800 60")
    out = [soa, dns.rrset.from_text(f"{zone}.", 300, "IN", "NS", f"ns.{zone}."),
           dns.rrset.from_text(f"ns.{zone}.", 300, "IN", "A", "192.0.2.1")]
    out += [dns.rrset.from_text(f"s{serial}-h{i}.{zone}.", 300, "IN", "A",
                                f"198.51.100.{i % 250 + 1}") for i in range(records)]
    return soa, out


class ScriptedPrimary:
    def __init__(self, zone):
        self.zone = zone
        self.soa_serial = 1
        self.axfr_serial = 1
        self.ixfr_notimp = True
        self.endless = False
        self.endless_bytes = 1 << 40
        self.sent_bytes = 0  # by the last endless AXFR
        self.queries = {}
        self.port = free_ports(1, v6=False)
        self._stop = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self.udp.close()
        self.tcp.close()

    # ---- answers ------------------------------------------------------------

    def _count(self, q):
        name = dns.rdatatype.to_text(q.question[0].rdtype)
        self.queries[name] = self.queries.get(name, 0) + 1

    def _soa_answer(self, q):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        soa, _ = _zone_rrsets(self.zone, self.soa_serial, 0)
        r.answer.append(soa)
        return r

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - not ours to judge
                continue
            self._count(q)
            self.udp.sendto(self._soa_answer(q).to_wire(), peer)

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        c.settimeout(10)
        try:
            with c:
                hdr = self._recv(c, 2)
                q = dns.message.from_wire(self._recv(c, struct.unpack("!H", hdr)[0]))
                self._count(q)
                qtype = q.question[0].rdtype
                if qtype == dns.rdatatype.SOA:
                    self._send(c, self._soa_answer(q).to_wire())
                elif qtype == dns.rdatatype.IXFR and self.ixfr_notimp:
                    r = dns.message.make_response(q)
                    r.set_rcode(dns.rcode.NOTIMP)
                    self._send(c, r.to_wire())
                elif self.endless:
                    self._endless(c, q)
                else:
                    self._axfr(c, q)
        except OSError:
            pass  # the client hung up: that is how an endless transfer ends

    @staticmethod
    def _recv(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise OSError("closed")
            buf += chunk
        return buf

    @staticmethod
    def _send(c, wire):
        c.sendall(struct.pack("!H", len(wire)) + wire)

    def _axfr(self, c, q):
        soa, rrsets = _zone_rrsets(self.zone, self.axfr_serial, 20)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer = rrsets + [soa]
        self._send(c, r.to_wire())

    def _endless(self, c, q):
        """The SOA, then messages of distinct A records, never the closing SOA."""
        soa, _ = _zone_rrsets(self.zone, self.axfr_serial, 0)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer = [soa]
        self._send(c, r.to_wire())
        head = r.to_wire()[:12]  # ID and flags of the answer
        qq = q.question[0]  # at offset 12 in every message: 0xC00C names the zone
        qsec = qq.name.to_wire() + struct.pack("!HH", qq.rdtype, qq.rdclass)
        per_msg = 2500  # 24 bytes each: about 60 KB per message
        rr_tail = struct.pack("!HHIH", 1, 1, 300, 4)
        self.sent_bytes = 0
        n = 0
        while not self._stop.is_set() and self.sent_bytes < self.endless_bytes:
            body = bytearray(head[:6] + struct.pack("!HHH", per_msg, 0, 0) + qsec)
            for _ in range(per_msg):
                label = b"%08x" % n
                body += bytes([len(label)]) + label + b"\xc0\x0c" + rr_tail
                body += struct.pack("!I", 0x0A000000 | (n & 0xFFFFFF))
                n += 1
            self._send(c, bytes(body))
            self.sent_bytes += len(body) + 2
