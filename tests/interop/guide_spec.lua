-- tests/interop/guide_spec.lua: the steps of the VCS deployment guide that issue 14 found
-- missing, each checked with the openssl CLI on the files certbench writes (and certbench on
-- the files openssl writes): vcs selfsigned, EKUs kept by `ca issue`, revocation and SHA-1 in
-- `vcs check`, CSR attributes and order, PFX key choice and chain by validity, `vcs cafile`
-- and `crl bundle`, `vcs tls-check` against openssl s_server, `ca adopt`.
local h = require "support.helper"

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

  it("the CRL check of a CA with a long name keeps its title apart from the reason (two spaces)", function()
    local d = h.tmpdir()
    local out, rc = cb(("ca init %s/ca --no-encrypt --subject %s"):format(d, h.q("/O=Example/CN=Example Video Root CA 2026")))
    assert.equal(0, rc, out)
    out, rc = cb(("vcs csr --fqdn vcs.example.com --out-dir %s/req"):format(d))
    assert.equal(0, rc, out)
    out, rc = cb(("ca issue %s/ca --csr %s/req/request.pem --profile vcs-server --out %s/server.pem"):format(d, d, d))
    assert.equal(0, rc, out)
    out, rc = cb(("ca gencrl %s/ca --out %s/ca.crl"):format(d, d))
    assert.equal(0, rc, out)
    ossl(("verify -crl_check -CAfile %s/ca/cacert.pem -CRLfile %s/ca.crl %s/server.pem"):format(d, d, d))
    out, rc = cb(("vcs check --key %s/req/privkey.pem --cert %s/server.pem --ca %s/ca/cacert.pem --crl %s/ca.crl --fqdn vcs.example.com")
      :format(d, d, d, d))
    assert.equal(0, rc, out)
    assert.matches("\nPASS  CRL of Example Video Root CA 2026  CRL #01 from " .. d .. "/ca.crl", out, 1, true)
    assert.equal("PASS", statuses(out)["CRL of Example Video Root CA 2026"], out)
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
  it("--domain puts the SIP/H.323 domains in the SAN after the cluster and peers; ca issue, openssl and vcs check agree", function()
    local d = h.tmpdir()
    local plan = "--cluster cluster.example.com --peer vcs1.example.com --peer vcs2.example.com --mode shared"
    local out, rc = cb(("vcs csr %s --domain example.com --domain Video.Example.com --domain example.com --out-dir %s/r")
      :format(plan, h.q(d)))
    assert.equal(0, rc, out)
    local want = "DNS:cluster.example.com, DNS:vcs1.example.com, DNS:vcs2.example.com, DNS:example.com, DNS:video.example.com"
    assert.matches(want, ossl(("req -in %s/r/request.der -inform DER -noout -text"):format(d)), 1, true)
    out, rc = cb(("ca init %s/ca --no-encrypt --subject /CN=Lab-Root"):format(d))
    assert.equal(0, rc, out)
    out, rc = cb(("ca issue %s/ca --csr %s/r/request.pem --profile vcs-server --out %s/server.pem"):format(d, d, d))
    assert.equal(0, rc, out)
    assert.matches(want, ossl(("x509 -in %s/server.pem -noout -text"):format(d)), 1, true)
    local chk = ("vcs check --key %s/r/privkey.pem --cert %s/server.pem --ca %s/ca/cacert.pem %s"):format(d, d, d, plan)
    out, rc = cb(chk .. " --domain example.com --domain video.example.com")
    assert.equal(0, rc, out)
    assert.equal("PASS", statuses(out).names, out)
    out, rc = cb(chk .. " --domain sip.example.org")
    assert.equal(3, rc, out)
    assert.matches("the SAN lacks sip.example.org", out, 1, true)
    -- standalone: a SAN with a domain must hold the FQDN as well (clients that find a SAN ignore the CN)
    out, rc = cb(("vcs selfsigned --fqdn vcs.example.com --domain example.com --out-dir %s/ss"):format(h.q(d)))
    assert.equal(0, rc, out)
    assert.matches("DNS:vcs.example.com, DNS:example.com", ossl(("x509 -in %s/ss/server.pem -noout -text"):format(d)), 1, true)
    out, rc = cb("vcs plan --fqdn vcs.example.com --domain 192.0.2.1")
    assert.equal(2, rc, out)
    assert.matches("^certbench: vcs: %-%-domain: '192.0.2.1' is an IP address", out)
  end)

  it("a --subject written as RFC 4514 text is refused naming the -subj form to write, not a Lua function", function()
    local d = h.tmpdir()
    local out, rc = cb(("vcs csr --fqdn vcs.example.com --subject %s --out-dir %s/r"):format(h.q("C=NO, O=net2"), h.q(d)))
    assert.equal(2, rc, out)
    assert.matches("^certbench: vcs csr: %-%-subject: 'C=NO, O=net2' is not in openssl's %-subj form /TYPE=value/%.%.%.: "
      .. "write it as '/C=NO/O=net2'\n$", out)
    assert.not_matches("parse_rfc4514", out, 1, true)
    out, rc = cb(("vcs csr --fqdn vcs.example.com --subject /C=NO/O=net2 --out-dir %s/r"):format(h.q(d)))
    assert.equal(0, rc, out)
    assert.matches("subject=C = NO, O = net2, CN = vcs.example.com", ossl(("req -in %s/r/request.pem -noout -subject"):format(d)), 1, true)
  end)

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

-- an openssl ca folder that signs with explicit dates (-startdate/-enddate), for CA copies
-- that expired and their renewals
local function dated_ca(dir)
  h.sh("mkdir -p " .. h.q(dir .. "/db/new"))
  h.write(dir .. "/db/index.txt", "")
  h.write(dir .. "/db/serial", "2000\n")
  h.write(dir .. "/db/index.txt.attr", "unique_subject = no\n")
  h.write(dir .. "/ca.cnf", ([[
[ ca ]
default_ca = d
[ d ]
dir = %s/db
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
organizationName = optional
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ req ]
distinguished_name = dn
[ dn ]
]]):format(dir))
  local ca = { dir = dir, cnf = dir .. "/ca.cnf" }
  -- key(name) makes name.key and name.csr for subj
  function ca.key(name, subj, alg)
    ossl(("req -new -newkey %s -nodes -keyout %s -out %s -subj %s -config %s"):format(alg or "rsa:2048",
      h.q(dir .. "/" .. name .. ".key"), h.q(dir .. "/" .. name .. ".csr"), h.q(subj), h.q(ca.cnf)))
  end
  -- sign(csrname, out, signer (nil: self-signed), start, end, ext)
  function ca.sign(csrname, out, signer, from, to, ext)
    local who = signer and ("-cert %s -keyfile %s"):format(h.q(dir .. "/" .. signer .. ".pem"), h.q(dir .. "/" .. signer:gsub("%-.*", "") .. ".key"))
      or ("-selfsign -keyfile %s"):format(h.q(dir .. "/" .. csrname .. ".key"))
    ossl(("ca -batch -notext -config %s %s -in %s -out %s -startdate %s -enddate %s -extensions %s"):format(h.q(ca.cnf), who,
      h.q(dir .. "/" .. csrname .. ".csr"), h.q(dir .. "/" .. out .. ".pem"), from, to, ext))
    return dir .. "/" .. out .. ".pem"
  end
  return ca
