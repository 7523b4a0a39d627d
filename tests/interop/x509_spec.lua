-- tests/interop/x509_spec.lua: names, requests and certificates against the openssl CLI and
-- python3-cryptography, both ways, and the real chains and PKITS certificates of the corpus.
local h = require "support.helper"
local x509 = require "certbench.x509"
local csr = require "certbench.csr"
local name = require "certbench.name"
local pkey = require "certbench.pkey"

local corpus = h.data
local dir = h.tmpdir()
local function path(f) return dir .. "/" .. f end

local function openssl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. " failed:\n" .. out)
  return out
end

-- "2026-11-28 00:56:25Z" -> epoch seconds
local function iso_epoch(s)
  local y, mo, d, hh, mi, ss = s:match("(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)Z")
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  y = mo <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (mo > 2 and mo - 3 or mo + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(hh) * 3600 + tonumber(mi) * 60 + tonumber(ss)
end

-- what openssl says about a certificate file, in one call
local function openssl_facts(file, inform)
  local out = openssl("x509 -noout -inform " .. (inform or "PEM") .. " -in " .. h.q(file)
    .. " -serial -subject_hash -issuer_hash -fingerprint -sha256 -dates -dateopt iso_8601"
    .. " -subject -issuer -nameopt oneline,-esc_msb")
  return {
    serial = out:match("serial=(%-?%x+)"),
    subject_hash = out:match("\n(%x%x%x%x%x%x%x%x)\n"),
    issuer_hash = select(2, out:match("\n(%x%x%x%x%x%x%x%x)\n(%x%x%x%x%x%x%x%x)\n")),
    fingerprint = out:match("Fingerprint=([%x:]+)"),
    not_before = iso_epoch(out:match("notBefore=([^\n]+)")),
    not_after = iso_epoch(out:match("notAfter=([^\n]+)")),
    subject = out:match("\nsubject=([^\n]*)"),
    issuer = out:match("\nissuer=([^\n]*)"),
  }
end

local function check_against_openssl(c, file, inform)
  local f = openssl_facts(file, inform)
  assert.equal(f.serial, c:serial(), file)
  assert.equal(f.subject_hash, c:subject():hash(), file)
  assert.equal(f.issuer_hash, c:issuer():hash(), file)
  assert.equal(f.fingerprint, c:fingerprint("sha256"), file)
  assert.equal(f.not_before, c:not_before(), file)
  assert.equal(f.not_after, c:not_after(), file)
  assert.equal(f.subject, c:subject():text(), file)
  assert.equal(f.issuer, c:issuer():text(), file)
end

describe("certificates made by openssl, read by certbench", function()
  local key = path("o.key")
  openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " .. key)

  it("reads a req -x509 certificate field by field", function()
    local crt = path("o.crt")
    openssl("req -new -x509 -utf8 -key " .. key .. " -out " .. crt .. " -days 30 -set_serial 0x1234ABCD"
      .. " -subj " .. h.q("/C=NO/O=Blåbær AS/OU=a\\/b/CN=vcs.example.com")
      .. " -addext " .. h.q("subjectAltName=DNS:vcs.example.com,DNS:*.vcs.example.com,IP:192.0.2.7,IP:2001:db8::7,email:ops@example.com,URI:sip:vcs@example.com")
      .. " -addext " .. h.q("keyUsage=critical,digitalSignature,keyEncipherment")
      .. " -addext " .. h.q("extendedKeyUsage=serverAuth,clientAuth")
      .. " -addext " .. h.q("basicConstraints=critical,CA:TRUE,pathlen:2")
      .. " -addext " .. h.q("crlDistributionPoints=URI:http://crl.example.com/x.crl")
      .. " -addext " .. h.q("authorityInfoAccess=OCSP;URI:http://ocsp.example.com,caIssuers;URI:http://ca.example.com/ca.cer")
      .. " -addext " .. h.q("certificatePolicies=1.2.3.4,2.23.140.1.2.2"))
    local c = assert(x509.load(h.read(crt)))
    check_against_openssl(c, crt)
    assert.equal("1234ABCD", c:serial())
    assert.equal("C = NO, O = Blåbær AS, OU = a/b, CN = vcs.example.com", c:subject():text())
    local rfc = openssl("x509 -noout -subject -nameopt RFC2253,-esc_msb -in " .. crt):match("subject=([^\n]*)")
    assert.equal(rfc, c:subject():rfc4514())
    local got = {}
    for _, n in ipairs(c:san()) do got[#got + 1] = n.type .. ":" .. n.value end
    assert.same({ "DNS:vcs.example.com", "DNS:*.vcs.example.com", "IP:192.0.2.7", "IP:2001:db8::7",
                  "email:ops@example.com", "URI:sip:vcs@example.com" }, got)
    assert.same({ "digitalSignature", "keyEncipherment" }, c:key_usage())
    assert.same({ "serverAuth", "clientAuth" }, c:eku())
    assert.same({ ca = true, path_len = 2, critical = true }, c:basic_constraints())
    assert.same({ "http://crl.example.com/x.crl" }, c:crl_distribution_points())
    assert.same({ "http://ocsp.example.com" }, c:ocsp_urls())
    assert.same({ "http://ca.example.com/ca.cer" }, c:ca_issuers_urls())
    assert.same({ "1.2.3.4", "2.23.140.1.2.2" }, c:policies())
    -- openssl puts SKI and AKI (keyid) on a self-signed certificate
    local ski = openssl("x509 -noout -ext subjectKeyIdentifier -in " .. crt):match("\n%s+([%x:]+)")
    assert.equal(ski:gsub(":", ""), c:ski())
    assert.equal(c:ski(), (c:aki()))
    assert.is_true(c:is_self_signed())
    assert.is_true(c:check_host("x.vcs.example.com"))
    assert.is_false(c:check_host("vcs.example.org"))
    assert.is_true(c:check_ip("2001:db8:0:0::7"))
    -- the public key is the key we gave openssl
    local k = assert(pkey.load(h.read(key)))
    assert.is_true(k:matches(c))
    assert.equal(openssl("pkey -pubout -in " .. key), c:public_key():public_pem())
  end)

  it("reads an openssl CSR field by field and verifies it", function()
    local req = path("o.csr")
    openssl("req -new -utf8 -key " .. key .. " -out " .. req .. " -subj " .. h.q("/C=NO/CN=Ærø req/OU=x+UID=7")
      .. " -addext " .. h.q("subjectAltName=DNS:a.example.com,IP:192.0.2.1,email:x@example.com,URI:sip:x@example.com")
      .. " -addext " .. h.q("extendedKeyUsage=serverAuth,1.2.3.4.5"))
    local r = assert(csr.load(h.read(req)))
    assert.is_true(r:verify())
    local subj = openssl("req -noout -subject -nameopt oneline,-esc_msb -in " .. req):match("subject=([^\n]*)")
    assert.equal(subj, r:subject():text())
    assert.equal("C = NO, CN = Ærø req, OU = x + UID = 7", r:subject():text())
    local got = {}
    for _, n in ipairs(r:san()) do got[#got + 1] = n.type .. ":" .. n.value end
    assert.same({ "DNS:a.example.com", "IP:192.0.2.1", "email:x@example.com", "URI:sip:x@example.com" }, got)
    assert.same({ "serverAuth", "1.2.3.4.5" }, r:eku())
    assert.equal("ecdsa-with-SHA256", r:signature_algorithm())
    -- r:text() has every line of openssl req -text
    local theirs = openssl("req -noout -text -nameopt oneline,-esc_msb -in " .. req)
    local ours = r:text()
    for line in theirs:gmatch("[^\n]+") do
      line = line:match("^%s*(.-)%s*$")
      if line ~= "" then assert.truthy(ours:find(line, 1, true), "missing '" .. line .. "'") end
    end
    local der = path("o.csr.der")
    openssl("req -in " .. req .. " -outform DER -out " .. der)
    assert.is_true(assert(csr.load(h.read(der))) == r)
  end)
end)

describe("what certbench makes, read and accepted by openssl and python3-cryptography", function()
  local rootkey = pkey.generate("ec:P-384")
  local interkey = pkey.generate("rsa:2048")
  local leafkey = pkey.generate("ec")
  local root = assert(x509.new{ subject = "/C=NO/O=net2/CN=Root CA ÆØÅ", issuer_key = rootkey, ca = true, days = 3650,
                                digest = "sha384" })
  local inter = assert(x509.new{ subject = "/C=NO/O=net2/CN=Issuing CA", issuer = root, issuer_key = rootkey,
                                 public_key = interkey, ca = true, path_len = 0, days = 1825,
                                 crl_distribution_points = { "http://crl.example.com/root.crl" } })
  h.write(path("root.pem"), root:to_pem())
  h.write(path("inter.pem"), inter:to_pem())

  it("a CSR passes openssl req -verify and openssl x509 -req -CA signs it", function()
    local r = assert(csr.new{ subject = "/C=NO/O=net2/CN=vcs.example.com", key = leafkey,
                              san = { "DNS:vcs.example.com", "DNS:vcs2.example.com", "IP:192.0.2.1" },
                              key_usage = { "digitalSignature", "keyEncipherment" }, eku = { "serverAuth", "clientAuth" } })
    h.write(path("leaf.csr"), r:to_pem())
    local out = openssl("req -verify -noout -text -in " .. path("leaf.csr"))
    assert.matches("DNS:vcs.example.com, DNS:vcs2.example.com, IP Address:192.0.2.1", out)
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", out)
    h.write(path("inter.key"), interkey:to_pem())
    openssl("x509 -req -in " .. path("leaf.csr") .. " -CA " .. path("inter.pem") .. " -CAkey " .. path("inter.key")
      .. " -CAcreateserial -copy_extensions copy -days 10 -out " .. path("leaf-by-openssl.pem"))
    local c = assert(x509.load(h.read(path("leaf-by-openssl.pem"))))
    assert.is_true(c:issued_by(inter) or c:issuer() == inter:subject())
    assert.is_true(c:verify_signature(inter))
    assert.equal("vcs2.example.com", c:san()[2].value)
    assert.is_true(leafkey:matches(c))
    -- DER form too
    h.write(path("leaf.csr.der"), r:to_der())
    openssl("req -verify -noout -inform DER -in " .. path("leaf.csr.der"))
  end)

  it("a chain passes openssl verify, for the purpose and the host name", function()
    local leaf = assert(x509.new{ subject = "/CN=vcs.example.com", issuer = inter, issuer_key = interkey,
                                  public_key = leafkey, san = { "DNS:vcs.example.com", "IP:192.0.2.1" },
                                  key_usage = { "digitalSignature" }, eku = { "serverAuth", "clientAuth" },
                                  ocsp_urls = { "http://ocsp.example.com" } })
    h.write(path("leaf.pem"), leaf:to_pem())
    local out = openssl("verify -CAfile " .. path("root.pem") .. " -untrusted " .. path("inter.pem")
      .. " -purpose sslserver -verify_hostname vcs.example.com " .. path("leaf.pem"))
    assert.matches("leaf.pem: OK", out)
    local bad, rc = h.openssl("verify -CAfile " .. path("root.pem") .. " -untrusted " .. path("inter.pem")
      .. " -verify_hostname other.example.com " .. path("leaf.pem"))
    assert.not_equal(0, rc, bad)
    -- path_len 0 on the issuing CA: a CA below it is refused
    local subkey = pkey.generate("ec")
    local sub = assert(x509.new{ subject = "/CN=Too deep", issuer = inter, issuer_key = interkey, public_key = subkey, ca = true })
    local deep = assert(x509.new{ subject = "/CN=deep.example.com", issuer = sub, issuer_key = subkey, public_key = leafkey })
    h.write(path("sub.pem"), sub:to_pem())
    h.write(path("deep.pem"), deep:to_pem())
    local dout, drc = h.openssl("verify -CAfile " .. path("root.pem") .. " -untrusted " .. path("inter.pem")
      .. " -untrusted " .. path("sub.pem") .. " " .. path("deep.pem"))
    assert.not_equal(0, drc)
    assert.matches("path length", dout)
  end)

  it("openssl x509 -text shows what we put in", function()
    local out = openssl("x509 -noout -text -in " .. path("inter.pem"))
    assert.matches("CA:TRUE, pathlen:0", out)
    assert.matches("X509v3 Basic Constraints: critical", out)
    assert.matches("Certificate Sign, CRL Sign", out)
    assert.matches("URI:http://crl.example.com/root.crl", out)
    local aki = out:match("X509v3 Authority Key Identifier: *\n%s*([%x:]+)")
    assert.equal(root:ski(), (aki:gsub(":", "")))
    assert.equal(inter:subject():hash(), openssl("x509 -noout -subject_hash -in " .. path("inter.pem")):match("%x+"))
    assert.equal(root:subject():text(), openssl("x509 -noout -subject -nameopt oneline,-esc_msb -in " .. path("root.pem")):match("subject=([^\n]*)"))
  end)

  it("python3-cryptography reads the fields and verifies the signatures", function()
    local leaf = assert(h.read(path("leaf.pem")))
    local script = path("check.py")
    h.write(script, [[
import sys
from cryptography import x509
from cryptography.x509.oid import ExtensionOID
root = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
inter = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
leaf = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
inter.verify_directly_issued_by(root)
leaf.verify_directly_issued_by(inter)
root.verify_directly_issued_by(root)
bc = inter.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
assert bc.critical and bc.value.ca and bc.value.path_length == 0
ski = inter.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(inter.public_key()).digest
aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
assert aki.key_identifier == ski.digest
san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
print("DNS=" + ",".join(san.get_values_for_type(x509.DNSName)))
print("IP=" + ",".join(str(i) for i in san.get_values_for_type(x509.IPAddress)))
print("root=" + root.subject.rfc4514_string())
print("serial=%X" % leaf.serial_number)
print("version=" + leaf.version.name)
]])
    assert.truthy(leaf)
    local out, rc = h.run("python3 " .. script .. " " .. path("root.pem") .. " " .. path("inter.pem") .. " " .. path("leaf.pem"))
    assert.equal(0, rc, out)
    assert.matches("DNS=vcs.example.com\n", out)
    assert.matches("IP=192.0.2.1\n", out)
    assert.matches("root=CN=Root CA ÆØÅ,O=net2,C=NO\n", out, 1, true)
    local c = assert(x509.load(leaf))
    assert.equal(c:serial():gsub("^0+", ""), out:match("serial=(%-?%x+)"))
    assert.matches("version=v3", out)
  end)

  it("gnutls certtool reads our certificates", function()
    local out, rc = h.run("certtool -i --infile " .. path("inter.pem"))
    assert.equal(0, rc, out)
    assert.matches("Basic Constraints %(critical%)", out)
    assert.matches("Path Length Constraint: 0", out)
  end)
end)

describe("the test data", function()
  local function files(sub, pattern)
    local out = h.run("find " .. h.q(corpus .. "/" .. sub) .. " -type f | sort")
    local list = {}
    for f in out:gmatch("[^\n]+") do if f:match(pattern) then list[#list + 1] = f end end
    return list
  end

  it("real chains: serial, hashes, fingerprint, validity and names agree with openssl", function()
    local n = 0
    for _, f in ipairs(files("chains", "%.[cdp][ener][rmt]$")) do
      local data = h.read(f)
      local c = x509.load(data)
      if c then
        local pem = data:find("-----BEGIN", 1, true) ~= nil
        check_against_openssl(c, f, pem and "PEM" or "DER")
        n = n + 1
      end
    end
    assert.is_true(n >= 40, "certificates checked: " .. n)
  end)

  it("every PKITS certificate (DER) loads and agrees with openssl", function()
    local list = files("pkits/certs", "%.crt$")
    assert.is_true(#list >= 400)
    -- one openssl process for all of them: their facts, concatenated
    local script = path("pkits.sh")
    h.write(script, [[for f in "$@"; do printf '\001 %s\n' "$f"; openssl x509 -noout -inform DER -in "$f" -serial -subject_hash -issuer_hash -fingerprint -sha256 -dates -dateopt iso_8601 -subject -nameopt oneline,-esc_msb 2>&1; done]])
    local out = h.run("sh " .. script .. " " .. table.concat((function()
      local q = {}
      for i, f in ipairs(list) do q[i] = h.q(f) end
      return q
    end)(), " "))
    local checked = 0
    for f, facts in out:gmatch("\1 ([^\n]+)\n([^\1]*)") do
      local c = assert(x509.load(h.read(f)), f)
      assert.equal(facts:match("serial=(%-?%x+)"), c:serial(), f)
      local sh, ih = facts:match("\n(%x%x%x%x%x%x%x%x)\n(%x%x%x%x%x%x%x%x)\n")
      assert.equal(sh, c:subject():hash(), f)
      assert.equal(ih, c:issuer():hash(), f)
      assert.equal(facts:match("Fingerprint=([%x:]+)"), c:fingerprint(), f)
      assert.equal(iso_epoch(facts:match("notAfter=([^\n]+)")), c:not_after(), f)
      assert.equal(facts:match("subject=([^\n]*)"), c:subject():text(), f)
      -- every accessor runs on every certificate
      c:san(); c:eku(); c:key_usage(); c:basic_constraints(); c:ski(); c:aki(); c:policies()
      c:crl_distribution_points(); c:extensions(); c:text(); c:is_self_signed()
      checked = checked + 1
    end
    assert.equal(#list, checked)
  end)

  it("text() has every line openssl x509 -text shows", function()
    local list = {
      "chains/asn1crypto/globalsign_example_keys/SSL1.cer", "chains/asn1crypto/globalsign_example_keys/rootCA.cer",
      "chains/asn1crypto/lets_encrypt/isrgrootx1.pem", "chains/asn1crypto/lets_encrypt/letsencryptauthorityx1.pem",
      "chains/certvalidator/digicert-global-root-ca.crt", "chains/certvalidator/digicert-tls-rsa-sha256-2020-ca1.crt",
      "chains/certvalidator/mozilla.org.crt", "chains/rust-pki/amazon.com/2-target.pem",
      "chains/lua-resty-openssl/GlobalSign.pem", "chains/asn1crypto/chromium/punycodetest.pem",
      "pkits/certs/ValidDNnameConstraintsTest1EE.crt", "pkits/certs/GoodCACert.crt",
      "pkits/certs/ValidGeneralizedTimenotAfterDateTest8EE.crt",
    }
    for _, rel in ipairs(list) do
      local f = corpus .. "/" .. rel
      local data = h.read(f)
      local inform = data:find("-----BEGIN", 1, true) and "PEM" or "DER"
      local theirs = openssl("x509 -noout -text -inform " .. inform .. " -in " .. h.q(f))
      -- BoringSSL does not decode SCT lists (it shows them as hex): compare up to them
      theirs = theirs:gsub("\n%s*CT Precertificate SCTs:.*$", "\n")
      local c = assert(x509.load(data))
      local ours = c:text():gsub("keyid:", "")
      local prev
      for line in theirs:gmatch("[^\n]+") do
        line = line:match("^%s*(.-)%s*$")
        if prev == "Serial Number:" then
          -- BoringSSL prints a serial of up to 8 bytes as a number: "Serial Number: 4096 (0x1000)"
          assert.truthy(ours:find(line, 1, true) or ours:find("(0x" .. c:serial():lower():gsub("^0+", "") .. ")", 1, true),
                        rel .. ": serial " .. line)
        elseif line ~= "" and not line:match("^DirName:") then
          assert.truthy(ours:find(line, 1, true), rel .. ": missing '" .. line .. "'")
        end
        prev = line
      end
    end
  end)

  it("UTF-8 and T61/BMP names: hashes agree with openssl", function()
    for _, rel in ipairs { "chains/asn1crypto/chromium/punycodetest.pem", "chains/asn1crypto/geotrust_certs/codex.crt",
                           "pkits/certs/ValidRFC3280MandatoryAttributeTypesTest7EE.crt",
                           "pkits/certs/ValidRFC3280OptionalAttributeTypesTest8EE.crt",
                           "pkits/certs/ValidUTF8StringEncodedNamesTest9EE.crt",
                           "pkits/certs/ValidRolloverfromPrintableStringtoUTF8StringTest10EE.crt",
                           "pkits/certs/ValidUTF8StringCaseInsensitiveMatchTest11EE.crt" } do
      local f = corpus .. "/" .. rel
      local data = h.read(f)
      local c = assert(x509.load(data), rel)
      local inform = data:find("-----BEGIN", 1, true) and "PEM" or "DER"
      local hs = openssl("x509 -noout -subject_hash -issuer_hash -inform " .. inform .. " -in " .. h.q(f))
      local a, b = hs:match("(%x+)\n(%x+)")
      assert.equal(a, c:subject():hash(), rel)
      assert.equal(b, c:issuer():hash(), rel)
      -- and a name rebuilt from the text has the same hash (canonical form)
      assert.equal(a, assert(name.parse_rfc4514(c:subject():rfc4514())):hash(), rel)
    end
  end)
end)
