-- spec/pkcs7_spec.lua: certbench.pkcs7, certificates-only bundles read and written, every
-- p7b/p7c of the corpus with its certificate count, every error path.
local h = require "support.helper"
local A = require "support.asn1"
local pkcs7 = require "certbench.pkcs7"
local x509 = require "certbench.x509"

local corpus = h.data
local function cfile(p) return h.read(corpus .. "/" .. p) end

local GS = "chains/asn1crypto/globalsign_example_keys/"

describe("pkcs7 corpus", function()
  -- the counts of MANIFEST.md, checked there with OpenSSL
  local files = {
    ["p7b/real-world/DODROOTCA3_IB.p7c"] = 26,
    ["p7b/real-world/DODJITCINTEROPERABILITYROOTCA2_IT.p7c"] = 1,
    ["p7b/real-world/caCertsIssuedTofbcag4.p7c"] = 6,
    ["p7b/pkits/pkits.p7b"] = 2,
    ["p7b/pkits/pkits_ee.p7b"] = 1,
    ["p7b/signed/mozilla-generated-by-openssl.pkcs7.der"] = 2,
    ["p7b/signed/pkcs7-signed.pem"] = 1,
    ["p7b/signed/pkcs7-signed.der"] = 1,
    ["p7b/mock-fpki/CertiPathBridgeCA-G2.p7c"] = 8,
    ["p7b/mock-fpki/siaDigiCertFederatedTrustCA.p7c"] = 31,
    ["p7b/mock-fpki/DODROOTCA2_IB.p7c"] = 24,
  }

  it("covers every p7b of the corpus", function()
    local out = h.run("cd " .. h.q(corpus) .. " && find p7b -type f | sort")
    local missing = {}
    for p in out:gmatch("[^\n]+") do
      if not files[p] then missing[#missing + 1] = p end
    end
    assert.same({}, missing)
  end)

  for path, n in pairs(files) do
    it("reads " .. path .. " (" .. n .. " certificates)", function()
      local r, err = pkcs7.load(cfile(path))
      assert(r, err)
      assert.equal(n, #r.certs)
      assert.same({}, r.crls)
      for _, c in ipairs(r.certs) do assert.truthy(c:subject()) end
      assert.equal(path:find("signed/") ~= nil, r.signed)
    end)
  end

  it("gives the same certificates for the PEM and the DER form", function()
    local a = assert(pkcs7.load(cfile("p7b/signed/pkcs7-signed.pem")))
    local b = assert(pkcs7.load(cfile("p7b/signed/pkcs7-signed.der")))
    assert.equal(a.certs[1]:to_der(), b.certs[1]:to_der())
  end)

  it("gives the certificates in file order", function()
    local r = assert(pkcs7.load(cfile("p7b/pkits/pkits.p7b")))
    local subjects = {}
    for i, c in ipairs(r.certs) do subjects[i] = c:subject():rfc4514() end
    local out = h.openssl("pkcs7 -inform DER -print_certs -noout -in " .. h.q(corpus .. "/p7b/pkits/pkits.p7b"))
    local i = 0
    for line in out:gmatch("subject=([^\n]+)") do
      i = i + 1
      assert.truthy(line:find(subjects[i]:match("CN=([^,]+)"), 1, true))
    end
    assert.equal(2, i)
  end)
end)

describe("pkcs7.build", function()
  local root = x509.load(cfile(GS .. "rootCA.cer"))
  local ssl1 = x509.load(cfile(GS .. "SSL1.cer"))
  local crl_der = A.seq(A.seq(A.int(1)), A.seq(), A.tlv(0x03, "\0")) -- a CRL-shaped SEQUENCE

  it("keeps the order given and reads back", function()
    for _, order in ipairs { { ssl1, root }, { root, ssl1 } } do
      local der = assert(pkcs7.build { certs = order })
      local r = assert(pkcs7.load(der))
      assert.equal(2, #r.certs)
      assert.is_true(r.certs[1] == order[1])
      assert.is_true(r.certs[2] == order[2])
      assert.is_false(r.signed)
    end
  end)

  it("writes CRLs as given, after the certificates", function()
    local crl = cfile("crls/mock-fpki/CertiPathBridgeCA-G2.crl") -- DER
    local der = assert(pkcs7.build { certs = { root }, crls = { crl, crl_der } })
    local r = assert(pkcs7.load(der))
    assert.equal(1, #r.certs)
    assert.same({ crl, crl_der }, r.crls)
  end)

  it("takes CRL objects (anything with to_der, as certbench.crl's)", function()
    local obj = { to_der = function() return crl_der end }
    local r = assert(pkcs7.load(assert(pkcs7.build { crls = { obj } })))
    assert.same({ crl_der }, r.crls)
  end)

  it("writes an empty bundle and a CRL-only bundle", function()
    local r = assert(pkcs7.load(assert(pkcs7.build {})))
    assert.same({}, r.certs)
    assert.same({}, r.crls)
    r = assert(pkcs7.load(assert(pkcs7.build { crls = { crl_der } })))
    assert.same({ crl_der }, r.crls)
  end)

  it("writes the structure openssl crl2pkcs7 writes", function()
    local der = assert(pkcs7.build { certs = { root } })
    local top = A.decode(der)
    assert.equal(1, #top)
    local ci = A.decode(top[1].content)
    assert.equal(A.oid(A.SIGNED_DATA), A.tlv(ci[1].tag, ci[1].content))
    local sd = A.decode(A.decode(ci[2].content)[1].content)
    assert.equal(A.int(1), A.tlv(sd[1].tag, sd[1].content)) -- version 1
    assert.equal(A.set(), A.tlv(sd[2].tag, sd[2].content))  -- no digest algorithms
    assert.equal(A.seq(A.oid(A.DATA)), A.tlv(sd[3].tag, sd[3].content))
    assert.equal(0xa0, sd[4].tag)
    assert.equal(root:to_der(), sd[4].content)
    assert.equal(A.set(), A.tlv(sd[5].tag, sd[5].content)) -- no signers
  end)

  it("refuses a CRL that is not one DER element", function()
    local der, err = pkcs7.build { crls = { "not der" } }
    assert.is_nil(der)
    assert.equal("pkcs7.build: a CRL is not one DER SEQUENCE", err)
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() pkcs7.build() end)
    assert.has_error(function() pkcs7.build { certs = "x" } end, "pkcs7.build: certs must be a table of certificates")
    assert.has_error(function() pkcs7.build { crls = "x" } end, "pkcs7.build: crls must be a table of DER strings")
    assert.has_error(function() pkcs7.build { certs = { root, "x" } } end, "pkcs7.build: certs[2] is not a certificate")
    assert.has_error(function() pkcs7.build { crls = { {} } } end,
                     "pkcs7.build: crls[1] must be DER (a string) or a CRL object")
    local closed = x509.load(cfile(GS .. "rootCA.cer"))
    closed:close()
    assert.has_error(function() pkcs7.build { certs = { closed } } end)
  end)
end)

describe("pkcs7.to_pem and PEM input", function()
  local root = x509.load(cfile(GS .. "rootCA.cer"))
  local der = assert(pkcs7.build { certs = { root } })

  it("writes PEM in 64 columns", function()
    local pem = pkcs7.to_pem(der)
    assert.truthy(pem:match("^%-%-%-%-%-BEGIN PKCS7%-%-%-%-%-\n"))
    assert.truthy(pem:match("\n%-%-%-%-%-END PKCS7%-%-%-%-%-\n$"))
    for line in pem:gmatch("[^\n]+") do assert.is_true(#line <= 64) end
    assert.is_true(pkcs7.load(pem).certs[1] == root)
    assert.has_error(function() pkcs7.to_pem(nil) end, "pkcs7.to_pem: der must be a string, not nil")
  end)

  it("reads PEM with CRLF, a BOM and text around it, and the CMS label", function()
    local pem = pkcs7.to_pem(der)
    local text = "\239\187\191Certificate bundle\r\n" .. pem:gsub("\n", "\r\n") .. "trailing text\r\n"
    assert.is_true(pkcs7.load(text).certs[1] == root)
    local cms = pem:gsub("PKCS7", "CMS")
    assert.is_true(pkcs7.load(cms).certs[1] == root)
    -- a certificate block before the PKCS7 one is skipped
    assert.is_true(pkcs7.load(root:to_pem() .. pem).certs[1] == root)
  end)

  it("reads base64 without armor", function()
    local b64 = pkcs7.to_pem(der):gsub("%-%-%-%-%-[^\n]+%-%-%-%-%-\n", "")
    assert.is_true(pkcs7.load(b64).certs[1] == root)
  end)
end)

describe("pkcs7.load errors", function()
  local root = x509.load(cfile(GS .. "rootCA.cer"))
  local der = assert(pkcs7.build { certs = { root } })

  local cases = {
    { "", "not_pkcs7", "empty input" },
    { "plain text", "not_pkcs7", "not DER" },
    { nil, "not_pkcs7", "PEM CERTIFICATE, not PKCS#7 %(x509.load_all reads certificate bundles%)" },
    { "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "not_pkcs7", "PEM X509 CRL, not PKCS#7" },
    { "-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n", "bad_pem", "bad base64" },
    { "-----BEGIN PKCS7-----\nMIIB\n", "truncated", "no END line" },
    { "der-cut", "truncated", "truncated PKCS#7 data" },
    { "ber-cut", "truncated", "truncated or corrupt" },
    { "cert", "not_pkcs7", "not PKCS#7 %(a certificate" },
    { A.seq(A.oid(A.DATA), A.explicit(0, A.octets("x"))), "unsupported", "content type 1.2.840.113549.1.7.1, not SignedData" },
    { A.seq(A.oid("1.2.3"), A.explicit(0, A.octets("x"))), "not_pkcs7", "content type 1.2.3" },
    { A.seq(A.oid(A.SIGNED_DATA), A.explicit(0, A.seq(A.int(1)))), "malformed", "malformed PKCS#7 SignedData" },
    { "badcert", "malformed", "certificate 1 of the PKCS#7 bundle does not parse" },
  }

  for i, case in ipairs(cases) do
    it("case " .. i .. ": " .. case[2] .. " (" .. case[3] .. ")", function()
      local data = case[1]
      if data == nil then data = root:to_pem() .. root:to_pem()
      elseif data == "der-cut" then data = der:sub(1, #der - 10)
      elseif data == "ber-cut" then data = A.berify(der):sub(1, -10)
      elseif data == "cert" then data = root:to_der()
      elseif data == "badcert" then
        data = A.seq(A.oid(A.SIGNED_DATA), A.explicit(0, A.seq(A.int(1), A.set(), A.seq(A.oid(A.DATA)),
          A.tlv(0xa0, A.seq(A.int(5))), A.set())))
      end
      local r, err, code = pkcs7.load(data, { name = "b.p7b" })
      assert.is_nil(r)
      assert.equal(case[2], code, err)
      assert.matches(case[3], err)
      assert.matches("^b%.p7b: ", err)
    end)
  end

  it("reads BER (indefinite lengths) and ignores bytes after the bundle", function()
    assert.is_true(pkcs7.load(A.berify(der)).certs[1] == root)
    assert.is_true(pkcs7.load(der .. "\0\0").certs[1] == root)
  end)

  it("skips certificate choices that are not X.509", function()
    local attr_cert = A.tlv(0xa1, A.seq(A.int(1))) -- [1] attribute certificate
    local data = A.seq(A.oid(A.SIGNED_DATA), A.explicit(0, A.seq(A.int(1), A.set(), A.seq(A.oid(A.DATA)),
      A.tlv(0xa0, root:to_der() .. attr_cert), A.set())))
    local r = assert(pkcs7.load(data))
    assert.equal(1, #r.certs)
  end)

  it("raises on a non-string", function()
    assert.has_error(function() pkcs7.load(nil) end, "pkcs7.load: data must be a string, not nil")
    assert.has_error(function() pkcs7.load({}) end)
  end)

  it("reads files and names them in messages", function()
    local r = assert(pkcs7.read(corpus .. "/p7b/pkits/pkits.p7b"))
    assert.equal(2, #r.certs)
    local r2, err = pkcs7.read(corpus .. "/pfx/rustcrypto/example.pfx")
    assert.is_nil(r2)
    assert.matches("example.pfx: ", err, 1, true)
    local r3, err3 = pkcs7.read("/nonexistent.p7b")
    assert.is_nil(r3)
    assert.matches("/nonexistent.p7b", err3, 1, true)
  end)
end)
