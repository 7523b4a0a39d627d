-- tests/interop/pfx_spec.lua: the pfx plugin against the openssl CLI, both ways: PFX files and
-- PEM bundles that openssl writes, split by certbench and the pieces checked by openssl
-- (x509, rsa -check, verify -CAfile ca.pem server.pem); certbench's PFX read by
-- openssl pkcs12 -info (the legacy profile with -legacy, without any modern algorithm); keys
-- both ways; and scripts/microsoft-pfx-to-vcs.lua on a PFX made the way a Microsoft CA exports.
local h = require "support.helper"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local pkcs12 = require "certbench.pkcs12"
local fs = require "certbench.fs"

local dir = h.tmpdir()
local function f(name) return dir .. "/" .. name end
local sh = h.sh
local n = 0
local function outdir()
  n = n + 1
  return f("out" .. n)
end
local function cb(args)
  return h.run3("setsid -w " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end
local function cbok(args)
  local out, err, rc = cb(args)
  assert(rc == 0, "certbench " .. args .. "\n" .. out .. err)
  return out
end

-- a root, an intermediate and the VCS server certificate (RSA, serverAuth + clientAuth), by openssl
local PKI = (function()
  h.write(f("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    .. "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
  h.write(f("ee.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    .. "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:vcs.net2.int\n"
    .. "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout " .. f("root.key") .. " -out " .. f("root.pem")
    .. " -days 30 -subj /DC=int/DC=net2/CN=net2-Root-CA -addext basicConstraints=critical,CA:TRUE"
    .. " -addext keyUsage=critical,keyCertSign,cRLSign 2>&1")
  sh("openssl req -newkey rsa:2048 -nodes -keyout " .. f("sub.key") .. " -out " .. f("sub.csr")
    .. " -subj /DC=int/DC=net2/CN=net2-Sub-CA 2>&1")
  sh("openssl x509 -req -in " .. f("sub.csr") .. " -CA " .. f("root.pem") .. " -CAkey " .. f("root.key")
    .. " -set_serial 2 -days 30 -extfile " .. f("ca.ext") .. " -out " .. f("sub.pem") .. " 2>&1")
  sh("openssl req -newkey rsa:2048 -nodes -keyout " .. f("vcs.key") .. " -out " .. f("vcs.csr")
    .. " -subj /C=NO/L=Oslo/O=net2/OU=ast/CN=vcs.net2.int 2>&1")
  sh("openssl x509 -req -in " .. f("vcs.csr") .. " -CA " .. f("sub.pem") .. " -CAkey " .. f("sub.key")
    .. " -set_serial 3 -days 30 -extfile " .. f("ee.ext") .. " -out " .. f("vcs.pem") .. " 2>&1")
  h.write(f("chain.pem"), h.read(f("sub.pem")) .. h.read(f("root.pem")))
  h.write(f("chain-rs.pem"), h.read(f("root.pem")) .. h.read(f("sub.pem")))
  return {
    key = assert(pkey.load(h.read(f("vcs.key")))),
    vcs = assert(x509.load(h.read(f("vcs.pem")))),
    sub = assert(x509.load(h.read(f("sub.pem")))),
    root = assert(x509.load(h.read(f("root.pem")))),
  }
end)()

local function export(name, args, pass)
  sh("openssl pkcs12 -export -inkey " .. f("vcs.key") .. " -in " .. f("vcs.pem") .. " " .. args
    .. " -passout " .. h.q("pass:" .. (pass or "secret")) .. " -out " .. f(name) .. " 2>&1")
  return f(name)
end

-- the split files, checked by openssl: the key, the certificate, the chain
local function check_split(d, o)
  o = o or {}
  local k = d .. "/privkey.pem"
  assert.equal("600", h.mode(k))
  local out = sh("openssl rsa -check -noout -in " .. h.q(k) .. " 2>&1")
  assert.matches("RSA key ok", out, 1, true)
  -- unencrypted: openssl reads it without a password
  sh("openssl pkey -in " .. h.q(k) .. " -passin pass:none-needed -noout 2>&1")
  local mod_key = sh("openssl rsa -noout -modulus -in " .. h.q(k) .. " 2>&1")
  local mod_cert = sh("openssl x509 -noout -modulus -in " .. h.q(d .. "/server.pem") .. " 2>&1")
  assert.equal(mod_key, mod_cert)
  assert.equal(sh("openssl x509 -noout -fingerprint -sha256 -in " .. f("vcs.pem")),
    sh("openssl x509 -noout -fingerprint -sha256 -in " .. h.q(d .. "/server.pem")))
  if o.chain ~= false then
    out = sh("openssl verify -CAfile " .. h.q(d .. "/ca.pem") .. " " .. h.q(d .. "/server.pem") .. " 2>&1")
    assert.equal(d .. "/server.pem: OK\n", out)
    -- issuer first, root last, nothing but PEM
    local ca = h.read(d .. "/ca.pem")
    assert.equal(h.read(f("sub.pem")) .. h.read(f("root.pem")), ca)
  end
end

describe("openssl pkcs12 -export, split by certbench", function()
  it("default algorithms (AES-256, SHA-256 MAC), the chain in any order", function()
    for i, chain in ipairs { "chain.pem", "chain-rs.pem" } do
      local p = export("d" .. i .. ".pfx", "-certfile " .. f(chain) .. " -name vcs-certificate")
      local d = outdir()
      local out = cbok("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
      assert.matches("wrote " .. d .. "/ca.pem (0644): 2 certificates: CN=net2-Sub-CA, CN=net2-Root-CA", out, 1, true)
      check_split(d)
    end
  end)

  it("-legacy (RC2-40 and 3DES, SHA-1 MAC), which OpenSSL 3 itself opens only with -legacy", function()
    local p = export("legacy.pfx", "-legacy -certfile " .. f("chain-rs.pem"))
    local _, rc = h.run("openssl pkcs12 -in " .. h.q(p) .. " -passin pass:secret -noout 2>&1")
    assert.is_not.equal(0, rc)
    local d = outdir()
    cbok("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    check_split(d)
    local info = cbok("pfx info " .. h.q(p) .. " --passin pass:secret")
    assert.matches("warning: the certificates are encrypted with pbeWithSHAAnd40BitRC2-CBC: RC2-40", info, 1, true)
    assert.matches("warning: the MAC is HMAC-SHA1", info, 1, true)
  end)

  it("-certpbe NONE (certificates not encrypted)", function()
    local p = export("nocertpbe.pfx", "-certpbe NONE -certfile " .. f("chain.pem"))
    local d = outdir()
    cbok("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    check_split(d)
    assert.matches("certificates: not encrypted", cbok("pfx info " .. h.q(p) .. " --passin pass:secret"), 1, true)
  end)

  it("an empty password, without asking for one", function()
    local p = export("empty.pfx", "-certfile " .. f("chain.pem"), "")
    local d = outdir()
    cbok("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d))
    check_split(d)
  end)

  it("a chain and no localKeyID: openssl -clcerts finds nothing, certbench finds the server certificate by key", function()
    local p = f("nokid.pfx")
    h.write(p, assert(pkcs12.build { key = PKI.key, cert = PKI.vcs, chain = { PKI.root, PKI.sub }, password = "secret", key_id = false }))
    local clcerts = sh("openssl pkcs12 -in " .. h.q(p) .. " -passin pass:secret -clcerts -nokeys 2>&1")
    assert.is_nil(clcerts:find("BEGIN CERTIFICATE", 1, true))
    local d = outdir()
    cbok("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    check_split(d)
  end)

  it("wrong password: said as such, nothing written", function()
    local p = export("w.pfx", "-certfile " .. f("chain.pem"))
    local d = outdir()
    local _, err, rc = cb("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:Secret")
    assert.equal(1, rc)
    assert.equal("certbench: " .. p .. ": wrong password for the PFX (the sha256 MAC does not verify)\n", err)
    assert.is_false(fs.exists(d))
  end)

  it("a PFX with no key (openssl -nokeys)", function()
    local p = f("nokeys.pfx")
    sh("openssl pkcs12 -export -nokeys -in " .. f("vcs.pem") .. " -certfile " .. f("chain.pem")
      .. " -passout pass:secret -out " .. h.q(p) .. " 2>&1")
    local d = outdir()
    local out, err, rc = cb("pfx split " .. h.q(p) .. " --out-dir " .. h.q(d) .. " --passin pass:secret")
    assert.equal(0, rc, err)
    assert.matches("certs.pem", out, 1, true)
    -- the certificates openssl itself reads from the PFX, in the same order
    local theirs = sh("openssl pkcs12 -in " .. h.q(p) .. " -nokeys -passin pass:secret 2>&1")
    local x509 = require "certbench.x509"
    local a, b = assert(x509.load_all(theirs)), assert(x509.load_all(h.read(d .. "/certs.pem")))
    assert.equal(3, #a)
    assert.equal(#a, #b)
    for i = 1, #a do assert.is_true(a[i]:equals(b[i]), "certificate " .. i) end
  end)
end)

describe("PEM bundles from openssl pkcs12 -in, split by certbench", function()
  local legacy = export("b.pfx", "-legacy -certfile " .. f("chain-rs.pem") .. " -name vcs-certificate")

  it("the key as encrypted PKCS#8 (-passout), Bag Attributes and subject=/issuer= lines", function()
    for _, extra in ipairs { "", "-legacy" } do
      local b = f("bundle" .. extra .. ".pem")
      sh("openssl pkcs12 -legacy -in " .. legacy .. " -passin pass:secret -passout pass:pempw " .. extra .. " -out " .. h.q(b) .. " 2>&1")
      local text = h.read(b)
      assert.matches("Bag Attributes", text, 1, true)
      assert.matches("subject=", text, 1, true)
      assert.matches("BEGIN ENCRYPTED PRIVATE KEY", text, 1, true)
      local d = outdir()
      local out = cbok("pfx split " .. h.q(b) .. " --out-dir " .. h.q(d) .. " --passin pass:pempw")
      assert.matches(b .. ": PEM bundle", out, 1, true)
      check_split(d)
      assert.is_nil(h.read(d .. "/server.pem"):find("Bag Attributes", 1, true))
    end
  end)

  it("the key legacy-encrypted (Proc-Type: 4,ENCRYPTED, DEK-Info: DES-EDE3-CBC) as OpenSSL 1.0 wrote it", function()
    local b = f("bundle-nodes.pem")
    sh("openssl pkcs12 -legacy -in " .. legacy .. " -passin pass:secret -nodes -out " .. h.q(b) .. " 2>&1")
    local trad = sh("openssl rsa -in " .. f("vcs.key") .. " -des3 -traditional -passout pass:pempw 2>/dev/null")
    assert.matches("DEK-Info: DES-EDE3-CBC,", trad, 1, true)
    local text = h.read(b):gsub("%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-.-%-%-%-%-%-END PRIVATE KEY%-%-%-%-%-\n", function() return trad end)
    text = text:gsub("\n", "\r\n") -- as saved on Windows
    h.write(b, text)
    local d = outdir()
    cbok("pfx split " .. h.q(b) .. " --out-dir " .. h.q(d) .. " --passin pass:pempw")
    check_split(d)
    -- the same, wrong pass phrase
    local _, err, rc = cb("pfx split " .. h.q(b) .. " --out-dir " .. h.q(outdir()) .. " --passin pass:wrong")
    assert.equal(1, rc)
    assert.matches("wrong password for the private key", err, 1, true)
  end)
end)

describe("certbench's PFX, read by openssl", function()
  it("modern: openssl pkcs12 -info shows AES-256 and SHA-256, and gives back key and chain", function()
    local p = f("cb-modern.pfx")
    cbok("pfx build --key " .. f("vcs.key") .. " --cert " .. f("vcs.pem") .. " --chain " .. f("chain-rs.pem")
      .. " --out " .. p .. " --passout pass:pw --friendly-name vcs-certificate")
    local info = sh("openssl pkcs12 -info -in " .. p .. " -passin pass:pw -nodes 2>&1")
    assert.matches("MAC: sha256, Iteration 2048", info, 1, true)
    assert.matches("PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256", info, 1, true)
    assert.matches("friendlyName: vcs-certificate", info, 1, true)
    -- openssl's own split: the leaf with -clcerts, the chain with -cacerts (issuer first)
    local cl = sh("openssl pkcs12 -in " .. p .. " -passin pass:pw -clcerts -nokeys 2>&1")
    assert.equal(PKI.vcs:to_der(), assert(x509.load(cl)):to_der())
    local ca = assert(x509.load_all(sh("openssl pkcs12 -in " .. p .. " -passin pass:pw -cacerts -nokeys 2>&1")))
    assert.equal(2, #ca)
    assert.is_true(ca[1]:equals(PKI.sub))
    assert.is_true(ca[2]:equals(PKI.root))
  end)

  it("legacy and windows2016: openssl reads them with -legacy, and they use no modern algorithm", function()
    for _, prof in ipairs { "legacy", "windows2016" } do
      local p = f("cb-" .. prof .. ".pfx")
      cbok("pfx build --key " .. f("vcs.key") .. " --cert " .. f("vcs.pem") .. " --chain " .. f("chain.pem")
        .. " --out " .. p .. " --passout pass:pw --profile " .. prof)
      local info = sh("openssl pkcs12 -legacy -info -in " .. p .. " -passin pass:pw -nodes 2>&1")
      local iter = prof == "legacy" and 2048 or 2000
      assert.matches("MAC: sha1, Iteration " .. iter, info, 1, true)
      assert.matches("pbeWithSHA1And3-KeyTripleDES-CBC, Iteration " .. iter, info, 1, true)
      assert.matches("BEGIN PRIVATE KEY", info, 1, true)
      -- the algorithms openssl names, not the base64 of the keys and certificates it prints
      -- (which spells "AES" or "RC2" now and then)
      local names = info:gsub("%-%-%-%-%-BEGIN.-%-%-%-%-%-END[^\n]*", "")
      assert.matches("pbeWithSHA1And3-KeyTripleDES-CBC", names, 1, true)
      assert.is_nil(names:find("BEGIN", 1, true))
      assert.is_nil(names:find("PBES2", 1, true))
      assert.is_nil(names:find("AES", 1, true))
      assert.is_nil(names:find("RC2", 1, true))
    end
  end)

  it("an empty password: openssl reads it with -passin pass:", function()
    local p = f("cb-empty.pfx")
    cbok("pfx build --key " .. f("vcs.key") .. " --cert " .. f("vcs.pem") .. " --out " .. p .. " --passout pass:")
    sh("openssl pkcs12 -info -in " .. p .. " -passin pass: -nodes -noout 2>&1")
  end)
end)

describe("keys both ways", function()
  it("openssl's encrypted keys, decrypted by certbench, checked by openssl", function()
    local cases = {
      { "rsa -des3 -traditional", "DEK-Info: DES-EDE3-CBC" },
      { "rsa -aes256 -traditional", "DEK-Info: AES-256-CBC" },
      { "pkcs8 -topk8 -v2 aes-256-cbc", "ENCRYPTED PRIVATE KEY" },
      { "pkcs8 -topk8 -v1 PBE-SHA1-3DES", "ENCRYPTED PRIVATE KEY" },
    }
    for i, c in ipairs(cases) do
      local enc = f("enc" .. i .. ".key")
      sh("openssl " .. c[1] .. " -in " .. f("vcs.key") .. " -passout pass:kpw -out " .. enc .. " 2>&1")
      assert.matches(c[2], h.read(enc), 1, true)
      local out = f("dec" .. i .. ".key")
      cbok("pfx decrypt-key " .. enc .. " --out " .. out .. " --passin pass:kpw")
      assert.matches("RSA key ok", sh("openssl rsa -check -noout -in " .. out .. " 2>&1"), 1, true)
      assert.equal(sh("openssl rsa -noout -modulus -in " .. f("vcs.key")), sh("openssl rsa -noout -modulus -in " .. out))
    end
  end)

  it("certbench's encrypted keys, decrypted by openssl", function()
    for i, args in ipairs { "", "--key-format pkcs1", "--key-format pkcs1 --cipher des-ede3-cbc", "--cipher aes-128-cbc" } do
      local out = f("cbenc" .. i .. ".key")
      cbok("pfx encrypt-key " .. f("vcs.key") .. " --out " .. out .. " --passout pass:opw " .. args)
      local dec = sh("openssl pkey -in " .. out .. " -passin pass:opw 2>&1")
      assert.equal(PKI.key:to_der(), assert(pkey.load(dec)):to_der())
      local _, rc = h.run("openssl pkey -in " .. out .. " -passin pass:wrong -noout 2>&1")
      assert.is_not.equal(0, rc)
    end
  end)
end)

describe("scripts/microsoft-pfx-to-vcs.lua", function()
  local script = h.root .. "/scripts/microsoft-pfx-to-vcs.lua"

  it("a PFX as a Microsoft CA exports it -> privkey.pem, server.pem, ca.pem, each checked", function()
    -- Windows' legacy export: 3DES, SHA-1 MAC, 2000 iterations, a CSP name, the whole chain
    -- with the root in the middle
    h.write(f("ms-chain.pem"), h.read(f("root.pem")) .. h.read(f("sub.pem")))
    local p = export("ms.pfx", "-certfile " .. f("ms-chain.pem") .. " -name vcs-certificate"
      .. " -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -iter 2000"
      .. " -CSP " .. h.q("Microsoft Enhanced RSA and AES Cryptographic Provider"), "Passw0rd!")
    local d = f("vcs-upload")
    local out, err, rc = h.run3("setsid -w " .. h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(d)
      .. " env:MSPW </dev/null")
    assert.equal(1, rc) -- MSPW is not set yet
    assert.matches("env:MSPW: the environment variable is not set", err, 1, true)
    out, err, rc = h.run3("MSPW='Passw0rd!' " .. h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(d) .. " env:MSPW")
    assert.equal(0, rc, out .. err)
    assert.matches("check: " .. d .. "/privkey.pem matches " .. d .. "/server.pem (RSA 2048)", out, 1, true)
    assert.matches("check: " .. d .. "/server.pem verifies with " .. d .. "/ca.pem: vcs.net2.int <- net2-Sub-CA <- net2-Root-CA", out, 1, true)
    assert.matches("ready to upload: ", out, 1, true)
    check_split(d)
    assert.matches("^%-%-%-%-%-BEGIN RSA PRIVATE KEY%-%-%-%-%-\n", h.read(d .. "/privkey.pem"))
    -- run again: refuses to overwrite, unless --force
    _, err, rc = h.run3("MSPW='Passw0rd!' " .. h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(d) .. " env:MSPW")
    assert.equal(1, rc)
    assert.matches("exist: nothing written (--force replaces them)", err, 1, true)
    _, err, rc = h.run3("MSPW='Passw0rd!' " .. h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(d) .. " env:MSPW --force")
    assert.equal(0, rc, err)
  end)

  it("a Windows export without the chain: says what is missing", function()
    local p = h.data .. "/pfx/rustcrypto/ValidCertificatePathTest1EE_windows_aes.p12.pfx"
    local d = f("vcs-nochain")
    local _, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(d) .. " pass:password")
    assert.equal(1, rc)
    assert.matches("microsoft-pfx-to-vcs: no ca.pem: " .. p .. " holds no CA certificate for the server certificate", err, 1, true)
  end)

  it("usage and a wrong password", function()
    local _, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script))
    assert.equal(2, rc)
    assert.matches("usage: certbench run scripts/microsoft-pfx-to-vcs.lua", err, 1, true)
    local p = f("ms.pfx")
    _, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script) .. " " .. h.q(p) .. " " .. h.q(f("x")) .. " pass:nope")
    assert.equal(1, rc)
    assert.matches("wrong password for the PFX", err, 1, true)
  end)
end)
