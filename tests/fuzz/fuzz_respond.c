/* libFuzzer target: srvd_respond and srvd_dispatch over an embedded zone
 * set.
 *
 * The input is one DNS message. It is answered as if it came over UDP (with
 * a full-size and a minimum-size output buffer) and over TCP, from a client
 * address that the transfer ACL allows, so AXFR and IXFR reach the transfer
 * cursor, which is then drained with srvd_xfr_*. The same message then goes
 * through the front door, srvd_dispatch, with a keyring (so TSIG records are
 * parsed and verified) and a secondary-zone rule (so NOTIFY is judged).
 * Every response goes through the structural checks of fuzz_util.h.
 *
 * The zones are written to a temporary directory and loaded once per
 * process; they cover every branch of the answer algorithm: wildcards,
 * CNAME chains and loops, DNAME, delegations with and without glue, a child
 * zone (DS at the parent), empty non-terminals and a large RRset. Two signed
 * zones (the NSEC3 opt-out and the NSEC fixtures) take every query with the
 * DO bit through the signatures and the denial proofs; check_dnssec() holds
 * every response to the DNSSEC rules that apply whatever the query.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "srvd/srvd.h"

static const char zone_example[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 2024060101 7200 3600 1209600 300\n"
    "  IN NS ns1\n"
    "  IN NS ns2.example.net.\n"
    "  IN A 192.0.2.1\n"
    "  IN AAAA 2001:db8::1\n"
    "  IN MX 10 mail\n"
    "  IN TXT \"v=spf1 mx -all\"\n"
    "ns1 IN A 192.0.2.53\n"
    "    IN AAAA 2001:db8::53\n"
    "mail 300 IN A 192.0.2.25\n"
    "www IN CNAME @\n"
    "matrix IN A 192.0.2.10\n"
    "       IN AAAA 2001:db8::10\n"
    "_matrix-fed._tcp IN SRV 10 0 8448 matrix\n"
    "_matrix._tcp IN SRV 10 0 8448 matrix.example.com.\n"
    "_imap._tcp IN SRV 0 0 0 .\n"
    "c.b.ent IN A 192.0.2.30\n"
    "* IN TXT \"wildcard\"\n"
    "*.w IN CNAME matrix\n"
    "a IN CNAME b\n"
    "b IN CNAME c\n"
    "c IN A 192.0.2.3\n"
    "loop1 IN CNAME loop2\n"
    "loop2 IN CNAME loop1\n"
    "self IN CNAME self\n"
    "tosub IN CNAME www.sub\n"
    "toother IN CNAME host.other.test.\n"
    "old IN DNAME new.example.com.\n"
    "a.new IN A 192.0.2.40\n"
    "out IN DNAME example.net.\n"
    "deleg IN NS ns.deleg\n"
    "      IN NS ns1\n"
    "      IN DS 12345 13 2 "
    "8e4cd4d8d3f8c8bbc3e1c0b6b7b8d5e6f4c1a9b2c3d4e5f60718293a4b5c6d7e\n"
    "ns.deleg IN A 192.0.2.60\n"
    "ext IN NS ns.example.org.\n"
    "sub IN NS ns1\n"
    "    IN DS 54321 13 2 "
    "1e4cd4d8d3f8c8bbc3e1c0b6b7b8d5e6f4c1a9b2c3d4e5f60718293a4b5c6d7e\n"
    "big IN A 192.0.2.100\n    IN A 192.0.2.101\n    IN A 192.0.2.102\n"
    "    IN A 192.0.2.103\n    IN A 192.0.2.104\n    IN A 192.0.2.105\n"
    "    IN A 192.0.2.106\n    IN A 192.0.2.107\n    IN A 192.0.2.108\n"
    "    IN A 192.0.2.109\n    IN A 192.0.2.110\n    IN A 192.0.2.111\n"
    "    IN A 192.0.2.112\n    IN A 192.0.2.113\n    IN A 192.0.2.114\n"
    "    IN A 192.0.2.115\n    IN A 192.0.2.116\n    IN A 192.0.2.117\n"
    "    IN A 192.0.2.118\n    IN A 192.0.2.119\n    IN A 192.0.2.120\n"
    "    IN A 192.0.2.121\n    IN A 192.0.2.122\n    IN A 192.0.2.123\n"
    "    IN A 192.0.2.124\n    IN A 192.0.2.125\n    IN A 192.0.2.126\n"
    "    IN A 192.0.2.127\n    IN A 192.0.2.128\n    IN A 192.0.2.129\n"
    "    IN A 192.0.2.130\n    IN A 192.0.2.131\n    IN A 192.0.2.132\n"
    "    IN A 192.0.2.133\n    IN A 192.0.2.134\n    IN A 192.0.2.135\n";

static const char zone_sub[] = "$ORIGIN sub.example.com.\n"
                               "$TTL 600\n"
                               "@ IN SOA ns1.example.com. hostmaster 7 3600 900 604800 60\n"
                               "  IN NS ns1.example.com.\n"
                               "www IN A 192.0.2.70\n"
                               "* IN MX 10 www\n";

static const char zone_other[] = "$ORIGIN other.test.\n"
                                 "$TTL 300\n"
                                 "@ IN SOA ns hostmaster 1 3600 900 604800 60\n"
                                 "  IN NS ns\n"
                                 "ns IN A 192.0.2.80\n"
                                 "host IN A 192.0.2.81\n"
                                 "back IN CNAME www.example.com.\n";

/* tests/golden/zones/dnssec/nsec3o.test.signed (dnssec-signzone -3 - -H 0 -A:
 * NSEC3, no salt, 0 iterations, opt-out) without its comments. */
