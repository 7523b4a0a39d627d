-- store:verify's profiles on chains the openssl CLI makes at test time, each verdict of the
-- default profile compared with `openssl verify`'s on the same files:
--   iPAddress name constraints (IPv4 and IPv6, permitted and excluded, a DNS name after an
--   address still checked), a critical authorityKeyIdentifier, an unknown critical extension
--   in the trust anchor, notAfter's own second, the ekus and key_usage options, and the shape
--   of a strict-profile failure.
local h = require "support.helper"
local store = require "certbench.store"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"

local dir = h.tmpdir()
local function path(n) return dir .. "/" .. n end

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

-- ca(name, ext_lines) makes a self-signed CA with these extensions (and the usual CA ones)
local function ca(name, ext)
  h.write(path(name .. ".cnf"), "[x]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n" ..
    "subjectKeyIdentifier = hash\n" .. (ext or ""))
  ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. h.q(path(name .. ".key")) ..
    " -subj /CN=" .. name .. " -out " .. h.q(path(name .. ".csr")))
  ossl("x509 -req -in " .. h.q(path(name .. ".csr")) .. " -signkey " .. h.q(path(name .. ".key")) ..
    " -days 30 -extfile " .. h.q(path(name .. ".cnf")) .. " -extensions x -out " .. h.q(path(name .. ".pem")))
  return path(name .. ".pem")
end

-- leaf(name, by, ext_lines) makes a server certificate signed by CA `by`
local n = 0
local function leaf(name, by, ext)
  n = n + 1
  h.write(path(name .. ".cnf"), "[x]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n" ..
    "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n" .. ext)
  ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. h.q(path(name .. ".key")) ..
    " -subj /CN=" .. name .. " -out " .. h.q(path(name .. ".csr")))
  ossl("x509 -req -in " .. h.q(path(name .. ".csr")) .. " -CA " .. h.q(path(by .. ".pem")) .. " -CAkey " ..
    h.q(path(by .. ".key")) .. " -set_serial " .. (0x1000 + n) .. " -days 30 -extfile " .. h.q(path(name .. ".cnf")) ..
    " -extensions x -out " .. h.q(path(name .. ".pem")))
  return path(name .. ".pem")
end

local function load(p) return assert(x509.load(h.read(p))) end

-- verify(root, leaf, opts) -> certbench's verdict ("OK" or the reason), openssl verify's
-- ("OK" or its error line)
local function verify(root, leaf_path, opts)
  local s = assert(store.new { cas = { load(root) } })
  local chain, err, info = s:verify(load(leaf_path), opts)
  s:close()
  local out, rc = h.openssl("verify -CAfile " .. h.q(root) .. " " .. h.q(leaf_path))
  return chain and "OK" or info.reason, rc == 0 and "OK" or out, err, info
end

describe("iPAddress name constraints (Debian's BoringSSL has no IP case; certbench checks them)", function()
  local root = ca("ncroot", "nameConstraints = critical,permitted;IP:192.0.2.0/255.255.255.0," ..
    "permitted;IP:2001:db8::/ffff:ffff::,permitted;DNS:example.com,excluded;IP:192.0.2.128/255.255.255.128\n")
  local cases = {
    { "IPv4 inside the permitted range", "IP:192.0.2.1", "OK" },
    { "IPv4 in the excluded part of the range", "IP:192.0.2.200", "excluded_violation" },
    { "IPv4 outside every permitted range", "IP:198.51.100.1", "permitted_violation" },
    { "IPv6 inside the permitted range", "IP:2001:db8::1", "OK" },
    { "IPv6 outside it", "IP:2001:db9::1", "permitted_violation" },
    { "a permitted address and a permitted DNS name", "IP:192.0.2.7,DNS:vcs.example.com", "OK" },
    { "a DNS name outside the DNS range after a permitted address", "IP:192.0.2.7,DNS:vcs.example.org",
      "permitted_violation" },
    { "a DNS name only", "DNS:vcs.example.com", "OK" },
  }
  for i, c in ipairs(cases) do
    it(c[1] .. ": " .. c[3] .. ", as openssl verify says", function()
      local got, theirs, err, info = verify(root, leaf("nc" .. i, "ncroot", "subjectAltName = " .. c[2] .. "\n"))
      assert.equal(c[3], got, tostring(err))
      if c[3] == "OK" then
        assert.equal("OK", theirs)
      else
        -- the same X509_V_ERR code at the same depth
        assert.matches("error " .. info.code .. " at " .. info.depth .. " depth", theirs, 1, true)
      end
    end)
  end

  it("a certificate with an address, under a CA with no iPAddress constraint, as before", function()
    local plain = ca("dnsroot", "nameConstraints = critical,permitted;DNS:example.com\n")
    local got, theirs = verify(plain, leaf("ncd", "dnsroot", "subjectAltName = IP:192.0.2.1,DNS:a.example.com\n"))
    assert.equal("OK", got)
    assert.equal("OK", theirs)
  end)
end)

