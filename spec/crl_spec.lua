-- spec/crl_spec.lua: certbench.crl, every function and error path. The CRLs come from the
-- openssl CLI (spec/support/crl.lua) and from crl.new; tests/interop/crl_spec.lua checks both
-- directions against openssl itself and the corpus.
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local h = require "support.helper"
local F = require "support.crl"
local memory = require "support.memory"

local T2024_01_01_12 = 1704110400 -- 2024-01-01T12:00:00Z
local T2023_12_25 = 1703462400    -- 2023-12-25T00:00:00Z

local fx, pem, der

-- the reference CRL: openssl ca -gencrl with reasons, an invalidity date, a hold
local function reference()
  if pem then return end
  fx = F.get()
  local path = fx.gencrl({
    fx.revoked("0A", "240101120000Z", "keyCompromise"),
    fx.revoked("01", "240102120000Z"),
    fx.revoked("0FFF", "240103120000Z", "CACompromise"),
    fx.revoked("0B", "240104120000Z", "certificateHold", "holdInstructionReject"),
    fx.revoked("00FF112233445566778899AABBCCDDEEFF001122", "240105120000Z", "superseded"),
    fx.revoked("0C", "240101120000Z", "keyTime", "20231225000000Z"),
  }, { crlnumber = "1000" })
  pem = h.read(path)
  der = h.run("openssl crl -in " .. h.q(path) .. " -outform DER")
end

