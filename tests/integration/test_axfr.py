"""Zone transfer out (RFC 5936): AXFR over TCP to an allowed client is the
whole zone between two SOAs with AA=1; other clients and other zones get
REFUSED; AXFR over UDP gets NOTIMP."""

import socket
import struct
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.name
import dns.tsig
import dns.tsigkeyring
import dns.zone
import pytest

from srvdtest import bundled_zone, make_query

XFR_TIMEOUT = 15.0


def zone_rrs(path, origin):
    """The zone's records as a set of (name, ttl, type, rdata) texts."""
    z = dns.zone.from_file(str(path), origin=origin, relativize=False)
    out = set()
    for name, ttl, rd in z.iterate_rdatas():
        out.add((name.to_text().lower(), ttl, dns.rdatatype.to_text(rd.rdtype), rd.to_text()))
    return out


def rr_key(rrset, rd):
    return (rrset.name.to_text().lower(), rrset.ttl, dns.rdatatype.to_text(rd.rdtype),
            rd.to_text())


def read_msg(sock, deadline):
    def exact(n):
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            assert left > 0, "transfer timed out"
            sock.settimeout(left)
            chunk = sock.recv(n - len(buf))
            assert chunk, "connection closed mid-transfer"
            buf += chunk
        return buf
    (ln,) = struct.unpack("!H", exact(2))
    return dns.message.from_wire(exact(ln), xfr=True, one_rr_per_rrset=True)


def axfr(port, zone, addr="127.0.0.1", source=None):
    """Run an AXFR over TCP; returns (messages, records in order)."""
    q = make_query(zone, "AXFR", edns=False)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    msgs, rrs = [], []
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        if source:
            s.bind((source, 0))
        s.settimeout(5)
        s.connect((addr, port))
        w = q.to_wire()
        s.sendall(struct.pack("!H", len(w)) + w)
        deadline = time.monotonic() + XFR_TIMEOUT
        for _ in range(10000):
            m = read_msg(s, deadline)
            assert m.id == q.id
            msgs.append(m)
            if m.rcode() != dns.rcode.NOERROR:
                break
            for rrset in m.answer:
                for rd in rrset:
                    rrs.append((rrset, rd))
            if len(rrs) >= 2 and rrs[-1][1].rdtype == dns.rdatatype.SOA:
                break
        else:
            pytest.fail("transfer never ended")
    return msgs, rrs


@pytest.fixture
def xfr_srvd(srvd_factory, tmp_path):
    ex = tmp_path / "example.com.zone"
    ex.write_text(bundled_zone().read_text())
    other = tmp_path / "other.test.zone"
    other.write_text("$ORIGIN other.test.\n$TTL 300\n"
                     "@ IN SOA ns.other.test. h.other.test. 7 3600 600 86400 60\n"
                     "@ IN NS ns\nns IN A 192.0.2.7\n")
    return srvd_factory(zones=[("example.com", ex, ["127.0.0.1"]), ("other.test", other, None)])


def test_axfr_tcp_allowed(xfr_srvd):
    msgs, rrs = axfr(xfr_srvd.port, "example.com")
    assert all(m.rcode() == dns.rcode.NOERROR for m in msgs)
    for m in msgs:
        assert m.flags & dns.flags.AA, "AXFR responses need AA=1 (RFC 5936 2.2.1)"
        assert not m.flags & dns.flags.TC
    assert rrs[0][1].rdtype == dns.rdatatype.SOA, "must start with the SOA"
    assert rrs[-1][1].rdtype == dns.rdatatype.SOA, "must end with the SOA"
    assert rrs[0][1] == rrs[-1][1]
    body = [rr_key(rs, rd) for rs, rd in rrs[:-1]]
    want = zone_rrs(bundled_zone(), "example.com.")
    assert len(body) == len(want), f"{len(body)} records transferred, zone has {len(want)}"
    assert set(body) == want
    assert len(set(body)) == len(body), "duplicate records"