end

describe("pfx split and the Microsoft script (guide: Process the cert_inf.pem file)", function()
  it("the chain by validity now: a valid intermediate beats an expired copy before it, a renewed root the old one", function()
    local d = h.tmpdir()
    local ca = dated_ca(d)
    ca.key("root", "/O=net2/CN=net2 Root")
    ca.sign("root", "root-old", nil, "150101000000Z", "200101000000Z", "v3_ca")
    ca.sign("root", "root-new", nil, "200101000000Z", "20400101000000Z", "v3_ca")
    ca.key("inter", "/O=net2/CN=net2 Issuing")
    ca.sign("inter", "inter-old", "root-new", "200201000000Z", "210101000000Z", "v3_ca")
    ca.sign("inter", "inter-new", "root-new", "210101000000Z", "20390101000000Z", "v3_ca")
    ca.key("leaf", "/CN=vcs.example.com")
    local now = os.date("!%Y%m%d%H%M%SZ", os.time() - 3600)
    local later = os.date("!%Y%m%d%H%M%SZ", os.time() + 365 * 86400)
    ca.sign("leaf", "leaf", "inter-new", now, later, "leaf")
    -- the expired copies first, as a Windows export may put them
    h.sh(("cat %s/inter-old.pem %s/root-old.pem %s/inter-new.pem %s/root-new.pem > %s/others.pem"):format(d, d, d, d, d))
    ossl(("pkcs12 -export -inkey %s/leaf.key -in %s/leaf.pem -certfile %s/others.pem -name vcs-certificate -passout pass:pfxpw -out %s/cert_inf.pfx")
      :format(d, d, d, d))
    -- with the expired copies alone, openssl refuses: the choice matters
    h.sh(("cat %s/inter-old.pem %s/root-old.pem > %s/old.pem"):format(d, d, d))
    local o, orc = h.openssl(("verify -CAfile %s/old.pem %s/leaf.pem"):format(d, d))
    assert.not_equal(0, orc, o)
    local out, rc = cb(("pfx split %s/cert_inf.pfx --out-dir %s/out --passin pass:pfxpw"):format(d, d))
    assert.equal(0, rc, out)
    assert.equal(h.read(d .. "/inter-new.pem") .. h.read(d .. "/root-new.pem"), h.read(d .. "/out/ca.pem"))
    assert.matches(": OK", ossl(("verify -x509_strict -CAfile %s/out/ca.pem %s/out/server.pem"):format(d, d)))
    assert.equal(h.read(d .. "/inter-old.pem") .. h.read(d .. "/root-old.pem"), h.read(d .. "/out/extra.pem"))
    -- file order still breaks ties: the same file with the valid copies first gives the same ca.pem
    h.sh(("cat %s/inter-new.pem %s/root-new.pem %s/inter-old.pem %s/root-old.pem > %s/others2.pem"):format(d, d, d, d, d))
    ossl(("pkcs12 -export -inkey %s/leaf.key -in %s/leaf.pem -certfile %s/others2.pem -passout pass:pfxpw -out %s/b.pfx"):format(d, d, d, d))
    out, rc = cb(("pfx split %s/b.pfx --out-dir %s/out2 --passin pass:pfxpw"):format(d, d))
    assert.equal(0, rc, out)
    assert.equal(h.read(d .. "/out/ca.pem"), h.read(d .. "/out2/ca.pem"))
  end)

  it("several keys in openssl pkcs12 -in text: listed with serial, subject and friendlyName; --key N chooses, in the script too", function()
    local d = h.tmpdir()
    local ca = dated_ca(d)
    ca.key("root", "/O=net2/CN=net2 Root")
    ca.sign("root", "root", nil, "200101000000Z", "20400101000000Z", "v3_ca")
    local now = os.date("!%Y%m%d%H%M%SZ", os.time() - 3600)
    local later = os.date("!%Y%m%d%H%M%SZ", os.time() + 365 * 86400)
    ca.key("a", "/CN=vcs1.example.com")
    ca.sign("a", "a", "root", now, later, "leaf")
    -- an EC key for b
    ossl(("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/b.key"):format(d))
    ossl(("req -new -key %s/b.key -out %s/b.csr -subj /CN=vcs2.example.com -config %s"):format(d, d, h.q(ca.cnf)))
    ca.sign("b", "b", "root", now, later, "leaf")
    for _, n in ipairs { "a", "b" } do
      ossl(("pkcs12 -export -inkey %s/%s.key -in %s/%s.pem -certfile %s/root.pem -name %s-certificate -passout pass:pw -out %s/%s.pfx")
        :format(d, n, d, n, d, n, d, n))
      ossl(("pkcs12 -in %s/%s.pfx -passin pass:pw -nodes -out %s/%s.txt"):format(d, n, d, n))
    end
    h.sh(("cat %s/a.txt %s/b.txt > %s/cert_inf.pem"):format(d, d, d))
    local serial_b = ossl(("x509 -in %s/b.pem -noout -serial"):format(d)):match("serial=(%x+)")
    local out, rc = cb(("pfx split %s/cert_inf.pem --out-dir %s/out"):format(d, d))
    assert.equal(2, rc, out)
    assert.matches("2 private keys: choose one with --key N", out, 1, true)
    assert.matches('2: EC P%-256 %(PEM block %d+, line %d+%) for serial ' .. serial_b .. ', CN = vcs2%.example%.com, friendlyName "b%-certificate"', out)
    assert.matches('for serial %x+, CN = vcs1.example.com, friendlyName "a%-certificate"', out)
    out, rc = cb(("pfx split %s/cert_inf.pem --out-dir %s/out --key 2"):format(d, d))
    assert.equal(0, rc, out)
    assert.equal(ossl(("x509 -in %s/b.pem -noout -fingerprint"):format(d)), ossl(("x509 -in %s/out/server.pem -noout -fingerprint"):format(d)))
    assert.matches(": OK", ossl(("verify -CAfile %s/out/ca.pem %s/out/server.pem"):format(d, d)))
    assert.equal(ossl(("pkey -in %s/b.key -pubout"):format(d)), ossl(("pkey -in %s/out/privkey.pem -pubout"):format(d)))
    -- the script: --key, an EC key written as BEGIN EC PRIVATE KEY
    local script = h.root .. "/scripts/microsoft-pfx-to-vcs.lua"
    out, rc = cb(("run %s %s/cert_inf.pem %s/s1"):format(h.q(script), d, d))
    assert.equal(2, rc, out)
    assert.matches("choose one with --key N", out, 1, true)
    out, rc = cb(("run %s %s/cert_inf.pem %s/s2 --key 2"):format(h.q(script), d, d))
    assert.equal(0, rc, out)
    assert.matches("BEGIN EC PRIVATE KEY", h.read(d .. "/s2/privkey.pem"))
    assert.matches("EC P%-256", out)
  end)

  it("the script takes an Ed25519 key (as PKCS#8) and a self-signed certificate (no chain to download)", function()
    local d = h.tmpdir()
    ossl(("req -x509 -newkey ed25519 -nodes -keyout %s/ed.key -out %s/ed.pem -subj /CN=vcs.example.com -days 30 "
      .. "-addext basicConstraints=CA:FALSE -addext extendedKeyUsage=serverAuth,clientAuth -addext subjectAltName=DNS:vcs.example.com"):format(d, d))
    ossl(("pkcs12 -export -inkey %s/ed.key -in %s/ed.pem -passout pass:pw -out %s/ed.pfx"):format(d, d, d))
    local script = h.root .. "/scripts/microsoft-pfx-to-vcs.lua"
    local out, rc = cb(("run %s %s/ed.pfx %s/out pass:pw"):format(h.q(script), d, d))
    assert.equal(0, rc, out)
    assert.matches("BEGIN PRIVATE KEY", h.read(d .. "/out/privkey.pem"))
    assert.matches("self-signed: for test deployments", out, 1, true)
    assert.not_matches("download the chain", out)
    assert.equal(ossl(("pkey -in %s/ed.key -pubout"):format(d)), ossl(("pkey -in %s/out/privkey.pem -pubout"):format(d)))
    assert.matches(": OK", ossl(("verify -CAfile %s/out/server.pem %s/out/server.pem"):format(d, d)))
  end)
end)

