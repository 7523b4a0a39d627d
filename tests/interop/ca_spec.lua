-- The ca plugin and the openssl 3 CLI on the same real folders, both ways:
--   a CA made by `certbench ca init`, continued by `openssl ca` (issue, revoke, gencrl), then by
--   certbench again; a demoCA made by `openssl req -x509` + `openssl ca`, continued by certbench,
--   then by openssl again. After each step `openssl ca -status`, `openssl verify -crl_check`
--   and certbench agree on every serial, and every index line is what openssl writes for its
--   certificate (subject in X509_NAME_oneline form = `openssl x509 -nameopt compat`).
--   The same for an intermediate CA chain (root -> sub-CA -> leaves, -crl_check_all).
local h = require "support.helper"
local ch = require "support.ca"
local fs = require "certbench.fs"
local x509 = require "certbench.x509"
local db = require "certbench.plugins.ca.db"
local cjson = require "cjson"

local PW = "interop-pw"

-- an openssl ca config for the folder dir
local function config(dir, extra)
  local path = dir .. ".cnf"
  h.write(path, string.format([[
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/cacert.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
private_key = $dir/private/cakey.pem
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
copy_extensions = copy
x509_extensions = usr_cert
crl_extensions = crl_ext
preserve = yes
[ policy_any ]
countryName = optional
stateOrProvinceName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
[ usr_cert ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid:always
%s
]], dir, extra or ""))
  return path
end

local function ossl(args)
  local out, rc = h.openssl(args)
  assert.equal(0, rc, "openssl " .. args .. "\n" .. out)
  return out
end

local function cb(args)
  local out, rc = h.certbench(args)
  assert.equal(0, rc, "certbench " .. args .. "\n" .. out)
  return out
end

local n = 0
local function csr_file(tmp, subject, san)
  n = n + 1
  local path = tmp .. "/req" .. n .. ".pem"
  h.write(path, ch.request(subject, san))
  return path
end

-- openssl's view of one serial: "valid", "revoked", "expired" or "missing"
local function openssl_status(cnf, serial)
  local out = h.openssl("ca -config " .. h.q(cnf) .. " -status " .. serial)
  if out:find("=Valid (V)", 1, true) then return "valid" end
  if out:find("=Revoked (R)", 1, true) then return "revoked" end
  if out:find("=Expired (E)", 1, true) then return "expired" end
  if out:find("not present in db", 1, true) then return "missing" end
  error("openssl ca -status " .. serial .. ": " .. out)
end

-- the line openssl writes for a certificate, from the certificate alone
local function openssl_line_fields(certfile)
  local subject = ossl("x509 -in " .. h.q(certfile) .. " -noout -subject -nameopt compat"):match("^subject=(.-)\n$")
  local serial = ossl("x509 -in " .. h.q(certfile) .. " -noout -serial"):match("^serial=(%x+)")
  return subject, serial
end

-- agree(dir, cnf, crlfile[, chain]): for every serial of index.txt, certbench status, openssl ca
-- -status and openssl verify -crl_check say the same; every line matches its certificate
local function agree(dir, cnf, crlfile, opts)
  opts = opts or {}
  local st = ch.check(dir, { parse_all = true })
  assert.is_true(st.count > 0)
  local counts = { valid = 0, revoked = 0 }
  for _, e in ipairs(st.entries) do
    local out, rc = h.certbench("--json ca status " .. h.q(dir) .. " " .. e.key)
    local mine = cjson.decode(out:match("{.*}")).status
    assert.equal(mine == "valid" and 0 or 3, rc)
    assert.equal(mine, openssl_status(cnf, e.serial), "serial " .. e.key)
    local file = dir .. "/newcerts/" .. e.key .. ".pem"
    local subject, serial = openssl_line_fields(file)
    assert.equal(subject, e.subject, "the index subject of " .. e.key)
    assert.equal(serial, e.serial, "the index serial of " .. e.key)
    local vout, vrc = h.openssl("verify -CAfile " .. h.q(opts.root or (dir .. "/cacert.pem"))
      .. (opts.untrusted and (" -untrusted " .. h.q(opts.untrusted)) or "")
      .. (opts.untrusted and " -crl_check_all" or " -crl_check") .. " -CRLfile " .. h.q(crlfile)
      .. (opts.crl2 and (" -CRLfile " .. h.q(opts.crl2)) or "") .. " " .. h.q(file))
    if mine == "valid" then
      assert.equal(0, vrc, vout)
      assert.matches(": OK\n$", vout)
    else
      assert.are_not.equal(0, vrc)
      assert.matches("certificate revoked", vout, 1, true)
    end
    counts[mine] = counts[mine] + 1
  end
  return counts
end

describe("ca interop: a certbench CA continued by openssl ca, then by certbench", function()
  it("issues, revokes and makes CRLs in turns; status and verify agree on every serial", function()
    local tmp = h.tmpdir()
    local dir = tmp .. "/ca"
    cb("ca init " .. h.q(dir) .. " --subject '/C=NO/O=net2/CN=net2 Root CA' --key ec:P-256 --passout pass:" .. PW)
    local cnf = config(dir)
    -- certbench first
    cb("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=cb1.example.com", { "DNS:cb1.example.com" })) .. " --passin pass:" .. PW)
    cb("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr_file(tmp, { { "C", "NO" }, { "O", "Bjørn/Slash+plus" }, { "CN", "utf8.example.com" } })) .. " --passin pass:" .. PW)
    -- openssl continues: it reads certbench's key, serial, index.txt, index.txt.attr, crlnumber
    for i = 1, 3 do
      ossl("ca -batch -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -in "
        .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=os" .. i .. ".example.com", { "DNS:os" .. i .. ".example.com" })) .. " -out " .. h.q(tmp .. "/os" .. i .. ".pem"))
    end
    local st = ch.check(dir, { parse_all = true })
    assert.equal(5, st.count)
    -- openssl rewrote index.txt: certbench's lines are unchanged byte for byte
    local lines = {}
    for l in h.read(dir .. "/index.txt"):gmatch("[^\n]+\n") do lines[#lines + 1] = l end
    assert.equal(db.format_line(st.entries[1]), lines[1])
    assert.equal(db.format_line(st.entries[2]), lines[2])
    ossl("ca -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -revoke " .. h.q(tmp .. "/os1.pem") .. " -crl_reason keyCompromise")
    ossl("ca -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -revoke " .. h.q(dir .. "/newcerts/" .. st.entries[1].key .. ".pem") .. " -crl_reason superseded")
    ossl("ca -gencrl -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -out " .. h.q(tmp .. "/openssl.crl"))
    assert.equal("02\n", h.read(dir .. "/crlnumber"))
    local c1 = agree(dir, cnf, tmp .. "/openssl.crl")
    assert.same({ valid = 3, revoked = 2 }, c1)
    -- certbench continues
    local out = cb("--json ca list " .. h.q(dir) .. " --status revoked")
    assert.equal(2, cjson.decode(out).count)
    cb("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=cb3.example.com")) .. " --passin pass:" .. PW)
    cb("ca revoke " .. h.q(dir) .. " --cert " .. h.q(tmp .. "/os2.pem") .. " --reason cessationOfOperation")
    out = cb("--json ca gencrl " .. h.q(dir) .. " --passin pass:" .. PW .. " --out " .. h.q(tmp .. "/cb.crl"))
    assert.equal("02", cjson.decode(out).number)
    assert.equal("03\n", h.read(dir .. "/crlnumber"))
    local text = ossl("crl -in " .. h.q(tmp .. "/cb.crl") .. " -noout -text")
    assert.matches("X509v3 CRL Number: %s*\n%s*2\n", text)
    assert.matches("Key Compromise", text, 1, true)
    assert.matches("Superseded", text, 1, true)
    assert.matches("Cessation Of Operation", text, 1, true)
    ossl("crl -in " .. h.q(tmp .. "/cb.crl") .. " -noout -CAfile " .. h.q(dir .. "/cacert.pem"))
    local c2 = agree(dir, cnf, tmp .. "/cb.crl")
    assert.same({ valid = 3, revoked = 3 }, c2)
    -- and openssl once more, on what certbench left
    ossl("ca -batch -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -in " .. h.q(csr_file(tmp, "/C=NO/CN=os4.example.com")) .. " -out " .. h.q(tmp .. "/os4.pem"))
    ossl("ca -gencrl -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -out " .. h.q(tmp .. "/openssl2.crl"))
    local c3 = agree(dir, cnf, tmp .. "/openssl2.crl")
    assert.same({ valid = 4, revoked = 3 }, c3)
    -- -updatedb marks nothing here, and certbench reads an E line it makes
    ossl("ca -config " .. h.q(cnf) .. " -updatedb -passin pass:" .. PW)
    ch.check(dir)
  end)
end)

