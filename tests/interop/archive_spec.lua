-- certbench.archive against the real tools, both ways: what archive.zip/gzip write, unzip,
-- gzip and python3 read; what they write (including their odd corners), archive reads; and the
-- CRLs and certificates taken out of containers are what openssl sees in them.
local archive = require "certbench.archive"
local h = require "support.helper"

local dir
local function sh(cmd)
  local out, rc = h.run("cd " .. h.q(dir) .. " && " .. cmd)
  assert(rc == 0, cmd .. ": " .. out)
  return out
end
local function fx(name) return h.read(dir .. "/" .. name) end

describe("archive interop", function()
  setup(function()
    dir = h.tmpdir()
    local out, rc = h.run("python3 " .. h.q(h.root .. "/spec/support/archive.py") .. " " .. h.q(dir))
    assert(rc == 0, out)
  end)

  describe("what certbench writes", function()
    it("unzip tests and extracts a zip with folders and both methods", function()
      h.write(dir .. "/w.zip", archive.zip({
        { name = "crls/" },
        { name = "crls/ca/crl1.der", data = fx("crl1.der") },
        { name = "crls/crl2.pem", data = fx("crl2.pem"), method = "store" },
      }, { mtime = 1700000000 }))
      local out = sh("unzip -t w.zip")
      assert.matches("No errors detected", out, 1, true)
      out = sh("unzip -Z -v w.zip")
      assert.matches("compression method:%s+deflated", out)
      assert.matches("compression method:%s+none %(stored%)", out)
      sh("mkdir x && cd x && unzip -q ../w.zip")
      assert.equal(fx("crl1.der"), fx("x/crls/ca/crl1.der"))
      assert.equal(fx("crl2.pem"), fx("x/crls/crl2.pem"))
    end)
    it("python3's zipfile reads it, names and CRCs included", function()
      h.write(dir .. "/p.zip", archive.zip { { name = "a/b.crl", data = fx("crl3.der") } })
      local out = sh([[python3 -c 'import sys, zipfile
z = zipfile.ZipFile("p.zip"); assert z.testzip() is None
print(z.namelist(), len(z.read("a/b.crl")))']])
      assert.equal("['a/b.crl'] " .. #fx("crl3.der") .. "\n", out)
    end)
    it("gzip -t and gunzip read its gzip; gunzip -N restores the name", function()
      h.write(dir .. "/w.gz", archive.gzip(fx("crl1.pem"), { name = "restored.pem", mtime = 1700000000 }))
      sh("gzip -t w.gz")
      assert.equal(fx("crl1.pem"), sh("gunzip -c w.gz"))
      sh("mkdir n && cp w.gz n/ && cd n && gunzip -N w.gz")
      assert.equal(fx("crl1.pem"), fx("n/restored.pem"))
      local out = sh([[python3 -c 'import gzip; print(len(gzip.open("w.gz").read()))']])
      assert.equal(#fx("crl1.pem") .. "\n", out)
    end)
  end)

  describe("what the tools write", function()
    it("reads zip -r output with deflate, store (-0) and bzip2 (-Z bzip2)", function()
      sh("mkdir -p t/sub && cp crl1.der t/ && cp crl2.pem t/sub/")
      for _, flags in ipairs { "", "-0", "-9", "-Z bzip2" } do
        sh("rm -f t.zip && zip -qr " .. flags .. " t.zip t")
        local crls = assert(archive.crls(fx("t.zip")))
        assert.equal(2, #crls, flags)
        local byname = {}
        for _, c in ipairs(crls) do byname[c.name] = c.der end
        assert.equal(fx("crl1.der"), byname["t/crl1.der"])
        assert.equal(fx("crl2.der"), byname["t/sub/crl2.pem"])
      end
    end)
    it("reads a zip written to a pipe (data descriptors, sizes after the data)", function()
      sh("cat crl1.der | zip -q -fd piped.zip - ")
      local ms = assert(archive.members(fx("piped.zip")))
      assert.equal(1, #ms)
      assert.equal("-", ms[1].name)
      assert.equal(fx("crl1.der"), ms[1].data)
    end)
    it("reads a zip with an archive comment and a self-extractor-style prefix", function()
      sh("cp stored.zip c.zip && echo 'mirror of 2025-01-01' | zip -qz c.zip")
      assert.equal(2, #assert(archive.crls(fx("c.zip"))))
      -- a prefix shifts every offset: zip -A fixes them, as for self-extractors
      sh("(printf 'MZ-stub-'; cat stored.zip) > sfx.zip && zip -qA sfx.zip")
      assert.equal("unknown", archive.detect(fx("sfx.zip")))
      assert.equal(0, #assert(archive.crls(fx("sfx.zip"))))
    end)
    it("reads gzip -9 and gzip -1 output, and pigz-style multi-member streams", function()
      for _, l in ipairs { "-1", "-9" } do
        sh("gzip -c " .. l .. " crl1.pem > l.gz")
        assert.same({ { name = "crl1.pem", der = fx("crl1.der") } }, archive.crls(fx("l.gz")))
      end
      -- the same file cut in two, each part its own gzip member, as parallel compressors do
      local pem = fx("crl1.pem")
      local half = #pem // 2
      h.write(dir .. "/p1", pem:sub(1, half))
      h.write(dir .. "/p2", pem:sub(half + 1))
      sh("(gzip -nc p1; gzip -nc p2) > multi.gz")
      assert.equal(pem, assert(archive.members(fx("multi.gz")))[1].data)
      assert.equal(1, #assert(archive.crls(fx("multi.gz"))))
    end)
  end)

  describe("what comes out of containers", function()
    it("openssl accepts every CRL taken from a p7c and agrees on its number", function()
      sh("openssl crl2pkcs7 -in crl1.pem -certfile ca.pem -outform DER -out c.p7c")
      local crls = assert(archive.crls(fx("c.p7c")))
      assert.equal(1, #crls)
      h.write(dir .. "/out.der", crls[1].der)
      local out = sh("openssl crl -inform DER -in out.der -noout -crlnumber -CAfile ca.pem 2>&1")
      assert.matches("crlNumber=0x0*1", out)
      assert.matches("verify OK", out, 1, true)
    end)
    it("openssl reads the certificates taken from a corpus p7c the same way", function()
      local f = h.data .. "/p7b/mock-fpki/CertiPathBridgeCA-G2.p7c"
      local certs = assert(archive.certs(h.read(f)))
      local ours = {}
      for _, c in ipairs(certs) do
        h.write(dir .. "/c.der", c.der)
        ours[#ours + 1] = sh("openssl x509 -inform DER -in c.der")
      end
      local theirs = h.openssl("pkcs7 -inform DER -print_certs -in " .. h.q(f))
      local list = {}
      for pem in theirs:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n") do
        list[#list + 1] = pem
      end
      assert.equal(#list, #ours)
      assert.same(list, ours)
    end)
    it("reads BER (indefinite-length) PKCS#7 from openssl cms -sign -stream", function()
      sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key"
        .. " -out s.pem -subj /CN=signer -days 10 2>/dev/null && openssl x509 -in s.pem -outform DER -out s.der")
      sh("openssl cms -sign -in crl1.pem -signer s.pem -inkey s.key -certfile leaf.pem"
        .. " -outform DER -stream -nodetach -out s.p7")
      local data = fx("s.p7")
      assert.equal("\x30\x80", data:sub(1, 2))
      assert.equal("pkcs7", archive.detect(data))
      local certs = assert(archive.certs(data))
      local ders = {}
      for i, c in ipairs(certs) do ders[i] = c.der end
      table.sort(ders)
      local want = { fx("s.der"), fx("leaf.der") }
      table.sort(want)
      assert.same(want, ders)
      assert.same({}, archive.crls(data))
    end)
    it("reads CRLs from a PKCS#7 whose outer layers have indefinite lengths", function()
      -- a SignedData from crl2pkcs7, its outer layers re-encoded with indefinite lengths
      sh("openssl crl2pkcs7 -in crl2.pem -certfile leaf.pem -outform DER -out d.p7c")
      local der = fx("d.p7c")
      local ber = [[import sys
def tlv(b, i):
    tag = b[i]; i += 1; l = b[i]; i += 1
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i+n], "big"); i += n
    return tag, i, l
d = open("d.p7c", "rb").read()
# indefinite lengths on ContentInfo, [0] and SignedData only: the CRL and certificate stay DER
tag, j, l = tlv(d, 0)
ci = d[j:j+l]
t2, j2, l2 = tlv(ci, 0)           # OID
oid = ci[:j2+l2]
t3, j3, l3 = tlv(ci, j2+l2)       # [0]
t4, j4, l4 = tlv(ci[j3:], 0)      # SignedData
sd = ci[j3:][j4:j4+l4]
open("d-ber.p7c", "wb").write(b"\x30\x80" + oid + b"\xa0\x80\x30\x80" + sd + b"\0\0\0\0\0\0")
]]
      h.write(dir .. "/ber.py", ber)
      sh("python3 ber.py")
      local data = fx("d-ber.p7c")
      assert.are_not.equal(der, data)
      assert.equal("pkcs7", archive.detect(data))
      sh("openssl pkcs7 -inform DER -in d-ber.p7c -noout") -- openssl takes it too
      assert.same({ { name = "data", der = fx("crl2.der") } }, archive.crls(data))
      assert.same({ { name = "data", der = fx("leaf.der") } }, archive.certs(data))
    end)
  end)
end)
