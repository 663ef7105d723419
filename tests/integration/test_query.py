"""Answers over UDP, TCP and IPv6 from the bundled zone, including the Matrix
delegation names, the _tcp empty non-terminal, NXDOMAIN and REFUSED."""

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from srvdtest import ZONE_SERIAL, rdata_texts

MATRIX_TARGET = "matrix.example.com."
MATRIX_A = {"192.0.2.10"}
MATRIX_AAAA = {"2001:db8::10"}


def check_header(r, q_rcode=dns.rcode.NOERROR, aa=True):
    assert r.rcode() == q_rcode, dns.rcode.to_text(r.rcode())
    assert r.flags & dns.flags.QR
    assert bool(r.flags & dns.flags.AA) == aa
    assert not r.flags & dns.flags.RA
    assert not r.flags & dns.flags.TC


def check_soa(r):
    assert len(r.answer) == 1
    soa = r.answer[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa[0].serial == ZONE_SERIAL


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_soa_ipv4(srvd, tcp):
    r = srvd.q("example.com", "SOA", tcp=tcp)
    check_header(r)
    check_soa(r)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_soa_ipv6(srvd, tcp):
    r = srvd.q("example.com", "SOA", tcp=tcp, addr="::1")
    check_header(r)
    check_soa(r)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_apex_addresses(srvd, tcp):
    r = srvd.q("example.com", "A", tcp=tcp)
    check_header(r)
    assert rdata_texts(r.answer, "example.com.", "A") == {"192.0.2.1"}
    r = srvd.q("example.com", "AAAA", tcp=tcp, addr="::1")
    check_header(r)
    assert rdata_texts(r.answer, "example.com.", "AAAA") == {"2001:db8::1"}


def test_apex_ns_with_glue(srvd):
    r = srvd.q("example.com", "NS")
    check_header(r)
    assert rdata_texts(r.answer, "example.com.", "NS") == {"ns1.example.com.", "ns2.example.net."}
    assert rdata_texts(r.additional, "ns1.example.com.", "A") == {"192.0.2.53"}
    assert rdata_texts(r.additional, "ns1.example.com.", "AAAA") == {"2001:db8::53"}


@pytest.mark.parametrize("owner", ["_matrix-fed._tcp.example.com.", "_matrix._tcp.example.com."])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_matrix_srv_with_additional(srvd, owner, tcp):
    r = srvd.q(owner, "SRV", tcp=tcp)
    check_header(r)
    assert len(r.answer) == 1
    srv = r.answer[0]
    assert srv.rdtype == dns.rdatatype.SRV and srv.ttl == 3600
    assert {(rd.priority, rd.weight, rd.port, rd.target.to_text()) for rd in srv} == {
        (10, 0, 8448, MATRIX_TARGET)}
    assert rdata_texts(r.additional, MATRIX_TARGET, "A") == MATRIX_A
    assert rdata_texts(r.additional, MATRIX_TARGET, "AAAA") == MATRIX_AAAA


def test_matrix_srv_ipv6(srvd):
    r = srvd.q("_matrix-fed._tcp.example.com", "SRV", addr="::1")
    check_header(r)
    assert rdata_texts(r.additional, MATRIX_TARGET, "AAAA") == MATRIX_AAAA


def test_matrix_srv_case_preserved(srvd):
    """DNS 0x20: the question comes back byte for byte, the data still matches."""
    r = srvd.q("_MaTrIx-FeD._TcP.eXaMpLe.CoM", "SRV")
    check_header(r)
    assert r.question[0].name.to_text() == "_MaTrIx-FeD._TcP.eXaMpLe.CoM."
    assert len(r.answer) == 1


@pytest.mark.parametrize("qtype", ["A", "AAAA", "TXT", "CNAME", "ANY"])
def test_matrix_names_never_fail(srvd, qtype):
    """Federation falls back only on NXDOMAIN/empty; SERVFAIL or REFUSED breaks it."""
    for name in ("_matrix-fed._tcp.example.com", "_matrix._tcp.example.com", "example.com",
                 "matrix.example.com"):
        r = srvd.q(name, qtype)
        assert r.rcode() == dns.rcode.NOERROR, (name, qtype, dns.rcode.to_text(r.rcode()))
        assert r.flags & dns.flags.AA


@pytest.mark.parametrize("qtype", ["SRV", "A", "TXT"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_tcp_empty_non_terminal_is_nodata(srvd, qtype, tcp):
    """_tcp.example.com exists only as the parent of the SRV names (RFC 8020)."""
    r = srvd.q("_tcp.example.com", qtype, tcp=tcp)
    check_header(r)
    assert r.answer == []
    soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
    assert len(soa) == 1 and soa[0].ttl == 300  # min(SOA TTL, MINIMUM), RFC 2308


def test_matrix_target_nodata(srvd):
    r = srvd.q("matrix.example.com", "MX")
    check_header(r)
    assert r.answer == []
    assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize("name", ["nonexistent.example.com", "_matrix-fed._udp.example.com",
                                  "x._matrix-fed._tcp.example.com"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_nxdomain_with_soa(srvd, name, tcp):
    r = srvd.q(name, "A", tcp=tcp)
    check_header(r, dns.rcode.NXDOMAIN)
    assert r.answer == []
    assert len(r.authority) == 1
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA and soa.name.to_text() == "example.com."
    assert soa.ttl == 300
    assert soa[0].serial == ZONE_SERIAL


@pytest.mark.parametrize("name", ["example.org", "com", ".", "example.com.evil.test"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_out_of_zone_refused(srvd, name, tcp):
    r = srvd.q(name, "A", tcp=tcp)
    check_header(r, dns.rcode.REFUSED, aa=False)
    assert r.answer == [] and r.authority == []


def test_id_and_question_echoed(srvd):
    for i in range(20):
        r = srvd.q(f"n{i}.example.com", "A")
        assert r.question[0].name.to_text() == f"n{i}.example.com."


def test_edns_echo(srvd):
    r = srvd.q("example.com", "SOA", edns=True, payload=4096)
    assert r.edns == 0
    r = srvd.q("example.com", "SOA", edns=False)
    assert r.edns == -1
