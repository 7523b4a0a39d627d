-- tests/guide_interop_spec.lua: the steps of the VCS deployment guide that issue 14 found
-- missing, each checked with the openssl CLI on the files certbench writes (and certbench on
-- the files openssl writes): vcs selfsigned, EKUs kept by `ca issue`, revocation and SHA-1 in
-- `vcs check`, CSR attributes and order, PFX key choice and chain by validity, `vcs cafile`
-- and `crl bundle`, `vcs tls-check` against openssl s_server, `ca adopt`.
local h = require "helper"

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

local function cb(args) return h.certbench(args) end

local function statuses(out)
  local t = {}
  for st, title in out:gmatch("(%u%u%u%u)  ([%w %-]-)%s%s+") do t[title] = st end
  return t
end

local function mode_of(path)
  return (h.sh("stat -c %a " .. h.q(path)):gsub("%s+$", ""))
end

describe("vcs selfsigned (guide: Creating self-signed certificates using OpenSSL)", function()
  it("RSA 2048 by default: 0600 unencrypted key, CA:FALSE, both EKUs, SAN, SHA-256; openssl and vcs check accept it", function()
    local d = h.tmpdir()
    local out, rc = cb("vcs selfsigned --fqdn vcs.example.com --out-dir " .. h.q(d .. "/ss"))
    assert.equal(0, rc, out)
    local key, cert = d .. "/ss/privkey.pem", d .. "/ss/server.pem"
    assert.equal("600", mode_of(key))
    assert.matches("BEGIN RSA PRIVATE KEY", h.read(key))
    assert.not_matches("ENCRYPTED", h.read(key))
    assert.matches("2048 bit", ossl("rsa -in " .. h.q(key) .. " -noout -text"))
    local text = ossl("x509 -in " .. h.q(cert) .. " -noout -text")
    assert.matches("Signature Algorithm: sha256WithRSAEncryption", text, 1, true)
    assert.matches("CA:FALSE", text, 1, true)
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    assert.matches("DNS:vcs.example.com", text, 1, true)
    assert.matches("Issuer: CN = vcs.example.com", text, 1, true)
    -- the key goes with the certificate, as openssl sees it
    assert.equal(ossl("x509 -in " .. h.q(cert) .. " -noout -pubkey"), ossl("pkey -in " .. h.q(key) .. " -pubout"))
    assert.matches(": OK", ossl("verify -CAfile " .. h.q(cert) .. " -purpose sslserver " .. h.q(cert)))
    assert.matches(": OK", ossl("verify -CAfile " .. h.q(cert) .. " -purpose sslclient " .. h.q(cert)))
    local chk, crc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.example.com"):format(h.q(key), h.q(cert), h.q(cert)))
    assert.equal(0, crc, chk)
    assert.matches("self-signed: for test deployments", chk, 1, true)
    assert.equal("WARN", statuses(chk)["CA file"])
    assert.matches("ready to upload", chk, 1, true)
    -- a second run does not replace the key without --force
    local again, arc = cb("vcs selfsigned --fqdn vcs.example.com --out-dir " .. h.q(d .. "/ss"))
    assert.equal(1, arc, again)
    assert.matches("exist", again)
  end)

  it("ec:P-256, the plan's names in the SAN, --days; a cluster plan of several certificates is refused", function()
    local d = h.tmpdir()
    local out, rc = cb("vcs selfsigned --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com "
      .. "--mode shared --key ec:P-256 --days 30 --subject /C=NO/O=net2 --out-dir " .. h.q(d))
    assert.equal(0, rc, out)
    local text = ossl("x509 -in " .. h.q(d .. "/server.pem") .. " -noout -text")
    assert.matches("ecdsa-with-SHA256", text, 1, true)
    assert.matches("NIST CURVE: P-256", text, 1, true)
    assert.matches("DNS:cluster.example.com, DNS:vcs1.example.com, DNS:vcs2.example.com", text, 1, true)
    assert.matches("Subject: C = NO, O = net2, CN = cluster.example.com", text, 1, true)
    local days = ossl("x509 -in " .. h.q(d .. "/server.pem") .. " -noout -checkend " .. (29 * 86400))
    assert.matches("not expire", days)
    local _, rc30 = h.openssl("x509 -in " .. h.q(d .. "/server.pem") .. " -noout -checkend " .. (31 * 86400))
    assert.equal(1, rc30)
    local chk, crc = cb(("vcs check --key %s --cert %s --ca %s --cluster cluster.example.com --peer vcs1.example.com "
      .. "--peer vcs2.example.com --mode shared"):format(h.q(d .. "/privkey.pem"), h.q(d .. "/server.pem"), h.q(d .. "/server.pem")))
    assert.equal(0, crc, chk)
    local bad, brc = cb("vcs selfsigned --cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com --out-dir "
      .. h.q(d .. "/x"))
    assert.equal(2, brc, bad)
    assert.matches("2 certificates", bad)
  end)

  it("a self-signed certificate in a CA file with another server's is still refused", function()
    local d = h.tmpdir()
    assert.equal(0, select(2, cb("vcs selfsigned --fqdn a.example.com --out-dir " .. h.q(d .. "/a"))))
    assert.equal(0, select(2, cb("vcs selfsigned --fqdn b.example.com --out-dir " .. h.q(d .. "/b"))))
    h.sh(("cat %s/a/server.pem %s/b/server.pem > %s/ca.pem"):format(h.q(d), h.q(d), h.q(d)))
    local chk, crc = cb(("vcs check --key %s/a/privkey.pem --cert %s/a/server.pem --ca %s/ca.pem"):format(h.q(d), h.q(d), h.q(d)))
    assert.equal(3, crc, chk)
    assert.matches("not CAs: b.example.com", chk, 1, true)
  end)
end)
