-- spec/convert_spec.lua: the convert plugin: every kind of object DER <-> PEM with identical
-- bytes back, the Windows forms (Base-64 .cer with CRLF, UTF-16LE, BOM, no armor, a PKCS#7
-- chain in CERTIFICATE armor), p7b bundles, every refusal with its reason, output files
-- (default names, --force, key modes), and `convert dir`. tests/interop/convert_spec.lua does
-- the openssl directions.
local h = require "support.helper"
local ui = require "certbench.ui"
local fs = require "certbench.fs"
local detect = require "certbench.detect"
local pkcs7 = require "certbench.pkcs7"
local pkey = require "certbench.pkey"
local convert = require "certbench.plugins.convert"

local dir = h.tmpdir()
local fx = require("support.pfx").make(dir)
local n = 0
local function fresh(name)
  n = n + 1
  return ("%s/c%d-%s"):format(dir, n, name)
end
local function write(name, data)
  local p = fresh(name)
  h.write(p, data)
  return p
end
local function cb(args)
  return h.run3("setsid -w " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end

local function objects()
  local p7 = assert(pkcs7.build { certs = { fx.leaf, fx.sub } })
  return {
    { "certificate", fx.leaf:to_der(), "CERTIFICATE" },
    { "csr", fx.csr:to_der(), "CERTIFICATE REQUEST" },
    { "crl", fx.crl:to_der(), "X509 CRL" },
    { "PKCS#8 key", fx.leaf_key:to_der(), "PRIVATE KEY" },
    { "encrypted PKCS#8 key", assert(fx.leaf_key:to_der { password = "pw" }), "ENCRYPTED PRIVATE KEY" },
    { "PKCS#1 key", fx.leaf_key:to_der { format = "traditional" }, "RSA PRIVATE KEY" },
    { "SEC1 key", fx.other_key:to_der { format = "traditional" }, "EC PRIVATE KEY" },
    { "public key", fx.leaf_key:public_der(), "PUBLIC KEY" },
    { "PKCS#1 public key", "\x30\x0a\x02\x03\x00\xc3\x55\x02\x03\x01\x00\x01", "RSA PUBLIC KEY" },
    { "PKCS#7", p7, "PKCS7" },
  }
end

describe("convert.data", function()
  it("DER -> PEM -> DER gives the same bytes for every kind of object", function()
    for _, c in ipairs(objects()) do
      local what, der, label = c[1], c[2], c[3]
      if label ~= "PKCS7" then
        local pem, rep = assert(convert.data(der, what, "pem"))
        assert.equal(detect.pem(label, der), pem, what)
        assert.matches("^PEM: ", rep.output)
        local back = assert(convert.data(pem, what, "der"))
        assert.equal(der, back, what)
        -- and through the Windows form
        local b64 = assert(convert.data(der, what, "b64cer"))
        assert.equal(pem:gsub("\n", "\r\n"), b64, what)
        assert.equal(der, assert(convert.data(b64, what, "der")), what)
      end
    end
  end)

  it("PKCS#7: its PEM block -> the same DER; a p7b -> PEM gives its certificates", function()
    local p7 = assert(pkcs7.build { certs = { fx.leaf, fx.sub }, crls = { fx.crl:to_der() } })
    assert.equal(p7, assert(convert.data(pkcs7.to_pem(p7), "x", "der")))
    local pem, rep = assert(convert.data(p7, "x.p7b", "pem"))
    assert.equal(fx.leaf:to_pem() .. fx.sub:to_pem() .. fx.crl:to_pem(), pem)
    assert.equal("PEM: 2 certificates, 1 CRL", rep.output)
    -- and back: a p7b of the same certificates and CRL
    local again = assert(convert.data(pem, "x.pem", "p7b"))
    local p = assert(pkcs7.load(again))
    assert.equal(2, #p.certs)
    assert.is_true(p.certs[1]:equals(fx.leaf))
    assert.equal(fx.crl:to_der(), p.crls[1])
    -- a single p7b stays byte for byte
    assert.equal(p7, assert(convert.data(p7, "x.p7b", "p7b")))
  end)

  it("reads what Windows writes: CRLF, UTF-8 BOM, UTF-16LE with a BOM, Base-64 without armor", function()
    local der = fx.leaf:to_der()
    local pem = fx.leaf:to_pem()
    local u16 = "\255\254" .. (pem:gsub("\n", "\r\n"):gsub(".", "%0\0"))
    for _, input in ipairs {
      pem:gsub("\n", "\r\n"), "\239\187\191" .. pem, u16, detect.b64encode(der),
      "Certificate:\n    Data: (openssl x509 -text output)\n" .. pem .. "trailing notes\n",
    } do
      assert.equal(der, assert(convert.data(input, "w.cer", "der")))
      assert.equal(pem, assert(convert.data(input, "w.cer", "pem")))
    end
  end)

  it("opens the PKCS#7 chain that certsrv writes in CERTIFICATE armor", function()
    local p7 = assert(pkcs7.build { certs = { fx.leaf, fx.sub, fx.root } })
    local text = detect.pem("CERTIFICATE", p7, { crlf = true })
    local pem, rep = assert(convert.data(text, "certnew.p7b", "pem"))
    assert.equal(fx.leaf:to_pem() .. fx.sub:to_pem() .. fx.root:to_pem(), pem)
    assert.matches("labelled CERTIFICATE but holds a PKCS#7 bundle", rep.warnings[1], 1, true)
  end)

  it("keeps a legacy-encrypted PEM key with its headers, and refuses it as DER", function()
    local text = h.read(fx.path("leaf-des3.key"))
    local pem = assert(convert.data(text, "k", "pem"))
    assert.equal(text, pem)
    assert.truthy(pkey.load(pem, { password = "keypw" }))
    local out, err, code = convert.data(text, "k.pem", "der")
    assert.is_nil(out)
    assert.equal("unsupported", code)
    assert.equal("k.pem: a legacy-encrypted PEM key (Proc-Type/DEK-Info) has no DER form: certbench pfx decrypt-key or pfx encrypt-key (PKCS#8) first", err)
  end)

  it("refuses what it cannot do, and says why", function()
    local cases = {
      { fx.leaf:to_pem() .. fx.sub:to_pem(), "der", "several",
        "b.pem: 2 certificates: a DER file holds one object (--to p7b puts several certificates in one file)" },
      { fx.leaf:to_der() .. fx.sub:to_der(), "der", "several", "b.pem: 2 certificates: a DER file holds one object" },
      { fx.leaf:to_der():sub(1, 700), "pem", "truncated", "b.pem: truncated: a certificate whose header announces" },
      { "Dear admin, the certificate is attached.\n", "pem", "not_pki", "b.pem: not PKI data: text without a PEM block" },
      { fx.leaf:to_pem():gsub("\nMII", "\nMI!", 1), "der", "bad_base64", "b.pem: PEM block 1 (CERTIFICATE, line 1): bad Base-64: character \"!\" on line 2" },
      { fx.leaf_key:to_pem() .. fx.leaf:to_pem(), "p7b", "unsupported",
        "b.pem (PEM block 1): holds a private key (PKCS#8 RSA), but a p7b carries certificates and CRLs only: nothing converted" },
      { fx.pfx(), "pem", "password", "b.pem: a PKCS#12 file protected by a password: give it with --passin" },
      { "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n", "pem", "unknown",
        "b.pem: a PEM block labelled OPENSSH PRIVATE KEY, which certbench does not read" },
      { "", "pem", "empty", "b.pem: empty file" },
    }
    for i, c in ipairs(cases) do
      local out, err, code = convert.data(c[1], "b.pem", c[2])
      assert.is_nil(out, i)
      assert.equal(c[3], code, i)
      assert.matches(c[4], err, 1, true)
    end
    assert.has_error(function() convert.data("x", "y", "docx") end, "convert.data: to must be pem, der, b64cer or p7b, not docx")
  end)
end)

describe("convert FILE", function()
  it("writes next to the input with the target's extension, and says what it did", function()
    local p = write("server.cer", fx.leaf:to_der())
    local out, err, rc = cb("convert " .. h.q(p) .. " --to pem")
    assert.equal(0, rc, err)
    local want = p:gsub("%.cer$", ".pem")
    assert.equal(p .. " (DER: 1 certificate) -> " .. want .. " (PEM: 1 certificate, " .. #fx.leaf:to_pem() .. " bytes)\n", out)
    assert.equal(fx.leaf:to_pem(), h.read(want))
    assert.equal("644", h.mode(want))
    -- default names per target
    -- back to DER: the default name is the original file, which is there
    local r, e = convert.file { file = want, to = "der" }
    assert.is_nil(r)
    assert.equal(p .. ": exists: nothing written (--force replaces it)", e)
    local crlp = write("x.pem", fx.crl:to_pem())
    assert.equal(crlp:gsub("%.pem$", ".crl"), assert(convert.file { file = crlp, to = "der" }).out)
    local csrp = write("req.pem", fx.csr:to_pem())
    assert.equal(csrp:gsub("%.pem$", ".csr"), assert(convert.file { file = csrp, to = "der" }).out)
    assert.equal(csrp:gsub("%.pem$", ".p7b"), assert(convert.file { file = fx.path("fullchain.pem"), to = "p7b", out = csrp:gsub("%.pem$", ".p7b") }).out)
  end)

  it("refuses to overwrite without --force, and to overwrite its input", function()
    local p = write("a.cer", fx.leaf:to_der())
    local o = write("a-out.pem", "precious\n")
    local r, err = convert.file { file = p, to = "pem", out = o }
    assert.is_nil(r)
    assert.equal(o .. ": exists: nothing written (--force replaces it)", err)
    assert.equal("precious\n", h.read(o))
    r = assert(convert.file { file = p, to = "pem", out = o, force = true })
    assert.is_true(r.replaced)
    assert.equal(fx.leaf:to_pem(), h.read(o))
    local b = write("b.cer", fx.leaf:to_pem())
    r, err = convert.file { file = b, to = "b64cer" }
    assert.is_nil(r)
    assert.equal("convert: " .. b .. " is the input file: give another name with --out", err)
  end)

  it("writes files holding a private key with mode 0600", function()
    local p = write("k.der", fx.leaf_key:to_der())
    local r = assert(convert.file { file = p, to = "pem" })
    assert.equal("0600", r.mode)
    assert.equal("600", h.mode(r.out))
    local out, err, rc = cb("convert " .. h.q(r.out) .. " --to der --out " .. h.q(fresh("k2.der")))
    assert.equal(0, rc, err)
    assert.matches("mode 0600: it holds a private key", out, 1, true)
  end)

  it("reports failures on stderr with exit code 1, and --json", function()
    local p = write("t.cer", fx.leaf:to_der():sub(1, 500))
    local out, err, rc = cb("convert " .. h.q(p) .. " --to pem")
    assert.equal(1, rc)
    assert.equal("", out)
    assert.matches("^certbench: " .. p:gsub("%p", "%%%0") .. ": truncated: a certificate whose header announces %d+ bytes, but only 500 are there\n$", err)
    out, err, rc = cb("--json convert " .. h.q(fx.path("leaf.der")) .. " --to b64cer --out " .. h.q(fresh("j.cer")))
    assert.equal(0, rc, err)
    local j = ui.decode_json(out)
    assert.equal("b64cer", j.to)
    assert.equal("DER: 1 certificate", j.input)
    local _, e2, rc2 = cb("convert " .. h.q(p) .. " --to docx")
    assert.equal(2, rc2)
    assert.matches("argument for option '--to' must be one of", e2, 1, true)
  end)
end)

describe("convert dir", function()
  local function folder()
    local src = fresh("src")
    assert(fs.mkdir(src))
    h.write(src .. "/server.cer", fx.leaf:to_der())
    h.write(src .. "/sub.crt", fx.sub:to_pem():gsub("\n", "\r\n"))
    h.write(src .. "/root.cer", "\255\254" .. (fx.root:to_pem():gsub("\n", "\r\n"):gsub(".", "%0\0")))
    h.write(src .. "/chain.p7b", assert(pkcs7.build { certs = { fx.sub, fx.root } }))
    h.write(src .. "/broken.cer", fx.leaf:to_der():sub(1, 300))
    h.write(src .. "/notes.txt", "renew before June\n")
    h.write(src .. "/server.der", fx.leaf:to_der()) -- same output name as server.cer
    assert(fs.mkdir(src .. "/old"))
    return src
  end

  it("converts what it can, one line per file, and exit code 1 when some failed", function()
    local src, dst = folder(), fresh("dst")
    local out, err, rc = cb("convert dir " .. h.q(src) .. " --to pem --out-dir " .. h.q(dst))
    assert.equal(1, rc, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(9, #lines)
    assert.matches("^FAILED   " .. src:gsub("%p", "%%%0") .. "/broken%.cer: truncated: a certificate", lines[1])
    assert.equal("ok       " .. src .. "/chain.p7b (DER: 1 PKCS#7 bundle) -> " .. dst .. "/chain.pem", lines[2])
    assert.matches("^FAILED   " .. src:gsub("%p", "%%%0") .. "/notes%.txt: not PKI data", lines[3])
    assert.equal("skipped  " .. src .. "/old (a directory)", lines[4])
    assert.equal("ok       " .. src .. "/root.cer (PEM (UTF-16LE, CRLF): 1 certificate) -> " .. dst .. "/root.pem", lines[5])
    assert.equal("ok       " .. src .. "/server.cer (DER: 1 certificate) -> " .. dst .. "/server.pem", lines[6])
    assert.equal("FAILED   " .. src .. "/server.der: would be written to " .. dst .. "/server.pem too, as " .. src .. "/server.cer was: not converted", lines[7])
    assert.equal("ok       " .. src .. "/sub.crt (PEM (CRLF): 1 certificate) -> " .. dst .. "/sub.pem", lines[8])
    assert.equal("4 converted, 3 failed, 1 skipped", lines[9])
    assert.equal(fx.sub:to_pem() .. fx.root:to_pem(), h.read(dst .. "/chain.pem"))
    assert.equal(fx.root:to_pem(), h.read(dst .. "/root.pem"))
    assert.equal(fx.leaf:to_pem(), h.read(dst .. "/server.pem"))
    local names = fs.list(dst)
    table.sort(names)
    assert.same({ "chain.pem", "root.pem", "server.pem", "sub.pem" }, names)
  end)

  it("runs again without --force only for new files, and gives JSON", function()
    local src, dst = folder(), fresh("dst")
    local r = assert(convert.folder { dir = src, to = "der", out_dir = dst })
    assert.equal(4, r.converted)
    assert.equal(3, r.failed) -- broken.cer, notes.txt, server.der (same name as server.cer)
    local names = fs.list(dst)
    table.sort(names)
    assert.same({ "chain.p7b", "root.cer", "server.cer", "sub.cer" }, names)
    assert.equal(h.read(src .. "/chain.p7b"), h.read(dst .. "/chain.p7b"))
    local again = assert(convert.folder { dir = src, to = "der", out_dir = dst })
    assert.equal(0, again.converted)
    local exists = 0
    for _, e in ipairs(again.files) do
      if e.status == "failed" and e.error:find("exists", 1, true) then
        exists = exists + 1
        assert.matches("exists: nothing written %(%-%-force replaces it%)", e.error)
      end
    end
    assert.equal(5, exists) -- server.der meets server.cer's old output now
    assert.equal(4, assert(convert.folder { dir = src, to = "der", out_dir = dst, force = true }).converted)
    local out, err, rc = cb("--json convert dir " .. h.q(src) .. " --to pem --out-dir " .. h.q(fresh("dst")))
    assert.equal(1, rc, err)
    local j = ui.decode_json(out)
    assert.equal(4, j.converted)
    assert.equal(3, j.failed)
    assert.equal(8, #j.files)
  end)

  it("says when the folder is not there", function()
    local r, err = convert.folder { dir = fresh("none"), to = "pem", out_dir = fresh("x") }
    assert.is_nil(r)
    assert.matches("none: not a folder$", err)
  end)
end)
