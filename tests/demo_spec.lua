-- the workflow behind `ninja demo`: what it writes, openssl reads and accepts
local h = require "helper"

describe("scripts/demo.lua", function()
  it("writes a key (0600) and a certificate that openssl accepts and that match", function()
    local dir = h.tmpdir() .. "/out"
    local out, rc = h.certbench("run " .. h.q(h.root .. "/scripts/demo.lua") .. " " .. h.q(dir) .. " vcs9.example.com")
    assert.equal(0, rc, out)
    assert.matches("key matches certificate", out, 1, true)
    assert.equal("600", h.mode(dir .. "/privkey.pem"))
    local text, rc2 = h.openssl("x509 -in " .. h.q(dir .. "/server.pem") .. " -noout -subject -ext subjectAltName,extendedKeyUsage")
    assert.equal(0, rc2, text)
    assert.matches("CN%s*=%s*vcs9.example.com", text)
    assert.matches("DNS:vcs9.example.com", text, 1, true)
    assert.matches("TLS Web Client Authentication", text, 1, true)
    local m1 = h.openssl("x509 -in " .. h.q(dir .. "/server.pem") .. " -noout -pubkey")
    local m2, rc3 = h.openssl("pkey -in " .. h.q(dir .. "/privkey.pem") .. " -pubout")
    assert.equal(0, rc3, m2)
    assert.equal(m1, m2)
    local v = h.openssl("verify -CAfile " .. h.q(dir .. "/server.pem") .. " " .. h.q(dir .. "/server.pem"))
    assert.matches(": OK", v, 1, true)
  end)
end)
