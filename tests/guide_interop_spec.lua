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

-- a CSR made by openssl with the given extensions (a -addext list)
local function openssl_csr(dir, name, subj, addext)
  local args = ("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj %s"):format(
    h.q(dir .. "/" .. name .. ".key"), h.q(dir .. "/" .. name .. ".csr"), h.q(subj))
  for _, a in ipairs(addext or {}) do args = args .. " -addext " .. h.q(a) end
  ossl(args)
  return dir .. "/" .. name .. ".csr"
end

describe("ca issue keeps the EKUs and SAN a request asks for (guide: Creating a signed certificate)", function()
  local PW = "pass:guide-ca-pw"
  it("without --profile: refused with exit 2 naming a profile; with it, openssl sees both EKUs and the SAN", function()
    local d = h.tmpdir()
    local out, rc = cb("ca init " .. h.q(d .. "/ca") .. " --subject '/O=net2/CN=net2 CA' --key ec:P-256 --passout " .. PW)
    assert.equal(0, rc, out)
    local req = openssl_csr(d, "vcs", "/CN=vcs.example.com",
      { "extendedKeyUsage=serverAuth,clientAuth", "subjectAltName=DNS:vcs.example.com,DNS:cluster.example.com" })
    out, rc = cb(("ca issue %s --csr %s --out %s --passin %s"):format(h.q(d .. "/ca"), h.q(req), h.q(d .. "/vcs.pem"), PW))
    assert.equal(2, rc, out)
    assert.matches("clientAuth", out)
    assert.matches("--profile server-client", out, 1, true)
    assert.is_nil(io.open(d .. "/vcs.pem"))
    assert.equal("", h.read(d .. "/ca/index.txt"))
    out, rc = cb(("ca issue %s --csr %s --profile server-client --out %s --passin %s"):format(h.q(d .. "/ca"), h.q(req), h.q(d .. "/vcs.pem"), PW))
    assert.equal(0, rc, out)
    local text = ossl("x509 -in " .. h.q(d .. "/vcs.pem") .. " -noout -text")
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    assert.matches("DNS:vcs.example.com, DNS:cluster.example.com", text, 1, true)
    assert.matches(": OK", ossl(("verify -CAfile %s -purpose sslclient %s"):format(h.q(d .. "/ca/cacert.pem"), h.q(d .. "/vcs.pem"))))
    -- a request for serverAuth only still goes through the default profile
    local srv = openssl_csr(d, "web", "/CN=web.example.com", { "extendedKeyUsage=serverAuth", "subjectAltName=DNS:web.example.com" })
    out, rc = cb(("ca issue %s --csr %s --out %s --passin %s"):format(h.q(d .. "/ca"), h.q(srv), h.q(d .. "/web.pem"), PW))
    assert.equal(0, rc, out)
    assert.matches(": OK", ossl(("verify -CAfile %s -purpose sslserver %s"):format(h.q(d .. "/ca/cacert.pem"), h.q(d .. "/web.pem"))))
    -- clientAuth alone: the client profile is named
    local cli = openssl_csr(d, "cli", "/CN=user", { "extendedKeyUsage=clientAuth" })
    out, rc = cb(("ca issue %s --csr %s --passin %s"):format(h.q(d .. "/ca"), h.q(cli), PW))
    assert.equal(2, rc, out)
    assert.matches("--profile client", out, 1, true)
  end)

  it("help ca issue lists the profiles, site ones with their plugin", function()
    local out, rc = h.run(("CERTBENCH_PLUGINS=%s %s help ca issue"):format(h.q(h.root .. "/tests/site-plugins"), h.q(h.bin)))
    assert.equal(0, rc, out)
    for _, n in ipairs { "server", "client", "server%-client", "sub%-ca", "vcs%-server", "site%-server" } do
      assert.matches("\n  " .. n .. "%s", out)
    end
    assert.matches("site%-server[^\n]*plugin hello", out)
  end)
end)