describe("the default profile refuses what OpenSSL 3 refuses", function()
  it("a critical authorityKeyIdentifier", function()
    local root = ca("akiroot")
    local got, theirs, err, info = verify(root, leaf("aki", "akiroot",
      "authorityKeyIdentifier = critical,keyid\nsubjectAltName = DNS:a.example.com\n"))
    assert.equal("unhandled_critical_extension", got, err)
    assert.equal(0, info.depth)
    assert.matches("unhandled critical extension", theirs)
    -- strict names the rule
    local s = assert(store.new { cas = { load(root) } })
    local chain, err2, si = s:verify(load(path("aki.pem")), { profile = "strict" })
    assert.is_nil(chain)
    assert.equal(0, si.depth)
    assert.equal("unhandled_critical_extension", si.reason)
    assert.equal("RFC 5280 4.2.1.1", si.rule)
    assert.equal("RFC 5280 4.2.1.1: authorityKeyIdentifier MUST NOT be critical", si.text)
    assert.equal("RFC 5280 4.2.1.1: authorityKeyIdentifier MUST NOT be critical (depth 0: CN = aki)", err2)
  end)

  -- each extension critical in a leaf: certbench's default verdict is openssl verify's
  local critical_exts = {
    { "authorityKeyIdentifier", "authorityKeyIdentifier = critical,keyid" },
    { "subjectKeyIdentifier", "subjectKeyIdentifier = critical,hash" },
    { "crlDistributionPoints", "crlDistributionPoints = critical,URI:http://crl.example.com/a.crl" },
    { "authorityInfoAccess", "authorityInfoAccess = critical,OCSP;URI:http://ocsp.example.com" },
    { "issuerAltName", "issuerAltName = critical,DNS:ca.example.com" },
    { "freshestCRL", "freshestCRL = critical,URI:http://crl.example.com/d.crl" },
    { "certificatePolicies", "certificatePolicies = critical,1.3.6.1.4.1.55555.2" },
    { "an unknown private extension", "1.3.6.1.4.1.55555.3 = critical,DER:0500" },
  }
  for i, c in ipairs(critical_exts) do
    it("a critical " .. c[1] .. " in the leaf, as openssl verify judges it", function()
      local root = ca("cxroot" .. i)
      local got, theirs, err = verify(root, leaf("cx" .. i, "cxroot" .. i, c[2]:gsub("subjectKeyIdentifier = critical,hash",
        "subjectKeyIdentifier = critical,hash") .. "\nsubjectAltName = DNS:a.example.com\n"))
      if theirs == "OK" then
        assert.equal("OK", got, err)
      else
        assert.equal("unhandled_critical_extension", got, err)
        assert.matches("unhandled critical extension", theirs)
      end
    end)
  end

  it("an unknown critical extension in the trust anchor", function()
    local root = ca("critroot", "1.3.6.1.4.1.55555.1 = critical,DER:0500\n")
    local got, theirs, err, info = verify(root, leaf("critleaf", "critroot", "subjectAltName = DNS:a.example.com\n"))
    assert.equal("unhandled_critical_extension", got, err)
    assert.equal(1, info.depth)
    assert.equal("CN=critroot", info.cert:subject():rfc4514())
    assert.matches("unhandled critical extension", theirs)
  end)
end)

