-- tests/interop/vcs_spec.lua: the vcs plugin with the openssl CLI, both ways: requests certbench
-- writes are signed by openssl (x509 -req, ca) and the result passes `vcs check`; files made the
-- ways the VCS guide shows (OpenSSL only, a Microsoft CA's PFX, a DER .cer) get the verdicts the
-- appliance would give them.
local h = require "support.helper"

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

local function cb(args)
  return h.certbench(args)
end

local function statuses(out)
  local t = {}
  for st, title in out:gmatch("(%u%u%u%u)  ([%w %-]-)%s%s+") do t[title] = st end
  return t
end

-- an openssl CA: key, self-signed certificate, openssl ca folder
local function openssl_ca(dir, digest)
  digest = digest or "sha256"
  h.run("mkdir -p " .. h.q(dir .. "/demoCA/newcerts"))
  h.write(dir .. "/demoCA/index.txt", "")
  h.write(dir .. "/demoCA/serial", "1000\n")
  h.write(dir .. "/ca.cnf", ([[
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %s/demoCA
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = %s
default_days = 365
policy = policy_any
copy_extensions = copy
x509_extensions = server_ext
[ policy_any ]
commonName = supplied
countryName = optional
organizationName = optional
organizationalUnitName = optional
localityName = optional
[ server_ext ]
basicConstraints = CA:FALSE
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ req ]
distinguished_name = dn
[ dn ]
]]):format(dir, digest))
  ossl(("req -x509 -new -newkey rsa:2048 -nodes -%s -keyout %s -out %s -subj /DC=int/DC=net2/CN=net2-CA -days 3650 "
    .. "-config %s -extensions v3_ca"):format(digest, h.q(dir .. "/ca.key"), h.q(dir .. "/ca.crt"), h.q(dir .. "/ca.cnf")))
  return { cnf = dir .. "/ca.cnf", key = dir .. "/ca.key", cert = dir .. "/ca.crt" }
end

describe("vcs csr -> openssl", function()
  it("openssl x509 -req signs the request, copying its extensions, and vcs check passes the result", function()
    local d = h.tmpdir()
    local ca = openssl_ca(d .. "/ca")
    local out, rc = cb("vcs csr --cluster cluster.net2.int --peer vcs1.net2.int --peer vcs2.net2.int --out-dir "
      .. h.q(d .. "/req") .. " --subject /C=NO/L=Oslo/O=net2/OU=ast")
    assert.equal(0, rc, out)
    local pd = d .. "/req/vcs1.net2.int"
    local text = ossl("req -in " .. h.q(pd .. "/request.der") .. " -inform DER -noout -text -verify")
    assert.matches("Subject: C = NO, L = Oslo, O = net2, OU = ast, CN = vcs1.net2.int", text, 1, true)
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    assert.matches("DNS:vcs1.net2.int, DNS:cluster.net2.int", text, 1, true)
    assert.matches("sha256WithRSAEncryption", text, 1, true)
    ossl(("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 365 -sha256 -copy_extensions copy -out %s")
      :format(h.q(pd .. "/request.pem"), h.q(ca.cert), h.q(ca.key), h.q(pd .. "/server.pem")))
    out, rc = cb(("vcs check --key %s --cert %s --ca %s --cluster cluster.net2.int --peer vcs1.net2.int --peer vcs2.net2.int")
      :format(h.q(pd .. "/privkey.pem"), h.q(pd .. "/server.pem"), h.q(ca.cert)))
    assert.equal(0, rc, out)
    assert.matches("0 failed: ready to upload", out, 1, true)
    local st = statuses(out)
    assert.equal("PASS", st["names"])
    assert.equal("PASS", st["extended key usage"])
    assert.equal("PASS", st["chain to a root"])
  end)

  it("openssl ca signs the DER request of a standalone server (certreq's input) and vcs check passes it", function()
    local d = h.tmpdir()
    local ca = openssl_ca(d .. "/ca")
    local out, rc = cb("vcs csr --fqdn vcs.net2.int --san-fqdn --key ec:P-256 --out-dir " .. h.q(d .. "/req"))
    assert.equal(0, rc, out)
    ossl(("req -in %s -inform DER -out %s"):format(h.q(d .. "/req/request.der"), h.q(d .. "/req.pem")))
    ossl(("ca -batch -config %s -cert %s -keyfile %s -in %s -out %s -notext")
      :format(h.q(ca.cnf), h.q(ca.cert), h.q(ca.key), h.q(d .. "/req.pem"), h.q(d .. "/server.pem")))
    out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.net2.int")
      :format(h.q(d .. "/req/privkey.pem"), h.q(d .. "/server.pem"), h.q(ca.cert)))
    assert.equal(0, rc, out)
    assert.matches("PASS  names                    CN vcs.net2.int, SAN vcs.net2.int", out, 1, true)
    -- openssl reads the key certbench wrote without a password
    ossl("pkey -noout -in " .. h.q(d .. "/req/privkey.pem") .. " -passin pass:")
  end)
