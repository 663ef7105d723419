"""DNSSEC differential (issue 10): srvd, Knot and NSD serve the same signed
zone files (tests/golden/zones/dnssec: NSEC, NSEC3, NSEC3 with opt-out;
the parents alone, then with their signed children) and get the same
queries: with DO=1 over UDP with room to spare, over UDP with a 512-byte
payload (so that most signed answers set TC), over TCP, with CD=1, and
without DO.

srvd's answer is compared with each reference section by section as a set
of RRs (order within a section does not matter, TTLs do; names compare in
the canonical form validators use, RFC 4034 6.2 and RFC 6840 5.1, so case
does not matter, RFC 4343) together with the rcode, all header flags and
the DO bit. It must equal at least one reference's. Where it equals
neither, the difference must be one that EXPLAINED below allows, with the
RFC section that allows srvd's answer, and the check that goes with it
must hold: the test fails on any other difference, and on an explained one
whose check does not hold.

What the comparison takes away from the references (never from srvd):
- NSD (minimal-responses: no, its default) puts the zone's apex NS RRset,
  its RRSIG and the NS targets' addresses into the authority and
  additional sections of authoritative answers. RFC 1034 4.3.2 (step 6)
  and RFC 2181 9 leave such data to the server; srvd and Knot answer
  minimally.

Where Knot and NSD answer differently from each other (Knot 3.2, NSD 4.6):
- ANY (RFC 8482 4.1: one RRset, or a few, of the server's choice): Knot
  the first RRset in type order (A at the apex), NSD the SOA. The RFC
  prefers neither; srvd answers as Knot, with the RRset's RRSIGs.
- A query for type RRSIG: Knot gives one signature, NSD every signature at
  the name. RFC 1034 4.3.2 (step 3a: "copy all RRs which match QTYPE")
  prefers NSD's; the RRSIGs of a name are no RRset (RFC 4034 3), so there
  is no "first" to pick. srvd answers as NSD.
- UDP with 512 bytes: NSD fills what room there is with the apex NS and
  leaves out additional addresses where Knot keeps the SRV target's A and
  AAAA (both allowed, RFC 2181 9); srvd answers as Knot. Where neither
  fits, all three set TC but carry different records: Knot RRsets whose
  RRSIGs did not fit, NSD a negative answer without its SOA. RFC 2181 9
  says a resolver ignores a truncated answer and asks over TCP, so the RFC
  prefers neither; srvd sends whole RRsets with their RRSIGs, the start of
  its TCP answer (see truncated_differently).
"""

import contextlib
import dataclasses

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.zone
import pytest

import signed_peers
from srvdtest import SOURCE_DIR, Srvd, bundled_zone

FIXTURES = SOURCE_DIR / "tests" / "golden" / "zones" / "dnssec"
PARENTS = ["nsec.test", "nsec3.test", "nsec3o.test"]
# name: (TCP, EDNS payload, DO, CD). udp512: too small for most signed
# answers, so TC=1. udp-cd: CD=1, which all three clear (RFC 4035 3.1.6).
# udp-do0: the same zones without DO: no RRSIG, NSEC or NSEC3 anywhere.
TRANSPORTS = {"udp": (False, 1232, True, False), "udp512": (False, 512, True, False),
              "tcp": (True, 1232, True, False), "udp-cd": (False, 1232, True, True),
              "udp-do0": (False, 1232, False, False)}
# What the servers serve: the parents alone (so that names below secure.<z>
# get a signed referral), or the parents with their signed children (DS is
# still answered from the parent side, RFC 4035 3.1.4.1).
LAYOUTS = {"parents": [], "children": ["secure"]}
TIMEOUT = 3.0

pytestmark = pytest.mark.skipif(not signed_peers.installed(),
                                reason="knotd and nsd are not installed (scripts/test.sh)")


