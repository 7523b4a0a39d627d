-- spec/show_spec.lua: `certbench show FILE` decodes whatever the file is; private material only
-- with --private; passwords said to be wrong as such.
local h = require "support.helper"
local ui = require "certbench.ui"
local pkcs7 = require "certbench.pkcs7"
local show = require "certbench.plugins.show"

local dir = h.tmpdir()
local fx = require("support.pfx").make(dir)
local n = 0
local function write(name, data)
  n = n + 1
  local p = ("%s/s%d-%s"):format(dir, n, name)
  h.write(p, data)
  return p
end
local function cb(args)
  return h.run3("setsid -w " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end
-- the base64 lines of a PEM text, which must never appear in output without --private
local function body_lines(pem)
  local t = {}
  for l in pem:gmatch("[^\n]+") do if not l:match("^%-%-%-%-%-") and not l:match(":") and #l > 20 then t[#t + 1] = l end end
  return t
end

describe("show", function()
  it("is the plugin's default command: certbench show FILE", function()
    local out, err, rc = cb("show " .. h.q(fx.path("leaf.pem")))
    assert.equal(0, rc, err)
    assert.matches("^" .. fx.path("leaf.pem"):gsub("%p", "%%%0") .. ": PEM: 1 certificate\nCertificate:\n", out)
    assert.matches("Subject: C = NO, L = Oslo, O = net2, OU = ast, CN = vcs.net2.int", out, 1, true)
    assert.matches("DNS:vcs.net2.int, DNS:vcs-cluster.net2.int", out, 1, true)
    local out2 = cb("show show " .. h.q(fx.path("leaf.pem")))
    assert.equal(out, out2)
  end)

  it("decodes a certificate's fields for --json", function()
    local r = assert(show.show { file = fx.path("leaf.der") })
    assert.equal("DER: 1 certificate", r.format)
    local c = r.objects[1].certificate
    assert.equal(fx.leaf:serial(), c.serial)
    assert.equal("RSA 2048", c.key)
    assert.same({ "serverAuth", "clientAuth" }, c.eku)
    assert.same({ "DNS:vcs.net2.int", "DNS:vcs-cluster.net2.int" }, c.san)
    assert.equal(fx.leaf:fingerprint(), c.sha256)
    assert.is_false(c.ca)
    local out, err, rc = cb("--json show " .. h.q(fx.path("fullchain.pem")))
    assert.equal(0, rc, err)
    local j = ui.decode_json(out)
    assert.equal(3, #j.objects)
    assert.equal(fx.root:subject():text(), j.objects[3].certificate.subject)
    assert.is_true(j.objects[3].certificate.self_signed)
  end)

  it("a CSR, with its signature checked", function()
    local r = assert(show.show { file = fx.path("leaf.csr") })
    local o = r.objects[1]
    assert.equal("csr", o.kind)
    assert.is_true(o.csr.signature_valid)
    assert.equal("C = NO, O = net2, CN = vcs.net2.int", o.csr.subject)
    assert.matches("Certificate Request:", o.text, 1, true)
  end)

  it("a CRL: a summary, and every entry with --entries", function()
    local r = assert(show.show { file = fx.path("sub.crl") })
    local o = r.objects[1]
    assert.equal(1, o.crl.count)
    assert.equal("07", o.crl.number)
    assert.is_nil(o.crl.entries)
    assert.matches("Revoked Certificates: 1 (--entries lists them)", o.text, 1, true)
    r = assert(show.show { file = fx.path("sub.crl"), entries = true })
    o = r.objects[1]
    assert.equal(fx.other:serial(), o.crl.entries[1].serial)
    assert.equal("keyCompromise", o.crl.entries[1].reason)
    local out = cb("show " .. h.q(fx.path("sub.crl")) .. " --entries")
    assert.matches("Serial Number: " .. fx.other:serial(), out, 1, true)
  end)

  it("a key: never its private part unless --private", function()
    local pem = h.read(fx.path("leaf.key"))
    local out, err, rc = cb("show " .. h.q(fx.path("leaf.key")))
    assert.equal(0, rc, err)
    assert.matches("private key (PKCS#1 RSA)", out, 1, true)
    assert.matches("SHA-256 of the public key: " .. fx.leaf_key:fingerprint(), out, 1, true)
    assert.matches("(the private part is not shown; --private shows it)", out, 1, true)
    for _, l in ipairs(body_lines(pem)) do assert.is_nil(out:find(l, 1, true)) end
    local j = ui.decode_json((cb("--json show " .. h.q(fx.path("leaf.key")))))
    assert.is_nil(j.objects[1].private_pem)
    local jout = cb("--json show " .. h.q(fx.path("leaf.key")))
    for _, l in ipairs(body_lines(pem)) do assert.is_nil(jout:find(l, 1, true)) end
    out = cb("show " .. h.q(fx.path("leaf.key")) .. " --private")
    assert.matches(fx.leaf_key:to_pem(), out, 1, true)
  end)

  it("an encrypted key: what it is without a password, the key with --passin, wrong password as such", function()
    local r = assert(show.show { file = fx.path("leaf-des3.key") })
    assert.equal("encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC)", r.objects[1].what)
    assert.is_true(r.objects[1].private_key.encrypted)
    assert.matches("give --passin to decrypt it", r.objects[1].text, 1, true)
    r = assert(show.show { file = fx.path("leaf-enc.key"), passin = "pass:keypw" })
    assert.equal(fx.leaf_key:fingerprint(), r.objects[1].key.fingerprint)
    local out, err, rc = cb("show " .. h.q(fx.path("leaf-enc.key")) .. " --passin pass:nope")
    assert.equal(1, rc)
    assert.equal("", out)
    assert.equal("certbench: " .. fx.path("leaf-enc.key") .. " (PEM block 1): wrong password for the private key\n", err)
  end)

  it("a public key, a p7b, a PFX", function()
    local p = write("pub.pem", fx.leaf_key:public_pem())
    local r = assert(show.show { file = p })
    assert.equal(fx.leaf_key:fingerprint(), r.objects[1].key.fingerprint)
    local q = write("c.p7b", assert(pkcs7.build { certs = { fx.leaf, fx.sub } }))
    r = assert(show.show { file = q })
    assert.equal(2, #r.objects[1].pkcs7.certificates)
    assert.matches("PKCS#7 (certificates only): 2 certificates, 0 CRLs", r.objects[1].text, 1, true)
    local x = write("x.pfx", fx.pfx())
    r = assert(show.show { file = x, passin = "pass:secret" })
    assert.equal(4, #r.objects[1].pkcs12.bags)
    assert.matches("bag 4: private key, RSA 2048", r.objects[1].text, 1, true)
    local out, err, rc = cb("show " .. h.q(x))
    assert.equal(1, rc)
    assert.matches("the PFX is protected by a password: give the password with --passin", err, 1, true)
    assert.equal("", out)
    out, err, rc = cb("show " .. h.q(x) .. " --passin pass:bad")
    assert.equal(1, rc)
    assert.matches(x .. ": wrong password for the PFX", err, 1, true)
  end)

  it("a PKCS#7 under a CERTIFICATE header (as Microsoft CAs write certnew.p7b): said once, as a warning", function()
    local c = fx.path("leaf.pem")
    local p7 = h.sh(("openssl crl2pkcs7 -nocrl -certfile %s"):format(h.q(c)))
    local swapped = p7:gsub("BEGIN PKCS7", "BEGIN CERTIFICATE"):gsub("END PKCS7", "END CERTIFICATE")
    assert.matches("^%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-\n", swapped)
    local f = write("certnew.p7b", swapped)
    local out, err, rc = cb("show " .. h.q(f))
    assert.equal(0, rc, err)
    local _, times = out:gsub("labelled CERTIFICATE but holds a PKCS#7 bundle", "")
    assert.equal(1, times, out)
    assert.matches("warning: PEM block 1 (line 1): the block is labelled CERTIFICATE", out, 1, true)
    assert.is_nil(out:find("\nnote: ", 1, true), out)
    assert.matches("PKCS#7 (certificates only): 1 certificate, 0 CRLs", out, 1, true)
    -- --json keeps both fields as they were
    local j = require("cjson").decode((cb("--json show " .. h.q(f))))
    assert.equal(1, #j.warnings)
    assert.matches("Microsoft", j.objects[1].note, 1, true)
  end)

  it("a bundle as openssl pkcs12 -in writes it: each object, with the text that came before it", function()
    local p = write("b.pem", fx.bundle { crlf = true })
    local out, err, rc = cb("show " .. h.q(p) .. " --passin pass:keypw")
    assert.equal(0, rc, err)
    assert.matches(": PEM (CRLF, text around the blocks): 1 encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC), 3 certificates", out, 1, true)
    assert.matches("=== 1 of 4: encrypted private key (PKCS#1 RSA, legacy PEM encryption DES-EDE3-CBC) (PEM block 1, line 6)", out, 1, true)
    assert.matches("  (text before the block) friendlyName: vcs-certificate", out, 1, true)
    assert.matches("=== 3 of 4: certificate (PEM block 3, line ", out, 1, true)
  end)

  it("says what is wrong with a file it cannot decode", function()
    local cases = {
      { "t.cer", fx.leaf:to_der():sub(1, 600), "truncated: a certificate whose header announces" },
      { "n.txt", "meeting notes\n", "not PKI data: text without a PEM block or Base-64" },
      { "b.pem", fx.leaf:to_pem():gsub("\nMII", "\nM#I", 1), "PEM block 1 (CERTIFICATE, line 1): bad Base-64: character \"#\" on line 2" },
      { "two.der", fx.leaf:to_der() .. fx.sub:to_der(), "2 DER objects back to back" },
    }
    for _, c in ipairs(cases) do
      local p = write(c[1], c[2])
      local out, err, rc = cb("show " .. h.q(p))
      assert.equal(1, rc)
      assert.equal("", out)
      assert.matches("certbench: " .. p .. ": " .. c[3], err, 1, true)
    end
    -- Windows text: UTF-16LE with a BOM
    local u = write("u.cer", "\255\254" .. (fx.leaf:to_pem():gsub("\n", "\r\n"):gsub(".", "%0\0")))
    local r = assert(show.show { file = u })
    assert.equal("PEM (UTF-16LE, CRLF): 1 certificate", r.format)
    assert.equal("utf-16le", r.bom)
  end)
end)
