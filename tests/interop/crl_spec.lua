-- tests/interop/crl_spec.lua: certbench.crl against the openssl CLI in both directions, GnuTLS's
-- certtool and python3-cryptography, and on every CRL of the corpus (real-world, mock FPKI,
-- PKITS), entry by entry against `openssl crl -text`.
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local h = require "support.helper"
local F = require "support.crl"

-- openssl prints dates as "Jan  2 12:00:00 2024 GMT"
local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
local function openssl_time(s)
  local mon, d, H, M, S, y = s:match("^(%a%a%a) +(%d+) (%d%d):(%d%d):(%d%d) (%d+) GMT$")
  assert(mon, "unexpected openssl date: " .. tostring(s))
  return days_from_civil(tonumber(y), MONTHS[mon], tonumber(d)) * 86400 + tonumber(H) * 3600 + tonumber(M) * 60 + tonumber(S)
end

local REASONS = {
  ["Unspecified"] = "unspecified", ["Key Compromise"] = "keyCompromise", ["CA Compromise"] = "cACompromise",
  ["Affiliation Changed"] = "affiliationChanged", ["Superseded"] = "superseded",
  ["Cessation Of Operation"] = "cessationOfOperation", ["Certificate Hold"] = "certificateHold",
  ["Remove From CRL"] = "removeFromCRL", ["Privilege Withdrawn"] = "privilegeWithdrawn", ["AA Compromise"] = "aACompromise",
}