def test_axfr_refused_for_other_client(xfr_srvd):
    """allow-transfer is 127.0.0.1 only: 127.0.0.2 and ::1 are refused."""
    for addr, source in (("127.0.0.1", "127.0.0.2"), ("::1", None)):
        msgs, rrs = axfr(xfr_srvd.port, "example.com", addr=addr, source=source)
        assert len(msgs) == 1
        assert msgs[0].rcode() == dns.rcode.REFUSED, (addr, source)
        assert rrs == []


def test_axfr_refused_for_zone_without_acl(xfr_srvd):
    msgs, rrs = axfr(xfr_srvd.port, "other.test")
    assert msgs[0].rcode() == dns.rcode.REFUSED
    assert rrs == []


def test_axfr_refused_for_zone_not_served(xfr_srvd):
    """Not authoritative: REFUSED like any out-of-zone query, or NOTAUTH (RFC 5936 2.2.1)."""
    msgs, _ = axfr(xfr_srvd.port, "example.org")
    assert msgs[0].rcode() in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)


def test_axfr_over_udp_notimp(xfr_srvd):
    q = make_query("example.com", "AXFR", edns=False)
    r = dns.query.udp(q, "127.0.0.1", port=xfr_srvd.port, timeout=3)
    assert r.rcode() == dns.rcode.NOTIMP, dns.rcode.to_text(r.rcode())
    assert r.answer == []


def test_dnspython_inbound_xfr(xfr_srvd):
    """A real client library accepts the transfer as a zone."""
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.com", port=xfr_srvd.port,
                                        timeout=5, lifetime=XFR_TIMEOUT, relativize=False),
                          relativize=False)
    assert z.get_rdataset("_matrix-fed._tcp.example.com.", "SRV") is not None
    n = sum(1 for _ in z.iterate_rdatas())
    assert n == len(zone_rrs(bundled_zone(), "example.com."))


# ---- transfers granted by TSIG key ------------------------------------------

XFR_KEY = "xfr-key."
XFR_SECRET = "c3J2ZC10cmFuc2Zlci1rZXktZm9yLXRlc3RzLW9ubHkhIQ=="
OTHER_KEY = "other-key."


@pytest.fixture
def key_srvd(srvd_factory, tmp_path):
    """example.com transferable only with xfr-key, from any address; other-key
    is configured (it verifies) but not granted."""
    ex = tmp_path / "example.com.zone"
    ex.write_text(bundled_zone().read_text())
    keys = ("keys:\n"
            f"  - name: {XFR_KEY}\n    algorithm: hmac-sha256\n    secret: \"{XFR_SECRET}\"\n"
            f"  - name: {OTHER_KEY}\n    algorithm: hmac-sha256\n    secret: \"{XFR_SECRET}\"\n")
    return srvd_factory(zones=[("example.com", ex, ['"key:Xfr-Key"'])], top_extra=keys), ex


def keyring(name):
    import dns.tsigkeyring
    return dns.tsigkeyring.from_text({name: ("hmac-sha256", XFR_SECRET)})


def test_axfr_granted_by_key(key_srvd):
    """allow-transfer: [key:NAME] lets a signed request in from an address
    the ACL does not list; every message of the answer is signed (dnspython
    checks each MAC and raises on a missing or bad one)."""
    s, path = key_srvd
    msgs = dns.query.xfr("127.0.0.1", "example.com.", port=s.port, timeout=XFR_TIMEOUT,
                         lifetime=XFR_TIMEOUT, keyring=keyring(XFR_KEY), keyname=XFR_KEY,
                         relativize=False)
    z = dns.zone.from_xfr(msgs, relativize=False)
    got = set()
    for name, ttl, rd in z.iterate_rdatas():
        got.add((name.to_text().lower(), ttl, dns.rdatatype.to_text(rd.rdtype), rd.to_text()))
    assert got == zone_rrs(path, "example.com.")


def test_axfr_unsigned_refused_when_only_a_key_is_granted(key_srvd):
    s, _ = key_srvd
    r = dns.query.tcp(make_query("example.com", "AXFR", edns=False), "127.0.0.1", port=s.port,
                      timeout=XFR_TIMEOUT)
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.answer


