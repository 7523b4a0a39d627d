-- spec/vcs_spec.lua: the vcs plugin: plan (the three deployment models and the names refused),
-- csr (files, modes, extensions), check (every readiness check, passing and failing).
local h = require "support.helper"
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local csr = require "certbench.csr"
local crl = require "certbench.crl"
local cjson = require "cjson"
local vcs = require "certbench.plugins.vcs"

local function json(out) return cjson.decode(out:match("(%b{})")) end

-- a small PKI: root -> inter -> leaves, made with the API (EC CAs, RSA leaves)
local P = {}
local function pki()
  if P.root then return P end
  local now = os.time()
  P.root_key = pkey.generate("ec:P-256")
  -- the CAs are older than any leaf the specs make, expired ones included
  local nb = now - 1000 * 86400
  P.root = assert(x509.new { subject = "/O=net2/CN=Root", issuer_key = P.root_key, ca = true, days = 3650, not_before = nb })
  P.inter_key = pkey.generate("ec:P-256")
  P.inter = assert(x509.new { subject = "/O=net2/CN=Inter", issuer = P.root, issuer_key = P.root_key,
                              public_key = P.inter_key, ca = true, path_len = 0, days = 3650, not_before = nb })
  P.key = pkey.generate("rsa:2048")
  P.now = now
  return P
end

-- leaf{...}: a certificate for P.key by inter (options of x509.new override)
local function leaf(o)
  local p = pki()
  local t = { subject = "/C=NO/O=net2/CN=vcs1.example.com", issuer = p.inter, issuer_key = p.inter_key,
              public_key = p.key, days = 365, eku = { "serverAuth", "clientAuth" },
              key_usage = { "digitalSignature", "keyEncipherment" },
              san = { "DNS:vcs1.example.com", "DNS:cluster.example.com" } }
  for k, v in pairs(o or {}) do t[k] = v end
  if t.san == false then t.san = nil end
  if t.eku == false then t.eku = nil end
  return assert(x509.new(t))
end

-- files(dir, o) writes key.pem, cert.pem, ca.pem (root + inter) and returns their paths
local function files(dir, o)
  o = o or {}
  local p = pki()
  local paths = { key = dir .. "/key.pem", cert = dir .. "/cert.pem", ca = dir .. "/ca.pem" }
  assert(fs.write_key(paths.key, o.key_pem or p.key:to_pem(), { force = true }))
  assert(fs.write(paths.cert, o.cert_pem or (o.cert or leaf()):to_pem()))
  assert(fs.write(paths.ca, o.ca_pem or (p.inter:to_pem() .. p.root:to_pem())))
  return paths
end

local function by_id(res)
  local t = {}
  for _, c in ipairs(res.checks) do t[c.id] = c end
  return t
end

local CLUSTER = { cluster = "cluster.example.com", peers = { "vcs1.example.com", "vcs2.example.com" } }

