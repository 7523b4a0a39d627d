#!/usr/bin/env python3
"""time.py DIR: certificates and CRLs whose times or issuer are unusual, for
spec/regress/malformed_times_spec.lua. python3's cryptography makes a normal EC CA and leaf; the
variants are the same DER with one field replaced, re-signed by the CA key, so only the edited
field is wrong (openssl verifies their signatures).

  ca.pem, ca.key, leaf.key, leaf.pem     the CA and a leaf it issued (valid 2025..2035, Z times)
  leaf-offset.pem      notBefore UTCTime 250601120000+0200 (= 2025-06-01T10:00:00Z),
                       notAfter GeneralizedTime 20351231233000-0130 (= 2036-01-01T01:00:00Z)
  leaf-bad-notafter.pem    notAfter UTCTime "351332000000Z" (month 13)
  leaf-bad-notbefore.pem   notBefore UTCTime "25O601000000Z" (a letter O)
  crl-offset.der       thisUpdate UTCTime 250601120000+0200, nextUpdate 350601120000-0000
  crl-bad-next.der     nextUpdate UTCTime "350231000000Z" (February 31)
  crl-bad-issuer.der   issuer: a SEQUENCE holding an INTEGER instead of SETs of attributes
  crl-ok.der           the same CRL with plain Z times, for the diff
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + content


def children(der):
    """the elements of a constructed element's content: [(tag, content)]"""
    out, i = [], 0
    while i < len(der):
        tag, l = der[i], der[i + 1]
        i += 2
        if l & 0x80:
            k = l & 0x7F
            l = int.from_bytes(der[i:i + k], "big")
            i += k
        out.append((tag, der[i:i + l]))
        i += l
    return out


def outer(der):
    [(tag, content)] = children(der)
    return content


def resign(der, edit, key):
    """der: a Certificate or CertificateList; edit(list of (tag, content) of the TBS) -> list"""
    tbs, alg, _sig = children(outer(der))
    fields = edit(children(tbs[1]))
    tbs_der = tlv(0x30, b"".join(tlv(t, c) for t, c in fields))
    sig = key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    return tlv(0x30, tbs_der + tlv(alg[0], alg[1]) + tlv(0x03, b"\x00" + sig))


def pem(label, der):
    import base64
    b = base64.b64encode(der).decode()
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (
        label, "\n".join(b[i:i + 64] for i in range(0, len(b), 64)), label)


def main(out):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    t0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    t1 = datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Times"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Times CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(t0).not_valid_after(t1)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vcs.example.com")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(0x1234)
            .not_valid_before(t0).not_valid_after(t1)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("vcs.example.com")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))

    def w(name, data):
        with open(os.path.join(out, name), "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)

    w("ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    w("leaf.pem", leaf.public_bytes(serialization.Encoding.PEM))
    for name, k in (("ca.key", ca_key), ("leaf.key", leaf_key)):
        w(name, k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))

    leaf_der = leaf.public_bytes(serialization.Encoding.DER)

    def validity(nb, na):
        def edit(f):
            # version, serial, signature, issuer, validity (index 4), ...
            f[4] = (0x30, tlv(nb[0], nb[1]) + tlv(na[0], na[1]))
            return f
        return edit

    UTC, GEN = 0x17, 0x18
    good_nb, good_na = (UTC, b"250101000000Z"), (UTC, b"350101000000Z")
    for name, nb, na in (
        ("leaf-offset", (UTC, b"250601120000+0200"), (GEN, b"20351231233000-0130")),
        ("leaf-bad-notafter", good_nb, (UTC, b"351332000000Z")),
        ("leaf-bad-notbefore", (UTC, b"25O601000000Z"), good_na),
    ):
        w(name + ".pem", pem("CERTIFICATE", resign(leaf_der, validity(nb, na), ca_key)))

    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca_name)
           .last_update(datetime.datetime(2025, 6, 1, 10, tzinfo=datetime.timezone.utc))
           .next_update(datetime.datetime(2035, 6, 1, 12, tzinfo=datetime.timezone.utc))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(0x77)
                                    .revocation_date(t0).build())
           .add_extension(x509.CRLNumber(5), critical=False)
           .sign(ca_key, hashes.SHA256()))
    crl_der = crl.public_bytes(serialization.Encoding.DER)
    w("crl-ok.der", crl_der)

    def crl_edit(this=None, nxt=None, issuer=None):
        def edit(f):
            # version, signature, issuer (2), thisUpdate (3), nextUpdate (4), revoked, [0] exts
            if issuer is not None:
                f[2] = issuer
            if this is not None:
                f[3] = this
            if nxt is not None:
                f[4] = nxt
            return f
        return edit

    w("crl-offset.der", resign(crl_der, crl_edit((UTC, b"250601120000+0200"), (UTC, b"350601120000-0000")), ca_key))
    w("crl-bad-next.der", resign(crl_der, crl_edit(nxt=(UTC, b"350231000000Z")), ca_key))
    w("crl-bad-issuer.der", resign(crl_der, crl_edit(issuer=(0x30, tlv(0x02, b"\x01"))), ca_key))


if __name__ == "__main__":
    main(sys.argv[1])
