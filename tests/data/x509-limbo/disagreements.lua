-- The x509-limbo verdicts of certbench.store that differ from expected_result, per profile,
-- each with its reason. tests/integration/limbo_spec.lua fails when a case not listed here disagrees (a
-- regression) and when a case listed here agrees (remove it). Found by running the cases
-- (build/limbo-results.tsv has every verdict with its error) and `openssl verify` on each.
return {
  openssl = {
    ["crl::crlnumber-missing"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 5.2.3: a CRL MUST include the CRL number (the CRL of CN = x509-limbo-root has none))",
    ["cve::cve-2024-0567"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["cve::cve-2025-61727"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: the wildcard dNSName '*.example.com' stands for names of the excluded subtree 'bar.example.com')",
    ["pathlen::validation-ignores-pathlen-in-leaf"] =
      "purpose sslserver wants a TLS keyUsage (digitalSignature, keyEncipherment or keyAgreement) in the leaf, as OpenSSL's does (openssl verify -purpose sslserver fails it too); this leaf is a CA certificate with keyCertSign only",
    ["pathlen::max-chain-depth-1-self-issued"] =
      "max_depth counts the self-issued intermediate, as openssl verify -verify_depth does; RFC 5280 6.1 (and the case) leave self-issued certificates out of the count",
    ["rfc5280::aki::leaf-missing-aki"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.1: authorityKeyIdentifier with a keyIdentifier MUST be present in a certificate that is not self-signed)",
    ["rfc5280::aki::intermediate-missing-aki"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.1: authorityKeyIdentifier with a keyIdentifier MUST be present in a certificate that is not self-signed)",
    ["rfc5280::nc::permitted-dns-match-noncritical"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: nameConstraints MUST be critical)",
    ["rfc5280::nc::invalid-dnsname-leading-period"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: dNSName constraint '.example.com' is not a host or domain name (a leading period is for URI and email constraints only))",
    ["rfc5280::nc::not-allowed-in-ee-noncritical"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: nameConstraints MUST be used only in a CA certificate)",
    ["rfc5280::nc::not-allowed-in-ee-critical"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: nameConstraints MUST be used only in a CA certificate)",
    ["rfc5280::nc::nc-permits-invalid-dns-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.6: dNSName '.example.com' is not in the preferred name syntax (RFC 1034: letters, digits, hyphens))",
    ["rfc5280::nc::nc-forbids-alternate-chain-ica"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["rfc5280::nc::nc-forbids-same-chain-ica"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["rfc5280::nc::nc-forbids-dnsname-wildcard-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: the wildcard dNSName '*.example.com' stands for names of the excluded subtree 'bar.example.com')",
    ["rfc5280::pc::ica-noncritical-pc"] =
      "OpenSSL 3 accepts it too (openssl verify: OK), and so does the strict profile: see its list",
    ["rfc5280::san::noncritical-with-empty-subject"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.6: with an empty subject, subjectAltName MUST be present and critical)",
    ["rfc5280::san::underscore-dns"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.6: dNSName 'foo_bar.example.com' is not in the preferred name syntax (RFC 1034: letters, digits, hyphens))",
    ["rfc5280::serial::too-long"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.1.2.2: the serial number MUST NOT be longer than 20 octets)",
    ["rfc5280::serial::zero"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.1.2.2: the serial number MUST be a positive integer)",
    ["rfc5280::ski::root-missing-ski"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.2: subjectKeyIdentifier MUST appear in a CA certificate)",
    ["rfc5280::ski::intermediate-missing-ski"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.2: subjectKeyIdentifier MUST appear in a CA certificate)",
    ["rfc5280::root-missing-basic-constraints"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.3: keyCertSign MUST NOT be asserted unless basicConstraints asserts cA)",
    ["rfc5280::root-non-critical-basic-constraints"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.9: basicConstraints MUST be critical in a CA certificate)",
    ["rfc5280::leaf-ku-keycertsign"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.3: keyCertSign MUST NOT be asserted unless basicConstraints asserts cA)",
    ["rfc5280::ca-as-leaf"] =
      "purpose sslserver wants a TLS keyUsage (digitalSignature, keyEncipherment or keyAgreement) in the leaf, as OpenSSL's does (openssl verify -purpose sslserver fails it too); this leaf is a CA certificate with keyCertSign only",
    ["rfc5280::root-and-intermediate-swapped"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["webpki::aki::root-with-aki-missing-keyidentifier"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.1.3: a root's authorityKeyIdentifier MUST hold only a keyIdentifier, equal to its subjectKeyIdentifier)",
    ["webpki::cn::ipv4-hex-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName '0xC0A80101' is not among the subjectAltName values)",
    ["webpki::cn::ipv4-leading-zeros-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName '192.168.001.001' is not among the subjectAltName values)",
    ["webpki::cn::ipv6-uppercase-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName '2001:DB8::8A2E:370:7334' is not among the subjectAltName values)",
    ["webpki::cn::ipv6-uncompressed-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName '2001:0db8:0000:0000:0000:0000:0000:0001' is not among the subjectAltName values)",
    ["webpki::cn::ipv6-non-rfc5952-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName '2001:db8:0:0:1:0:0:1' is not among the subjectAltName values)",
    ["webpki::cn::punycode-not-in-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName 'xn--nxasmq6b.com' is not among the subjectAltName values)",
    ["webpki::cn::utf8-vs-punycode-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName 'test-測試.com' is not among the subjectAltName values)",
    ["webpki::cn::not-in-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName 'notinsan.example.com' is not among the subjectAltName values)",
    ["webpki::cn::case-mismatch"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.4.3: the subject commonName 'Example.COM' is not among the subjectAltName values)",
    ["webpki::eku::ee-anyeku"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.10: a subscriber certificate MUST NOT list anyExtendedKeyUsage)",
    ["webpki::eku::ee-critical-eku"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.10: a subscriber certificate's extendedKeyUsage MUST NOT be critical)",
    ["webpki::eku::ee-without-eku"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.10: a subscriber certificate MUST have extendedKeyUsage)",
    ["webpki::eku::root-has-eku"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.1.2: a root certificate MUST NOT have extendedKeyUsage)",
    ["webpki::nc::intermediate-permitted-excluded-subtrees-both-null"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: nameConstraints MUST hold permittedSubtrees or excludedSubtrees, not an empty sequence)",
    ["webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.1.10: nameConstraints MUST hold permittedSubtrees or excludedSubtrees, not an empty sequence)",
    ["webpki::san::public-suffix-multi-label-wildcard-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK): the flaw is a wildcard over a multi-label public suffix (needs the Public Suffix List), which neither BoringSSL nor OpenSSL checks; the strict profile refuses the chain, but only by CA/B Forum BR 7.1.4.3: the subject commonName 'example.com' is not among the subjectAltName values",
    ["webpki::san::public-suffix-private-namespace-wildcard-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK): the flaw is a wildcard over a private public suffix (needs the Public Suffix List), which neither BoringSSL nor OpenSSL checks; the strict profile refuses the chain, but only by CA/B Forum BR 7.1.4.3: the subject commonName 'example.com' is not among the subjectAltName values",
    ["webpki::san::no-san"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.12: a subscriber certificate MUST have subjectAltName)",
    ["webpki::san::san-critical-with-nonempty-subject"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.12: subjectAltName MUST NOT be critical when the subject is not empty)",
    ["webpki::malformed-aia"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (RFC 5280 4.2.2.1: authorityInfoAccess does not decode (a SEQUENCE of accessMethod, accessLocation))",
    ["webpki::forbidden-p192-leaf"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: key id-ecPublicKey cannot be used (unsupported or malformed))",
    ["webpki::forbidden-dsa-leaf"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: DSA key (RSA or ECDSA only))",
    ["webpki::forbidden-weak-rsa-key-in-root"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: RSA key of 1024 bits (at least 2048, a multiple of 8))",
    ["webpki::forbidden-weak-rsa-in-leaf"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: RSA key of 1024 bits (at least 2048, a multiple of 8))",
    ["webpki::forbidden-rsa-not-divisible-by-8-in-root"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: RSA key of 2052 bits (at least 2048, a multiple of 8))",
    ["webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 6.1.5: RSA key of 2052 bits (at least 2048, a multiple of 8))",
    ["webpki::v1-cert"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.1: certificates MUST be of version 3)",
    ["webpki::ee-basicconstraints-ca"] =
      "OpenSSL 3 accepts it too (openssl verify: OK); only the strict profile refuses it (CA/B Forum BR 7.1.2.7.8: a subscriber certificate MUST NOT assert cA)",
  },
  strict = {
    ["rfc5280::pc::ica-noncritical-pc"] =
      "RFC 5280 4.2.1.11 (policyConstraints MUST be critical) binds the issuing CA, not path validation: NIST PKITS 4.8, 4.10 and 4.12 hold paths through CAs with a non-critical policyConstraints valid, and PKITS wins; `show --lint` reports the rule",
    ["cve::cve-2024-0567"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["pathlen::validation-ignores-pathlen-in-leaf"] =
      "purpose sslserver wants a TLS keyUsage (digitalSignature, keyEncipherment or keyAgreement) in the leaf, as OpenSSL's does (openssl verify -purpose sslserver fails it too); this leaf is a CA certificate with keyCertSign only",
    ["pathlen::max-chain-depth-1-self-issued"] =
      "max_depth counts the self-issued intermediate, as openssl verify -verify_depth does; RFC 5280 6.1 (and the case) leave self-issued certificates out of the count",
    ["rfc5280::eku::ee-without-eku"] =
      "conflicts with webpki::eku::ee-without-eku (the same leaf without extendedKeyUsage, expected to fail): the strict profile applies CA/B Forum BR 7.1.2.7.10",
    ["rfc5280::nc::permitted-dns-match-more"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["rfc5280::nc::permitted-ipv4-match"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["rfc5280::nc::permitted-ipv6-match"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["rfc5280::nc::permitted-dn-match"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["rfc5280::nc::nc-forbids-alternate-chain-ica"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["rfc5280::nc::nc-forbids-same-chain-ica"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["rfc5280::ca-as-leaf"] =
      "purpose sslserver wants a TLS keyUsage (digitalSignature, keyEncipherment or keyAgreement) in the leaf, as OpenSSL's does (openssl verify -purpose sslserver fails it too); this leaf is a CA certificate with keyCertSign only",
    ["rfc5280::root-and-intermediate-swapped"] =
      "BoringSSL's chain builder takes the first issuer it finds and does not try another path when that one fails (openssl verify fails it the same way)",
    ["webpki::nc::permitted-dns-match-noncritical"] =
      "conflicts with rfc5280::nc::permitted-dns-match-noncritical (expected to fail): the strict profile applies RFC 5280 4.2.1.10, nameConstraints MUST be critical",
    ["webpki::nc::nc-permits-dns-san-pattern"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["webpki::san::exact-localhost-ip-san"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
    ["webpki::san::leftmost-wildcard-san"] =
      "limbo's generic leaf has CN=example.com while its SANs hold other names, which CA/B Forum BR 7.1.4.3 forbids; the strict profile applies that rule (the webpki::cn:: cases want it)",
  },
}
