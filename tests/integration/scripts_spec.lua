-- tests/integration/scripts_spec.lua: the workflow scripts of scripts/, run as users run them, what they
-- write read back with the openssl CLI. (demo.lua has tests/integration/demo_spec.lua; crl-mirror.lua and its
-- example config tests/interop/crl_mirror_spec.lua; the pfx and convert scripts tests/interop/pfx_spec.lua
-- and tests/interop/convert_spec.lua.)
local h = require "support.helper"

local function run_script(name, args, env)
  return h.run((env or "") .. " " .. h.q(h.bin) .. " run " .. h.q(h.root .. "/scripts/" .. name) .. " " .. (args or ""))
end

describe("scripts/", function()
  it("every script is run by a test", function()
    local tests = h.run("cat " .. h.q(h.root) .. "/tests/*.lua")
    local scripts = h.run("ls " .. h.q(h.root .. "/scripts"))
    local n = 0
    for name in scripts:gmatch("[^\n]+%.lua") do
      n = n + 1
      assert.truthy(tests:find("scripts/" .. name, 1, true) or tests:find('"' .. name .. '"', 1, true),
        name .. " is run by no test in tests/")
    end
    assert.is_true(n >= 5)
  end)
end)

describe("scripts/vcs-cluster.lua", function()
  local dir, out, rc

  setup(function()
    dir = h.tmpdir() .. "/cluster"
    out, rc = run_script("vcs-cluster.lua", h.q(dir))
  end)

  it("makes a private CA, a certificate per peer of three, a CRL, PFX files, and checks each", function()
    assert.equal(0, rc, out)
    assert.matches("ready     upload", out, 1, true)
    local ca = dir .. "/ca.pem"
    local ca_text = h.openssl("x509 -in " .. h.q(ca) .. " -noout -subject -ext basicConstraints")
    assert.matches("CN%s*=%s*cluster.example.com Root CA", ca_text)
    assert.matches("CA:TRUE", ca_text, 1, true)
    for _, peer in ipairs { "vcs1.example.com", "vcs2.example.com", "vcs3.example.com" } do
      local pd = dir .. "/" .. peer
      assert.matches("check     " .. peer .. ": 13 passed, 0 warnings, 0 failed", out, 1, true)
      assert.equal("600", h.mode(pd .. "/privkey.pem"))
      assert.equal("600", h.mode(pd .. "/" .. peer .. ".pfx"))
      local v = h.openssl("verify -crl_check -CAfile " .. h.q(ca) .. " -CRLfile " .. h.q(dir .. "/ca.crl")
        .. " -purpose sslserver " .. h.q(pd .. "/server.pem"))
      assert.matches(": OK", v, 1, true)
      local text = h.openssl("x509 -in " .. h.q(pd .. "/server.pem") .. " -noout -ext subjectAltName,extendedKeyUsage")
      assert.matches("DNS:" .. peer .. ", DNS:cluster.example.com", text, 1, true)
      assert.matches("TLS Web Client Authentication", text, 1, true)
      local p12, prc = h.openssl("pkcs12 -in " .. h.q(pd .. "/" .. peer .. ".pfx") .. " -nodes -passin "
        .. h.q("file:" .. dir .. "/secrets/pfx.pass"))
      assert.equal(0, prc, p12)
      assert.matches("BEGIN PRIVATE KEY", p12, 1, true)
      assert.matches("friendlyName: " .. peer, p12, 1, true)
    end
    -- the CA folder is openssl ca's: its index lists the three certificates
    local index = h.read(dir .. "/ca/index.txt")
    local n = 0
    for _ in index:gmatch("\nV\t") do n = n + 1 end
    if index:sub(1, 2) == "V\t" then n = n + 1 end
    assert.equal(3, n)
  end)

  it("refuses a folder that is not empty, and bad options", function()
    assert.equal(0, rc, out)
    local o, r = run_script("vcs-cluster.lua", h.q(dir))
    assert.equal(1, r)
    assert.matches("is not empty", o, 1, true)
    o, r = run_script("vcs-cluster.lua", h.q(h.tmpdir() .. "/x") .. " --peer 10.0.0.1 --peer vcs2.example.com")
    assert.equal(1, r)
    assert.matches("IP address", o, 1, true)
    o, r = run_script("vcs-cluster.lua", "--frobnicate")
    assert.equal(1, r)
    assert.matches("unknown option --frobnicate", o, 1, true)
  end)

  it("takes the cluster, peers, subject and CA key type, and a CRL distribution point", function()
    local d = h.tmpdir() .. "/c2"
    local o, r = run_script("vcs-cluster.lua", h.q(d) .. " --cluster vc.corp.example --peer a.corp.example --peer b.corp.example"
      .. " --subject /C=SE/O=corp --ca-key ec:P-256 --crl-url http://pki.corp.example/vc.crl")
    assert.equal(0, r, o)
    local text = h.openssl("x509 -in " .. h.q(d .. "/b.corp.example/server.pem") .. " -noout -subject -issuer -ext subjectAltName,crlDistributionPoints")
    assert.matches("subject=C%s*=%s*SE, O%s*=%s*corp, CN%s*=%s*b.corp.example", text)
    assert.matches("DNS:b.corp.example, DNS:vc.corp.example", text, 1, true)
    assert.matches("URI:http://pki.corp.example/vc.crl", text, 1, true)
    local ca_text = h.openssl("x509 -in " .. h.q(d .. "/ca.pem") .. " -noout -text")
    assert.matches("Public Key Algorithm: id-ecPublicKey", ca_text, 1, true)
  end)
end)