def nsec3_owner(zone):
    """The owner name of one NSEC3 record of the zone (that of its apex)."""
    origin = dns.name.from_text(zone)
    z = dns.zone.from_file(str(FIXTURES / f"{zone}.signed"), origin=origin, relativize=False)
    param = z.find_rdataset(origin, "NSEC3PARAM")[0]
    h = dns.dnssec.nsec3_hash(zone, param.salt or None, param.iterations, param.algorithm)
    return f"{h.lower()}.{zone}"


def queries(z, layout="parents"):
    """(id, name, type) for parent zone z: every case of the issue."""
    if layout == "children":
        return [
            ("ds", f"secure.{z}", "DS"),                  # the parent's, not the child's
            ("ds-none", f"insecure.{z}", "DS"),
            ("child-dnskey", f"secure.{z}", "DNSKEY"),    # the child's apex
            ("child-a", f"secure.{z}", "A"),
            ("child-ns", f"ns1.secure.{z}", "A"),
            ("child-nxdomain", f"nosuch.secure.{z}", "A"),
            ("child-nodata", f"secure.{z}", "TXT"),
            ("child-any", f"secure.{z}", "ANY"),
            ("srv", f"_matrix-fed._tcp.{z}", "SRV"),
        ]
    q = [
        ("srv", f"_matrix-fed._tcp.{z}", "SRV"),          # Matrix SRV, targets in additional
        ("srv-old", f"_matrix._tcp.{z}", "SRV"),
        ("a", f"matrix.{z}", "A"),                        # the target's addresses
        ("aaaa", f"matrix.{z}", "AAAA"),
        ("cname", f"www.{z}", "A"),                       # CNAME to the target
        ("cname-q", f"www.{z}", "CNAME"),
        ("nxdomain", f"nosuch.{z}", "A"),
        ("nxdomain-deep", f"_matrix-fed._tcp.nosuch.{z}", "SRV"),
        ("nxdomain-case", f"NoSuch.{z.upper()}", "A"),    # proofs for the lower-case name
        ("nxdomain-below-ent", f"x.b.ent.{z}", "A"),      # closest encloser: an ENT
        ("nxdomain-below-leaf", f"x.c.b.ent.{z}", "A"),
        ("nxdomain-last", f"zzz.{z}", "A"),               # after the last name: the chain wraps
        ("nxdomain-bytes", f"\\255\\000x.{z}", "A"),      # canonical order is by octets
        ("nxdomain-star", f"*.{z}", "A"),                 # a literal '*' where no wildcard is
        ("nodata", f"matrix.{z}", "TXT"),
        ("ent-tcp", f"_tcp.{z}", "SRV"),                  # empty non-terminals (RFC 8020)
        ("ent", f"b.ent.{z}", "A"),
        ("ent-top", f"ent.{z}", "A"),
        ("wild", f"foo.wild.{z}", "TXT"),                 # wildcard answers
        ("wild-deep", f"a.b.wild.{z}", "A"),
        ("wild-case", f"FoO.WiLd.{z}", "TXT"),
        ("wild-star", f"*.foo.wild.{z}", "TXT"),          # RFC 4592 2.2.1: '*' matched as a label
        ("wild-nodata", f"foo.wild.{z}", "MX"),
        ("wild-owner", f"*.wild.{z}", "TXT"),
        ("wild-ent", f"wild.{z}", "A"),
        ("deleg-ds", f"secure.{z}", "A"),                 # referral with DS
        ("deleg-ds-below", f"ns1.secure.{z}", "A"),
        ("deleg-nods", f"insecure.{z}", "A"),             # referral without DS
        ("deleg-nods-below", f"foo.insecure.{z}", "A"),
        ("deleg-ext", f"ext.{z}", "A"),
        ("deleg-ns", f"secure.{z}", "NS"),
        ("ds-below-cut", f"ns1.secure.{z}", "DS"),        # below the cut: a referral
        ("ds", f"secure.{z}", "DS"),                      # DS at the parent
        ("ds-none", f"insecure.{z}", "DS"),
        ("ds-none-ext", f"ext.{z}", "DS"),
        ("ds-nxdomain", f"nosuch.{z}", "DS"),
        ("dnskey", z, "DNSKEY"),
        ("soa", z, "SOA"),
        ("ns", z, "NS"),
        ("mx", z, "MX"),
        ("any", z, "ANY"),                                # RFC 8482: one RRset, signed
        ("any-matrix", f"matrix.{z}", "ANY"),
        ("rrsig", f"matrix.{z}", "RRSIG"),
    ]
    if z.startswith("nsec3"):
        owner = nsec3_owner(z)
        q += [("nsec3param", z, "NSEC3PARAM"),
              ("nsec3-owner", owner, "A"),                # RFC 5155 7.2.8: NXDOMAIN
              ("nsec3-owner-nsec3", owner, "NSEC3")]
    else:
        q += [("nsec", f"matrix.{z}", "NSEC")]
    return q