-- a root -> intermediate -> leaf PKI made with openssl x509 -req, whose AIA caIssuers and CRL
-- distribution points name a 127.0.0.1 server serving dir/www (DER .cer and .crl files)
local servers = require "support.servers"

local function aia_pki(d)
  h.sh("mkdir -p " .. h.q(d .. "/www"))
  local srv = servers.http(d .. "/www")
  local base = "http://127.0.0.1:" .. srv.port
  local function f(n) return h.q(d .. "/" .. n) end
  ossl(("req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/O=net2/CN=net2 Root' -keyout %s -out %s "
    .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"):format(f("root.key"), f("root.pem")))
  h.write(d .. "/inter.ext", ("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
    .. "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nauthorityInfoAccess=caIssuers;URI:%s/root.cer\n"
    .. "crlDistributionPoints=URI:%s/root.crl\n"):format(base, base))
  ossl(("req -new -newkey rsa:2048 -nodes -subj '/O=net2/CN=net2 Issuing' -keyout %s -out %s"):format(f("inter.key"), f("inter.csr")))
  ossl(("x509 -req -in %s -CA %s -CAkey %s -set_serial 0x1001 -days 1825 -extfile %s -out %s"):format(f("inter.csr"),
    f("root.pem"), f("root.key"), f("inter.ext"), f("inter.pem")))
  h.write(d .. "/leaf.ext", ("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
    .. "subjectAltName=DNS:vcs.example.com\nauthorityInfoAccess=caIssuers;URI:%s/inter.cer\ncrlDistributionPoints=URI:%s/inter.crl\n"):format(base, base))
  ossl(("req -new -newkey rsa:2048 -nodes -subj /CN=vcs.example.com -keyout %s -out %s"):format(f("leaf.key"), f("leaf.csr")))
  ossl(("x509 -req -in %s -CA %s -CAkey %s -set_serial 0x2001 -days 365 -extfile %s -out %s"):format(f("leaf.csr"),
    f("inter.pem"), f("inter.key"), f("leaf.ext"), f("leaf.pem")))
  for _, n in ipairs { "root", "inter" } do
    ossl(("x509 -in %s -outform DER -out %s"):format(f(n .. ".pem"), h.q(d .. "/www/" .. n .. ".cer")))
  end
  return srv, base
end

-- gencrl(d, ca, revoked_cert, opts) -> path of a DER CRL of ca ("root" or "inter") in d/www
local function gencrl(d, ca, revoke, extra)
  local cd = d .. "/crl-" .. ca
  h.sh("mkdir -p " .. h.q(cd))
  h.write(cd .. "/index.txt", "")
  h.write(cd .. "/crlnumber", "1000\n")
  h.write(cd .. "/ca.cnf", ("[ ca ]\ndefault_ca = t\n[ t ]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\n"
    .. "default_md = sha256\ndefault_crl_days = 7\n"):format(cd, cd))
  local base = ("ca -config %s -keyfile %s -cert %s"):format(h.q(cd .. "/ca.cnf"), h.q(d .. "/" .. ca .. ".key"), h.q(d .. "/" .. ca .. ".pem"))
  if revoke then ossl(base .. " -revoke " .. h.q(revoke) .. " -crl_reason keyCompromise") end
  ossl(base .. " -gencrl -out " .. h.q(cd .. "/crl.pem") .. " " .. (extra or ""))
  ossl(("crl -in %s -outform DER -out %s"):format(h.q(cd .. "/crl.pem"), h.q(d .. "/www/" .. ca .. ".crl")))
  return d .. "/www/" .. ca .. ".crl"
end

describe("vcs cafile (guide: Loading a trusted CA certificate onto VCS)", function()
  local srv
  after_each(function() if srv then servers.stop(srv) srv = nil end end)

  it("a p7b holding the leaf, the root and the intermediate twice: CA certificates only, issuer after subject, once each", function()
    local d = h.tmpdir()
    srv = aia_pki(d)
    ossl(("crl2pkcs7 -nocrl -certfile %s/leaf.pem -certfile %s/root.pem -certfile %s/inter.pem -certfile %s/inter.pem -outform DER -out %s/chain.p7b")
      :format(d, d, d, d, d))
    local out, rc = cb(("vcs cafile %s/chain.p7b --out %s/ca.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.equal(h.read(d .. "/inter.pem") .. h.read(d .. "/root.pem"), h.read(d .. "/ca.pem"))
    assert.matches("left out CN = vcs.example.com", out, 1, true)
    assert.matches(": OK", ossl(("verify -x509_strict -CAfile %s/ca.pem %s/leaf.pem"):format(d, d)))
    local chk, crc = cb(("vcs check --key %s/leaf.key --cert %s/leaf.pem --ca %s/ca.pem --fqdn vcs.example.com --san-fqdn"):format(d, d, d))
    assert.equal(0, crc, chk)
    assert.equal("PASS", statuses(chk)["CA file"])
    -- the p7b as it was made refuses in vcs check: the leaf is in it
    ossl(("pkcs7 -in %s/chain.p7b -inform DER -print_certs -out %s/p7.pem"):format(d, d))
    chk, crc = cb(("vcs check --key %s/leaf.key --cert %s/leaf.pem --ca %s/p7.pem"):format(d, d, d))
    assert.equal(3, crc, chk)
  end)

  it("says where each CA came from: the p7b's certificate (one pair of parentheses), the ZIP member and its PEM block", function()
    local d = h.tmpdir()
    srv = aia_pki(d)
    ossl(("crl2pkcs7 -nocrl -certfile %s/inter.pem -certfile %s/root.pem -outform DER -out %s/chain.p7b"):format(d, d, d))
    local out, rc = cb(("vcs cafile %s/chain.p7b --out %s/ca.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.matches("from " .. d .. "/chain.p7b (PKCS#7, certificate 1)\n", out, 1, true)
    assert.not_matches("((", out, 1, true)
    h.sh(("cd %s && cat inter.pem root.pem > both.pem && zip -q cas.zip root.pem both.pem"):format(h.q(d)))
    out, rc = cb(("vcs cafile %s/cas.zip --out %s/ca2.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.matches("from " .. d .. "/cas.zip (both.pem, PEM block 1, line 1)\n", out, 1, true)
    assert.matches("from " .. d .. "/cas.zip (root.pem, PEM block 1, line 1)\n", out, 1, true)
    assert.equal(h.read(d .. "/inter.pem") .. h.read(d .. "/root.pem"), h.read(d .. "/ca2.pem"))
  end)

  it("missing issuers: named without --fetch-aia (nothing written), fetched from AIA on 127.0.0.1 with it; URL inputs", function()
    local d = h.tmpdir()
    local base
    srv, base = aia_pki(d)
    local out, rc = cb(("vcs cafile %s/leaf.pem --out %s/ca.pem"):format(d, d))
    assert.equal(1, rc, out)
    assert.matches("the issuer of vcs.example.com (O = net2, CN = net2 Issuing)", out, 1, true)
    assert.matches("--fetch-aia", out, 1, true)
    assert.is_nil(io.open(d .. "/ca.pem"))
    out, rc = cb(("vcs cafile %s/inter.pem --out %s/ca.pem"):format(d, d))
    assert.equal(1, rc, out)
    assert.matches("the issuer of net2 Issuing (O = net2, CN = net2 Root)", out, 1, true)
    out, rc = cb(("vcs cafile %s/leaf.pem --fetch-aia --out %s/ca.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.matches("fetched O = net2, CN = net2 Issuing from " .. base .. "/inter.cer", out, 1, true)
    assert.matches("fetched O = net2, CN = net2 Root from " .. base .. "/root.cer", out, 1, true)
    assert.equal(h.read(d .. "/inter.pem") .. h.read(d .. "/root.pem"), h.read(d .. "/ca.pem"))
    assert.matches(": OK", ossl(("verify -CAfile %s/ca.pem %s/leaf.pem"):format(d, d)))
    -- URLs as inputs, in any order
    out, rc = cb(("vcs cafile %s/root.cer %s/inter.cer --out %s/ca2.pem"):format(base, base, d))
    assert.equal(0, rc, out)
    assert.equal(h.read(d .. "/ca.pem"), h.read(d .. "/ca2.pem"))
    -- a dead AIA server: the missing issuer is still named
    servers.stop(srv)
    srv = nil
    out, rc = cb(("vcs cafile %s/leaf.pem --fetch-aia --timeout 5 --out %s/ca3.pem"):format(d, d))
    assert.equal(1, rc, out)
    assert.matches("the issuer of vcs.example.com", out, 1, true)
  end)
end)

describe("crl mirror of file:// sources (guide: Automatic CRL updates)", function()
  it("a newer CRL written over the dropped one in the same second, or with an older mtime kept, is published", function()
    local d = h.tmpdir()
    local out, rc = cb(("ca init %s/ca --no-encrypt --subject /CN=Drop-Root"):format(d))
    assert.equal(0, rc, out)
    for _ = 1, 3 do
      out, rc = cb(("ca gencrl %s/ca"):format(d))
      assert.equal(0, rc, out)
    end
    local c1, c2, c3 = h.read(d .. "/ca/crl/01.pem"), h.read(d .. "/ca/crl/02.pem"), h.read(d .. "/ca/crl/03.pem")
    assert.equal(#c1, #c2) -- the same size: only the number and the dates differ
    h.sh("mkdir -p " .. h.q(d .. "/drop"))
    local drop = d .. "/drop/root.pem"
    local function number()
      return (ossl(("crl -noout -crlnumber -in %s/pub/%s"):format(d,
        (h.sh("ls " .. h.q(d .. "/pub") .. " | grep '\\.r0$'"):gsub("%s+$", "")))):gsub("%s+$", ""))
    end
    local mirror = ("crl mirror --source file://%s --out-dir %s/pub --ca %s/ca/cacert.pem"):format(drop, d, d)
    -- written in place (same inode, same size) and mirrored, three times within a second or two
    local f = assert(io.open(drop, "w")) f:write(c1) f:close()
    out, rc = cb(mirror)
    assert.equal(0, rc, out)
    assert.equal("crlNumber=0x01", number())
    out, rc = cb(mirror)
    assert.matches("(not modified)", out, 1, true)
    f = assert(io.open(drop, "r+")) f:write(c2) f:close()
    out, rc = cb(mirror)
    assert.equal(0, rc, out)
    assert.equal("crlNumber=0x02", number(), out)
    -- the newer one copied with an mtime older than the last read (cp -p, rsync -t)
    h.write(drop .. ".tmp", c3)
    h.sh(("touch -d @1000000000 %s && mv %s %s"):format(h.q(drop .. ".tmp"), h.q(drop .. ".tmp"), h.q(drop)))
    out, rc = cb(mirror)
    assert.equal(0, rc, out)
    assert.equal("crlNumber=0x03", number(), out)
    assert.matches(": OK", ossl(("verify -CApath %s/pub -crl_check %s/ca/cacert.pem"):format(d, d)))
  end)
end)

describe("crl bundle (guide: Manual CRL updates)", function()
  local srv
  after_each(function() if srv then servers.stop(srv) srv = nil end end)

  it("the CRLs of a folder in one PEM, each verified; openssl verify -crl_check_all takes it", function()
    local d = h.tmpdir()
    srv = aia_pki(d)
    gencrl(d, "root")
    gencrl(d, "inter", d .. "/leaf.pem")
    h.sh(("cat %s/inter.pem %s/root.pem > %s/ca.pem"):format(d, d, d))
    local out, rc = cb(("crl bundle %s/www --out %s/crls.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.matches("2 CRLs", out)
    local text = h.read(d .. "/crls.pem")
    local _, n = text:gsub("BEGIN X509 CRL", "")
    assert.equal(2, n)
    -- openssl reads every CRL of the file and finds the leaf revoked by the intermediate's
    local o, orc = h.openssl(("verify -crl_check_all -CAfile %s/ca.pem -CRLfile %s/crls.pem %s/leaf.pem"):format(d, d, d))
    assert.not_equal(0, orc, o)
    assert.matches("certificate revoked", o)
    assert.matches(": OK", ossl(("verify -crl_check_all -CAfile %s/ca.pem -CRLfile %s/crls.pem %s/inter.pem"):format(d, d, d)))
    -- vcs check with the bundle as --crl fails the revoked leaf
    local chk, crc = cb(("vcs check --key %s/leaf.key --cert %s/leaf.pem --ca %s/ca.pem --crl %s/crls.pem"):format(d, d, d, d))
    assert.equal(3, crc, chk)
    assert.equal("FAIL", statuses(chk).revocation)
  end)

  it("--fetch downloads the CRLs a chain names (127.0.0.1); a CRL that does not verify or has expired writes nothing", function()
    local d = h.tmpdir()
    srv = aia_pki(d)
    gencrl(d, "root")
    gencrl(d, "inter")
    h.sh(("cat %s/leaf.pem %s/inter.pem %s/root.pem > %s/chain.pem"):format(d, d, d, d))
    local out, rc = cb(("crl bundle %s/chain.pem --fetch --out %s/crls.pem"):format(d, d))
    assert.equal(0, rc, out)
    assert.matches("2 CRLs", out)
    h.sh(("cat %s/inter.pem %s/root.pem > %s/ca.pem"):format(d, d, d))
    assert.matches(": OK", ossl(("verify -crl_check_all -CAfile %s/ca.pem -CRLfile %s/crls.pem %s/leaf.pem"):format(d, d, d)))
    -- a URL list, as the appliance's distribution points are configured: the same two CRLs
    local base = "http://127.0.0.1:" .. srv.port
    out, rc = cb(("crl bundle %s/inter.crl %s/root.crl --ca %s/ca.pem --out %s/crls-url.pem"):format(base, base, d, d))
    assert.equal(0, rc, out)
    assert.matches("2 CRLs", out)
    assert.matches(": OK", ossl(("verify -crl_check_all -CAfile %s/ca.pem -CRLfile %s/crls-url.pem %s/leaf.pem"):format(d, d, d)))
    -- without the certificates, nothing verifies the CRLs
    out, rc = cb(("crl bundle %s/www/inter.crl --out %s/x.pem"):format(d, d))
    assert.equal(2, rc, out)
    -- a CRL of another key under the same name
    ossl(("req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/O=net2/CN=net2 Issuing' -keyout %s/fake.key -out %s/fake.pem "
      .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"):format(d, d))
    gencrl(d, "fake")
    out, rc = cb(("crl bundle %s/www/fake.crl %s/www/root.crl --ca %s/ca.pem --out %s/y.pem"):format(d, d, d, d))
    assert.equal(1, rc, out)
    assert.matches("fake.crl", out, 1, true)
    assert.matches("nothing written", out, 1, true)
    assert.is_nil(io.open(d .. "/y.pem"))
    -- an expired CRL
    gencrl(d, "inter", nil, "-crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z")
    out, rc = cb(("crl bundle %s/www/inter.crl --ca %s/ca.pem --out %s/z.pem"):format(d, d, d))
    assert.equal(1, rc, out)
    assert.matches("expired 2020%-02%-01", out)
    out, rc = cb(("crl bundle %s/www/inter.crl --ca %s/ca.pem --allow-expired --out %s/z.pem"):format(d, d, d))
    assert.equal(0, rc, out)
  end)
end)

describe("vcs tls-check (guide: SIP TLS negotiation failures, Configuring revocation checking)", function()
  local started = {}
  after_each(function() for _, s in ipairs(started) do servers.stop(s) end started = {} end)

  local function s_server(cert, key, extra)
    local s = servers.start(function(port) return ("exec openssl s_server -quiet -www -accept 127.0.0.1:%d -cert %s -key %s %s")
      :format(port, h.q(cert), h.q(key), extra or "") end)
    started[#started + 1] = s
    return s
  end

  it("a client certificate without clientAuth fails as the peer sees it; with it, it passes", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    local skey, scert = guide_issue(ca, "vcs1.example.com")
    -- a server-only certificate for the client side, from the same CA
    local ckey, ccsr, ccert = d .. "/web.key", d .. "/web.csr", d .. "/web.pem"
    h.write(d .. "/srv.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:web.example.com\n")
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /C=NO/O=net2/CN=web.example.com"):format(h.q(ckey), h.q(ccsr)))
    ossl(("x509 -req -in %s -CA %s -CAkey %s -passin %s -set_serial 0x77 -days 30 -extfile %s -out %s"):format(h.q(ccsr),
      h.q(ca.cert), h.q(ca.key), ca.pass, h.q(d .. "/srv.ext"), h.q(ccert)))
    -- a peer in TLS verify mode: the client certificate must verify (openssl's apps go on after a
    -- verification error unless told -verify_return_error)
    local s = s_server(scert, skey, "-CAfile " .. h.q(ca.cert) .. " -Verify 2 -verify_return_error")
    -- openssl s_client with the same certificate: the server refuses it (unsuitable certificate purpose)
    local so = h.run(("(echo 'GET / HTTP/1.0'; echo; sleep 1) | openssl s_client -quiet -connect 127.0.0.1:%d -cert %s -key %s -CAfile %s 2>&1")
      :format(s.port, h.q(ccert), h.q(ckey), h.q(ca.cert)))
    -- the server's reason is in its log, which it may write after the client has gone
    local ok = pcall(h.wait_until, function() return (so .. h.read(s.log)):find("unsuitable certificate purpose", 1, true) end,
      "the server's verify error", 10)
    assert.is_true(ok, "no 'unsuitable certificate purpose' in: " .. so .. h.read(s.log))
    assert.not_matches("HTTP/1.0 200", so)
    local out, rc = cb(("vcs tls-check 127.0.0.1:%d --ca %s --peer-address vcs1.example.com --cert %s --key %s"):format(
      s.port, h.q(ca.cert), h.q(ccert), h.q(ckey)))
    assert.equal(3, rc, out)
    assert.equal("FAIL", statuses(out)["client certificate"], out)
    assert.matches("no clientAuth", out, 1, true)
    -- a client and server certificate passes
    local k2, c2 = guide_issue(ca, "vcs2.example.com")
    out, rc = cb(("vcs tls-check 127.0.0.1:%d --ca %s --peer-address vcs1.example.com --cert %s --key %s --save-chain %s"):format(
      s.port, h.q(ca.cert), h.q(c2), h.q(k2), h.q(d .. "/presented.pem")))
    assert.equal(0, rc, out)
    assert.equal("PASS", statuses(out)["client certificate"], out)
    -- the saved chain is what openssl s_client -showcerts sees, in the same order
    local shown = h.run(("echo | openssl s_client -showcerts -connect 127.0.0.1:%d -cert %s -key %s -CAfile %s 2>/dev/null"):format(
      s.port, h.q(c2), h.q(k2), h.q(ca.cert)))
    local blocks = {}
    for b in shown:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-\n.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n") do blocks[#blocks + 1] = b end
    assert.is_true(#blocks >= 1)
    assert.equal(table.concat(blocks), h.read(d .. "/presented.pem"))
    assert.matches(": OK", ossl(("verify -CAfile %s %s"):format(h.q(ca.cert), h.q(d .. "/presented.pem"))))
    -- not replaced without --force
    out, rc = cb(("vcs tls-check 127.0.0.1:%d --ca %s --peer-address vcs1.example.com --cert %s --key %s --save-chain %s"):format(
      s.port, h.q(ca.cert), h.q(c2), h.q(k2), h.q(d .. "/presented.pem")))
    assert.equal(3, rc, out)
    assert.matches("exists", out)
  end)

  it("with --crl, our own client certificate revoked by it fails, as a peer checking revocation refuses it", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    local skey, scert = guide_issue(ca, "vcs1.example.com")
    local ckey, ccert = guide_issue(ca, "vcs2.example.com")
    local gkey, gcert = guide_issue(ca, "vcs3.example.com")
    ossl(("ca -config %s -passin %s -revoke %s -crl_reason keyCompromise"):format(h.q(ca.cnf), ca.pass, h.q(ccert)))
    ossl(("ca -config %s -passin %s -gencrl -out %s"):format(h.q(ca.cnf), ca.pass, h.q(d .. "/ca.crl")))
    -- a peer that checks revocation refuses the revoked client certificate (openssl s_server -crl_check)
    local strict = s_server(scert, skey, ("-CAfile %s -CRL %s -crl_check -Verify 2 -verify_return_error")
      :format(h.q(ca.cert), h.q(d .. "/ca.crl")))
    local so = h.run(("(echo 'GET / HTTP/1.0'; echo; sleep 1) | openssl s_client -quiet -connect 127.0.0.1:%d -cert %s -key %s -CAfile %s 2>&1")
      :format(strict.port, h.q(ccert), h.q(ckey), h.q(ca.cert)))
    assert.not_matches("HTTP/1.0 200", so)
    assert.matches("certificate revoked", so .. h.read(strict.log))
    -- tls-check against a peer that does not: the handshake passes, the CRL given says why it would not
    local s = s_server(scert, skey, "-CAfile " .. h.q(ca.cert) .. " -Verify 2 -verify_return_error")
    local base = ("vcs tls-check 127.0.0.1:%d --ca %s --peer-address vcs1.example.com --crl %s"):format(s.port, h.q(ca.cert), h.q(d .. "/ca.crl"))
    local out, rc = cb(("%s --cert %s --key %s"):format(base, h.q(ccert), h.q(ckey)))
    assert.equal(3, rc, out)
    assert.matches("FAIL  revocation (CRL)         our client certificate vcs2.example.com (" .. ccert .. "): revoked ", out, 1, true)
    assert.matches("(keyCompromise): a peer that checks revocation refuses it", out, 1, true)
    out, rc = cb(("%s --cert %s --key %s"):format(base, h.q(gcert), h.q(gkey)))
    assert.equal(0, rc, out)
    assert.not_matches("our client certificate", out, 1, true)
  end)

  it("--fetch takes the CRL from the distribution point (127.0.0.1), --fallback decides when there is none", function()
    local d = h.tmpdir()
    local srv = aia_pki(d)
    started[#started + 1] = srv
    gencrl(d, "inter", d .. "/leaf.pem")
    h.sh(("cat %s/inter.pem %s/root.pem > %s/ca.pem"):format(d, d, d))
    local s = s_server(d .. "/leaf.pem", d .. "/leaf.key", "-cert_chain " .. h.q(d .. "/inter.pem"))
    local base = ("vcs tls-check 127.0.0.1:%d --ca %s/ca.pem --peer-address vcs.example.com"):format(s.port, d)
    local out, rc = cb(base .. " --fetch")
    assert.equal(3, rc, out)
    assert.matches("FAIL  revocation %(CRL%)%s+the peer's certificate: revoked", out)
    -- openssl agrees with the CRL served
    local o, orc = h.openssl(("verify -crl_check -CAfile %s/ca.pem -CRLfile %s/www/inter.crl %s/leaf.pem"):format(d, d, d))
    assert.not_equal(0, orc)
    assert.matches("certificate revoked", o)
    -- no CRL to be had (the server is gone): a warning, or the fallback's verdict
    servers.stop(srv)
    out, rc = cb(base .. " --fetch --timeout 5")
    assert.equal(0, rc, out)
    assert.matches("WARN  revocation %(CRL%)[^\n]*fallback behavior decides", out)
    out, rc = cb(base .. " --fetch --timeout 5 --fallback revoked")
    assert.equal(3, rc, out)
    assert.matches("treated as revoked", out, 1, true)
    out, rc = cb(base .. " --fetch --timeout 5 --fallback not-revoked")
    assert.equal(0, rc, out)
    assert.matches("treated as not revoked", out, 1, true)
  end)
end)

describe("ca issue --crl-url/--ocsp-url (guide: CRL sources, Configuring revocation checking for SIP TLS)", function()
  local started = {}
  after_each(function() for _, s in ipairs(started) do servers.stop(s) end started = {} end)

  it("the URLs go in the certificate; crl check --fetch and ocsp check find the revocation there, as openssl does", function()
    local d = h.tmpdir()
    h.sh("mkdir -p " .. h.q(d .. "/www"))
    local www = servers.http(d .. "/www")
    started[#started + 1] = www
    local oport = servers.free_port()
    local crl_url, ocsp_url = ("http://127.0.0.1:%d/root.crl"):format(www.port), ("http://127.0.0.1:%d/"):format(oport)
    local out, rc = cb(("ca init %s/ca --no-encrypt --subject /CN=URL-Root"):format(d))
    assert.equal(0, rc, out)
    out, rc = cb(("vcs csr --fqdn vcs1.example.com --out-dir %s/r"):format(d))
    assert.equal(0, rc, out)
    out, rc = cb(("ca issue %s/ca --csr %s/r/request.pem --profile vcs-server --crl-url %s --ocsp-url %s --out %s/leaf.pem")
      :format(d, d, crl_url, ocsp_url, d))
    assert.equal(0, rc, out)
    local text = ossl(("x509 -in %s/leaf.pem -noout -text"):format(d))
    assert.matches("URI:" .. crl_url, text, 1, true)
    assert.matches("OCSP - URI:" .. ocsp_url, text, 1, true)
    out, rc = cb(("ca issue %s/ca --csr %s/r/request.pem --profile vcs-server --crl-url ftp.example.com"):format(d, d))
    assert.equal(2, rc, out)
    assert.matches("--crl-url: 'ftp.example.com' is not an http(s)", out, 1, true)
    out, rc = cb(("ca revoke %s/ca --cert %s/leaf.pem --reason keyCompromise"):format(d, d))
    assert.equal(0, rc, out)
    out, rc = cb(("ca gencrl %s/ca --der --out %s/www/root.crl"):format(d, d))
    assert.equal(0, rc, out)
    local o, orc = h.openssl(("verify -crl_check -CAfile %s/ca/cacert.pem -CRLfile %s/www/root.crl %s/leaf.pem"):format(d, d, d))
    assert.not_equal(0, orc)
    assert.matches("certificate revoked", o)
    out, rc = cb(("crl check %s/leaf.pem --chain %s/ca/cacert.pem --fetch --timeout 10"):format(d, d))
    assert.equal(3, rc, out)
    assert.matches("REVOKED", out, 1, true)
    started[#started + 1] = servers.ocsp(d .. "/ca/index.txt", oport, d .. "/ca/cacert.pem", d .. "/ca/private/cakey.pem", d .. "/ocsp.log")
    out, rc = cb(("ocsp check %s/leaf.pem --issuer %s/ca/cacert.pem --timeout 10"):format(d, d))
    assert.equal(3, rc, out)
    assert.matches("REVOKED on [%dTZ:-]+ %(keyCompromise%)", out)
    assert.matches("responder    " .. ocsp_url, out, 1, true)
  end)
end)

describe("ca adopt (guide: Operating as a Certificate Authority using OpenSSL)", function()
  it("the guide's CA and openssl.cnf: certbench and openssl ca -config keep issuing from the same folder, both ways", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    -- the guide's first steps made the folder and issued one certificate already
    guide_issue(ca, "vcs0.example.com")
    local out, rc = cb(("ca init %s/x --key %s --subject /CN=x"):format(d, h.q(ca.key)))
    assert.equal(2, rc, out)
    assert.matches("ca adopt", out, 1, true)
    out, rc = cb(("ca issue %s/demoCA --csr %s/vcs0.example.com.csr"):format(d, d))
    assert.equal(1, rc, out)
    assert.matches("ca adopt", out, 1, true)
    -- adopted: the dir comes from the config; the key stays encrypted as given
    out, rc = cb(("ca adopt --config %s --passin %s"):format(h.q(ca.cnf), ca.pass))
    assert.equal(0, rc, out)
    assert.matches("kept " .. d .. "/demoCA/index.txt", out, 1, true)
    assert.equal(h.read(ca.key), h.read(d .. "/demoCA/private/cakey.pem"))
    assert.equal("600", mode_of(d .. "/demoCA/private/cakey.pem"))
    assert.matches("ENCRYPTED", h.read(d .. "/demoCA/private/cakey.pem"))
    -- certbench issues with the config's policy, extensions and digest; the serial goes on
    local req = openssl_csr(d, "vcs1", "/C=NO/O=net2/CN=vcs1.example.com",
      { "extendedKeyUsage=serverAuth,clientAuth", "subjectAltName=DNS:vcs1.example.com" })
    out, rc = cb(("ca issue %s/demoCA --csr %s --out %s/vcs1.pem --passin %s"):format(d, h.q(req), d, ca.pass))
    assert.equal(0, rc, out)
    assert.matches("issued serial 1001", out, 1, true)
    local text = ossl("x509 -noout -text -in " .. h.q(d .. "/vcs1.pem"))
    assert.matches("Signature Algorithm: sha256WithRSAEncryption", text, 1, true)
    assert.matches("CA:FALSE", text, 1, true)
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    assert.matches("DNS:vcs1.example.com", text, 1, true)
    assert.matches(": OK", ossl(("verify -CAfile %s %s"):format(h.q(ca.cert), h.q(d .. "/vcs1.pem"))))
    -- the policy says O must match the CA's: refused as openssl ca refuses it
    local bad = openssl_csr(d, "bad", "/C=NO/O=other/CN=bad.example.com")
    out, rc = cb(("ca issue %s/demoCA --csr %s --passin %s"):format(d, h.q(bad), ca.pass))
    assert.not_equal(0, rc, out)
    assert.matches("organizationName", out, 1, true)
    local _, orc = h.openssl(("ca -batch -config %s -passin %s -in %s -out %s/bad.pem"):format(h.q(ca.cnf), ca.pass, h.q(bad), d))
    assert.not_equal(0, orc)
    -- openssl ca goes on from the same folder, then certbench again
    local _, c2 = guide_issue(ca, "vcs2.example.com")
    assert.matches("serial=1002", ossl("x509 -noout -serial -in " .. h.q(c2)))
    local req3 = openssl_csr(d, "vcs3", "/C=NO/O=net2/CN=vcs3.example.com", { "extendedKeyUsage=serverAuth,clientAuth" })
    out, rc = cb(("ca issue %s/demoCA --csr %s --out %s/vcs3.pem --passin %s"):format(d, h.q(req3), d, ca.pass))
    assert.equal(0, rc, out)
    assert.matches("serial=1003", ossl("x509 -noout -serial -in " .. h.q(d .. "/vcs3.pem")))
    local index = h.read(d .. "/demoCA/index.txt")
    for _, n in ipairs { "1000", "1001", "1002", "1003" } do assert.matches("\t" .. n .. "\tunknown\t", index, 1, true) end
    -- revocation and the CRL both ways
    out, rc = cb(("ca revoke %s/demoCA --serial 1001 --reason keyCompromise"):format(d))
    assert.equal(0, rc, out)
    ossl(("ca -config %s -passin %s -gencrl -out %s/ca.crl"):format(h.q(ca.cnf), ca.pass, d))
    local o2, vrc = h.openssl(("verify -crl_check -CAfile %s -CRLfile %s/ca.crl %s/vcs1.pem"):format(h.q(ca.cert), d, d))
    assert.not_equal(0, vrc)
    assert.matches("certificate revoked", o2)
  end)

  it("the stock openssl.cnf paths the guide bypassed with -cert ca.crt -keyfile ca.key: adopt names the option to give", function()
    local d = h.tmpdir()
    local ca = guide_ca(d)
    -- the stock [CA_default]: $dir/cacert.pem and $dir/private/cakey.pem, which the guide never made
    local cnf = h.read(ca.cnf):gsub("certificate = [^\n]*", "certificate = $dir/cacert.pem")
      :gsub("private_key = [^\n]*", "private_key = $dir/private/cakey.pem")
    h.write(ca.cnf, cnf)
    local out, rc = cb(("ca adopt --config %s --passin %s"):format(h.q(ca.cnf), ca.pass))
    assert.equal(2, rc, out)
    assert.matches("certbench: ca adopt: " .. ca.cnf .. ": certificate = " .. d .. "/demoCA/cacert.pem does not exist: "
      .. "give the CA's file with --cert (the guide's ca.crt)\n", out, 1, true)
    out, rc = cb(("ca adopt --config %s --cert %s --passin %s"):format(h.q(ca.cnf), h.q(ca.cert), ca.pass))
    assert.equal(2, rc, out)
    assert.matches("private_key = " .. d .. "/demoCA/private/cakey.pem does not exist: give the CA's file with --key", out, 1, true)
    assert.is_nil(io.open(d .. "/demoCA/cacert.pem")) -- nothing written
    out, rc = cb(("ca adopt --config %s --cert %s --key %s --passin %s"):format(h.q(ca.cnf), h.q(ca.cert), h.q(ca.key), ca.pass))
    assert.equal(0, rc, out)
    -- now the config's own paths exist: openssl ca -config issues without -cert/-keyfile
    local _, c1 = guide_issue(ca, "vcs1.example.com")
    assert.matches(": OK", ossl(("verify -CAfile %s %s"):format(h.q(d .. "/demoCA/cacert.pem"), h.q(c1))))
  end)

  it("a key and certificate alone: a new folder; --passout re-encrypts; a key of another certificate is refused", function()
    local d = h.tmpdir()
    ossl(("genrsa -aes256 -passout pass:old -out %s/ca.key 2048"):format(d))
    ossl(("req -new -x509 -key %s/ca.key -passin pass:old -sha256 -subj /CN=Lab-CA -days 365 -addext basicConstraints=critical,CA:TRUE "
      .. "-addext keyUsage=critical,keyCertSign,cRLSign -out %s/ca.crt"):format(d, d))
    local out, rc = cb(("ca adopt %s/lab --key %s/ca.key --cert %s/ca.crt --passin pass:old --passout pass:new"):format(d, d, d))
    assert.equal(0, rc, out)
    -- openssl reads the re-encrypted key with the new password only
    ossl(("pkey -in %s/lab/private/cakey.pem -passin pass:new -noout"):format(d))
    local _, prc = h.openssl(("pkey -in %s/lab/private/cakey.pem -passin pass:old -noout"):format(d))
    assert.not_equal(0, prc)
    local req = openssl_csr(d, "srv", "/CN=srv.example.com", { "extendedKeyUsage=serverAuth" })
    out, rc = cb(("ca issue %s/lab --csr %s --out %s/srv.pem --passin pass:new"):format(d, h.q(req), d))
    assert.equal(0, rc, out)
    assert.matches(": OK", ossl(("verify -CAfile %s/ca.crt %s/srv.pem"):format(d, d)))
    -- openssl ca in the folder certbench made, with the folder's own files
    h.write(d .. "/lab.cnf", ("[ ca ]\ndefault_ca = c\n[ c ]\ndir = %s/lab\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\n"
      .. "certificate = $dir/cacert.pem\nprivate_key = $dir/private/cakey.pem\nserial = $dir/serial\ndefault_md = sha256\n"
      .. "default_days = 30\npolicy = p\n[ p ]\ncommonName = supplied\n"):format(d))
    local req2 = openssl_csr(d, "srv2", "/CN=srv2.example.com")
    ossl(("ca -batch -config %s/lab.cnf -passin pass:new -in %s -out %s/srv2.pem"):format(d, h.q(req2), d))
    assert.matches(": OK", ossl(("verify -CAfile %s/ca.crt %s/srv2.pem"):format(d, d)))
    local out2, rc2 = cb(("ca list %s/lab"):format(d))
    assert.equal(0, rc2, out2)
    assert.matches("srv2.example.com", out2, 1, true)
    -- a key that does not go with the certificate
    ossl(("genrsa -out %s/other.key 2048"):format(d))
    out, rc = cb(("ca adopt %s/lab2 --key %s/other.key --cert %s/ca.crt"):format(d, d, d))
    assert.equal(1, rc, out)
    assert.matches("is not the key of", out, 1, true)
  end)
end)
