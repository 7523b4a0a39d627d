-- spec/csr_spec.lua: certbench.csr, PKCS#10 requests.
local csr = require "certbench.csr"
local pkey = require "certbench.pkey"
local name = require "certbench.name"

local key = pkey.generate("ec")

describe("csr.new", function()
  it("builds a request with every kind of field and reads it back", function()
    local r, err, warn = csr.new{
      subject = "/C=NO/O=net2/CN=vcs.example.com", key = key,
      san = { "DNS:vcs.example.com", "IP:192.0.2.1", "email:x@y", "URI:sip:x@y" },
      key_usage = { "digitalSignature", "keyEncipherment" },
      eku = { "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.99" },
      extensions = { { name = "basicConstraints", value = "CA:FALSE", critical = true },
                     { oid = "1.2.3.4.5", value_der = "\5\0" } },
    }
    assert.truthy(r, err)
    assert.is_nil(warn)
    assert.equal(1, r:version())
    assert.equal("C = NO, O = net2, CN = vcs.example.com", r:subject():text())
    assert.is_true(r:verify())
    assert.equal("ecdsa-with-SHA256", r:signature_algorithm())
    assert.is_true(key:matches(r))
    assert.is_true(r:public_key():public_der() == key:public_der())
    local got = {}
    for _, n in ipairs(r:san()) do got[#got + 1] = n.type .. "=" .. n.value end
    assert.same({ "DNS=vcs.example.com", "IP=192.0.2.1", "email=x@y", "URI=sip:x@y" }, got)
    assert.same({ "digitalSignature", "keyEncipherment" }, r:key_usage())
    assert.same({ "serverAuth", "clientAuth", "1.3.6.1.5.5.7.3.99" }, r:eku())
    assert.same({ ca = false, critical = true }, r:basic_constraints())
    local exts = r:extensions()
    assert.equal(5, #exts)
    local names = {}
    for _, e in ipairs(exts) do names[#names + 1] = e.name .. (e.critical and "!" or "") end
    assert.same({ "keyUsage!", "extendedKeyUsage", "subjectAltName", "basicConstraints!", "1.2.3.4.5" }, names)
    assert.equal("\5\0", exts[5].der)
    assert.matches("DNS:vcs.example.com", exts[3].text)
    assert.same({}, r:policies())
    assert.same({}, r:crl_distribution_points())
    assert.is_nil(r:ski())
  end)

  it("takes the table forms of subject and SAN", function()
    local r = assert(csr.new{ subject = { { "C", "NO" }, { CN = "t" } }, key = key,
                              san = { dns = { "a.example", "b.example" }, ip = "192.0.2.9",
                                      email = { "m@example" }, uri = { "https://example" } } })
    assert.equal("/C=NO/CN=t", r:subject():oneline())
    local kinds = {}
    for _, n in ipairs(r:san()) do kinds[n.type] = (kinds[n.type] or 0) + 1 end
    assert.same({ DNS = 2, IP = 1, email = 1, URI = 1 }, kinds)
    local n = assert(name.parse("/CN=obj"))
    assert.equal("CN=obj", tostring(assert(csr.new{ subject = n, key = key }):subject()))
    -- strings as comma lists
    local s = assert(csr.new{ subject = "/CN=s", key = key, key_usage = "digitalSignature, keyAgreement",
                              eku = "clientAuth" })
    assert.same({ "digitalSignature", "keyAgreement" }, s:key_usage())
    assert.same({ "clientAuth" }, s:eku())
  end)

  it("signs with sha384/sha512, warns for SHA-1, refuses MD5", function()
    assert.equal("ecdsa-with-SHA384", assert(csr.new{ subject = "/CN=x", key = key, digest = "sha384" }):signature_algorithm())
    assert.equal("ecdsa-with-SHA512", assert(csr.new{ subject = "/CN=x", key = key, digest = "SHA-512" }):signature_algorithm())
    local r, err, warn = csr.new{ subject = "/CN=x", key = key, digest = "sha1" }
    assert.truthy(r); assert.is_nil(err)
    assert.matches("SHA%-1", warn)
    assert.equal("ecdsa-with-SHA1", r:signature_algorithm())
    local m, merr = csr.new{ subject = "/CN=x", key = key, digest = "md5" }
    assert.is_nil(m); assert.matches("'md5' is not allowed", merr)
    local ed = pkey.generate("ed25519")
    local e = assert(csr.new{ subject = "/CN=ed", key = ed })
    assert.equal("ED25519", e:signature_algorithm())
    assert.is_true(e:verify())
  end)

  it("returns nil, err for bad values and raises for wrong types", function()
    local cases = {
      { { subject = "/CN=x", key = key, san = { "IP:300.1.1.1" } }, "not an IPv4 or IPv6" },
      { { subject = "/CN=x", key = key, san = { "bogus" } }, "TYPE:value" },
      { { subject = "/CN=x", key = key, key_usage = { "x" } }, "unknown key usage" },
      { { subject = "/CN=x", key = key, eku = { "x y" } }, "unknown extended key usage" },
      { { subject = "/CN=x", key = key, extensions = { { name = "noSuchExtension", value = "x" } } }, "bad extension" },
      { { subject = "CN=x,FOO=y", key = key }, "unknown attribute type 'FOO'" },
      { { subject = "/CN=x", key = key:public() }, "must be a private key" },
    }
    for _, c in ipairs(cases) do
      local r, err = csr.new(c[1])
      assert.is_nil(r, c[2])
      assert.matches(c[2], err)
    end
    assert.has_error(function() csr.new() end)
    assert.has_error(function() csr.new{ key = key } end)
    assert.has_error(function() csr.new{ subject = "/CN=x" } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = "pem" } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = key, san = 5 } end)
    assert.has_error(function() csr.new{ subject = "/CN=x", key = key, digest = 256 } end)
  end)
end)

describe("csr.load", function()
  local r = assert(csr.new{ subject = "/CN=load", key = key, san = { "DNS:load.example" } })

  it("reads PEM and DER, and writes both", function()
    local pem = r:to_pem()
    assert.matches("^%-%-%-%-%-BEGIN CERTIFICATE REQUEST%-%-%-%-%-\n", pem)
    local a = assert(csr.load(pem))
    local b = assert(csr.load(r:to_der()))
    assert.is_true(a == r)
    assert.is_true(b:equals(r))
    assert.equal(r:to_der(), a:to_der())
    local new = pem:gsub("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
    assert.is_true(assert(csr.load("text before\r\n" .. new:gsub("\n", "\r\n"))) == r)
  end)

  it("reads files and names them in messages", function()
    local h = require "support.helper"
    local d = h.tmpdir()
    h.write(d .. "/r.csr", r:to_pem())
    assert.is_true(assert(csr.load_file(d .. "/r.csr")) == r)
    h.write(d .. "/bad.csr", "junk")
    local x, err = csr.load_file(d .. "/bad.csr")
    assert.is_nil(x)
    assert.equal(d .. "/bad.csr: no certificate request in the data (neither PEM nor DER)", err)
    x, err = csr.load_file(d .. "/missing.csr")
    assert.is_nil(x); assert.matches("missing.csr: No such file", err)
  end)

  it("names what went wrong", function()
    local x, err = csr.load("nothing")
    assert.is_nil(x); assert.matches("no certificate request in the data", err)
    x, err = csr.load(key:to_pem())
    assert.is_nil(x); assert.matches("found PRIVATE KEY", err)
    x, err = csr.load(r:to_der():sub(1, 50))
    assert.is_nil(x); assert.matches("truncated DER", err)
    x, err = csr.load("-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----\n")
    assert.is_nil(x); assert.matches("bad base64 in PEM block 1", err)
    assert.has_error(function() csr.load() end)
  end)

  it("detects a broken self-signature", function()
    local der = r:to_der()
    -- flip a bit in the last byte of the signature
    local bad = der:sub(1, -2) .. string.char(der:byte(-1) ~ 1)
    local x = assert(csr.load(bad))
    local ok, err = x:verify()
    assert.is_false(ok); assert.matches("csr:verify", err)
  end)

  it("prints text like openssl req -text", function()
    local t = r:text()
    for _, s in ipairs { "Certificate Request:", "Version: 1 (0x0)", "Subject: CN = load", "Public Key Algorithm: id-ecPublicKey",
                         "ASN1 OID: prime256v1", "NIST CURVE: P-256", "Requested Extensions:",
                         "X509v3 Subject Alternative Name:", "DNS:load.example", "Signature Algorithm: ecdsa-with-SHA256",
                         "Signature Value:" } do
      assert.truthy(t:find(s, 1, true), s)
    end
  end)

  it("raises on a closed request", function()
    local x = assert(csr.load(r:to_der()))
    x:close()
    x:close()
    local ok, err = pcall(x.subject, x)
    assert.is_false(ok); assert.matches("attempt to use a closed request", err)
    assert.equal("certbench.csr (closed)", tostring(x))
    assert.equal("certbench.csr: CN=load", tostring(r))
    assert.is_true(csr.is_csr(r))
    assert.is_false(csr.is_csr({}))
  end)
end)

describe("csr.load_many", function()
  local key = pkey.generate("ec:P-256")
  local r = assert(csr.new{ subject = "/CN=lm", key = key, san = { "DNS:lm.example" } })

  it("gives what csr.load gives for every form, in order, a bad item failing alone", function()
    local pem, der = r:to_pem(), r:to_der()
    local b64 = pem:match("%-\n(.-)%-%-%-%-%-END")
    local list = {
      pem, der, b64, "text before\n" .. pem, "\239\187\191" .. pem:gsub("\n", "\r\n"),
      (pem:gsub("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")), key:to_pem() .. pem,
      "", "hello", key:to_pem(), der:sub(1, 40), pem:gsub("MII", "@@@", 1), "0123", der .. "trailing",
    }
    local reqs, errs = csr.load_many(list)
    assert.equal(#list, #reqs)
    for i, data in ipairs(list) do
      local want, werr = csr.load(data)
      if want then
        assert.is_nil(errs[i], i)
        assert.equal(want:to_der(), reqs[i]:to_der(), i)
        assert.is_true(reqs[i]:verify())
      else
        assert.is_false(reqs[i], i)
        assert.equal(werr, errs[i], i)
      end
    end
    assert.matches("it is empty", errs[8])
    assert.matches("found PRIVATE KEY", errs[10])
    local e1, e2 = csr.load_many({})
    assert.same({}, e1); assert.same({}, e2)
    assert.has_error(function() csr.load_many({ pem, r }) end, "csr.load_many: item 2 is not a string (userdata)")
    assert.has_error(function() csr.load_many("pem") end)
  end)
end)

describe("csr.verify_many", function()
  local h = require "support.helper"
  local function flip(r)
    local der = r:to_der()
    return assert(csr.load(der:sub(1, -2) .. string.char(der:byte(-1) ~ 1)))
  end
  local keys = { pkey.generate("ec:P-256"), pkey.generate("rsa:2048"), pkey.generate("ed25519"), pkey.generate("ec:P-384") }

  it("gives each request's verify() result, in order, one bad request changing nothing for the others", function()
    local list = {}
    for i = 1, 24 do
      local r = assert(csr.new{ subject = "/CN=many" .. i, key = keys[i % #keys + 1] })
      list[i] = (i % 5 == 0) and flip(r) or r
    end
    local oks, reasons = csr.verify_many(list)
    assert.equal(24, #oks)
    for i, r in ipairs(list) do
      local ok, err = r:verify()
      assert.equal(ok, oks[i], i)
      assert.equal(err, reasons[i], i)
      assert.equal(i % 5 ~= 0, oks[i], i)
    end
    assert.matches("^csr:verify: ", reasons[5])
  end)

  it("checks a request listed twice once, and takes an empty list", function()
    local r = assert(csr.new{ subject = "/CN=twice", key = keys[1] })
    local bad = flip(r)
    local oks, reasons = csr.verify_many({ r, bad, r, bad })
    assert.same({ true, false, true, false }, oks)
    assert.equal(reasons[2], reasons[4])
    assert.is_nil(reasons[1]); assert.is_nil(reasons[3])
    oks, reasons = csr.verify_many({})
    assert.same({}, oks); assert.same({}, reasons)
  end)

  it("raises for an item that is not a request, or a closed one", function()
    local r = assert(csr.new{ subject = "/CN=x", key = keys[1] })
    assert.has_error(function() csr.verify_many() end)
    assert.has_error(function() csr.verify_many({ r, "pem" }) end, "csr.verify_many: item 2 is not a certbench.csr (string)")
    local c = assert(csr.load(r:to_der()))
    c:close()
    assert.has_error(function() csr.verify_many({ r, c }) end)
  end)

  it("verify_start checks copies while the caller goes on; wait gives what verify_many gives", function()
    local list = {}
    for i = 1, 16 do
      local r = assert(csr.new{ subject = "/CN=start" .. i, key = keys[i % #keys + 1] })
      list[i] = (i % 6 == 0) and flip(r) or r
    end
    list[16] = list[3]
    local want_oks, want_reasons = csr.verify_many(list)
    local job = csr.verify_start(list)
    -- the objects are the caller's again at once: closing one does not disturb the job
    local subjects = {}
    for i = 1, 16 do subjects[i] = list[i]:subject():oneline() end
    list[1]:close()
    local oks, reasons = job:wait()
    assert.same(want_oks, oks)
    assert.same(want_reasons, reasons)
    assert.equal("/CN=start3", subjects[16])
    assert.same({ oks, reasons }, { job:wait() }) -- waiting again gives the same
    job:close()
    job:close()
    assert.has_error(function() job:wait() end, "attempt to use a closed verification job")
    -- a job closed (or collected) before it is waited for stops its threads
    do
      local j <close> = csr.verify_start({ list[2], list[3], list[4], list[5] })
    end
    csr.verify_start({ list[2], list[3] }) -- collected
    collectgarbage()
    local e1, e2 = csr.verify_start({}):wait()
    assert.same({}, e1); assert.same({}, e2)
    assert.has_error(function() csr.verify_start({ "pem" }) end, "csr.verify_start: item 1 is not a certbench.csr (string)")
  end)

  it("gives the same results on one thread and on eight (CERTBENCH_THREADS)", function()
    local tmp = h.tmpdir()
    local parts = {}
    for i = 1, 40 do
      local r = assert(csr.new{ subject = "/CN=t" .. i, key = keys[i % #keys + 1] })
      parts[i] = ((i % 7 == 0) and flip(r) or r):to_pem()
    end
    h.write(tmp .. "/reqs.pem", table.concat(parts))
    h.write(tmp .. "/v.lua", [[
local csr = require "certbench.csr"
local data = io.open(arg[1]):read("a")
local list = {}
for pem in data:gmatch("%-%-%-%-%-BEGIN.-END CERTIFICATE REQUEST%-%-%-%-%-\n") do list[#list + 1] = assert(csr.load(pem)) end
local oks, reasons = csr.verify_many(list)
local oks2, reasons2 = csr.verify_start(list):wait()
for i = 1, #list do
  assert(oks[i] == oks2[i] and reasons[i] == reasons2[i])
  print(i, oks[i], reasons[i])
end
]])
    local outs = {}
    for _, n in ipairs({ 1, 8 }) do
      local out, rc = h.run("CERTBENCH_THREADS=" .. n .. " " .. h.q(h.bin) .. " run " .. h.q(tmp .. "/v.lua") .. " " .. h.q(tmp .. "/reqs.pem"))
      assert.equal(0, rc, out)
      outs[#outs + 1] = out
    end
    assert.equal(outs[1], outs[2])
    local lines = 0
    for _ in outs[1]:gmatch("\n") do lines = lines + 1 end
    assert.equal(40, lines)
    assert.matches("\n7\tfalse\tcsr:verify: ", outs[1])
  end)
end)

describe("csr attributes", function()
  it("challengePassword and unstructuredName as request attributes, read back; the signature covers them", function()
    local r = assert(csr.new { subject = "/CN=vcs.example.com", key = key, eku = { "serverAuth", "clientAuth" },
                               attributes = { { "challengePassword", "s3cret" }, { "unstructuredName", "Net2 AS" } } })
    assert.is_true(r:verify())
    local a = r:attributes()
    assert.equal(2, #a)
    assert.same({ name = "challengePassword", oid = "1.2.840.113549.1.9.7", value = "s3cret" }, a[1])
    assert.same({ name = "unstructuredName", oid = "1.2.840.113549.1.9.2", value = "Net2 AS" }, a[2])
    -- the extension request is still there, and not listed as an attribute
    assert.same({ "serverAuth", "clientAuth" }, r:eku())
    local back = assert(csr.load(r:to_der()))
    assert.same(a, back:attributes())
    assert.equal("CN=vcs.example.com", back:subject():rfc4514())
    -- a map is taken in name order
    local m = assert(csr.new { subject = "/CN=x", key = key, attributes = { unstructuredName = "u", challengePassword = "p" } })
    assert.equal("challengePassword", m:attributes()[1].name)
    assert.same({}, assert(csr.new { subject = "/CN=x", key = key }):attributes())
  end)

  it("an unknown attribute is an error; a bad shape raises", function()
    local r, err = csr.new { subject = "/CN=x", key = key, attributes = { { "noSuchAttribute", "x" } } }
    assert.is_nil(r)
    assert.equal("csr.new: unknown attribute 'noSuchAttribute'", err)
    assert.has_error(function() csr.new { subject = "/CN=x", key = key, attributes = { { "challengePassword" } } } end)
    assert.has_error(function() csr.new { subject = "/CN=x", key = key, attributes = "x" } end)
  end)
end)