# ---- the servers ------------------------------------------------------------


@contextlib.contextmanager
def servers(tmp_path_factory, children):
    """Knot, NSD and srvd serving the parents (and the child zones named),
    each on its own port: yields {server: port}."""
    base = tmp_path_factory.mktemp("dnssec-diff")
    zones = [(p, FIXTURES / f"{p}.signed") for p in PARENTS]
    zones += [(f"{c}.{p}", FIXTURES / f"{c}.{p}.signed") for p in PARENTS for c in children]
    started = []
    try:
        for cls in (signed_peers.Knot, signed_peers.Nsd):
            peer = cls(base / cls.kind, zones)
            started.append(peer)
            peer.start()
        (base / "srvd").mkdir()
        # example.com: the helper waits for its SOA to know srvd is up
        srvd = Srvd(base / "srvd", [("example.com", bundled_zone(), None)]
                    + [(z, p, None) for z, p in zones], v6=False)
        started.append(srvd)
        srvd.start()
        yield {"srvd": srvd.port, "knot": started[0].port, "nsd": started[1].port}
        assert srvd.proc.poll() is None, f"srvd exited on its own:\n{srvd.log()}"
    finally:
        for s in reversed(started):
            if isinstance(s, Srvd):
                rc = s.stop()
                assert rc == 0, f"srvd exited {rc} after SIGTERM:\n{s.log()}"
            else:
                s.cleanup()


# ---- asking and normalising ---------------------------------------------------


@dataclasses.dataclass
class Answer:
    rcode: str
    flags: frozenset
    do: bool
    sections: dict  # name -> set of lines from rr_lines()


def rr_lines(section):
    """One "owner ttl TYPE rdata" line per RR, in the canonical form that
    validators use (RFC 4034 6.2 as RFC 6840 5.1 amends it): case does not
    matter in owner names or in the names inside RDATA (RFC 4343), while
    signatures, hashes and addresses compare as they are."""
    out = set()
    for rrset in section:
        for rd in rrset:
            wire = rd.to_digestable(dns.name.root)
            canon = dns.rdata.from_wire(rd.rdclass, rd.rdtype, wire, 0, len(wire))
            out.add(f"{rrset.name.to_text().lower()} {rrset.ttl} "
                    f"{dns.rdatatype.to_text(rrset.rdtype)} {canon.to_text()}")
    return out


def ask(port, name, rdtype, tcp, payload, do, cd):
    q = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=do, payload=payload)
    q.flags &= ~dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    if tcp:
        r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=TIMEOUT)
    else:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=TIMEOUT, ignore_trailing=False)
    flags = frozenset(f for f in ("QR", "AA", "TC", "RD", "RA", "AD", "CD")
                      if r.flags & dns.flags.from_text(f))
    return Answer(rcode=dns.rcode.to_text(r.rcode()), flags=flags,
                  do=bool(r.ednsflags & dns.flags.DO),
                  sections={"answer": rr_lines(r.answer), "authority": rr_lines(r.authority),
                            "additional": rr_lines(r.additional)})


