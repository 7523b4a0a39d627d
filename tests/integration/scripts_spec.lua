-- tests/integration/scripts_spec.lua: every workflow script of scripts/ run here as users run it
-- (`certbench run scripts/NAME ...`), what it wrote read back with the openssl CLI. One case per
-- script in CASES; a scripts/*.lua without a case fails the first test (an example config such
-- as crl-mirror.conf.lua is covered by the case that loads it). The deep tests of a script live
-- next to its plugin (tests/interop/convert_spec.lua, pfx_spec.lua, crl_mirror_spec.lua,
-- tests/integration/demo_spec.lua); the cases here make sure each script itself still runs.
local h = require "support.helper"
local F = require "support.crl_plugin"
local servers = require "support.servers"
local fs = require "certbench.fs"

local function run_script(name, args, env)
  return h.run((env or "") .. " " .. h.q(h.bin) .. " run " .. h.q(h.root .. "/scripts/" .. name) .. " " .. (args or ""))
end

local function openssl_ok(args)
  local out, rc = h.openssl(args)
  assert.equal(0, rc, "openssl " .. args .. "\n" .. out)
  return out
end

-- a CA, a server certificate under it, and the files the Windows side hands over
local function small_pki(dir)
  h.sh(("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 -subj '/CN=scripts Root CA' "
    .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>&1"):format(h.q(dir)))
  h.sh(("cd %s && openssl req -newkey rsa:2048 -nodes -keyout vcs.key -out vcs.csr -subj '/CN=vcs.example.com' 2>&1 && "
    .. "printf 'subjectAltName=DNS:vcs.example.com\\nextendedKeyUsage=serverAuth,clientAuth\\nbasicConstraints=CA:FALSE\\n' > ext && "
    .. "openssl x509 -req -in vcs.csr -CA root.pem -CAkey root.key -CAcreateserial -days 10 -extfile ext -out vcs.pem 2>&1"):format(h.q(dir)))
end

-- CASES[i] = { script = "NAME.lua", covers = { other files of scripts/ it loads },
--              setup = function() -> state, checks = { { what, function(state) }, ... } }
local CASES = {}

CASES[#CASES + 1] = {
  script = "vcs-cluster.lua",
  setup = function()
    local dir = h.tmpdir() .. "/cluster"
    local out, rc = run_script("vcs-cluster.lua", h.q(dir))
    return { dir = dir, out = out, rc = rc }
  end,
  checks = {
    { "makes a private CA, a certificate per peer of three, a CRL, PFX files, and checks each", function(s)
      local dir, out, rc = s.dir, s.out, s.rc
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
    end },
    { "refuses a folder that is not empty, and bad options", function(s)
      local dir, out, rc = s.dir, s.out, s.rc
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
    end },
    { "takes the cluster, peers, SIP domains, subject and CA key type, a CRL distribution point and an OCSP responder", function(s)
      local dir, out, rc = s.dir, s.out, s.rc
      local d = h.tmpdir() .. "/c2"
      local o, r = run_script("vcs-cluster.lua", h.q(d) .. " --cluster vc.corp.example --peer a.corp.example --peer b.corp.example"
        .. " --domain corp.example --domain sip.corp.example"
        .. " --subject /C=SE/O=corp --ca-key ec:P-256 --crl-url http://pki.corp.example/vc.crl --ocsp-url http://ocsp.corp.example/")
      assert.equal(0, r, o)
      assert.matches("check     b.corp.example: 13 passed, 0 warnings, 0 failed", o, 1, true)
      local text = h.openssl("x509 -in " .. h.q(d .. "/b.corp.example/server.pem") .. " -noout -subject -issuer -ext subjectAltName,crlDistributionPoints,authorityInfoAccess")
      assert.matches("subject=C%s*=%s*SE, O%s*=%s*corp, CN%s*=%s*b.corp.example", text)
      assert.matches("DNS:b.corp.example, DNS:vc.corp.example, DNS:corp.example, DNS:sip.corp.example", text, 1, true)
      assert.matches("URI:http://pki.corp.example/vc.crl", text, 1, true)
      assert.matches("OCSP - URI:http://ocsp.corp.example/", text, 1, true)
      -- the request has the domains too (what the appliance would send to another CA)
      local req = h.openssl("req -in " .. h.q(d .. "/a.corp.example/request.pem") .. " -noout -text")
      assert.matches("DNS:corp.example, DNS:sip.corp.example", req, 1, true)
      -- a domain is checked as vcs plan --domain checks it, before anything is made
      local bad = h.tmpdir() .. "/c3"
      o, r = run_script("vcs-cluster.lua", h.q(bad) .. " --domain 10.0.0.1")
      assert.equal(1, r, o)
      assert.matches("--domain", o, 1, true)
      assert.is_false(fs.exists(bad))
      local ca_text = h.openssl("x509 -in " .. h.q(d .. "/ca.pem") .. " -noout -text")
      assert.matches("Public Key Algorithm: id-ecPublicKey", ca_text, 1, true)
    end },
  },
}

CASES[#CASES + 1] = {
  script = "crl-mirror.lua",
  covers = { "crl-mirror.conf.lua" },
  -- the example config itself, its hosts pointed at a CRL server on 127.0.0.1 and its paths at
  -- a temporary folder: the same keys and the same kinds of source (a CRL, a ZIP of CRLs, a
  -- source with its own options)
  setup = function()
    local dir = h.tmpdir()
    local www = dir .. "/www"
    h.sh("mkdir -p " .. h.q(www .. "/crl"))
    local root = F.ca(dir, "mirror root")
    local zipped = F.ca(dir, "mirror zipped")
    local issuing = F.ca(dir, "mirror issuing")
    h.write(dir .. "/trusted.pem", h.read(root.pem) .. h.read(zipped.pem) .. h.read(issuing.pem))
    local _, good = F.leaf(root, dir, "0B")
    local _, revoked = F.leaf(root, dir, "0A")
    h.write(www .. "/crl/root.crl", F.crl(root, { number = 1, entries = {
      { serial = "0A", date = os.time() - 600, reason = "keyCompromise" } } }):to_der())
    h.write(dir .. "/zipped.crl", F.crl(zipped, { number = 1 }):to_der())
    h.sh(("cd %s && python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],\"w\"); z.write(\"zipped.crl\",\"crls/zipped.crl\"); z.close()' %s")
      :format(h.q(dir), h.q(www .. "/crl/all-crls.zip")))
    h.write(www .. "/crl/issuing.crl", F.crl(issuing, { number = 1 }):to_der())
    local server = F.server(www)
    local conf = h.read(h.root .. "/scripts/crl-mirror.conf.lua")
      :gsub("https?://pki%.example%.com/", server.url .. "/f/")
      :gsub("/var/lib/certbench/crl%-last%-run%.json", dir .. "/report.json")
      :gsub("/var/lib/certbench/crl", dir .. "/mirror")
      :gsub("/etc/certbench/trusted%-cas%.pem", dir .. "/trusted.pem")
      :gsub("/etc/certbench/web%-ca%.pem", dir .. "/trusted.pem")
      :gsub("/var/lib/prometheus/node%-exporter/", dir .. "/")
    assert(not conf:find("\"/var/", 1, true) and not conf:find("\"/etc/", 1, true),
      "a path of the example config is not redirected to the test's folder:\n" .. conf)
    h.write(dir .. "/crl-mirror.conf.lua", conf)
    local out, rc = run_script("crl-mirror.lua", h.q(dir .. "/crl-mirror.conf.lua") .. " " .. h.q(good))
    local out2, rc2 = run_script("crl-mirror.lua", h.q(dir .. "/crl-mirror.conf.lua") .. " " .. h.q(good) .. " " .. h.q(revoked))
    servers.stop(server)
    return { dir = dir, out = out, rc = rc, out2 = out2, rc2 = rc2, root = root, good = good, revoked = revoked }
  end,
  checks = {
    { "mirrors every source of the example config; openssl reads the CRLs and finds the revocation", function(s)
      assert.equal(0, s.rc, s.out)
      assert.matches("3 of 3 sources ok, 3 CRLs published", s.out, 1, true)
      assert.matches(s.good .. ": good", s.out, 1, true)
      local issuers = {}
      for _, name in ipairs(assert(fs.list(s.dir .. "/mirror"))) do
        if name:match("%.pem$") then
          local text = openssl_ok("crl -noout -issuer -in " .. h.q(s.dir .. "/mirror/" .. name))
          issuers[#issuers + 1] = text:match("CN%s*=%s*([^\n]+)")
        end
      end
      table.sort(issuers)
      assert.same({ "mirror issuing", "mirror root", "mirror zipped" }, issuers)
      -- the hash folder is openssl's: -CApath finds the root's CRL there and the revocation
      local v = h.openssl("verify -crl_check -CAfile " .. h.q(s.root.pem) .. " -CApath " .. h.q(s.dir .. "/mirror")
        .. " " .. h.q(s.revoked))
      assert.matches("certificate revoked", v, 1, true)
      v = h.openssl("verify -crl_check -CAfile " .. h.q(s.root.pem) .. " -CApath " .. h.q(s.dir .. "/mirror") .. " " .. h.q(s.good))
      assert.matches(": OK", v, 1, true)
      assert.truthy(h.read(s.dir .. "/report.json"):find('"sources_ok"', 1, true))
      assert.truthy(h.read(s.dir .. "/certbench_crl.prom"):find("certbench_crl", 1, true))
    end },
    { "exits 3 when a certificate given is revoked", function(s)
      assert.equal(3, s.rc2, s.out2)
      assert.matches(s.revoked .. ": revoked", s.out2, 1, true)
    end },
  },
}

CASES[#CASES + 1] = {
  script = "der-folder-to-pem.lua",
  setup = function()
    local dir = h.tmpdir()
    small_pki(dir)
    h.sh(("mkdir -p %s/win && cd %s && openssl x509 -in vcs.pem -outform DER -out win/vcs.cer && "
      .. "openssl x509 -in root.pem -outform DER -out win/root.cer"):format(h.q(dir), h.q(dir)))
    local out, rc = run_script("der-folder-to-pem.lua", h.q(dir .. "/win") .. " " .. h.q(dir .. "/pem"))
    return { dir = dir, out = out, rc = rc }
  end,
  checks = {
    { "turns DER .cer files into PEM files and a CA bundle that openssl verifies with", function(s)
      assert.equal(0, s.rc, s.out)
      assert.matches("2 converted, 0 failed, 0 skipped", s.out, 1, true)
      assert.equal(openssl_ok("x509 -noout -fingerprint -sha256 -in " .. h.q(s.dir .. "/vcs.pem")),
        openssl_ok("x509 -noout -fingerprint -sha256 -in " .. h.q(s.dir .. "/pem/vcs.pem")))
      assert.matches(": OK", openssl_ok("verify -CAfile " .. h.q(s.dir .. "/pem/ca-bundle.pem") .. " "
        .. h.q(s.dir .. "/pem/vcs.pem")), 1, true)
    end },
  },
}

CASES[#CASES + 1] = {
  script = "microsoft-pfx-to-vcs.lua",
  setup = function()
    local dir = h.tmpdir()
    small_pki(dir)
    h.sh(("cd %s && openssl pkcs12 -export -inkey vcs.key -in vcs.pem -certfile root.pem -name vcs-certificate "
      .. "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass:Passw0rd! -out vcs.pfx 2>&1"):format(h.q(dir)))
    local out, rc = run_script("microsoft-pfx-to-vcs.lua", h.q(dir .. "/vcs.pfx") .. " " .. h.q(dir .. "/upload") .. " env:MSPW",
      "MSPW='Passw0rd!'")
    return { dir = dir, out = out, rc = rc }
  end,
  checks = {
    { "splits a legacy PFX into privkey.pem, server.pem and ca.pem that openssl accepts", function(s)
      assert.equal(0, s.rc, s.out)
      local d = s.dir .. "/upload"
      assert.equal("600", h.mode(d .. "/privkey.pem"))
      assert.equal(openssl_ok("x509 -noout -pubkey -in " .. h.q(d .. "/server.pem")),
        openssl_ok("pkey -pubout -in " .. h.q(d .. "/privkey.pem")))
      assert.equal(openssl_ok("x509 -noout -fingerprint -sha256 -in " .. h.q(s.dir .. "/vcs.pem")),
        openssl_ok("x509 -noout -fingerprint -sha256 -in " .. h.q(d .. "/server.pem")))
      assert.matches(": OK", openssl_ok("verify -purpose sslserver -CAfile " .. h.q(d .. "/ca.pem") .. " "
        .. h.q(d .. "/server.pem")), 1, true)
    end },
  },
}

CASES[#CASES + 1] = {
  script = "demo.lua",
  setup = function()
    local dir = h.tmpdir() .. "/demo-out"
    local out, rc = run_script("demo.lua", h.q(dir))
    return { dir = dir, out = out, rc = rc }
  end,
  checks = {
    { "runs the whole workflow; openssl verifies a peer's certificate and finds the one it revoked", function(s)
      assert.equal(0, s.rc, s.out)
      assert.matches("servers     stopped", s.out, 1, true)
      local c = s.dir .. "/cluster"
      assert.matches(": OK", openssl_ok("verify -purpose sslserver -CAfile " .. h.q(c .. "/ca.pem") .. " "
        .. h.q(c .. "/vcs1.example.com/server.pem")), 1, true)
      local crls = h.run("ls " .. h.q(s.dir) .. "/*/*.crl " .. h.q(s.dir) .. "/*.crl 2>/dev/null")
      local found = false
      for crlfile in crls:gmatch("[^\n]+") do
        local v = h.openssl("verify -crl_check -CAfile " .. h.q(c .. "/ca.pem") .. " -CRLfile " .. h.q(crlfile)
          .. " " .. h.q(c .. "/vcs3.example.com/server.pem"))
        if v:find("certificate revoked", 1, true) then found = true end
      end
      assert.is_true(found, "no CRL of the demo revokes vcs3.example.com:\n" .. crls)
    end },
  },
}

describe("scripts/", function()
  it("every scripts/*.lua has a case here", function()
    local covered = {}
    for _, c in ipairs(CASES) do
      covered[c.script] = true
      for _, o in ipairs(c.covers or {}) do covered[o] = true end
    end
    local n, missing = 0, {}
    for _, name in ipairs(assert(fs.list(h.root .. "/scripts"))) do
      if name:match("%.lua$") then
        n = n + 1
        if not covered[name] then missing[#missing + 1] = name end
      end
    end
    assert.same({}, missing, "scripts without a case in tests/integration/scripts_spec.lua")
    assert.is_true(n >= #CASES)
  end)
end)

for _, c in ipairs(CASES) do
  describe("scripts/" .. c.script, function()
    local state
    setup(function() state = c.setup() end)
    for _, check in ipairs(c.checks) do
      it(check[1], function() check[2](state) end)
    end
  end)
end