describe("notAfter is the last valid second (RFC 5280 4.1.2.5)", function()
  it("valid at notAfter, expired one second later", function()
    local key = pkey.generate { type = "ec", curve = "P-256" }
    local T = 1893456000 -- 2030-01-01T00:00:00Z
    local root = assert(x509.new { subject = "/CN=t-root", issuer_key = key, ca = true, not_before = T - 86400,
                                   not_after = T + 86400 })
    local lk = pkey.generate { type = "ec", curve = "P-256" }
    local cert = assert(x509.new { subject = "/CN=t-leaf", issuer = root, issuer_key = key, public_key = lk,
                                   not_before = T - 3600, not_after = T })
    local s = assert(store.new { cas = { root } })
    assert.is_table((s:verify(cert, { time = T })))
    assert.is_table((s:verify(cert, { time = T, profile = "strict" })))
    local chain, err, info = s:verify(cert, { time = T + 1 })
    assert.is_nil(chain, err)
    assert.equal("cert_has_expired", info.reason)
    chain, err, info = s:verify(cert, { time = T - 3601 })
    assert.equal("cert_not_yet_valid", info.reason)
  end)
end)

describe("ekus and key_usage", function()
  local root = ca("ekuroot")
  local lp = leaf("ekuleaf", "ekuroot", "subjectAltName = DNS:a.example.com\n")
  local s = assert(store.new { cas = { load(root) } })
  local cert = load(lp)

  it("pass when the leaf lists every one (names or OIDs)", function()
    assert.is_table((s:verify(cert, { ekus = { "serverAuth" } })))
    assert.is_table((s:verify(cert, { ekus = { "1.3.6.1.5.5.7.3.1" }, key_usage = { "digitalSignature" } })))
  end)

  it("fail with invalid_purpose naming what is missing", function()
    local chain, err, info = s:verify(cert, { ekus = { "serverAuth", "clientAuth" } })
    assert.is_nil(chain)
    assert.equal("invalid_purpose", info.reason)
    assert.equal(0, info.depth)
    assert.matches("clientAuth", err, 1, true)
    chain, err, info = s:verify(cert, { key_usage = { "keyEncipherment" }, profile = "strict" })
    assert.is_nil(chain)
    assert.equal("invalid_purpose", info.reason)
    assert.matches("keyEncipherment", err, 1, true)
  end)

  it("raise for a name that is no usage, and for an unknown profile", function()
    assert.has_error(function() s:verify(cert, { ekus = { "noSuchUsage" } }) end)
    assert.has_error(function() s:verify(cert, { key_usage = { "keyCertSigning" } }) end)
    assert.has_error(function() s:verify(cert, { profile = "pedantic" }) end)
  end)
end)

describe("a strict-profile failure", function()
  it("names the rule, in the usual error shape, where openssl verify (and the default) accept", function()
    local root = ca("sroot")
    h.write(path("s0.cnf"), "[x]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n" ..
      "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n" ..
      "subjectAltName = DNS:s0\n")
    ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. h.q(path("s0.key")) ..
      " -subj /CN=s0 -out " .. h.q(path("s0.csr")))
    ossl("x509 -req -in " .. h.q(path("s0.csr")) .. " -CA " .. h.q(root) .. " -CAkey " .. h.q(path("sroot.key")) ..
      " -set_serial 0 -days 30 -extfile " .. h.q(path("s0.cnf")) .. " -extensions x -out " .. h.q(path("s0.pem")))
    local got, theirs = verify(root, path("s0.pem"))
    assert.equal("OK", got)
    assert.equal("OK", theirs)
    local s = assert(store.new { cas = { load(root) } })
    local chain, err, info = s:verify(load(path("s0.pem")), { profile = "strict", purpose = "sslserver" })
    assert.is_nil(chain)
    assert.equal(50, info.code)
    assert.equal("strict_profile", info.reason)
    assert.equal("RFC 5280 4.1.2.2", info.rule)
    assert.equal("RFC 5280 4.1.2.2: the serial number MUST be a positive integer", info.text)
    assert.equal(0, info.depth)
    assert.equal("CN=s0", info.cert:subject():rfc4514())
    assert.equal("RFC 5280 4.1.2.2: the serial number MUST be a positive integer (depth 0: CN = s0)", err)
  end)
end)