def test_axfr_with_a_key_not_granted_refused(key_srvd):
    """A key that verifies but is not in the ACL grants nothing: REFUSED,
    and the refusal is signed with that key (RFC 8945 5.3)."""
    s, _ = key_srvd
    q = make_query("example.com", "AXFR", edns=False)
    q.use_tsig(keyring(OTHER_KEY), keyname=OTHER_KEY)
    r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=XFR_TIMEOUT)
    assert r.rcode() == dns.rcode.REFUSED
    assert r.had_tsig


def test_axfr_with_an_unknown_key_is_badkey(key_srvd):
    s, _ = key_srvd
    q = make_query("example.com", "AXFR", edns=False)
    q.use_tsig(keyring("nobody."), keyname="nobody.")
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=XFR_TIMEOUT)


# ---- malformed TSIG from an allowed address (issue 14) -------------------------


def signed_axfr_wire(zone):
    """An AXFR request signed with a key srvd does not know, and where its
    TSIG record starts."""
    q = make_query(zone, "AXFR", edns=False)
    plain = len(q.to_wire())
    q.use_tsig(dns.tsigkeyring.from_text({"any-key.": ("hmac-sha256", XFR_SECRET)}),
               keyname="any-key.")
    return bytearray(q.to_wire()), plain


def short_mac(wire, at):
    """The TSIG record at `at` with its 32-byte MAC cut to 5 bytes (MAC size
    and RDLENGTH made to match): well formed as a record, wrong for the
    algorithm."""
    p = at
    while wire[p]:  # owner: the key name, uncompressed
        p += wire[p] + 1
    p += 1 + 8  # root label, type, class, TTL
    rdlen_at = p
    p += 2
    while wire[p]:  # algorithm name
        p += wire[p] + 1
    p += 1 + 6 + 2  # time signed, fudge
    (mac_len,) = struct.unpack("!H", wire[p:p + 2])
    assert mac_len == 32
    wire[p:p + 2] = struct.pack("!H", 5)
    del wire[p + 2 + 5:p + 2 + 32]
    (rdlen,) = struct.unpack("!H", wire[rdlen_at:rdlen_at + 2])
    wire[rdlen_at:rdlen_at + 2] = struct.pack("!H", rdlen - 27)
    return wire


def not_last(wire):
    """A record after the TSIG: RFC 8945 5.1 says the TSIG must be last."""
    wire += dns.name.from_text("example.com.").to_wire() + struct.pack("!HHIH", 16, 1, 0, 2)
    wire += b"\x01x"
    (ar,) = struct.unpack("!H", wire[10:12])
    wire[10:12] = struct.pack("!H", ar + 1)
    return wire


def raw_answer(port, wire):
    """(rcode, ANCOUNT) of the first answer to one framed request."""
    with socket.create_connection(("127.0.0.1", port), timeout=XFR_TIMEOUT) as s:
        s.sendall(struct.pack("!H", len(wire)) + bytes(wire))
        s.settimeout(XFR_TIMEOUT)
        buf = b""
        while len(buf) < 2 + 12:
            chunk = s.recv(4096)
            assert chunk, "closed without an answer"
            buf += chunk
    flags, _qd, an = struct.unpack("!HHH", buf[4:10])
    return flags & 0xF, an


@pytest.mark.parametrize("damage", ["short-mac", "not-last"])
def test_malformed_tsig_on_axfr_never_gets_the_zone(xfr_srvd, damage):
    """From an address allow-transfer lists, an AXFR that carries a broken
    TSIG gets FORMERR or NOTAUTH (RFC 8945 5.1, 5.2), never the zone as if
    the request were unsigned."""
    wire, plain = signed_axfr_wire("example.com")
    wire = short_mac(wire, plain) if damage == "short-mac" else not_last(wire)
    rcode, an = raw_answer(xfr_srvd.port, wire)
    assert rcode in (dns.rcode.FORMERR, dns.rcode.NOTAUTH), dns.rcode.to_text(rcode)
    assert an == 0, "records came back: the zone was served"
    # the same request unsigned is served: the address is allowed
    msgs, rrs = axfr(xfr_srvd.port, "example.com")
    assert msgs[0].rcode() == dns.rcode.NOERROR and rrs
