"""UDP answers that do not fit are sent with TC=1 and no partial RRset; the
same query over TCP gets the whole RRset (RFC 1035 4.2.1, RFC 2181 9)."""

import socket

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from srvdtest import bundled_zone, make_query

N_A = 60  # 60 A records: 60 * 16 = 960 bytes of answer, > 512
N_TXT = 12  # 12 TXT of 200 bytes: ~2.5 kB, > 1232 (our UDP limit)

ZONE = """$ORIGIN big.test.
$TTL 300
@       IN SOA ns.big.test. hostmaster.big.test. 1 7200 3600 1209600 300
        IN NS  ns
ns      IN A   192.0.2.53
small   IN A   192.0.2.1
{a}
{txt}
"""


@pytest.fixture
def big(srvd_factory, tmp_path):
    a = "\n".join(f"many IN A 198.51.100.{i + 1}" for i in range(N_A))
    txt = "\n".join(f'huge IN TXT "{i:02d}{"x" * 198}"' for i in range(N_TXT))
    zf = tmp_path / "big.test.zone"
    zf.write_text(ZONE.format(a=a, txt=txt))
    ex = tmp_path / "example.com.zone"
    ex.write_text(bundled_zone().read_text())
    return srvd_factory(zones=[("big.test", zf, None), ("example.com", ex, None)])


def udp_raw(srv, q):
    """Send q over UDP, return (response, wire length)."""
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire, ("127.0.0.1", srv.port))
        data, _ = s.recvfrom(65535)
    return dns.message.from_wire(data, ignore_trailing=False), len(data)


def check_truncated(r, size, limit, rdtype):
    assert r.flags & dns.flags.TC, "TC must be set"
    assert size <= limit, f"{size} bytes over UDP, limit {limit}"
    assert r.rcode() == dns.rcode.NOERROR
    for rrset in r.answer:  # either nothing or complete RRsets
        if rrset.rdtype == rdtype:
            pytest.fail(f"partial RRset with TC=1: {len(rrset)} records")


def test_no_edns_truncated_then_tcp(big):
    q = make_query("many.big.test", "A", edns=False)
    r, size = udp_raw(big, q)
    check_truncated(r, size, 512, dns.rdatatype.A)
    assert r.edns == -1
    full = dns.query.tcp(q, "127.0.0.1", port=big.port, timeout=5)
    assert not full.flags & dns.flags.TC
    assert full.flags & dns.flags.AA
    assert len(full.answer) == 1 and len(full.answer[0]) == N_A


def test_edns_4096_still_limited_to_1232(big):
    q = make_query("huge.big.test", "TXT", edns=True, payload=4096)
    r, size = udp_raw(big, q)
    check_truncated(r, size, 1232, dns.rdatatype.TXT)
    assert r.edns == 0
    full = dns.query.tcp(q, "127.0.0.1", port=big.port, timeout=5)
    assert not full.flags & dns.flags.TC
    assert len(full.answer) == 1 and len(full.answer[0]) == N_TXT


def test_edns_1232_fits_a_rrset(big):
    """960 bytes of A records fit in 1232 with EDNS: no truncation."""
    q = make_query("many.big.test", "A", edns=True, payload=1232)
    r, size = udp_raw(big, q)
    assert not r.flags & dns.flags.TC
    assert size <= 1232
    assert len(r.answer) == 1 and len(r.answer[0]) == N_A


def test_small_answer_not_truncated(big):
    r, size = udp_raw(big, make_query("small.big.test", "A", edns=False))
    assert not r.flags & dns.flags.TC
    assert len(r.answer) == 1


def test_other_zone_still_served(big):
    r, _ = udp_raw(big, make_query("_matrix-fed._tcp.example.com", "SRV", edns=False))
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