describe("certbench.crl", function()
  setup(reference)

  describe("load", function()
    it("reads a PEM CRL", function()
      local c = assert(crl.load(pem))
      assert.equal(6, c:count())
      assert.equal(2, c:version())
    end)

    it("reads a DER CRL and gives back the same bytes", function()
      local c = assert(crl.load(der))
      assert.equal(6, c:count())
      assert.equal(der, c:to_der())
    end)

    it("reads PEM with text around, CRLF line ends and a UTF-8 BOM", function()
      local text = "\239\187\191Bag Attributes: none\r\nsubject=whatever\r\n" ..
        pem:gsub("\n", "\r\n") .. "trailing words\r\n"
      local c = assert(crl.load(text))
      assert.equal(der, c:to_der())
    end)

    it("reads a DER CRL after a BOM and base64 without the armor", function()
      assert.equal(der, assert(crl.load("\239\187\191" .. der)):to_der())
      local body = pem:match("%-%-%-%-%-BEGIN X509 CRL%-%-%-%-%-\n(.-)%-%-%-%-%-END")
      assert.equal(der, assert(crl.load(body)):to_der())
    end)

    it("reads a PEM block labelled CRL", function()
      local c = assert(crl.load((pem:gsub("X509 CRL", "CRL"))))
      assert.equal(6, c:count())
    end)

    it("tolerates whitespace after a DER CRL, not other bytes", function()
      assert.truthy(crl.load(der .. "\n\r\n"))
      local c, err = crl.load(der .. "x")
      assert.is_nil(c)
      assert.equal("crl.load: trailing data after the CRL at offset " .. #der, err)
    end)

    it("names a certificate, a request, a key and a PKCS#7 as not a CRL", function()
      local certpem = h.read(fx.rsa.pem)
      local _, err = crl.load(certpem)
      assert.equal("crl.load: not a CRL (found PEM CERTIFICATE)", err)
      _, err = crl.load(fx.rsa.cert:to_der())
      assert.equal("crl.load: not a CRL (a certificate)", err)
      local csr = h.run(("openssl req -new -key %s -subj /CN=x -outform DER"):format(h.q(fx.rsa.key)))
      _, err = crl.load(csr)
      assert.matches("^crl.load: not a CRL %(version 0 at offset %d+: a certificate request%?%)$", err)
      _, err = crl.load(fx.other_key:to_der())
      assert.matches("^crl.load: not a CRL", err)
      local p7 = h.run(("openssl crl2pkcs7 -nocrl -certfile %s -outform DER"):format(h.q(fx.rsa.pem)))
      _, err = crl.load(p7)
      assert.equal("crl.load: not a CRL (a PKCS#7 or other ContentInfo)", err)
      _, err = crl.load(h.read(fx.rsa.key))
      assert.equal("crl.load: not a CRL (found PEM PRIVATE KEY)", err)
    end)

    it("says what it found for text, empty input and binary junk", function()
      assert.same({ nil, "crl.load: not a CRL (empty)" }, { crl.load("") })
      assert.same({ nil, "crl.load: not a CRL (neither PEM nor DER)" }, { crl.load("hello, world") })
      assert.same({ nil, "crl.load: not a CRL (neither PEM nor DER)" }, { crl.load("\1\2\3") })
      assert.same({ nil, "crl.load: not a CRL (empty)" }, { crl.load("\239\187\191") })
    end)

    it("names the offset of a truncation", function()
      local _, err = crl.load(der:sub(1, 100))
      assert.equal(("crl.load: truncated DER at offset 0: the CRL needs %d bytes, 96 present"):format(#der - 4), err)
      _, err = crl.load(der:sub(1, 1))
      assert.equal("crl.load: truncated DER at offset 0: the CRL has no length", err)
    end)

    it("names the offset of a bad element inside", function()
      -- break the tag of the first entry's serial (INTEGER -> OCTET STRING)
      local c = assert(crl.load(der))
      local first = c:to_der():find("\48[%z\1-\127]\2\1\1\23", 1) -- SEQUENCE { INTEGER 01, UTCTime
      assert.truthy(first)
      local broken = der:sub(1, first + 1) .. "\4" .. der:sub(first + 3)
      local d, err = crl.load(broken)
      assert.is_nil(d)
      assert.equal(("crl.load: entry 1: bad DER at offset %d: expected an entry's serial number, found tag 0x04"):format(first + 1), err)
    end)

    it("rejects a bad revocation date and a bad reason code at load", function()
      local at = der:find("240102120000Z", 1, true)
      local broken = der:sub(1, at - 1) .. "241302120000Z" .. der:sub(at + 13)
      local _, err = crl.load(broken)
      assert.equal(("crl.load: entry 1: bad time at offset %d: the revocation date is \"241302120000Z\""):format(at - 3), err)
      -- the reason code of 0A (keyCompromise, 1) becomes 7, which RFC 5280 leaves unused
      local r = der:find("\6\3\85\29\21\4\3\10\1\1", 1, true)
      broken = der:sub(1, r + 8) .. "\7" .. der:sub(r + 10)
      _, err = crl.load(broken)
      assert.matches("^crl.load: entry 2: bad reason code at offset %d+$", err)
    end)

    it("says bad base64 and truncated PEM", function()
      local _, err = crl.load("-----BEGIN X509 CRL-----\nMIIB*AA==\n-----END X509 CRL-----\n")
      assert.equal("crl.load: bad base64 in the PEM block at line 1", err)
      _, err = crl.load("text\n" .. pem:gsub("%-%-%-%-%-END X509 CRL%-%-%-%-%-\n", ""))
      assert.equal("crl.load: truncated PEM: no END line for the block at line 2", err)
      _, err = crl.load(string.rep("QUJD", 30) .. "A")
      assert.equal("crl.load: bad base64", err)
    end)

    it("tells where inside a PEM block a DER error is", function()
      local trunc = crl.load(der):to_pem():gsub("\n[^\n]+\n%-%-%-%-%-END", "\n-----END")
      local _, err = crl.load("intro\n" .. trunc)
      assert.matches("^crl.load: truncated DER at offset 0: .* %(in the PEM block at line 2%)$", err)
    end)

    it("raises for a wrong argument type", function()
      assert.has_error(function() crl.load(nil) end)
      assert.has_error(function() crl.load({}) end)
    end)
  end)

  describe("load_all", function()
    it("reads every CRL of a PEM bundle, skipping other blocks and text", function()
      local c2 = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, number = 7, days = 1 })
      local bundle = "# bundle\n" .. pem .. h.read(fx.rsa.pem) .. "text\r\n" .. c2:to_pem()
      local list = assert(crl.load_all(bundle))
      assert.equal(2, #list)
      assert.equal(6, list[1]:count())
      assert.equal("07", list[2]:number())
    end)

    it("reads concatenated DER CRLs, and a single one", function()
      local c2 = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, number = 8 })
      local list = assert(crl.load_all(der .. c2:to_der()))
      assert.equal(2, #list)
      assert.equal("08", list[2]:number())
      assert.equal(1, #assert(crl.load_all(der)))
    end)

    it("fails naming the block or the offset", function()
      local _, err = crl.load_all(h.read(fx.rsa.pem))
      assert.equal("crl.load_all: not a CRL (found PEM CERTIFICATE)", err)
      _, err = crl.load_all(der .. der:sub(1, 50))
      assert.equal(("crl.load_all: DER CRL 2 (at byte %d): truncated DER at offset 0: the CRL needs %d bytes, 46 present"):format(#der, #der - 4), err)
      _, err = crl.load_all(der .. "junk")
      assert.equal(("crl.load_all: trailing data at byte %d"):format(#der), err)
      _, err = crl.load_all("x\n-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n")
      assert.equal("crl.load_all: bad base64 in the PEM block at line 2", err)
      local broken = crl.load(der):to_pem():gsub("\n[^\n]+\n%-%-%-%-%-END", "\n-----END")
      _, err = crl.load_all(broken)
      assert.matches("^crl.load_all: the PEM block at line 1: truncated DER", err)
      _, err = crl.load_all("-----BEGIN X509 CRL-----\nAAAA\n")
      assert.equal("crl.load_all: truncated PEM: no END line for the block at line 1", err)
      _, err = crl.load_all("")
      assert.equal("crl.load_all: not a CRL (empty)", err)
    end)
  end)

  describe("load_file", function()
    it("reads PEM and DER files", function()
      local dir = h.tmpdir()
      h.write(dir .. "/a.crl", der)
      h.write(dir .. "/b.pem", "\239\187\191" .. pem)
      h.write(dir .. "/c.crl", "\239\187\191" .. der)
      assert.equal(der, assert(crl.load_file(dir .. "/a.crl")):to_der())
      assert.equal(der, assert(crl.load_file(dir .. "/b.pem")):to_der())
      assert.equal(der, assert(crl.load_file(dir .. "/c.crl")):to_der())
    end)

    it("reads a file of bare base64 (decoded before the file's buffer is freed)", function()
      local dir = h.tmpdir()
      h.write(dir .. "/a.der", der)
      h.write(dir .. "/a.b64", h.sh("openssl base64 -in " .. h.q(dir .. "/a.der")))
      assert.equal(der, assert(crl.load_file(dir .. "/a.b64")):to_der())
      -- not a CRL once decoded: a message, and under ASan no read of freed memory
      h.write(dir .. "/y.b64", ("y"):rep(64))
      local c, err = crl.load_file(dir .. "/y.b64")
      assert.is_nil(c)
      assert.matches("y.b64: ", err, 1, true)
    end)

    it("names the file and the cause", function()
      local dir = h.tmpdir()
      local c, err, code = crl.load_file(dir .. "/missing.crl")
      assert.is_nil(c)
      assert.equal(dir .. "/missing.crl: No such file or directory", err)
      assert.equal(2, code)
      _, err = crl.load_file(dir)
      assert.equal(dir .. ": Is a directory", err)
      h.write(dir .. "/x.crl", der)
      _, err = crl.load_file(dir .. "/x.crl", 100)
      assert.equal(("%s/x.crl: file too large (%d bytes, the limit is 100)"):format(dir, #der), err)
      h.write(dir .. "/cert.pem", h.read(fx.rsa.pem))
      _, err = crl.load_file(dir .. "/cert.pem")
      assert.equal(dir .. "/cert.pem: not a CRL (found PEM CERTIFICATE)", err)
      h.write(dir .. "/t.crl", der:sub(1, 300))
      _, err = crl.load_file(dir .. "/t.crl")
      assert.matches("t.crl: truncated DER at offset 0", err, 1, true)
    end)

    it("reads from a pipe, within the limit", function()
      local dir = h.tmpdir()
      h.write(dir .. "/a.crl", der)
      assert(os.execute("mkfifo " .. h.q(dir .. "/fifo")))
      assert(os.execute(("(cat %s > %s &)"):format(h.q(dir .. "/a.crl"), h.q(dir .. "/fifo"))))
      assert.equal(der, assert(crl.load_file(dir .. "/fifo")):to_der())
      assert(os.execute(("(cat %s > %s &)"):format(h.q(dir .. "/a.crl"), h.q(dir .. "/fifo"))))
      local c, err = crl.load_file(dir .. "/fifo", 100)
      assert.is_nil(c)
      assert.equal(dir .. "/fifo: file too large (more than 100 bytes)", err)
    end)
  end)

  describe("scan_file", function()
    -- every field as load_file gives it
    -- (scan_path, scan_opts: another file to scan, a gzip of path, and its options)
    local function same_as_loaded(path, chunk, ca, scan_path, scan_opts)
      local w = assert(crl.load_file(path))
      local o = scan_opts or {}
      o.chunk = chunk
      local s = assert(crl.scan_file(scan_path or path, o))
      for _, m in ipairs { "issuer_der", "this_update", "next_update", "number", "delta_base", "is_delta", "aki",
                           "signature_algorithm", "version", "count" } do
        assert.equal(w[m](w), s[m](s), m)
      end
      assert.equal(tostring(w:issuer()), tostring(s:issuer()))
      assert.same(w:issuing_distribution_point(), s:issuing_distribution_point())
      assert.same(w:freshest_crl(), s:freshest_crl())
      assert.same(w:extensions(), s:extensions())
      assert.equal(w:fingerprint(), s:fingerprint())
      assert.equal(w:fingerprint("sha1"), s:fingerprint("sha1"))
      local list = {}
      for e in w:entries() do list[#list + 1] = e end
      local i = 0
      for e in s:entries() do
        i = i + 1
        assert.same(list[i], e)
      end
      assert.equal(#list, i)
      i = 0
      for serial in s:serials() do
        i = i + 1
        assert.equal(list[i].serial, serial)
      end
      if ca then
        assert.same({ w:verify(ca.cert) }, { s:verify(ca.cert) })
        assert.is_true(s:verify(ca.cert))
        if ca.pkey:type() == "rsa" then assert.same({ false, "bad signature" }, { s:verify(fx.other_key) }) end
      end
      return s, w
    end

    it("gives what load_file gives, read in pieces of any size", function()
      local dir = h.tmpdir()
      h.write(dir .. "/a.crl", der)
      for _, chunk in ipairs { 64, 65, 97, 128, 200, 512, 0 } do same_as_loaded(dir .. "/a.crl", chunk, fx.rsa) end
    end)

    it("verifies RSA-PSS, EC and Ed25519 CRLs of thousands of entries, and a tampered one not", function()
      local dir = h.tmpdir()
      local entries = {}
      for i = 1, 3000 do entries[i] = { serial = ("%06X"):format(i * 977), date = T2024_01_01_12, reason = i % 5 == 0 and "superseded" or nil } end
      for k, case in ipairs { { ca = fx.rsa, pss = true, digest = "sha384" }, { ca = fx.ec, digest = "sha512" }, { ca = fx.ed } } do
        local c = assert(crl.new { issuer = case.ca.cert, key = case.ca.pkey, entries = entries, pss = case.pss,
                                   digest = case.digest, number = k, sort = k ~= 2 })
        local p = ("%s/%d.crl"):format(dir, k)
        h.write(p, c:to_der())
        same_as_loaded(p, 4096, case.ca)
        -- one byte of an entry changed: the scan's digest no longer matches the signature
        local d = c:to_der()
        local at = #d // 2
        h.write(p, d:sub(1, at - 1) .. string.char(d:byte(at) ~ 1) .. d:sub(at + 1))
        local s = crl.scan_file(p, { chunk = 4096 })
        if s then assert.is_false((s:verify(case.ca.cert))) end
      end
    end)

    it("writes DER and PEM that openssl reads, and refuses a file changed since the scan", function()
      local dir = h.tmpdir()
      local entries = {}
      for i = 1, 2000 do entries[i] = { serial = ("%06X"):format(i), date = T2024_01_01_12 } end
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries, number = 9 })
      h.write(dir .. "/a.crl", c:to_der())
      local s = assert(crl.scan_file(dir .. "/a.crl", { chunk = 1024 }))
      assert(s:write(dir .. "/out.der"))
      assert(s:write(dir .. "/out.pem", { format = "pem" }))
      assert.equal(c:to_der(), h.read(dir .. "/out.der"))
      assert.equal(c:to_pem(), h.read(dir .. "/out.pem"))
      assert.matches("verify OK", h.sh("openssl crl -in " .. h.q(dir .. "/out.pem") .. " -noout -CAfile " .. h.q(fx.rsa.pem) .. " 2>&1"), 1, true)
      -- rewritten in place (same inode, same size): the copy checks the bytes against the scan
      local d = c:to_der()
      local f = assert(io.open(dir .. "/a.crl", "r+b"))
      f:seek("set", #d // 2)
      f:write(string.char(d:byte(#d // 2 + 1) ~ 0xff))
      f:close()
      local ok, err = s:write(dir .. "/again.der")
      assert.is_nil(ok)
      assert.equal(dir .. "/again.der: not written: the CRL's file changed since it was read and verified", err)
      assert.is_nil(io.open(dir .. "/again.der"))
    end)

    it("refuses what load_file refuses, naming the file", function()
      local dir = h.tmpdir()
      local entries = {}
      for i = 1, 500 do entries[i] = { serial = ("%04X"):format(i), date = T2024_01_01_12 } end
      local d = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries }):to_der()
      local cases = {
        trunc = d:sub(1, #d - 10),
        short = d:sub(1, 3000),
        trailing = d .. "junk",
        entry = d:sub(1, 2000) .. "" .. d:sub(2002), -- a tag inside an entry
      }
      for name, data in pairs(cases) do
        local p = dir .. "/" .. name .. ".crl"
        h.write(p, data)
        assert.is_nil(crl.load_file(p), name)
        local c, err = crl.scan_file(p, { chunk = 256 })
        assert.is_nil(c, name)
        assert.matches("^" .. p:gsub("%p", "%%%0") .. ": ", err)
      end
      local c, err = crl.scan_file(dir .. "/missing.crl")
      assert.is_nil(c)
      assert.equal(dir .. "/missing.crl: No such file or directory", err)
      _, err = crl.scan_file(dir .. "/trunc.crl", { max_bytes = 100 })
      assert.matches("file too large", err, 1, true)
      assert.has_error(function() crl.scan_file(dir .. "/trunc.crl", { chunk = 10 }) end)
    end)

    it("decodes a PEM CRL to a temporary file in pieces and scans it: what load_file gives", function()
      local fs = require "certbench.fs"
      local dir, tmp = h.tmpdir(), h.tmpdir()
      local entries = {}
      for i = 1, 3000 do entries[i] = { serial = ("%06X"):format(i * 977), date = T2024_01_01_12 } end
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries, number = 7 })
      local pem = c:to_pem()
      local b64 = pem:match("%-%-%-%-%-\n(.-)%-%-%-%-%-END")
      local cases = {
        plain = pem,
        crlf = pem:gsub("\n", "\r\n"),
        text_around = "Issuer: the test CA\nvalid: yes\n\n  " .. pem .. "trailing words\n\0\1 not base64 -----END\n",
        one_line = "-----BEGIN X509 CRL-----\n" .. b64:gsub("%s", "") .. "\n-----END X509 CRL-----\n",
        headers = "-----BEGIN X509 CRL-----\nProc-Type: 4,CRL\n  continued: x\nComment: y\n\n" .. b64 .. "-----END X509 CRL-----",
        label_crl = "\xEF\xBB\xBF-----BEGIN CRL-----\n" .. b64 .. "-----END CRL-----\n",
        after_cert = fx.rsa.cert:to_pem() .. pem,
      }
      for name, text in pairs(cases) do
        local p = dir .. "/" .. name .. ".pem"
        h.write(p, text)
        for _, chunk in ipairs { 64, 100, 4096, 0 } do
          local w = assert(crl.load_file(p))
          local s, others = crl.scan_file(p, { chunk = chunk, tmp_dir = tmp })
          assert(s, name .. ": " .. tostring(others))
          assert.equal(name == "after_cert", others, name)
          assert.equal(w:fingerprint(), s:fingerprint(), name)
          assert.equal(w:count(), s:count())
          assert.equal(tostring(w:issuer()), tostring(s:issuer()))
          assert.same({ w:verify(fx.rsa.cert) }, { s:verify(fx.rsa.cert) })
          assert.is_true(s:verify(fx.rsa.cert))
          assert.same({ false, "bad signature" }, { s:verify(fx.other_key) })
          local list, n = {}, 0
          for e in w:entries() do list[#list + 1] = e.serial end
          for e in s:entries() do n = n + 1 assert.equal(list[n], e.serial) end
          assert.equal(3000, n)
          s:close()
        end
        same_as_loaded(p, 512)
      end
      -- the temporary files have no name: nothing is left in the folder
      assert.same({}, fs.list(tmp))
      -- refused by both, the same way
      local refused = {
        no_end = pem:gsub("%-%-%-%-%-END.*", ""),
        bad_char = pem:gsub("\n", "\n!", 1),
        mid_padding = "-----BEGIN X509 CRL-----\nAA==\n" .. b64 .. "-----END X509 CRL-----\n",
        odd_length = "-----BEGIN X509 CRL-----\nA" .. b64 .. "-----END X509 CRL-----\n",
        begin_inside = "-----BEGIN X509 CRL-----\n" .. b64 .. "-----BEGIN X509 CRL-----\n" .. pem,
        mangled = "-----BEGIN X509 CRL\n" .. b64 .. "-----END X509 CRL-----\n",
        headers_only = "-----BEGIN X509 CRL-----\nProc-Type: 4\n\n-----END X509 CRL-----\n",
        not_der = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
      }
      for name, text in pairs(refused) do
        local p = dir .. "/" .. name .. ".pem"
        h.write(p, text)
        local w, werr = crl.load_file(p)
        local s, serr = crl.scan_file(p, { chunk = 64, tmp_dir = tmp })
        assert.is_nil(w, name)
        assert.is_nil(s, name)
        assert.matches(p, serr, 1, true)
        if name ~= "not_der" then assert.equal(werr:match("truncated") and "t" or "b", serr:match("truncated") and "t" or "b", name) end
      end
      -- no CRL block: the caller reads it whole (a bundle of other things, bare base64)
      h.write(dir .. "/cert.pem", fx.rsa.cert:to_pem())
      assert.same({ nil, dir .. "/cert.pem: no PEM CRL block", "nopem" }, { crl.scan_file(dir .. "/cert.pem", { tmp_dir = tmp }) })
      assert.same({}, fs.list(tmp))
      -- a decoded CRL over max_bytes
      local _, err = crl.scan_file(dir .. "/plain.pem", { tmp_dir = tmp, max_bytes = 1000 })
      assert.matches("too large", err)
    end)

    it("inflates a gzip CRL to a temporary file in pieces and scans it, under the archive's limits and codes", function()
      local fs = require "certbench.fs"
      local archive = require "certbench.archive"
      local dir, tmp = h.tmpdir(), h.tmpdir()
      local entries = {}
      for i = 1, 3000 do entries[i] = { serial = ("%06X"):format(i * 977), date = T2024_01_01_12 } end
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries, number = 9 })
      h.write(dir .. "/big.crl", c:to_der())
      h.write(dir .. "/ref.crl", der)
      -- gzip by the gzip tool (with a name in the header) and by certbench.archive
      h.sh(("gzip -c %s > %s && gzip -c -n -9 %s > %s"):format(h.q(dir .. "/big.crl"), h.q(dir .. "/big.crl.gz"),
        h.q(dir .. "/ref.crl"), h.q(dir .. "/ref.crl.gz")))
      h.write(dir .. "/arc.gz", archive.gzip(c:to_der(), { name = "x.crl" }))
      local gz = {}
      for k, v in pairs(archive.defaults) do if k ~= "max_members" and k ~= "max_depth" then gz[k] = v end end
      for _, chunk in ipairs { 64, 100, 4096, 0 } do
        local s = same_as_loaded(dir .. "/big.crl", chunk, fx.rsa, dir .. "/big.crl.gz", { gzip = gz, tmp_dir = tmp })
        assert.equal(3000, s:count())
        s:close()
        same_as_loaded(dir .. "/big.crl", chunk, fx.rsa, dir .. "/arc.gz", { gzip = gz, tmp_dir = tmp }):close()
        same_as_loaded(dir .. "/ref.crl", chunk, fx.rsa, dir .. "/ref.crl.gz", { gzip = gz, tmp_dir = tmp }):close()
      end
      -- the scanned object writes the DER that was gzipped: openssl reads it back
      -- the second result: the file name in the header (gzip keeps it, gzip -n not)
      assert.equal(false, select(2, crl.scan_file(dir .. "/ref.crl.gz", { gzip = gz, tmp_dir = tmp })))
      assert.equal("x.crl", select(2, crl.scan_file(dir .. "/arc.gz", { gzip = gz, tmp_dir = tmp })))
      local s, member = crl.scan_file(dir .. "/big.crl.gz", { gzip = gz, tmp_dir = tmp })
      assert.equal("big.crl", member)
      assert(s:write(dir .. "/out.der"))
      assert.equal(h.read(dir .. "/big.crl"), h.read(dir .. "/out.der"))
      assert.matches("verify OK", h.sh(("openssl crl -inform DER -in %s -noout -CAfile %s 2>&1"):format(
        h.q(dir .. "/out.der"), h.q(fx.rsa.pem))), 1, true)
      s:close()
      assert.same({}, fs.list(tmp))
      -- without the gzip option a gzip file is no CRL here, as before
      assert.equal("nopem", select(3, crl.scan_file(dir .. "/big.crl.gz", { tmp_dir = tmp })))
      -- refused with archive.CODES: a bomb (max_ratio), too much (max_total, max_member), cut, damaged
      local function code(name, data, lim)
        h.write(dir .. "/" .. name, data)
        local l = {}
        for k, v in pairs(gz) do l[k] = v end
        for k, v in pairs(lim or {}) do l[k] = v end
        local r, err, cd = crl.scan_file(dir .. "/" .. name, { gzip = l, tmp_dir = tmp, chunk = 4096 })
        assert.is_nil(r, name)
        assert.matches("^" .. (dir .. "/" .. name):gsub("%p", "%%%0") .. ": ", err)
        -- the archive in memory, under the same limits, says the same
        local _, _, acode = archive.members(data, lim)
        assert.equal(acode, cd, name .. ": " .. err)
        return cd, err
      end
      local bomb = archive.gzip(("\0"):rep(300 * 1024), { name = "y.crl" })
      assert.equal("max_ratio", code("bomb.gz", bomb, { ratio_grace = 0 }))
      assert.equal("max_ratio", code("bomb2.gz", archive.gzip(("\0"):rep(3 << 20))))
      assert.equal("max_total", code("total.gz", h.read(dir .. "/big.crl.gz"), { max_total = 10000 }))
      assert.equal("max_member", code("member.gz", h.read(dir .. "/big.crl.gz"), { max_member = 10000 }))
      local gzd = h.read(dir .. "/big.crl.gz")
      assert.equal("truncated", code("cut.gz", gzd:sub(1, #gzd // 2)))
      assert.equal("truncated", code("cut2.gz", gzd:sub(1, #gzd - 4)))
      local bad = gzd:sub(1, 40) .. ("\255"):rep(64) .. gzd:sub(105)
      assert.equal("corrupt", code("bad.gz", bad))
      assert.equal("corrupt", code("garbage.gz", gzd .. "garbage"))
      local crcbad = gzd:sub(1, #gzd - 8) .. string.char((gzd:byte(#gzd - 7) + 1) % 256) .. gzd:sub(#gzd - 6)
      assert.equal("corrupt", code("crc.gz", crcbad))
      -- zero padding after the stream is allowed, as in the archive
      h.write(dir .. "/pad.gz", gzd .. ("\0"):rep(512))
      assert(crl.scan_file(dir .. "/pad.gz", { gzip = gz, tmp_dir = tmp })):close()
      -- several members are one stream, as for gzip -d (and certbench.archive): a CRL cut in
      -- three pieces by the gzip tool, the pieces at odd places, is the CRL; and a gzipped PEM
      -- CRL (`gzip crl.pem`) is decoded as it inflates; openssl reads both the same way
      local whole = h.read(dir .. "/big.crl")
      local cut1, cut2 = #whole // 3 + 1, #whole // 3 * 2 + 7
      h.sh(("head -c %d %s | gzip -c > %s && tail -c +%d %s | head -c %d | gzip -c -n >> %s && tail -c +%d %s | gzip -c >> %s")
        :format(cut1, h.q(dir .. "/big.crl"), h.q(dir .. "/multi.gz"), cut1 + 1, h.q(dir .. "/big.crl"), cut2 - cut1,
          h.q(dir .. "/multi.gz"), cut2 + 1, h.q(dir .. "/big.crl"), h.q(dir .. "/multi.gz")))
      h.sh(("openssl crl -inform DER -in %s | gzip -c > %s"):format(h.q(dir .. "/big.crl"), h.q(dir .. "/pem.gz")))
      local ossl = h.sh(("openssl crl -inform DER -in %s -noout -fingerprint -sha256"):format(h.q(dir .. "/big.crl")))
      assert.equal(ossl, h.sh(("gzip -dc %s | openssl crl -inform DER -noout -fingerprint -sha256"):format(h.q(dir .. "/multi.gz"))))
      assert.equal(ossl, h.sh(("gzip -dc %s | openssl crl -noout -fingerprint -sha256"):format(h.q(dir .. "/pem.gz"))))
      for _, chunk in ipairs { 64, 4096, 0 } do
        same_as_loaded(dir .. "/big.crl", chunk, fx.rsa, dir .. "/multi.gz", { gzip = gz, tmp_dir = tmp }):close()
        same_as_loaded(dir .. "/big.crl", chunk, fx.rsa, dir .. "/pem.gz", { gzip = gz, tmp_dir = tmp }):close()
      end
      assert.equal(false, select(2, crl.scan_file(dir .. "/multi.gz", { gzip = gz, tmp_dir = tmp })))
      assert.equal(ossl:match("=(.*)"):gsub("%s", ""), (crl.scan_file(dir .. "/pem.gz", { gzip = gz }):fingerprint()))
      -- the limits count the whole stream, every member
      assert.equal("max_member", code("multi-member.gz", h.read(dir .. "/multi.gz"), { max_member = #whole - 1 }))
      -- left to the archive in memory: two CRLs back to back, a PEM bundle, no DER nor PEM CRL,
      -- no CRL
      h.write(dir .. "/two.gz", gzd .. gzd)
      assert.equal("nocrl", select(3, crl.scan_file(dir .. "/two.gz", { gzip = gz, tmp_dir = tmp })))
      h.write(dir .. "/bundle.gz", archive.gzip(c:to_pem() .. fx.rsa.cert:to_pem()))
      assert.equal("bundle", select(3, crl.scan_file(dir .. "/bundle.gz", { gzip = gz, tmp_dir = tmp })))
      h.write(dir .. "/text.gz", archive.gzip(("not a CRL\n"):rep(1000)))
      assert.equal("notder", select(3, crl.scan_file(dir .. "/text.gz", { gzip = gz, tmp_dir = tmp })))
      h.write(dir .. "/cert.gz", archive.gzip(fx.rsa.cert:to_der()))
      assert.equal("nocrl", select(3, crl.scan_file(dir .. "/cert.gz", { gzip = gz, tmp_dir = tmp })))
      h.write(dir .. "/badpem.gz", archive.gzip("-----BEGIN X509 CRL-----\nMII!!!\n-----END X509 CRL-----\n"))
      assert.equal("nocrl", select(3, crl.scan_file(dir .. "/badpem.gz", { gzip = gz, tmp_dir = tmp })))
      assert.same({}, fs.list(tmp))
      -- gzip = true, or limits left out: crl.GZIP_SCAN's; an unknown limit is an error of the caller
      assert(crl.scan_file(dir .. "/big.crl.gz", { gzip = true, tmp_dir = tmp })):close()
      assert.equal("max_total", select(3, crl.scan_file(dir .. "/big.crl.gz", { gzip = { max_total = 1 }, tmp_dir = tmp })))
      assert.has_error(function() crl.scan_file(dir .. "/big.crl.gz", { gzip = { max_totl = 1 } }) end)
      -- a bomb under the default limits of the scan: refused by the ratio after a few kB of it,
      -- one message naming the file
      local zeros = dir .. "/zeros.crl.gz"
      h.sh("head -c 200000000 /dev/zero | gzip -c > " .. h.q(zeros))
      local r, err, cd = crl.scan_file(zeros, { gzip = true, tmp_dir = tmp })
      assert.is_nil(r)
      assert.equal("max_ratio", cd)
      assert.equal(zeros .. ": zip bomb? member zeros.crl inflates past 200:1 (max_ratio)", err)
      assert.same({}, fs.list(tmp))
    end)

    it("keeps the entries in the file: no lookup, text or trust store", function()
      local dir = h.tmpdir()
      h.write(dir .. "/a.crl", der)
      local s = assert(crl.scan_file(dir .. "/a.crl"))
      for _, m in ipairs { "lookup", "text", "to_der", "to_pem" } do
        assert.has_error(function() s[m](s, "0A") end)
      end
      local st, err = require("certbench.store").new { crls = { s } }
      assert.is_nil(st)
      assert.matches("crl.scan_file", tostring(err), 1, true)
    end)
  end)

  describe("missing", function()
    local function serials(list)
      local t = {}
      for i, e in ipairs(list) do t[i] = e.serial end
      return t
    end

    it("lists the entries one CRL has and the other lacks, sorted or not, scanned or loaded", function()
      local dir = h.tmpdir()
      local old, new = {}, {}
      for i = 1, 3000 do
        local hex = ("%X"):format(i * 13)
        local e = { serial = (#hex % 2 == 1 and "0" or "") .. hex, date = T2024_01_01_12 }
        if i % 7 ~= 0 then old[#old + 1] = e end
        if i % 11 ~= 0 then new[#new + 1] = e end
      end
      -- expected, from the two lists
      local in_old, in_new = {}, {}
      for _, e in ipairs(old) do in_old[e.serial] = true end
      for _, e in ipairs(new) do in_new[e.serial] = true end
      local added, removed = {}, {}
      for _, e in ipairs(new) do if not in_old[e.serial] then added[#added + 1] = e.serial end end
      for _, e in ipairs(old) do if not in_new[e.serial] then removed[#removed + 1] = e.serial end end
      assert.is_true(#added > 200 and #removed > 200)
      for _, sorted in ipairs { true, false } do
        local o, n = old, new
        if not sorted then
          -- reversed: not in serial order, so the set path is taken
          o, n = {}, {}
          for i = #old, 1, -1 do o[#o + 1] = old[i] end
          for i = #new, 1, -1 do n[#n + 1] = new[i] end
        end
        local a = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = o, sort = false })
        local b = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = n, sort = false })
        h.write(dir .. "/a.crl", a:to_der())
        h.write(dir .. "/b.crl", b:to_der())
        local sa = assert(crl.scan_file(dir .. "/a.crl", { chunk = 512 }))
        local sb = assert(crl.scan_file(dir .. "/b.crl", { chunk = 512 }))
        for _, pair in ipairs { { a, b }, { sa, sb }, { a, sb }, { sa, b } } do
          local x, y = pair[1], pair[2]
          local got = {}
          for e in crl.missing(y, x) do got[#got + 1] = e end
          local want = added
          if not sorted then want = {} for i = #added, 1, -1 do want[#want + 1] = added[i] end end
          assert.same(want, serials(got))
          assert.equal(#added, crl.missing(y, x, { count = true }))
          local gone = {}
          for e in crl.missing(x, y) do gone[#gone + 1] = e end
          want = removed
          if not sorted then want = {} for i = #removed, 1, -1 do want[#want + 1] = removed[i] end end
          assert.same(want, serials(gone))
          assert.equal(0, crl.missing(x, x, { count = true }))
        end
      end
    end)
  end)

  describe("fields", function()
    local c
    before_each(function() c = assert(crl.load(der)) end)

    it("issuer as a name object and as DER", function()
      assert.equal("C = NO, O = net2, CN = rsa CA", c:issuer():text())
      assert.equal(fx.rsa.cert:subject():der(), c:issuer_der())
      assert.is_true(c:issuer():equals(fx.rsa.cert:subject()))
    end)

    it("this_update and next_update as epoch seconds", function()
      local now = os.time()
      assert.is_true(math.abs(c:this_update() - now) < 600)
      assert.equal(30 * 86400, c:next_update() - c:this_update())
    end)

    it("number, aki, version, signature algorithm", function()
      assert.equal("1000", c:number())
      assert.equal(fx.rsa.cert:ski(), c:aki())
      assert.equal(2, c:version())
      assert.equal("sha256WithRSAEncryption", c:signature_algorithm())
      assert.is_false(c:is_delta())
      assert.is_nil(c:delta_base())
      assert.is_nil(c:issuing_distribution_point())
    end)

    it("extensions as x509:extensions() gives them", function()
      local exts = c:extensions()
      assert.equal(2, #exts)
      assert.equal("2.5.29.35", exts[1].oid)
      assert.equal("authorityKeyIdentifier", exts[1].name)
      assert.is_false(exts[1].critical)
      assert.equal("crlNumber", exts[2].name)
      assert.equal("\2\2\16\0", exts[2].der)
      assert.matches("4096", exts[2].text)
    end)

    it("entries in CRL order, with reasons and invalidity dates", function()
      local got = {}
      for e in c:entries() do got[#got + 1] = e end
      assert.same({
        { serial = "01", date = T2024_01_01_12 + 86400 },
        { serial = "0A", date = T2024_01_01_12, reason = "keyCompromise" },
        { serial = "0B", date = T2024_01_01_12 + 3 * 86400, reason = "certificateHold" },
        { serial = "0C", date = T2024_01_01_12, reason = "keyCompromise", invalidity_date = T2023_12_25 },
        { serial = "0FFF", date = T2024_01_01_12 + 2 * 86400, reason = "cACompromise" },
        { serial = "FF112233445566778899AABBCCDDEEFF001122", date = T2024_01_01_12 + 4 * 86400, reason = "superseded" },
      }, got)
    end)

    it("serials in CRL order", function()
      local got = {}
      for s in c:serials() do got[#got + 1] = s end
      assert.same({ "01", "0A", "0B", "0C", "0FFF", "FF112233445566778899AABBCCDDEEFF001122" }, got)
    end)

    it("an iterator stops cleanly and again after the end", function()
      local it = c:entries()
      for _ = 1, 6 do assert.truthy(it()) end
      assert.is_nil(it())
      assert.is_nil(it())
    end)

    it("text like openssl crl -text", function()
      local t = c:text()
      assert.matches("^Certificate Revocation List %(CRL%):\n        Version 2 %(0x1%)\n", t)
      assert.matches("Issuer: C = NO, O = net2, CN = rsa CA\n", t, 1, true)
      assert.matches("        Last Update: %a%a%a [ %d]%d %d%d:%d%d:%d%d %d%d%d%d GMT\n", t)
      assert.matches("X509v3 CRL Number: \n                4096\n", t, 1, true)
      assert.matches("    Serial Number: 0C\n        Revocation Date: Jan  1 12:00:00 2024 GMT\n" ..
        "        CRL entry extensions:\n            X509v3 CRL Reason Code: \n                Key Compromise\n" ..
        "            Invalidity Date: \n                Dec 25 00:00:00 2023 GMT\n", t, 1, true)
      assert.matches("    Signature Algorithm: sha256WithRSAEncryption\n    Signature Value:\n        %x%x:", t)
    end)

    it("to_pem round-trips through load and matches openssl's PEM", function()
      assert.equal(pem, c:to_pem())
      assert.equal(der, assert(crl.load(c:to_pem())):to_der())
    end)

    it("to_pem is openssl's PEM whatever the length (the base64 tail, the last line)", function()
      local key = pkey.generate { type = "ec", curve = "P-256" }
      local ca = assert(x509.new { subject = "/CN=pem lengths", issuer_key = key, ca = true, days = 1 })
      local d = h.tmpdir()
      -- the sizes vary with the ECDSA signature: go on until every remainder mod 3 was seen
      local rems, seen = {}, 0
      for n = 0, 200 do
        local entries = {}
        for j = 1, n % 12 do entries[j] = { serial = ("%X"):format(j * 7919 + n), date = T2024_01_01_12 } end
        local x = assert(crl.new { issuer = ca, key = key, entries = entries, days = 1 })
        local xd = x:to_der()
        if not rems[#xd % 3] then
          rems[#xd % 3] = true
          seen = seen + 1
          h.write(d .. "/c.der", xd)
          assert.equal(h.run("openssl crl -inform DER -in " .. h.q(d .. "/c.der")), x:to_pem())
        end
        if seen == 3 then break end
      end
      assert.equal(3, seen)
    end)

    it("fingerprint is openssl's fingerprint of the DER", function()
      local d = h.tmpdir()
      h.write(d .. "/c.der", der)
      local want = h.openssl("crl -inform DER -noout -fingerprint -sha256 -in " .. h.q(d .. "/c.der")):match("=([%x:]+)")
      assert.equal(want, c:fingerprint())
      assert.equal(want, c:fingerprint("sha256"))
      assert.equal(59, #c:fingerprint("sha1"))
      assert.error_matches(function() c:fingerprint("sha3") end, "unknown digest")
    end)

    it("write makes a new DER or PEM file straight from memory, in pieces for a big CRL", function()
      local d = h.tmpdir()
      assert.is_true(c:write(d .. "/c.der"))
      assert.equal(der, h.read(d .. "/c.der"))
      assert.is_true(c:write(d .. "/c.pem", { format = "pem", mode = tonumber("600", 8), sync = true }))
      assert.equal(pem, h.read(d .. "/c.pem"))
      assert.equal("600", h.mode(d .. "/c.pem"))
      -- never over an existing file; a missing folder is named
      local ok, err, code = c:write(d .. "/c.der", { format = "pem" })
      assert.is_nil(ok)
      assert.equal(d .. "/c.der: File exists", err)
      assert.equal(17, code)
      assert.equal(der, h.read(d .. "/c.der"))
      ok, err = c:write(d .. "/no/c.der")
      assert.is_nil(ok)
      assert.equal(d .. "/no/c.der: No such file or directory", err)
      assert.error_matches(function() c:write(d .. "/x", { format = "txt" }) end, "format must be")
      -- over 48 KiB of DER: the PEM is written in several pieces
      local key = pkey.generate { type = "ec", curve = "P-256" }
      local ca = assert(x509.new { subject = "/CN=big write", issuer_key = key, ca = true, days = 1 })
      local entries = {}
      for j = 1, 5000 do entries[j] = { serial = ("%06X"):format(j), date = T2024_01_01_12 } end
      local big = assert(crl.new { issuer = ca, key = key, entries = entries, days = 1 })
      assert.is_true(#big:to_der() > 2 * 48 * 1024)
      assert.is_true(big:write(d .. "/big.pem", { format = "pem" }))
      assert.equal(big:to_pem(), h.read(d .. "/big.pem"))
      assert.equal(h.run("openssl crl -in " .. h.q(d .. "/big.pem")), h.read(d .. "/big.pem"))
    end)

    it("write with async runs on the thread pool inside loop tasks", function()
      local loop = require "certbench.loop"
      local d = h.tmpdir()
      local res = loop.all {
        function()
          local before = loop.stats().resumes
          local ok = c:write(d .. "/a.pem", { format = "pem", async = true })
          return ok, loop.stats().resumes > before
        end,
        function() return c:write(d .. "/b.der", { async = true }) end,
        function() return c:write(d .. "/no/c.der", { async = true }) end,
      }
      assert.same({ true, true, n = 2 }, res[1])
      assert.equal(pem, h.read(d .. "/a.pem"))
      assert.same({ true, n = 1 }, res[2])
      assert.equal(der, h.read(d .. "/b.der"))
      assert.same({ nil, d .. "/no/c.der: No such file or directory", 2, n = 3 }, res[3])
    end)

    it("tostring names the issuer and the count", function()
      assert.equal("certbench.crl: /C=NO/O=net2/CN=rsa CA (6 entries)", tostring(c))
    end)
  end)

  describe("lookup", function()
    local c
    before_each(function() c = assert(crl.load(der)) end)

    it("finds serials in any hex spelling", function()
      assert.equal("0FFF", c:lookup("0FFF").serial)
      assert.equal("0FFF", c:lookup("fff").serial)
      assert.equal("0FFF", c:lookup("0x0fff").serial)
      assert.equal("0FFF", c:lookup("00000FFF").serial)
      local e = c:lookup("ff112233445566778899aabbccddeeff001122")
      assert.same({ serial = "FF112233445566778899AABBCCDDEEFF001122", date = T2024_01_01_12 + 4 * 86400, reason = "superseded" }, e)
      assert.same({ serial = "0C", date = T2024_01_01_12, reason = "keyCompromise", invalidity_date = T2023_12_25 }, c:lookup("0C"))
    end)

    it("returns nil for a serial that is not there", function()
      assert.is_nil(c:lookup("05"))
      assert.is_nil(c:lookup("0FFE"))
      assert.is_nil(c:lookup("-0A"))
      assert.equal(1, select("#", c:lookup("05")))
    end)

    it("takes a certificate", function()
      local revoked = assert(x509.load(h.read(fx.leaf("0FFF"))))
      local good = assert(x509.load(h.read(fx.leaf("0FFE"))))
      assert.equal("cACompromise", c:lookup(revoked).reason)
      assert.is_nil(c:lookup(good))
      -- the same serial from another CA is not on this CA's CRL
      local other = assert(x509.load(h.read(fx.leaf("0FFF", fx.ec))))
      assert.equal("0FFF", other:serial())
      assert.is_nil(c:lookup(other))
      assert.equal("0FFF", c:lookup(other:serial()).serial)
    end)

    it("finds every entry of a CRL big enough for the radix sort, in random order", function()
      local entries, want = {}, {}
      math.randomseed(11)
      local function add(s, date)
        entries[#entries + 1] = { serial = s, date = date }
        if want[s] == nil then want[s] = date end
      end
      for i = 1, 66000 do add(("%08X%08X%08X%08X"):format(math.random(0, 0x7fffffff), math.random(0, 0xffffffff),
        math.random(0, 0xffffffff), i), i) end
      -- runs that agree on the sorted bits: 40 (sorted on whole keys), 10 (insertion), and deeper
      for i = 1, 40 do add(("7A7A7A7A7A7A7A7A%08X%08X"):format(math.random(0, 0xffffffff), i), 100000 + i) end
      for i = 1, 10 do add(("6B6B6B6B6B6B6B%010X"):format(i * 7919), 200000 + i) end
      for i = 1, 60 do add(("5C5C5C5C5C5C5C5C5C5C5C5C5C5C%04X"):format(i), 300000 + i) end
      for i = 1, 300 do add(("%X"):format(i), 400000 + i) end -- short serials of 1 and 2 bytes
      add("2A", 1)                                            -- a duplicate of an earlier serial
      local big = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries, sort = false })
      local d = assert(crl.load(big:to_der()))
      assert.equal(#entries, d:count())
      local missing = 0
      for s, date in pairs(want) do
        local e = d:lookup(s)
        if not e or e.date ~= date then missing = missing + 1 end
      end
      assert.equal(0, missing)
      assert.equal(400042, d:lookup("2A").date) -- the first of the two in CRL order
      assert.is_nil(d:lookup("7A7A7A7A7A7A7A7A0000000000000000"))
      assert.is_nil(d:lookup("5C5C5C5C5C5C5C5C5C5C5C5C5C5CFFFF"))
      assert.is_nil(d:lookup("12D"))
      -- over 1 MB: hashed while parsing, verified from that digest
      assert.is_true(#big:to_der() > 1048576)
      assert.same({ true }, { d:verify(fx.rsa.cert) })
      assert.same({ false, "bad signature" }, { d:verify(fx.other_key) })
      local der2 = big:to_der()
      -- flip a bit of a serial in the middle: still DER, no longer what was signed
      local sbytes = entries[33000].serial:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)
      local at = assert(der2:find(sbytes, 1, true)) + #sbytes - 1
      local tampered = assert(crl.load(der2:sub(1, at - 1) .. string.char((der2:byte(at) ~ 1)) .. der2:sub(at + 1)))
      assert.same({ false, "bad signature" }, { tampered:verify(fx.rsa.cert) })
      -- the same from RSA-PSS, ECDSA and Ed25519 (which cannot be hashed ahead)
      for _, case in ipairs { { ca = fx.rsa, pss = true, digest = "sha384" }, { ca = fx.ec, digest = "sha512" }, { ca = fx.ed } } do
        local other = assert(crl.new { issuer = case.ca.cert, key = case.ca.pkey, entries = entries, pss = case.pss,
          digest = case.digest, sort = false })
        local o = assert(crl.load(other:to_der()))
        assert.same({ true }, { o:verify(case.ca.cert) })
        local t2 = other:to_der()
        at = assert(t2:find(sbytes, 1, true)) + #sbytes - 1
        t2 = t2:sub(1, at - 1) .. string.char((t2:byte(at) ~ 1)) .. t2:sub(at + 1)
        assert.same({ false, "bad signature" }, { assert(crl.load(t2)):verify(case.ca.cert) })
      end
    end)

    it("raises for a bad serial or argument", function()
      assert.has_error(function() c:lookup("xyz") end)
      assert.has_error(function() c:lookup("") end)
      assert.has_error(function() c:lookup(string.rep("A", 400)) end)
      assert.has_error(function() c:lookup(12) end)
      assert.has_error(function() c:lookup(fx.rsa.pkey) end)
    end)

    it("finds every entry of a large CRL built in random order", function()
      local entries, want = {}, {}
      math.randomseed(7)
      for i = 1, 3000 do
        local s = ("%08X%08X"):format(math.random(0, 0x7fffffff), i)
        entries[i] = { serial = s, date = 1700000000 + i }
        want[s] = 1700000000 + i
      end
      -- duplicates and short serials too, to exercise the tie-breaking of the sort
      entries[#entries + 1] = { serial = "01", date = 1 }
      entries[#entries + 1] = { serial = "01", date = 2 }
      for i = 1, 100 do entries[#entries + 1] = { serial = ("ABCDEF0123456789%04X"):format(i), date = i } end
      local big = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, entries = entries, sort = false })
      assert.equal(#entries, big:count())
      local d = assert(crl.load(big:to_der()))
      for s, date in pairs(want) do assert.equal(date, d:lookup(s).date) end
      assert.equal(1, d:lookup("01").date) -- the first of two duplicates
      for i = 1, 100 do assert.equal(i, d:lookup(("ABCDEF0123456789%04X"):format(i)).date) end
      assert.is_nil(d:lookup("ABCDEF01234567890000"))
      -- sort=false kept the given order
      local it = d:serials()
      assert.equal(entries[1].serial, it())
    end)
  end)

  describe("verify", function()
    local c
    before_each(function() c = assert(crl.load(der)) end)

    it("accepts the issuer certificate and its public key", function()
      assert.same({ true }, { c:verify(fx.rsa.cert) })
      assert.same({ true }, { c:verify(fx.rsa.pkey) })
      assert.same({ true }, { c:verify(fx.rsa.cert:public_key()) })
    end)

    it("refuses another key, a key of another type, another CA", function()
      assert.same({ false, "bad signature" }, { c:verify(fx.other_key) })
      assert.same({ false, "the CRL is signed with sha256WithRSAEncryption but the key is EC" }, { c:verify(fx.ec.pkey) })
      assert.same({ false, "the CRL's issuer is not the certificate's subject" }, { c:verify(fx.ec.cert) })
    end)

    it("refuses an issuer certificate whose key usage lacks cRLSign", function()
      local path = fx.gencrl({ fx.revoked("01", "240101120000Z") }, { ca = fx.noku })
      local n = assert(crl.load(h.read(path)))
      assert.same({ false, "the issuer certificate's key usage does not allow signing CRLs (no cRLSign)" }, { n:verify(fx.noku.cert) })
      assert.is_true(n:verify(fx.noku.pkey)) -- the key alone: only the signature
    end)

    it("notices a changed byte and an algorithm mismatch", function()
      local at = der:find("240102120000Z", 1, true)
      local changed = assert(crl.load(der:sub(1, at - 1) .. "240102120001Z" .. der:sub(at + 13)))
      assert.same({ false, "bad signature" }, { changed:verify(fx.rsa.cert) })
      -- sha256WithRSAEncryption (...1.1.11) in the outer AlgorithmIdentifier becomes sha384 (1.12)
      local oid = "\42\134\72\134\247\13\1\1\11"
      local last = der:find(oid .. "\5\0\3", 1, true)
      local mism = assert(crl.load(der:sub(1, last + 7) .. "\12" .. der:sub(last + 9)))
      assert.same({ false, "the signature algorithm inside tbsCertList differs from the outer one" }, { mism:verify(fx.rsa.cert) })
    end)

    it("raises for a wrong argument", function()
      assert.has_error(function() c:verify() end)
      assert.has_error(function() c:verify("key") end)
      assert.has_error(function() c:verify(c) end)
    end)

    it("verifies on the thread pool inside loop tasks (the task yields), with the same answers", function()
      local loop = require "certbench.loop"
      local r0 = loop.stats().resumes
      assert.is_true(c:verify(fx.rsa.cert)) -- no task: done here, the loop does not run
      assert.equal(r0, loop.stats().resumes)
      local res = loop.all {
        function()
          local before = loop.stats().resumes
          local a, b = c:verify(fx.rsa.cert)
          return a, b, loop.stats().resumes > before
        end,
        function() return c:verify(fx.rsa.pkey) end,
        function() return c:verify(fx.other_key) end,
        function() return c:verify(fx.ec.pkey) end,
        function() return c:verify(fx.ec.cert) end,
      }
      assert.same({ true, nil, true, n = 3 }, res[1])
      assert.same({ true, n = 1 }, res[2])
      assert.same({ false, "bad signature", n = 2 }, res[3])
      assert.same({ false, "the CRL is signed with sha256WithRSAEncryption but the key is EC", n = 2 }, res[4])
      assert.same({ false, "the CRL's issuer is not the certificate's subject", n = 2 }, res[5])
    end)

    it("stays safe when another task closes the CRL while it is verified or written", function()
      local loop = require "certbench.loop"
      for _ = 1, 50 do
        local d = assert(crl.load(der))
        local res = loop.all {
          function() return d:verify(fx.rsa.cert) end,
          function() d:close() return true end,
        }
        assert.is_true(res[1][1])
        assert.error_matches(function() d:count() end, "closed CRL")
      end
      local dir = h.tmpdir()
      for i = 1, 20 do
        local d = assert(crl.load(der))
        local res = loop.all {
          function() return d:write(dir .. "/" .. i .. ".pem", { format = "pem", async = true }) end,
          function() d:close() return true end,
        }
        assert.is_true(res[1][1])
        assert.equal(pem, h.read(dir .. "/" .. i .. ".pem"))
      end
      collectgarbage()
    end)
  end)

  describe("new", function()
    local base = { this_update = 1764000000, next_update = 1764000000 + 7 * 86400 }
    local function opts(t)
      local o = { issuer = fx.rsa.cert, key = fx.rsa.pkey }
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(t or {}) do o[k] = v end
      return o
    end

    it("builds a signed version 2 CRL with AKI and number", function()
      local c = assert(crl.new(opts { number = "1A2B", entries = {
        { serial = "0A", date = 1700000000, reason = "keyCompromise", invalidity_date = 1690000000 },
        { serial = 5, date = 1700000001 },
      } }))
      assert.equal(2, c:version())
      assert.equal(1764000000, c:this_update())
      assert.equal(1764000000 + 7 * 86400, c:next_update())
      assert.equal("1A2B", c:number())
      assert.equal(fx.rsa.cert:ski(), c:aki())
      assert.equal(fx.rsa.cert:subject():der(), c:issuer_der())
      assert.is_true(c:verify(fx.rsa.cert))
      local got = {}
      for e in c:entries() do got[#got + 1] = e end
      assert.same({
        { serial = "05", date = 1700000001 },
        { serial = "0A", date = 1700000000, reason = "keyCompromise", invalidity_date = 1690000000 },
      }, got)
    end)

    it("writes every RFC 5280 reason", function()
      local entries = {}
      for code, name in pairs(crl.reasons) do entries[#entries + 1] = { serial = ("%02X"):format(code + 1), reason = name } end
      assert.equal(10, #entries)
      local c = assert(crl.new(opts { entries = entries }))
      for code, name in pairs(crl.reasons) do
        assert.equal(name, c:lookup(("%02X"):format(code + 1)).reason)
      end
      -- codes, other cases and openssl ca's spellings
      local d = assert(crl.new(opts { entries = { { serial = "01", reason = 9 }, { serial = "02", reason = "KEYCOMPROMISE" },
        { serial = "03", reason = "CAkeyTime" } } }))
      assert.equal("privilegeWithdrawn", d:lookup("01").reason)
      assert.equal("keyCompromise", d:lookup("02").reason)
      assert.equal("cACompromise", d:lookup("03").reason)
    end)

    it("defaults this_update to now and entry dates to this_update; days and hours", function()
      local c = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, days = 2, entries = { { serial = "01" } } })
      assert.is_true(math.abs(c:this_update() - os.time()) < 60)
      assert.equal(2 * 86400, c:next_update() - c:this_update())
      assert.equal(c:this_update(), c:lookup("01").date)
      local d = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, hours = 5 })
      assert.equal(5 * 3600, d:next_update() - d:this_update())
      local e = assert(crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey })
      assert.is_nil(e:next_update())
      assert.is_nil(e:number())
      assert.equal(0, e:count())
    end)

    it("uses GeneralizedTime from 2050 on", function()
      local t2050 = 2524608000 -- 2050-01-01T00:00:00Z
      local c = assert(crl.new(opts { this_update = t2050, next_update = t2050 + 86400, entries = { { serial = "01", date = t2050 } } }))
      assert.equal(t2050, c:this_update())
      assert.equal(t2050, c:lookup("01").date)
      assert.truthy(c:to_der():find("20500101000000Z", 1, true))
    end)

    it("makes delta CRLs", function()
      local c = assert(crl.new(opts { number = 11, delta_base = 10, entries = { { serial = "0B", reason = "removeFromCRL" } } }))
      assert.is_true(c:is_delta())
      assert.equal("0A", c:delta_base())
      assert.equal("0B", c:number())
      assert.equal("removeFromCRL", c:lookup("0B").reason)
      local exts = c:extensions()
      assert.equal("deltaCRL", exts[3].name)
      assert.is_true(exts[3].critical)
      assert.is_nil(c:freshest_crl())
    end)

    it("points a complete CRL to its deltas (Freshest CRL)", function()
      local c = assert(crl.new(opts { number = 10, freshest = { "http://crl.example/d.crl", "ldap://ldap.example/cn=d" } }))
      assert.same({ "http://crl.example/d.crl", "ldap://ldap.example/cn=d" }, c:freshest_crl())
      local exts = c:extensions()
      assert.equal("freshestCRL", exts[3].name)
      assert.is_false(exts[3].critical)
      assert.same({ "http://one" }, assert(crl.new(opts { freshest = "http://one" })):freshest_crl())
      assert.has_error(function() crl.new(opts { freshest = 1 }) end, "crl.new: freshest must be a list of URLs")
      assert.has_error(function() crl.new(opts { freshest = { {} } }) end, "crl.new: freshest[1] must be a string")
    end)

    it("writes an issuing distribution point", function()
      local c = assert(crl.new(opts { idp = { urls = { "http://crl.example/a.crl", "ldap://x/cn=y" }, only_user = true,
        only_some_reasons = { "keyCompromise", "aACompromise", "superseded" }, indirect = true } }))
      local idp = c:issuing_distribution_point()
      assert.same({ "http://crl.example/a.crl", "ldap://x/cn=y" }, idp.urls)
      assert.same({ "URI:http://crl.example/a.crl", "URI:ldap://x/cn=y" }, idp.names)
      assert.is_true(idp.only_user)
      assert.is_false(idp.only_ca)
      assert.is_false(idp.only_attribute)
      assert.is_true(idp.indirect)
      assert.same({ "keyCompromise", "superseded", "aACompromise" }, idp.only_some_reasons)
      local d = assert(crl.new(opts { idp = { urls = "http://one", only_ca = true, only_attribute = true } }))
      local i2 = d:issuing_distribution_point()
      assert.same({ "http://one" }, i2.urls)
      assert.is_true(i2.only_ca)
      assert.is_true(i2.only_attribute)
      assert.is_nil(i2.only_some_reasons)
      local e = assert(crl.new(opts { idp = { only_some_reasons = { "keyCompromise" } } }))
      assert.same({ "keyCompromise" }, e:issuing_distribution_point().only_some_reasons)
      assert.same({}, e:issuing_distribution_point().urls)
    end)

    it("signs with EC, Ed25519, RSA-PSS and other digests", function()
      local ec = assert(crl.new { issuer = fx.ec.cert, key = fx.ec.pkey, digest = "SHA-384", entries = { { serial = "01" } } })
      assert.equal("ecdsa-with-SHA384", ec:signature_algorithm())
      assert.is_true(ec:verify(fx.ec.cert))
      local ed = assert(crl.new { issuer = fx.ed.cert, key = fx.ed.pkey })
      assert.equal("ED25519", ed:signature_algorithm())
      assert.is_true(ed:verify(fx.ed.cert))
      local pss = assert(crl.new(opts { pss = true, digest = "sha512" }))
      assert.equal("rsassaPss", pss:signature_algorithm())
      assert.is_true(pss:verify(fx.rsa.cert))
      for _, d in ipairs { "sha1", "sha224", "sha256", "sha384", "sha512" } do
        local r = assert(crl.new(opts { digest = d }))
        assert.is_true(r:verify(fx.rsa.cert))
      end
    end)

    it("fails, not raises, for a key that does not fit", function()
      assert.same({ nil, "crl.new: the key does not match the issuer certificate" },
        { crl.new(opts { key = fx.other_key }) })
      assert.same({ nil, "crl.new: the key does not match the issuer certificate" },
        { crl.new(opts { key = fx.ec.pkey }) })
      assert.same({ nil, "crl.new: an Ed25519 key signs without a separate digest" },
        { crl.new { issuer = fx.ed.cert, key = fx.ed.pkey, digest = "sha256" } })
      assert.same({ nil, "crl.new: pss needs an RSA key" }, { crl.new { issuer = fx.ec.cert, key = fx.ec.pkey, pss = true } })
      assert.same({ nil, "crl.new: pss needs an RSA key" }, { crl.new { issuer = fx.ed.cert, key = fx.ed.pkey, pss = true } })
      assert.same({ nil, "crl.new: unsupported digest md5" }, { crl.new(opts { digest = "md5" }) })
      assert.same({ nil, "crl.new: unsupported digest whirlpool" }, { crl.new(opts { digest = "whirlpool" }) })
      local r, err = crl.new(opts { this_update = 400000000000 })
      assert.is_nil(r)
      assert.matches("^crl.new: a time is out of range", err)
      r, err = crl.new(opts { entries = { { serial = "01", date = -70000000000 } } })
      assert.is_nil(r)
      assert.matches("^crl.new: an entry's time is out of range", err)
    end)

    it("raises for wrong options", function()
      assert.has_error(function() crl.new() end, "crl.new: expects a table of options")
      assert.has_error(function() crl.new { key = fx.rsa.pkey } end, "crl.new: issuer (a certbench.x509) is required")
      assert.has_error(function() crl.new { issuer = fx.rsa.cert } end, "crl.new: key (a certbench.pkey) is required")
      assert.has_error(function() crl.new(opts { issuer = fx.rsa.pkey }) end)
      assert.has_error(function() crl.new(opts { key = fx.rsa.cert }) end)
      assert.has_error(function() crl.new(opts { this_update = "now" }) end)
      assert.has_error(function() crl.new(opts { next_update = 1.5 }) end)
      assert.has_error(function() crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, days = -1 } end)
      assert.has_error(function() crl.new { issuer = fx.rsa.cert, key = fx.rsa.pkey, hours = "x" } end)
      assert.has_error(function() crl.new(opts { number = "xyz" }) end)
      assert.has_error(function() crl.new(opts { number = -1 }) end)
      assert.has_error(function() crl.new(opts { number = string.rep("A", 200) }) end)
      assert.has_error(function() crl.new(opts { delta_base = 1 }) end, "crl.new: a delta CRL needs its own number (RFC 5280 5.2.4)")
      assert.has_error(function() crl.new(opts { digest = 256 }) end)
      assert.has_error(function() crl.new(opts { entries = "none" }) end)
      assert.has_error(function() crl.new(opts { entries = { "01" } }) end, "crl.new: entries[1] must be a table")
      assert.has_error(function() crl.new(opts { entries = { { serial = "zz" } } }) end)
      assert.has_error(function() crl.new(opts { entries = { { serial = 1.5 } } }) end)
      assert.has_error(function() crl.new(opts { entries = { { serial = string.rep("1", 300) } } }) end)
      assert.has_error(function() crl.new(opts { entries = { { serial = "01", reason = "bored" } } }) end,
        "crl.new: entries[1].reason: unknown reason 'bored'")
      assert.has_error(function() crl.new(opts { entries = { { serial = "01", reason = 7 } } }) end)
      assert.has_error(function() crl.new(opts { entries = { { serial = "01", date = "today" } } }) end)
      assert.has_error(function() crl.new(opts { idp = "http://x" }) end)
      assert.has_error(function() crl.new(opts { idp = { urls = { 1 } } }) end)
      assert.has_error(function() crl.new(opts { idp = { urls = 5 } }) end)
      assert.has_error(function() crl.new(opts { idp = { only_user = true, only_ca = true } }) end)
      assert.has_error(function() crl.new(opts { idp = { only_some_reasons = { "removeFromCRL" } } }) end)
      assert.has_error(function() crl.new(opts { idp = { only_some_reasons = "keyCompromise" } }) end)
    end)
  end)

  describe("hand-made DER", function()
    -- a small DER writer, to make what openssl will not: BER-ish serials, times without seconds
    local function len(n)
      if n < 128 then return string.char(n) end
      local b = ""
      while n > 0 do b = string.char(n % 256) .. b; n = n // 256 end
      return string.char(128 + #b) .. b
    end
    local function tlv(tag, content) return string.char(tag) .. len(#content) .. content end
    local function seq(...) return tlv(0x30, table.concat({ ... })) end
    local SHA256RSA = seq(tlv(6, "\42\134\72\134\247\13\1\1\11"), "\5\0")
    local function ext(oid, value, critical)
      return seq(tlv(6, oid), critical and "\1\1\255" or "", tlv(4, value))
    end
    local function signed(tbs)
      local sig = assert(fx.rsa.pkey:sign(tbs, { digest = "sha256" }))
      return seq(tbs, SHA256RSA, tlv(3, "\0" .. sig))
    end

    it("reads loose times, non-minimal and negative serials, and verifies what it read", function()
      local tbs = seq(
        tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(),
        tlv(0x17, "2401011200Z"),             -- UTCTime without seconds
        tlv(0x18, "20240201120000.25Z"),      -- GeneralizedTime with a fraction
        seq(
          seq(tlv(2, "\0\5"), tlv(0x17, "991231235959Z")),          -- 1999; serial 00 05 (BER)
          seq(tlv(2, "\255\1"), tlv(0x18, "19450101000000Z")),       -- negative; before 1950
          seq(tlv(2, "\7"), tlv(0x17, "240101000000Z"),
            seq(ext("\85\29\21", tlv(10, "\6")), ext("\1\2\3", "\5\0", true)))
        ))
      local c = assert(crl.load(signed(tbs)))
      assert.equal(2, c:version())
      assert.equal(1704110400, c:this_update())
      assert.equal(1706788800, c:next_update())
      assert.equal(3, c:count())
      assert.same({ serial = "05", date = 946684799 }, c:lookup("5"))
      assert.same({ serial = "-FF", date = -788918400 }, c:lookup("-FF"))
      assert.same({ serial = "07", date = 1704067200, reason = "certificateHold" }, c:lookup("07"))
      assert.is_true(c:verify(fx.rsa.cert))
      assert.is_nil(c:number())
    end)

    -- regressions found by tests/fuzz/crl_load.lua (seeds in tests/fuzz/corpus/crl_load/)
    it("refuses a signature BIT STRING whose unused bits are not zero, which the store then refused", function()
      local tbs = seq(tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z"))
      local sig = assert(fx.rsa.pkey:sign(tbs, { digest = "sha256" }))
      local function with_bits(unused, body) return seq(tbs, SHA256RSA, tlv(3, string.char(unused) .. body)) end
      -- padding bits set (the last byte's low 2 bits): not DER; BoringSSL refuses it, so do we
      local c, err = crl.load(with_bits(2, sig:sub(1, -2) .. string.char(sig:byte(-1) | 3)))
      assert.is_nil(c)
      assert.matches("the signature BIT STRING's unused bits are not zero", err, 1, true)
      assert.is_nil((crl.load(with_bits(1, ""))))
      -- unused bits declared but zero (PKITS BadCRLSignatureCACRL): readable, never verified
      c = assert(crl.load(with_bits(2, sig:sub(1, -2) .. string.char(sig:byte(-1) & 0xFC))))
      assert.same({ false, "bad signature (the signature BIT STRING has unused bits)" }, { c:verify(fx.rsa.cert) })
      local s = assert(require("certbench.store").new { crls = { c } })
      s:close()
      assert.is_true(assert(crl.load(with_bits(0, sig))):verify(fx.rsa.cert))
    end)

    it("refuses a CRL whose issuer is no Name, which crl info/diff/check met as a nil issuer", function()
      local badname = seq(tlv(2, "\1"))                     -- a SEQUENCE of an INTEGER, not of SETs
      local c, err = crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, badname, tlv(0x17, "240101120000Z"))))
      assert.is_nil(c)
      assert.matches("bad issuer name at offset", err, 1, true)
    end)

    it("refuses an algorithm whose parameters are not one DER element, which the store then refused", function()
      local NULL80 = seq(tlv(6, "\42\134\72\134\247\13\1\1\11"), "\5\128") -- NULL with length 0x80
      local c, err = crl.load(signed(seq(tlv(2, "\1"), NULL80, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z"))))
      assert.is_nil(c)
      assert.matches("tbsCertList's signature algorithm is not an OID and its parameters", err, 1, true)
      -- a BOOLEAN of no bytes, a constructed NumericString (found by crl_load, store_bundle)
      for _, params in ipairs { "\1\0", "\50\0" } do
        local alg = seq(tlv(6, "\42\134\72\134\247\13\1\1\11"), params)
        c, err = crl.load(signed(seq(tlv(2, "\1"), alg, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z"))))
        assert.is_nil(c)
        assert.matches("is not an OID and its parameters", err, 1, true)
      end
      local good = assert(crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z")))))
      assert.truthy(require("certbench.store").new { crls = { good } })
    end)

    it("refuses a malformed extension OID, which the store then refused", function()
      local exts = tlv(0xa0, seq(ext("\85\28\244", tlv(2, "\1"))))       -- 55 1C F4: cut subidentifier
      local c, err = crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z"), exts)))
      assert.is_nil(c)
      assert.matches("an extension's OID is malformed", err, 1, true)
      local entry = seq(tlv(2, "\7"), tlv(0x17, "240101000000Z"), seq(ext("\85\29\128\1", tlv(10, "\1"))))
      c = crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z"), seq(entry))))
      assert.is_nil(c)
    end)

    it("reads a time with a zone offset as UTC (X.680), and refuses a GeneralizedTime without a zone", function()
      local function at(this, nxt)
        return crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, fx.rsa.cert:subject():der(), this, nxt)))
      end
      local c = assert(at(tlv(0x17, "240101120000+0130"), tlv(0x18, "20240201120000.5-0200")))
      assert.equal(1704110400 - 5400, c:this_update())
      assert.equal(1706788800 + 7200, c:next_update())
      assert.is_nil((at(tlv(0x17, "240101120000Z"), tlv(0x18, "20240201120000"))))
      assert.is_nil((at(tlv(0x17, "240101120000+2400"), tlv(0x18, "20240201120000Z"))))
      assert.is_nil((at(tlv(0x17, "240101120000+01"), tlv(0x18, "20240201120000Z"))))
    end)

    it("a version 1 CRL without nextUpdate and without entries", function()
      local c = assert(crl.load(signed(seq(SHA256RSA, fx.rsa.cert:subject():der(), tlv(0x17, "240101120000Z")))))
      assert.equal(1, c:version())
      assert.is_nil(c:next_update())
      assert.equal(0, c:count())
      assert.is_nil(c:lookup("01"))
      assert.is_nil((c:entries())())
      assert.matches("No Revoked Certificates.", c:text(), 1, true)
      assert.matches("Next Update: NONE", c:text(), 1, true)
      assert.is_true(c:verify(fx.rsa.cert))
    end)

    it("refuses what RFC 5280 forbids and names it", function()
      local name = fx.rsa.cert:subject():der()
      local function try(tbs) return select(2, crl.load(signed(tbs))) end
      assert.matches("^crl.load: bad DER at offset %d+: unsupported CRL version$",
        try(seq(tlv(2, "\5"), SHA256RSA, name, tlv(0x17, "240101120000Z"))))
      assert.equal("crl.load: bad CRL: a version 1 CRL with extensions",
        try(seq(SHA256RSA, name, tlv(0x17, "240101120000Z"), tlv(0xa0, seq(ext("\85\29\20", "\2\1\1"))))))
      assert.matches("^crl.load: bad time at offset %d+: thisUpdate is \"240101120000\"$",
        try(seq(SHA256RSA, name, tlv(0x17, "240101120000"))))
      assert.matches("^crl.load: bad time at offset %d+: nextUpdate is \"20240230000000Z\"$",
        try(seq(SHA256RSA, name, tlv(0x17, "240101120000Z"), tlv(0x18, "20240230000000Z"))))
      assert.matches("^crl.load: bad DER at offset %d+: data after crlExtensions$",
        try(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"), tlv(0xa0, seq()), "\5\0")))
      assert.matches("^crl.load: bad DER at offset %d+: the CRL number does not decode$",
        try(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"), tlv(0xa0, seq(ext("\85\29\20", "\2\1\1\0"))))))
      assert.matches("^crl.load: entry 1: bad time",
        try(seq(SHA256RSA, name, tlv(0x17, "240101120000Z"), seq(seq(tlv(2, "\1"), tlv(0x17, "240101126000Z"))))))
      assert.matches("^crl.load: entry 1: bad DER at offset %d+: data after an entry's extensions$",
        try(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"),
          seq(seq(tlv(2, "\1"), tlv(0x17, "240101120000Z"), seq(), "\5\0")))))
      assert.matches("^crl.load: entry 1: bad DER at offset %d+: an extension's critical flag is not a DER BOOLEAN$",
        try(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"),
          seq(seq(tlv(2, "\1"), tlv(0x17, "240101120000Z"), seq(seq(tlv(6, "\85\29\21"), "\1\1\1", tlv(4, "\10\1\1"))))))))
      assert.matches("^crl.load: entry 1: bad DER at offset %d+: an entry's serial number is empty$",
        try(seq(SHA256RSA, name, tlv(0x17, "240101120000Z"), seq(seq("\2\0", tlv(0x17, "240101120000Z"))))))
    end)

    -- what BoringSSL's CRL parser decodes, the engine checks with the same decoder at load, so
    -- the trust store never refuses a loaded CRL (found by tests/fuzz/crl_load.lua and
    -- store_bundle.lua: seeds idp-field-6.der, aki-undecodable.pem in their corpora)
    it("refuses extensions BoringSSL would refuse in the trust store", function()
      local name = fx.rsa.cert:subject():der()
      local function with(exts, entries)
        return select(2, crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"),
          entries or "", tlv(0xa0, seq(table.unpack(exts)))))))
      end
      local NUMBER = ext("\85\29\20", "\2\1\1")
      assert.matches("the issuing distribution point does not decode$",
        with { NUMBER, ext("\85\29\28", seq(tlv(0x81, "\255"), tlv(0x86, "\255"))) })  -- no field [6]
      assert.matches("the authority key identifier does not decode$",
        with { NUMBER, ext("\85\29\35", seq(tlv(0x80, "\1\2"), "\5\0")) })
      assert.matches("the CRL number appears twice$", with { NUMBER, NUMBER })
      assert.matches("a delta CRL indicator without a CRL number$", with { ext("\85\29\27", "\2\1\1") })
      local function entry(...) return seq(seq(tlv(2, "\1"), tlv(0x17, "240101120000Z"), seq(...))) end
      local REASON = ext("\85\29\21", "\10\1\1")
      assert.matches("^crl.load: entry 1: bad CRL at offset %d+: an entry has the same extension twice$",
        with({ NUMBER }, entry(REASON, REASON)))
      assert.matches("^crl.load: entry 1: bad DER at offset %d+: the certificate issuer does not decode$",
        with({ NUMBER }, entry(ext("\85\29\29", seq(tlv(0x86, ""), tlv(0x05, ""))))))
      -- and what it takes, the store takes
      local c = assert(crl.load(signed(seq(tlv(2, "\1"), SHA256RSA, name, tlv(0x17, "240101120000Z"),
        entry(REASON, ext("\85\29\29", seq(tlv(0xa4, name)))),
        tlv(0xa0, seq(NUMBER, ext("\85\29\28", seq(tlv(0x84, "\255")))))))))
      assert.truthy(require("certbench.store").new { crls = { c } })
    end)
  end)

  describe("objects", function()
    it("close is idempotent and a closed CRL raises", function()
      local c = assert(crl.load(der))
      local it = c:entries()
      local s = c:serials()
      c:close()
      c:close()
      for _, m in ipairs { "issuer", "issuer_der", "this_update", "next_update", "number", "delta_base", "is_delta",
        "aki", "issuing_distribution_point", "freshest_crl", "signature_algorithm", "version", "count", "entries", "serials",
        "to_der", "to_pem", "fingerprint", "write", "text", "extensions" } do
        assert.error_matches(function() c[m](c) end, "attempt to use a closed CRL", 1, true)
      end
      assert.has_error(function() c:lookup("01") end)
      assert.has_error(function() c:verify(fx.rsa.cert) end)
      assert.error_matches(function() it() end, "attempt to use a closed CRL", 1, true)
      assert.error_matches(function() s() end, "attempt to use a closed CRL", 1, true)
      assert.matches("^certbench.crl %(closed%)", tostring(c))
    end)

    it("works with <close>", function()
      local keep
      do
        local c <close> = assert(crl.load(der))
        keep = c
        assert.equal(6, c:count())
      end
      assert.has_error(function() keep:count() end)
    end)

    it("an object made from a string outlives the string", function()
      local c = assert(crl.load(der .. ""))
      collectgarbage()
      collectgarbage()
      assert.equal(der, c:to_der())
      assert.equal("0A", c:lookup("0A").serial)
    end)

    it("the reasons table", function()
      assert.equal("unspecified", crl.reasons[0])
      assert.equal("keyCompromise", crl.reasons[1])
      assert.is_nil(crl.reasons[7])
      assert.equal("aACompromise", crl.reasons[10])
    end)
  end)

  describe("memory", function()
    -- 100,000 parse/free cycles in a fresh certbench process (spec/support/memory.lua says why):
    -- after a warm-up its resident size stays flat to a page (0 to 4 kB). The bound of 512 kB is
    -- stricter than 1.5x of the child's 5 MB: a leak of 6 bytes a cycle fails it. The engine's
    -- struct left unfreed by crl_gc (its contents freed) grew it by 37 MB.
    it("100,000 parse/free cycles leave the resident size flat", function()
      local file = h.tmpdir() .. "/crl.der"
      h.write(file, der)
      memory.check("crl", [[
        local memory = require "support.memory"
        local h = require "support.helper"
        local crl = require "certbench.crl"
        local der = h.read(arg[1])
        memory.cycles(tonumber(arg[2]), function(i)
          local c = crl.load(der)
          if i % 10 == 0 then
            c:lookup("0C")
            for _ in c:entries() do end
            c:issuer()
          end
          if i % 3 == 0 then c:close() end -- the rest left to the collector
        end, 1000)
      ]], { file, tostring(memory.ASAN and 5000 or 100000) }, 512)
    end)
  end)
end)
