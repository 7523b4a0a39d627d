-- tests/interop/convert_spec.lua: the convert and show plugins against the openssl CLI, both
-- ways: what openssl writes (DER, PEM, p7b from crl2pkcs7, keys in every form) certbench
-- converts with identical bytes; what certbench writes openssl reads (x509, req -verify, crl,
-- pkey, pkcs7 -print_certs); and scripts/der-folder-to-pem.lua on a Windows-style folder.
local h = require "support.helper"
local x509 = require "certbench.x509"
local detect = require "certbench.detect"

local dir = h.tmpdir()
local function f(name) return dir .. "/" .. name end
local sh = h.sh
local function cb(args)
  return h.run3("setsid -w " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end
local function cbok(args)
  local out, err, rc = cb(args)
  assert(rc == 0, "certbench " .. args .. "\n" .. out .. err)
  return out
end
local function conv(input, to, out)
  cbok("convert " .. h.q(input) .. " --to " .. to .. " --out " .. h.q(out))
  return h.read(out)
end

-- a CA, a server certificate, a CSR and a CRL, by openssl
;(function()
  h.write(f("ca.cnf"), table.concat({
    "[ca]", "default_ca = c", "[c]", "dir = " .. dir, "database = $dir/index.txt", "new_certs_dir = $dir",
    "serial = $dir/serial", "crlnumber = $dir/crlnumber", "certificate = $dir/root.pem",
    "private_key = $dir/root.key", "default_md = sha256", "default_crl_days = 30", "policy = p",
    "[p]", "commonName = supplied", "" }, "\n"))
  h.write(f("index.txt"), "")
  h.write(f("crlnumber"), "01\n")
  h.write(f("serial"), "1000\n")
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout " .. f("root.key") .. " -out " .. f("root.pem")
    .. " -days 30 -subj /CN=Interop\\ Root 2>&1")
  sh("openssl req -newkey rsa:2048 -nodes -keyout " .. f("srv.key") .. " -out " .. f("srv.csr")
    .. " -subj /CN=vcs.example.com -addext subjectAltName=DNS:vcs.example.com 2>&1")
  sh("openssl x509 -req -in " .. f("srv.csr") .. " -CA " .. f("root.pem") .. " -CAkey " .. f("root.key")
    .. " -set_serial 0x1001 -days 30 -out " .. f("srv.pem") .. " 2>&1")
  sh("openssl ca -config " .. f("ca.cnf") .. " -gencrl -out " .. f("root.crl") .. " 2>&1")
  sh("openssl ecparam -name prime256v1 -genkey -noout -out " .. f("ec.key") .. " 2>&1")
end)()