def field(line, i):
    """Owner (0), TTL (1), type (2) or RDATA (3) of a line."""
    return line.split(" ", 3)[i]


def covers(line):
    """The type an RRSIG line covers, the type of any other line."""
    return field(line, 3).split()[0] if field(line, 2) == "RRSIG" else field(line, 2)


def strip_apex_ns(a, zone, keep_for):
    """NSD's optional apex NS (and the NS targets' addresses) out of an
    authoritative answer; see the module comment."""
    if "AA" not in a.flags:
        return a
    apex = zone + "."
    ns = {l for l in a.sections["authority"] if field(l, 0) == apex and covers(l) == "NS"}
    if not ns or any(field(l, 0) == apex and field(l, 2) == "NS" for l in keep_for):
        return a
    targets = {field(l, 3).split()[-1] for l in ns if field(l, 2) == "NS"}
    used = set()
    for l in a.sections["answer"] | (a.sections["authority"] - ns):
        if field(l, 2) in ("SRV", "MX", "NS"):
            used.add(field(l, 3).split()[-1])
    add = {l for l in a.sections["additional"] if field(l, 0) not in targets - used}
    return dataclasses.replace(a, sections={"answer": a.sections["answer"],
                                            "authority": a.sections["authority"] - ns,
                                            "additional": add})


def differences(mine, ref):
    """What differs between srvd's answer and a reference's (empty: equal)."""
    d = []
    for k in ("rcode", "flags", "do"):
        if getattr(mine, k) != getattr(ref, k):
            d.append(f"{k}: srvd {sorted(getattr(mine, k)) if k == 'flags' else getattr(mine, k)}"
                     f", ref {sorted(getattr(ref, k)) if k == 'flags' else getattr(ref, k)}")
    for sec in ("answer", "authority", "additional"):
        a, b = mine.sections[sec], ref.sections[sec]
        for l in sorted(a - b):
            d.append(f"{sec}: only srvd: {l}")
        for l in sorted(b - a):
            d.append(f"{sec}: only ref: {l}")
    return d


def zone_of(name, parent, children):
    """The served zone that holds name: the parent or one of its children."""
    n = dns.name.from_text(name)
    for c in children:
        if n.is_subdomain(dns.name.from_text(f"{c}.{parent}")):
            return f"{c}.{parent}"
    return parent


def run_all(servers, layout):
    """{(zone, transport, qid): {server: Answer}}"""
    out = {}
    for z in PARENTS:
        for tname, (tcp, payload, do, cd) in TRANSPORTS.items():
            for qid, name, rdtype in queries(z, layout):
                got = {srv: ask(port, name, rdtype, tcp, payload, do, cd)
                       for srv, port in servers.items()}
                apex = zone_of(name, z, LAYOUTS[layout])
                got["nsd"] = strip_apex_ns(got["nsd"], apex, got["srvd"].sections["authority"])
                out[(z, tname, qid)] = got
    return out


@pytest.fixture(scope="module", params=list(LAYOUTS))
def results(request, tmp_path_factory):
    layout = request.param
    with servers(tmp_path_factory, LAYOUTS[layout]) as ports:
        return layout, run_all(ports, layout)


# ---- differences that the RFCs allow -------------------------------------------


def groups(lines):
    """RRs by (owner, type covered): an RRset with its signatures."""
    out = {}
    for l in lines:
        out.setdefault((field(l, 0), covers(l)), set()).add(l)
    return out