static const char zone_nsec3o[] =
    "nsec3o.test. 3600 IN SOA ns1.nsec3o.test. hostmaster.nsec3o.test. 2026120501 "
    "7200 3600 1209600 300\n"
    "nsec3o.test. 3600 IN RRSIG SOA 13 2 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. Xh+NqBt+racta+H7puW33X93iLl3VbzmrK+3K7qkCXAiGRr04j1Bxcan "
    "r4qv8xoMsHud1dQP0XoOtPDYYVTSGQ==\n"
    "nsec3o.test. 3600 IN NS ns1.nsec3o.test.\n"
    "nsec3o.test. 3600 IN RRSIG NS 13 2 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. nx5LhMAsSCzztsnNybFev4o1+Wj/cXcQ0G4f/XNkIvvwKiCGqv7FFhez "
    "I5wZtJExvpebwiCVN8xogmIwojeDfA==\n"
    "nsec3o.test. 3600 IN A 192.0.2.1\n"
    "nsec3o.test. 3600 IN RRSIG A 13 2 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. 1ahn/8wcYjK0nhnXBR7RABVJtQbUYL7kHAA3CWyeB+Kl+rjaThY2lOsQ "
    "oFEITdS720y1sY8y6ZD0GrKsoPIoUA==\n"
    "nsec3o.test. 3600 IN MX 10 matrix.nsec3o.test.\n"
    "nsec3o.test. 3600 IN RRSIG MX 13 2 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. EsZaoALYR0nn2UKX1Gk0NsilGnbShdVgBoLxhthjt39yFHEoH5bFZ+8n "
    "9wcRoDuozbcKkzdSkzxBo+dOyGTyzA==\n"
    "nsec3o.test. 3600 IN DNSKEY 257 3 13 "
    "glBT5NgTbAOKKLgAMuHutqPqrxwfu/qUX6M9iqXPjRdieuMEV4Ci8X6M "
    "vmgeey8fpvRpEf3VvWBfyEzy76oHHw==\n"
    "nsec3o.test. 3600 IN RRSIG DNSKEY 13 2 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. SNmAd3iacPpRCsYWvMzRQegHcFSbPgsp3NuXhdKLxNWMpl6T4JKNTsxu "
    "T+J6zPTrBCzvVBOjUg4tinT4Q9ofRw==\n"
    "nsec3o.test. 0 IN NSEC3PARAM 1 0 0 -\n"
    "nsec3o.test. 0 IN RRSIG NSEC3PARAM 13 2 0 20801231000000 20260101000000 63689 "
    "nsec3o.test. 6Q1CePsNT6sDXMuZLK5GsDf2kp96cQBbugC8QcuthEHFU0tHt6fm5wLS "
    "7rB0KTLhO+JgJrFxrsPhZsYXeIOVpg==\n"
    "_matrix._tcp.nsec3o.test. 3600 IN SRV 10 0 8448 matrix.nsec3o.test.\n"
    "_matrix._tcp.nsec3o.test. 3600 IN RRSIG SRV 13 4 3600 20801231000000 "
    "20260101000000 63689 nsec3o.test. "
    "Znaxi3F/Etp7Wu59AmBAJKIG9I0Vmr88N/6OBRbetk7hBCOXO6NevQHj "
    "UDrisu1nJpeQ7aO+BT/d3rd9PU7iYA==\n"
    "ext.nsec3o.test. 3600 IN NS ns.example.net.\n"
    "insecure.nsec3o.test. 3600 IN NS ns1.insecure.nsec3o.test.\n"
    "ns1.insecure.nsec3o.test. 3600 IN A 192.0.2.55\n"
    "_matrix-fed._tcp.nsec3o.test. 3600 IN SRV 10 0 8448 matrix.nsec3o.test.\n"
    "_matrix-fed._tcp.nsec3o.test. 3600 IN RRSIG SRV 13 4 3600 20801231000000 "
    "20260101000000 63689 nsec3o.test. "
    "UKlj0lwfpjIC6YfsoybjzZ2BkzEME0BVrxWe8Q3Vs02pBmAgEyv7ePgH "
    "RZ2CQij9BoDIMaH1AKzfymR6MhDAow==\n"
    "c.b.ent.nsec3o.test. 3600 IN A 192.0.2.30\n"
    "c.b.ent.nsec3o.test. 3600 IN RRSIG A 13 5 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. Dmx2IjxMHAxRk+NTanaiF4dHmOvnP/eDFbYnGnSUPL1Tmm4pEC41wlXg "
    "MkHlTuYQDIkGzOWNazpODkQlxVnA8g==\n"
    "ns1.secure.nsec3o.test. 3600 IN A 192.0.2.54\n"
    "matrix.nsec3o.test. 300 IN A 192.0.2.10\n"
    "matrix.nsec3o.test. 300 IN RRSIG A 13 3 300 20801231000000 20260101000000 63689 "
    "nsec3o.test. CPBFF1oGicNtfMrAHpNhFO2bp9KvDwfI6882aRFoSP/TR6yM7Z3GOdCW "
    "bTi6HgmWR3PIzbyO6hVaj1GPyONi+g==\n"
    "matrix.nsec3o.test. 3600 IN AAAA 2001:db8::10\n"
    "matrix.nsec3o.test. 3600 IN RRSIG AAAA 13 3 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. uB5MCTDfKmAu7eKsU2EUy9G83l4VpSNCpvm2UzOCfiDCL8ebPkmKClEh "
    "demDGukZ9R7WXqsWuq6v717MlJDdmg==\n"
    "ns1.nsec3o.test. 3600 IN A 192.0.2.53\n"
    "ns1.nsec3o.test. 3600 IN RRSIG A 13 3 3600 20801231000000 20260101000000 63689 "
    "nsec3o.test. XwkynzFtuQr94nxJzvhSPQWXmZm7jX3GhoCGlCfoCs9pYyW7niVa1Plq "
    "zJ9uvJioaI029As8srv7DC8mY8J2OA==\n"
    "secure.nsec3o.test. 3600 IN NS ns1.secure.nsec3o.test.\n"
    "secure.nsec3o.test. 3600 IN DS 63821 13 2 "
    "DD1897754FCB0F581106635AF89D4BF0C4BAF7AE94C36EAE02A1E691 4E08C1BF\n"
    "secure.nsec3o.test. 3600 IN RRSIG DS 13 3 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. y6hUBB/SUDcQ2SNrcjGTGpH0WAbfX0+XcmCJeK9Q88L3+nnc+rAWhDL7 "
    "7Wl83q0oxXucF+CqKfnUms8SkeOGDA==\n"
    "www.nsec3o.test. 3600 IN CNAME matrix.nsec3o.test.\n"
    "www.nsec3o.test. 3600 IN RRSIG CNAME 13 3 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. 917EWL39Irv06iNO4KBgFYcL9LJhMlWZs5plZheUUg42sIUiSz9Xsvj1 "
    "jumxtnWT3YRVcqiFbZ+m5TBObW9MFg==\n"
    "*.wild.nsec3o.test. 3600 IN A 192.0.2.77\n"
    "*.wild.nsec3o.test. 3600 IN RRSIG A 13 3 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. Me0oa6JBfnNGx6WmLOV+AQQYib6ZEibTug7MAYD5czdJW31+wsf6RHNu "
    "rss2laFaZRelgrz3twJAz+PVahRqhA==\n"
    "*.wild.nsec3o.test. 3600 IN TXT \"wildcard\"\n"
    "*.wild.nsec3o.test. 3600 IN RRSIG TXT 13 3 3600 20801231000000 20260101000000 "
    "63689 nsec3o.test. k67cdegVmVxgWtVo0MlipNAxWEejPJuAgapLebbliCA8alWsV5msLO24 "
    "Gc1k1Q+skRZ4zzqoHBBRAL1Sakmpvg==\n"
    "58BERDJ8K8IVN3Q404F1IAV8I4S8C814.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "BCJNA36FREII30B4A7CGITM6RCD1L80B A RRSIG\n"
    "58BERDJ8K8IVN3Q404F1IAV8I4S8C814.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "1rJi9PPj2Gn1dTqaNthZeqYoc0ljXmxK5qyJW0pWXKUqm9h4RG4RjAZs "
    "P2MNCLKexBcuzgz17B4LpboEp67LMg==\n"
    "BEN0C0NJABRGUCJ7NRA64RUKHFMIQPAR.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "ELTDQCEK9C81QOABIFJ5P46QLE7I29N4 A RRSIG\n"
    "BEN0C0NJABRGUCJ7NRA64RUKHFMIQPAR.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "yXWGbp3HwAH+ZEPLJVcoqYiebPyzPgXCR8BHz++G/XJKsEc20ktqQfKZ "
    "trUnmYnMwesQAEyD9FyI1LtUNw1mQQ==\n"
    "1E0R0AI76PDQMNSPIAH7H16KO06GGVCP.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "2K09UNFSPLB5OS872P006L9RMABPHFOS SRV RRSIG\n"
    "1E0R0AI76PDQMNSPIAH7H16KO06GGVCP.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "AThCTbi3GwLaJcNGV8KZDo4+YYFqpmeDTpVmPb4qYxHrRrIcgWhiZiAm "
    "Vj5FP2dotNjRUrrgx7azhRv4U99Z2g==\n"
    "2K09UNFSPLB5OS872P006L9RMABPHFOS.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "58BERDJ8K8IVN3Q404F1IAV8I4S8C814 A NS SOA MX RRSIG DNSKEY NSEC3PARAM\n"
    "2K09UNFSPLB5OS872P006L9RMABPHFOS.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "Fv0aG0g6pOCse0p3InqHVoHxnTv+Lr0RdfjnUAtcswqFEkJ/PkKfGMOn "
    "EaOzbwgNtMx25pYHVrdoCQ6kPAyq6Q==\n"
    "G0PM4SBRA08O0RUI1A1N08DPNEPELSAJ.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "G65OPTAVPB7RHIOJBDLO1CCJJN53KS2K\n"
    "G0PM4SBRA08O0RUI1A1N08DPNEPELSAJ.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "Q+gKwThdNBfLOZn4Heke2pS+KWxSNlm3JFPMprcLf3n4AbOdHLAs46l2 "
    "XIbMr2iaK7ipAAPpDw7k0wNFyjtJDg==\n"
    "BCJNA36FREII30B4A7CGITM6RCD1L80B.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "BEN0C0NJABRGUCJ7NRA64RUKHFMIQPAR\n"
    "BCJNA36FREII30B4A7CGITM6RCD1L80B.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "5+abrgMWoSgMnmPiZGBXvNvECCuDGF2JqJGEI6fHfNb5ZdhhE1T81qck "
    "6m02G9ups2aamne1za+PdlE/BUmZZQ==\n"
    "ELTDQCEK9C81QOABIFJ5P46QLE7I29N4.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "G0PM4SBRA08O0RUI1A1N08DPNEPELSAJ SRV RRSIG\n"
    "ELTDQCEK9C81QOABIFJ5P46QLE7I29N4.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "YjjcIjtf4EzV0Yr2JFFdwN7/BgkHENv+85BebIJ+ZYlmujXHRk+H1Sjh "
    "YmEQA8fk4fgS2JsfcTzneK/V5TN+/Q==\n"
    "HCF76USJ9QCVE6T17F175KPGPOSPI9K5.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "KFDIUUJ8VB6VSFROIR9F1I2CDH10DIJC CNAME RRSIG\n"
    "HCF76USJ9QCVE6T17F175KPGPOSPI9K5.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "VDEWiirZJmUaTyxhW8fE48Pzqm6EUJnSrv3+zXVOsRUHcNO04TeaajsD "
    "disc9sxcyxd1AawWOWiMlqL2Zreqhg==\n"
    "G65OPTAVPB7RHIOJBDLO1CCJJN53KS2K.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "HCF76USJ9QCVE6T17F175KPGPOSPI9K5 A TXT RRSIG\n"
    "G65OPTAVPB7RHIOJBDLO1CCJJN53KS2K.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "FBai96ZNa66uG4M7kuPqoSFuJl6swV9NMRC3ZkZ/h5IEYxpC/RYnPXMk "
    "JGe4G8iPJJaRX9FI1jDXf3xVLibg5w==\n"
    "KFDIUUJ8VB6VSFROIR9F1I2CDH10DIJC.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "NKQNC4B4QTFPJT4TOHHLS617BBBPEEIQ\n"
    "KFDIUUJ8VB6VSFROIR9F1I2CDH10DIJC.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "gUKPF8oulsjJVgdqQ+zzMQGRStAIYQBolGXKEBo3hWHD/qIeyPKNev7D "
    "POE976ykYBOPIhKeIpn4WdcP9PVsBA==\n"
    "NKQNC4B4QTFPJT4TOHHLS617BBBPEEIQ.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "QCSBQH9HC9A1H79S42HCRFNJO7I2F7AO NS DS RRSIG\n"
    "NKQNC4B4QTFPJT4TOHHLS617BBBPEEIQ.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "My9vS2YFeOexJ6DsGr618/nNp5C8InQR7gBKtW1hHZCEB+AuMUijHttb "
    "S/+poyhPaiTrz24l+LInaYFG82Dn2w==\n"
    "UF4RUHM4FUSC1DB00A1REN02NLFPSDM8.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "1E0R0AI76PDQMNSPIAH7H16KO06GGVCP A AAAA RRSIG\n"
    "UF4RUHM4FUSC1DB00A1REN02NLFPSDM8.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "vc5HxXGhO/MGy99ZGMFQq88M91xNYyM1QFW0RTuSXX5rHotVrBestOqg "
    "jEn4lmH9amuVaF4C5yZWXFfhyj0c9w==\n"
    "QCSBQH9HC9A1H79S42HCRFNJO7I2F7AO.nsec3o.test. 300 IN NSEC3 1 1 0 - "
    "UF4RUHM4FUSC1DB00A1REN02NLFPSDM8\n"
    "QCSBQH9HC9A1H79S42HCRFNJO7I2F7AO.nsec3o.test. 300 IN RRSIG NSEC3 13 3 300 "
    "20801231000000 20260101000000 63689 nsec3o.test. "
    "1pAalzftXvKrm+ag61yD5FjpAzx3qnt5xNwrw7Kar73mzBTMjp3MR7qX "
    "0/Rlf2feANP/1VqvjcHModrlXdGo6w==\n";

