-- crl-mirror.conf.lua: an example configuration of `certbench crl mirror --config` and of
-- scripts/crl-mirror.lua. Plain Lua returning a table; relative paths are relative to this
-- file; os.getenv is available. Command-line options override what is here.
return {
  out_dir = "/var/lib/certbench/crl",          -- the mirror: DER, PEM, <hash>.rN, <hash>.N
  ca = { "/etc/certbench/trusted-cas.pem" },   -- the CAs whose CRLs are accepted
  sources = {
    "http://pki.example.com/crl/root.crl",
    "http://pki.example.com/crl/all-crls.zip",  -- ZIP or GZIP archives of CRLs are unpacked
    { url = "https://pki.example.com/crl/issuing.crl", tls_ca = "/etc/certbench/web-ca.pem",
      timeout = 60 },
    -- Active Directory publishes CRLs in LDAP:
    -- "ldap://dc1.example.com/CN=Issuing%20CA,CN=dc1,CN=CDP,CN=Public%20Key%20Services,CN=Services,CN=Configuration,DC=example,DC=com?certificateRevocationList?base?objectClass=cRLDistributionPoint",
  },
  concurrency = 8,
  grace = "0",                                  -- e.g. "6h": publish a CRL that just expired
  daily_at = "03:30",                           -- UTC, for --daily-at mode (plus a random delay)
  random_delay = 300,
  hash_links = "symlink",                       -- <hash>.rN: "symlink" to the PEM, or "hardlink"
  metrics = "/var/lib/prometheus/node-exporter/certbench_crl.prom",
  report = "/var/lib/certbench/crl-last-run.json",
}