-- the guide's own CA, made with the guide's openssl commands (genrsa -aes256 4096, req -x509
-- -sha1 -extensions v3_ca) and an openssl ca configuration like its demoCA
local function guide_ca(dir, md)
  h.sh("mkdir -p " .. h.q(dir .. "/demoCA/newcerts"))
  h.write(dir .. "/demoCA/index.txt", "")
  h.write(dir .. "/demoCA/serial", "1000\n")
  h.write(dir .. "/demoCA/crlnumber", "1000\n")
  h.write(dir .. "/openssl.cnf", ([[
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %s/demoCA
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = %s/ca.crt
private_key = %s/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = %s
default_days = 365
default_crl_days = 30
policy = policy_match
copy_extensions = copy
x509_extensions = usr_cert
unique_subject = no
[ policy_match ]
countryName = match
organizationName = match
commonName = supplied
emailAddress = optional
[ usr_cert ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ req ]
distinguished_name = dn
[ dn ]
]]):format(dir, dir, dir, md or "sha256"))
  ossl(("genrsa -aes256 -passout pass:capw -out %s 4096"):format(h.q(dir .. "/ca.key")))
  ossl(("req -new -x509 -key %s -passin pass:capw -config %s -sha1 -extensions v3_ca -subj /C=NO/O=net2/CN=net2-CA -days 3650 -out %s")
    :format(h.q(dir .. "/ca.key"), h.q(dir .. "/openssl.cnf"), h.q(dir .. "/ca.crt")))
  return { dir = dir, cnf = dir .. "/openssl.cnf", key = dir .. "/ca.key", cert = dir .. "/ca.crt", pass = "pass:capw" }
end

-- openssl ca signs a new request for cn; -> key, cert paths
local function guide_issue(ca, cn, md)
  local d = ca.dir
  local key, req, cert = d .. "/" .. cn .. ".key", d .. "/" .. cn .. ".csr", d .. "/" .. cn .. ".pem"
  ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj %s -addext %s"):format(h.q(key), h.q(req),
    h.q("/C=NO/O=net2/CN=" .. cn), h.q("subjectAltName=DNS:" .. cn)))
  ossl(("ca -batch -notext -config %s -passin %s -in %s -out %s%s"):format(h.q(ca.cnf), ca.pass, h.q(req), h.q(cert),
    md and (" -md " .. md) or ""))
  return key, cert
end

describe("vcs check: revocation and SHA-1 (guide: Managing CRLs, Creating a signed certificate)", function()
  it("a certificate revoked by a CRL in the CA file, or given with --crl, fails and says why; openssl agrees", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    local key, cert = guide_issue(ca, "vcs1.example.com")
    local key2, cert2 = guide_issue(ca, "vcs2.example.com")
    ossl(("ca -config %s -passin %s -revoke %s -crl_reason keyCompromise"):format(h.q(ca.cnf), ca.pass, h.q(cert)))
    ossl(("ca -config %s -passin %s -gencrl -out %s"):format(h.q(ca.cnf), ca.pass, h.q(d .. "/ca.crl")))
    h.sh(("cat %s %s > %s"):format(h.q(ca.cert), h.q(d .. "/ca.crl"), h.q(d .. "/ca-with-crl.pem")))
    local o, orc = h.openssl(("verify -crl_check -CAfile %s %s"):format(h.q(d .. "/ca-with-crl.pem"), h.q(cert)))
    assert.not_equal(0, orc)
    assert.matches("certificate revoked", o)
    for _, args in ipairs { "--ca " .. h.q(d .. "/ca-with-crl.pem"), "--ca " .. h.q(ca.cert) .. " --crl " .. h.q(d .. "/ca.crl") } do
      local out, rc = cb(("vcs check --key %s --cert %s --fqdn vcs1.example.com %s"):format(h.q(key), h.q(cert), args))
      assert.equal(3, rc, out)
      assert.equal("FAIL", statuses(out).revocation, out)
      assert.matches("vcs1.example.com %(serial 1000%) is revoked: revoked [%dTZ:-]+ %(keyCompromise%), by the CRL of net2%-CA", out)
      assert.matches("issue a new certificate", out, 1, true)
      assert.matches("NOT ready to upload", out, 1, true)
      -- the other certificate of the same CA is fine
      out, rc = cb(("vcs check --key %s --cert %s --fqdn vcs2.example.com %s"):format(h.q(key2), h.q(cert2), args))
      assert.equal(0, rc, out)
      assert.equal("PASS", statuses(out).revocation, out)
    end
  end)

  it("a certificate made exactly by the guide (-md sha1) fails naming SHA-1 and the fix", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    local key, cert = guide_issue(ca, "vcs.example.com", "sha1")
    assert.matches("sha1WithRSAEncryption", ossl("x509 -noout -text -in " .. h.q(cert)))
    local out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.example.com"):format(h.q(key), h.q(cert), h.q(ca.cert)))
    assert.equal(3, rc, out)
    assert.equal("FAIL", statuses(out)["key size and signatures"], out)
    assert.matches("signed with SHA-1 (sha1WithRSAEncryption)", out, 1, true)
    assert.matches("reissue it with SHA-256", out, 1, true)
    -- the root's own SHA-1 self-signature is no reason to fail (it is trusted as it is)
    local key2, cert2 = guide_issue(ca, "vcs2.example.com", "sha256")
    out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs2.example.com"):format(h.q(key2), h.q(cert2), h.q(ca.cert)))
    assert.equal(0, rc, out)
  end)
end)

