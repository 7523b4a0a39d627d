-- `show --lint` and the strict-profile warnings of `vcs check`, on certificates the openssl CLI
-- makes at test time, each with one flaw (openssl x509 -req with an -extfile section): the
-- finding must name its rule, and a certificate without flaws must have none (so that a lint
-- that finds everything, or nothing, fails here).
local h = require "support.helper"
local cjson = require "cjson"

local dir = h.tmpdir()

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

local function path(name) return dir .. "/" .. name end

-- a root and an intermediate CA made the usual way, without flaws
local CA_EXT = [[
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
]]
h.write(path("ca.cnf"), CA_EXT)
ossl("req -new -newkey rsa:2048 -nodes -keyout " .. h.q(path("root.key")) .. " -subj /CN=Lint\\ Root -out " .. h.q(path("root.csr")))
ossl("x509 -req -in " .. h.q(path("root.csr")) .. " -signkey " .. h.q(path("root.key")) .. " -days 30 -extfile " ..
  h.q(path("ca.cnf")) .. " -extensions root -out " .. h.q(path("root.pem")))
ossl("req -new -newkey rsa:2048 -nodes -keyout " .. h.q(path("inter.key")) .. " -subj /CN=Lint\\ Inter -out " .. h.q(path("inter.csr")))
ossl("x509 -req -in " .. h.q(path("inter.csr")) .. " -CA " .. h.q(path("root.pem")) .. " -CAkey " .. h.q(path("root.key")) ..
  " -set_serial 2 -days 30 -extfile " .. h.q(path("ca.cnf")) .. " -extensions inter -out " .. h.q(path("inter.pem")))
ossl("req -new -newkey rsa:2048 -nodes -keyout " .. h.q(path("leaf.key")) .. " -subj /CN=vcs.example.com -out " .. h.q(path("leaf.csr")))
ossl("req -new -newkey rsa:1024 -nodes -keyout " .. h.q(path("weak.key")) .. " -subj /CN=vcs.example.com -out " .. h.q(path("weak.csr")))

-- the extensions of a good server certificate (the VCS profile: server and client EKU, the
-- FQDN as CN and SAN); each flaw below replaces or adds lines
local GOOD = {
  basicConstraints = "critical,CA:FALSE",
  keyUsage = "critical,digitalSignature,keyEncipherment",
  extendedKeyUsage = "serverAuth,clientAuth",
  subjectAltName = "DNS:vcs.example.com",
  subjectKeyIdentifier = "hash",
  authorityKeyIdentifier = "keyid",
}