-- openssl_view reads `openssl crl -text` into { count=, number=, entries={ {serial=, date=,
-- reason=, invalidity_date=}... }, this_update=, next_update=, delta=, issuer= }
local function openssl_view(path)
  local out, rc = h.run(("openssl crl -in %s -inform %s -noout -text -nameopt oneline,-esc_msb,utf8"):format(
    h.q(path), h.read(path):find("-----BEGIN", 1, true) and "PEM" or "DER"))
  assert.equal(0, rc, out)
  local v = { entries = {} }
  local cur, want
  for line in out:gmatch("[^\n]+") do
    local serial = line:match("^    Serial Number: (%-?%x+)$")
    if serial then
      cur = { serial = serial }
      v.entries[#v.entries + 1] = cur
      want = nil
    elseif want then
      local text = line:match("^%s+(.-)%s*$")
      if want == "reason" then cur.reason = assert(REASONS[text], text)
      elseif want == "invalidity" then cur.invalidity_date = openssl_time(text)
      elseif want == "number" then v.number = text
      elseif want == "delta" then v.delta = text end
      want = nil
    elseif line:match("^        Revocation Date: ") then
      cur.date = openssl_time(line:match("Revocation Date: (.*)$"))
    elseif line:match("X509v3 CRL Reason Code:") then want = "reason"
    elseif line:match("^%s+Invalidity Date:") then want = "invalidity"
    elseif line:match("^            X509v3 CRL Number:") then want = "number"
    elseif line:match("^            X509v3 Delta CRL Indicator:") then want = "delta"
    elseif line:match("^        Last Update: ") then v.this_update = openssl_time(line:match("Update: (.*)$"))
    elseif line:match("^        Next Update: ") then
      local t = line:match("Update: (.*)$")
      v.next_update = t ~= "NONE" and openssl_time(t) or nil
    elseif line:match("^        Issuer: ") then v.issuer = line:match("Issuer: (.*)$")
    elseif line:match("^    Signature Algorithm") then cur = nil
    end
  end
  v.count = #v.entries
  return v
end

local function hex_to_dec(hex)
  -- CRL numbers fit 64 bits in all our data; openssl prints them in decimal
  return ("%d"):format(tonumber(hex, 16))
end

-- same compares certbench's view of a CRL with openssl's, entry by entry
local function same(c, v, label)
  assert.equal(v.count, c:count(), label)
  local i = 0
  for e in c:entries() do
    i = i + 1
    local o = v.entries[i]
    if o.serial ~= e.serial or o.date ~= e.date or o.reason ~= e.reason or o.invalidity_date ~= e.invalidity_date then
      assert.same(o, { serial = e.serial, date = e.date, reason = e.reason, invalidity_date = e.invalidity_date },
        label .. ": entry " .. i)
    end
  end
  assert.equal(v.count, i, label)
  assert.equal(v.this_update, c:this_update(), label)
  assert.equal(v.next_update, c:next_update(), label)
  if v.number and #c:number() <= 15 then assert.equal(v.number, hex_to_dec(c:number()), label) end
  if v.delta then assert.equal(v.delta, hex_to_dec(c:delta_base()), label) end
end

describe("crl interop", function()
  local fx
  setup(function() fx = F.get() end)

  describe("openssl writes, certbench reads", function()
    it("a CRL of openssl ca -gencrl, field by field", function()
      local path = fx.gencrl({
        fx.revoked("0A", "240101120000Z", "keyCompromise"),
        fx.revoked("01", "240102120000Z"),
        fx.revoked("0FFF", "240103120000Z", "CACompromise"),
        fx.revoked("0B", "240104120000Z", "certificateHold", "holdInstructionReject"),
        fx.revoked("0D", "240106120000Z", "affiliationChanged"),
        fx.revoked("0E", "240107120000Z", "cessationOfOperation"),
        fx.revoked("0F", "240108120000Z", "removeFromCRL"),
        fx.revoked("10", "240109120000Z", "unspecified"),
        fx.revoked("00FF112233445566778899AABBCCDDEEFF001122", "240105120000Z", "superseded"),
        fx.revoked("0C", "240101120000Z", "keyTime", "20231225000000Z"),
        fx.revoked("11", "240101120000Z", "CAkeyTime", "20231226000000Z"),
        "V\t301231235959Z\t\t05\tunknown\t/CN=valid\n",
      }, { crlnumber = "12AB" })
      local c = assert(crl.load(h.read(path)))
      local v = openssl_view(path)
      same(c, v, "gencrl")
      assert.equal(11, c:count())
      assert.equal("12AB", c:number())
      assert.equal(v.issuer, c:issuer():text())
      assert.equal(fx.rsa.cert:ski(), c:aki())
      assert.is_true(c:verify(fx.rsa.cert))
      assert.is_nil(c:lookup("05"))
      assert.equal(1703548800, c:lookup("11").invalidity_date)
      local hash = h.openssl("crl -in " .. h.q(path) .. " -noout -hash"):match("%x+")
      assert.equal(hash, c:issuer():hash())
    end)

    it("a version 1 CRL without extensions", function()
      local path = fx.gencrl({ fx.revoked("02", "240101120000Z") }, { v1 = true })
      local c = assert(crl.load(h.read(path)))
      assert.equal(1, c:version())
      assert.is_nil(c:number())
      assert.is_nil(c:aki())
      assert.same({}, c:extensions())
      assert.is_true(c:verify(fx.rsa.cert))
      same(c, openssl_view(path), "v1")
    end)

    it("CRLs signed with SHA-1/384/512, ECDSA and Ed25519", function()
      for _, case in ipairs {
        { ca = fx.rsa, md = "sha1", alg = "sha1WithRSAEncryption" },
        { ca = fx.rsa, md = "sha384", alg = "sha384WithRSAEncryption" },
        { ca = fx.rsa, md = "sha512", alg = "sha512WithRSAEncryption" },
        { ca = fx.ec, md = "sha256", alg = "ecdsa-with-SHA256" },
        { ca = fx.ec, md = "sha512", alg = "ecdsa-with-SHA512" },
        { ca = fx.ed, md = "default", alg = "ED25519" },
      } do
        local path = fx.gencrl({ fx.revoked("07", "240101120000Z", "superseded") }, { ca = case.ca, md = case.md })
        local c = assert(crl.load(h.read(path)))
        assert.equal(case.alg, c:signature_algorithm())
        assert.same({ true }, { c:verify(case.ca.cert) }, case.alg)
        assert.same({ true }, { c:verify(case.ca.pkey) }, case.alg)
        assert.is_false((c:verify(fx.other_key)))
      end
    end)

    it("an RSA-PSS CRL of openssl ca", function()
      local path = fx.gencrl({ fx.revoked("09", "240101120000Z") },
        { extra = "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32" })
      local c = assert(crl.load(h.read(path)))
      assert.equal("rsassaPss", c:signature_algorithm())
      assert.same({ true }, { c:verify(fx.rsa.cert) })
      assert.is_false((c:verify(fx.other_key)))
      same(c, openssl_view(path), "pss")
    end)
  end)

  describe("certbench writes, openssl reads", function()
    local function write(c, name)
      local path = fx.dir .. "/" .. name
      assert(fs.write(path, c:to_pem()))
      return path
    end

    it("openssl crl -CAfile verifies certbench's CRLs, each kind of key", function()
      for _, case in ipairs {
        { ca = fx.rsa }, { ca = fx.rsa, digest = "sha1" }, { ca = fx.rsa, digest = "sha512" },
        { ca = fx.rsa, pss = true }, { ca = fx.rsa, pss = true, digest = "sha384" },
        { ca = fx.ec }, { ca = fx.ec, digest = "sha384" }, { ca = fx.ed },
      } do
        local c = assert(crl.new { issuer = case.ca.cert, key = case.ca.pkey, digest = case.digest, pss = case.pss,
          days = 7, number = 42, entries = { { serial = "0A", reason = "keyCompromise", date = 1700000000 } } })
        local path = write(c, "made.pem")
        local out, rc = h.openssl(("crl -in %s -CAfile %s -noout"):format(h.q(path), h.q(case.ca.pem)))
        assert.equal(0, rc, out)
        assert.matches("verify OK", out, 1, true)
        -- the other way round, with the wrong CA
        local wrong = case.ca == fx.rsa and fx.ec or fx.rsa
        out = h.openssl(("crl -in %s -CAfile %s -noout"):format(h.q(path), h.q(wrong.pem)))
        assert.not_matches("verify OK", out, 1, true)
      end
    end)

    it("openssl reads every field certbench writes", function()
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, this_update = 1764000000,
        next_update = 1764000000 + 86400, number = "0100",
        idp = { urls = { "http://crl.example/rsa.crl" }, only_user = true, only_some_reasons = { "keyCompromise" } },
        entries = {
          { serial = "0A", date = 1700000000, reason = "keyCompromise", invalidity_date = 1690000000 },
          { serial = "0B", date = 1700000100, reason = "cessationOfOperation" },
          { serial = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", date = 1700000200 },
          { serial = "0C", date = 1700000300, reason = "aACompromise" },
          { serial = "0D", date = 1700000400, reason = "privilegeWithdrawn" },
        } })
      local path = write(c, "fields.pem")
      local v = openssl_view(path)
      same(c, v, "certbench")
      assert.equal("256", v.number)
      local text = h.openssl("crl -in " .. h.q(path) .. " -noout -text")
      assert.matches("X509v3 Issuing Distribution Point: critical", text, 1, true)
      assert.matches("URI:http://crl.example/rsa.crl", text, 1, true)
      assert.matches("Only User Certificates", text, 1, true)
      assert.matches("Only Some Reasons:%s+Key Compromise", text)
      assert.matches("X509v3 Authority Key Identifier:", text, 1, true)
      -- openssl's DER is byte for byte what certbench wrote
      local der = h.run("openssl crl -in " .. h.q(path) .. " -outform DER")
      assert.equal(c:to_der(), der)
    end)

    it("openssl verify -crl_check sees revoked and good leaves", function()
      local revoked = fx.leaf("5A")
      local good = fx.leaf("5B")
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, days = 1, number = 1,
        entries = { { serial = "5A", reason = "keyCompromise" } } })
      local path = write(c, "leafcheck.pem")
      local cmd = "verify -crl_check -CAfile %s -CRLfile %s %s"
      local out, rc = h.openssl(cmd:format(h.q(fx.rsa.pem), h.q(path), h.q(good)))
      assert.equal(0, rc, out)
      out, rc = h.openssl(cmd:format(h.q(fx.rsa.pem), h.q(path), h.q(revoked)))
      assert.are_not.equal(0, rc)
      assert.matches("certificate revoked", out, 1, true)
      -- and certbench agrees
      assert.equal("keyCompromise", c:lookup(assert(x509.load(h.read(revoked)))).reason)
      assert.is_nil(c:lookup(assert(x509.load(h.read(good)))))
    end)

    it("delta CRLs: openssl applies them with -use_deltas", function()
      local leaf = fx.leaf("6A")
      -- openssl looks for deltas only when the base (or the certificate) has a Freshest CRL
      local base = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, days = 7, number = 20,
        freshest = { "http://crl.example/delta.crl" }, entries = { { serial = "01", reason = "superseded" } } })
      assert.same({ "http://crl.example/delta.crl" }, base:freshest_crl())
      local delta = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, hours = 6, number = 21, delta_base = 20,
        entries = { { serial = "6A", reason = "keyCompromise" } } })
      local bp, dp = write(base, "base.pem"), write(delta, "delta.pem")
      local text = h.openssl("crl -in " .. h.q(dp) .. " -noout -text")
      assert.matches("X509v3 Delta CRL Indicator: critical%s+20", text)
      local out, rc = h.openssl(("crl -in %s -CAfile %s -noout"):format(h.q(dp), h.q(fx.rsa.pem)))
      assert.equal(0, rc, out)
      local cmd = ("verify -crl_check -extended_crl -use_deltas -CAfile %s -CRLfile %s%s %s"):format(h.q(fx.rsa.pem), h.q(bp), "%s", h.q(leaf))
      out, rc = h.openssl(cmd:format(""))
      assert.equal(0, rc, out) -- the base alone: not revoked
      out, rc = h.openssl(cmd:format(" -CRLfile " .. h.q(dp)))
      assert.are_not.equal(0, rc, out)
      assert.matches("certificate revoked", out, 1, true)
    end)

    it("GnuTLS certtool verifies certbench's CRLs", function()
      for _, ca in ipairs { fx.rsa, fx.ec, fx.ed } do
        local c = assert(crl.new { issuer = ca.cert, key = ca.pkey, days = 1, number = 3, entries = { { serial = "0A", reason = "superseded" } } })
        local path = write(c, "gnutls.pem")
        local out, rc = h.run(("certtool --verify-crl --load-ca-certificate %s --infile %s"):format(h.q(ca.pem), h.q(path)))
        assert.equal(0, rc, out)
        assert.matches("Verified", out, 1, true)
      end
    end)

    it("python3-cryptography reads certbench's CRLs and checks their signatures", function()
      local c = assert(crl.new { issuer = fx.ec.cert, key = fx.ec.pkey, days = 1, number = 77, entries = {
        { serial = "0A", reason = "keyCompromise", date = 1700000000 }, { serial = "0B", date = 1700000001 } } })
      local path = fx.dir .. "/py.der"
      assert(fs.write(path, c:to_der()))
      local script = table.concat({
        "import sys",
        "from cryptography import x509",
        "crl = x509.load_der_x509_crl(open(sys.argv[1], 'rb').read())",
        "ca = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())",
        "print(crl.is_signature_valid(ca.public_key()))",
        "print(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)",
        "for r in crl: print('%X' % r.serial_number, int(r.revocation_date_utc.timestamp()) if hasattr(r, 'revocation_date_utc') else int(r.revocation_date.timestamp()))",
      }, "\n")
      assert(fs.write(fx.dir .. "/check.py", script))
      local out, rc = h.run(("/usr/bin/python3 %s %s %s 2>&1"):format(h.q(fx.dir .. "/check.py"), h.q(path), h.q(fx.ec.pem)))
      assert.equal(0, rc, out)
      assert.equal("True\n77\nA 1700000000\nB 1700000001\n", out)
    end)
  end)

  describe("the test data", function()
    local corpus = h.data
    local function files(dir)
      local out = {}
      for f in h.run("find " .. h.q(corpus .. "/" .. dir) .. " -type f | sort"):gmatch("[^\n]+") do out[#out + 1] = f end
      return out
    end

    it("every real-world and mock FPKI CRL loads, entry by entry as openssl reads it", function()
      local list = files("crls")
      assert.equal(12, #list)
      -- the counts tests/data/MANIFEST.md states
      local manifest = {
        ["eid2011.crl"] = 15752, ["1-crl.crl"] = 4, ["2-crl.crl"] = 24483, ["crls_1-crl.crl"] = 0,
        ["TrustAsiaEVTLSProCAG2.crl"] = 1, ["tscpbcasha256.crl"] = 4, ["crl.pem"] = 1, ["no_revoked.crl"] = 0,
        ["DODCA_30.crl"] = 164618, ["EOP-SSP-CA-B8.crl"] = 10017, ["CertiPathBridgeCA-G2.crl"] = 4,
      }
      for _, path in ipairs(list) do
        local c, err = crl.load_file(path)
        assert(c, err)
        local v = openssl_view(path)
        same(c, v, path)
        local want = manifest[path:match("[^/]+$")]
        if want and want > 0 then assert.equal(want, c:count(), path) end
      end
    end)

    it("every PKITS CRL loads, entry by entry as openssl reads it", function()
      local list = files("pkits/crls")
      assert.equal(173, #list)
      local deltas = 0
      for _, path in ipairs(list) do
        local c, err = crl.load_file(path)
        assert(c, err)
        same(c, openssl_view(path), path)
        if c:is_delta() then deltas = deltas + 1 end
      end
      assert.equal(4, deltas)
    end)

    it("PKITS delta CRLs name their base", function()
      local dir = corpus .. "/pkits/crls/"
      local base = assert(crl.load_file(dir .. "deltaCRLCA1CRL.crl"))
      local delta = assert(crl.load_file(dir .. "deltaCRLCA1deltaCRL.crl"))
      assert.is_false(base:is_delta())
      assert.is_true(delta:is_delta())
      assert.equal(base:number(), delta:delta_base())
      assert.is_true(tonumber(delta:number(), 16) > tonumber(base:number(), 16))
      -- an entry of the delta removes a hold of the base
      local removed = 0
      for e in delta:entries() do if e.reason == "removeFromCRL" then removed = removed + 1 end end
      assert.is_true(removed > 0)
    end)

    it("PKITS issuing distribution points and indirect CRLs", function()
      local dir = corpus .. "/pkits/crls/"
      local c = assert(crl.load_file(dir .. "onlyContainsUserCertsCACRL.crl"))
      assert.is_true(c:issuing_distribution_point().only_user)
      c = assert(crl.load_file(dir .. "onlyContainsCACertsCACRL.crl"))
      assert.is_true(c:issuing_distribution_point().only_ca)
      c = assert(crl.load_file(dir .. "onlySomeReasonsCA1compromiseCRL.crl"))
      assert.same({ "keyCompromise", "cACompromise" }, c:issuing_distribution_point().only_some_reasons)
      c = assert(crl.load_file(dir .. "indirectCRLCA5CRL.crl"))
      assert.is_true(c:issuing_distribution_point().indirect)
      -- indirect CRL entries name the issuer of the revoked certificate
      local named = 0
      for e in c:entries() do if e.certificate_issuer then named = named + 1 end end
      assert.is_true(named > 0)
      for e in c:entries() do
        if e.certificate_issuer then
          assert.equal(e.certificate_issuer:der(), c:lookup(e.serial).certificate_issuer:der())
        end
      end
    end)

    it("PKITS indirect CRL: a certificate is on it only under its own issuer", function()
      local c = assert(crl.load_file(corpus .. "/pkits/crls/indirectCRLCA5CRL.crl"))
      local revoked = {}
      for _, path in ipairs(files("pkits/certs")) do
        local cert = assert(x509.load(h.read(path)))
        if c:lookup(cert) then revoked[#revoked + 1] = path:match("[^/]+$") end
      end
      -- PKITS 4.14.31, 4.14.32 and 4.14.34: revoked on CA5's indirect CRL; the many other
      -- certificates with serials 01..0B come from other CAs
      assert.same({ "InvalidcRLIssuerTest31EE.crt", "InvalidcRLIssuerTest32EE.crt", "InvalidcRLIssuerTest34EE.crt" }, revoked)
      local e = c:lookup(assert(x509.load(h.read(corpus .. "/pkits/certs/InvalidcRLIssuerTest32EE.crt"))))
      assert.equal("C = US, O = Test Certificates 2011, CN = indirectCRL CA6", e.certificate_issuer:text())
    end)

    it("PKITS signatures verify with their issuers; the bad ones fail", function()
      local certs = {}
      for _, path in ipairs(files("pkits/certs")) do certs[#certs + 1] = assert(x509.load(h.read(path))) end
      local failed = {}
      local verified = 0
      for _, path in ipairs(files("pkits/crls")) do
        local c = assert(crl.load_file(path))
        local ok, whys = false, {}
        for _, cert in ipairs(certs) do
          if cert:subject():equals(c:issuer()) then
            local v, why = c:verify(cert)
            if v then ok = true break end
            whys[#whys + 1] = why
          end
        end
        if ok then verified = verified + 1
        else failed[path:match("[^/]+$")] = whys[1] or "no issuer certificate" end
      end
      assert.same({
        ["BadCRLIssuerNameCACRL.crl"] = "no issuer certificate",
        ["BadCRLSignatureCACRL.crl"] = "bad signature (the signature BIT STRING has unused bits)",
        ["DSAParametersInheritedCACRL.crl"] = "the DSA key has no parameters (inherited from its issuer): not supported",
        ["TwoCRLsCABadCRL.crl"] = "no issuer certificate",
        ["keyUsageCriticalcRLSignFalseCACRL.crl"] = "the issuer certificate's key usage does not allow signing CRLs (no cRLSign)",
        ["keyUsageNotCriticalcRLSignFalseCACRL.crl"] = "the issuer certificate's key usage does not allow signing CRLs (no cRLSign)",
      }, failed)
      assert.equal(173 - 6, verified)
    end)

    it("PKITS: the CRL with a bad signature fails with its CA's key too", function()
      local c = assert(crl.load_file(corpus .. "/pkits/crls/BadCRLSignatureCACRL.crl"))
      local ca = assert(x509.load(h.read(corpus .. "/pkits/certs/BadCRLSignatureCACert.crt")))
      assert.is_false((c:verify(ca)))
      assert.is_false((c:verify(ca:public_key())))
      -- and openssl agrees
      h.openssl(("x509 -inform DER -in %s -out %s"):format(h.q(corpus .. "/pkits/certs/BadCRLSignatureCACert.crt"),
        h.q(fx.dir .. "/bad.pem")))
      local out = h.openssl(("crl -inform DER -in %s -noout -CAfile %s"):format(
        h.q(corpus .. "/pkits/crls/BadCRLSignatureCACRL.crl"), h.q(fx.dir .. "/bad.pem")))
      assert.matches("invalid bit string bits left", out, 1, true)
      assert.not_matches("verify OK", out, 1, true)
    end)

    it("real-world CRLs verify with the certificates of their chains", function()
      local function check(crlpath, certpath)
        local c = assert(crl.load_file(corpus .. "/" .. crlpath))
        local cert = assert(x509.load(h.read(corpus .. "/" .. certpath)))
        assert.same({ true }, { c:verify(cert) }, crlpath)
      end
      check("crls/real-world/harvard.edu/1-crl.crl", "chains/rust-pki/harvard.edu/0-ta.der")
      check("crls/real-world/harvard.edu/2-crl.crl", "chains/rust-pki/harvard.edu/1.der")
      check("crls/real-world/makaan.com/crls_1-crl.crl", "chains/rust-pki/makaan.com/0-ta.der")
      check("crls/real-world/intel.com/crls_1-crl.crl", "chains/rust-pki/intel.com/0-ta.der")
      check("crls/pem/crl.pem", "chains/lua-resty-openssl-crl/subca.cert.pem")
      check("crls/pem/no_revoked.crl", "chains/asn1crypto/lets_encrypt/isrgrootx1.pem")
      local c = assert(crl.load_file(corpus .. "/crls/pem/crl.pem"))
      local revoked = assert(x509.load(h.read(corpus .. "/chains/lua-resty-openssl-crl/revoked.cert.pem")))
      local valid = assert(x509.load(h.read(corpus .. "/chains/lua-resty-openssl-crl/valid.cert.pem")))
      assert.equal(revoked:serial(), c:lookup(revoked).serial)
      assert.is_nil(c:lookup(valid))
    end)
  end)
end)
