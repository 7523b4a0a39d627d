-- spec/support/crl.lua: CAs, keys and CRLs made with the openssl CLI, shared by
-- spec/crl_spec.lua and tests/interop/crl_spec.lua. `local F = require "support.crl"`,
-- then `local fx = F.get()` (made once per process, in a folder removed at exit).
--   fx.dir
--   fx.rsa, fx.ec, fx.ed, fx.noku: CAs { pem=path, key=path, cert=x509, pkey=pkey } (RSA 2048,
--     P-256, Ed25519, and an RSA CA whose keyUsage lacks cRLSign)
--   fx.other_key: an RSA key that signed nothing
--   fx.gencrl(lines[, {ca=fx.rsa, v1=false, crldays=30, md="sha256", crlnumber="1000", out=, extra=}])
--     -> path of a PEM CRL
--     made by `openssl ca -gencrl` from index.txt lines (see fx.revoked)
--   fx.revoked(serial, revtime[, reason[, arg]]) -> an index.txt line of a revoked certificate
--   fx.leaf(serial[, ca]) -> path of a leaf certificate with that serial, issued by ca
local h = require "support.helper"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"

local F = {}
local cached

local function sh(cmd)
  local out, rc = h.run(cmd)
  if rc ~= 0 then error("fixture command failed (" .. rc .. "): " .. cmd .. "\n" .. out, 2) end
  return out
end

local function make_ca(dir, name, newkey, ku)
  local key, pem = dir .. "/" .. name .. ".key", dir .. "/" .. name .. ".pem"
  sh(("openssl req -x509 %s -nodes -keyout %s -out %s -days 3650 -subj %s " ..
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,%s")
    :format(newkey, h.q(key), h.q(pem), h.q("/C=NO/O=net2/CN=" .. name .. " CA"), ku))
  return {
    pem = pem,
    key = key,
    cert = assert(x509.load(h.read(pem))),
    pkey = assert(pkey.load(h.read(key))),
  }
end

function F.get()
  if cached then return cached end
  local dir = h.tmpdir()
  local fx = { dir = dir }
  fx.rsa = make_ca(dir, "rsa", "-newkey rsa:2048", "keyCertSign,cRLSign")
  fx.ec = make_ca(dir, "ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", "keyCertSign,cRLSign")
  fx.ed = make_ca(dir, "ed", "-newkey ed25519", "keyCertSign,cRLSign")
  fx.noku = make_ca(dir, "noku", "-newkey rsa:2048", "keyCertSign,digitalSignature")
  sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " .. h.q(dir .. "/other.key") .. " 2>/dev/null")
  fx.other_key = assert(pkey.load(h.read(dir .. "/other.key")))

  local n = 0
  function fx.gencrl(lines, opts)
    opts = opts or {}
    local ca = opts.ca or fx.rsa
    n = n + 1
    local d = ("%s/ca%d"):format(dir, n)
    sh("mkdir -p " .. h.q(d .. "/newcerts"))
    h.write(d .. "/index.txt", table.concat(lines, ""))
    if not opts.v1 then h.write(d .. "/crlnumber", (opts.crlnumber or "1000") .. "\n") end
    h.write(d .. "/ca.cnf", table.concat({
      "[ ca ]", "default_ca = CA_default", "[ CA_default ]", "dir = " .. d,
      "database = $dir/index.txt", "new_certs_dir = $dir/newcerts",
      "certificate = " .. ca.pem, "private_key = " .. ca.key, "serial = $dir/serial",
      opts.v1 and "" or "crlnumber = $dir/crlnumber",
      "default_md = " .. (opts.md or "sha256"), "default_crl_days = " .. (opts.crldays or 30),
      opts.v1 and "" or "crl_extensions = crl_ext", "policy = pol", "unique_subject = no",
      "[ pol ]", "commonName = supplied", "[ crl_ext ]", "authorityKeyIdentifier = keyid:always", "",
    }, "\n"))
    local out = opts.out or (d .. "/crl.pem")
    sh(("openssl ca -config %s -gencrl -out %s %s 2>&1"):format(h.q(d .. "/ca.cnf"), h.q(out), opts.extra or ""))
    return out
  end

  function fx.revoked(serial, revtime, reason, arg)
    local r = revtime
    if reason then r = r .. "," .. reason end
    if arg then r = r .. "," .. arg end
    return ("R\t301231235959Z\t%s\t%s\tunknown\t/CN=leaf%s\n"):format(r, serial, serial)
  end

  local leaves = 0
  function fx.leaf(serial, ca)
    ca = ca or fx.rsa
    leaves = leaves + 1
    local base = ("%s/leaf%d"):format(dir, leaves)
    sh(("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.csr -subj /CN=leaf%s 2>/dev/null")
      :format(base, base, serial))
    sh(("openssl x509 -req -in %s.csr -CA %s -CAkey %s -set_serial 0x%s -days 30 -out %s.pem 2>/dev/null")
      :format(base, h.q(ca.pem), h.q(ca.key), serial, base))
    return base .. ".pem"
  end

  cached = fx
  return fx
end

return F