-- issue(name, changes, o) -> path of a certificate made by openssl x509 -req with GOOD's
-- extensions changed (false removes one), signed by the intermediate (o.by = "root", or
-- o.self = true for a self-signed CA), serial o.serial (default 0x1001), key o.csr
local function issue(name, changes, o)
  o = o or {}
  local ext = {}
  for k, v in pairs(GOOD) do ext[k] = v end
  for k, v in pairs(changes or {}) do ext[k] = v or nil end
  local lines = { "[x]" }
  local keys = {}
  for k in pairs(ext) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do lines[#lines + 1] = k .. " = " .. ext[k] end
  h.write(path(name .. ".cnf"), table.concat(lines, "\n") .. "\n")
  local ca = o.by or "inter"
  ossl("x509 -req -in " .. h.q(path((o.csr or "leaf") .. ".csr")) .. " -CA " .. h.q(path(ca .. ".pem")) ..
    " -CAkey " .. h.q(path(ca .. ".key")) .. " -set_serial " .. (o.serial or "0x1001") ..
    " -days 30 -extfile " .. h.q(path(name .. ".cnf")) .. " -extensions x -out " .. h.q(path(name .. ".pem")))
  return path(name .. ".pem")
end

local function lint_json(file)
  local out, rc = h.certbench("show --lint --json " .. h.q(file))
  local ok, j = pcall(cjson.decode, out)
  assert(ok, "show --lint --json printed no JSON:\n" .. out)
  return j, rc
end

-- ids(j) -> { [id] = finding } of the file's first certificate
local function ids(j)
  local t = {}
  for _, f in ipairs(j.objects[1].lint) do t[f.id] = f end
  return t
end

describe("show --lint", function()
  it("finds nothing in a good server certificate and its CAs made by openssl (exit 0)", function()
    for _, f in ipairs { issue("good", {}), path("inter.pem"), path("root.pem") } do
      local j, rc = lint_json(f)
      assert.equal(0, rc, f)
      assert.same({}, j.objects[1].lint, f .. ": " .. cjson.encode(j.objects[1].lint))
      local out = h.certbench("show --lint " .. h.q(f))
      assert.matches("no findings", out, 1, true)
    end
  end)

  -- flaw name, openssl changes, options, the finding's id, rule, severity
  local flaws = {
    { "critical AKI", { authorityKeyIdentifier = "critical,keyid" }, nil, "aki-critical", "RFC 5280 4.2.1.1", "error" },
    { "no AKI", { authorityKeyIdentifier = "none" }, nil, "aki-missing", "RFC 5280 4.2.1.1", "error" },
    { "no SKI in a leaf", { subjectKeyIdentifier = "none" }, nil, "ski-missing", "RFC 5280 4.2.1.2", "warning" },
    { "serial 0", {}, { serial = "0" }, "serial-positive", "RFC 5280 4.1.2.2", "error" },
    { "a negative serial", {}, { serial = "-4660" }, "serial-positive", "RFC 5280 4.1.2.2", "error" },
    { "a 21-octet serial", {}, { serial = "0x0102030405060708090A0B0C0D0E0F101112131415" }, "serial-length",
      "RFC 5280 4.1.2.2", "error" },
    { "an underscore in a DNS SAN", { subjectAltName = "DNS:vcs.example.com,DNS:vcs_1.example.com" }, nil,
      "san-dns-syntax", "RFC 5280 4.2.1.6", "error" },
    { "an empty EKU", { extendedKeyUsage = false, ["2.5.29.37"] = "DER:3000" }, nil, "eku-empty", "RFC 5280 4.2.1.12", "error" },
    { "keyCertSign in a leaf", { keyUsage = "critical,digitalSignature,keyCertSign" }, nil, "ku-keycertsign-not-ca",
      "RFC 5280 4.2.1.3", "error" },
    { "name constraints in a leaf", { nameConstraints = "critical,permitted;DNS:example.com" }, nil, "nc-not-ca",
      "RFC 5280 4.2.1.10", "error" },
    { "the CN not among the SANs", { subjectAltName = "DNS:other.example.com" }, nil, "cabf-cn-in-san",
      "CA/B Forum BR 7.1.4.3", "error" },
    { "a critical SAN with a subject", { subjectAltName = "critical,DNS:vcs.example.com" }, nil, "cabf-san",
      "CA/B Forum BR 7.1.2.7.12", "error" },
    { "anyExtendedKeyUsage in a leaf", { extendedKeyUsage = "serverAuth,anyExtendedKeyUsage" }, nil, "cabf-leaf-eku",
      "CA/B Forum BR 7.1.2.7.10", "error" },
    { "a 1024-bit RSA key", {}, { csr = "weak" }, "cabf-key", "CA/B Forum BR 6.1.5", "error" },
    { "a non-critical basicConstraints in a CA", { basicConstraints = "CA:TRUE", keyUsage = "critical,keyCertSign,cRLSign",
      extendedKeyUsage = false, subjectAltName = false }, { by = "root" }, "bc-critical-ca", "RFC 5280 4.2.1.9", "error" },
    { "no SKI in a CA", { basicConstraints = "critical,CA:TRUE", keyUsage = "critical,keyCertSign,cRLSign",
      extendedKeyUsage = false, subjectAltName = false, subjectKeyIdentifier = "none" }, { by = "root" }, "ski-missing-ca",
      "RFC 5280 4.2.1.2", "error" },
    { "a non-critical policyConstraints", { basicConstraints = "critical,CA:TRUE", keyUsage = "critical,keyCertSign,cRLSign",
      extendedKeyUsage = false, subjectAltName = false, policyConstraints = "requireExplicitPolicy:0" }, { by = "root" },
      "pc-critical", "RFC 5280 4.2.1.11", "error" },
  }

  for i, fl in ipairs(flaws) do
    local what, changes, o, id, rule, severity = table.unpack(fl)
    it("names the rule of " .. what, function()
      local f = issue("flaw" .. i, changes, o)
      local j, rc = lint_json(f)
      local found = ids(j)
      assert.is_not_nil(found[id], what .. ": no " .. id .. " in " .. cjson.encode(j.objects[1].lint))
      assert.equal(rule, found[id].rule)
      assert.equal(severity, found[id].severity)
      assert.equal(severity == "error" and 3 or 0, rc, what)
      -- only the flaw: the other rules stay quiet
      for fid in pairs(found) do assert.equal(id, fid, what .. ": also " .. fid) end
      -- the text output lists severity, rule and text on one line
      local out = h.certbench("show --lint " .. h.q(f))
      assert.matches(severity .. "%s+" .. rule:gsub("[%./]", "%%%0") .. "%s+" .. found[id].text:sub(1, 20):gsub("%p", "%%%0"), out)
    end)
  end

  it("lints every certificate of a bundle, and says which", function()
    local bundle = path("bundle.pem")
    h.write(bundle, h.read(issue("b1", { authorityKeyIdentifier = "critical,keyid" })) .. h.read(path("root.pem")))
    local j, rc = lint_json(bundle)
    assert.equal(3, rc)
    assert.equal(2, #j.objects)
    assert.equal("aki-critical", j.objects[1].lint[1].id)
    assert.same({}, j.objects[2].lint)
    assert.equal(1, j.lint_errors)
  end)
end)

describe("vcs check warns of what a strict peer refuses", function()
  local function check(cert, ca)
    local out, rc = h.certbench("vcs check --json --key " .. h.q(path("leaf.key")) .. " --cert " .. h.q(cert) ..
      " --ca " .. h.q(ca) .. " --fqdn vcs.example.com")
    local ok, j = pcall(cjson.decode, out)
    assert(ok, out)
    local by = {}
    for _, c in ipairs(j.checks) do by[c.id] = c end
    return j, rc, by
  end

  local function ca_file(...)
    local parts = {}
    for _, n in ipairs { ... } do parts[#parts + 1] = h.read(path(n .. ".pem")) end
    h.write(path("cafile.pem"), table.concat(parts))
    return path("cafile.pem")
  end

  it("adds no warning for a clean set", function()
    local j, rc, by = check(issue("vgood", {}), ca_file("inter", "root"))
    assert.equal(0, rc, cjson.encode(j))
    for id in pairs(by) do assert.is_nil(id:find("^strict:"), id .. ": " .. tostring(by[id].reason)) end
  end)

  it("warns, never fails, for flaws the appliance (OpenSSL) accepts: serial 0, an underscore SAN, " ..
    "a root with a non-critical basicConstraints", function()
    -- a root with the flaw, and the server certificate signed by it
    h.write(path("r2.cnf"), "[x]\nbasicConstraints = CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n" ..
      "subjectKeyIdentifier = hash\n")
    ossl("req -new -key " .. h.q(path("root.key")) .. " -subj /CN=Lint\\ Root2 -out " .. h.q(path("r2.csr")))
    ossl("x509 -req -in " .. h.q(path("r2.csr")) .. " -signkey " .. h.q(path("root.key")) ..
      " -days 30 -extfile " .. h.q(path("r2.cnf")) .. " -extensions x -out " .. h.q(path("root2.pem")))
    h.write(path("root2.key"), h.read(path("root.key")))
    local cert = issue("vflaw", { subjectAltName = "DNS:vcs.example.com,DNS:vcs_1.example.com" },
      { serial = "0", by = "root2" })
    -- the appliance's verdict: openssl verify accepts the chain
    local out, orc = h.openssl("verify -CAfile " .. h.q(path("root2.pem")) .. " " .. h.q(cert))
    assert.equal(0, orc, out)
    local j, rc, by = check(cert, ca_file("root2"))
    assert.equal(0, rc, cjson.encode(j))
    assert.is_true(j.ready)
    local w = by["strict:cert"]
    assert.is_not_nil(w, "no strict warning for the server certificate")
    assert.equal("warn", w.status)
    assert.matches("RFC 5280 4.1.2.2", w.reason, 1, true)
    assert.matches("RFC 5280 4.2.1.6", w.reason, 1, true)
    local r = by["strict:Lint Root2"]
    assert.is_not_nil(r, "no strict warning for the root")
    assert.equal("warn", r.status)
    assert.matches("RFC 5280 4.2.1.9: basicConstraints MUST be critical in a CA certificate", r.reason, 1, true)
  end)
end)