def truncated_differently(key, got, results):
    """RFC 2181 9: a client ignores what a truncated answer carries and asks
    again over TCP, so the references fill a TC=1 answer as they like (Knot
    with RRsets whose RRSIGs did not fit, NSD with the SOA of a negative
    answer left out). srvd's must still be the start of its full answer:
    each RRset of it in the TCP answer's section, whole, with every RRSIG
    that covers it (RFC 2181 9 no partial RRsets; RFC 4035 3.1.1 an RRset
    goes with its RRSIGs). Returns why it is not, or an empty list."""
    mine = got["srvd"]
    if "TC" not in mine.flags:
        return ["srvd did not set TC"]
    if not any((r.rcode, r.flags, r.do) == (mine.rcode, mine.flags, mine.do)
               for r in (got["knot"], got["nsd"])):
        return ["no reference has the same rcode and flags"]
    full = results[(key[0], "tcp", key[2])]["srvd"]
    why = []
    for sec, lines in mine.sections.items():
        whole = groups(full.sections[sec])
        for g, rrs in groups(lines).items():
            if rrs != whole.get(g):
                why.append(f"{sec}: {g[0]} {g[1]} is not as in the TCP answer "
                           f"(RRSIGs included): {sorted(rrs)} vs {sorted(whole.get(g, ()))}")
    return why


# Where srvd may differ from both references: (transports, why the RFCs
# allow it, check that srvd's answer is such an answer).
EXPLAINED = [
    ({"udp512"}, "RFC 2181 9, RFC 4035 3.1.1: what a TC=1 answer carries", truncated_differently),
]


def report(results, keys):
    lines = []
    for key in keys:
        got = results[key]
        lines.append(f"== {' '.join(key)}")
        for ref in ("knot", "nsd"):
            for x in differences(got["srvd"], got[ref]):
                lines.append(f"   vs {ref}: {x}")
    return "\n".join(lines)


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("zone", PARENTS)
def test_srvd_matches_a_reference(results, zone, transport):
    """Each answer equals Knot's or NSD's, or differs only as EXPLAINED says."""
    layout, res = results
    bad, explained = [], []
    for qid, _, _ in queries(zone, layout):
        key = (zone, transport, qid)
        got = res[key]
        if any(not differences(got["srvd"], got[r]) for r in ("knot", "nsd")):
            continue
        why = []
        for transports, rfc, check in EXPLAINED:
            if transport in transports:
                why = check(key, got, res)
                if not why:
                    explained.append(f"{qid} ({rfc})")
                    break
        else:
            bad.append((key, why))
    assert not bad, "\n".join(report(res, [k]) + "".join(f"\n   not explained: {w}" for w in why)
                              for k, why in bad)
    print(f"{layout} {zone} {transport}: explained: {explained}")


def test_every_case_asked(results):
    """The comparison must not pass by comparing nothing: every query got
    an answer from all three, with the rcode the zone says."""
    layout, res = results
    want = {"nxdomain": "NXDOMAIN", "nsec3-owner": "NXDOMAIN", "child-nxdomain": "NXDOMAIN",
            "srv": "NOERROR", "ds": "NOERROR", "ent-tcp": "NOERROR"}
    seen = set()
    for (zone, transport, qid), got in res.items():
        if qid in want:
            seen.add(qid)
            for srv, a in got.items():
                assert a.rcode == want[qid], f"{srv} {zone} {transport} {qid}: {a.rcode}"
    assert seen == {q for q, _, _ in queries("nsec3.test", layout)} & set(want)


def test_signatures_only_with_do(results):
    """srvd's answers carry RRSIGs with DO=1 and no DNSSEC record without it
    unless the query asked for that type (RFC 3225 3)."""
    layout, res = results
    dnssec = {"RRSIG", "NSEC", "NSEC3"}
    for (zone, transport, qid), got in res.items():
        name, rdtype = next((n, t) for i, n, t in queries(zone, layout) if i == qid)
        lines = set().union(*got["srvd"].sections.values())
        types = {field(l, 2) for l in lines}
        if transport == "udp-do0":
            extra = types & dnssec - {rdtype}
            assert not extra, f"{zone} {qid} without DO: {extra}"
        elif transport == "tcp" and qid in ("srv", "nxdomain", "ds"):
            assert "RRSIG" in types, f"{zone} {qid} with DO: no RRSIG in {sorted(lines)}"