describe("openssl's files, converted by certbench", function()
  it("certificate, CSR, CRL: DER from openssl -> certbench PEM = openssl's PEM, and back to the same DER", function()
    local cases = {
      { "x509", "srv.pem" }, { "req", "srv.csr" }, { "crl", "root.crl" },
    }
    for _, c in ipairs(cases) do
      local der = f(c[2] .. ".der")
      sh("openssl " .. c[1] .. " -in " .. f(c[2]) .. " -outform DER -out " .. der .. " 2>&1")
      local pem = conv(der, "pem", f(c[2] .. ".cb.pem"))
      local want = sh("openssl " .. c[1] .. " -in " .. der .. " -inform DER 2>/dev/null")
      assert.equal(want:match("%-%-%-%-%-BEGIN.*$"), pem, c[2])
      assert.equal(h.read(der), conv(f(c[2] .. ".cb.pem"), "der", f(c[2] .. ".cb.der")), c[2])
    end
    -- and openssl reads what certbench wrote
    assert.matches("verify OK", sh("openssl req -verify -noout -in " .. f("srv.csr.cb.pem") .. " 2>&1"), 1, true)
    sh("openssl crl -noout -in " .. f("root.crl.cb.pem") .. " -CAfile " .. f("root.pem") .. " 2>&1")
    sh("openssl x509 -noout -inform DER -in " .. f("srv.pem.cb.der"))
  end)

  it("keys in every form openssl writes: PKCS#8, PKCS#1, SEC1, encrypted PKCS#8, public keys", function()
    -- (openssl pkey -outform DER writes an RSA key as PKCS#1: pkcs8 -nocrypt gives PKCS#8 DER)
    local forms = {
      { "pkcs8 -topk8 -nocrypt -in " .. f("srv.key"), "pk8" },
      { "rsa -in " .. f("srv.key") .. " -traditional", "pk1" },
      { "ec -in " .. f("ec.key"), "sec1" },
      { "pkey -in " .. f("srv.key") .. " -pubout", "spki" },
      { "rsa -in " .. f("srv.key") .. " -RSAPublicKey_out", "rsapub" },
    }
    for _, c in ipairs(forms) do
      local pem = sh("openssl " .. c[1] .. " 2>/dev/null")
      h.write(f(c[2] .. ".pem"), pem)
      local der = f(c[2] .. ".der")
      sh("openssl " .. c[1] .. " -outform DER -out " .. der .. " 2>/dev/null")
      local fmt = ({ pk8 = "pkcs8", pk1 = "pkcs1", sec1 = "sec1", spki = "spki", rsapub = "pkcs1" })[c[2]]
      assert.equal(fmt, assert(detect.detect(h.read(der))).objects[1].format, c[2])
      -- openssl's PEM -> certbench DER = openssl's DER; and DER -> PEM = openssl's PEM
      assert.equal(h.read(der), conv(f(c[2] .. ".pem"), "der", f(c[2] .. ".cb.der")), c[2])
      assert.equal(pem, conv(der, "pem", f(c[2] .. ".cb.pem")), c[2])
    end
    -- an encrypted PKCS#8 key: DER and PEM carry the same bytes
    local epem = sh("openssl pkcs8 -topk8 -in " .. f("srv.key") .. " -passout pass:x 2>/dev/null")
    h.write(f("epk8.pem"), epem)
    local eder = conv(f("epk8.pem"), "der", f("epk8.cb.der"))
    assert.equal(detect.b64decode(epem:match("KEY%-%-%-%-%-\n(.-)%-%-%-%-%-END")), eder)
    assert.equal(epem, conv(f("epk8.cb.der"), "pem", f("epk8.cb.pem")))
    sh("openssl pkey -in " .. f("epk8.cb.pem") .. " -passin pass:x -noout 2>&1")
    assert.matches("RSA key ok", sh("openssl rsa -check -noout -in " .. f("pk1.cb.pem") .. " 2>&1"), 1, true)
    assert.equal("600", h.mode(f("pk8.cb.der")))
    assert.equal("644", h.mode(f("spki.cb.pem")))
  end)

  it("p7b: openssl crl2pkcs7 (with and without a CRL) -> PEM = openssl pkcs7 -print_certs", function()
    h.write(f("bundle.pem"), h.read(f("srv.pem")) .. h.read(f("root.pem")))
    sh("openssl crl2pkcs7 -nocrl -certfile " .. f("bundle.pem") .. " -out " .. f("nocrl.p7b") .. " 2>&1")
    sh("openssl crl2pkcs7 -in " .. f("root.crl") .. " -certfile " .. f("bundle.pem") .. " -outform DER -out " .. f("crl.p7b") .. " 2>&1")
    local printed = sh("openssl pkcs7 -in " .. f("nocrl.p7b") .. " -print_certs 2>&1")
    local certs = {}
    for b in printed:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n") do certs[#certs + 1] = b end
    assert.equal(2, #certs)
    assert.equal(table.concat(certs), conv(f("nocrl.p7b"), "pem", f("nocrl.cb.pem")))
    local with = conv(f("crl.p7b"), "pem", f("crl.cb.pem"))
    assert.equal(table.concat(certs) .. sh("openssl crl -in " .. f("root.crl")), with)
    -- the PKCS7 block as DER: the same bytes as openssl's DER
    sh("openssl pkcs7 -in " .. f("nocrl.p7b") .. " -outform DER -out " .. f("nocrl.der") .. " 2>&1")
    assert.equal(h.read(f("nocrl.der")), conv(f("nocrl.p7b"), "der", f("nocrl.cb.der")))
  end)

  it("Windows forms: Base-64 .cer with CRLF, UTF-16LE with a BOM, Base-64 without armor", function()
    local pem = h.read(f("srv.pem"))
    h.write(f("crlf.cer"), (pem:gsub("\n", "\r\n")))
    sh("printf '\\377\\376' > " .. f("u16.cer") .. " && iconv -f UTF-8 -t UTF-16LE " .. f("crlf.cer") .. " >> " .. f("u16.cer"))
    sh("openssl x509 -in " .. f("srv.pem") .. " -outform DER | base64 > " .. f("bare.txt"))
    for _, name in ipairs { "crlf.cer", "u16.cer", "bare.txt" } do
      assert.equal(pem, conv(f(name), "pem", f(name .. ".pem")), name)
    end
    local out = cbok("show " .. f("u16.cer"))
    assert.matches(f("u16.cer") .. ": PEM (UTF-16LE, CRLF): 1 certificate", out, 1, true)
  end)
end)

describe("certbench's files, read by openssl", function()
  it("b64cer: PEM with CRLF that openssl reads", function()
    local out = f("srv-b64.cer")
    conv(f("srv.pem.der"), "b64cer", out)
    assert.matches("\r\n", h.read(out), 1, true)
    assert.equal(sh("openssl x509 -noout -fingerprint -sha256 -in " .. f("srv.pem")),
      sh("openssl x509 -noout -fingerprint -sha256 -in " .. out))
  end)

  it("p7b: openssl pkcs7 -print_certs lists the certificates in order, and a CRL", function()
    h.write(f("mixed.pem"), h.read(f("srv.pem")) .. "some notes\n" .. h.read(f("root.pem")) .. h.read(f("root.crl")))
    local p7 = f("cb.p7b")
    cbok("convert " .. f("mixed.pem") .. " --to p7b --out " .. p7)
    local printed = sh("openssl pkcs7 -inform DER -in " .. p7 .. " -print_certs -noout 2>&1")
    local subjects = {}
    for s in printed:gmatch("subject=([^\n]*)") do subjects[#subjects + 1] = s end
    assert.same({ "CN = vcs.example.com", "CN = Interop Root" }, subjects)
    local crls = sh("openssl pkcs7 -inform DER -in " .. p7 .. " -print 2>&1")
    assert.matches("crl:", crls, 1, true)
  end)

  it("refusals keep the output file away", function()
    h.write(f("two.der"), h.read(f("srv.pem.der")):sub(1, 300))
    local out, err, rc = cb("convert " .. f("two.der") .. " --to pem --out " .. f("two.pem"))
    assert.equal(1, rc)
    assert.equal("", out)
    assert.matches("truncated", err, 1, true)
    assert.is_nil(io.open(f("two.pem")))
  end)
end)

describe("scripts/der-folder-to-pem.lua", function()
  local script = h.root .. "/scripts/der-folder-to-pem.lua"

  it("a folder of Windows .cer files -> PEM files read back, and a CA bundle", function()
    local src, dst = f("win"), f("win-pem")
    sh("mkdir -p " .. src)
    sh("openssl x509 -in " .. f("srv.pem") .. " -outform DER -out " .. src .. "/vcs.cer")
    sh("openssl x509 -in " .. f("root.pem") .. " -outform DER -out " .. src .. "/root.cer")
    h.write(src .. "/root-b64.cer", (h.read(f("root.pem")):gsub("\n", "\r\n")))
    sh("openssl crl2pkcs7 -nocrl -certfile " .. f("bundle.pem") .. " -outform DER -out " .. src .. "/chain.p7b")
    h.write(src .. "/desktop.ini", "[.ShellClassInfo]\r\nIconResource=C:\\Windows\\system32\\imageres.dll,-3\r\n")
    h.write(src .. "/cut.cer", h.read(f("srv.pem.der")):sub(1, 400))
    local out, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script) .. " " .. src .. " " .. dst)
    assert.equal(1, rc, err) -- cut.cer is broken
    assert.matches("ok      " .. src .. "/vcs.cer -> " .. dst .. "/vcs.pem (1 certificate)", out, 1, true)
    assert.matches("ok      " .. src .. "/chain.p7b -> " .. dst .. "/chain.pem (2 certificates)", out, 1, true)
    assert.matches("FAILED  " .. src .. "/cut.cer: truncated: a certificate whose header announces", out, 1, true)
    assert.matches("skipped " .. src .. "/desktop.ini: not PKI data", out, 1, true)
    assert.matches("wrote " .. dst .. "/ca-bundle.pem: 1 CA certificate", out, 1, true)
    assert.matches("4 converted, 1 failed, 1 skipped", out, 1, true)
    -- openssl reads every output
    for _, name in ipairs { "vcs.pem", "root.pem", "root-b64.pem", "chain.pem", "ca-bundle.pem" } do
      sh("openssl x509 -noout -in " .. dst .. "/" .. name)
    end
    assert.equal(sh("openssl x509 -noout -fingerprint -in " .. f("srv.pem")), sh("openssl x509 -noout -fingerprint -in " .. dst .. "/vcs.pem"))
    assert.equal(dst .. "/vcs.pem: OK\n", sh("openssl verify -CAfile " .. dst .. "/ca-bundle.pem " .. dst .. "/vcs.pem 2>&1"))
    -- the broken file out of the way: everything converts, the old outputs stay unless --force
    os.remove(src .. "/cut.cer")
    out, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script) .. " " .. src .. " " .. dst)
    assert.equal(1, rc)
    assert.matches("exists: nothing written (--force replaces it)", out, 1, true)
    out, err, rc = h.run3(h.q(h.bin) .. " run " .. h.q(script) .. " " .. src .. " " .. dst .. " --force")
    assert.equal(0, rc, out .. err)
    assert.matches("4 converted, 0 failed, 1 skipped", out, 1, true)
    local got = assert(x509.load_all(h.read(dst .. "/chain.pem")))
    assert.equal(2, #got)
  end)
end)