end)

describe("vcs check on files made as the guide shows", function()
  it("the OpenSSL-only path of 2013 (Appendix 2: -sha1, no EKU) fails on SHA-1, warns on the EKU", function()
    local d = h.tmpdir()
    local ca = openssl_ca(d .. "/ca", "sha1")
    h.write(d .. "/openssl_vcs.cfg", [[
[ req ]
distinguished_name = dn
req_extensions = v3_req
[ dn ]
[ v3_req ]
subjectAltName="DNS:cluster.net2.int,DNS:vcs1.net2.int,DNS:vcs2.net2.int"
]])
    ossl("genrsa -out " .. h.q(d .. "/privatekey.pem") .. " 2048")
    ossl(("req -new -key %s -config %s -out %s -outform DER -sha1 -subj /C=NO/O=net2/CN=cluster.net2.int")
      :format(h.q(d .. "/privatekey.pem"), h.q(d .. "/openssl_vcs.cfg"), h.q(d .. "/certcsr.der")))
    ossl(("req -in %s -inform DER -out %s"):format(h.q(d .. "/certcsr.der"), h.q(d .. "/certcsr.pem")))
    ossl(("ca -batch -outdir %s -config %s -cert %s -keyfile %s -in %s -out %s -md sha1 -notext")
      :format(h.q(d), h.q(ca.cnf), h.q(ca.cert), h.q(ca.key), h.q(d .. "/certcsr.pem"), h.q(d .. "/server.pem")))
    local out, rc = cb(("vcs check --key %s --cert %s --ca %s --cluster cluster.net2.int --mode shared --peer vcs1.net2.int --peer vcs2.net2.int")
      :format(h.q(d .. "/privatekey.pem"), h.q(d .. "/server.pem"), h.q(ca.cert)))
    assert.equal(3, rc, out)
    local st = statuses(out)
    assert.equal("FAIL", st["key size and signatures"])
    assert.matches("signed with SHA%-1 %(sha1WithRSAEncryption%)", out)
    assert.matches("harmless", out, 1, true) -- the root's own SHA-1 self-signature
    assert.equal("WARN", st["extended key usage"])
    assert.equal("PASS", st["names"])
    assert.equal("PASS", st["key password"])
  end)

  it("a Microsoft CA's PFX through `openssl pkcs12 -in` and a text editor: the encrypted key fails until decrypted", function()
    local d = h.tmpdir()
    local ca = openssl_ca(d .. "/ca")
    -- the "Web Server" template: serverAuth only
    h.write(d .. "/web.ext", "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:vcs.net2.int\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /C=NO/L=Oslo/O=net2/OU=ast/CN=vcs.net2.int")
      :format(h.q(d .. "/k.pem"), h.q(d .. "/r.pem")))
    ossl(("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 365 -extfile %s -out %s")
      :format(h.q(d .. "/r.pem"), h.q(ca.cert), h.q(ca.key), h.q(d .. "/web.ext"), h.q(d .. "/c.pem")))
    ossl(("pkcs12 -export -inkey %s -in %s -certfile %s -name vcs-certificate -passout pass:pfxpw -out %s")
      :format(h.q(d .. "/k.pem"), h.q(d .. "/c.pem"), h.q(ca.cert), h.q(d .. "/cert_inf.pfx")))
    -- the guide: openssl pkcs12 -in cert_inf.pfx -out cert_inf.pem, then cut it into three files
    ossl(("pkcs12 -in %s -passin pass:pfxpw -passout pass:pempw -out %s"):format(h.q(d .. "/cert_inf.pfx"), h.q(d .. "/cert_inf.pem")))
    local pem = h.read(d .. "/cert_inf.pem")
    local key = pem:match("(Bag Attributes.-%-%-%-%-%-END ENCRYPTED PRIVATE KEY%-%-%-%-%-\n)")
    assert.truthy(key, pem)
    h.write(d .. "/priv_e.pem", key)
    h.run("chmod 600 " .. h.q(d .. "/priv_e.pem"))
    local out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.net2.int")
      :format(h.q(d .. "/priv_e.pem"), h.q(d .. "/c.pem"), h.q(ca.cert)))
    assert.equal(3, rc, out)
    local st = statuses(out)
    assert.equal("FAIL", st["key password"])
    assert.equal("FAIL", st["extended key usage"])
    assert.matches("no clientAuth", out, 1, true)
    -- what the guide does with `openssl rsa -in priv_e.pem -out priv.pem`
    out, rc = cb(("pfx decrypt-key %s --out %s --passin pass:pempw"):format(h.q(d .. "/priv_e.pem"), h.q(d .. "/priv.pem")))
    assert.equal(0, rc, out)
    out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.net2.int --no-mutual-tls")
      :format(h.q(d .. "/priv.pem"), h.q(d .. "/c.pem"), h.q(ca.cert)))
    assert.equal(0, rc, out)
    st = statuses(out)
    assert.equal("PASS", st["key password"])
    assert.equal("PASS", st["key matches certificate"])
    assert.equal("WARN", st["extended key usage"])
  end)

  it("a DER .cer from Windows fails the format check until converted (Appendix 4)", function()
    local d = h.tmpdir()
    local ca = openssl_ca(d .. "/ca")
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /CN=vcs.net2.int -addext extendedKeyUsage=serverAuth,clientAuth")
      :format(h.q(d .. "/privkey.pem"), h.q(d .. "/r.pem")))
    ossl(("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 365 -copy_extensions copy -outform DER -out %s")
      :format(h.q(d .. "/r.pem"), h.q(ca.cert), h.q(ca.key), h.q(d .. "/server.cer")))
    ossl(("x509 -in %s -outform DER -out %s"):format(h.q(ca.cert), h.q(d .. "/certnew.cer")))
    local out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.net2.int")
      :format(h.q(d .. "/privkey.pem"), h.q(d .. "/server.cer"), h.q(d .. "/certnew.cer")))
    assert.equal(3, rc, out)
    assert.matches("certbench convert file " .. d .. "/server.cer --to pem", out, 1, true)
    local st = statuses(out)
    assert.equal("FAIL", st["certificate file"])
    assert.equal("FAIL", st["CA file"])
    assert.equal("PASS", st["key matches certificate"])
    for _, f in ipairs { "server.cer", "certnew.cer" } do
      local o, r = cb("convert file " .. h.q(d .. "/" .. f) .. " --to pem")
      assert.equal(0, r, o)
    end
    out, rc = cb(("vcs check --key %s --cert %s --ca %s --fqdn vcs.net2.int")
      :format(h.q(d .. "/privkey.pem"), h.q(d .. "/server.pem"), h.q(d .. "/certnew.pem")))
    assert.equal(0, rc, out)
  end)
end)