/* tests/golden/zones/dnssec/nsec.test.signed (NSEC) without its comments. */
static const char zone_nsec[] =
    "nsec.test. 3600 IN SOA ns1.nsec.test. hostmaster.nsec.test. 2026120501 7200 "
    "3600 1209600 300\n"
    "nsec.test. 3600 IN RRSIG SOA 13 2 3600 20801231000000 20260101000000 5198 "
    "nsec.test. xHKVSNyZk/faHALzeW9pSJNOOX/0VvpGYtuTE14dZj3ljAh+0OMXL0qR "
    "YCUEK73nEojgNWvG1IXPy0b+IGW3rQ==\n"
    "nsec.test. 3600 IN NS ns1.nsec.test.\n"
    "nsec.test. 3600 IN RRSIG NS 13 2 3600 20801231000000 20260101000000 5198 "
    "nsec.test. TQ0PlL1Hg5Yq6w5QH5YTUqxIPw66uqXO+oGedIobXXCPmvMIE/DoAO+c "
    "SodT6/bawhmcy/2usr8+EaF6vuXr4w==\n"
    "nsec.test. 3600 IN A 192.0.2.1\n"
    "nsec.test. 3600 IN RRSIG A 13 2 3600 20801231000000 20260101000000 5198 "
    "nsec.test. 5yAnlJiEZVkFlnN3AVc5d67NINma3aBCyJg7sVjDMEA0uglQCxWqUc+v "
    "8wsl8vjDPlLg+P6991Gu/DIJJKXmZQ==\n"
    "nsec.test. 3600 IN MX 10 matrix.nsec.test.\n"
    "nsec.test. 3600 IN RRSIG MX 13 2 3600 20801231000000 20260101000000 5198 "
    "nsec.test. bLMHOrn5y03v5sXhbO/QwWCOSL7XT74cOyhLlYrPRBbGsB4F1TjQm054 "
    "Oy7dKWDkrGvUG64GbI8QE5gl5PSTog==\n"
    "nsec.test. 300 IN NSEC _matrix._tcp.nsec.test. A NS SOA MX RRSIG NSEC DNSKEY\n"
    "nsec.test. 300 IN RRSIG NSEC 13 2 300 20801231000000 20260101000000 5198 "
    "nsec.test. wAMrOyXqB8aIp26w7Hb2IVxYWYqq5cFYGX1Zt4fiZE9yxDZLEDy89LUo "
    "IRRdPg1Qt1rzw0IR0RJJthPM1ecUbw==\n"
    "nsec.test. 3600 IN DNSKEY 257 3 13 "
    "sGEUkKbiJWkNaWoivgut8nzNZietDWtQ054Uf+PA12joAyedPc4dQ8Ft "
    "trOXACXM8oD0EfHBOTpwxqzcU8naQQ==\n"
    "nsec.test. 3600 IN RRSIG DNSKEY 13 2 3600 20801231000000 20260101000000 5198 "
    "nsec.test. LHX4IeawQYUNUHW4fv6wFvSc+zJftTRb4xmyFfCnb/7vbW7rsKmZfSSs "
    "n01w4JZqhT6OQh7AHo9DmvyVkh+crQ==\n"
    "_matrix._tcp.nsec.test. 3600 IN SRV 10 0 8448 matrix.nsec.test.\n"
    "_matrix._tcp.nsec.test. 3600 IN RRSIG SRV 13 4 3600 20801231000000 "
    "20260101000000 5198 nsec.test. "
    "CeiHUjnJ2lOZRX2fgyim3mJCqGVdWE6Wd83tCYBi8ASCWFibaMuTL66B "
    "ws736aFNPu4vA3Ba7WplPfy+mT0zjg==\n"
    "_matrix._tcp.nsec.test. 300 IN NSEC _matrix-fed._tcp.nsec.test. SRV RRSIG NSEC\n"
    "_matrix._tcp.nsec.test. 300 IN RRSIG NSEC 13 4 300 20801231000000 "
    "20260101000000 5198 nsec.test. "
    "QcjJsA5sGuqw15gXig32NQahsHmw8sZrZWDpJHD0i/CjU4guhYcymowz "
    "h0Tt3ToXtd24bnmOXKcNlv4bBTmbDg==\n"
    "_matrix-fed._tcp.nsec.test. 3600 IN SRV 10 0 8448 matrix.nsec.test.\n"
    "_matrix-fed._tcp.nsec.test. 3600 IN RRSIG SRV 13 4 3600 20801231000000 "
    "20260101000000 5198 nsec.test. "
    "LHc/L0chOJqbelXQjSpaqoHaFn+r/thKNS7x0nwGN3XmnG8uJP/3JWGI "
    "0rKBGxzbMkoFU+KisLfChCbAfT89cw==\n"
    "_matrix-fed._tcp.nsec.test. 300 IN NSEC c.b.ent.nsec.test. SRV RRSIG NSEC\n"
    "_matrix-fed._tcp.nsec.test. 300 IN RRSIG NSEC 13 4 300 20801231000000 "
    "20260101000000 5198 nsec.test. "
    "ey7qFkC18kZqzzam0fwQ2801TelZqEW9hSvDt4uaDs+dhJZryokQZEej "
    "51s9icve3f1cH7uiHrwncduiPjsytQ==\n"
    "ns1.insecure.nsec.test. 3600 IN A 192.0.2.55\n"
    "ext.nsec.test. 3600 IN NS ns.example.net.\n"
    "ext.nsec.test. 300 IN NSEC insecure.nsec.test. NS RRSIG NSEC\n"
    "ext.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. xkQLNFSMURqDsqKEJmzu/kuj8B6ffUWeQRJ2rgd/Hl3re1q/qCpsAozD "
    "khiV83CMCxWFv077f3nEmzGJrLiSRQ==\n"
    "matrix.nsec.test. 300 IN A 192.0.2.10\n"
    "matrix.nsec.test. 300 IN RRSIG A 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. QbtGMLZ6XXpmr2Zbg+L/UaXDMrIa3ai15uic2FOqXhIeGapoUdreJ62G "
    "z5k1YEu4m8z3wY3sftMPsAMLvsS9LQ==\n"
    "matrix.nsec.test. 3600 IN AAAA 2001:db8::10\n"
    "matrix.nsec.test. 3600 IN RRSIG AAAA 13 3 3600 20801231000000 20260101000000 "
    "5198 nsec.test. gQ3Wwtia/DVDlRjUq7kRzDyp+KHGLOSiwHKGUr0SQJ/GSdtMYqto054k "
    "BlfVi9gLKOruqJOqtNQK8Uiccsm6BQ==\n"
    "matrix.nsec.test. 300 IN NSEC ns1.nsec.test. A AAAA RRSIG NSEC\n"
    "matrix.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. vOgen6VqDHC1hmt8WzTcvxfTl4WwD5t6EpgqKldXOyuj02XxunNeKedN "
    "uEad60P9/Dwk8BRzWSRmTiMhfltZSQ==\n"
    "ns1.nsec.test. 3600 IN A 192.0.2.53\n"
    "ns1.nsec.test. 3600 IN RRSIG A 13 3 3600 20801231000000 20260101000000 5198 "
    "nsec.test. NAliMlSktT1+KExgscbnX4OQCBceu6LnO1SKNc2MDJka959DDWMFhFhN "
    "7lzeMalVoHA8ie2Kf3KhKoFXlDmRCQ==\n"
    "ns1.nsec.test. 300 IN NSEC secure.nsec.test. A RRSIG NSEC\n"
    "ns1.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. nIvFMWGX9rB28tnA9wCnqQdJbcRsLJBeIl57vzlZ/UgXkkcFZPv1KuLU "
    "WJnSAHz1p5h3CE1ELgHaVJv9hjWa3g==\n"
    "ns1.secure.nsec.test. 3600 IN A 192.0.2.54\n"
    "insecure.nsec.test. 3600 IN NS ns1.insecure.nsec.test.\n"
    "insecure.nsec.test. 300 IN NSEC matrix.nsec.test. NS RRSIG NSEC\n"
    "insecure.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 "
    "5198 nsec.test. MWuT69iH0pLCmSmLS2qyzbYn3F45Rts53EyIMXhbcStcEOTVaHi+3xcR "
    "pUPbp7afyqTf5cs4y9m2hoJvGbpN0g==\n"
    "secure.nsec.test. 3600 IN NS ns1.secure.nsec.test.\n"
    "secure.nsec.test. 3600 IN DS 60268 13 2 "
    "39CD53308D841EA6C03E981DAEAEB79ECADB1646E8F3735329D1E2BF 38BE27F5\n"
    "secure.nsec.test. 3600 IN RRSIG DS 13 3 3600 20801231000000 20260101000000 5198 "
    "nsec.test. 83aNkxAKDhdT0O6jwtDjXA+pub+qxjPQ3LI3cGw7j77lvYEULm1mqiNJ "
    "TVmarPgl8Trvwarf07HNSwGbFPbdPw==\n"
    "secure.nsec.test. 300 IN NSEC *.wild.nsec.test. NS DS RRSIG NSEC\n"
    "secure.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. nbBSZVQbaIL7WCQIIOCEst2vHogCsOLEzTH+Lres6Us82RfDNihUL4Ai "
    "eNRdT6A7dZ1c78Qo5h7Z4daSHIqI0A==\n"
    "www.nsec.test. 3600 IN CNAME matrix.nsec.test.\n"
    "www.nsec.test. 3600 IN RRSIG CNAME 13 3 3600 20801231000000 20260101000000 5198 "
    "nsec.test. WgtGRWL0uRWSJ5mYm56AHgw8V6MpUPLtf4BrLdv/dgymqtDDrvBRYGt/ "
    "4c1kP8pIDtUJSSxE/U5auXwYqh+NRw==\n"
    "www.nsec.test. 300 IN NSEC nsec.test. CNAME RRSIG NSEC\n"
    "www.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. B85YRUKmv5hvwwB37p4HCX+Q1plv6y5U1YG1uzATu9a8Jresz4sFXqjV "
    "KHUi3flF2owGyFehIMSY91x3V3USKg==\n"
    "*.wild.nsec.test. 3600 IN A 192.0.2.77\n"
    "*.wild.nsec.test. 3600 IN RRSIG A 13 3 3600 20801231000000 20260101000000 5198 "
    "nsec.test. jgwSq11Oeg0c+jW4TZzgB0bPEEWBjt9GX3N60t4jW7xGSDDYvUmOn3Ck "
    "G2BuUhFuUm3NttLpbrTAgpGDYahHXg==\n"
    "*.wild.nsec.test. 3600 IN TXT \"wildcard\"\n"
    "*.wild.nsec.test. 3600 IN RRSIG TXT 13 3 3600 20801231000000 20260101000000 "
    "5198 nsec.test. t0SvNDaM1Guw2N33/IGtyTBMO3u1Y/uuCgMRBJhq1xEcrGcrfYTywGN6 "
    "4NkcGGMI1NDeh6FrsWjW0ZOP27jeGQ==\n"
    "*.wild.nsec.test. 300 IN NSEC www.nsec.test. A TXT RRSIG NSEC\n"
    "*.wild.nsec.test. 300 IN RRSIG NSEC 13 3 300 20801231000000 20260101000000 5198 "
    "nsec.test. 7URRB+Qj7nXEF16qlSGEHGDWx5SJHJXXo/lCVUo6jSeCxgng1Wp0zNKo "
    "VMBX8Fq3TEEbW7KjCFUzh1Z6YcTQ0Q==\n"
    "c.b.ent.nsec.test. 3600 IN A 192.0.2.30\n"
    "c.b.ent.nsec.test. 3600 IN RRSIG A 13 5 3600 20801231000000 20260101000000 5198 "
    "nsec.test. FCQN8hcXfXa7HPz8Uzr4RYm6erzaPLEe8rEVHQQcEo0p/QsAiu8sFOB0 "
    "1MqEU3xM4dQ+005CK7bpWr6bzxkA5A==\n"
    "c.b.ent.nsec.test. 300 IN NSEC ext.nsec.test. A RRSIG NSEC\n"
    "c.b.ent.nsec.test. 300 IN RRSIG NSEC 13 5 300 20801231000000 20260101000000 "
    "5198 nsec.test. GM0RrFkh0Ny46QxbtL7m8mRO96JSRXKsn7ZmAXuUwv8nAPAEcWb0kpan "
    "EvBMr9064sB2DdNlbK5ZGWq6a+/Q9A==\n";

