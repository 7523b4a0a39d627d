-- The ca plugin: its Lua API (require "certbench.plugins.ca"), its commands, and its errors,
-- each of which must leave the CA folder byte for byte as it was.
local h = require "support.helper"
local ch = require "support.ca"
local fs = require "certbench.fs"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local pkey = require "certbench.pkey"
local db = require "certbench.plugins.ca.db"
local journal = require "certbench.plugins.ca.journal"
local plugin = ch.ca

local function has(list, v)
  for _, x in ipairs(list or {}) do if x == v then return true end end
  return false
end

local function unchanged(dir, fn)
  local before = ch.snapshot(dir)
  local r = table.pack(fn())
  assert.equal("", ch.diff(before, ch.snapshot(dir)))
  return table.unpack(r, 1, r.n)
end

describe("ca init", function()
  local tmp
  before_each(function() tmp = h.tmpdir() end)

  it("makes the openssl ca layout with an encrypted key and a CA certificate", function()
    local dir = tmp .. "/root"
    local ca = ch.new_ca(dir, { subject = "/C=NO/O=net2/CN=net2 Root CA", key = "ec:P-384", days = 20 })
    ca:close()
    for _, f in ipairs({ "cacert.pem", "private/cakey.pem", "index.txt", "index.txt.attr", "serial", "crlnumber" }) do
      assert.is_truthy(fs.stat(dir .. "/" .. f), f)
    end
    assert.equal("directory", fs.stat(dir .. "/newcerts").type)
    assert.equal("directory", fs.stat(dir .. "/crl").type)
    assert.equal("600", h.mode(dir .. "/private/cakey.pem"))
    assert.equal("700", h.mode(dir .. "/private"))
    assert.equal("", h.read(dir .. "/index.txt"))
    assert.equal("unique_subject = no\n", h.read(dir .. "/index.txt.attr"))
    assert.equal("01\n", h.read(dir .. "/crlnumber"))
    local serial = h.read(dir .. "/serial")
    assert.matches("^[1-9A-F]%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x\n$", serial)
    -- no temporary folder is left next to it
    assert.same({ "root" }, fs.list(tmp))
    local keypem = h.read(dir .. "/private/cakey.pem")
    assert.matches("BEGIN ENCRYPTED PRIVATE KEY", keypem, 1, true)
    local k, err, code = pkey.load(keypem)
    assert.is_nil(k)
    assert.equal("encrypted", code, err)
    local key = assert(pkey.load(keypem, { password = "correct horse" }))
    assert.equal("P-384", key:curve())
    local cert = assert(x509.load(h.read(dir .. "/cacert.pem")))
    assert.equal("/C=NO/O=net2/CN=net2 Root CA", cert:subject():oneline())
    assert.is_true(cert:is_self_signed())
    local bc = cert:basic_constraints()
    assert.is_true(bc.ca)
    assert.is_true(bc.critical)
    local ku = cert:key_usage()
    assert.is_true(has(ku, "keyCertSign") and has(ku, "cRLSign"))
    local crit
    for _, e in ipairs(cert:extensions()) do if e.oid == "2.5.29.15" then crit = e.critical end end
    assert.is_true(crit)
    assert.is_truthy(cert:ski())
    assert.is_true(math.abs(cert:not_after() - cert:not_before() - 20 * 86400) <= 1)
    assert.is_true(key:matches(cert))
  end)

  it("leaves the key unencrypted with encrypt = false, and takes rsa and ed25519", function()
    local ca = ch.new_ca(tmp .. "/plain", { encrypt = false, key = "ed25519" })
    ca:close()
    local k = assert(pkey.load(h.read(tmp .. "/plain/private/cakey.pem")))
    assert.equal("ed25519", k:type())
    local ca2 = ch.new_ca(tmp .. "/rsa", { encrypt = false, key = "rsa:2048" })
    assert.equal("rsa", ca2:info().key)
    ca2:close()
  end)

  it("refuses an existing CA and a folder that is not empty, changing nothing", function()
    local dir = tmp .. "/root"
    ch.new_ca(dir):close()
    unchanged(dir, function()
      local ca, err = plugin.init(dir, { subject = "/CN=other", key = "ec:P-256", encrypt = false })
      assert.is_nil(ca)
      assert.equal(dir .. ": a CA exists there already (certbench ca init never overwrites one)", err)
    end)
    fs.mkdir(tmp .. "/full")
    h.write(tmp .. "/full/notes.txt", "mine")
    local ca, err = plugin.init(tmp .. "/full", { subject = "/CN=x", key = "ec:P-256", encrypt = false })
    assert.is_nil(ca)
    assert.equal(tmp .. "/full: exists and is not empty", err)
    assert.same({ "notes.txt" }, fs.list(tmp .. "/full"))
    -- an empty folder is fine
    fs.mkdir(tmp .. "/empty")
    assert(plugin.init(tmp .. "/empty", { subject = "/CN=x", key = "ec:P-256", encrypt = false })):close()
    assert.is_truthy(fs.stat(tmp .. "/empty/cacert.pem"))
  end)

  it("refuses an empty password and a bad key spec", function()
    local ca, err = plugin.init(tmp .. "/a", { subject = "/CN=x", key = "ec:P-256", passout = "pass:" })
    assert.is_nil(ca)
    assert.matches("password is empty", err, 1, true)
    ca, err = plugin.init(tmp .. "/b", { subject = "/CN=x", key = "dsa:1024", encrypt = false })
    assert.is_nil(ca)
    assert.matches("unknown key spec 'dsa:1024'", err, 1, true)
    assert.is_nil(fs.stat(tmp .. "/a"))
    assert.is_nil(fs.stat(tmp .. "/b"))
    assert.same({}, fs.list(tmp))
  end)

  it("makes a sub-CA signed by its parent, with a chain file and a line in the parent's index", function()
    local root = ch.new_ca(tmp .. "/root")
    root:close()
    local sub = assert(plugin.init(tmp .. "/sub", { subject = "/C=NO/O=net2/CN=net2 Issuing CA", key = "ec:P-256",
      encrypt = false, sub_ca = true, parent = tmp .. "/root", parent_passin = ch.PW }))
    local rootcert = assert(x509.load(h.read(tmp .. "/root/cacert.pem")))
    local subcert = assert(x509.load(h.read(tmp .. "/sub/cacert.pem")))
    assert.is_true(subcert:issued_by(rootcert))
    assert.is_true(subcert:verify_signature(rootcert))
    local bc = subcert:basic_constraints()
    assert.is_true(bc.ca)
    assert.equal(0, bc.path_len)
    assert.equal(subcert:serial(), sub.parent_serial)
    local chain = assert(x509.load_all(h.read(tmp .. "/sub/chain.pem")))
    assert.equal(2, #chain)
    assert.is_true(chain[1] == subcert and chain[2] == rootcert)
    local st = ch.check(tmp .. "/root", { parse_all = true })
    assert.equal(1, st.count)
    assert.equal("/C=NO/O=net2/CN=net2 Issuing CA", st.entries[1].subject)
    -- the sub-CA issues, and the chain verifies
    local cert = assert(sub:issue({ csr = ch.request("/CN=leaf.example.com", { "DNS:leaf.example.com" }) }))
    local store = require("certbench.store")
    local s = assert(store.new({ cas = { rootcert } }))
    assert(s:verify(cert, { untrusted = { subcert }, purpose = "sslserver", host = "leaf.example.com" }))
    sub:close()
  end)

  it("changes nothing when the parent's password is wrong", function()
    ch.new_ca(tmp .. "/root"):close()
    unchanged(tmp, function()
      local sub, err = plugin.init(tmp .. "/sub", { subject = "/CN=sub", key = "ec:P-256", encrypt = false,
        sub_ca = true, parent = tmp .. "/root", parent_passin = "pass:wrong" })
      assert.is_nil(sub)
      assert.matches("cakey.pem: wrong password", err, 1, true)
    end)
  end)
end)

describe("ca open", function()
  local tmp
  before_each(function() tmp = h.tmpdir() end)

  it("names what is missing", function()
    assert.same({ nil, tmp .. "/nope: no such CA folder" }, { plugin.open(tmp .. "/nope") })
    fs.mkdir(tmp .. "/empty")
    local ca, err = plugin.open(tmp .. "/empty")
    assert.is_nil(ca)
    assert.matches("not a CA folder (no cacert.pem", err, 1, true)
    ch.new_ca(tmp .. "/ca"):close()
    fs.remove(tmp .. "/ca/serial")
    ca, err = plugin.open(tmp .. "/ca")
    assert.is_nil(ca)
    assert.equal(tmp .. "/ca/serial: missing (not a complete CA folder)", err)
  end)

  it("takes the CA key as an object, and refuses one that is not the CA's", function()
    ch.new_ca(tmp .. "/ca", { encrypt = false }):close()
    local key = assert(pkey.load(h.read(tmp .. "/ca/private/cakey.pem")))
    local ca = assert(plugin.open(tmp .. "/ca", { key = key }))
    assert(ca:issue({ csr = ch.request("/CN=x") }))
    ca:close()
    assert.is_true(key:is_private()) -- a key given by the caller is not closed with the CA
    assert.same({ nil, "ca.open: the key given does not belong to " .. tmp .. "/ca/cacert.pem" },
      { plugin.open(tmp .. "/ca", { key = pkey.generate("ec:P-256") }) })
    assert.has_error(function() plugin.open(tmp .. "/ca", { key = "pem text" }) end, "ca.open: opts.key must be a certbench.pkey")
  end)

  it("raises on a closed CA", function()
    local ca = ch.new_ca(tmp .. "/ca")
    ca:close()
    assert.has_error(function() ca:list() end, "attempt to use a closed CA (" .. tmp .. "/ca)")
  end)
end)

describe("ca issue", function()
  local tmp, dir, ca
  before_each(function()
    tmp = h.tmpdir()
    dir = tmp .. "/ca"
    ch.new_ca(dir):close()
    ca = assert(plugin.open(dir, { passin = ch.PW }))
  end)
  after_each(function() ca:close() end)

  it("takes the serial from the file, writes newcerts/ and appends a V line", function()
    local serial = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    local cert, d = ca:issue({ csr = ch.request("/C=NO/O=net2/CN=vcs1.example.com", { "DNS:vcs1.example.com", "IP:192.0.2.10" }) })
    assert.is_truthy(cert, d)
    assert.equal(serial, cert:serial())
    assert.equal(dir .. "/newcerts/" .. serial .. ".pem", d.file)
    assert.equal(cert:to_pem(), h.read(d.file))
    assert.equal(db.serial_file_text(db.add_serial(serial, 1)), h.read(dir .. "/serial"))
    assert.equal(serial .. "\n", h.read(dir .. "/serial.old"))
    assert.equal("V\t" .. db.asn1_time(cert:not_after()) .. "\t\t" .. serial .. "\tunknown\t/C=NO/O=net2/CN=vcs1.example.com\n",
      h.read(dir .. "/index.txt"))
    assert.is_true(cert:verify_signature(ca.cert))
    assert.is_true(cert:issued_by(ca.cert))
    -- the journal went back to idle and names the next serial
    assert.same({ state = "idle", next = db.add_serial(serial, 1) }, journal.read(dir))
    ch.check(dir, { parse_all = true })
  end)

  it("copies the CSR's SAN, or uses the given one, and sets the profile's usages", function()
    local cert = assert(ca:issue({ csr = ch.request("/CN=a.example.com", { "DNS:a.example.com", "DNS:b.example.com" }) }))
    assert.same({ { type = "DNS", value = "a.example.com" }, { type = "DNS", value = "b.example.com" } }, cert:san())
    assert.same({ "serverAuth" }, cert:eku())
    assert.same({ "digitalSignature" }, cert:key_usage()) -- EC: no keyEncipherment
    assert.is_false(cert:basic_constraints().ca)
    local c2 = assert(ca:issue({ csr = ch.request("/CN=a.example.com", { "DNS:a.example.com" }),
      san = { "c.example.com", "IP:192.0.2.1", "sip@example.com" } }))
    assert.same({ { type = "DNS", value = "c.example.com" }, { type = "IP", value = "192.0.2.1" },
                  { type = "email", value = "sip@example.com" } }, c2:san())
    local c3 = assert(ca:issue({ csr = ch.request("/CN=client"), profile = "client", days = 10 }))
    assert.same({ "clientAuth" }, c3:eku())
    assert.same({}, c3:san())
    assert.is_true(math.abs(c3:not_after() - c3:not_before() - 10 * 86400) <= 1)
    local c4 = assert(ca:issue({ csr = ch.request("/CN=both"), profile = "server-client" }))
    assert.same({ "serverAuth", "clientAuth" }, c4:eku())
    local rsa = pkey.generate("rsa:2048")
    local c5 = assert(ca:issue({ csr = ch.request("/CN=rsa", nil, rsa), profile = "server-client" }))
    assert.same({ "digitalSignature", "keyEncipherment" }, c5:key_usage())
    local c6 = assert(ca:issue({ csr = ch.request("/CN=Issuing"), profile = "sub-ca" }))
    assert.is_true(c6:basic_constraints().ca)
    assert.equal(0, c6:basic_constraints().path_len)
    assert.same({ "keyCertSign", "cRLSign" }, c6:key_usage())
    ch.check(dir, { parse_all = true })
  end)

  it("writes expiry dates after 2049 as GeneralizedTime, as the certificate has them", function()
    local cert = assert(ca:issue({ csr = ch.request("/CN=long"), not_after = 2840140800 }))
    assert.equal(2840140800, cert:not_after())
    assert.matches("^V\t20600101000000Z\t", h.read(dir .. "/index.txt"))
  end)

  it("writes the subject as openssl's one-line form, escapes included", function()
    assert(ca:issue({ csr = ch.request({ { "C", "NO" }, { "O", "Bjørn/Slash+plus" }, { "CN", "h4" } }) }))
    local line = h.read(dir .. "/index.txt")
    assert.equal("\t/C=NO/O=Bj\\xC3\\xB8rn\\/Slash\\+plus/CN=h4\n", line:sub(-#"\t/C=NO/O=Bj\\xC3\\xB8rn\\/Slash\\+plus/CN=h4\n"))
  end)

  it("issue_many: consecutive serials, one append, every request checked first", function()
    local first = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    local reqs = {}
    for i = 1, 25 do reqs[i] = { csr = ch.request("/CN=host" .. i .. ".example.com", { "DNS:host" .. i .. ".example.com" }) } end
    local certs, details = ca:issue_many(reqs)
    assert.is_truthy(certs, details)
    assert.equal(25, #certs)
    for i, c in ipairs(certs) do
      assert.equal(db.add_serial(first, i - 1), c:serial())
      assert.equal("/CN=host" .. i .. ".example.com", c:subject():oneline())
      assert.equal(dir .. "/newcerts/" .. c:serial() .. ".pem", details[i].file)
    end
    local st = ch.check(dir, { parse_all = true })
    assert.equal(25, st.count)
    for i, e in ipairs(st.entries) do assert.equal(certs[i]:serial(), e.key) end
    assert.same({}, ca:issue_many({}))
    -- one bad request: nothing at all is issued
    reqs[3] = { csr = ch.bad_request("/CN=bad") }
    unchanged(dir, function()
      local none, err = ca:issue_many(reqs)
      assert.is_nil(none)
      assert.matches("^request 3: the CSR's signature does not verify", err)
    end)
  end)

  it("issue_many gives the certificates issue gives one by one, and names the first bad request", function()
    local keys = { ch.key(), pkey.generate("rsa:2048"), pkey.generate("ed25519") }
    local reqs = {}
    for i = 1, 12 do
      local csr_text = ch.request("/C=NO/CN=m" .. i .. ".example.com", { "DNS:m" .. i .. ".example.com" }, keys[i % 3 + 1])
      reqs[i] = { csr = (i % 2 == 0) and require("certbench.csr").load(csr_text) or csr_text,
                  profile = (i % 4 == 0) and "server-client" or "server", not_before = 1800000000, days = 30 + i }
    end
    local first = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    local many, details = assert(ca:issue_many(reqs))
    local one = {}
    for i, r in ipairs(reqs) do one[i] = assert(ca:issue(r)) end
    for i = 1, 12 do
      local a, b = many[i], one[i]
      assert.equal(db.add_serial(first, i - 1), a:serial())
      assert.equal(db.add_serial(first, 12 + i - 1), b:serial())
      assert.equal(h.read(details[i].file), a:to_pem())
      for _, f in ipairs({ "not_before", "not_after", "subject", "issuer", "san", "eku", "key_usage", "ski", "aki",
                           "basic_constraints", "signature_algorithm" }) do
        assert.same(b[f](b), a[f](a), f)
      end
      assert.equal(b:public_key():public_der(), a:public_key():public_der())
      assert.equal(keys[i % 3 + 1]:public_der(), a:public_key():public_der())
      assert.is_true(a:verify_signature(ca.cert))
    end
    ch.check(dir, { parse_all = true })
    -- whatever its kind, the first bad request is the one named, and nothing is issued
    local function bad(list, want)
      unchanged(dir, function()
        local none, err = ca:issue_many(list)
        assert.is_nil(none)
        assert.matches(want, err)
      end)
    end
    local good = function(n) return { csr = ch.request("/CN=g" .. n) } end
    bad({ good(1), { csr = ch.request("/CN=p"), profile = "nope" }, good(3), { csr = ch.bad_request("/CN=b") } },
      "^request 2: unknown profile 'nope'")
    bad({ good(1), { csr = ch.bad_request("/CN=b") }, good(3), { csr = "not a CSR" } },
      "^request 2: the CSR's signature does not verify")
    bad({ good(1), { csr = "not a CSR" }, { csr = ch.bad_request("/CN=b") } }, "^request 2: the CSR: ")
    bad({ { csr = ch.bad_request("/CN=b"), profile = "nope" } }, "^unknown profile 'nope'")
    -- the signature is checked before the policy: a request failing both fails on its signature
    local strict = { policy = { organizationName = "supplied", commonName = "supplied" } }
    bad({ good(1), { csr = ch.bad_request("/CN=b"), profile = strict } }, "^request 2: the CSR's signature does not verify")
    bad({ { csr = ch.request("/CN=p"), profile = strict }, { csr = ch.bad_request("/CN=b") } },
      "^request 1: the subject /CN=p is not allowed by the policy")
  end)

  it("takes a public key and subject instead of a CSR", function()
    local cert = assert(ca:issue({ public_key = pkey.generate("ec:P-256"), subject = "/CN=direct" }))
    assert.equal("/CN=direct", cert:subject():oneline())
  end)

  describe("errors change nothing", function()
    it("a CSR whose signature does not verify", function()
      unchanged(dir, function()
        local cert, err = ca:issue({ csr = ch.bad_request("/CN=x") })
        assert.is_nil(cert)
        assert.equal("the CSR's signature does not verify: it was altered or not signed by its key (csr:verify: bad signature (ECDSA_R_BAD_SIGNATURE))", err)
      end)
    end)

    it("something that is not a CSR", function()
      unchanged(dir, function()
        local cert, err = ca:issue({ csr = "hello" })
        assert.is_nil(cert)
        assert.matches("^the CSR: ", err)
      end)
    end)

    it("an unknown profile, with the known ones listed", function()
      unchanged(dir, function()
        local cert, err = ca:issue({ csr = ch.request("/CN=x"), profile = "webserver" })
        assert.is_nil(cert)
        assert.matches("^unknown profile 'webserver' %(known: .*client, .*server, server%-client, sub%-ca, vcs%-server%)$", err)
      end)
    end)

    it("a wrong CA password, and one that is not given: open says so at once", function()
      unchanged(dir, function()
        local bad, err = plugin.open(dir, { passin = "pass:wrong" })
        assert.is_nil(bad)
        assert.equal(dir .. "/private/cakey.pem: wrong password (or corrupt key)", err)
        local env
        env, err = plugin.open(dir, { passin = "env:CERTBENCH_TEST_NO_SUCH_VAR" })
        assert.is_nil(env)
        assert.equal(dir .. "/private/cakey.pem: the CA key password: env:CERTBENCH_TEST_NO_SUCH_VAR: "
          .. "the environment variable is not set", err)
      end)
      -- the right one opens, with the key loaded
      local good = assert(plugin.open(dir, { passin = ch.PW }))
      assert.is_truthy(good.key)
      good:close()
    end)

    it("a bad signature comes before the errors that come after its check, whenever it is known", function()
      local strict = { policy = { organizationName = "supplied", commonName = "supplied" } }
      -- open checks a password it is given; one that comes later (as a prompt's would) is
      -- checked when the key is first needed, which is the path under test here
      local wrong = assert(plugin.open(dir))
      wrong.passin = "pass:wrong"
      unchanged(dir, function()
        for _, c in ipairs({ ca, wrong }) do
          local cert, err = c:issue({ csr = ch.bad_request("/CN=x"), profile = strict })
          assert.is_nil(cert); assert.matches("^the CSR's signature does not verify", err)
          cert, err = c:issue({ csr = ch.bad_request("/CN=x"), profile = "nope" })
          assert.is_nil(cert); assert.matches("^unknown profile 'nope'", err)
        end
        local cert, err = wrong:issue({ csr = ch.bad_request("/CN=x") })
        assert.is_nil(cert); assert.matches("^the CSR's signature does not verify", err)
        cert, err = wrong:issue({ csr = ch.request("/CN=x") })
        assert.is_nil(cert); assert.matches("wrong password", err)
        -- a CSR object, and a signature error found while the certificate is signed under the lock
        cert, err = ca:issue({ csr = require("certbench.csr").load(ch.bad_request("/CN=y")) })
        assert.is_nil(cert); assert.matches("^the CSR's signature does not verify", err)
      end)
      wrong:close()
      -- and a good one still goes through
      assert(ca:issue({ csr = ch.request("/CN=after") }))
    end)

    it("URLs no relying party can fetch (ca:issue checks them as the CLI does)", function()
      unchanged(dir, function()
        for _, c in ipairs {
          { { crl_urls = { "ftp://x/ca.crl" } }, "crl_urls: 'ftp://x/ca.crl' is not an http(s):// or ldap(s):// URL" },
          { { crl_urls = { "http://ok/ca.crl", "file:///ca.crl" } }, "crl_urls: 'file:///ca.crl' is not an http(s):// or ldap(s):// URL" },
          { { ocsp_urls = { "ldap://x" } }, "ocsp_urls: 'ldap://x' is not an http(s):// URL" },
          { { ocsp_urls = { "http://\27[8m" } }, "ocsp_urls: 'http://\\1B[8m' is not an http(s):// URL" },
          { { crl_urls = "http://x/ca.crl" }, "crl_urls: a list of URLs expected, got string" },
        } do
          local req = { csr = ch.request("/CN=x") }
          for k, v in pairs(c[1]) do req[k] = v end
          local cert, err = ca:issue(req)
          assert.is_nil(cert)
          assert.equal(c[2], err)
        end
      end)
      local cert = assert(ca:issue { csr = ch.request("/CN=x"), crl_urls = { "ldap://127.0.0.1/cn=ca?certificateRevocationList" },
        ocsp_urls = { "http://127.0.0.1:8080" } })
      assert.same({ "ldap://127.0.0.1/cn=ca?certificateRevocationList" }, cert:crl_distribution_points())
      assert.same({ "http://127.0.0.1:8080" }, cert:ocsp_urls())
    end)

    it("a subject the policy forbids", function()
      local cacert = ca.cert
      local profiles = require "certbench.plugins.ca.profiles"
      local strict = { policy = { { "countryName", "match" }, { "organizationName", "match" },
                                  { "commonName", "supplied" }, { "emailAddress", "optional" } },
                       eku = { "serverAuth" } }
      assert(cacert)
      unchanged(dir, function()
        local cert, err = ca:issue({ csr = ch.request("/C=SE/O=net2/CN=x"), profile = strict })
        assert.is_nil(cert)
        assert.equal("the subject /C=SE/O=net2/CN=x is not allowed by the policy of profile '(table)': the countryName field is different between the CA certificate (NO) and the request (SE)", err)
        cert, err = ca:issue({ csr = ch.request("/C=NO/O=net2"), profile = strict })
        assert.is_nil(cert)
        assert.matches("the commonName field is required by the policy and the request has none", err, 1, true)
        cert, err = ca:issue({ csr = ch.request("/C=NO/CN=x"), profile = strict })
        assert.is_nil(cert)
        assert.matches("the organizationName field must match the CA's (net2) and the request has none", err, 1, true)
      end)
      -- allowed: fields not in the policy are dropped, the policy's order is kept
      local cert, d = ca:issue({ csr = ch.request("/CN=ok/O=net2/OU=dropped/C=NO/emailAddress=a@example.com"), profile = strict })
      assert.is_truthy(cert, d)
      assert.equal("/C=NO/O=net2/CN=ok/emailAddress=a@example.com", cert:subject():oneline())
      assert.same({ "OU" }, d.dropped)
      assert.is_truthy(profiles)
    end)

    it("a full disk (a small tmpfs): every failure point leaves the folder as it was", function()
      local mnt = tmp .. "/mnt"
      fs.mkdir(mnt)
      local _, rc = h.run("mount -t tmpfs -o size=256k tmpfs " .. h.q(mnt))
      if rc ~= 0 then pending("mounting a tmpfs needs root") return end
      finally(function() h.run("umount " .. h.q(mnt)) end)
      local cdir = mnt .. "/ca"
      ch.new_ca(cdir, { encrypt = false }):close()
      local c = assert(plugin.open(cdir))
      local first = assert(c:issue({ csr = ch.request("/CN=first") }))
      local n = 0
      local function fill()
        while true do
          n = n + 1
          if not fs.write(mnt .. "/fill" .. n, string.rep("x", 4096), { sync = false }) then return end
        end
      end
      -- try(op): with the disk full, then one more free page at a time, until op succeeds; every
      -- failure must be ENOSPC with the folder unchanged. Returns the number of failures.
      local function try(op)
        fill()
        local failures, free = 0, 0
        while true do
          local before = ch.snapshot(cdir)
          local ok, err = op()
          if ok then return failures end
          failures = failures + 1
          assert.matches("No space left on device", err, 1, true)
          assert.equal("", ch.diff(before, ch.snapshot(cdir)))
          free = free + 1
          assert.is_true(free < 40, "still failing with 40 pages free")
          fs.remove(mnt .. "/fill" .. (n - free))
        end
      end
      local reqs = {}
      for i = 1, 6 do reqs[i] = { csr = ch.request("/CN=batch" .. i) } end
      assert.is_true(try(function() return c:issue_many(reqs) end) >= 2)
      ch.check(cdir, { parse_all = true })
      assert.is_true(try(function() return c:issue({ csr = ch.request("/CN=single") }) end) >= 1)
      assert.is_true(try(function() return c:revoke({ serial = first:serial(), reason = "superseded" }) end) >= 1)
      assert.is_true(try(function() return c:gencrl() end) >= 1)
      c:close()
      ch.check(cdir, { parse_all = true })
    end)
  end)
end)

describe("ca profiles from site plugins", function()
  it("uses a site plugin's profile and its policy (CLI)", function()
    local tmp = h.tmpdir()
    local sp = tmp .. "/plugins/site"
    fs.mkdir(sp)
    h.write(sp .. "/init.lua", [[
return { name = "site", summary = "test profiles", commands = {},
  profiles = {
    ["sip-server"] = { key_usage = { "digitalSignature" }, eku = { "serverAuth", "clientAuth" }, days = 42,
                       copy_extensions = { "subjectAltName" },
                       policy = { countryName = "match", commonName = "supplied" } },
    server = { eku = { "serverAuth" }, days = 7 },
  } }
]])
    ch.new_ca(tmp .. "/ca", { encrypt = false }):close()
    h.write(tmp .. "/r.pem", ch.request("/C=NO/CN=sip.example.com", { "DNS:sip.example.com" }))
    h.write(tmp .. "/bad.pem", ch.request("/C=SE/CN=sip.example.com"))
    local env = "CERTBENCH_PLUGINS=" .. h.q(tmp .. "/plugins") .. " "
    local out, rc = h.run(env .. h.q(h.bin) .. " --json ca issue " .. h.q(tmp .. "/ca") .. " --csr " .. h.q(tmp .. "/r.pem")
      .. " --profile sip-server --out " .. h.q(tmp .. "/c.pem"))
    assert.equal(0, rc, out)
    local res = require("cjson").decode(out)
    assert.equal("sip-server", res.profile)
    local cert = assert(x509.load(h.read(tmp .. "/c.pem")))
    assert.same({ "serverAuth", "clientAuth" }, cert:eku())
    assert.is_true(math.abs(cert:not_after() - cert:not_before() - 42 * 86400) <= 1)
    local before = ch.snapshot(tmp .. "/ca")
    local out2, rc2 = h.run(env .. h.q(h.bin) .. " ca issue " .. h.q(tmp .. "/ca") .. " --csr " .. h.q(tmp .. "/bad.pem")
      .. " --profile sip-server")
    assert.equal(1, rc2)
    assert.equal("certbench: the subject /C=SE/CN=sip.example.com is not allowed by the policy of profile 'sip-server': the countryName field is different between the CA certificate (NO) and the request (SE)\n", out2)
    local out3, rc3 = h.run(env .. h.q(h.bin) .. " ca issue " .. h.q(tmp .. "/ca") .. " --csr " .. h.q(tmp .. "/r.pem")
      .. " --profile nope")
    assert.equal(1, rc3)
    assert.equal("certbench: unknown profile 'nope' (known: client, server, server-client, sip-server, sub-ca, vcs-server)\n", out3)
    assert.equal("", ch.diff(before, ch.snapshot(tmp .. "/ca")))
    -- a site profile of a built-in's name replaces it
    local out4, rc4 = h.run(env .. h.q(h.bin) .. " --json ca issue " .. h.q(tmp .. "/ca") .. " --csr " .. h.q(tmp .. "/r.pem")
      .. " --out " .. h.q(tmp .. "/c7.pem"))
    assert.equal(0, rc4, out4)
    local c7 = assert(x509.load(h.read(tmp .. "/c7.pem")))
    assert.is_true(math.abs(c7:not_after() - c7:not_before() - 7 * 86400) <= 1)
    -- without copy_extensions the CSR's SAN is copied all the same (a server needs it)
    assert.same({ { type = "DNS", value = "sip.example.com" } }, c7:san())
    assert.same({}, c7:key_usage())
  end)

  it("no built-in plugin replaces a built-in profile (ca issue then takes it without loading them)", function()
    local profiles = require "certbench.plugins.ca.profiles"
    local root = require("certbench").root
    local seen = 0
    for _, e in ipairs(require("certbench.plugins").load_all()) do
      if e.dir == root .. "/plugins/" .. e.name then
        seen = seen + 1
        assert.is_nil(e.error)
        for name in pairs(e.plugin.profiles or {}) do
          assert.is_nil(profiles.BUILTIN[name], e.name .. " replaces the built-in profile " .. name)
        end
      end
    end
    assert.is_true(seen >= 7)
  end)

  it("lists the profiles with their plugin", function()
    local p = plugin.list_profiles()
    assert.equal("ca", p.server.plugin)
    assert.equal("ca", p["sub-ca"].plugin)
    assert.is_truthy(p["server-client"].summary)
  end)
end)

describe("ca revoke, gencrl, list, status, renew", function()
  local tmp, dir, ca, certs
  before_each(function()
    tmp = h.tmpdir()
    dir = tmp .. "/ca"
    ch.new_ca(dir):close()
    ca = assert(plugin.open(dir, { passin = ch.PW }))
    local reqs = {}
    for i = 1, 4 do reqs[i] = { csr = ch.request("/CN=h" .. i) } end
    certs = assert(ca:issue_many(reqs))
  end)
  after_each(function() ca:close() end)

  it("revokes by serial and by certificate, rewriting one line as openssl does", function()
    local before = h.read(dir .. "/index.txt")
    local r = assert(ca:revoke({ serial = certs[2]:serial(), reason = "key-compromise", time = 1795827345 }))
    assert.same({ serial = certs[2]:serial(), status = "revoked", reason = "keyCompromise", revoked_at = 1795827345,
                  subject = "/CN=h2" }, r)
    assert.equal(before, h.read(dir .. "/index.txt.old"))
    local lines = {}
    for l in h.read(dir .. "/index.txt"):gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("R\t" .. db.asn1_time(certs[2]:not_after()) .. "\t261128005545Z,keyCompromise\t" .. certs[2]:serial()
      .. "\tunknown\t/CN=h2", lines[2])
    assert.equal(select(2, before:gsub("\n", "")), #lines)
    assert(ca:revoke({ cert = certs[3]:to_pem() }))
    assert.matches("^R\t%d+Z\t%d+Z\t" .. certs[3]:serial() .. "\t", ({ h.read(dir .. "/index.txt"):match("[^\n]+\n[^\n]+\n([^\n]+)") })[1])
    ch.check(dir, { parse_all = true })
  end)

  it("refuses a second revocation, an unknown serial, a foreign certificate, a bad reason", function()
    assert(ca:revoke({ serial = certs[1]:serial() }))
    unchanged(dir, function()
      local r, err = ca:revoke({ serial = certs[1]:serial() })
      assert.is_nil(r)
      assert.matches("^serial " .. certs[1]:serial() .. " is already revoked %(", err)
      r, err = ca:revoke({ serial = "ABCDEF" })
      assert.is_nil(r)
      assert.equal("serial ABCDEF is not in " .. dir .. "/index.txt: this CA did not issue it", err)
      r, err = ca:revoke({ serial = "xyz" })
      assert.equal("'xyz' is not a serial number (hexadecimal)", err)
      r, err = ca:revoke({ serial = certs[2]:serial(), reason = "stolen" })
      assert.is_nil(r)
      assert.matches("^unknown revocation reason 'stolen' %(one of: unspecified, keyCompromise, ", err)
      local other = ch.new_ca(tmp .. "/other", { encrypt = false, subject = "/CN=Other CA" })
      local foreign = assert(other:issue({ csr = ch.request("/CN=f") }))
      other:close()
      r, err = ca:revoke({ cert = foreign })
      assert.is_nil(r)
      assert.matches("was issued by /CN=Other CA, not by this CA", err, 1, true)
    end)
  end)

  it("signs a CRL with the number from crlnumber and every revoked serial with its reason", function()
    assert(ca:revoke({ serial = certs[1]:serial(), reason = "superseded" }))
    assert(ca:revoke({ serial = certs[4]:serial() }))
    local c, info = ca:gencrl({ days = 7 })
    assert.is_truthy(c, info)
    assert.equal("01", info.number)
    assert.equal("02\n", h.read(dir .. "/crlnumber"))
    assert.equal("01\n", h.read(dir .. "/crlnumber.old"))
    assert.equal(dir .. "/crl/01.pem", info.file)
    assert.equal(c:to_pem(), h.read(info.file))
    assert.equal(c:to_pem(), h.read(dir .. "/crl.pem"))
    local back = assert(crl.load(h.read(info.file)))
    assert.is_true(back:verify(ca.cert))
    assert.equal("01", back:number())
    assert.equal(ca.cert:ski(), back:aki())
    assert.equal(2, back:count())
    assert.equal("superseded", back:lookup(certs[1]:serial()).reason)
    assert.is_nil(back:lookup(certs[4]:serial()).reason)
    assert.is_nil(back:lookup(certs[2]:serial()))
    assert.is_true(math.abs(back:next_update() - back:this_update() - 7 * 86400) <= 1)
    local c2, info2 = ca:gencrl({ hours = 5 })
    assert.is_truthy(c2, info2)
    assert.equal("02", info2.number)
    assert.equal("02", c2:number())
    assert.is_true(math.abs(c2:next_update() - c2:this_update() - 5 * 3600) <= 1)
    local bad = assert(plugin.open(dir))
    bad.passin = "pass:wrong" -- the lazy path (open checks a password it is given)
    unchanged(dir, function()
      local c3, err = bad:gencrl()
      assert.is_nil(c3)
      assert.matches("wrong password", err, 1, true)
    end)
    bad:close()
  end)

  it("lists and tells the status of serials, expired ones included", function()
    local old = assert(ca:issue({ csr = ch.request("/CN=old"), not_before = os.time() - 10 * 86400, not_after = os.time() - 86400 }))
    assert(ca:revoke({ serial = certs[2]:serial(), reason = "cessationOfOperation" }))
    local all = assert(ca:list())
    assert.equal(5, #all)
    assert.equal("valid", all[1].status)
    assert.equal("revoked", all[2].status)
    assert.equal("cessationOfOperation", all[2].reason)
    assert.equal("expired", all[5].status)
    assert.equal("V", all[5].db_status)
    assert.equal(3, #assert(ca:list({ status = "valid" })))
    local rev = assert(ca:list({ status = "revoked" }))
    assert.equal(1, #rev)
    assert.equal(certs[2]:serial(), rev[1].serial)
    assert.equal(old:serial(), assert(ca:list({ status = "expired" }))[1].serial)
    assert.same({ nil, "unknown status 'gone' (valid, revoked or expired)" }, { ca:list({ status = "gone" }) })
    local s = assert(ca:status(certs[1]:serial():lower()))
    assert.equal("valid", s.status)
    assert.equal("/CN=h1", s.subject)
    assert.equal(certs[1]:not_after(), s.not_after)
    assert.equal("revoked", ca:status(certs[2]:serial()).status)
    assert.equal("expired", ca:status(old:serial()).status)
    assert.same({ nil, "serial 0BAD is not in " .. dir .. "/index.txt" }, { ca:status("bad") })
    assert.same({ nil, "'zz' is not a serial number (hexadecimal)" }, { ca:status("zz") })
  end)

  it("renews: same subject, key and extensions, a new serial; the old one superseded on request", function()
    local orig = assert(ca:issue({ csr = ch.request("/CN=renew.example.com", { "DNS:renew.example.com" }), profile = "server-client", days = 30 }))
    local new, d = ca:renew({ serial = orig:serial(), days = 60 })
    assert.is_truthy(new, d)
    assert.are_not.equal(orig:serial(), new:serial())
    assert.equal(orig:subject():oneline(), new:subject():oneline())
    assert.is_true(orig:public_key():matches(new))
    assert.same(orig:san(), new:san())
    assert.same(orig:eku(), new:eku())
    assert.same(orig:key_usage(), new:key_usage())
    assert.is_true(math.abs(new:not_after() - new:not_before() - 60 * 86400) <= 1)
    assert.equal(orig:serial(), d.renewed)
    assert.equal("valid", ca:status(orig:serial()).status)
    local newer, d2 = ca:renew({ cert = new, revoke_old = true })
    assert.is_truthy(newer, d2)
    assert.equal(new:serial(), d2.revoked_old)
    local s = ca:status(new:serial())
    assert.equal("revoked", s.status)
    assert.equal("superseded", s.reason)
    assert.is_true(math.abs(newer:not_after() - newer:not_before() - 60 * 86400) <= 1)
    unchanged(dir, function()
      local r, err = ca:renew({ serial = new:serial() })
      assert.is_nil(r)
      assert.equal("serial " .. new:serial() .. " is revoked: issue a new certificate from a new CSR instead", err)
      r, err = ca:renew({ serial = "0BAD" })
      assert.is_nil(r)
      assert.matches("^serial 0BAD: .*No such file or directory", err)
    end)
    ch.check(dir, { parse_all = true })
  end)
end)

describe("ca unique_subject = yes (openssl's default, kept for folders made by openssl)", function()
  it("refuses a second valid certificate with the same subject; renew with revoke_old is fine", function()
    local tmp = h.tmpdir()
    local dir = tmp .. "/ca"
    ch.new_ca(dir, { encrypt = false }):close()
    h.write(dir .. "/index.txt.attr", "unique_subject = yes\n")
    local ca = assert(plugin.open(dir))
    local c1 = assert(ca:issue({ csr = ch.request("/CN=same") }))
    unchanged(dir, function()
      local c2, err = ca:issue({ csr = ch.request("/CN=same") })
      assert.is_nil(c2)
      assert.matches("unique_subject = yes and a valid certificate with the subject /CN=same exists already (serial "
        .. c1:serial() .. ")", err, 1, true)
      local list, err2 = ca:issue_many({ { csr = ch.request("/CN=twice") }, { csr = ch.request("/CN=twice") } })
      assert.is_nil(list)
      assert.matches("/CN=twice exists already (serial in this batch)", err2, 1, true)
    end)
    assert(ca:renew({ serial = c1:serial(), revoke_old = true }))
    assert(ca:revoke({ serial = ca:list({ status = "valid" })[1].serial }))
    assert(ca:issue({ csr = ch.request("/CN=same") }))
    ca:close()
  end)
end)

describe("ca folders that are not as they should be", function()
  local tmp, dir
  before_each(function()
    tmp = h.tmpdir()
    dir = tmp .. "/ca"
    local ca = ch.new_ca(dir, { encrypt = false })
    assert(ca:issue({ csr = ch.request("/CN=a") }))
    ca:close()
  end)

  it("a line of index.txt that does not parse stops list, status, revoke and gencrl, naming it", function()
    local serial = ch.check(dir).entries[1].key
    fs.append(dir .. "/index.txt", "V\tnot a date\t\t01\tunknown\t/CN=x\n")
    local ca = assert(plugin.open(dir))
    local want = dir .. "/index.txt line 2: bad expiry date 'not a date' (openssl ca would refuse this file too; fix or remove the line)"
    unchanged(dir, function()
      assert.same({ nil, want }, { ca:list() })
      assert.same({ nil, want }, { ca:status(serial) })
      assert.same({ nil, want }, { ca:revoke({ serial = serial }) })
      assert.same({ nil, want }, { ca:gencrl() })
    end)
    -- issuing does not read the index (unique_subject = no), and works
    assert(ca:issue({ csr = ch.request("/CN=b") }))
    ca:close()
  end)

  it("a file in newcerts/ for the next serial: the serial file is behind, nothing is issued", function()
    local serial = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    h.write(dir .. "/newcerts/" .. serial .. ".pem", "someone else's")
    local ca = assert(plugin.open(dir))
    unchanged(dir, function()
      local c, err = ca:issue({ csr = ch.request("/CN=b") })
      assert.is_nil(c)
      assert.equal(dir .. "/newcerts/" .. serial .. ".pem exists already: the serial file (" .. serial
        .. ") is behind the certificates issued; nothing was issued", err)
    end)
    ca:close()
    ca:close() -- twice is fine
  end)
end)

describe("ca recovery on open", function()
  local tmp, dir
  before_each(function()
    tmp = h.tmpdir()
    dir = tmp .. "/ca"
    local ca = ch.new_ca(dir, { encrypt = false })
    assert(ca:issue_many({ { csr = ch.request("/CN=a") }, { csr = ch.request("/CN=b") } }))
    ca:close()
  end)

  it("cuts a torn last line of index.txt and says so", function()
    local good = h.read(dir .. "/index.txt")
    fs.append(dir .. "/index.txt", "V\t2711280055")
    local ca = assert(plugin.open(dir))
    assert.equal(good, h.read(dir .. "/index.txt"))
    assert.equal(1, #ca.recovered)
    assert.matches("cut a torn last line of " .. dir .. "/index.txt (12 bytes", ca.recovered[1], 1, true)
    ca:close()
  end)

  it("with defer, leaves the lock and recovery to the first operation (one lock per command)", function()
    local good = h.read(dir .. "/index.txt")
    fs.append(dir .. "/index.txt", "V\t2711280055")
    -- held by someone else: open with defer does not wait for it, the operation does
    local lk = assert(fs.lock(dir .. "/.certbench/lock", { pid = true }))
    local ok, oerr = plugin.open(dir, { wait = 0 })
    assert.is_nil(ok)
    assert.matches("/.certbench/lock: locked by process", oerr, 1, true)
    local ca = assert(plugin.open(dir, { defer = true, wait = 0 }))
    assert.same({}, ca.recovered)
    assert.equal(good .. "V\t2711280055", h.read(dir .. "/index.txt"))
    local l, lerr = ca:list()
    assert.is_nil(l)
    assert.matches("/.certbench/lock: locked by process", lerr, 1, true)
    lk:unlock()
    -- the operation recovers first, then reads: the torn line is gone from what it sees
    l = assert(ca:list())
    assert.equal(2, #l)
    assert.equal(good, h.read(dir .. "/index.txt"))
    assert.equal(1, #ca.recovered)
    assert.matches("cut a torn last line of " .. dir .. "/index.txt (12 bytes", ca.recovered[1], 1, true)
    ca:close()
  end)

  it("completes a certificate file without a line, removes a broken one, moves the serial", function()
    -- what a crash between the certificate files and the index append leaves
    local serial = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    local ca = assert(plugin.open(dir))
    local key = assert(ca:_key())
    local s1, s2 = serial, db.add_serial(serial, 1)
    local cert = assert(x509.new({ subject = "/CN=orphan", issuer = ca.cert, issuer_key = key, public_key = ch.key(), serial = s1 }))
    ca:close()
    assert(journal.begin_issue(dir, s1, db.add_serial(serial, 2), 3, #h.read(dir .. "/index.txt")))
    h.write(dir .. "/newcerts/" .. s1 .. ".pem", cert:to_pem())
    h.write(dir .. "/newcerts/" .. s2 .. ".pem", cert:to_pem():sub(1, 200))
    local ca2 = assert(plugin.open(dir))
    assert.equal(2, #ca2.recovered)
    assert.matches("moved " .. dir .. "/serial from " .. serial .. " to " .. db.add_serial(serial, 3), ca2.recovered[1], 1, true)
    assert.matches("an issuance of serials " .. s1 .. ".." .. db.add_serial(serial, 2) .. " was interrupted; 1 certificate completed in index.txt (" .. s1
      .. "); 1 incomplete file removed (" .. s2 .. " (not a certificate (incomplete)))", ca2.recovered[2], 1, true)
    assert.equal(db.add_serial(serial, 3) .. "\n", h.read(dir .. "/serial"))
    local st = ch.check(dir, { parse_all = true })
    assert.equal(3, st.count)
    assert.equal("/CN=orphan", st.by_key[s1].subject)
    assert.equal("idle", journal.read(dir).state)
    ca2:close()
    -- and nothing more on the next open
    local ca3 = assert(plugin.open(dir))
    assert.same({}, ca3.recovered)
    ca3:close()
  end)

  it("checks all of newcerts/ when the journal is damaged", function()
    -- serials past the CA's own (its first serial is random: fixed ones collided 1 run in 128)
    local serial = db.parse_serial_file(h.read(dir .. "/serial"), "serial")
    local stray, other = db.add_serial(serial, 0x100), db.add_serial(serial, 0x104)
    local ca = assert(plugin.open(dir))
    local key = assert(ca:_key())
    local cert = assert(x509.new({ subject = "/CN=stray", issuer = ca.cert, issuer_key = key, public_key = ch.key(), serial = stray }))
    ca:close()
    h.write(dir .. "/newcerts/" .. stray .. ".pem", cert:to_pem())
    h.write(dir .. "/newcerts/" .. other .. ".pem", "not mine")
    h.write(dir .. "/.certbench-journal", "certbench-ca-journal 1 issue 01 0")
    local ca2 = assert(plugin.open(dir))
    assert.matches("the journal record is damaged; checked every file of " .. dir .. "/newcerts against index.txt: 1 completed; "
      .. "left as they are, not certificates of this CA: " .. other .. " (not a certificate (incomplete))",
      table.concat(ca2.recovered, "\n"), 1, true)
    -- the serial file moves past every serial a file in newcerts/ has
    assert.equal(db.add_serial(other, 1) .. "\n", h.read(dir .. "/serial"))
    assert.equal("not mine", h.read(dir .. "/newcerts/" .. other .. ".pem"))
    fs.remove(dir .. "/newcerts/" .. other .. ".pem")
    ch.check(dir, { parse_all = true })
    ca2:close()
  end)

  it("moves the serial file up to the journal's next serial", function()
    local j = journal.read(dir)
    h.write(dir .. "/serial", "01\n")
    local ca = assert(plugin.open(dir))
    assert.equal(j.next .. "\n", h.read(dir .. "/serial"))
    assert.matches("moved " .. dir .. "/serial from 01 to " .. j.next, ca.recovered[1], 1, true)
    ca:close()
  end)

  it("removes temporary files an interrupted write left", function()
    h.write(dir .. "/.serial.0123456789ab.tmp", "x")
    local ca = assert(plugin.open(dir))
    assert.is_nil(fs.stat(dir .. "/.serial.0123456789ab.tmp"))
    assert.matches("removed " .. dir .. "/.serial.0123456789ab.tmp", ca.recovered[1], 1, true)
    ca:close()
  end)
end)

describe("ca commands", function()
  local tmp, dir
  local function cb(args) return h.run(h.q(h.bin) .. " " .. args) end
  local function cb3(args) return h.run3(h.q(h.bin) .. " " .. args) end
  before_each(function()
    tmp = h.tmpdir()
    dir = tmp .. "/ca"
  end)

  it("init, issue, revoke, gencrl, list, status, renew, with text and --json", function()
    local out, rc = cb("ca init " .. h.q(dir) .. " --subject '/C=NO/O=net2/CN=net2 Root CA' --key ec:P-256 --days 30 --passout pass:pw1234")
    assert.equal(0, rc, out)
    assert.matches("created CA " .. dir, out, 1, true)
    assert.matches("key       ec, encrypted", out, 1, true)
    h.write(tmp .. "/r.pem", ch.request("/C=NO/O=net2/CN=vcs.example.com", { "DNS:vcs.example.com" }))
    local json
    out, rc = cb("--json ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --passin pass:pw1234 --profile server-client --days 20 --out " .. h.q(tmp .. "/c.pem"))
    assert.equal(0, rc, out)
    json = require("cjson").decode(out)
    assert.equal("/C=NO/O=net2/CN=vcs.example.com", json.subject)
    assert.equal("server-client", json.profile)
    local serial = json.serial
    assert.equal(h.read(dir .. "/newcerts/" .. serial .. ".pem"), h.read(tmp .. "/c.pem"))
    out, rc = cb("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --passin pass:pw1234 --san x.example.com 192.0.2.7 --san DNS:y.example.com")
    assert.equal(0, rc, out)
    local serial2 = out:match("issued serial (%x+)")
    local c2 = assert(x509.load(h.read(dir .. "/newcerts/" .. serial2 .. ".pem")))
    assert.same({ { type = "DNS", value = "x.example.com" }, { type = "IP", value = "192.0.2.7" }, { type = "DNS", value = "y.example.com" } }, c2:san())
    out, rc = cb("ca revoke " .. h.q(dir) .. " --serial " .. serial .. " --reason keyCompromise")
    assert.equal(0, rc, out)
    assert.equal("revoked serial " .. serial .. " (keyCompromise): C = NO, O = net2, CN = vcs.example.com\n", out)
    out, rc = cb("ca gencrl " .. h.q(dir) .. " --passin pass:pw1234 --hours 12 --der --out " .. h.q(tmp .. "/crl.der"))
    assert.equal(0, rc, out)
    assert.matches("^CRL 01: 1 revoked, next update ", out)
    local back = assert(crl.load(h.read(tmp .. "/crl.der")))
    assert.equal(0x30, h.read(tmp .. "/crl.der"):byte(1))
    assert.equal("keyCompromise", back:lookup(serial).reason)
    out, rc = cb("ca status " .. h.q(dir) .. " " .. serial)
    assert.equal(3, rc)
    assert.matches("^" .. serial .. "=revoked %d%d%d%d%-.-Z keyCompromise\n$", out)
    out, rc = cb("ca status " .. h.q(dir) .. " " .. serial2)
    assert.equal(0, rc)
    assert.equal(serial2 .. "=valid\n", out)
    out, rc = cb("--json ca status " .. h.q(dir) .. " " .. serial2)
    assert.equal(0, rc)
    assert.equal("valid", require("cjson").decode(out).status)
    local so, se
    so, se, rc = cb3("ca list " .. h.q(dir))
    assert.equal(0, rc)
    assert.matches("^revoked  " .. serial, so)
    assert.matches("\nvalid    " .. serial2, so)
    assert.equal("2 certificates\n", se)
    out, rc = cb("--json ca list " .. h.q(dir) .. " --status valid")
    assert.equal(0, rc)
    json = require("cjson").decode(out)
    assert.equal(1, json.count)
    assert.equal(serial2, json.certificates[1].serial)
    out, rc = cb("ca renew " .. h.q(dir) .. " --serial " .. serial2 .. " --passin pass:pw1234 --revoke-old --out " .. h.q(tmp .. "/renewed.pem"))
    assert.equal(0, rc, out)
    assert.matches("^renewed serial " .. serial2 .. " as %x+: C = NO, O = net2, CN = vcs.example.com\n", out)
    assert.matches(serial2 .. " revoked (superseded)", out, 1, true)
    assert.is_truthy(x509.load(h.read(tmp .. "/renewed.pem")))
    ch.check(dir, { parse_all = true })
  end)

  it("errors are one line on stderr with exit 1, usage errors exit 2, and the folder is unchanged", function()
    local out, rc = cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --no-encrypt")
    assert.equal(0, rc, out)
    h.write(tmp .. "/r.pem", ch.request("/CN=x"))
    h.write(tmp .. "/bad.pem", ch.bad_request("/CN=x"))
    local before = ch.snapshot(dir)
    local so, se
    so, se, rc = cb3("ca init " .. h.q(dir) .. " --subject /CN=Again --no-encrypt")
    assert.equal(1, rc)
    assert.equal("", so)
    assert.equal("certbench: " .. dir .. ": a CA exists there already (certbench ca init never overwrites one)\n", se)
    so, se, rc = cb3("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/bad.pem"))
    assert.equal(1, rc)
    assert.equal("certbench: " .. tmp .. "/bad.pem's signature does not verify: it was altered or not signed by its key (csr:verify: bad signature (ECDSA_R_BAD_SIGNATURE))\n", se)
    so, se, rc = cb3("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --profile nope")
    assert.equal(1, rc)
    assert.equal("certbench: unknown profile 'nope' (known: client, server, server-client, sub-ca, vcs-server)\n", se)
    so, se, rc = cb3("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/missing.pem"))
    assert.equal(1, rc)
    assert.equal("certbench: " .. tmp .. "/missing.pem: No such file or directory\n", se)
    so, se, rc = cb3("ca issue " .. h.q(dir))
    assert.equal(2, rc)
    assert.equal("certbench: ca issue: missing option '--csr' (certbench help ca issue)\n", se)
    so, se, rc = cb3("ca revoke " .. h.q(dir))
    assert.equal(2, rc)
    assert.equal("certbench: ca revoke: give --serial HEX or --cert FILE\n", se)
    -- revoke and renew --cert name the file and its cause (they said "the certificate: x509.load:
    -- ..." and took the first certificate of a file with bytes after it)
    h.write(tmp .. "/empty.pem", "")
    h.write(tmp .. "/two.pem", h.read(dir .. "/cacert.pem") .. h.read(dir .. "/cacert.pem"))
    h.write(tmp .. "/trail.der", x509.load(h.read(dir .. "/cacert.pem")):to_der() .. "\0junk")
    for _, c in ipairs {
      { "empty.pem", "empty file" }, { "r.pem", "PEM: 1 certificate request (PKCS#10), one certificate expected" },
      { "two.pem", "PEM: 2 certificates, one certificate expected" },
      { "trail.der", "5 bytes after the certificate" }, { "missing.pem", "No such file or directory" },
    } do
      for _, cmd in ipairs { "revoke", "renew" } do
        so, se, rc = cb3(("ca %s %s --cert %s"):format(cmd, h.q(dir), h.q(tmp .. "/" .. c[1])))
        assert.equal(1, rc, se)
        assert.equal(("certbench: %s/%s: %s"):format(tmp, c[1], c[2]), se:sub(1, #tmp + #c[1] + #c[2] + 14), se)
        assert.equal(1, select(2, se:gsub("\n", "")), se)
      end
    end
    so, se, rc = cb3("ca status " .. h.q(dir) .. " 0BAD")
    assert.equal(1, rc)
    assert.equal("certbench: serial 0BAD is not in " .. dir .. "/index.txt\n", se)
    so, se, rc = cb3("ca list " .. h.q(dir) .. " --status gone")
    assert.equal(2, rc)
    so, se, rc = cb3("ca gencrl " .. h.q(dir) .. " --days 3 --hours 4")
    assert.equal(2, rc)
    so, se, rc = cb3("--json ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --profile nope")
    assert.equal(1, rc)
    assert.equal(false, require("cjson").decode(so).ok)
    assert.equal("", ch.diff(before, ch.snapshot(dir)))
  end)

  it("a password source that fails names the file or command and the option, in one line", function()
    assert.equal(0, select(2, cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --passout pass:pw1234")))
    h.write(tmp .. "/r.pem", ch.request("/CN=x"))
    h.run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:x -out " .. h.q(tmp .. "/k.pem"))
    local before = ch.snapshot(dir)
    local key = dir .. "/private/cakey.pem"
    for _, c in ipairs {
      { "ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --passin env:CB_SPEC_UNSET",
        key .. ": the CA key password: env:CB_SPEC_UNSET: the environment variable is not set" },
      { "ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --passin file:" .. h.q(tmp .. "/none"),
        key .. ": the CA key password: " .. tmp .. "/none: No such file or directory" },
      { "ca init " .. h.q(tmp .. "/new") .. " --subject /CN=N --passout env:CB_SPEC_UNSET",
        "ca init: --passout: env:CB_SPEC_UNSET: the environment variable is not set" },
      { "ca init " .. h.q(tmp .. "/sub") .. " --subject /CN=S --no-encrypt --sub-ca --parent " .. h.q(dir)
          .. " --parent-passin env:CB_SPEC_UNSET",
        key .. ": the CA key password: env:CB_SPEC_UNSET: the environment variable is not set" },
      { "convert file " .. h.q(tmp .. "/k.pem") .. " --to der --out " .. h.q(tmp .. "/k.der") .. " --passin env:CB_SPEC_UNSET",
        tmp .. "/k.pem: --passin: env:CB_SPEC_UNSET: the environment variable is not set" },
    } do
      local so, se, rc = cb3(c[1])
      assert.equal(1, rc, c[1] .. "\n" .. se)
      assert.equal("", so)
      assert.equal("certbench: " .. c[2] .. "\n", se, c[1])
    end
    assert.equal("", ch.diff(before, ch.snapshot(dir)))
    assert.is_nil(fs.stat(tmp .. "/new"))
    assert.is_nil(fs.stat(tmp .. "/k.der"))
  end)

  it("asks for the CA password when no --passin is given, and fails cleanly without a terminal", function()
    local out, rc = cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --passout pass:pw1234")
    assert.equal(0, rc, out)
    h.write(tmp .. "/r.pem", ch.request("/CN=x"))
    local before = ch.snapshot(dir)
    local so, se
    so, se, rc = cb3("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " </dev/null")
    assert.equal(1, rc)
    assert.equal(1, select(2, se:gsub("\n", "")), se)
    assert.equal("", ch.diff(before, ch.snapshot(dir)))
    -- a password on a file descriptor works
    out, rc = h.run("echo pw1234 | " .. h.q(h.bin) .. " ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem") .. " --passin stdin")
    assert.equal(0, rc, out)
  end)

  it("init --sub-ca --parent makes an intermediate; --parent without --sub-ca is a usage error", function()
    assert.equal(0, select(2, cb("ca init " .. h.q(tmp .. "/root") .. " --subject /CN=Root --key ec:P-256 --passout pass:rootpw")))
    local out, rc = cb("ca init " .. h.q(dir) .. " --subject /CN=Sub --key ec:P-256 --no-encrypt --sub-ca --parent " .. h.q(tmp .. "/root") .. " --parent-passin pass:rootpw")
    assert.equal(0, rc, out)
    assert.matches("signed by " .. tmp .. "/root", out, 1, true)
    local _, rc2 = cb("ca init " .. h.q(tmp .. "/x") .. " --subject /CN=X --no-encrypt --parent " .. h.q(tmp .. "/root"))
    assert.equal(2, rc2)
    local _, rc3 = cb("ca init " .. h.q(tmp .. "/y") .. " --subject /CN=Y --no-encrypt --sub-ca")
    assert.equal(2, rc3)
  end)

  it("reports what recovery did on stderr and in --json", function()
    assert.equal(0, select(2, cb("ca init " .. h.q(dir) .. " --subject /CN=Root --key ec:P-256 --no-encrypt")))
    h.write(tmp .. "/r.pem", ch.request("/CN=x"))
    assert.equal(0, select(2, cb("ca issue " .. h.q(dir) .. " --csr " .. h.q(tmp .. "/r.pem"))))
    fs.append(dir .. "/index.txt", "V\t27")
    local so, se, rc = cb3("--json ca list " .. h.q(dir))
    assert.equal(0, rc)
    assert.matches("recovery: cut a torn last line", se, 1, true)
    local json = require("cjson").decode(so)
    assert.matches("recovery: cut a torn last line", json.recovered[1], 1, true)
    assert.equal(1, json.count)
  end)
end)
