-- spec/support/ocsp.lua: a CA with an OCSP responder, made with the openssl CLI, for the OCSP
-- specs and the interop tests. `local fx = require("support.ocsp").make(dir[, {url=}])`
--   fx.ca (RSA-2048, CN=OCSP Test CA), fx.other (EC, another CA), each {cert=, key=} paths
--   fx.responder   delegated responder of ca: EC, id-kp-OCSPSigning, id-pkix-ocsp-nocheck
--   fx.noeku       a certificate of ca without OCSPSigning (must not sign responses)
--   fx.foreign     a responder with OCSPSigning issued by `other` (not by ca)
--   fx.good (serial 1001), fx.revoked (1002, keyCompromise at fx.revoked_at), fx.unknown (1003,
--   not in the index), fx.hold (1004, revoked without a reason), fx.stranger (1001 of other):
--   {cert=, key=}; their AIA OCSP URL is opts.url
--   fx.index       index.txt in openssl ca's format
--   fx:respond(req_der, {signer = "responder"|"ca"|"noeku"|"foreign", key_id = bool,
--              no_certs = bool, ndays = n, other = {paths}}) -> response DER (openssl ocsp,
--              offline: -reqin/-respout)
--   fx:request(cert_name, {nonce = bool, digest = "sha256"}) -> request DER made by openssl
--   fx.path(name) -> dir/name
local h = require "support.helper"

local M = {}
local Fx = {}
Fx.__index = Fx

local function openssl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end
M.openssl = openssl

M.REVOKED_AT = "240102030405Z" -- index.txt form of 2024-01-02T03:04:05Z
M.REVOKED_AT_EPOCH = 1704164645

local function issue(dir, name, subj, serial, ext, ca, keyspec)
  local p = dir .. "/" .. name
  h.write(p .. ".ext", ext)
  openssl(("req -new -newkey %s -nodes -subj %s -keyout %s.key -out %s.csr"):format(
    keyspec or "ec -pkeyopt ec_paramgen_curve:P-256", h.q(subj), h.q(p), h.q(p)))
  openssl(("x509 -req -in %s.csr -CA %s -CAkey %s -set_serial 0x%s -days 30 -sha256 -extfile %s.ext -out %s.pem")
    :format(h.q(p), h.q(ca.cert), h.q(ca.key), serial, h.q(p), h.q(p)))
  return { cert = p .. ".pem", key = p .. ".key", serial = serial }
end

function M.make(dir, opts)
  opts = opts or {}
  local url = opts.url or "http://127.0.0.1:9/ocsp"
  local fx = setmetatable({ dir = dir, url = url, revoked_at = M.REVOKED_AT_EPOCH }, Fx)
  local function ca(name, subj, keyspec)
    local p = dir .. "/" .. name
    openssl(("req -x509 -newkey %s -nodes -days 30 -subj %s -addext basicConstraints=critical,CA:TRUE "
      .. "-addext keyUsage=critical,keyCertSign,cRLSign -keyout %s.key -out %s.pem")
      :format(keyspec, h.q(subj), h.q(p), h.q(p)))
    return { cert = p .. ".pem", key = p .. ".key" }
  end
  fx.ca = ca("ca", "/O=certbench/CN=OCSP Test CA", "rsa:2048")
  fx.other = ca("other", "/O=certbench/CN=Other CA", "ec -pkeyopt ec_paramgen_curve:P-256")
  local leaf_ext = ("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n"
    .. "authorityInfoAccess=OCSP;URI:%s\n"):format(url)
  fx.good = issue(dir, "good", "/CN=good.example.com", "1001", leaf_ext, fx.ca)
  fx.revoked = issue(dir, "revoked", "/CN=revoked.example.com", "1002", leaf_ext, fx.ca)
  fx.unknown = issue(dir, "unknown", "/CN=unknown.example.com", "1003", leaf_ext, fx.ca)
  fx.hold = issue(dir, "hold", "/CN=hold.example.com", "1004", leaf_ext, fx.ca)
  fx.noaia = issue(dir, "noaia", "/CN=noaia.example.com", "1005", "basicConstraints=CA:FALSE\n", fx.ca)
  fx.stranger = issue(dir, "stranger", "/CN=stranger.example.com", "1001", leaf_ext, fx.other)
  fx.responder = issue(dir, "responder", "/O=certbench/CN=OCSP Responder", "2001",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n"
    .. "noCheck=ignored\n", fx.ca)
  fx.noeku = issue(dir, "noeku", "/O=certbench/CN=Not A Responder", "2002",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n", fx.ca)
  fx.foreign = issue(dir, "foreign", "/O=certbench/CN=Foreign Responder", "2003",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n", fx.other)
  local exp = "301231235959Z"
  fx.index = dir .. "/index.txt"
  h.write(fx.index, table.concat({
    ("V\t%s\t\t1001\tunknown\t/CN=good.example.com\n"):format(exp),
    ("R\t%s\t%s,keyCompromise\t1002\tunknown\t/CN=revoked.example.com\n"):format(exp, M.REVOKED_AT),
    ("R\t%s\t%s\t1004\tunknown\t/CN=hold.example.com\n"):format(exp, M.REVOKED_AT),
    ("V\t%s\t\t1005\tunknown\t/CN=noaia.example.com\n"):format(exp),
  }))
  h.write(fx.index .. ".attr", "unique_subject = no\n")
  return fx
end

function Fx.path(fx, name) return fx.dir .. "/" .. name end

local n = 0
function Fx:respond(req, o)
  o = o or {}
  n = n + 1
  local signer = self[o.signer or "responder"]
  local reqf, respf = self:path(("req%d.der"):format(n)), self:path(("resp%d.der"):format(n))
  h.write(reqf, req)
  local extra = ""
  if o.key_id then extra = extra .. " -resp_key_id" end
  if o.no_certs then extra = extra .. " -resp_no_certs" end
  if o.ndays then extra = extra .. " -ndays " .. o.ndays end
  for _, p in ipairs(o.other or {}) do extra = extra .. " -rother " .. h.q(p) end
  openssl(("ocsp -index %s -CA %s -rsigner %s -rkey %s -reqin %s -respout %s%s"):format(
    h.q(self.index), h.q(self.ca.cert), h.q(signer.cert), h.q(signer.key), h.q(reqf), h.q(respf), extra))
  return h.read(respf)
end

function Fx:request(name, o)
  o = o or {}
  n = n + 1
  local out = self:path(("oreq%d.der"):format(n))
  local cert = self[name]
  local issuer = name == "stranger" and self.other or self.ca
  openssl(("ocsp %s -issuer %s -cert %s %s -reqout %s"):format(o.digest and ("-" .. o.digest) or "",
    h.q(issuer.cert), h.q(cert.cert), o.nonce and "-nonce" or "-no_nonce", h.q(out)))
  return h.read(out)
end

return M