describe("vcs csr details (guide: Creating a certificate request using OpenSSL)", function()
  it("challengePassword and unstructuredName are request attributes, not DN fields; order as given; --digest", function()
    local d = h.tmpdir()
    local out, rc = cb("vcs csr --fqdn vcs.example.com --subject '/C=NO/O=net2/emailAddress=pki@net2.no/challengePassword=s3cret' "
      .. "--attr 'unstructuredName=Net2 AS' --digest sha384 --out-dir " .. h.q(d .. "/a"))
    assert.equal(0, rc, out)
    local text = ossl("req -in " .. h.q(d .. "/a/request.pem") .. " -noout -text -verify")
    assert.matches("verify OK", text, 1, true)
    assert.matches("Subject: C = NO, O = net2, CN = vcs.example.com, emailAddress = pki@net2.no\n", text, 1, true)
    assert.matches("challengePassword%s+:s3cret", text)
    assert.matches("unstructuredName%s+:Net2 AS", text)
    assert.matches("Signature Algorithm: sha384WithRSAEncryption", text, 1, true)
    assert.not_matches("challengePassword[^\n]*CN", text)
    -- the DER copy is the same request
    assert.equal(ossl("req -in " .. h.q(d .. "/a/request.pem") .. " -outform DER | base64"),
      ossl("req -in " .. h.q(d .. "/a/request.der") .. " -inform DER -outform DER | base64"))
    -- the CN where the user put it, emailAddress too
    out, rc = cb("vcs csr --fqdn vcs.example.com --subject '/C=NO/emailAddress=pki@net2.no/CN=vcs.example.com/O=net2' "
      .. "--digest sha512 --out-dir " .. h.q(d .. "/b"))
    assert.equal(0, rc, out)
    assert.matches("subject=C = NO, emailAddress = pki@net2.no, CN = vcs.example.com, O = net2",
      ossl("req -in " .. h.q(d .. "/b/request.pem") .. " -noout -subject"), 1, true)
    assert.matches("sha512WithRSAEncryption", ossl("req -in " .. h.q(d .. "/b/request.pem") .. " -noout -text"), 1, true)
    -- a CN other than the plan's, an unknown attribute, a weak digest: usage errors
    for _, bad in ipairs { "--subject /CN=other.example.com", "--attr foo=bar", "--digest sha1" } do
      local o2, rc2 = cb("vcs csr --fqdn vcs.example.com --out-dir " .. h.q(d .. "/c") .. " " .. bad)
      assert.equal(2, rc2, bad .. "\n" .. o2)
    end
  end)

  it("reads the attributes of a request openssl req made with a challenge password", function()
    local d = h.tmpdir()
    h.write(d .. "/req.cnf", [[
[ req ]
prompt = no
distinguished_name = dn
attributes = attrs
[ dn ]
C = NO
CN = vcs.example.com
emailAddress = pki@net2.no
[ attrs ]
challengePassword = abc123
unstructuredName = Net2
]])
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -config %s -out %s -outform DER -sha256"):format(
      h.q(d .. "/k.pem"), h.q(d .. "/req.cnf"), h.q(d .. "/certcsr.der")))
    local out, rc = h.run(("%s run /dev/stdin %s <<'EOF'\n"
      .. "local csr = require 'certbench.csr'\n"
      .. "local r = assert(csr.load_file(arg[1]))\n"
      .. "assert(r:verify())\n"
      .. "print(r:subject():oneline())\n"
      .. "for _, a in ipairs(r:attributes()) do print(a.name .. '=' .. tostring(a.value)) end\n"
      .. "EOF"):format(h.q(h.bin), h.q(d .. "/certcsr.der")))
    assert.equal(0, rc, out)
    assert.matches("/C=NO/CN=vcs.example.com/emailAddress=pki@net2.no\n", out, 1, true)
    assert.matches("challengePassword=abc123\n", out, 1, true)
    assert.matches("unstructuredName=Net2\n", out, 1, true)
  end)
end)