describe("vcs plan", function()
  it("standalone: CN = FQDN, SAN empty as the guide says, or the FQDN with san_fqdn", function()
    local p = assert(vcs.plan { fqdn = "VCS.Example.com." })
    assert.equal("standalone", p.model)
    assert.equal(1, #p.certificates)
    assert.equal("vcs.example.com", p.certificates[1].cn)
    assert.same({}, p.certificates[1].san)
    assert.matches("san%-fqdn", p.notes[1])
    p = assert(vcs.plan { fqdn = "vcs.example.com", san_fqdn = true })
    assert.same({ "vcs.example.com" }, p.certificates[1].san)
  end)

  it("per-peer: a certificate per peer with the peer and the cluster in the SAN", function()
    local p = assert(vcs.plan { cluster = "cluster.example.com",
                                peers = { "vcs1.example.com", "vcs2.example.com", "vcs3.example.com" } })
    assert.equal("per-peer", p.model)
    assert.equal(3, #p.certificates)
    for i, n in ipairs { "vcs1.example.com", "vcs2.example.com", "vcs3.example.com" } do
      assert.equal(n, p.certificates[i].cn)
      assert.same({ n, "cluster.example.com" }, p.certificates[i].san)
      assert.same({ n }, p.certificates[i].for_peers)
    end
  end)

  it("per-peer with --fqdn: that peer's certificate only; the fqdn joins the peers", function()
    local p = assert(vcs.plan { fqdn = "vcs2.example.com", cluster = "cluster.example.com",
                                peers = { "vcs1.example.com", "vcs2.example.com" } })
    assert.equal(1, #p.certificates)
    assert.equal("vcs2.example.com", p.certificates[1].cn)
    p = assert(vcs.plan { fqdn = "vcs3.example.com", cluster = "cluster.example.com", peers = { "vcs1.example.com" } })
    assert.same({ "vcs3.example.com", "vcs1.example.com" }, p.peers)
    assert.equal("vcs3.example.com", p.certificates[1].cn)
  end)

  it("shared: one certificate, CN = cluster, SAN = cluster and every peer", function()
    local p = assert(vcs.plan { cluster = "cluster.example.com", mode = "shared",
                                peers = { "vcs1.example.com", "vcs2.example.com" } })
    assert.equal("shared", p.model)
    assert.equal(1, #p.certificates)
    assert.equal("cluster.example.com", p.certificates[1].cn)
    assert.same({ "cluster.example.com", "vcs1.example.com", "vcs2.example.com" }, p.certificates[1].san)
    assert.same({ "vcs1.example.com", "vcs2.example.com" }, p.certificates[1].for_peers)
  end)

  it("refuses IP addresses, wildcards, names that are not FQDNs, and says why", function()
    local cases = {
      { "192.0.2.10", "IP address" }, { "2001:db8::1", "IP address" }, { "::1", "IP address" },
      { "*.example.com", "wildcard" }, { "vcs", "not fully qualified" }, { "vcs..example.com", "empty label" },
      { ".example.com", "empty label" }, { "-vcs.example.com", "start or end with '-'" },
      { "vcs_1.example.com", "'_' is not allowed" }, { "vcs 1.example.com", "' ' is not allowed" },
      { string.rep("a", 64) .. ".example.com", "longer than 63" },
      { string.rep("abcdefghi.", 26) .. "com", "longer than 253" }, { "vcs.example.123", "all digits" },
      { "", "empty" },
    }
    for _, c in ipairs(cases) do
      local p, err = vcs.plan { fqdn = c[1] }
      assert.is_nil(p, c[1])
      assert.matches(c[2], err, 1, true)
      assert.matches("^%-%-fqdn: ", err)
    end
    local _, err = vcs.plan { cluster = "10.1.1.1", peers = { "vcs1.example.com" } }
    assert.matches("^%-%-cluster: '10.1.1.1' is an IP address", err)
    _, err = vcs.plan { cluster = "c.example.com", peers = { "vcs1.example.com", "10.0.0.2" } }
    assert.matches("^%-%-peer: '10.0.0.2' is an IP address", err)
  end)

  it("refuses duplicate peers (case and a trailing dot do not make a name new), and the cluster as a peer", function()
    local _, err = vcs.plan { cluster = "c.example.com", peers = { "vcs1.example.com", "VCS1.example.com." } }
    assert.equal("--peer: vcs1.example.com is given twice", err)
    _, err = vcs.plan { cluster = "c.example.com", peers = { "c.example.com", "vcs1.example.com" } }
    assert.matches("both the cluster and a peer", err, 1, true)
    -- --fqdn and the same --peer is the issue's own example, not a duplicate
    assert.truthy(vcs.plan { fqdn = "vcs1.example.com", cluster = "c.example.com", peers = { "vcs1.example.com", "vcs2.example.com" } })
  end)

  it("refuses options that do not go together", function()
    local _, err = vcs.plan { fqdn = "a.example.com", peers = { "b.example.com" } }
    assert.matches("--peer needs --cluster", err, 1, true)
    _, err = vcs.plan { fqdn = "a.example.com", mode = "shared" }
    assert.matches("--mode is for clusters", err, 1, true)
    _, err = vcs.plan {}
    assert.matches("give --fqdn", err, 1, true)
    _, err = vcs.plan { cluster = "c.example.com" }
    assert.matches("a cluster needs its peers", err, 1, true)
    _, err = vcs.plan { cluster = "c.example.com", peers = { "a.example.com" }, mode = "both" }
    assert.matches("unknown mode 'both'", err, 1, true)
  end)

  it("notes clusters larger than a VCS cluster can be", function()
    local peers = {}
    for i = 1, 7 do peers[i] = ("vcs%d.example.com"):format(i) end
    local p = assert(vcs.plan { cluster = "c.example.com", peers = peers })
    assert.matches("at most 6", table.concat(p.notes, "\n"), 1, true)
  end)

  it("prints the plan as text and JSON; errors exit 2", function()
    local out, rc = h.certbench("vcs plan --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com")
    assert.equal(0, rc, out)
    assert.matches("CN  vcs2.example.com", out, 1, true)
    assert.matches("SAN DNS:vcs2.example.com, DNS:cluster.example.com", out, 1, true)
    out, rc = h.certbench("vcs plan --json --mode shared --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com")
    assert.equal(0, rc, out)
    local j = json(out)
    assert.equal("shared", j.model)
    assert.same({ "cluster.example.com", "vcs1.example.com", "vcs2.example.com" }, j.certificates[1].san)
    out, rc = h.certbench("vcs plan --fqdn 192.0.2.1")
    assert.equal(2, rc)
    assert.matches("^certbench: vcs: %-%-fqdn: '192.0.2.1' is an IP address", out)
    out, rc = h.certbench("vcs plan --cluster c.example.com --peer a.example.com --peer a.example.com")
    assert.equal(2, rc)
    assert.matches("given twice", out, 1, true)
  end)
end)

describe("vcs csr", function()
  it("writes an unencrypted 0600 key and PEM + DER requests per peer, with both EKUs and SHA-256", function()
    local dir = h.tmpdir() .. "/out"
    local p = assert(vcs.plan(CLUSTER))
    local r = assert(vcs.csr { plan = p, out_dir = dir, subject = "/C=NO/L=Oslo/O=net2/OU=ast" })
    assert.equal(2, #r.certificates)
    for i, c in ipairs(r.certificates) do
      local peer = CLUSTER.peers[i]
      assert.equal(dir .. "/" .. peer .. "/privkey.pem", c.privkey)
      assert.equal("600", h.mode(c.privkey))
      local kpem = h.read(c.privkey)
      assert.matches("^%-%-%-%-%-BEGIN RSA PRIVATE KEY%-%-%-%-%-", kpem)
      local key = assert(pkey.load(kpem))
      assert.equal(2048, key:bits())
      local req = assert(csr.load(h.read(c.request_pem)))
      local der = assert(csr.load(h.read(c.request_der)))
      assert.is_true(req == der)
      assert.is_true(req:verify())
      assert.is_true(key:matches(req))
      assert.equal("/C=NO/L=Oslo/O=net2/OU=ast/CN=" .. peer, req:subject():oneline())
      assert.same({ "serverAuth", "clientAuth" }, req:eku())
      assert.same({ "digitalSignature", "keyEncipherment" }, req:key_usage())
      assert.equal("sha256WithRSAEncryption", req:signature_algorithm())
      local san = {}
      for _, s in ipairs(req:san()) do san[#san + 1] = s.type .. ":" .. s.value end
      assert.same({ "DNS:" .. peer, "DNS:cluster.example.com" }, san)
    end
  end)

  it("one certificate goes to the folder itself; no SAN for a standalone server unless asked", function()
    local dir = h.tmpdir()
    local r = assert(vcs.csr { plan = assert(vcs.plan { fqdn = "vcs.example.com" }), out_dir = dir })
    assert.equal(dir .. "/privkey.pem", r.certificates[1].privkey)
    local req = assert(csr.load_file(dir .. "/request.pem"))
    assert.same({}, req:san())
    assert.equal("/CN=vcs.example.com", req:subject():oneline())
    local d2 = h.tmpdir()
    assert(vcs.csr { plan = assert(vcs.plan { fqdn = "vcs.example.com", san_fqdn = true }), out_dir = d2 })
    req = assert(csr.load_file(d2 .. "/request.der"))
    assert.equal("vcs.example.com", req:san()[1].value)
  end)

  it("--key rsa:4096 and ec:P-256 (no keyEncipherment for EC); --key-format pkcs8", function()
    local d = h.tmpdir()
    assert(vcs.csr { plan = assert(vcs.plan { fqdn = "a.example.com" }), out_dir = d, key = "rsa:4096" })
    assert.equal(4096, assert(pkey.load_file(d .. "/privkey.pem")):bits())
    local d2 = h.tmpdir()
    assert(vcs.csr { plan = assert(vcs.plan { fqdn = "a.example.com" }), out_dir = d2, key = "ec:P-256", key_format = "pkcs8" })
    assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY", h.read(d2 .. "/privkey.pem"))
    local key = assert(pkey.load_file(d2 .. "/privkey.pem"))
    assert.equal("P-256", key:curve())
    local req = assert(csr.load_file(d2 .. "/request.pem"))
    assert.same({ "digitalSignature" }, req:key_usage())
    assert.equal("ecdsa-with-SHA256", req:signature_algorithm())
    local _, err, code = vcs.csr { plan = assert(vcs.plan { fqdn = "a.example.com" }), out_dir = d2, key = "rsa:1024" }
    assert.equal(2, code)
    assert.matches("rsa:2048, rsa:4096 or ec:P%-256", err)
  end)

  it("writes nothing when a file is there already (unless force), or when --subject has a CN or does not parse", function()
    local d = h.tmpdir()
    local p = assert(vcs.plan(CLUSTER))
    assert(vcs.csr { plan = p, out_dir = d })
    local before = h.read(d .. "/vcs1.example.com/privkey.pem")
    os.remove(d .. "/vcs2.example.com/privkey.pem")
    local r, err = vcs.csr { plan = p, out_dir = d }
    assert.is_nil(r)
    assert.matches("exist", err)
    assert.equal(before, h.read(d .. "/vcs1.example.com/privkey.pem"))
    assert.is_false(fs.exists(d .. "/vcs2.example.com/privkey.pem"))
    assert(vcs.csr { plan = p, out_dir = d, force = true })
    assert.not_equal(before, h.read(d .. "/vcs1.example.com/privkey.pem"))
    assert.equal("600", h.mode(d .. "/vcs1.example.com/privkey.pem"))
    local d2 = h.tmpdir() .. "/x"
    local _, e2, c2 = vcs.csr { plan = p, out_dir = d2, subject = "/O=net2/CN=other" }
    assert.equal(2, c2)
    assert.matches("has a CN", e2, 1, true)
    _, e2, c2 = vcs.csr { plan = p, out_dir = d2, subject = "O=net2" }
    assert.equal(2, c2)
    assert.matches("^vcs csr: %-%-subject: ", e2)
    assert.is_false(fs.exists(d2))
    local f = h.tmpdir() .. "/file"
    h.write(f, "x")
    _, e2 = vcs.csr { plan = p, out_dir = f }
    assert.matches("not a folder", e2, 1, true)
  end)

  it("a multi-valued RDN in --subject stays one RDN", function()
    local d = h.tmpdir()
    assert(vcs.csr { plan = assert(vcs.plan { fqdn = "a.example.com" }), out_dir = d, subject = "/O=net2/OU=a+OU=b" })
    assert.equal("/O=net2/OU=a+OU=b/CN=a.example.com", assert(csr.load_file(d .. "/request.pem")):subject():oneline())
  end)

  it("takes the usages of another profile (a site plugin's)", function()
    local d = h.tmpdir()
    local site = h.tmpdir()
    assert(fs.mkdir(site .. "/siteprof"))
    h.write(site .. "/siteprof/init.lua", [[return { name = "siteprof", commands = {},
      profiles = { ["vcs-strict"] = { eku = { "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.17" }, key_usage = { "digitalSignature" } } } }]])
    local out, rc = h.run("CERTBENCH_PLUGINS=" .. h.q(site) .. " " .. h.q(h.bin) .. " vcs csr --fqdn a.example.com --out-dir "
      .. h.q(d) .. " --profile vcs-strict --json")
    assert.equal(0, rc, out)
    assert.equal("vcs-strict", json(out).profile)
    local req = assert(csr.load_file(d .. "/request.pem"))
    assert.same({ "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.17" }, req:eku())
    assert.same({ "digitalSignature" }, req:key_usage())
    out, rc = h.certbench("vcs csr --fqdn a.example.com --out-dir " .. h.q(d .. "/y") .. " --profile nosuch")
    assert.equal(2, rc)
    assert.matches("unknown profile 'nosuch'", out, 1, true)
  end)

  it("CLI: text and JSON list the files", function()
    local d = h.tmpdir()
    local out, rc = h.certbench("vcs csr --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com --out-dir "
      .. h.q(d) .. " --key ec:P-256 --subject /C=NO/O=net2")
    assert.equal(0, rc, out)
    assert.matches("C = NO, O = net2, CN = vcs2.example.com", out, 1, true)
    assert.matches(d .. "/vcs2.example.com/privkey.pem (0600, unencrypted)", out, 1, true)
    out, rc = h.certbench("vcs csr --json --fqdn vcs.example.com --out-dir " .. h.q(d .. "/s"))
    assert.equal(0, rc, out)
    local j = json(out)
    assert.equal(d .. "/s/request.der", j.certificates[1].request_der)
    assert.equal("rsa:2048", j.key)
    out, rc = h.certbench("vcs csr --fqdn vcs.example.com")
    assert.equal(2, rc)
    assert.matches("out%-dir", out)
  end)
end)

describe("vcs check", function()
  local plan = function(o) return assert(vcs.plan(o or CLUSTER)) end

  it("passes a key, certificate and CA file made as the appliance wants them, every check named", function()
    local f = files(h.tmpdir())
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = plan() }
    assert.is_true(res.ready)
    assert.is_true(res.ready)
    local c = by_id(res)
    for _, id in ipairs { "key-format", "key-password", "cert-format", "key-match", "validity", "eku", "key-usage",
                          "names", "ca-format", "chain", "algorithms" } do
      assert.equal("pass", c[id] and c[id].status, id .. ": " .. tostring(c[id] and c[id].reason))
    end
    assert.equal(0, res.counts.fail)
    assert.equal(0, res.counts.warn)
    assert.equal("vcs1.example.com <- Inter <- Root", c.chain.reason)
  end)

  it("fails a password-protected key and says how to remove the password", function()
    local d = h.tmpdir()
    local f = files(d, { key_pem = pki().key:to_pem { password = "secret" } })
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    assert.is_true(not res.ready)
    local c = by_id(res)
    assert.equal("fail", c["key-password"].status)
    assert.matches("pfx decrypt-key", c["key-password"].reason, 1, true)
    assert.equal("warn", c["key-match"].status)
    -- and the legacy Proc-Type form the guide shows
    f = files(d, { key_pem = pki().key:to_pem { password = "secret", format = "traditional", cipher = "des-ede3-cbc" } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c["key-password"].status)
    assert.matches("DES%-EDE3%-CBC", c["key-password"].reason)
  end)

  it("fails DER files, with the conversion, and still runs the other checks", function()
    local d = h.tmpdir()
    local f = files(d)
    h.write(d .. "/cert.cer", leaf():to_der())
    h.write(d .. "/key.der", pki().key:to_der())
    local res = vcs.check { key = d .. "/key.der", cert = d .. "/cert.cer", ca = f.ca }
    assert.is_true(not res.ready)
    local c = by_id(res)
    assert.equal("fail", c["cert-format"].status)
    assert.matches("certbench convert file " .. d .. "/cert.cer --to pem", c["cert-format"].reason, 1, true)
    assert.equal("fail", c["key-format"].status)
    assert.equal("pass", c["key-match"].status)
    assert.equal("pass", c.chain.status)
  end)

  it("sends a PFX given as the certificate to pfx split", function()
    local d = h.tmpdir()
    local f = files(d)
    local pkcs12 = require "certbench.pkcs12"
    h.write(d .. "/cert.pfx", assert(pkcs12.build { key = pki().key, cert = leaf(), password = "x" }))
    local c = by_id((vcs.check { key = f.key, cert = d .. "/cert.pfx", ca = f.ca }))
    assert.equal("fail", c["cert-format"].status)
    assert.matches("pfx split", c["cert-format"].reason, 1, true)
  end)

  it("fails a key that belongs to another certificate", function()
    local d = h.tmpdir()
    local f = files(d, { key_pem = pkey.generate("rsa:2048"):to_pem() })
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    assert.is_true(not res.ready)
    assert.equal("fail", by_id(res)["key-match"].status)
    assert.matches("does not go with", by_id(res)["key-match"].reason, 1, true)
  end)

  it("fails expired and not yet valid certificates; warns within 30 days (--warn-days)", function()
    local d = h.tmpdir()
    local now = os.time()
    local f = files(d, { cert = leaf { not_before = now - 400 * 86400, not_after = now - 86400 } })
    local c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.validity.status)
    assert.matches("^expired ", c.validity.reason)
    -- the chain is still judged (at a time the certificate was valid)
    assert.equal("pass", c.chain.status)
    assert.matches("middle of the certificate's validity", c.chain.reason, 1, true)
    f = files(d, { cert = leaf { not_before = now + 86400, not_after = now + 400 * 86400 } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.validity.status)
    assert.matches("not valid before", c.validity.reason, 1, true)
    f = files(d, { cert = leaf { days = 10 } })
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    assert.is_true(res.ready)
    assert.equal("warn", by_id(res).validity.status)
    assert.matches("in 1?[09] days", by_id(res).validity.reason)
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, warn_days = 5 }))
    assert.equal("pass", c.validity.status)
  end)

  it("fails a server-only EKU for mutual TLS (a warning without it), and a certificate without serverAuth", function()
    local d = h.tmpdir()
    local f = files(d, { cert = leaf { eku = { "serverAuth" } } })
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    assert.is_true(not res.ready)
    assert.equal("fail", by_id(res).eku.status)
    assert.matches("no clientAuth", by_id(res).eku.reason, 1, true)
    assert.matches("Appendix 7", by_id(res).eku.reason, 1, true)
    res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, mutual_tls = false }
    assert.is_true(res.ready)
    assert.equal("warn", by_id(res).eku.status)
    f = files(d, { cert = leaf { eku = { "clientAuth" } } })
    assert.equal("fail", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca })).eku.status)
    f = files(d, { cert = leaf { eku = false } })
    assert.equal("warn", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca })).eku.status)
    f = files(d, { cert = leaf { key_usage = { "keyEncipherment" } } })
    assert.equal("fail", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))["key-usage"].status)
  end)

  it("checks the names against the plan of each model", function()
    local d = h.tmpdir()
    local f = files(d)
    -- per-peer: the certificate of vcs1 fits, found by its CN
    assert.equal("pass", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = plan() })).names.status)
    -- ... but not a cluster it is not part of
    local c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca,
                                 plan = plan { cluster = "other.example.com", peers = { "vcs1.example.com" } } }))
    assert.equal("fail", c.names.status)
    assert.matches("the SAN lacks other.example.com", c.names.reason, 1, true)
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca,
                           plan = plan { cluster = "cluster.example.com", peers = { "vcs7.example.com" } } }))
    assert.matches("CN vcs1.example.com is none of the peers", c.names.reason, 1, true)
    -- with --fqdn, the certificate of that peer is expected
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca,
                           plan = plan { fqdn = "vcs2.example.com", cluster = "cluster.example.com", peers = { "vcs1.example.com" } } }))
    assert.equal("fail", c.names.status)
    assert.matches("CN is vcs1.example.com, the per%-peer model wants vcs2.example.com", c.names.reason)
    -- shared
    local shared = plan { cluster = "cluster.example.com", mode = "shared", peers = { "vcs1.example.com", "vcs2.example.com" } }
    f = files(d, { cert = leaf { subject = "/CN=cluster.example.com",
                                 san = { "DNS:cluster.example.com", "DNS:vcs1.example.com", "DNS:vcs2.example.com" } } })
    assert.equal("pass", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = shared })).names.status)
    f = files(d, { cert = leaf { subject = "/CN=cluster.example.com", san = { "DNS:cluster.example.com", "DNS:vcs1.example.com" } } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = shared }))
    assert.equal("fail", c.names.status)
    assert.matches("the SAN lacks vcs2.example.com", c.names.reason, 1, true)
    -- standalone: empty SAN is right; a SAN without the FQDN is not (clients ignore the CN then)
    local alone = plan { fqdn = "vcs.example.com" }
    f = files(d, { cert = leaf { subject = "/CN=vcs.example.com", san = false } })
    assert.equal("pass", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = alone })).names.status)
    f = files(d, { cert = leaf { subject = "/CN=vcs.example.com", san = { "DNS:vcs.example.com" } } })
    assert.equal("pass", by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = alone })).names.status)
    f = files(d, { cert = leaf { subject = "/CN=vcs.example.com", san = { "DNS:www.example.com" } } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = alone }))
    assert.equal("fail", c.names.status)
    assert.matches("the SAN lacks vcs.example.com", c.names.reason, 1, true)
    -- extra names and IP addresses are warnings
    f = files(d, { cert = leaf { subject = "/CN=vcs.example.com", san = { "DNS:vcs.example.com", "DNS:old.example.com", "IP:192.0.2.1" } } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, plan = alone }))
    assert.equal("warn", c.names.status)
    assert.matches("old.example.com", c.names.reason, 1, true)
    assert.matches("IP:192.0.2.1", c.names.reason, 1, true)
    -- without a plan the names are shown, not judged
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("warn", c.names.status)
    assert.matches("not checked", c.names.reason, 1, true)
  end)

  it("fails a CA file with a certificate that is not a CA, or a private key, or the chain incomplete", function()
    local d = h.tmpdir()
    local p = pki()
    local cert = leaf()
    local f = files(d, { cert = cert, ca_pem = cert:to_pem() .. p.inter:to_pem() .. p.root:to_pem() })
    local c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c["ca-format"].status)
    assert.matches("not CAs: vcs1.example.com (the server certificate itself)", c["ca-format"].reason, 1, true)
    f = files(d, { ca_pem = p.root:to_pem() })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("pass", c["ca-format"].status)
    assert.equal("fail", c.chain.status)
    assert.matches("the issuer of the certificate (O = net2, CN = Inter) is not in", c.chain.reason, 1, true)
    f = files(d, { ca_pem = p.inter:to_pem() })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.chain.status)
    assert.matches("the issuer of Inter (O = net2, CN = Root)", c.chain.reason, 1, true)
    f = files(d, { ca_pem = p.inter:to_pem() .. p.root:to_pem() .. p.key:to_pem() })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c["ca-format"].status)
    assert.matches("a private key", c["ca-format"].reason, 1, true)
    h.write(d .. "/ca.der", p.root:to_der())
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = d .. "/ca.der" }))
    assert.equal("fail", c["ca-format"].status)
    assert.matches("convert file", c["ca-format"].reason, 1, true)
    -- another root in the file is fine, and said
    local other_key = pkey.generate("ec:P-256")
    local other = assert(x509.new { subject = "/CN=Other Root", issuer_key = other_key, ca = true })
    f = files(d, { ca_pem = p.inter:to_pem() .. other:to_pem() .. p.root:to_pem() })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("pass", c.chain.status)
    assert.matches("1 other CA certificate in the file", c.chain.reason, 1, true)
  end)

  it("fails a chain whose signature does not verify (a CA file with a different CA of the same name)", function()
    local d = h.tmpdir()
    local p = pki()
    local k2 = pkey.generate("ec:P-256")
    local fake_root = assert(x509.new { subject = "/O=net2/CN=Root", issuer_key = k2, ca = true })
    local f = files(d, { ca_pem = p.inter:to_pem() .. fake_root:to_pem() })
    local c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.chain.status)
  end)

  it("warns about a self-signed certificate", function()
    local d = h.tmpdir()
    local p = pki()
    local self_signed = assert(x509.new { subject = "/CN=vcs1.example.com", issuer_key = p.key, eku = { "serverAuth", "clientAuth" },
                                          san = { "DNS:vcs1.example.com" } })
    local f = files(d, { cert = self_signed, ca_pem = self_signed:to_pem() })
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    local c = by_id(res)
    assert.equal("warn", c.chain.status)
    assert.matches("self-signed", c.chain.reason, 1, true)
    -- the server certificate itself as the CA file: how peers trust a self-signed one (issue 14)
    assert.equal("warn", c["ca-format"].status)
    assert.matches("self-signed: for test deployments", c["ca-format"].reason, 1, true)
    assert.is_true(res.ready)
  end)

  it("fails SHA-1 signatures and RSA keys below 2048 bits; a SHA-1 root self-signature is a warning", function()
    local d = h.tmpdir()
    local p = pki()
    local f = files(d, { cert = leaf { digest = "sha1" } })
    local c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.algorithms.status)
    assert.matches("signed with SHA%-1", c.algorithms.reason)
    local small = assert(pkey.load((h.run("openssl genrsa 1024 2>/dev/null"))))
    f = files(d, { key_pem = small:to_pem(), cert = leaf { public_key = small } })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("fail", c.algorithms.status)
    assert.matches("1024-bit RSA key", c.algorithms.reason, 1, true)
    local sroot = assert(x509.new { subject = "/O=net2/CN=Root", issuer_key = p.root_key, ca = true, digest = "sha1",
                                    public_key = p.root_key })
    f = files(d, { ca_pem = p.inter:to_pem() .. sroot:to_pem() })
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("warn", c.algorithms.status)
    assert.matches("harmless", c.algorithms.reason, 1, true)
  end)

  it("with CRLs: the freshness of each CA's CRL and the revocation of the chain", function()
    local d = h.tmpdir()
    local p = pki()
    local cert = leaf()
    local f = files(d, { cert = cert })
    local now = os.time()
    local root_crl = assert(crl.new { issuer = p.root, key = p.root_key, days = 30, number = 1 })
    local inter_crl = assert(crl.new { issuer = p.inter, key = p.inter_key, days = 7, number = 5 })
    h.write(d .. "/root.crl", root_crl:to_pem())
    h.write(d .. "/inter.crl", inter_crl:to_der())
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { d .. "/root.crl", d .. "/inter.crl" } }
    assert.is_true(res.ready)
    local c = by_id(res)
    assert.equal("pass", c["crl:Inter"].status)
    assert.matches("#05 from " .. d .. "/inter.crl", c["crl:Inter"].reason, 1, true)
    assert.equal("pass", c["crl:Root"].status)
    assert.equal("pass", c.revocation.status)
    -- an expired CRL: the appliance takes every certificate of its CA as revoked
    h.write(d .. "/inter-old.crl", assert(crl.new { issuer = p.inter, key = p.inter_key, this_update = now - 10 * 86400,
                                                    next_update = now - 86400, number = 4 }):to_pem())
    res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { d .. "/root.crl", d .. "/inter-old.crl" } }
    assert.is_true(not res.ready)
    c = by_id(res)
    assert.equal("fail", c["crl:Inter"].status)
    assert.matches("expired", c["crl:Inter"].reason, 1, true)
    -- one expiring within a day, and a CA without a CRL
    h.write(d .. "/inter-soon.crl", assert(crl.new { issuer = p.inter, key = p.inter_key, hours = 5, number = 6 }):to_pem())
    res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { d .. "/inter-soon.crl" } }
    assert.is_true(res.ready)
    c = by_id(res)
    assert.equal("warn", c["crl:Inter"].status)
    assert.matches("expires in [45] hours", c["crl:Inter"].reason)
    assert.equal("warn", c["crl:Root"].status)
    assert.matches("no CRL of", c["crl:Root"].reason, 1, true)
    -- the certificate revoked
    h.write(d .. "/inter-rev.crl", assert(crl.new { issuer = p.inter, key = p.inter_key, days = 7, number = 7,
      entries = { { serial = cert:serial(), date = now - 60, reason = "keyCompromise" } } }):to_pem())
    res = vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { d .. "/root.crl", d .. "/inter-rev.crl" } }
    assert.is_true(not res.ready)
    c = by_id(res)
    assert.equal("fail", c.revocation.status)
    assert.matches("vcs1.example.com (serial " .. cert:serial() .. ") is revoked", c.revocation.reason, 1, true)
    assert.matches("keyCompromise", c.revocation.reason, 1, true)
    -- a CRL of a CA off the chain, and a file that is not a CRL
    local ok = pkey.generate("ec:P-256")
    local other = assert(x509.new { subject = "/CN=Other", issuer_key = ok, ca = true })
    h.write(d .. "/other.crl", assert(crl.new { issuer = other, key = ok, days = 7 }):to_pem())
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { d .. "/root.crl", d .. "/inter.crl", d .. "/other.crl" } }))
    assert.equal("warn", c["crl-other"].status)
    assert.matches("other.crl", c["crl-other"].reason, 1, true)
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca, crls = { f.key } }))
    assert.equal("fail", c.crl.status)
  end)

  it("warns about a key file others can read, and text around the PEM blocks", function()
    local d = h.tmpdir()
    local f = files(d)
    os.remove(f.key)
    h.write(f.key, "Bag Attributes\n    localKeyID: 01 00 00 00\nKey Attributes: <No Attributes>\n" .. pki().key:to_pem())
    local res = vcs.check { key = f.key, cert = f.cert, ca = f.ca }
    assert.is_true(res.ready)
    local c = by_id(res)
    assert.equal("warn", c["key-mode"].status)
    assert.equal("warn", c["key-format"].status)
    assert.matches("text around", c["key-format"].reason, 1, true)
    h.write(f.cert, leaf():to_pem() .. pki().inter:to_pem())
    c = by_id((vcs.check { key = f.key, cert = f.cert, ca = f.ca }))
    assert.equal("warn", c["cert-format"].status)
    assert.matches("2 certificates", c["cert-format"].reason, 1, true)
  end)

  it("a file that is missing is a failed check, not an error", function()
    local d = h.tmpdir()
    local f = files(d)
    local res = vcs.check { key = d .. "/nope.pem", cert = f.cert, ca = d .. "/nope-ca.pem" }
    assert.is_true(not res.ready)
    local c = by_id(res)
    assert.equal("fail", c["key-format"].status)
    assert.matches("nope.pem", c["key-format"].reason, 1, true)
    assert.equal("fail", c["ca-format"].status)
    assert.equal("pass", c.validity.status)
  end)

  it("CLI: each check on a line, a summary, exit 0 or 3, --json", function()
    local d = h.tmpdir()
    local f = files(d)
    local base = ("vcs check --key %s --cert %s --ca %s"):format(h.q(f.key), h.q(f.cert), h.q(f.ca))
    local out, rc = h.certbench(base .. " --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com")
    assert.equal(0, rc, out)
    assert.matches("PASS  names", out, 1, true)
    assert.matches("11 passed, 0 warnings, 0 failed: ready to upload", out, 1, true)
    out, rc = h.certbench(base .. " --fqdn vcs9.example.com --json")
    assert.equal(3, rc, out)
    local j = json(out)
    assert.is_false(j.ready)
    assert.equal(1, j.counts.fail)
    local names
    for _, c in ipairs(j.checks) do if c.id == "names" then names = c end end
    assert.equal("fail", names.status)
    -- --quiet: no PASS lines, no summary, but the failure's reason on stderr
    local qo, qe, qrc = h.run3(h.q(h.bin) .. " " .. base .. " --fqdn vcs9.example.com --quiet")
    assert.equal(3, qrc, qe)
    assert.equal("", qo)
    assert.matches("^certbench: vcs check: names: [^\n]*vcs9%.example%.com[^\n]*\n$", qe)
    qo, qe, qrc = h.run3(h.q(h.bin) .. " " .. base .. " --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com --quiet")
    assert.equal(0, qrc, qe)
    assert.equal("", qo .. qe)
    out, rc = h.certbench(base .. " --fqdn 10.0.0.1")
    assert.equal(2, rc)
    out, rc = h.certbench(base .. " --warn-days soon")
    assert.equal(2, rc)
    assert.matches("--warn-days", out, 1, true)
    out, rc = h.certbench("vcs check --key " .. h.q(f.key))
    assert.equal(2, rc)
  end)
end)

describe("vcs profiles", function()
  it("vcs-server: serverAuth, clientAuth, digitalSignature, keyEncipherment, for ca issue too", function()
    local p = vcs.profiles["vcs-server"]
    assert.same({ "serverAuth", "clientAuth" }, p.eku)
    assert.same({ "digitalSignature", "keyEncipherment" }, p.key_usage)
    local profiles = require "certbench.plugins.ca.profiles"
    profiles.reset()
    local got = assert(profiles.get("vcs-server"))
    assert.equal("vcs", got.plugin)
    assert.same({ "serverAuth", "clientAuth" }, got.eku)
  end)
end)
