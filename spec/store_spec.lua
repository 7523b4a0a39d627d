-- certbench.store: trust stores and chain verification, on a small PKI made with the openssl
-- CLI (spec/support/pki.lua), with results compared to `openssl verify` on the same files.
local h = require "support.helper"
local store = require "certbench.store"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"

local NOW = os.time()

describe("certbench.store", function()
  local pki, C, R

  setup(function()
    pki = require("support.pki").make(h.tmpdir())
    C, R = {}, {}
    for _, n in ipairs{ "root", "inter", "inter2", "leaf", "client", "expired", "revoked", "direct", "leaf3" } do
      C[n] = assert(x509.load(pki.pem(n)))
    end
    for _, n in ipairs{ "root", "inter", "inter2" } do
      R[n] = assert(crl.load(pki.pem(n .. ".crl")))
    end
  end)

  local function same(a, b) return a:to_der() == b:to_der() end

  local function chain_is(chain, names)
    assert.is_table(chain)
    assert.equal(#names, #chain)
    for i, n in ipairs(names) do
      assert.is_true(same(chain[i], C[n]), "chain[" .. i .. "] is not " .. n)
    end
  end

  it("is reachable from the root module", function()
    assert.equal(store, require("certbench").store)
  end)

  describe("new and adding", function()
    it("makes an empty store and counts what is added", function()
      local s = store.new()
      assert.same({ cas = 0, crls = 0, untrusted = 0 }, s:count())
      assert.is_true(s:add_ca(C.root))
      assert.is_true(s:add_crl(R.root))
      assert.is_true(s:add_untrusted(C.inter))
      assert.same({ cas = 1, crls = 1, untrusted = 1 }, s:count())
      -- adding the same objects again changes nothing
      assert.is_true(s:add_ca(C.root))
      assert.is_true(s:add_crl(R.root))
      assert.is_true(s:add_untrusted(C.inter))
      assert.same({ cas = 1, crls = 1, untrusted = 1 }, s:count())
    end)

    it("takes cas, crls and untrusted lists in new", function()
      local s = assert(store.new{ cas = { C.root }, crls = { R.root, R.inter }, untrusted = { C.inter, C.inter2 } })
      assert.same({ cas = 1, crls = 2, untrusted = 2 }, s:count())
    end)

    it("keeps its own references: closing the objects does not break the store", function()
      local root = assert(x509.load(pki.pem("root")))
      local inter = assert(x509.load(pki.pem("inter")))
      local icrl = assert(crl.load(pki.pem("inter.crl")))
      local s = store.new{ cas = { root }, untrusted = { inter }, crls = { icrl } }
      root:close(); inter:close(); icrl:close()
      collectgarbage()
      chain_is(s:verify(C.leaf, { crl_check = "leaf" }), { "leaf", "inter", "root" })
    end)

    it("add_crl returns nil, err for a CRL BoringSSL cannot parse (a non-minimal serial the engine reads)", function()
      local key = assert(require("certbench.pkey").generate("ec:P-256"))
      local ca = assert(x509.new { subject = "/CN=add_crl CA", issuer_key = key, ca = true, days = 1 })
      local der = assert(crl.new { issuer = ca, key = key, days = 1,
        entries = { { serial = "7000000200000002", date = NOW } } }):to_der()
      -- INTEGER 70 00 00 02 ... becomes 00 00 00 02 ...: same length, no longer minimal DER
      local at = assert(der:find("\x70\0\0\2\0\0\0\2", 1, true))
      local c = assert(crl.load(der:sub(1, at - 1) .. "\0" .. der:sub(at + 1)))
      local s = store.new()
      local ok, err = s:add_crl(c)
      assert.is_nil(ok)
      assert.equal("store:add_crl: BoringSSL cannot parse this CRL: invalid integer (ASN1_R_INVALID_INTEGER)", err)
      assert.same({ cas = 0, crls = 0, untrusted = 0 }, s:count())
      -- store.new{crls=} says the same, as nil, err
      local s2, err2 = store.new { crls = { c } }
      assert.is_nil(s2)
      assert.matches("BoringSSL cannot parse this CRL: invalid integer", err2, 1, true)
    end)

    it("raises on arguments of the wrong type and on closed objects", function()
      local s = store.new()
      assert.has_error(function() s:add_ca("not a cert") end)
      assert.has_error(function() s:add_ca(R.root) end)
      assert.has_error(function() s:add_crl(C.root) end)
      assert.has_error(function() s:add_untrusted(42) end)
      assert.has_error(function() store.new{ cas = C.root } end)
      assert.has_error(function() store.new("x") end)
      local closed = assert(x509.load(pki.pem("root")))
      closed:close()
      assert.has_error(function() s:add_ca(closed) end, nil)
      assert.has_error(function() s:verify(closed) end)
      assert.has_error(function() s:verify(C.leaf, { untrusted = { closed } }) end)
      local ok, err = pcall(s.verify, s, C.leaf, { untrusted = { closed } })
      assert.is_false(ok)
      assert.matches("closed certificate", err)
    end)

    it("raises when the store is closed, and closes twice safely", function()
      local s = store.new{ cas = { C.root } }
      s:close()
      s:close()
      assert.has_error(function() s:verify(C.direct) end, nil)
      local ok, err = pcall(s.add_ca, s, C.root)
      assert.is_false(ok)
      assert.matches("closed store", err)
      assert.matches("closed", tostring(s))
    end)

    it("works as a to-be-closed variable", function()
      local s2
      do
        local s <close> = store.new{ cas = { C.root } }
        s2 = s
        assert.is_table(s:verify(C.direct))
      end
      assert.has_error(function() s2:verify(C.direct) end)
    end)
  end)

  describe("verify", function()
    local s
    before_each(function()
      s = store.new{ cas = { C.root } }
    end)

    it("verifies a chain of 1: the trust anchor itself", function()
      chain_is(s:verify(C.root), { "root" })
    end)

    it("verifies a chain of 2: a leaf issued by the root", function()
      chain_is(s:verify(C.direct), { "direct", "root" })
    end)

    it("verifies a chain of 3 with the intermediate given per call", function()
      chain_is(s:verify(C.leaf, { untrusted = { C.inter } }), { "leaf", "inter", "root" })
      -- and not in the next call without it
      local chain, err, info = s:verify(C.leaf)
      assert.is_nil(chain)
      assert.equal("unable_to_get_issuer_cert_locally", info.reason)
      assert.equal(20, info.code)
      assert.equal(0, info.depth)
      assert.is_true(same(info.cert, C.leaf))
      assert.matches("^unable to get local issuer certificate %(depth 0: CN = vcs%.example%.com%)$", err)
    end)

    it("uses the store's untrusted certificates, which are not trust anchors", function()
      s:add_untrusted(C.inter)
      chain_is(s:verify(C.leaf), { "leaf", "inter", "root" })
      local t = store.new{ untrusted = { C.inter, C.root } }
      local chain, _, info = t:verify(C.leaf)
      assert.is_nil(chain)
      assert.is_truthy(info.reason == "unable_to_get_issuer_cert_locally" or info.reason == "self_signed_cert_in_chain")
    end)

    it("returns new certificate objects that stay valid after the inputs are closed", function()
      local leaf = assert(x509.load(pki.pem("leaf")))
      local chain = assert(s:verify(leaf, { untrusted = { C.inter } }))
      leaf:close()
      collectgarbage()
      assert.equal(C.leaf:to_der(), chain[1]:to_der())
    end)

    it("reports an expired certificate", function()
      local chain, err, info = s:verify(C.expired, { untrusted = { C.inter } })
      assert.is_nil(chain)
      assert.equal("cert_has_expired", info.reason)
      assert.equal(10, info.code)
      assert.equal(0, info.depth)
      assert.matches("certificate has expired %(depth 0: CN = expired%.example%.com%)", err)
      -- at a time inside its validity it is fine
      chain_is(s:verify(C.expired, { untrusted = { C.inter }, time = 1590000000 }), { "expired", "inter", "root" })
    end)

    it("checks at the given time: not yet valid", function()
      local chain, _, info = s:verify(C.leaf, { untrusted = { C.inter }, time = 1000000000 })
      assert.is_nil(chain)
      assert.equal("cert_not_yet_valid", info.reason)
      -- the root is the first one not yet valid (checked from the top)
      assert.is_true(info.depth >= 0 and info.depth <= 2)
    end)

    it("checks the host name", function()
      local o = { untrusted = { C.inter }, host = "vcs.example.com" }
      chain_is(s:verify(C.leaf, o), { "leaf", "inter", "root" })
      o.host = "VCS.Example.COM"
      assert.is_table(s:verify(C.leaf, o))
      o.host = "other.example.com"
      local chain, err, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("hostname_mismatch", info.reason)
      assert.equal(62, info.code)
      assert.equal(0, info.depth)
      assert.matches("^[Hh]ostname mismatch %(depth 0: CN = vcs%.example%.com%)$", err)
    end)

    it("checks the IP address", function()
      local o = { untrusted = { C.inter }, ip = "192.0.2.1" }
      assert.is_table(s:verify(C.leaf, o))
      o.ip = "192.0.2.2"
      local chain, _, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("ip_address_mismatch", info.reason)
      o.ip = "2001:db8::1"
      chain, _, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("ip_address_mismatch", info.reason)
    end)

    it("checks the email address", function()
      local chain, _, info = s:verify(C.leaf, { untrusted = { C.inter }, email = "a@example.com" })
      assert.is_nil(chain)
      assert.equal("email_mismatch", info.reason)
    end)

    it("checks the purpose", function()
      local o = { untrusted = { C.inter }, purpose = "sslserver" }
      assert.is_table(s:verify(C.leaf, o))
      local chain, err, info = s:verify(C.client, o)
      assert.is_nil(chain)
      assert.equal("invalid_purpose", info.reason)
      assert.equal(26, info.code)
      assert.equal(0, info.depth)
      assert.matches("certificate purpose %(depth 0: CN = client%.example%.com%)$", err)
      o.purpose = "sslclient"
      assert.is_table(s:verify(C.client, o))
      chain, _, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("invalid_purpose", info.reason)
      o.purpose = "any"
      assert.is_table(s:verify(C.client, o))
      assert.is_table(s:verify(C.leaf, o))
    end)

    it("lists the purposes", function()
      local p = store.purposes()
      assert.is_string(p.sslserver)
      assert.is_string(p.sslclient)
      assert.is_string(p.any)
    end)

    it("finds a revoked leaf with crl_check = \"leaf\"", function()
      s:add_crl(R.inter)
      local o = { untrusted = { C.inter }, crl_check = "leaf" }
      assert.is_table(s:verify(C.leaf, o))
      local chain, err, info = s:verify(C.revoked, o)
      assert.is_nil(chain)
      assert.equal("certificate_revoked", info.reason)
      assert.equal(23, info.code)
      assert.equal(0, info.depth)
      assert.is_true(same(info.cert, C.revoked))
      assert.equal("certificate revoked (depth 0: CN = revoked.example.com)", err)
      -- without CRL checking the revocation is not seen
      assert.is_table(s:verify(C.revoked, { untrusted = { C.inter } }))
      assert.is_table(s:verify(C.revoked, { untrusted = { C.inter }, crl_check = false }))
    end)

    it("takes CRLs per call", function()
      local o = { untrusted = { C.inter }, crl_check = "leaf", crls = { R.inter } }
      local chain, _, info = s:verify(C.revoked, o)
      assert.is_nil(chain)
      assert.equal("certificate_revoked", info.reason)
      assert.equal(0, s:count().crls)
      assert.has_error(function() s:verify(C.leaf, { crls = { C.root } }) end)
    end)

    it("finds a revoked intermediate only with crl_check = \"all\"", function()
      s:add_crl(R.root)
      s:add_crl(R.inter2)
      local o = { untrusted = { C.inter2 }, crl_check = "leaf" }
      chain_is(s:verify(C.leaf3, o), { "leaf3", "inter2", "root" })
      o.crl_check = "all"
      local chain, err, info = s:verify(C.leaf3, o)
      assert.is_nil(chain)
      assert.equal("certificate_revoked", info.reason)
      assert.equal(1, info.depth)
      assert.is_true(same(info.cert, C.inter2))
      assert.matches("^certificate revoked %(depth 1: O = certbench test, CN = Test Revoked Intermediate CA%)$", err)
    end)

    it("fails with unable_to_get_crl when a CRL is missing", function()
      local chain, err, info = s:verify(C.leaf, { untrusted = { C.inter }, crl_check = "leaf" })
      assert.is_nil(chain)
      assert.equal("unable_to_get_crl", info.reason)
      assert.equal(3, info.code)
      assert.equal(0, info.depth)
      assert.matches("unable to get certificate CRL", err)
      -- "all" also needs the root's CRL for the intermediate
      s:add_crl(R.inter)
      assert.is_table(s:verify(C.leaf, { untrusted = { C.inter }, crl_check = "leaf" }))
      chain, _, info = s:verify(C.leaf, { untrusted = { C.inter }, crl_check = "all" })
      assert.is_nil(chain)
      assert.equal("unable_to_get_crl", info.reason)
      assert.equal(1, info.depth)
      s:add_crl(R.root)
      chain_is(s:verify(C.leaf, { untrusted = { C.inter }, crl_check = "all" }), { "leaf", "inter", "root" })
    end)

    it("accepts a partial chain only when asked", function()
      local t = store.new{ cas = { C.inter } }
      local chain, _, info = t:verify(C.leaf)
      assert.is_nil(chain)
      -- the intermediate is trusted, but its own issuer is missing
      assert.equal("unable_to_get_issuer_cert", info.reason)
      assert.equal(1, info.depth)
      chain = t:verify(C.leaf, { partial_chain = true })
      assert.is_table(chain)
      assert.equal(2, #chain)
      assert.is_true(same(chain[2], C.inter))
    end)

    it("limits the depth", function()
      local o = { untrusted = { C.inter }, max_depth = 0 }
      local chain, _, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("cert_chain_too_long", info.reason)
      assert.equal(22, info.code)
      assert.equal(1, info.depth)
      assert.is_true(same(info.cert, C.inter))
      -- max_depth counts the intermediates
      o.max_depth = 1
      chain_is(s:verify(C.leaf, o), { "leaf", "inter", "root" })
      assert.is_table(s:verify(C.direct, { max_depth = 0 }))
      -- a missing issuer below the limit is still reported as missing
      o.untrusted = nil
      chain, _, info = s:verify(C.leaf, o)
      assert.is_nil(chain)
      assert.equal("unable_to_get_issuer_cert_locally", info.reason)
    end)

    it("checks policies when asked", function()
      -- no certificate of the fixture has a policy: an explicit policy cannot be satisfied
      local chain, _, info = s:verify(C.leaf, { untrusted = { C.inter }, explicit_policy = true })
      assert.is_nil(chain)
      assert.equal("no_explicit_policy", info.reason)
      assert.is_table(s:verify(C.leaf, { untrusted = { C.inter }, policies = { "anyPolicy" } }))
      assert.is_table(s:verify(C.leaf, { untrusted = { C.inter }, policies = "2.5.29.32.0", policy_check = true }))
    end)

    it("validates its options", function()
      local o = { untrusted = { C.inter } }
      local function bad(extra, pattern)
        local t = {}
        for k, v in pairs(o) do t[k] = v end
        for k, v in pairs(extra) do t[k] = v end
        local ok, err = pcall(s.verify, s, C.leaf, t)
        assert.is_false(ok)
        assert.matches(pattern, err)
      end
      bad({ crlcheck = "all" }, "unknown option 'crlcheck'")
      bad({ crl_check = "some" }, "crl_check")
      bad({ crl_check = true }, "crl_check")
      bad({ purpose = "server" }, "unknown purpose 'server'")
      bad({ ip = "not-an-ip" }, "invalid IP address")
      bad({ time = 1.5 }, "time")
      bad({ time = "now" }, "time")
      bad({ max_depth = -1 }, "max_depth")
      bad({ policies = { "not an oid" } }, "policies%[1%]")
      bad({ policies = 42 }, "policies")
      bad({ untrusted = { "x" } }, "untrusted%[1%] must be a certificate")
      bad({ untrusted = C.inter }, "untrusted")
      bad({ host = 5 }, "host")
      assert.has_error(function() s:verify(C.leaf, "x") end)
      assert.has_error(function() s:verify("x") end)
      assert.has_error(function() s:verify() end)
    end)

    it("maps codes to reasons and texts", function()
      assert.equal("certificate_revoked", store.reasons[23])
      assert.equal("cert_has_expired", store.reasons[10])
      assert.equal("hostname_mismatch", store.reasons[62])
      assert.equal("certificate revoked", store.error_text(23))
    end)
  end)

  describe("find_issuer (the one issuer search of the plugins)", function()
    it("finds the issuer of a certificate and of a CRL in a pool, by name, key id and signature", function()
      local pool = { C.leaf, C.inter2, C.root, C.inter }
      assert.is_true(same(assert(store.find_issuer(C.leaf, pool)), C.inter))
      assert.is_true(same(assert(store.find_issuer(C.inter, pool)), C.root))
      assert.is_true(same(assert(store.find_issuer(C.leaf3, pool)), C.inter2))
      assert.is_true(same(assert(store.find_issuer(R.inter, pool)), C.inter))
      assert.is_true(same(assert(store.find_issuer(R.root, pool)), C.root))
      -- a self-signed root is not its own issuer, even as a second copy in the pool
      local none, why, code = store.find_issuer(C.root, { C.root, assert(x509.load(pki.pem("root"))) })
      assert.is_nil(none)
      assert.equal("untrusted", code)
      assert.matches("is not among the certificates given", why, 1, true)
      -- same name, other key: the signature decides
      none, why, code = store.find_issuer(C.leaf3, { C.inter, C.root })
      assert.is_nil(none)
      assert.equal("untrusted", code, why)
      none, why, code = store.find_issuer(R.inter, { C.root }, { noun = "trusted CA", among = "the trusted CAs" })
      assert.is_nil(none)
      assert.matches("not among the trusted CAs", why, 1, true)
    end)
  end)

  describe("load_file and add_file", function()
    it("loads a CA bundle with an embedded CRL and text between the blocks", function()
      local dir = h.tmpdir()
      local bundle = "Bag Attributes\r\n    friendlyName: root\r\nsubject=CN = Test Root CA\r\n" ..
        pki.pem("root"):gsub("\n", "\r\n") .. "\r\nsome text\n" .. pki.pem("inter") ..
        pki.pem("root.crl") .. pki.pem("inter.crl") .. h.read(pki.path("leaf.key"))
      h.write(dir .. "/ca.pem", bundle)
      local s = assert(store.load_file(dir .. "/ca.pem"))
      assert.same({ cas = 2, crls = 2, untrusted = 0 }, s:count())
      chain_is(s:verify(C.leaf, { crl_check = "all" }), { "leaf", "inter", "root" })
      local chain, _, info = s:verify(C.revoked, { crl_check = "all" })
      assert.is_nil(chain)
      assert.equal("certificate_revoked", info.reason)
    end)

    it("agrees with openssl verify -CAfile on the same bundle", function()
      local dir = h.tmpdir()
      local file = dir .. "/ca.pem"
      h.write(file, pki.pem("root") .. pki.pem("root.crl") .. pki.pem("inter.crl"))
      local s = assert(store.load_file(file))
      for _, name in ipairs{ "leaf", "revoked" } do
        local out, rc = h.openssl("verify -crl_check_all -CAfile " .. h.q(file) .. " -untrusted " ..
          h.q(pki.path("inter")) .. " " .. h.q(pki.path(name)))
        local chain, _, info = s:verify(C[name], { untrusted = { C.inter }, crl_check = "all" })
        if name == "leaf" then
          assert.equal(0, rc, out)
          assert.is_table(chain)
        else
          assert.matches("error 23 at 0 depth", out)
          assert.is_nil(chain)
          assert.equal(23, info.code)
        end
      end
    end)

    it("adds files to a store and says how many certificates and CRLs", function()
      local s = store.new()
      assert.same({ 1, 0 }, { s:add_file(pki.path("root")) })
      assert.same({ 0, 1 }, { s:add_file(pki.path("inter.crl")) })
      assert.same({ cas = 1, crls = 1, untrusted = 0 }, s:count())
    end)

    it("reads TRUSTED CERTIFICATE blocks (openssl x509 -trustout)", function()
      local dir = h.tmpdir()
      local _, rc = h.openssl("x509 -in " .. h.q(pki.path("root")) .. " -trustout -addtrust serverAuth -out " ..
        h.q(dir .. "/trusted.pem"))
      assert.equal(0, rc)
      assert.matches("BEGIN TRUSTED CERTIFICATE", h.read(dir .. "/trusted.pem"))
      local s = assert(store.load_file(dir .. "/trusted.pem"))
      chain_is(s:verify(C.direct), { "direct", "root" })
    end)

    it("reads DER certificates and CRLs", function()
      local dir = h.tmpdir()
      assert.equal(0, select(2, h.openssl("x509 -in " .. h.q(pki.path("root")) .. " -outform DER -out " .. h.q(dir .. "/root.cer"))))
      assert.equal(0, select(2, h.openssl("crl -in " .. h.q(pki.path("root.crl")) .. " -outform DER -out " .. h.q(dir .. "/root.crl"))))
      local s = assert(store.load_file(dir .. "/root.cer"))
      assert.same({ 0, 1 }, { s:add_file(dir .. "/root.crl") })
      assert.same({ cas = 1, crls = 1, untrusted = 0 }, s:count())
      assert.is_table(s:verify(C.direct))
    end)

    it("returns nil and a message for missing, empty and broken files", function()
      local dir = h.tmpdir()
      local s, err = store.load_file(dir .. "/nope.pem")
      assert.is_nil(s)
      assert.matches("nope%.pem", err)
      h.write(dir .. "/empty.pem", "")
      s, err = store.load_file(dir .. "/empty.pem")
      assert.is_nil(s)
      assert.matches("empty%.pem: no certificate or CRL found", err)
      h.write(dir .. "/key.pem", h.read(pki.path("leaf.key")))
      s, err = store.load_file(dir .. "/key.pem")
      assert.is_nil(s)
      assert.matches("key%.pem: no certificate or CRL found", err)
      h.write(dir .. "/cut.pem", pki.pem("root"):sub(1, 200))
      s, err = store.load_file(dir .. "/cut.pem")
      assert.is_nil(s)
      assert.matches("cut%.pem", err)
      h.write(dir .. "/bad.pem", "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n")
      s, err = store.load_file(dir .. "/bad.pem")
      assert.is_nil(s)
      assert.matches("bad%.pem: PEM block 1 %(CERTIFICATE, line 1%): bad Base%-64", err)
      h.write(dir .. "/bad2.pem", pki.pem("root") .. "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
      s, err = store.load_file(dir .. "/bad2.pem")
      assert.is_nil(s)
      assert.matches("bad2%.pem: PEM block 2 %(X509 CRL, line %d+%): ", err)
      h.write(dir .. "/junk.der", "\48\3\1\2\3")
      s, err = store.load_file(dir .. "/junk.der")
      assert.is_nil(s)
      assert.matches("junk%.der: no certificate or CRL found %(DER data of unknown type", err)
      assert.has_error(function() store.new():add_file(42) end)
    end)
  end)

  describe("agrees with openssl verify", function()
    -- each case: the file to verify, the store's CAs and CRLs, untrusted files, options;
    -- openssl gets the same files. Result compared: valid, or the same error code and depth.
    local cases = {
      { "leaf", {}, { "inter" }, {} },
      { "leaf", {}, {}, {} },
      { "direct", {}, {}, {} },
      { "expired", {}, { "inter" }, {} },
      { "leaf", {}, { "inter" }, { host = "vcs.example.com" } },
      { "leaf", {}, { "inter" }, { host = "nope.example.com" } },
      { "leaf", {}, { "inter" }, { ip = "192.0.2.1" } },
      { "leaf", {}, { "inter" }, { ip = "192.0.2.9" } },
      { "client", {}, { "inter" }, { purpose = "sslserver" } },
      { "client", {}, { "inter" }, { purpose = "sslclient" } },
      { "revoked", { "inter.crl" }, { "inter" }, { crl_check = "leaf" } },
      { "revoked", { "inter.crl", "root.crl" }, { "inter" }, { crl_check = "all" } },
      { "leaf", { "inter.crl" }, { "inter" }, { crl_check = "leaf" } },
      { "leaf", { "inter.crl" }, { "inter" }, { crl_check = "all" } },
      { "leaf", {}, { "inter" }, { crl_check = "leaf" } },
      { "leaf3", { "root.crl", "inter2.crl" }, { "inter2" }, { crl_check = "leaf" } },
      { "leaf3", { "root.crl", "inter2.crl" }, { "inter2" }, { crl_check = "all" } },
      { "leaf", {}, { "inter" }, { time = 1000000000 } },
      { "leaf", {}, { "inter" }, { max_depth = 0 } },
      { "leaf", {}, { "inter" }, { max_depth = 1 } },
      { "leaf", {}, { "inter" }, { explicit_policy = true } },
      { "leaf", {}, { "inter" }, { purpose = "any" } },
    }
    for i, c in ipairs(cases) do
      local target, crls, untrusted, opts = c[1], c[2], c[3], c[4]
      local desc = {}
      for k, v in pairs(opts) do desc[#desc + 1] = k .. "=" .. tostring(v) end
      table.sort(desc)
      it(string.format("case %d: %s with %s", i, target, table.concat(desc, " ")), function()
        local args = { "verify", "-CAfile", h.q(pki.path("root")) }
        for _, u in ipairs(untrusted) do args[#args + 1] = "-untrusted " .. h.q(pki.path(u)) end
        for _, f in ipairs(crls) do args[#args + 1] = "-CRLfile " .. h.q(pki.path(f)) end
        if opts.crl_check == "leaf" then args[#args + 1] = "-crl_check" end
        if opts.crl_check == "all" then args[#args + 1] = "-crl_check_all" end
        if opts.host then args[#args + 1] = "-verify_hostname " .. h.q(opts.host) end
        if opts.ip then args[#args + 1] = "-verify_ip " .. h.q(opts.ip) end
        if opts.purpose then args[#args + 1] = "-purpose " .. opts.purpose end
        if opts.time then args[#args + 1] = "-attime " .. opts.time end
        if opts.max_depth then args[#args + 1] = "-verify_depth " .. opts.max_depth end
        if opts.explicit_policy then args[#args + 1] = "-policy_check -explicit_policy" end
        args[#args + 1] = h.q(pki.path(target))
        local out, rc = h.run("openssl " .. table.concat(args, " "))
        local ocode, odepth = out:match("error (%d+) at (%d+) depth lookup")

        local s = store.new{ cas = { C.root } }
        for _, f in ipairs(crls) do s:add_crl(R[f:match("^(.-)%.crl$")]) end
        local o = { untrusted = {} }
        for k, v in pairs(opts) do o[k] = v end
        for _, u in ipairs(untrusted) do o.untrusted[#o.untrusted + 1] = C[u] end
        local chain, err, info = s:verify(C[target], o)
        if rc == 0 then
          assert.is_table(chain, "openssl says OK, certbench says: " .. tostring(err))
        else
          assert.is_nil(chain, "openssl says: " .. out)
          assert.is_not_nil(ocode, out)
          assert.equal(tonumber(ocode), info.code, "openssl: " .. out .. "certbench: " .. err)
          assert.equal(tonumber(odepth), info.depth, "openssl: " .. out .. "certbench: " .. err)
        end
      end)
    end
  end)
end)
