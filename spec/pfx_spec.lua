-- spec/pfx_spec.lua: the pfx plugin (info, split, build, decrypt-key, encrypt-key), through its
-- Lua API and the command line; every bad input with its own spec; every PFX and key file of
-- the test data (tests/data) with its expected content. tests/interop/pfx_spec.lua does the openssl
-- directions.
local h = require "support.helper"
local ui = require "certbench.ui"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local pkcs12 = require "certbench.pkcs12"
local digest = require "certbench.digest"
local fs = require "certbench.fs"
local pfx = require "certbench.plugins.pfx"

local dir = h.tmpdir()
local fx = require("support.pfx").make(dir)
local n = 0
local function fresh(name)
  n = n + 1
  return ("%s/%s-%d"):format(dir, name or "t", n)
end
local function write(name, data)
  local p = fresh(name)
  h.write(p, data)
  return p
end
-- the command line, without a terminal (setsid): a missing password is an error, not a prompt
local function cb(args)
  return h.run3("setsid -w " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end
local function files(d)
  local t = fs.list(d) or {}
  table.sort(t)
  return t
end

describe("pfx info", function()
  it("lists every bag, pairs key and certificate by key, and orders the chain", function()
    local p = write("m.pfx", fx.pfx { chain = { fx.root, fx.sub } })
    local r = assert(pfx.info { file = p, passin = "pass:secret" })
    assert.equal(4, #r.bags)
    assert.equal("sha256", r.algorithms.mac)
    assert.equal("PBES2/PBKDF2-SHA256/AES-256-CBC", r.algorithms.key_encryption)
    local key_bag, server_bag
    for _, b in ipairs(r.bags) do
      if b.key then key_bag = b end
      if b.certificate and b.certificate.subject:match("vcs%.net2%.int") then server_bag = b end
    end
    assert.equal("RSA 2048", key_bag.key.text)
    assert.equal(server_bag.index, key_bag.matches_certificate)
    assert.equal(key_bag.index, server_bag.matches_key)
    assert.equal("server", server_bag.role)
    assert.equal("vcs-certificate", server_bag.friendly_name)
    assert.same({ fx.sub:subject():text(), fx.root:subject():text() }, r.chain)
    assert.is_true(r.chain_complete)
    assert.same({}, r.warnings)
  end)

  it("warns of a SHA-1 MAC, RC2-40, no chain and expired certificates", function()
    local p = write("l.pfx", fx.pfx { cert = fx.expired, chain = {}, profile = "legacy" })
    local r = assert(pfx.info { file = p, passin = "pass:secret" })
    local w = table.concat(r.warnings, "\n")
    assert.matches("the MAC is HMAC-SHA1", w, 1, true)
    assert.matches("no chain: the issuer of CN=old.net2.int (DC = int, DC = net2, CN = net2-Sub-CA) is not in the file", w, 1, true)
    assert.matches("certificate CN=old.net2.int (bag 1) expired on " .. ui.time(fx.expired:not_after()), w, 1, true)
    local rc2 = write("rc2.pfx", assert(pkcs12.build { key = fx.leaf_key, cert = fx.leaf, password = "x",
                                                        profile = "legacy", cert_pbe = "rc2-40" }))
    r = assert(pfx.info { file = rc2, passin = "pass:x" })
    assert.matches("the certificates are encrypted with pbeWithSHAAnd40BitRC2-CBC: RC2-40, broken long ago; OpenSSL 3 opens it only with -legacy",
      table.concat(r.warnings, "\n"), 1, true)
  end)

  it("warns when the key matches no certificate, and when there is no key", function()
    local p = write("nk.pfx", assert(pkcs12.build { cert = fx.leaf, chain = { fx.sub }, password = "secret" }))
    local r = assert(pfx.info { file = p, passin = "pass:secret" })
    assert.matches("no private key in the file (certificates only)", table.concat(r.warnings, "\n"), 1, true)
    assert.is_nil(r.server)
    -- a file where the only key belongs to no certificate: built by hand from two bags' worth
    local q = write("mm.pfx", assert(pkcs12.build { key = fx.other_key, cert = fx.other, chain = { fx.leaf }, password = "secret" }))
    r = assert(pfx.info { file = q, passin = "pass:secret" })
    assert.equal("server", r.bags[1].role)
  end)

  it("opens a PFX with an empty password without asking", function()
    local p = write("e.pfx", fx.pfx { password = "" })
    local out, err, rc = cb("pfx info " .. h.q(p))
    assert.equal(0, rc, err)
    assert.matches("bag 1: certificate", out, 1, true)
  end)

  it("says wrong password as such", function()
    local p = write("w.pfx", fx.pfx())
    local r, err = pfx.info { file = p, passin = "pass:nope" }
    assert.is_nil(r)
    assert.equal(p .. ": wrong password for the PFX (the sha256 MAC does not verify)", err)
    local _, e2, rc = cb("pfx info " .. h.q(p) .. " --passin pass:nope")
    assert.equal(1, rc)
    assert.equal("certbench: " .. p .. ": wrong password for the PFX (the sha256 MAC does not verify)\n", e2)
  end)

  it("asks for a password only when one is needed, and says so without a terminal", function()
    local p = write("a.pfx", fx.pfx())
    local _, err, rc = cb("pfx info " .. h.q(p))
    assert.equal(1, rc)
    assert.matches(p .. ": the PFX is protected by a password: give the password with --passin (pass:TEXT, env:VAR, file:PATH, fd:N or stdin); no terminal to ask on", err, 1, true)
  end)

  it("says a PFX is truncated", function()
    local der = fx.pfx()
    local p = write("t.pfx", der:sub(1, 1000))
    local r, err = pfx.info { file = p, passin = "pass:secret" }
    assert.is_nil(r)
    assert.equal(("%s: truncated: a PKCS#12 (PFX) file whose header announces %d bytes, but only 1000 are there"):format(p, #der), err)
    local _, e2, rc = cb("pfx info " .. h.q(p) .. " --passin pass:secret")
    assert.equal(1, rc)
    assert.matches(("truncated: a PKCS#12 (PFX) file whose header announces %d bytes, but only 1000 are there"):format(#der), e2, 1, true)
  end)

  it("sends other files to show", function()
    local r, err = pfx.info { file = fx.path("leaf.pem") }
    assert.is_nil(r)
    assert.equal(fx.path("leaf.pem") .. ": not a PFX but PEM: 1 certificate (certbench show " .. fx.path("leaf.pem") .. " describes it)", err)
  end)

  it("prints text and JSON", function()
    local p = write("j.pfx", fx.pfx())
    local out, err, rc = cb("pfx info " .. h.q(p) .. " --passin pass:secret")
    assert.equal(0, rc, err)
    assert.matches("MAC: sha256, 2048 iterations", out, 1, true)
    assert.matches("matches the private key in bag", out, 1, true)
    assert.matches("chain of the server certificate (issuer first, up to the root):\n    1. DC = int, DC = net2, CN = net2-Sub-CA\n    2. DC = int, DC = net2, CN = net2-Root-CA", out, 1, true)
    out, err, rc = cb("--json pfx info " .. h.q(p) .. " --passin pass:secret")
    assert.equal(0, rc, err)
    local j = ui.decode_json(out)
    assert.equal("pkcs12", j.type)
    assert.equal(4, #j.bags)
    assert.equal(fx.leaf:subject():text(), j.server.subject)
  end)
end)

describe("pfx split", function()
  local function check_outputs(d, o)
    local key = assert(pkey.load(h.read(d .. "/privkey.pem")))
    assert.equal(fx.leaf_key:public_der(), key:public_der())
    assert.equal("600", h.mode(d .. "/privkey.pem"))
    assert.equal(fx.leaf:to_pem(), h.read(d .. "/server.pem"))
    if o.chain ~= false then assert.equal(fx.sub:to_pem() .. fx.root:to_pem(), h.read(d .. "/ca.pem")) end
  end

  it("a PFX with the chain in any order: key (PKCS#1, 0600, unencrypted), server certificate, chain issuer first", function()
    for _, order in ipairs { { fx.root, fx.sub }, { fx.sub, fx.root } } do
      local p = write("s.pfx", fx.pfx { chain = order })
      local d = fresh("out")
      local r = assert(pfx.split { file = p, out_dir = d, passin = "pass:secret" })
      check_outputs(d, {})
      assert.matches("^%-%-%-%-%-BEGIN RSA PRIVATE KEY%-%-%-%-%-\n", h.read(d .. "/privkey.pem"))
      assert.same({ "ca.pem", "privkey.pem", "server.pem" }, files(d))
      assert.equal(3, #r.written)
      assert.equal(d .. "/privkey.pem", r.written[1].path)
      assert.equal("0600", r.written[1].mode)
      assert.equal("RSA 2048 private key, unencrypted, PKCS#1 (BEGIN RSA PRIVATE KEY)", r.written[1].what)
      assert.matches("the certificate whose public key matches the private key", r.written[2].why, 1, true)
      assert.equal("the chain of server.pem, its issuer first, up to the root", r.written[3].why)
      assert.is_true(r.verify.ok)
      assert.same({}, r.warnings)
    end
  end)

  it("chooses the server certificate by key, not by localKeyID or order", function()
    -- the key's localKeyID in the text points at the CA, the leaf comes last
    local text = fx.bundle { order = { fx.root, fx.sub, fx.leaf }, local_key_id = "AA BB" }
    text = text:gsub("(Bag Attributes: <Empty Attributes>\nsubject=/DC=int/DC=net2/CN=net2%-Root%-CA)",
      "Bag Attributes\n    localKeyID: AA BB \nsubject=/DC=int/DC=net2/CN=net2-Root-CA", 1)
    local p = write("k.pem", text)
    local d = fresh("out")
    assert(pfx.split { file = p, out_dir = d, passin = "pass:keypw" })
    check_outputs(d, {})
    -- a PFX without localKeyID attributes at all
    local q = write("nokid.pfx", fx.pfx { key_id = false })
    local r = assert(pkcs12.parse(h.read(q), "secret"))
    for _, b in ipairs(r.bags) do assert.is_nil(b.local_key_id) end
    local d2 = fresh("out")
    assert(pfx.split { file = q, out_dir = d2, passin = "pass:secret" })
    check_outputs(d2, {})
  end)

  it("reads the PEM bundle openssl pkcs12 -in writes, with a legacy-encrypted key, CRLF or not", function()
    for _, crlf in ipairs { false, true } do
      local p = write("b.pem", fx.bundle { crlf = crlf })
      local d = fresh("out")
      local r = assert(pfx.split { file = p, out_dir = d, passin = "pass:keypw" })
      check_outputs(d, {})
      assert.equal("pem", r.input)
      -- clean PEM: nothing of the attribute text survives
      assert.is_nil(h.read(d .. "/ca.pem"):find("Bag Attributes", 1, true))
      assert.is_nil(h.read(d .. "/server.pem"):find("subject=", 1, true))
    end
    -- an encrypted PKCS#8 key (as OpenSSL 1.1/3 write it), the key last
    local p = write("b8.pem", fx.bundle { key_pem = fx.leaf_key:to_pem { password = "keypw" }, key_last = true })
    local d = fresh("out")
    assert(pfx.split { file = p, out_dir = d, passin = "pass:keypw" })
    check_outputs(d, {})
  end)

  it("says wrong password for a PEM bundle's key, and asks for one only without --passin", function()
    local p = write("b.pem", fx.bundle())
    local r, err = pfx.split { file = p, out_dir = fresh("out"), passin = "pass:wrong" }
    assert.is_nil(r)
    assert.equal(p .. " (PEM block 1, line 6): wrong password for the private key", err)
    local _, e2, rc = cb("pfx split " .. h.q(p) .. " --out-dir " .. h.q(fresh("out")))
    assert.equal(1, rc)
    assert.matches("the private key is encrypted: give the password with --passin", e2, 1, true)
  end)

  it("--key-format pkcs8, --key-passout", function()
    local p = write("f.pfx", fx.pfx())
    local d = fresh("out")
    assert(pfx.split { file = p, out_dir = d, passin = "pass:secret", key_format = "pkcs8" })
    assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-\n", h.read(d .. "/privkey.pem"))
    local d2 = fresh("out")
    local r = assert(pfx.split { file = p, out_dir = d2, passin = "pass:secret", key_passout = "pass:new" })
    assert.is_true(r.key.encrypted)
    local text = h.read(d2 .. "/privkey.pem")
    assert.matches("Proc-Type: 4,ENCRYPTED", text, 1, true)
    assert.matches("DEK-Info: AES-256-CBC,", text, 1, true)
    local _, _, code = pkey.load(text)
    assert.equal("encrypted", code)
    assert.equal(fx.leaf_key:public_der(), assert(pkey.load(text, { password = "new" })):public_der())
    local d3 = fresh("out")
    assert(pfx.split { file = p, out_dir = d3, passin = "pass:secret", key_format = "pkcs8", key_passout = "pass:new" })
    assert.matches("^%-%-%-%-%-BEGIN ENCRYPTED PRIVATE KEY", h.read(d3 .. "/privkey.pem"))
  end)

  it("puts certificates that are not on the chain in extra.pem", function()
    local p = write("x.pfx", fx.pfx { chain = { fx.stranger, fx.root, fx.other, fx.sub } })
    local d = fresh("out")
    local r = assert(pfx.split { file = p, out_dir = d, passin = "pass:secret" })
    check_outputs(d, {})
    assert.equal(fx.stranger:to_pem() .. fx.other:to_pem(), h.read(d .. "/extra.pem"))
    assert.same({ "ca.pem", "extra.pem", "privkey.pem", "server.pem" }, files(d))
    assert.equal("certificates in the file that are not on the chain of server.pem", r.written[4].why)
  end)

  it("writes no ca.pem when the file has no CA certificate, and says why", function()
    local p = write("n.pfx", fx.pfx { chain = {} })
    local d = fresh("out")
    local r = assert(pfx.split { file = p, out_dir = d, passin = "pass:secret" })
    assert.same({ "privkey.pem", "server.pem" }, files(d))
    assert.matches("no CA certificate for CN=vcs.net2.int in " .. p .. ": ca.pem not written; get the issuer (DC = int, DC = net2, CN = net2-Sub-CA) from the CA",
      r.warnings[1], 1, true)
    -- half a chain
    local q = write("h.pfx", fx.pfx { chain = { fx.sub } })
    local d2 = fresh("out")
    r = assert(pfx.split { file = q, out_dir = d2, passin = "pass:secret" })
    assert.equal(fx.sub:to_pem(), h.read(d2 .. "/ca.pem"))
    assert.matches("the chain is incomplete: DC = int, DC = net2, CN = net2-Root-CA is not in", r.warnings[1], 1, true)
  end)

  it("refuses to overwrite without --force, and then writes nothing at all", function()
    local p = write("o.pfx", fx.pfx())
    local d = fresh("out")
    assert(fs.mkdir(d))
    h.write(d .. "/ca.pem", "old CA file\n")
    local r, err = pfx.split { file = p, out_dir = d, passin = "pass:secret" }
    assert.is_nil(r)
    assert.equal(d .. "/ca.pem: exists: nothing written (--force replaces it)", err)
    assert.same({ "ca.pem" }, files(d))
    assert.equal("old CA file\n", h.read(d .. "/ca.pem"))
    local _, e2, rc = cb("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    assert.equal(1, rc)
    assert.equal("certbench: " .. d .. "/ca.pem: exists: nothing written (--force replaces it)\n", e2)
    r = assert(pfx.split { file = p, out_dir = d, passin = "pass:secret", force = true })
    check_outputs(d, {})
    assert.is_true(r.written[3].replaced)
  end)

  it("leaves nothing behind when a write fails halfway", function()
    local p = write("f.pfx", fx.pfx())
    local d = fresh("out")
    assert(fs.mkdir(d))
    h.write(d .. "/server.pem", "old server\n")
    local out, err, rc = h.run3("CERTBENCH_FAULT=outputs:write-3 " .. h.q(h.bin) .. " pfx split " .. h.q(p)
      .. " --out-dir " .. h.q(d) .. " --passin pass:secret --force")
    assert.equal(1, rc, out)
    assert.matches("writing " .. d .. "/ca.pem failed (", err, 1, true)
    assert.matches("injected failure (CERTBENCH_FAULT)): nothing written", err, 1, true)
    -- no key, no temporary files, the old server.pem as it was
    assert.same({ "server.pem" }, files(d))
    assert.equal("old server\n", h.read(d .. "/server.pem"))
  end)

  it("a PFX with no key", function()
    local p = write("nokey.pfx", assert(pkcs12.build { cert = fx.leaf, chain = { fx.sub }, password = "secret" }))
    local d = fresh("out")
    local r, err = pfx.split { file = p, out_dir = d, passin = "pass:secret" }
    assert.is_table(r, err)
    assert.is_true(r.certificates_only)
    assert.equal(fx.leaf:to_pem() .. fx.sub:to_pem(), h.read(d .. "/certs.pem"))
    assert.same({ "certs.pem" }, files(d))
    assert.matches("only the certificates were written", r.warnings[1], 1, true)
  end)

  it("a key that matches no certificate", function()
    local p = write("mis.pem", fx.other_key:to_pem() .. fx.leaf:to_pem() .. fx.sub:to_pem())
    local r, err = pfx.split { file = p, out_dir = fresh("out") }
    assert.is_nil(r)
    assert.equal(p .. ": the private key (EC P-256, PEM block 1, line 1) matches none of the 2 certificates (CN=vcs.net2.int, CN=net2-Sub-CA): nothing written", err)
    local q = write("only.pem", fx.leaf_key:to_pem())
    r, err = pfx.split { file = q, out_dir = fresh("out") }
    assert.equal(q .. ": a private key (RSA 2048) but no certificate: nothing to split", err)
  end)

  it("several keys: names them, and --key N chooses", function()
    local p = write("two.pem", fx.other_key:to_pem() .. fx.leaf_key:to_pem() .. fx.other:to_pem() .. fx.leaf:to_pem())
    local r, err = pfx.split { file = p, out_dir = fresh("out") }
    assert.is_nil(r)
    assert.equal(p .. ": 2 private keys: choose one with --key N: 1: EC P-256 (PEM block 1, line 1) for serial "
      .. fx.other:serial() .. ", " .. fx.other:subject():text() .. "; 2: RSA 2048 (PEM block 2, line 6) for serial "
      .. fx.leaf:serial() .. ", " .. fx.leaf:subject():text(), err)
    local d = fresh("out")
    assert(pfx.split { file = p, out_dir = d, key = "2" })
    assert.equal(fx.leaf:to_pem(), h.read(d .. "/server.pem"))
    r, err = pfx.split { file = p, out_dir = fresh("out"), key = "3" }
    assert.equal("pfx split: --key must be 1 to 2", err)
  end)

  it("a PEM block with bad Base-64", function()
    local text = fx.bundle():gsub("(\nMII)", "\nM*I", 1)
    local p = write("bad.pem", text)
    local begin = 0
    for l in text:gmatch("([^\n]*)\n") do
      begin = begin + 1
      if l == "-----BEGIN CERTIFICATE-----" then break end
    end
    local r, err = pfx.split { file = p, out_dir = fresh("out"), passin = "pass:keypw" }
    assert.is_nil(r)
    assert.equal(("%s: PEM block 2 (CERTIFICATE, line %d): bad Base-64: character \"*\" on line %d"):format(p, begin, begin + 1), err)
  end)

  it("a truncated PFX, and not PKI data", function()
    local der = fx.pfx()
    local p = write("tr.pfx", der:sub(1, #der - 100))
    local r, err = pfx.split { file = p, out_dir = fresh("out"), passin = "pass:secret" }
    assert.is_nil(r)
    assert.equal(("%s: truncated: a PKCS#12 (PFX) file whose header announces %d bytes, but only %d are there"):format(
      p, #der, #der - 100), err)
    local q = write("txt", "just some notes\n")
    r, err = pfx.split { file = q, out_dir = fresh("out") }
    assert.equal(q .. ': not PKI data: text without a PEM block or Base-64 (first line: "just some notes")', err)
  end)

  it("prints what it wrote and why", function()
    local p = write("t.pfx", fx.pfx())
    local d = fresh("out")
    local out, err, rc = cb("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    assert.equal(0, rc, err)
    assert.matches("wrote " .. d .. "/privkey.pem (0600): RSA 2048 private key, unencrypted, PKCS#1 (BEGIN RSA PRIVATE KEY)", out, 1, true)
    assert.matches("wrote " .. d .. "/ca.pem (0644): 2 certificates: CN=net2-Sub-CA, CN=net2-Root-CA", out, 1, true)
    assert.matches("chain: the chain verifies up to CN=net2-Root-CA", out, 1, true)
    local j
    out, err, rc = cb("--json pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret --force")
    assert.equal(0, rc, err)
    j = ui.decode_json(out)
    assert.equal(3, #j.written)
    assert.equal(fx.leaf:serial(), j.server.serial)
    assert.equal(2, #j.chain)
  end)
end)

describe("pfx build", function()
  it("modern by default: reads back with the chain in order, the friendly name, mode 0600", function()
    local out = fresh("b.pfx")
    local r = assert(pfx.build { key = fx.path("leaf.key"), cert = fx.path("leaf.pem"), chain = fx.path("chain-reversed.pem"),
                                 out = out, passout = "pass:pw", friendly_name = "VCS 2026" })
    assert.equal("600", h.mode(out))
    assert.equal("sha256", r.algorithms.mac)
    assert.equal("PBES2/PBKDF2-SHA256/AES-256-CBC", r.algorithms.key_encryption)
    assert.same({ "the chain was put in order: issuer of the certificate first, root last" }, r.notes)
    local p = assert(pkcs12.parse(h.read(out), "pw"))
    assert.is_true(p.cert:equals(fx.leaf))
    assert.equal(2, #p.chain)
    assert.is_true(p.chain[1]:equals(fx.sub))
    assert.is_true(p.chain[2]:equals(fx.root))
    assert.equal("VCS 2026", p.bags[1].friendly_name)
    assert.is_true(r.verify.ok)
  end)

  it("legacy and windows2016 profiles: 3DES and SHA-1", function()
    for _, prof in ipairs { "legacy", "windows2016" } do
      local out = fresh(prof .. ".pfx")
      local r = assert(pfx.build { key = fx.path("leaf.key"), cert = fx.path("fullchain.pem"), out = out,
                                   passout = "pass:pw", profile = prof })
      assert.equal("sha1", r.algorithms.mac)
      assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.key_encryption)
      assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.cert_encryption)
      assert.equal(prof == "legacy" and 2048 or 2000, r.algorithms.key_iterations)
      assert.equal(2, #r.chain)
    end
  end)

  it("takes an encrypted key with --passin, and says wrong password", function()
    local out = fresh("e.pfx")
    assert(pfx.build { key = fx.path("leaf-des3.key"), cert = fx.path("leaf.pem"), out = out, passin = "pass:keypw", passout = "pass:" })
    assert.truthy(pkcs12.parse(h.read(out), ""))
    local r, err = pfx.build { key = fx.path("leaf-enc.key"), cert = fx.path("leaf.pem"), out = fresh("x.pfx"), passin = "pass:no", passout = "pass:" }
    assert.is_nil(r)
    assert.equal(fx.path("leaf-enc.key") .. " (PEM block 1, line 1): wrong password for the private key", err)
  end)

  it("refuses a key that does not match the certificate", function()
    local k = write("other.key", fx.other_key:to_pem())
    local r, err = pfx.build { key = k, cert = fx.path("leaf.pem"), out = fresh("x.pfx"), passout = "pass:x" }
    assert.is_nil(r)
    assert.equal(fx.path("leaf.pem") .. ": the private key in " .. k .. " matches none of its 1 certificate (CN=vcs.net2.int)", err)
  end)

  it("warns of certificates off the chain and of a missing root, and needs a password", function()
    local c = write("mixed.pem", fx.stranger:to_pem() .. fx.sub:to_pem())
    local out = fresh("w.pfx")
    local r = assert(pfx.build { key = fx.path("leaf.key"), cert = fx.path("leaf.pem"), chain = c, out = out, passout = "pass:x" })
    assert.matches("1 certificate not on the chain of CN=vcs.net2.int, included after the chain: CN=Unrelated Root", r.warnings[1], 1, true)
    assert.matches("the chain is incomplete: DC = int, DC = net2, CN = net2-Root-CA is missing", r.warnings[2], 1, true)
    local _, err, rc = cb("pfx build --key " .. h.q(fx.path("leaf.key")) .. " --cert " .. h.q(fx.path("leaf.pem")) .. " --out " .. h.q(fresh("np.pfx")))
    assert.equal(1, rc)
    assert.matches("pfx build: --passout: no terminal to ask for a password", err, 1, true)
    assert.matches("(an empty password is --passout pass:)", err, 1, true)
  end)

  -- a --passout or --key-passout source that gives an empty password by accident (an empty
  -- file, stdin at its end) wrote a file protected by nothing, silently; pass: still says "empty"
  it("refuses an empty new password that pass: did not ask for, and writes nothing", function()
    local empty = write("empty-pw", "")
    local leaf, key = h.q(fx.path("leaf.pem")), h.q(fx.path("leaf.key"))
    for _, c in ipairs {
      { "pfx build --key " .. key .. " --cert " .. leaf .. " --out %s --passout %s", "pfx build: --passout: " },
      { "pfx encrypt-key " .. key .. " --out %s --passout %s", "pfx encrypt-key: --passout: " },
    } do
      for _, src in ipairs { "file:" .. empty, "stdin" } do
        local out = fresh("empty-out")
        local _, err, rc = cb(c[1]:format(h.q(out), src))
        assert.equal(1, rc, err)
        assert.equal("certbench: " .. c[2] .. src .. " gave an empty password", err:match("^[^(]*"):gsub(" $", ""))
        assert.is_false(fs.exists(out))
      end
      local out = fresh("empty-pass")
      local _, err, rc = cb(c[1]:format(h.q(out), "pass:"))
      assert.equal(0, rc, err)
      assert.is_true(fs.exists(out))
    end
  end)

  it("refuses to overwrite without --force", function()
    local out = fresh("f.pfx")
    h.write(out, "old")
    local r, err = pfx.build { key = fx.path("leaf.key"), cert = fx.path("leaf.pem"), out = out, passout = "pass:x" }
    assert.is_nil(r)
    assert.equal(out .. ": exists: nothing written (--force replaces it)", err)
    assert.equal("old", h.read(out))
    assert(pfx.build { key = fx.path("leaf.key"), cert = fx.path("leaf.pem"), out = out, passout = "pass:x", force = true })
    assert.truthy(pkcs12.parse(h.read(out), "x"))
  end)

  it("the command line", function()
    local out = fresh("c.pfx")
    local o, err, rc = cb("pfx build --key " .. h.q(fx.path("leaf.key")) .. " --cert " .. h.q(fx.path("leaf.pem"))
      .. " --chain " .. h.q(fx.path("chain.pem")) .. " --out " .. h.q(out) .. " --passout pass:pw --profile legacy")
    assert.equal(0, rc, err)
    assert.matches("wrote " .. out .. " (0600, ", o, 1, true)
    assert.matches("legacy profile, keys pbeWithSHAAnd3-KeyTripleDES-CBC", o, 1, true)
    assert.matches("chain 2: DC = int, DC = net2, CN = net2-Root-CA", o, 1, true)
  end)
end)

describe("pfx decrypt-key and encrypt-key", function()
  it("decrypts a legacy PEM key into the same form, 0600", function()
    local out = fresh("k.pem")
    local r = assert(pfx.decrypt_key { file = fx.path("leaf-des3.key"), out = out, passin = "pass:keypw" })
    assert.equal(fx.leaf_key:to_pem { format = "traditional" }, h.read(out))
    assert.equal("600", h.mode(out))
    assert.equal("encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC)", r.was)
    -- encrypted PKCS#8 in, PKCS#8 out; --key-format changes it
    local o2 = fresh("k.pem")
    assert(pfx.decrypt_key { file = fx.path("leaf-enc.key"), out = o2, passin = "pass:keypw" })
    assert.equal(fx.leaf_key:to_pem(), h.read(o2))
    local o3 = fresh("k.pem")
    assert(pfx.decrypt_key { file = fx.path("leaf-enc.key"), out = o3, passin = "pass:keypw", key_format = "pkcs1" })
    assert.equal(fx.leaf_key:to_pem { format = "traditional" }, h.read(o3))
  end)

  it("says wrong password, not a key, and notes an unencrypted input", function()
    local r, err = pfx.decrypt_key { file = fx.path("leaf-des3.key"), out = fresh("k"), passin = "pass:bad" }
    assert.is_nil(r)
    assert.equal(fx.path("leaf-des3.key") .. ": wrong password for the private key", err)
    r, err = pfx.decrypt_key { file = fx.path("leaf.pem"), out = fresh("k") }
    assert.equal(fx.path("leaf.pem") .. ": no private key in the file (PEM: 1 certificate)", err)
    r = assert(pfx.decrypt_key { file = fx.path("leaf.key"), out = fresh("k") })
    assert.matches("was not encrypted", r.note, 1, true)
  end)

  it("encrypts as PKCS#8 PBES2 by default, or legacy PEM with --key-format pkcs1", function()
    local out = fresh("e.pem")
    assert(pfx.encrypt_key { file = fx.path("leaf.key"), out = out, passout = "pass:np" })
    local text = h.read(out)
    assert.matches("^%-%-%-%-%-BEGIN ENCRYPTED PRIVATE KEY", text)
    assert.equal(fx.leaf_key:public_der(), assert(pkey.load(text, { password = "np" })):public_der())
    local o2 = fresh("e.pem")
    assert(pfx.encrypt_key { file = fx.path("leaf.key"), out = o2, passout = "pass:np", key_format = "pkcs1", cipher = "des-ede3-cbc" })
    assert.matches("DEK%-Info: DES%-EDE3%-CBC,", h.read(o2))
    local _, err, rc = cb("pfx encrypt-key " .. h.q(fx.path("leaf.key")) .. " --out " .. h.q(fresh("e.pem")))
    assert.equal(1, rc)
    assert.matches("pfx encrypt-key: --passout: no terminal", err, 1, true)
  end)
end)

describe("the test data", function()
  local C = h.data .. "/"
  local function der_sha256(der) return digest.hex(digest.sha256(der)):lower() end
  local ok_cases = {
    -- file, password, keys, certificates, CN of the server certificate, chain length, warnings to find
    { "pkits/pkcs12/ValidCertificatePathTest1EE.p12", "password", 1, 1, "Valid EE Certificate Test1", 0, { "no chain: the issuer of CN=Valid EE Certificate Test1" } },
    { "pfx/oscrypto/test-aes128.p12", "password123", 1, 1, "Will Bond", 0, { "HMAC-SHA1", "pbeWithSHAAnd40BitRC2-CBC" } },
    { "pfx/oscrypto/test-aes256.p12", "password123", 1, 1, "Will Bond", 0, { "HMAC-SHA1" } },
    { "pfx/oscrypto/test-rc2.p12", "password123", 1, 1, "Will Bond", 0, { "the key is encrypted with pbeWithSHAAnd40BitRC2-CBC" } },
    { "pfx/oscrypto/test-tripledes.p12", "password123", 1, 1, "Will Bond", 0, {} },
    { "pfx/oscrypto/test-tripledes-blank.p12", nil, 1, 1, "Will Bond", 0, {} },
    { "pfx/oscrypto/test-dsa.p12", "password123", 1, 1, "Will Bond", 0, {} },
    { "pfx/oscrypto/test-third.p12", "password123", 1, 3, "Will Bond", 2, {} },
    { "pfx/go-pkcs12/windows_azure_tools.p12", nil, 1, 1, "Windows Azure Tools", 0, { "the MAC uses 1 iteration" } },
    { "pfx/go-pkcs12/testing_at_example_com.p12", nil, 1, 1, "testing@example.com", 0, {} },
    { "pfx/go-pkcs12/example_com_aescbc128.p12", "rHyQTJsubhfxcpH5JttyilHE6BBsNoZp", 1, 1, "example-com", 0, { "no chain" } },
    { "pfx/go-pkcs12/example_com_aescbc192.p12", "password", 1, 1, "example-com", 0, {} },
    { "pfx/go-pkcs12/ad_standalone_com_aescbc256.p12", "password", 1, 1, "*.ad.standalone.com", 0, {} },
    { "pfx/go-pkcs12/example_signed_certificates_chain.p12", "password", 3, 6, nil, nil, { "3 private keys in one file" } },
    { "pfx/go-pkcs12/rfc9579-a1.txt", "1234", 1, 1, "tt", 0, { "Base-64 without armor, not binary DER" } },
    { "pfx/go-pkcs12/rfc9579-a2.txt", "1234", 1, 1, "tt", 0, {} },
    { "pfx/go-pkcs12/rfc9579-a3.txt", "1234", 1, 1, "tt", 0, {} },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_windows_aes.p12.pfx", "password", 1, 1, "Valid EE Certificate Test1", 0, {} },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_windows_tdes.p12.pfx", "password", 1, 1, "Valid EE Certificate Test1", 0, { "HMAC-SHA1" } },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_macos.p12", "password", 1, 1, "Valid EE Certificate Test1", 0, {} },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_firefox.p12", "password", 1, 1, "Valid EE Certificate Test1", 0, {} },
    { "pfx/rustcrypto/example.pfx", nil, 1, 1, "...", 0, {} },
    { "pfx/rustcrypto/example5.pfx", "1234", 1, 1, "...", 0, { "no MAC: nothing protects the file's integrity" } },
    { "pfx/rustcrypto/example6.pfx", "1234", 1, 1, "...", 0, { "key encryption uses 1 iteration" } },
    { "pfx/rustcrypto/example7.pfx", "1234", 1, 2, "Valid EE Certificate Test1", 1, { "chain incomplete: C = US, O = Test Certificates 2011, CN = Trust Anchor" } },
    { "pfx/rustcrypto/example15.pfx", "1234", 0, 1, nil, nil, { "no private key in the file" } },
    { "pfx/rustcrypto/example16.pfx", "1234", 1, 0, nil, nil, { "no certificate in the file" } },
    { "pfx/rustcrypto/test-rc2-128-iter1.p12", "hunter2", 1, 1, "pkcs12-test", 0, { "pbeWithSHAAnd128BitRC2-CBC" } },
    { "pfx/rustcrypto/test-rc2-128-iter2048.p12", "hunter2", 1, 1, "pkcs12-test", 0, {} },
    { "pfx/rustcrypto/test-rc2-128-iter100000.p12", "hunter2", 1, 1, "pkcs12-test", 0, {} },
    { "pfx/rustcrypto/test-rc2-40-iter2048.p12", "hunter2", 1, 1, "pkcs12-test", 0, {} },
    { "pfx/rustcrypto/pyca-cert-rc2-key-3des.p12", "cryptography", 1, 1, "cryptography CA", 0, {} },
    { "pfx/lua-resty-openssl/badssl.com-client.p12", "badssl.com", 1, 1, "BadSSL Client Certificate", 0, { "no chain" } },
  }
  for i = 2, 17 do
    if i ~= 5 and i ~= 6 and i ~= 7 and i ~= 11 and i ~= 15 and i ~= 16 then
      ok_cases[#ok_cases + 1] = { ("pfx/rustcrypto/example%d.pfx"):format(i), "1234", 1, 1, "...", 0, {} }
    end
  end

  it("pfx info: every PFX of the corpus with its keys, certificates, chain and warnings", function()
    for _, c in ipairs(ok_cases) do
      local r, err = pfx.info { file = C .. c[1], passin = c[2] and ("pass:" .. c[2]) or nil }
      assert(r, err)
      local nk, nc = 0, 0
      for _, b in ipairs(r.bags) do
        if b.key then nk = nk + 1 elseif b.certificate then nc = nc + 1 end
      end
      assert.equal(c[3], nk, c[1])
      assert.equal(c[4], nc, c[1])
      if c[5] then
        assert.equal(c[5], r.server.subject:match("CN = ([^,]*)"), c[1])
        assert.equal(c[6], #r.chain, c[1])
      else
        assert.is_nil(r.server, c[1])
      end
      local w = table.concat(r.warnings, "\n")
      for _, want in ipairs(c[7]) do assert.matches(want, w, 1, true) end
    end
  end)

  it("pfx info: the PFX files that must not open, each with its reason", function()
    local bad = {
      { "pfx/go-pkcs12/rfc9579-a4.txt", "1234", "wrong password for the PFX (the PBMAC1/PBKDF2-SHA256/HMAC-SHA256 MAC does not verify)" },
      { "pfx/go-pkcs12/rfc9579-a5.txt", "1234", "wrong password for the PFX" },
      { "pfx/go-pkcs12/rfc9579-a6.txt", "1234", "PBMAC1 without the mandatory PBKDF2 key length" },
      { "pfx/go-pkcs12/pbmac1-short-key-bypass.txt", "realpassword", "PBMAC1 with a PBKDF2 key length of 1 bytes (at least 20 are needed)" },
      { "pfx/rustcrypto/example11.pfx", "1234", "the MAC uses BLAKE2b-512" },
      { "pfx/rustcrypto/example2.pfx", "12345", "wrong password for the PFX (the sha256 MAC does not verify)" },
    }
    for _, c in ipairs(bad) do
      local r, err = pfx.info { file = C .. c[1], passin = "pass:" .. c[2] }
      assert.is_nil(r, c[1])
      assert.matches(C .. c[1] .. ": " .. c[3], err, 1, true)
    end
  end)

  it("pfx split: key and certificate equal the expected plaintext files", function()
    local cases = {
      { "pfx/oscrypto/test-aes128.p12", "password123", "pfx/oscrypto/expected/test-pkcs8-der.key", "pfx/oscrypto/expected/test-der.crt" },
      { "pfx/oscrypto/test-rc2.p12", "password123", "pfx/oscrypto/expected/test-pkcs8-der.key", "pfx/oscrypto/expected/test-der.crt" },
      { "pfx/oscrypto/test-tripledes-blank.p12", nil, "pfx/oscrypto/expected/test-pkcs8-der.key", "pfx/oscrypto/expected/test-der.crt" },
      { "pfx/oscrypto/test-third.p12", "password123", "pfx/oscrypto/expected/test-third-der.key", "pfx/oscrypto/expected/test-third-der.crt",
        "pfx/oscrypto/expected/test-inter-der.crt" },
      { "pfx/rustcrypto/example.pfx", nil, "pfx/rustcrypto/expected/key.der", "pfx/rustcrypto/expected/cert.der" },
      { "pfx/rustcrypto/example2.pfx", "1234", "pfx/rustcrypto/expected/key.der", "pfx/rustcrypto/expected/cert.der" },
      { "pfx/rustcrypto/example14.pfx", "1234", "pfx/rustcrypto/expected/key.der", "pfx/rustcrypto/expected/cert.der" },
    }
    for _, c in ipairs(cases) do
      local d = fresh("corpus")
      local r, err = pfx.split { file = C .. c[1], out_dir = d, passin = c[2] and ("pass:" .. c[2]) or nil }
      assert(r, err)
      local want_key = assert(pkey.load(h.read(C .. c[3])))
      local got_key = assert(pkey.load(h.read(d .. "/privkey.pem")))
      assert.equal(want_key:to_der(), got_key:to_der(), c[1])
      assert.equal(h.read(C .. c[4]), assert(x509.load(h.read(d .. "/server.pem"))):to_der(), c[1])
      if c[5] then
        local ca = assert(x509.load_all(h.read(d .. "/ca.pem")))
        assert.equal(h.read(C .. c[5]), ca[1]:to_der(), c[1])
        assert.equal(2, #ca)
        assert.is_true(ca[2]:is_self_signed())
      end
    end
  end)

  it("pfx split: the stated SHA-256 of the keys of the RC2 and pyca files", function()
    for _, c in ipairs {
      { "pfx/rustcrypto/test-rc2-128-iter1.p12", "hunter2", "ccdf40f8d0881c5aa3cb9c563399f5fb590f7615ef7da4d057031bc809c9190d" },
      { "pfx/rustcrypto/test-rc2-40-iter2048.p12", "hunter2", "ccdf40f8d0881c5aa3cb9c563399f5fb590f7615ef7da4d057031bc809c9190d" },
    } do
      local d = fresh("corpus")
      assert(pfx.split { file = C .. c[1], out_dir = d, passin = "pass:" .. c[2], key_format = "pkcs8" })
      local k = assert(pkey.load(h.read(d .. "/privkey.pem")))
      assert.equal(h.read(d .. "/privkey.pem"), k:to_pem())
      assert.equal(c[3], der_sha256(k:to_der()), c[1])
    end
    -- pyca's EC key: its stated hash is of pyca's own PKCS#8 encoding, which is not the only
    -- DER of that key; the curve and the certificate it matches are what must hold
    local d = fresh("corpus")
    assert(pfx.split { file = C .. "pfx/rustcrypto/pyca-cert-rc2-key-3des.p12", out_dir = d, passin = "pass:cryptography" })
    local k = assert(pkey.load(h.read(d .. "/privkey.pem")))
    assert.equal("P-256", k:curve())
    assert.is_true(k:matches(assert(x509.load(h.read(d .. "/server.pem")))))
    assert.matches("^%-%-%-%-%-BEGIN EC PRIVATE KEY", h.read(d .. "/privkey.pem"))
  end)

  it("pfx split: the corpus files it cannot split say why", function()
    local cases = {
      { "pfx/rustcrypto/example16.pfx", "1234", "a private key (RSA 1024) but no certificate: nothing to split" },
      { "pfx/go-pkcs12/example_signed_certificates_chain.p12", "password", "3 private keys: choose one with --key N: 1: RSA 2048 (bag 1) for serial " },
      { "pfx/oscrypto/test-dsa.p12", "password123", "the private key is DSA 3072, which certbench does not write (RSA, EC and Ed25519 keys only)" },
    }
    for _, c in ipairs(cases) do
      local d = fresh("corpus")
      local r, err = pfx.split { file = C .. c[1], out_dir = d, passin = "pass:" .. c[2] }
      assert.is_nil(r, c[1])
      assert.matches(c[3], err, 1, true)
      assert.same({}, files(d))
    end
  end)

  it("decrypt-key: every encrypted key of keys/ gives its plaintext reference", function()
    local rsa = assert(pkey.load(h.read(C .. "keys/oscrypto/test.key")))
    local ec = assert(pkey.load(h.read(C .. "keys/oscrypto/test-ec.key")))
    local cases = {
      { "oscrypto/test-aes128.key", "password123", rsa, "RSA PRIVATE KEY" },
      { "oscrypto/test-aes256.key", "password123", rsa, "RSA PRIVATE KEY" },
      { "oscrypto/test-tripledes.key", "password123", rsa, "RSA PRIVATE KEY" },
      { "oscrypto/test-pkcs8-aes256.key", "password123", rsa, "PRIVATE KEY" },
      { "oscrypto/test-pkcs8-aes128-der.key", "password123", rsa, "PRIVATE KEY" },
      { "oscrypto/test-pkcs8-des.key", "password123", rsa, "PRIVATE KEY" },
      { "oscrypto/test-pkcs8-tripledes.key", "password123", rsa, "PRIVATE KEY" },
      { "oscrypto/test-pkcs8-blank.key", "", rsa, "PRIVATE KEY" },
      { "oscrypto/test-pkcs8-blank-der.key", "", rsa, "PRIVATE KEY" },
      { "oscrypto/test-ec-aes128.key", "password123", ec, "EC PRIVATE KEY" },
      { "paramiko/test_rsa_password.key", "television", "rsa", "RSA PRIVATE KEY", 1024 },
      { "paramiko/test_ecdsa_password_256.key", "television", "P-256", "EC PRIVATE KEY" },
      { "paramiko/test_ecdsa_password_384.key", "television", "P-384", "EC PRIVATE KEY" },
      { "paramiko/test_ecdsa_password_521.key", "television", "P-521", "EC PRIVATE KEY" },
      { "lua-resty-openssl/ec_key_encrypted.pem", "123456", "P-256", "EC PRIVATE KEY" },
    }
    for _, c in ipairs(cases) do
      local out = fresh("dk")
      local r, err = pfx.decrypt_key { file = C .. "keys/" .. c[1], out = out, passin = "pass:" .. c[2] }
      assert(r, err)
      local text = h.read(out)
      assert.matches("^%-%-%-%-%-BEGIN " .. c[4]:gsub("%p", "%%%0") .. "%-%-%-%-%-\n", text, nil, c[1])
      local k = assert(pkey.load(text))
      if type(c[3]) == "string" then
        if c[3] == "rsa" then
          assert.equal("rsa", k:type(), c[1])
          assert.equal(c[5], k:bits(), c[1])
        else
          assert.equal(c[3], k:curve(), c[1])
        end
      else
        assert.equal(c[3]:to_der(), k:to_der(), c[1])
      end
      -- and the wrong password is said as such
      local r2, err2 = pfx.decrypt_key { file = C .. "keys/" .. c[1], out = fresh("dk"), passin = "pass:not-it" }
      assert.is_nil(r2)
      assert.equal(C .. "keys/" .. c[1] .. ": wrong password for the private key", err2, c[1])
    end
    -- the DSA keys: recognized, and refused by name
    local r, err = pfx.decrypt_key { file = C .. "keys/oscrypto/test-dsa-aes128.key", out = fresh("dk"), passin = "pass:password123" }
    assert.is_nil(r)
    assert.matches("DSA", err, 1, true)
  end)
end)
