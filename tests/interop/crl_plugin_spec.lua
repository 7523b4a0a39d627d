-- tests/interop/crl_plugin_spec.lua: `certbench crl info`, `fetch` and `diff` against the openssl CLI
-- (CRLs made by `openssl ca -gencrl` read by certbench; what certbench writes read and verified
-- by openssl) and against real servers on 127.0.0.1: python3 -m http.server, openssl s_server
-- -WWW (HTTPS with a test CA, and a wrong CA that must fail).
local h = require "support.helper"
local servers = require "support.servers"
local F = require "support.crl_plugin"
local OF = require "support.crl"
local fs = require "certbench.fs"
local archive = require "certbench.archive"

local function cb(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " " .. args)
  return out, rc, err
end

local function cbjson(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " --json " .. args)
  local ok, t = pcall(F.json, out)
  assert(ok, "not JSON: " .. out .. err)
  return t, rc, err
end

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. ": " .. out)
  return out
end

-- openssl's "Nov 28 01:00:00 2026 GMT" as RFC 3339
local function rfc3339(text)
  local out = h.run(("date -u -d %s +%%Y-%%m-%%dT%%H:%%M:%%SZ"):format(h.q(text)))
  return out:match("%S+")
end

describe("crl info", function()
  local fx, pem, der

  setup(function()
    fx = OF.get()
    pem = fx.gencrl({ fx.revoked("0A", "260101000000Z", "keyCompromise"), fx.revoked("1B2C", "260102000000Z"),
                      fx.revoked("0DEF", "260103000000Z", "superseded") }, { crlnumber = "1F40" })
    der = fx.dir .. "/info.der"
    ossl(("crl -in %s -outform DER -out %s"):format(h.q(pem), h.q(der)))
  end)

  it("agrees with openssl on what an openssl-made CRL holds (PEM and DER)", function()
    for _, f in ipairs { pem, der } do
      local res, rc = cbjson("crl info " .. h.q(f))
      assert.equal(0, rc)
      local d = res.crls[1]
      local form = f == der and "-inform DER " or ""
      assert.equal(ossl("crl -noout -hash " .. form .. "-in " .. h.q(f)):match("%x+"), d.issuer_hash)
      assert.equal("crlNumber=0x" .. d.number, ossl("crl -noout -crlnumber " .. form .. "-in " .. h.q(f)):match("%S+"))
      assert.equal(rfc3339(ossl("crl -noout -lastupdate " .. form .. "-in " .. h.q(f)):match("=(.-)%s*$")), d.this_update)
      assert.equal(rfc3339(ossl("crl -noout -nextupdate " .. form .. "-in " .. h.q(f)):match("=(.-)%s*$")), d.next_update)
      assert.equal(3, d.entries)
      assert.equal("sha256WithRSAEncryption", d.signature_algorithm)
      assert.equal("CN=rsa CA,O=net2,C=NO", d.issuer)
      assert.is_false(d.expired)
    end
    local out = cb("crl info " .. h.q(pem))
    assert.matches("number:%s+8000 %(hex 1F40%)", out)
  end)

  it("verifies with --ca by issuer name and key id; another CA fails with exit 3", function()
    local res, rc = cbjson(("crl info %s --ca %s"):format(h.q(der), h.q(fx.rsa.pem)))
    assert.equal(0, rc)
    assert.is_true(res.crls[1].verified)
    assert.equal("CN=rsa CA,O=net2,C=NO", res.crls[1].verified_by)
    -- a file of several CAs: the right one is found
    local bundle = fx.dir .. "/cas.pem"
    h.write(bundle, h.read(fx.ec.pem) .. h.read(fx.ed.pem) .. h.read(fx.rsa.pem))
    res, rc = cbjson(("crl info %s --ca %s"):format(h.q(der), h.q(bundle)))
    assert.equal(0, rc)
    local out
    out, rc = cb(("crl info %s --ca %s"):format(h.q(der), h.q(fx.ec.pem)))
    assert.equal(3, rc)
    assert.matches("verifies:%s+NO: issuer C = NO, O = net2, CN = rsa CA is not among the trusted CAs", out)
    -- the same name with another key: the key id does not match
    local imp = fx.dir .. "/impostor.pem"
    ossl(("req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 3 -subj /C=NO/O=net2/CN=rsa\\ CA"):format(
      h.q(fx.dir .. "/imp.key"), h.q(imp)))
    out, rc = cb(("crl info %s --ca %s"):format(h.q(der), h.q(imp)))
    assert.equal(3, rc)
    assert.matches("has the key", out)
    -- a CA without cRLSign in its keyUsage may not sign CRLs
    local noku = fx.gencrl({}, { ca = fx.noku })
    out, rc = cb(("crl info %s --ca %s"):format(h.q(noku), h.q(fx.noku.pem)))
    assert.equal(3, rc)
    assert.matches("may not sign CRLs", out)
  end)

  it("lists the entries as openssl does", function()
    local res = cbjson(("crl info --entries %s"):format(h.q(pem)))
    local mine = {}
    for _, e in ipairs(res.crls[1].revoked) do mine[#mine + 1] = e.serial end
    table.sort(mine)
    local theirs = {}
    for s in ossl("crl -noout -text -in " .. h.q(pem)):gmatch("Serial Number: (%x+)") do theirs[#theirs + 1] = s:upper() end
    table.sort(theirs)
    assert.same(theirs, mine)
    assert.equal("keyCompromise", res.crls[1].revoked[1].reason)
  end)

  it("reads every CRL of the corpus with the issuer hash openssl gives", function()
    local files = {}
    for _, sub in ipairs { "crls/pem", "crls/real-world", "crls/mock-fpki" } do
      for _, f in ipairs(fs.list(h.data .. "/" .. sub) or {}) do
        local p = h.data .. "/" .. sub .. "/" .. f
        if not fs.isdir(p) then files[#files + 1] = p end
      end
    end
    assert.is_true(#files >= 8)
    local args = {}
    for _, p in ipairs(files) do args[#args + 1] = h.q(p) end
    local res, rc = cbjson("crl info " .. table.concat(args, " "))
    assert.equal(0, rc)
    for i, d in ipairs(res.crls) do
      local f = d.file
      local form = h.read(f):sub(1, 1) == "\48" and "-inform DER " or ""
      assert.equal(ossl("crl -noout -hash " .. form .. "-in " .. h.q(f)):match("%x+"), d.issuer_hash, f)
      assert.is_true(d.entries >= 0)
      assert.truthy(i)
    end
  end)

  it("reads CRLs from ZIP, GZIP and PKCS#7, and says why a file is no CRL", function()
    local d = h.tmpdir()
    local zip = d .. "/crls.zip"
    h.write(zip, assert(archive.zip { { name = "x/y/a.crl", data = h.read(der) }, { name = "b.pem", data = h.read(pem) } }))
    local res = cbjson("crl info " .. h.q(zip))
    assert.equal(2, #res.crls)
    assert.equal("x/y/a.crl", res.crls[1].member)
    h.write(d .. "/c.gz", archive.gzip(h.read(der), { name = "c.crl" }))
    res = cbjson("crl info " .. h.q(d .. "/c.gz"))
    assert.equal(3, res.crls[1].entries)
    ossl(("crl2pkcs7 -in %s -outform DER -out %s"):format(h.q(pem), h.q(d .. "/c.p7c")))
    res = cbjson("crl info " .. h.q(d .. "/c.p7c"))
    assert.equal("1F40", res.crls[1].number)
    local _, rc, err = cb("crl info " .. h.q(fx.rsa.pem))
    assert.equal(1, rc)
    assert.matches("no CRL found %(the content is PEM with CERTIFICATE blocks%)", err)
    _, rc, err = cb("crl info " .. h.q(d .. "/missing.crl"))
    assert.equal(1, rc)
    assert.matches("missing.crl: No such file", err)
    h.write(d .. "/cut.der", h.read(der):sub(1, 200))
    _, rc, err = cb("crl info " .. h.q(d .. "/cut.der"))
    assert.equal(1, rc)
    assert.matches("cut.der", err)
  end)
end)

describe("crl diff", function()
  it("lists serials added and removed, and says which CRL is newer", function()
    local fx = OF.get()
    local a = fx.gencrl({ fx.revoked("01", "260101000000Z"), fx.revoked("02", "260101000000Z") }, { crlnumber = "10" })
    local b = fx.gencrl({ fx.revoked("02", "260101000000Z"), fx.revoked("03", "260105000000Z", "keyCompromise"),
                          fx.revoked("04", "260106000000Z") }, { crlnumber = "11" })
    local res, rc = cbjson(("crl diff %s %s"):format(h.q(a), h.q(b)))
    assert.equal(0, rc)
    local added = {}
    for _, e in ipairs(res.added) do added[#added + 1] = e.serial end
    table.sort(added)
    assert.same({ "03", "04" }, added)
    assert.same({ { serial = "01" } }, res.removed)
    assert.equal("newer", res.number_order)
    assert.is_true(res.same_issuer)
    local out = cb(("crl diff %s %s"):format(h.q(b), h.q(a)))
    assert.matches("OLDER number", out)
    assert.matches("%+ 01", out)
    assert.matches("%- 03", out)
    -- counts in words for people: 1 entry, 2 entries
    local one = fx.gencrl({ fx.revoked("05", "260101000000Z") }, { crlnumber = "12" })
    out = cb(("crl diff %s %s"):format(h.q(one), h.q(a)))
    assert.matches("old: [^\n]*  1 entry\n", out)
    assert.matches("new: [^\n]*  2 entries[ \n]", out)
    local other = fx.gencrl({}, { ca = fx.ec })
    res = cbjson(("crl diff %s %s"):format(h.q(a), h.q(other)))
    assert.is_false(res.same_issuer)
  end)
end)

describe("crl fetch", function()
  local dir, www, http_srv, https_srv, tlsca, wrongca, ca, crls

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    ca = F.ca(dir, "Fetch CA")
    local ca2 = F.ca(dir, "Fetch CA 2")
    crls = { a = F.crl(ca, { number = 5 }), b = F.crl(ca2, { number = 6 }) }
    h.write(www .. "/a.crl", crls.a:to_der())
    h.write(www .. "/a.pem", crls.a:to_pem())
    h.write(www .. "/both.zip", assert(archive.zip {
      { name = "deep/er/a.crl", data = crls.a:to_der() }, { name = "other/b.pem", data = crls.b:to_pem() } }))
    h.write(www .. "/b.crl.gz", archive.gzip(crls.b:to_der()))
    h.write(www .. "/expired.crl", F.crl(ca, { number = 4, this_update = os.time() - 5 * 86400,
      next_update = os.time() - 86400 }):to_der())
    h.write(www .. "/index.html", "<html>not a CRL</html>")
    http_srv = servers.http(www)
    tlsca = servers.make_ca(dir, "Fetch TLS CA")
    wrongca = servers.make_ca(dir, "Other TLS CA")
    local tls = servers.make_server_cert(dir, tlsca, "localhost")
    https_srv = servers.https(www, tls.cert, tls.key)
  end)

  teardown(function()
    servers.stop(http_srv)
    servers.stop(https_srv)
  end)

  local function u(p) return ("http://127.0.0.1:%d/%s"):format(http_srv.port, p) end

  it("downloads PEM, DER, ZIP (nested folders) and GZIP, writes DER and PEM that openssl verifies", function()
    local out = dir .. "/out1"
    local res, rc, err = cbjson(("crl fetch -o %s --ca %s %s %s %s %s"):format(h.q(out), h.q(dir .. "/Fetch_CA.pem"),
      h.q(u("a.crl")), h.q(u("a.pem")), h.q(u("both.zip")), h.q(u("b.crl.gz"))))
    -- CA 2 is not trusted: its CRLs (in the ZIP and the GZIP) are refused, the others written
    assert.equal(1, rc, err)
    assert.equal(4, #res.sources)
    assert.equal(2, #res.sources[3].crls)
    assert.equal("deep/er/a.crl", res.sources[3].crls[1].member)
    assert.is_true(res.sources[3].crls[1].verified)
    assert.is_false(res.sources[3].crls[2].verified)
    assert.matches("not among the trusted CAs", res.sources[4].crls[1].error)
    local files = res.sources[1].crls[1].files
    assert.equal(2, #files)
    assert.matches("%.crl$", files[1])
    local o = ossl(("crl -inform DER -in %s -noout -CAfile %s"):format(h.q(files[1]), h.q(ca.pem)))
    assert.matches("verify OK", o)
    assert.equal(crls.a:to_der(), h.read(files[1]))
    assert.equal(h.read(files[2]), ossl("crl -in " .. h.q(files[1]) .. " -inform DER"))
    -- counts in words for people: 1 CRL, 2 CRLs
    local text = cb(("crl fetch -o %s --ca %s %s %s"):format(h.q(dir .. "/out1t"), h.q(dir .. "/Fetch_CA.pem"),
      h.q(u("a.crl")), h.q(u("both.zip"))))
    assert.matches(u("a.crl") .. ": 1 CRL, ", text, 1, true)
    assert.matches(u("both.zip") .. ": 2 CRLs, ", text, 1, true)
    assert.matches("  0 entries", text, 1, true)
    -- without --ca every CRL is written
    res, rc = cbjson(("crl fetch -o %s --format der %s %s"):format(h.q(dir .. "/out2"), h.q(u("both.zip")), h.q(u("b.crl.gz"))))
    assert.equal(0, rc)
    local n = 0
    for _, f in ipairs(fs.list(dir .. "/out2")) do if f:match("%.crl$") then n = n + 1 end end
    assert.equal(2, n)
  end)

  it("streams a download over stream_over to a file (removed after), keeps a smaller one in memory", function()
    local fetch = require "certbench.plugins.crl.fetch"
    local http = require "certbench.http"
    local tmp = h.tmpdir()
    local seen = {}
    local get = http.get
    http.get = function(url, o)
      local r, e, c = get(url, o)
      seen[#seen + 1] = r and (r.file and "file" or "body")
      return r, e, c
    end
    local ok, err = pcall(function()
      local size = #crls.a:to_der()
      for _, case in ipairs { { size - 1, "file" }, { size, "body" } } do
        local r = assert(fetch.get(u("a.crl"), { tmp_dir = tmp, stream_over = case[1] }))
        assert.equal(case[2], seen[#seen], "stream_over " .. case[1])
        assert.equal(1, #r.crls)
        assert.equal(crls.a:to_der(), r.crls[1].crl:to_der())
        assert.equal(u("a.crl"), r.crls[1].name)
        assert.same({}, fs.list(tmp))
      end
      -- a ZIP streamed to the file is unpacked from it
      local z = assert(fetch.get(u("both.zip"), { tmp_dir = tmp, stream_over = 0 }))
      assert.equal("file", seen[#seen])
      assert.equal(2, #z.crls)
      assert.same({}, fs.list(tmp))
    end)
    http.get = get
    assert(ok, err)
  end)

  it("refuses expired CRLs unless --allow-expired, and pages that are not CRLs", function()
    local res, rc = cbjson(("crl fetch -o %s %s"):format(h.q(dir .. "/out3"), h.q(u("expired.crl"))))
    assert.equal(1, rc)
    assert.matches("expired at", res.sources[1].crls[1].error)
    res, rc = cbjson(("crl fetch -o %s --allow-expired %s"):format(h.q(dir .. "/out3"), h.q(u("expired.crl"))))
    assert.equal(0, rc)
    assert.is_true(res.sources[1].crls[1].expired)
    res, rc = cbjson(("crl fetch -o %s %s %s"):format(h.q(dir .. "/out3"), h.q(u("index.html")), h.q(u("nothere.crl"))))
    assert.equal(1, rc)
    assert.equal("format", res.sources[1].code)
    assert.matches("no CRL found", res.sources[1].error)
    assert.equal("http", res.sources[2].code)
    local _, rc2, err = cb(("crl fetch -o %s file:///etc/passwd"):format(h.q(dir .. "/out3")))
    assert.equal(1, rc2)
    assert.matches("only http, https, ldap", err .. _)
  end)

  it("fetches over HTTPS with the right CA and fails with a wrong one", function()
    local url = ("https://127.0.0.1:%d/a.crl"):format(https_srv.port)
    local res, rc = cbjson(("crl fetch -o %s --tls-ca %s %s"):format(h.q(dir .. "/out4"), h.q(tlsca.cert), h.q(url)))
    assert.equal(0, rc)
    assert.equal("05", res.sources[1].crls[1].number)
    res, rc = cbjson(("crl fetch -o %s --tls-ca %s %s"):format(h.q(dir .. "/out5"), h.q(wrongca.cert), h.q(url)))
    assert.equal(1, rc)
    assert.equal("tls", res.sources[1].code)
    assert.is_nil(fs.list(dir .. "/out5")[1])
  end)
end)
