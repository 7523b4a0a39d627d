#!/usr/bin/env python3
"""archive.py DIR [--bombs-only]: the files spec/archive_spec.lua reads, made with python3's
cryptography, zipfile and gzip (the zip/gzip/openssl CLIs make the rest in the spec).

  ca.pem/.der, leaf.pem/.der      an EC CA and a certificate it issued
  crl1..3.der/.pem                CRLs of that CA (numbers 1..3, crl1 with two entries)
  stored.zip                      crl1.der stored, crl2.der deflated
  inner.zip, outer.zip            crl3.der in a zip in a zip (outer: sub/inner.zip)
  deep.zip                        a zip in a zip in a zip (3 levels)
  gz-in-zip.zip                   dir/crl1.der.gz inside a zip
  many.zip                        1001 tiny members
  sizes.zip                       big.bin (2 MiB random), three 600 KiB random members
  smallbombs.zip                  20 members of 100 KiB of zeros (each under ratio_grace)
  empty.zip                       no members
  bzip2.zip                       crl1.der compressed with bzip2 (read through libzip)
  bomb.zip, bomb.gz               (--bombs-only: only these) 1 GiB of zeros each, written
                                  streaming, about 1 MB each
"""
import datetime
import gzip
import io
import os
import sys
import zipfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

out = sys.argv[1]
bombs_only = len(sys.argv) > 2 and sys.argv[2] == "--bombs-only"


def path(name):
    return os.path.join(out, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


if bombs_only:
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path("bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("zeros.crl", "w", force_zip64=True) as f:
            for _ in range(1024):
                f.write(chunk)
    with open(path("bomb.gz"), "wb") as raw:
        with gzip.GzipFile("zeros.crl", "wb", compresslevel=9, fileobj=raw, mtime=0) as f:
            for _ in range(1024):
                f.write(chunk)
    sys.exit(0)

now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "archive test CA")])
ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
      .public_key(key.public_key()).serial_number(1)
      .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(key, hashes.SHA256()))
leaf_key = ec.generate_private_key(ec.SECP256R1())
leaf = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(name).public_key(leaf_key.public_key()).serial_number(0x1234)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256()))
for n, c in (("ca", ca), ("leaf", leaf)):
    write(n + ".pem", c.public_bytes(serialization.Encoding.PEM))
    write(n + ".der", c.public_bytes(serialization.Encoding.DER))

for number in (1, 2, 3):
    b = (x509.CertificateRevocationListBuilder().issuer_name(name)
         .last_update(now).next_update(now + datetime.timedelta(days=7 * number))
         .add_extension(x509.CRLNumber(number), critical=False))
    if number == 1:
        for serial in (0x1234, 0xABCDEF):
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    crl = b.sign(key, hashes.SHA256())
    write("crl%d.der" % number, crl.public_bytes(serialization.Encoding.DER))
    write("crl%d.pem" % number, crl.public_bytes(serialization.Encoding.PEM))


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def make_zip(name, members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for m in members:
            if len(m) == 3:
                z.writestr(m[0], m[1], compress_type=m[2])
            else:
                z.writestr(m[0], m[1])
    if name:
        write(name, buf.getvalue())
    return buf.getvalue()


make_zip("stored.zip", [("crl1.der", read("crl1.der"), zipfile.ZIP_STORED),
                        ("crl2.der", read("crl2.der"), zipfile.ZIP_DEFLATED)])
inner = make_zip("inner.zip", [("crl3.der", read("crl3.der"))])
make_zip("outer.zip", [("sub/inner.zip", inner), ("crl1.pem", read("crl1.pem"))])
make_zip("deep.zip", [("l2.zip", make_zip(None, [("l3.zip", inner)]))])
make_zip("gz-in-zip.zip", [("dir/crl1.der.gz", gzip.compress(read("crl1.der"), mtime=0))])
make_zip("many.zip", [("m%04d.txt" % i, b"x") for i in range(1001)])
rnd = os.urandom(600 * 1024)
make_zip("sizes.zip", [("big.bin", os.urandom(2 << 20))] +
         [("part%d.bin" % i, rnd[i:] + rnd[:i]) for i in range(3)])
make_zip("smallbombs.zip", [("zeros%02d.crl" % i, bytes(100 * 1024)) for i in range(20)])
make_zip("empty.zip", [])
make_zip("bzip2.zip", [("crl1.der", read("crl1.der"))], zipfile.ZIP_BZIP2)