static srvd_zoneset_t *g_zs;
static srvd_responder_t *g_r;
static srvd_server_t *g_srv;
static struct sockaddr_in g_client;

static void cleanup(void)
{
	srvd_responder_free(g_r);
	srvd_server_unref(g_srv);
	srvd_zoneset_unref(g_zs);
}

static void init(void)
{
	static const srvd_prefix_t acl = {.family = 4, .bits = 8, .addr = {127}};
	char p1[256], p2[256], p3[256], p4[256], p5[256];
	fuzz_write_file("example.com.zone", zone_example, sizeof(zone_example) - 1, p1, sizeof(p1));
	fuzz_write_file("sub.example.com.zone", zone_sub, sizeof(zone_sub) - 1, p2, sizeof(p2));
	fuzz_write_file("other.test.zone", zone_other, sizeof(zone_other) - 1, p3, sizeof(p3));
	fuzz_write_file("nsec3o.test.zone", zone_nsec3o, sizeof(zone_nsec3o) - 1, p4, sizeof(p4));
	fuzz_write_file("nsec.test.zone", zone_nsec, sizeof(zone_nsec) - 1, p5, sizeof(p5));
	srvd_zone_src_t src[5] = {
	    {.origin = "example.com", .path = p1, .allow_transfer = &acl, .n_allow_transfer = 1},
	    {.origin = "sub.example.com.", .path = p2},
	    {.origin = "other.test", .path = p3, .allow_transfer = &acl, .n_allow_transfer = 1},
	    {.origin = "nsec3o.test", .path = p4, .allow_transfer = &acl, .n_allow_transfer = 1},
	    {.origin = "nsec.test", .path = p5},
	};
	srvd_diag_t diag = {0};
	int rc = srvd_zoneset_load(src, 5, &g_zs, &diag);
	if (rc != 0) {
		fprintf(stderr, "fuzz_respond: embedded zones do not load: %s\n",
		        srvd_strerror(rc));
		abort();
	}
	unlink(p1);
	unlink(p2);
	unlink(p3);
	unlink(p4);
	unlink(p5);
	rmdir(fuzz_tmpdir());
	static const srvd_key_src_t key = {"fuzz-key", "hmac-sha256",
	                                   "ZnV6ei1rZXktc2VjcmV0LWZ1enota2V5LXNlY3JldA=="};
	static const srvd_prefix_t from = {.family = 4, .bits = 8, .addr = {127}};
	const srvd_zone_rule_t rule = {
	    .origin = "other.test", .secondary = 1, .notify_from = &from, .n_notify_from = 1};
	srvd_keyring_t *k = NULL;
	if (srvd_keyring_new(&key, 1, &k) != 0 || srvd_server_new(g_zs, k, &rule, 1, &g_srv) != 0)
		abort();
	srvd_keyring_unref(k);
	srvd_responder_opts_t o = {.nsid = "fuzz-ns", .identity = "fuzz", .version = "0"};
	if (srvd_responder_new(&o, &g_r) != 0)
		abort();
	g_client.sin_family = AF_INET;
	g_client.sin_addr.s_addr = htonl(0x7f000001);
	atexit(cleanup);
}

