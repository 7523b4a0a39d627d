#!/usr/bin/env python3
"""spec/support/big_crl.py: a big DER CRL of a given size, written straight to a file (no CRL
object in memory, so hundreds of MB take seconds), signed by the openssl CLI.

  big_crl.py CADIR OUT BYTES [--number N] [--shuffle] [--drop K] [--extra M] [--name CN]

CADIR/ca.pem and CADIR/ca.key (RSA 2048, made by `openssl req -x509` when absent) are the CA.
The CRL has about BYTES bytes: entries with 16-byte serials (in serial order unless --shuffle),
a reasonCode on one in three, a CRL number (N, default 1) and the CA's key identifier.
--drop K leaves out every K-th entry, --extra M adds M entries after the others: two CRLs of one
CA differing by those are what `crl diff` reports. Prints the number of entries.
Used by tests/bench/crl_stream.sh and tests/integration/crl_memory_spec.lua."""
import argparse
import datetime
import os
import random
import subprocess
import sys
import tempfile


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def elements(der):
    """the elements of a DER SEQUENCE's content, as (tag, whole element) pairs"""
    out, i = [], 0
    while i < len(der):
        tag, l = der[i], der[i + 1]
        j = i + 2
        if l & 0x80:
            k = l & 0x7F
            l = int.from_bytes(der[j:j + k], "big")
            j += k
        out.append((tag, der[i:j + l]))
        i = j + l
    return out


def content(el):
    l = el[1]
    j = 2 + (l & 0x7F if l & 0x80 else 0)
    return el[j:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cadir")
    ap.add_argument("out")
    ap.add_argument("bytes", type=int)
    ap.add_argument("--number", type=int, default=1)
    ap.add_argument("--shuffle", action="store_true")
    ap.add_argument("--drop", type=int, default=0)
    ap.add_argument("--extra", type=int, default=0)
    ap.add_argument("--name", default="Big CRL CA")
    a = ap.parse_args()
    cap, cak = os.path.join(a.cadir, "ca.pem"), os.path.join(a.cadir, "ca.key")
    if not os.path.exists(cak):
        os.makedirs(a.cadir, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cak,
                        "-out", cap, "-days", "30", "-subj", "/O=certbench tests/CN=" + a.name],
                       check=True, capture_output=True)
    cert = subprocess.run(["openssl", "x509", "-in", cap, "-outform", "DER"], check=True,
                          capture_output=True).stdout
    tbs_cert = [e for _, e in elements(content(elements(content(cert))[0][1]))]
    if tbs_cert[0][0] == 0xA0:
        tbs_cert = tbs_cert[1:]
    subject = tbs_cert[4]
    ski = None
    for tag, el in elements(content(tbs_cert[-1])):  # [3] extensions
        for _, ext in elements(content(el)):
            parts = [e for _, e in elements(content(ext))]
            if parts[0] == bytes.fromhex("0603551d0e"):
                ski = content(content(parts[-1]))  # the OCTET STRING inside extnValue
    alg = bytes.fromhex("300d06092a864886f70d01010b0500")  # sha256WithRSAEncryption

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    def utc(t):
        return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())
    dates = [utc(now - datetime.timedelta(days=1, seconds=k * 97)) for k in range(1000)]
    reason = bytes.fromhex("300c300a0603551d1504030a0101")
    # every entry: SEQUENCE { INTEGER (16 bytes), UTCTime[, extensions] }: 35 or 49 bytes
    plain_len, reason_len = 35, 49
    n = max(1, int(a.bytes / ((2 * plain_len + reason_len) / 3)))
    rnd = random.Random(20261206)
    prefix = 0x40 << 56 | rnd.getrandbits(40) << 16
    order = [i for i in range(n + a.extra) if not (a.drop and i < n and i % a.drop == a.drop - 1)]
    if a.shuffle:
        rnd.shuffle(order)
    # serials: 8 fixed bytes, then the index (so serial order is index order), 16 bytes in all
    def serial(i):
        return b"\x02\x10" + prefix.to_bytes(8, "big") + i.to_bytes(8, "big")
    rev_len = 0
    for i in order:
        rev_len += reason_len if i % 3 == 0 else plain_len
    head = tlv(0x02, b"\x01") + alg + subject + utc(now - datetime.timedelta(hours=1)) + \
        utc(now + datetime.timedelta(days=7))
    exts = b""
    if ski:
        exts += tlv(0x30, bytes.fromhex("0603551d23") + tlv(0x04, tlv(0x30, tlv(0x80, ski))))
    num = a.number.to_bytes((a.number.bit_length() + 8) // 8, "big")
    exts += tlv(0x30, bytes.fromhex("0603551d14") + tlv(0x04, tlv(0x02, num)))
    tail = tlv(0xA0, tlv(0x30, exts))
    rev_hdr = b"\x30" + der_len(rev_len)
    tbs_len = len(head) + len(rev_hdr) + rev_len + len(tail)
    tbs_hdr = b"\x30" + der_len(tbs_len)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(a.out))) as tmp:
        tbs_path = os.path.join(tmp, "tbs")
        with open(tbs_path, "wb") as f:
            f.write(tbs_hdr + head + rev_hdr)
            buf = []
            for i in order:
                e = serial(i) + dates[i % 1000]
                if i % 3 == 0:
                    buf.append(b"\x30\x2f" + e + reason)
                else:
                    buf.append(b"\x30\x21" + e)
                if len(buf) >= 65536:
                    f.write(b"".join(buf))
                    buf = []
            f.write(b"".join(buf))
            f.write(tail)
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", cak, tbs_path], check=True,
                             capture_output=True).stdout
        sig_el = tlv(0x03, b"\x00" + sig)
        total = len(tbs_hdr) + tbs_len + len(alg) + len(sig_el)
        with open(a.out, "wb") as f, open(tbs_path, "rb") as t:
            f.write(b"\x30" + der_len(total))
            while True:
                b = t.read(1 << 20)
                if not b:
                    break
                f.write(b)
            f.write(alg + sig_el)
    print(len(order))


if __name__ == "__main__":
    sys.exit(main())
