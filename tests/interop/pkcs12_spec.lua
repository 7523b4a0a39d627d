-- tests/interop/pkcs12_spec.lua: PFX files both ways between certbench and the openssl CLI,
-- Java's keytool, GnuTLS's certtool and python3-cryptography; and every corpus PFX against
-- what openssl extracts from it.
local h = require "support.helper"
local A = require "support.asn1"
local p12 = require "certbench.pkcs12"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"

local dir = h.tmpdir()
local function f(name) return dir .. "/" .. name end

local sh = h.sh

local function have(tool) return select(2, h.run("command -v " .. tool .. " >/dev/null")) == 0 end

-- a root CA, an intermediate and an EC leaf, made by openssl
local PKI = (function()
  h.write(f("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
  h.write(f("leaf.ext"), "basicConstraints=CA:FALSE\nsubjectAltName=DNS:leaf.example\n")
  local o = "openssl "
  sh(o .. "req -x509 -newkey rsa:2048 -nodes -keyout " .. f("root.key") .. " -out " .. f("root.pem") ..
     " -subj /CN=Interop\\ Root -days 30 -addext basicConstraints=critical,CA:TRUE")
  sh(o .. "req -newkey rsa:2048 -nodes -keyout " .. f("inter.key") .. " -out " .. f("inter.csr") .. " -subj /CN=Interop\\ Inter")
  sh(o .. "x509 -req -in " .. f("inter.csr") .. " -CA " .. f("root.pem") .. " -CAkey " .. f("root.key") ..
     " -set_serial 2 -days 30 -extfile " .. f("ca.ext") .. " -out " .. f("inter.pem"))
  sh(o .. "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. f("leaf.key") .. " -out " ..
     f("leaf.csr") .. " -subj /CN=leaf.example")
  sh(o .. "x509 -req -in " .. f("leaf.csr") .. " -CA " .. f("inter.pem") .. " -CAkey " .. f("inter.key") ..
     " -set_serial 3 -days 30 -extfile " .. f("leaf.ext") .. " -out " .. f("leaf.pem"))
  h.write(f("chain-ri.pem"), h.read(f("root.pem")) .. h.read(f("inter.pem")))
  h.write(f("chain-ir.pem"), h.read(f("inter.pem")) .. h.read(f("root.pem")))
  return {
    key = assert(pkey.load(h.read(f("leaf.key")))),
    leaf = assert(x509.load(h.read(f("leaf.pem")))),
    inter = assert(x509.load(h.read(f("inter.pem")))),
    root = assert(x509.load(h.read(f("root.pem")))),
  }
end)()

local function export(out, args, pass)
  sh("openssl pkcs12 -export -inkey " .. f("leaf.key") .. " -in " .. f("leaf.pem") .. " " .. args ..
     " -passout " .. h.q("pass:" .. (pass or "pw")) .. " -out " .. f(out))
  return h.read(f(out))
end

describe("openssl pkcs12 -export, read by certbench", function()
  it("default algorithms (PBES2 AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC), chain in file order", function()
    local r = assert(p12.parse(export("default.pfx", "-certfile " .. f("chain-ri.pem") .. " -name leaf"), "pw"))
    assert.same({ mac = "sha256", mac_iterations = 2048, mac_verified = true,
                  key_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", key_iterations = 2048,
                  cert_encryption = "PBES2/PBKDF2-SHA256/AES-256-CBC", cert_iterations = 2048,
                  password_form = "UTF-16" }, r.algorithms)
    assert.equal(PKI.key:to_der(), r.key:to_der())
    assert.is_true(r.cert == PKI.leaf)
    assert.equal(2, #r.chain)
    assert.is_true(r.chain[1] == PKI.root)
    assert.is_true(r.chain[2] == PKI.inter)
    assert.equal("leaf", r.bags[1].friendly_name)
    assert.equal(r.bags[1].local_key_id, r.bags[#r.bags].local_key_id)
  end)

  it("the chain in the other order", function()
    local r = assert(p12.parse(export("ir.pfx", "-certfile " .. f("chain-ir.pem")), "pw"))
    assert.is_true(r.cert == PKI.leaf)
    assert.is_true(r.chain[1] == PKI.inter)
    assert.is_true(r.chain[2] == PKI.root)
  end)

  it("-legacy (RC2-40 certificates, 3DES key, SHA-1 MAC)", function()
    local r = assert(p12.parse(export("legacy.pfx", "-legacy -certfile " .. f("chain-ri.pem")), "pw"))
    assert.equal("sha1", r.algorithms.mac)
    assert.equal("pbeWithSHAAnd40BitRC2-CBC", r.algorithms.cert_encryption)
    assert.equal("pbeWithSHAAnd3-KeyTripleDES-CBC", r.algorithms.key_encryption)
    assert.equal(PKI.key:to_der(), r.key:to_der())
    assert.is_true(r.cert == PKI.leaf)
    assert.equal(2, #r.chain)
  end)

  it("-certpbe NONE", function()
    local r = assert(p12.parse(export("nocertpbe.pfx", "-certpbe NONE"), "pw"))
    assert.equal("none", r.algorithms.cert_encryption)
    assert.is_true(r.cert == PKI.leaf)
  end)

  it("-nomac, and a wrong password found without one", function()
    local d = export("nomac.pfx", "-nomac")
    local r = assert(p12.parse(d, "pw"))
    assert.is_nil(r.algorithms.mac)
    assert.is_true(r.key:matches(r.cert))
    local r2, err, code = p12.parse(d, "wrong")
    assert.is_nil(r2)
    assert.equal("bad_password", code)
    assert.matches("wrong password", err)
  end)

  it("an empty password (-passout pass:), read with \"\" and nil", function()
    local d = export("empty.pfx", "", "")
    assert.is_true(assert(p12.parse(d, "")).cert == PKI.leaf)
    assert.is_true(assert(p12.parse(d)).cert == PKI.leaf)
    assert.equal("bad_password", select(3, p12.parse(d, "pw")))
  end)

  it("a non-ASCII password", function()
    for _, legacy in ipairs { "", "-legacy" } do
      local d = export("utf8" .. legacy .. ".pfx", legacy, "pässwört ✓")
      assert.is_true(assert(p12.parse(d, "pässwört ✓")).cert == PKI.leaf)
    end
  end)

  it("a chain without localKeyID, the leaf last: the certificate is chosen by key", function()
    local d = export("plain.pfx", "-certfile " .. f("chain-ri.pem") .. " -keypbe NONE -certpbe NONE -nomac")
    local bags = A.safe_bags(d)
    assert.equal(4, #bags) -- leaf, root, inter, key
    local r0 = assert(p12.parse(d, ""))
    assert.truthy(r0.bags[1].local_key_id)
    -- rebuilt without any attribute, the certificates as inter, root, leaf, then the key
    local pfx = A.pfx_from_safes { A.seq(A.bag(bags[3]), A.bag(bags[2]), A.bag(bags[1])), A.seq(A.bag(bags[4])) }
    local r = assert(p12.parse(pfx, ""))
    for _, b in ipairs(r.bags) do assert.is_nil(b.local_key_id) end
    assert.is_true(r.cert == PKI.leaf)
    assert.equal(2, #r.chain)
    assert.is_true(r.chain[1] == PKI.inter)
    assert.is_true(r.chain[2] == PKI.root)
    assert.equal(4, r.bags[3].key_bag)
  end)

  it("every PBE scheme openssl writes, or says which it cannot read", function()
    local readable = {
      ["PBE-SHA1-RC4-128"] = "pbeWithSHAAnd128BitRC4", ["PBE-SHA1-RC4-40"] = "pbeWithSHAAnd40BitRC4",
      ["PBE-SHA1-2DES"] = "pbeWithSHAAnd2-KeyTripleDES-CBC", ["PBE-SHA1-3DES"] = "pbeWithSHAAnd3-KeyTripleDES-CBC",
      ["PBE-SHA1-RC2-128"] = "pbeWithSHAAnd128BitRC2-CBC", ["PBE-SHA1-RC2-40"] = "pbeWithSHAAnd40BitRC2-CBC",
      ["PBE-MD5-DES"] = "pbeWithMD5AndDES-CBC", ["PBE-SHA1-DES"] = "pbeWithSHA1AndDES-CBC",
      ["PBE-SHA1-RC2-64"] = "pbeWithSHA1AndRC2-CBC", ["PBE-MD5-RC2-64"] = "pbeWithMD5AndRC2-CBC",
      ["aes-128-cbc"] = "PBES2/PBKDF2-SHA256/AES-128-CBC", ["aes-192-cbc"] = "PBES2/PBKDF2-SHA256/AES-192-CBC",
      ["des-ede3-cbc"] = "PBES2/PBKDF2-SHA256/DES-EDE3-CBC", ["des-cbc"] = "PBES2/PBKDF2-SHA256/DES-CBC",
      ["rc2-cbc"] = "PBES2/PBKDF2-SHA256/RC2-128-CBC",
    }
    for alg, name in pairs(readable) do
      local r, err = p12.parse(export("alg.pfx", "-legacy -keypbe " .. alg .. " -certpbe " .. alg), "pw")
      assert(r, alg .. ": " .. tostring(err))
      assert.equal(name, r.algorithms.key_encryption)
      assert.equal(name, r.algorithms.cert_encryption)
      assert.is_true(r.cert == PKI.leaf)
      assert.equal(PKI.key:to_der(), r.key:to_der())
    end
    for alg, name in pairs { ["camellia-256-cbc"] = "CAMELLIA%-256%-CBC", ["aria-128-cbc"] = "ARIA%-128%-CBC" } do
      local r, err, code = p12.parse(export("alg.pfx", "-keypbe " .. alg .. " -certpbe " .. alg), "pw")
      assert.is_nil(r)
      assert.equal("unsupported", code)
      assert.matches(name .. " %(.*%), which is not supported", err)
    end
  end)

  it("the MAC algorithms and iteration counts openssl writes", function()
    for _, mac in ipairs { "sha1", "sha224", "sha256", "sha384", "sha512" } do
      local r = assert(p12.parse(export("mac.pfx", "-macalg " .. mac .. " -iter 7"), "pw"))
      assert.equal(mac, r.algorithms.mac)
      assert.equal(7, r.algorithms.mac_iterations)
      assert.equal(7, r.algorithms.key_iterations)
    end
    local r = assert(p12.parse(export("noiter.pfx", "-noiter -nomaciter"), "pw"))
    assert.equal(1, r.algorithms.mac_iterations)
    assert.equal(1, r.algorithms.key_iterations)
  end)

  it("a Windows CSP name attribute (-CSP)", function()
    local r = assert(p12.parse(export("csp.pfx", "-CSP " .. h.q("Microsoft Enhanced RSA and AES Cryptographic Provider")), "pw"))
    local k = r.bags[#r.bags]
    assert.equal("key", k.type)
    assert.same({ { oid = "1.3.6.1.4.1.311.17.1", name = "msCSPName",
                    value = "Microsoft Enhanced RSA and AES Cryptographic Provider" } }, k.attributes)
  end)
end)

describe("certbench's PFX, read by openssl", function()
  local function build(name, opts)
    opts.key = opts.key or PKI.key
    opts.cert = opts.cert or PKI.leaf
    opts.chain = opts.chain or { PKI.inter, PKI.root }
    local der = assert(p12.build(opts))
    h.write(f(name), der)
    return f(name)
  end

  local function der_of(cmd)
    local out = f("out.der")
    sh(cmd .. " -out " .. out)
    return h.read(out)
  end

  it("modern: openssl pkcs12 -info shows OpenSSL 3's own defaults", function()
    local p = build("cb-modern.pfx", { password = "pw", friendly_name = "leaf.example" })
    local out = sh("openssl pkcs12 -info -noout -in " .. p .. " -passin pass:pw")
    assert.matches("MAC: sha256, Iteration 2048", out)
    assert.matches("PKCS7 Encrypted data: PBES2, PBKDF2, AES%-256%-CBC, Iteration 2048, PRF hmacWithSHA256", out)
    assert.matches("Shrouded Keybag: PBES2, PBKDF2, AES%-256%-CBC, Iteration 2048, PRF hmacWithSHA256", out)
  end)

  it("modern: the key, the certificate (by localKeyID: -clcerts) and the chain come out", function()
    local p = build("cb-modern.pfx", { password = "pw" })
    local key = der_of("openssl pkcs12 -in " .. p .. " -passin pass:pw -nocerts -nodes | openssl pkey -outform DER")
    assert.equal(PKI.key:to_der(), pkey.load(key):to_der()) -- openssl writes EC keys as SEC1
    local leaf = der_of("openssl pkcs12 -in " .. p .. " -passin pass:pw -nokeys -clcerts | openssl x509 -outform DER")
    assert.equal(PKI.leaf:to_der(), leaf)
    local cas = sh("openssl pkcs12 -in " .. p .. " -passin pass:pw -nokeys -cacerts")
    local n = 0
    for _ in cas:gmatch("BEGIN CERTIFICATE") do n = n + 1 end
    assert.equal(2, n)
    assert.matches("subject=CN = Interop Inter.*subject=CN = Interop Root", cas)
  end)

  it("legacy: read by openssl pkcs12 -legacy, and without the modern algorithms", function()
    local p = build("cb-legacy.pfx", { password = "pw", profile = "legacy" })
    local out = sh("openssl pkcs12 -legacy -info -noout -in " .. p .. " -passin pass:pw")
    assert.matches("MAC: sha1, Iteration 2048", out)
    assert.matches("PKCS7 Encrypted data: pbeWithSHA1And3%-KeyTripleDES%-CBC, Iteration 2048", out)
    assert.matches("Shrouded Keybag: pbeWithSHA1And3%-KeyTripleDES%-CBC, Iteration 2048", out)
    assert.is_nil(out:find("PBES2", 1, true))
    local key = der_of("openssl pkcs12 -legacy -in " .. p .. " -passin pass:pw -nocerts -nodes | openssl pkey -outform DER")
    assert.equal(PKI.key:to_der(), pkey.load(key):to_der())
    -- 3DES is in OpenSSL 3's default provider too
    sh("openssl pkcs12 -info -noout -in " .. p .. " -passin pass:pw")
  end)

  it("windows2016: Windows' 2000 iterations", function()
    local p = build("cb-win.pfx", { password = "pw", profile = "windows2016" })
    local out = sh("openssl pkcs12 -info -noout -in " .. p .. " -passin pass:pw")
    assert.matches("MAC: sha1, Iteration 2000", out)
    assert.matches("Shrouded Keybag: pbeWithSHA1And3%-KeyTripleDES%-CBC, Iteration 2000", out)
  end)

  it("an empty password and a non-ASCII one", function()
    sh("openssl pkcs12 -info -noout -in " .. build("cb-empty.pfx", { password = "" }) .. " -passin pass:")
    local p = build("cb-utf8.pfx", { password = "pässwört ✓", profile = "legacy" })
    sh("openssl pkcs12 -info -noout -in " .. p .. " -passin " .. h.q("pass:pässwört ✓"))
    p = build("cb-utf8m.pfx", { password = "pässwört ✓" })
    sh("openssl pkcs12 -info -noout -in " .. p .. " -passin " .. h.q("pass:pässwört ✓"))
    local _, rc = h.run("openssl pkcs12 -info -noout -in " .. p .. " -passin pass:passwort")
    assert.not_equal(0, rc)
  end)

  it("without MAC, encryption or key id", function()
    local p = build("cb-plain.pfx", { password = "pw", mac = "none", key_pbe = "none", cert_pbe = "none", key_id = false })
    local out = sh("openssl pkcs12 -info -noout -in " .. p .. " -passin pass:pw")
    assert.matches("PKCS7 Data", out)
    assert.is_nil(out:find("MAC:", 1, true))
  end)

  it("is read by Java's keytool", function()
    if not have("keytool") then pending("no keytool") return end
    for _, prof in ipairs { "modern", "legacy", "windows2016" } do
      local p = build("cb-java-" .. prof .. ".pfx", { password = "changeit", profile = prof, friendly_name = "server" })
      local out = sh("keytool -list -v -storetype PKCS12 -keystore " .. p .. " -storepass changeit")
      assert.matches("Alias name: server", out)
      assert.matches("Entry type: PrivateKeyEntry", out)
      assert.matches("Certificate chain length: 3", out)
      assert.matches("Owner: CN=leaf.example", out)
    end
  end)

  it("is read by GnuTLS's certtool", function()
    if not have("certtool") then pending("no certtool") return end
    for prof, mac in pairs { modern = "SHA256", legacy = "SHA1" } do
      local p = build("cb-gnutls-" .. prof .. ".pfx", { password = "pw", profile = prof, friendly_name = "server" })
      local out = sh("certtool --p12-info --inder --infile " .. p .. " --password pw")
      assert.matches("MAC: " .. mac, out)
      assert.matches("Friendly name: server", out)
      assert.matches("Type: PKCS #8 Encrypted key", out)
    end
  end)

  it("is read by python3-cryptography", function()
    local _, rc = h.run("python3 -c 'import cryptography'")
    if rc ~= 0 then pending("no python3-cryptography") return end
    local p = build("cb-py.pfx", { password = "pw", friendly_name = "server" })
    h.write(f("read.py"), [[
import sys
from cryptography.hazmat.primitives.serialization import pkcs12
p = pkcs12.load_pkcs12(open(sys.argv[1], "rb").read(), b"pw")
print(p.cert.friendly_name.decode(), p.cert.certificate.subject.rfc4514_string(), len(p.additional_certs))
]])
    local out = sh("python3 " .. f("read.py") .. " " .. p)
    assert.equal("server CN=leaf.example 2\n", out)
  end)
end)

describe("corpus PFX, compared with openssl", function()
  -- the same key and certificates as `openssl pkcs12 -legacy` extracts
  local files = {
    { "pkits/pkcs12/ValidCertificatePathTest1EE.p12", "password" },
    { "pfx/oscrypto/test-third.p12", "password123" },
    { "pfx/oscrypto/test-tripledes-blank.p12", "" },
    { "pfx/go-pkcs12/windows_azure_tools.p12", "" },
    { "pfx/go-pkcs12/ad_standalone_com_aescbc256.p12", "password" },
    { "pfx/go-pkcs12/example_signed_certificates_chain.p12", "password" },
    { "pfx/lua-resty-openssl/badssl.com-client.p12", "badssl.com" },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_macos.p12", "password" },
    { "pfx/rustcrypto/ValidCertificatePathTest1EE_windows_tdes.p12.pfx", "password" },
    { "pfx/rustcrypto/example14.pfx", "1234" },
    { "pfx/rustcrypto/test-rc2-128-iter2048.p12", "hunter2" },
    { "pfx/rustcrypto/pyca-cert-rc2-key-3des.p12", "cryptography" },
  }
  for _, e in ipairs(files) do
    it(e[1], function()
      local path = h.data .. "/" .. e[1]
      local r = assert(p12.read(path, e[2]))
      local pass = " -passin " .. h.q("pass:" .. e[2])
      local certs = sh("openssl pkcs12 -legacy -in " .. path .. pass .. " -nokeys")
      local want = assert(x509.load_all(certs))
      local got = {}
      for _, b in ipairs(r.bags) do if b.type == "cert" then got[#got + 1] = b.object end end
      assert.equal(#want, #got)
      for i = 1, #want do assert.is_true(want[i] == got[i]) end
      local keys = sh("openssl pkcs12 -legacy -in " .. path .. pass .. " -nocerts -nodes")
      local k = assert(pkey.load(keys))
      assert.equal(k:to_der(), r.keys[1]:to_der())
    end)
  end
end)