/* Stream a transfer the responder accepted: SOA first, SOA last. */
static void drain_xfr(const srvd_query_t *q, bool door)
{
	srvd_xfr_t *x = NULL;
	int rc = door ? srvd_xfr_begin(g_r, g_srv, q, &x) : srvd_xfr_new(g_zs, q, &x);
	FUZZ_CHECK(rc == 0);
	static uint8_t buf[65535];
	int more = 1;
	unsigned msgs = 0;
	fuzz_msg_info_t info;
	uint16_t first = 0, last = 0;
	while (more) {
		size_t len = 0;
		FUZZ_CHECK(srvd_xfr_next(x, buf, sizeof(buf), &len, &more) == 0);
		FUZZ_CHECK(fuzz_walk(buf, len, &info));
		FUZZ_CHECK(memcmp(buf, q->wire, 2) == 0);
		FUZZ_CHECK(info.counts[1] > 0 || !more);
		if (msgs == 0)
			first = info.first_type;
		if (info.counts[1])
			last = info.last_type;
		FUZZ_CHECK(++msgs < 1000);
	}
	FUZZ_CHECK(first == 6 && last == 6); /* RFC 5936 2.2 */
	srvd_xfr_free(x);
}

/* Whatever the query: AD is never set, CD is cleared (RFC 4035 3.1.6), and
 * an answer without DO carries no RRSIG, NSEC or NSEC3 unless the query
 * asked for one of those types, ANY or a transfer (RFC 3225 3: "unless
 * DNSSEC security RRs are explicitly queried for"). The DO bit is read
 * from the response's OPT, which echoes the query's (RFC 3225 3). */
