-- tests/scripts_spec.lua: the workflow scripts of scripts/, run as users run them, what they
-- write read back with the openssl CLI. (demo.lua has tests/demo_spec.lua; the pfx and convert
-- scripts have their own tests in tests/pfx_interop_spec.lua and tests/convert_interop_spec.lua.)
local h = require "helper"
local servers = require "servers"

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

describe("scripts/crl-mirror.lua", function()
  local dir, www, ca, http

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    h.run("mkdir -p " .. h.q(www))
    -- two CAs, a CRL each (one DER, one PEM), served from 127.0.0.1
    local a = servers.make_ca(dir, "CA-A")
    local b = servers.make_ca(dir, "CA-B")
    local crl_a = servers.make_crl(dir .. "/a", a)
    local crl_b = servers.make_crl(dir .. "/b", b)
    h.run("cp " .. h.q(crl_a) .. " " .. h.q(www .. "/a.crl"))
    h.run("openssl crl -inform DER -in " .. h.q(crl_b) .. " -out " .. h.q(www .. "/b.crl"))
    ca = dir .. "/signers.pem"
    h.write(ca, h.read(a.cert) .. h.read(b.cert))
    http = servers.http(www)
  end)

  teardown(function() servers.stop(http) end)

  local function env(out_dir, sources)
    return ("CRL_MIRROR_DIR=%s CRL_MIRROR_CA=%s CRL_MIRROR_SOURCES=%s"):format(h.q(out_dir), h.q(ca), h.q(sources))
  end

  it("mirrors several sources in one run and tells how each went", function()
    local base = "http://127.0.0.1:" .. http.port
    local m = dir .. "/mirror"
    local out, rc = run_script("crl-mirror.lua", nil, env(m, base .. "/a.crl " .. base .. "/b.crl"))
    assert.equal(0, rc, out)
    assert.matches("2 of 2 sources ok, 2 CRLs published", out, 1, true)
    assert.matches("published    CN=CA-A", out, 1, true)
    -- the folder works as openssl's -CApath with CRLs
    local n = 0
    for f in h.run("ls " .. h.q(m)):gmatch("[^\n]+") do if f:match("%.r%d+$") then n = n + 1 end end
    assert.equal(2, n)
    -- a second run finds nothing new
    out, rc = run_script("crl-mirror.lua", nil, env(m, base .. "/a.crl " .. base .. "/b.crl"))
    assert.equal(0, rc, out)
    assert.matches("0 CRLs published, 2 unchanged", out, 1, true)
  end)

  it("exits 1 when a source fails, keeping what the others brought", function()
    local base = "http://127.0.0.1:" .. http.port
    local m = dir .. "/mirror2"
    local out, rc = run_script("crl-mirror.lua", nil, env(m, base .. "/a.crl " .. base .. "/missing.crl"))
    assert.equal(1, rc, out)
    assert.matches("FAILED http://127.0.0.1:%d+/missing.crl", out)
    assert.matches("HTTP 404", out, 1, true)
    assert.matches("1 of 2 sources ok", out, 1, true)
  end)

  it("is also a configuration for `crl mirror --config`, and its defaults are a valid one", function()
    local base = "http://127.0.0.1:" .. http.port
    local m = dir .. "/mirror3"
    local out, rc = h.run(env(m, base .. "/b.crl") .. " " .. h.q(h.bin) .. " crl mirror --once --config "
      .. h.q(h.root .. "/scripts/crl-mirror.lua"))
    assert.equal(0, rc, out)
    assert.matches("1 CRLs published", out, 1, true)
    -- without the environment: the example sources, daily at 03:30 (nothing fetched here)
    local check = h.run(h.q(h.bin) .. " run - <<'EOF'\n"
      .. "local mirror = require('certbench.plugins.crl').mirror\n"
      .. "local t = assert(mirror.load_config(" .. ("%q"):format(h.root .. "/scripts/crl-mirror.lua") .. "))\n"
      .. "local cfg = assert(mirror.config(t))\n"
      .. "print(#cfg.sources, cfg.daily_at, cfg.out_dir, cfg.sources[2].url)\nEOF")
    assert.matches("4\t03:30\t/var/lib/certbench/crl\thttps://certsrv.example.com/CertEnroll/corp%-issuing%-CA.crl", check)
  end)
end)
