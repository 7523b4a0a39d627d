-- crl_check: the crl plugin on arbitrary bytes as a distribution point would serve them: every
-- CRL found (PEM, DER, p7c, ZIP, GZIP) is described as the mirror reports it, and a fixed
-- certificate chain is checked against it (scope, distribution point names parsed from text,
-- reasons, indirect CRL issuers, lookup, signature).
require "certbench.plugins"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local crlfile = require "certbench.plugins.crl.crlfile"
local check = require "certbench.plugins.crl.check"

-- a fixed test key (made for this file, signs nothing else): the seeds in
-- tests/fuzz/corpus/crl_check/fixed-*.der are CRLs it signed, so mutations start from CRLs
-- whose signature verifies and that apply to the leaf below
local key = assert(pkey.load([[
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkWZp6HA0zGVt8pdt
UWLeqpLrDB2zDuxIyE1IpjQGe0OhRANCAAQCHdAA8WO/uuR5g/1JVv8zfqvk7Kjl
whSDQwEnXpt5lgNAhRIgjOu8i5AAOjHmuTJXYlwumI92ae3zBrukFj4Z
-----END PRIVATE KEY-----
]]))
local ca = assert(x509.new { subject = "/C=US/O=Test Certificates 2011/CN=Good CA", issuer_key = key,
  ca = true, days = 3650, not_before = 1262304000, serial = "01" })
local leaf = assert(x509.new { subject = "/CN=leaf", issuer = ca, issuer_key = key, public_key = key,
  serial = "0F", days = 3650, not_before = 1262304000,
  crl_distribution_points = { "http://example.com/good.crl" } })

-- the seeds: `CERTBENCH_CRL_FUZZ_SEEDS=DIR certbench run tests/fuzz/crl_check.lua` writes them
local out = os.getenv("CERTBENCH_CRL_FUZZ_SEEDS")
if out then
  local crl = require "certbench.crl"
  local fs = require "certbench.fs"
  local t = 1795824000
  local function w(name, o)
    o.issuer, o.key, o.this_update, o.next_update = ca, key, t, t + 10 * 365 * 86400
    assert(fs.write(out .. "/fixed-" .. name .. ".der", assert(crl.new(o)):to_der()))
  end
  w("revokes-leaf", { number = 2, entries = { { serial = "0F", date = t, reason = "keyCompromise" } } })
  w("empty", { number = 3 })
  w("idp-url", { number = 4, idp = { urls = { "http://example.com/good.crl" } } })
  w("idp-other", { number = 5, idp = { urls = { "http://example.com/other.crl" } } })
  w("some-reasons", { number = 6, idp = { only_some_reasons = { "keyCompromise", "cACompromise" } } })
  w("delta", { number = 7, delta_base = 2, entries = { { serial = "0F", date = t, reason = "removeFromCRL" } } })
  w("indirect", { number = 8, idp = { indirect = true }, entries = { { serial = "0F", date = t } } })
  os.exit(0)
end

return function(data)
  local list = crlfile.from_data(data, "fuzz", { max_total = 4 << 20, max_member = 1 << 20 }, true)
  if not list then return end
  local crls = {}
  for _, m in ipairs(list) do
    if m.crl then
      crlfile.summary(m.crl)
      crlfile.identity(m.crl)
      crls[#crls + 1] = { crl = m.crl, source = "fuzz" }
    end
  end
  if #crls > 0 then
    local res = check.run { certs = { leaf }, chain = { ca }, crls = crls, fallback = "revoked" }
    assert(res.verdict == "good" or res.verdict == "revoked", "a verdict with the fallback")
    assert(res.certificates[1].status)
  end
end