static void check_dnssec(const uint8_t *resp, size_t len)
{
	FUZZ_CHECK((resp[3] & 0x30) == 0);
	rd_t r;
	rd_init(&r, resp, len);
	rd_seek(&r, 12);
	uint8_t name[255];
	uint16_t qtype = 0;
	if (get_u16(resp + 4) == 1) {
		wire_name_read(&r, true, name);
		qtype = rd_u16(&r);
		rd_skip(&r, 2);
	}
	bool dnssec_rr = false, edns_do = false;
	unsigned n = (unsigned)get_u16(resp + 6) + get_u16(resp + 8) + get_u16(resp + 10);
	for (unsigned i = 0; i < n && !r.err; i++) {
		wire_name_read(&r, true, name);
		uint16_t type = rd_u16(&r);
		rd_skip(&r, 2);
		uint32_t ttl = rd_u32(&r);
		rd_skip(&r, rd_u16(&r));
		if (type == 41)
			edns_do = (ttl & 0x8000) != 0;
		dnssec_rr |= type == 46 || type == 47 || type == 50;
	}
	FUZZ_CHECK(!r.err); /* fuzz_check_response walked it already */
	bool asked = qtype == 46 || qtype == 47 || qtype == 50 || qtype == 255 || qtype == 251 ||
	             qtype == 252;
	FUZZ_CHECK(edns_do || asked || !dnssec_rr);
}