describe("ca interop: an openssl demoCA continued by certbench, then by openssl", function()
  it("keeps openssl's serials, index lines (unique_subject = yes) and crlnumber going", function()
    local tmp = h.tmpdir()
    local dir = tmp .. "/demoCA"
    fs.mkdir(dir .. "/newcerts")
    fs.mkdir(dir .. "/private")
    h.write(dir .. "/index.txt", "")
    h.write(dir .. "/serial", "1000\n")
    h.write(dir .. "/crlnumber", "1000\n")
    ossl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout " .. h.q(dir .. "/private/cakey.pem")
      .. " -passout pass:" .. PW .. " -out " .. h.q(dir .. "/cacert.pem") .. " -days 3650 -subj '/C=NO/O=net2/CN=openssl Root CA'"
      .. " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign")
    local cnf = config(dir)
    -- openssl issues two (with the text dump before the PEM, as openssl ca does by default) and
    -- revokes one; index.txt.attr says unique_subject = yes, openssl's default
    for i = 1, 2 do
      ossl("ca -batch -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -in "
        .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=os" .. i .. ".example.com")) .. " -out " .. h.q(tmp .. "/os" .. i .. ".pem"))
    end
    assert.equal("unique_subject = yes\n", h.read(dir .. "/index.txt.attr"))
    ossl("ca -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -revoke " .. h.q(tmp .. "/os2.pem"))
    assert.equal("1002\n", h.read(dir .. "/serial"))
    -- certbench continues: serial 1002 onwards
    local out = cb("--json ca issue " .. h.q(dir) .. " --csr " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=cb1.example.com", { "DNS:cb1.example.com" })) .. " --passin pass:" .. PW)
    assert.equal("1002", cjson.decode(out).serial)
    assert.equal("1003\n", h.read(dir .. "/serial"))
    assert.equal("1002\n", h.read(dir .. "/serial.old"))
    -- unique_subject = yes: the same subject as a valid certificate is refused, as openssl would
    local o2, rc2 = h.certbench("ca issue " .. h.q(dir) .. " --csr " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=os1.example.com")) .. " --passin pass:" .. PW)
    assert.equal(1, rc2)
    assert.matches("unique_subject = yes and a valid certificate with the subject /C=NO/O=net2/CN=os1.example.com exists already (serial 1000)", o2, 1, true)
    -- revoke openssl's certificate (its file has the text dump before the PEM)
    cb("ca revoke " .. h.q(dir) .. " --cert " .. h.q(dir .. "/newcerts/1000.pem") .. " --reason affiliationChanged")
    out = cb("--json ca gencrl " .. h.q(dir) .. " --passin pass:" .. PW .. " --out " .. h.q(tmp .. "/cb.crl"))
    assert.equal("1000", cjson.decode(out).number)
    assert.equal("1001\n", h.read(dir .. "/crlnumber"))
    assert.same({ valid = 1, revoked = 2 }, agree(dir, cnf, tmp .. "/cb.crl"))
    -- renew keeps the subject: with unique_subject = yes only with the old one revoked
    local r = cjson.decode(cb("--json ca renew " .. h.q(dir) .. " --serial 1002 --revoke-old --passin pass:" .. PW))
    assert.equal("1003", r.serial)
    -- openssl goes on: serial 1004, CRL 1001, and it accepts the index certbench wrote
    ossl("ca -batch -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -in " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=os3.example.com")) .. " -out " .. h.q(tmp .. "/os3.pem"))
    assert.equal("1004", ossl("x509 -in " .. h.q(tmp .. "/os3.pem") .. " -noout -serial"):match("serial=(%x+)"))
    ossl("ca -gencrl -config " .. h.q(cnf) .. " -passin pass:" .. PW .. " -out " .. h.q(tmp .. "/openssl.crl"))
    assert.matches("CRL Number: %s*\n%s*4097\n", ossl("crl -in " .. h.q(tmp .. "/openssl.crl") .. " -noout -text"))
    assert.same({ valid = 2, revoked = 3 }, agree(dir, cnf, tmp .. "/openssl.crl"))
    -- and certbench reads openssl's rewrite once more
    assert.equal(5, ch.check(dir, { parse_all = true }).count)
  end)

  it("reads lines openssl wrote for hold instructions, key compromise times and expired certificates", function()
    local tmp = h.tmpdir()
    local dir = tmp .. "/demoCA"
    fs.mkdir(dir .. "/newcerts")
    fs.mkdir(dir .. "/private")
    h.write(dir .. "/index.txt", "")
    h.write(dir .. "/serial", "01\n")
    h.write(dir .. "/crlnumber", "01\n")
    h.write(dir .. "/index.txt.attr", "unique_subject = no\n")
    ossl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. h.q(dir .. "/private/cakey.pem")
      .. " -out " .. h.q(dir .. "/cacert.pem") .. " -days 3650 -subj '/CN=Root'")
    local cnf = config(dir)
    for i = 1, 4 do
      local extra = i == 4 and " -startdate 20200101000000Z -enddate 20210101000000Z" or ""
      ossl("ca -batch -notext -config " .. h.q(cnf) .. extra .. " -in " .. h.q(csr_file(tmp, "/CN=h" .. i)) .. " -out " .. h.q(tmp .. "/h" .. i .. ".pem"))
    end
    ossl("ca -config " .. h.q(cnf) .. " -revoke " .. h.q(tmp .. "/h1.pem") .. " -crl_hold holdInstructionCallIssuer")
    ossl("ca -config " .. h.q(cnf) .. " -revoke " .. h.q(tmp .. "/h2.pem") .. " -crl_compromise 20240101000000Z")
    ossl("ca -config " .. h.q(cnf) .. " -updatedb")
    local text = h.read(dir .. "/index.txt")
    assert.matches(",holdInstruction,", text, 1, true)
    assert.matches(",keyTime,20240101000000Z", text, 1, true)
    assert.matches("\nE\t210101000000Z\t", text, 1, true)
    local list = cjson.decode(cb("--json ca list " .. h.q(dir))).certificates
    assert.equal("revoked", list[1].status)
    assert.equal("certificateHold", list[1].reason)
    assert.equal("keyCompromise", list[2].reason)
    assert.equal("valid", list[3].status)
    assert.equal("expired", list[4].status)
    cb("ca revoke " .. h.q(dir) .. " --serial 03")
    -- certbench's CRL: the hold and the compromise time become the entry's reason and
    -- invalidity date; openssl parses it and agrees
    cb("ca gencrl " .. h.q(dir) .. " --out " .. h.q(tmp .. "/cb.crl"))
    local crltext = ossl("crl -in " .. h.q(tmp .. "/cb.crl") .. " -noout -text")
    assert.matches("Certificate Hold", crltext, 1, true)
    assert.matches("Invalidity Date", crltext, 1, true)
    -- only the line of 03 changed
    local before, after = {}, {}
    for l in text:gmatch("[^\n]+") do before[#before + 1] = l end
    for l in h.read(dir .. "/index.txt"):gmatch("[^\n]+") do after[#after + 1] = l end
    assert.equal(#before, #after)
    for i = 1, #before do
      if i == 3 then assert.matches("^R\t%d+Z\t%d+Z\t03\tunknown\t/CN=h3$", after[i])
      else assert.equal(before[i], after[i]) end
    end
    -- openssl reads the index certbench rewrote
    assert.equal("revoked", openssl_status(cnf, "03"))
    assert.equal("expired", openssl_status(cnf, "04"))
  end)
end)

describe("ca interop: an intermediate CA chain", function()
  it("root -> sub-CA -> leaves: openssl verify -crl_check_all accepts the valid and rejects the revoked", function()
    local tmp = h.tmpdir()
    local root, sub = tmp .. "/root", tmp .. "/sub"
    cb("ca init " .. h.q(root) .. " --subject '/C=NO/O=net2/CN=net2 Root CA' --key ec:P-384 --passout pass:" .. PW)
    cb("ca init " .. h.q(sub) .. " --subject '/C=NO/O=net2/CN=net2 Issuing CA' --key ec:P-256 --no-encrypt --sub-ca --parent "
      .. h.q(root) .. " --parent-passin pass:" .. PW)
    local serials = {}
    for i = 1, 4 do
      local out = cb("--json ca issue " .. h.q(sub) .. " --csr " .. h.q(csr_file(tmp, "/C=NO/O=net2/CN=leaf" .. i .. ".example.com", { "DNS:leaf" .. i .. ".example.com" })) .. " --profile server-client")
      serials[i] = cjson.decode(out).serial
    end
    cb("ca revoke " .. h.q(sub) .. " --serial " .. serials[2] .. " --reason keyCompromise")
    cb("ca revoke " .. h.q(sub) .. " --serial " .. serials[4])
    cb("ca gencrl " .. h.q(sub) .. " --out " .. h.q(tmp .. "/sub.crl"))
    cb("ca gencrl " .. h.q(root) .. " --passin pass:" .. PW .. " --out " .. h.q(tmp .. "/root.crl"))
    -- the chain file is the sub-CA and the root
    local chain = assert(x509.load_all(h.read(sub .. "/chain.pem")))
    assert.equal(2, #chain)
    ossl("verify -CAfile " .. h.q(root .. "/cacert.pem") .. " " .. h.q(sub .. "/cacert.pem"))
    local cnf = config(sub)
    local c = agree(sub, cnf, tmp .. "/sub.crl", { root = root .. "/cacert.pem", untrusted = sub .. "/cacert.pem", crl2 = tmp .. "/root.crl" })
    assert.same({ valid = 2, revoked = 2 }, c)
    -- revoking the sub-CA in the root makes every leaf fail
    cb("ca revoke " .. h.q(root) .. " --cert " .. h.q(sub .. "/cacert.pem") .. " --reason CACompromise")
    cb("ca gencrl " .. h.q(root) .. " --passin pass:" .. PW .. " --out " .. h.q(tmp .. "/root2.crl"))
    local out, rc = h.openssl("verify -CAfile " .. h.q(root .. "/cacert.pem") .. " -untrusted " .. h.q(sub .. "/cacert.pem")
      .. " -crl_check_all -CRLfile " .. h.q(tmp .. "/sub.crl") .. " -CRLfile " .. h.q(tmp .. "/root2.crl") .. " "
      .. h.q(sub .. "/newcerts/" .. serials[1] .. ".pem"))
    assert.are_not.equal(0, rc)
    assert.matches("certificate revoked", out, 1, true)
    -- and certbench's own store agrees
    local store = require "certbench.store"
    local crl = require "certbench.crl"
    local s = assert(store.new({ cas = { assert(x509.load(h.read(root .. "/cacert.pem"))) },
      crls = { assert(crl.load(h.read(tmp .. "/sub.crl"))), assert(crl.load(h.read(tmp .. "/root.crl"))) } }))
    local subcert = assert(x509.load(h.read(sub .. "/cacert.pem")))
    assert(s:verify(assert(x509.load(h.read(sub .. "/newcerts/" .. serials[1] .. ".pem"))), { untrusted = { subcert }, crl_check = "all" }))
    local ok, err = s:verify(assert(x509.load(h.read(sub .. "/newcerts/" .. serials[2] .. ".pem"))), { untrusted = { subcert }, crl_check = "all" })
    assert.is_nil(ok)
    assert.matches("revoked", err, 1, true)
  end)
end)

describe("ca interop: issue_many signs on every core", function()
  it("certificates for openssl's requests (EC P-256 and P-384, a compressed point, RSA, Ed25519) verify with openssl and keep the request's key as encoded", function()
    local tmp = h.tmpdir()
    local dir = tmp .. "/ca"
    ch.new_ca(dir, { encrypt = false }):close()
    local kinds = {
      "-newkey ec -pkeyopt ec_paramgen_curve:P-256", "-newkey ec -pkeyopt ec_paramgen_curve:P-384",
      "-newkey rsa:2048", "-newkey ed25519", "compressed",
    }
    local reqs, files = {}, {}
    for i = 1, 10 do
      local kind = kinds[(i - 1) % #kinds + 1]
      local req, key = tmp .. "/r" .. i .. ".pem", tmp .. "/k" .. i .. ".pem"
      if kind == "compressed" then
        ossl("ecparam -name prime256v1 -genkey -noout -out " .. h.q(key))
        ossl("ec -in " .. h.q(key) .. " -conv_form compressed -out " .. h.q(key) .. " 2>/dev/null")
        ossl("req -new -key " .. h.q(key) .. " -subj /CN=c" .. i .. " -out " .. h.q(req))
      else
        ossl("req -new " .. kind .. " -nodes -keyout " .. h.q(key) .. " -subj /CN=c" .. i
          .. " -addext subjectAltName=DNS:c" .. i .. ".example -out " .. h.q(req) .. " 2>/dev/null")
      end
      reqs[i] = { csr = h.read(req) }
      files[i] = req
    end
    local ca = assert(ch.ca.open(dir))
    local certs, details = assert(ca:issue_many(reqs))
    ca:close()
    local paths = {}
    for i, d in ipairs(details) do
      paths[i] = h.q(d.file)
      -- the certificate's SubjectPublicKeyInfo is the request's, byte for byte
      local want = ossl("req -in " .. h.q(files[i]) .. " -noout -pubkey")
      assert.equal(want, ossl("x509 -in " .. h.q(d.file) .. " -noout -pubkey"), "request " .. i)
      assert.equal("/CN=c" .. i, certs[i]:subject():oneline())
    end
    local out = ossl("verify -CAfile " .. h.q(dir .. "/cacert.pem") .. " " .. table.concat(paths, " "))
    local oks = 0
    for _ in out:gmatch(": OK\n") do oks = oks + 1 end
    assert.equal(10, oks, out)
    -- a compressed point stays compressed: a 59-byte SubjectPublicKeyInfo (30 39 ...: "MDkw"),
    -- where re-encoding the key would have given the 91 bytes of an uncompressed one ("MFkw")
    local pub = ossl("x509 -in " .. h.q(details[5].file) .. " -noout -pubkey")
    assert.matches("^%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-\nMDkw", pub)
    ch.check(dir, { parse_all = true })
  end)
end)
