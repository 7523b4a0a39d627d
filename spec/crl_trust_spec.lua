-- spec/crl_trust_spec.lua: the trusted CAs of the crl plugin (plugins/crl/trust.lua): files with
-- several CAs and CRLs, duplicates, the issuer of a CRL by name, key id and signature.
local h = require "helper"
local F = require "crl_plugin_fixture"
local x509 = require "certbench.x509"
local trust = require "certbench.plugins.crl.trust"

describe("crl trust set", function()
  local d, a, b
  setup(function()
    d = h.tmpdir()
    a = F.ca(d, "Trust A")
    b = F.ca(d, "Trust B")
  end)

  it("keeps each CA once, whatever files and objects it comes in", function()
    h.write(d .. "/ab.pem", h.read(a.pem) .. h.read(b.pem))
    h.write(d .. "/ba.pem", h.read(b.pem) .. "text between\n" .. h.read(a.pem) .. F.crl(a, { number = 1 }):to_pem())
    local set = assert(trust.load { d .. "/ab.pem", d .. "/ba.pem" })
    assert.equal(2, #set.certs)
    assert.equal(1, #set.crls)
    assert.is_false(set:add(x509.load(h.read(a.pem))))
    assert.equal(2, #set.certs)
    assert.equal(1, #set:candidates(a.cert:subject()))
  end)

  it("finds the issuer of a CRL, or says why not", function()
    local set = assert(trust.load(a.pem))
    assert.equal(a.cert:fingerprint(), set:issuer_of(F.crl(a, { number = 2 })):fingerprint())
    local none, why, code = set:issuer_of(F.crl(b, { number = 2 }))
    assert.is_nil(none)
    assert.equal("untrusted", code)
    assert.matches("not among the trusted CAs", why)
    local _, why2, code2 = set:issuer_of(F.crl(a, { number = 3, signer = F.impostor(a) }))
    assert.equal("signature", code2)
    assert.matches("does not verify", why2)
  end)

  it("loads a bundle of CAs in linear time (4 times the CAs, not 16 times the time)", function()
    local key = require("certbench.pkey").generate { type = "ec", curve = "P-256" }
    local many = {}
    for i = 1, 2000 do
      many[i] = assert(x509.new { subject = "/CN=bundle " .. i, issuer_key = key, ca = true, days = 1 }):to_pem()
    end
    h.write(d .. "/500.pem", table.concat(many, "", 1, 500))
    h.write(d .. "/2000.pem", table.concat(many))
    local function took(path, n)
      local best = math.huge
      for _ = 1, 3 do
        local t0 = os.clock()
        local set = assert(trust.load(path))
        best = math.min(best, os.clock() - t0)
        assert.equal(n, #set.certs)
      end
      return best
    end
    local t500, t2000 = took(d .. "/500.pem", 500), took(d .. "/2000.pem", 2000)
    assert.is_true(t2000 < 9 * t500, ("500 CAs: %.3f s, 2000: %.3f s"):format(t500, t2000))
  end)
end)