static void run(const uint8_t *data, size_t size, srvd_transport_t t, size_t cap)
{
	static uint8_t resp[65536];
	srvd_query_t q = {.wire = data, .len = size, .transport = t, .src_addr = &g_client};
	size_t len = 0;
	int rc = srvd_respond(g_r, g_zs, &q, resp, cap, &len);
	FUZZ_CHECK(rc == SRVD_OK || rc == SRVD_DROP || rc == SRVD_XFR);
	if (rc == SRVD_OK) {
		fuzz_check_response(data, size, resp, len, cap, t, true);
		check_dnssec(resp, len);
	} else if (rc == SRVD_XFR) {
		FUZZ_CHECK(t == SRVD_TCP);
		drain_xfr(&q, false);
	}
}

static void run_door(const uint8_t *data, size_t size, srvd_transport_t t, size_t cap)
{
	static uint8_t resp[65536];
	srvd_query_t q = {.wire = data, .len = size, .transport = t, .src_addr = &g_client};
	srvd_result_t res;
	int rc = srvd_dispatch(g_r, g_srv, &q, resp, cap, &res);
	FUZZ_CHECK(rc == SRVD_OK || rc == SRVD_DROP || rc == SRVD_XFR);
	if (rc == SRVD_OK) {
		fuzz_check_response(data, size, resp, res.len, cap, t, true);
		check_dnssec(resp, res.len);
		FUZZ_CHECK(res.rcode == (unsigned)(resp[3] & 0xF));
		FUZZ_CHECK(!res.zone || strcmp(res.zone, "other.test") == 0);
	} else if (rc == SRVD_XFR) {
		FUZZ_CHECK(t == SRVD_TCP);
		drain_xfr(&q, true);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_zs)
		init();
	run(data, size, SRVD_UDP, 65535);
	run(data, size, SRVD_UDP, 512);
	run(data, size, SRVD_TCP, 65535);
	run_door(data, size, SRVD_UDP, 512);
	run_door(data, size, SRVD_TCP, 65535);
	return 0;
}
