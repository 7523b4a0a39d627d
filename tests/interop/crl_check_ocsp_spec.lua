-- tests/interop/crl_check_ocsp_spec.lua: `crl check --ocsp` against an openssl ocsp responder on
-- 127.0.0.1 (it binds every interface; only 127.0.0.1 is used) over a CA made by certbench:
-- OCSP "revoked" wins over a CRL that does not list the certificate yet, OCSP "good" settles a
-- certificate no CRL covers, and a responder that does not answer leaves the CRL's verdict.
local h = require "support.helper"
local servers = require "support.servers"
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local csr = require "certbench.csr"
local ca_plugin = require "certbench.plugins.ca"
local cjson = require "cjson"

describe("crl check --ocsp", function()
  local dir, ca, port, started = nil, nil, nil, {}
  local P = {}

  local function issue(name, url)
    local key = pkey.generate { type = "ec", curve = "P-256" }
    local req = assert(csr.new { subject = "/O=net2/CN=" .. name .. ".example.com", key = key })
    local cert = assert(ca:issue { csr = req, profile = {
      eku = { "serverAuth", "clientAuth" }, key_usage = { "digitalSignature" }, ocsp_urls = { url } } })
    local path = dir .. "/" .. name .. ".pem"
    assert(fs.write(path, cert:to_pem()))
    return { path = path, serial = cert:serial() }
  end

  local function check(args)
    local out, err, rc = h.run3(h.q(h.bin) .. " --json crl check " .. args)
    local ok, doc = pcall(cjson.decode, out)
    return ok and doc or nil, rc, err .. out
  end

  setup(function()
    dir = h.tmpdir()
    ca = assert(ca_plugin.init(dir .. "/ca", { subject = "/O=net2/CN=OCSP Check Root", key = "ec:P-256", encrypt = false }))
    port = servers.free_port()
    local url = ("http://127.0.0.1:%d"):format(port)
    P.good = issue("good", url)
    P.late = issue("late", url)          -- revoked after the CRL was made
    P.dead = issue("dead", "http://127.0.0.1:" .. servers.free_port()) -- nobody answers there
    P.ca = dir .. "/ca/cacert.pem"
    -- the CRL is made before `late` is revoked: it says nothing of it
    local crl = assert(ca:gencrl { days = 7 })
    assert(fs.write(dir .. "/old.crl", crl:to_pem()))
    assert(ca:revoke { serial = P.late.serial, reason = "keyCompromise" })
    started[#started + 1] = servers.ocsp(dir .. "/ca/index.txt", port, P.ca,
      dir .. "/ca/private/cakey.pem", dir .. "/ocsp.log")
  end)

  teardown(function()
    for _, s in ipairs(started) do servers.stop(s) end
    if ca then ca:close() end
  end)

  it("without a CRL, OCSP good settles the leaf (exit 0); without --ocsp it is undetermined (exit 1)", function()
    local doc, rc, out = check(h.q(P.good.path) .. " --chain " .. h.q(P.ca) .. " --ocsp --timeout 10")
    assert.equal(0, rc, out)
    assert.equal("good", doc.verdict)
    assert.equal("good", doc.certificates[1].ocsp.status)
    assert.matches("OCSP responder", doc.certificates[1].reason, 1, true)
    local _, rc2 = check(h.q(P.good.path) .. " --chain " .. h.q(P.ca))
    assert.equal(1, rc2)
    -- and the text for people names the responder's answer
    local text, _, rc3 = h.run3(h.q(h.bin) .. " crl check " .. h.q(P.good.path) .. " --chain " .. h.q(P.ca) .. " --ocsp --timeout 10")
    assert.equal(0, rc3)
    assert.matches("OCSP http://127.0.0.1:%d+: good", text)
    assert.matches("verdict: GOOD", text, 1, true)
  end)

  it("OCSP revoked wins over a CRL that does not list the certificate yet (exit 3)", function()
    local doc, rc, out = check(h.q(P.late.path) .. " --chain " .. h.q(P.ca) .. " --crl " .. h.q(dir .. "/old.crl"))
    assert.equal(0, rc, out) -- the CRL alone: good
    doc, rc, out = check(h.q(P.late.path) .. " --chain " .. h.q(P.ca) .. " --crl " .. h.q(dir .. "/old.crl") .. " --ocsp --timeout 10")
    assert.equal(3, rc, out)
    assert.equal("revoked", doc.verdict)
    local leaf = doc.certificates[1]
    assert.equal("revoked", leaf.ocsp.status)
    assert.equal("keyCompromise", leaf.ocsp.reason)
    assert.equal("keyCompromise", leaf.revocation.reason)
  end)

  it("a responder that does not answer leaves the CRL's verdict, with the error as evidence", function()
    local doc, rc, out = check(h.q(P.dead.path) .. " --chain " .. h.q(P.ca) .. " --crl " .. h.q(dir .. "/old.crl") .. " --ocsp --timeout 5")
    assert.equal(0, rc, out)
    assert.equal("good", doc.verdict)
    assert.is_string(doc.certificates[1].ocsp.error)
    doc, rc = check(h.q(P.dead.path) .. " --chain " .. h.q(P.ca) .. " --ocsp --timeout 5")
    assert.equal(1, rc)
    assert.equal("undetermined", doc.verdict)
    doc, rc = check(h.q(P.dead.path) .. " --chain " .. h.q(P.ca) .. " --ocsp --timeout 5 --fallback not-revoked")
    assert.equal(0, rc)
    assert.is_true(doc.fallback_applied)
  end)

  it("a certificate without an OCSP URL: the text says so once, with no option crl check does not have", function()
    local key = pkey.generate { type = "ec", curve = "P-256" }
    local req = assert(csr.new { subject = "/O=net2/CN=noaia.example.com", key = key })
    local cert = assert(ca:issue { csr = req, profile = { eku = { "serverAuth" }, key_usage = { "digitalSignature" } } })
    local path = dir .. "/noaia.pem"
    assert(fs.write(path, cert:to_pem()))
    assert.not_matches("OCSP", h.openssl("x509 -noout -ext authorityInfoAccess -in " .. h.q(path)))
    local text, err, rc = h.run3(h.q(h.bin) .. " crl check " .. h.q(path) .. " --chain " .. h.q(P.ca) .. " --ocsp")
    assert.equal(1, rc, text .. err)
    local _, n = text:gsub("has no OCSP URL in its Authority Information Access", "")
    assert.equal(1, n, text)
    assert.not_matches("url=", text)
    assert.matches("verdict: UNDETERMINED", text, 1, true)
  end)
end)
