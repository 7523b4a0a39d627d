-- certbench.x509: certificates.
--   x509.load(data) -> cert | nil, err        the first certificate of PEM (text between blocks,
--                                             CRLF, BOM are fine), DER, or armorless base64
--   x509.load_all(data) -> {certs} | nil, err every certificate of a PEM bundle (other blocks such
--                                             as keys are skipped), or of a DER file
--   x509.load_file(path), x509.load_all_file(path): the same from a file; messages start with
--                                             the path ("ca.pem: no certificate in the data")
--   x509.is_x509(v)
-- Methods (c = a certificate):
--   c:version(), c:serial() (upper-case hex), c:subject(), c:issuer() (certbench.name),
--   c:not_before(), c:not_after() (epoch seconds, UTC: a +hhmm/-hhmm offset is applied) |
--       nil, err naming the field (only for a certificate no loader checked: a TLS peer's, an
--       OCSP response's; x509.load, pkcs7 and pkcs12 refuse one whose validity is no time),
--   c:public_key() (certbench.pkey),
--   c:key_algorithm(), c:signature_algorithm() (openssl's long names),
--   c:san() -> { {type="DNS"|"IP"|"email"|"URI"|"dirName"|"RID"|"otherName", value=}... }
--   c:eku(), c:key_usage(), c:policies(), c:crl_distribution_points(), c:ocsp_urls(),
--   c:ca_issuers_urls() -> list (empty when the extension is absent; criticality: extensions())
--   c:basic_constraints() -> {ca=, path_len=, critical=} | nil
--   c:ski(), c:aki() -> upper-case hex | nil (the keyIdentifiers)
--   c:aki_info() -> {keyid=, issuer={general names}, serial=, critical=} | nil
--   c:extensions() -> { {oid=, name=, critical=, der=, text=}... }
--   c:name_constraints() -> {permitted={general names}, excluded={...}, critical=} | nil (a list
--     is nil when its subtrees are absent; iPAddress bases read "192.0.2.0/255.255.255.0")
--   c:fingerprint([alg="sha256"]) -> "AB:CD:..."; c:text() (like openssl x509 -text -noout)
--   c:to_pem(), c:to_der(), c:equals(other), c == other, c:close() (also <close> and collection)
--   c:is_ca() (basicConstraints cA), c:is_self_signed() (names match and the signature verifies
--   with its own key), c:verify_signature(issuer_cert_or_key) -> true | false, reason
--   c:issued_by(issuer), c:issued(issuer) -> true | false, reason: issuer's subject is c's issuer
--   name, the AKI/SKI match, and the issuer's keyUsage (if any) has keyCertSign. (issued takes
--   the issuer as its argument, like issued_by.) c:is_issuer_of(subject) is the other way round.
--   c:check_host(name[, {no_subject_cn = true}]) RFC 6125 via X509_check_host: wildcards only
--   as the whole left-most label (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS); the subject CN is used
--   only when there are no DNS names. c:check_ip(ip), c:check_email(addr) -> bool
-- A malformed extension makes its accessor return nil, "x509:san: malformed subjectAltName extension".
--
-- x509.new{...} -> cert | nil, err[, warning]
--   subject = name | "/C=NO/CN=x" | { {"CN","x"} }  (required)
--   issuer = cert (nil: self-signed), issuer_key = pkey (the signing key; required)
--   public_key = pkey, or csr = csr (its key; with copy_extensions = true its extensions too,
--     the options below override them; its self-signature must verify unless verify_csr =
--     false). Self-signed without either: issuer_key's public key.
--   serial = "hex" (default 16 random bytes, positive)
--   not_before = epoch (default now), not_after = epoch | days = N (default 365)
--   ca = true [, path_len = n]: basicConstraints CA:TRUE critical, keyUsage keyCertSign,cRLSign
--     (critical) unless key_usage is given; ca = false: basicConstraints CA:FALSE
--   basic_constraints = {ca=, path_len=, critical= (default true)} | "critical,CA:TRUE,pathlen:0"
--   key_usage = {"digitalSignature", ...} | "digitalSignature,keyEncipherment" (critical unless
--     key_usage_critical = false); eku = {"serverAuth", "clientAuth", "1.2.3.4"} (eku_critical)
--   san = {"DNS:a.example.com", "IP:192.0.2.1", "email:x@y", "URI:sip:x@y", "RID:1.2.3",
--          "dirName:/CN=x", "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@d"} or
--         {dns={...}, ip={...}, email={...}, uri={...}} (san_critical; default: critical only
--         when the subject is empty, RFC 5280 4.2.1.6)
--   crl_distribution_points = {urls}, ocsp_urls = {urls}, ca_issuers_urls = {urls},
--   policies = {OIDs}, extensions = { {oid=, value_der=, critical=} | {name=, value=, critical=} }
--     (name/value: openssl's config syntax through X509V3_EXT_nconf; the typed options above
--     build the structures directly, and with BoringSSL both cost about the same)
--   ski = false / aki = false to leave those out (default: SKI = SHA-1 of the key bits, RFC 5280
--     method 1; AKI keyid = the issuer's SKI)
--   digest = "sha256" | "sha384" | "sha512" | "sha1" (with a warning as third value); Ed25519
--     keys sign without one
--   With csr and no public_key, the certificate carries the request's SubjectPublicKeyInfo
--   as the request encodes it. Any other key raises, naming it.
-- x509.new_many(list[, {pem = true}]) -> certs, errs[, pems]: x509.new of every item, signed
--   on every core (see M.new_many below)
local c = require "_certbench.x509"
local name = require "certbench.name"
local ext = require "certbench.extopts"
local optcheck = require "certbench.options"

local M = { load = c.load, load_all = c.load_all, is_x509 = c.is_x509 }
local methods = c._metatable.__index
local mt = c._metatable

-- dirName entries come from C as name objects; give them a text value too
local function finish_names(list, err)
  if not list then return list, err end
  for _, gn in ipairs(list) do
    if gn.type == "dirName" and gn.name then gn.value = gn.name:rfc4514() end
  end
  return list
end
M._finish_names = finish_names

function methods.san(cert)
  return finish_names(cert:_san())
end

-- BoringSSL's printer, brought closer to openssl 3's layout: the inner Signature Algorithm
-- indented under Data, a "Signature Value:" heading over the signature bytes
function M._openssl_layout(t)
  t = t:gsub("\n    Signature Algorithm: ([^\n]*)\n(%s+Issuer:)", "\n        Signature Algorithm: %1\n%2", 1)
  t = t:gsub("\n(    Signature Algorithm: [^\n]*)\n(         %x%x:[^\n]*\n.*)$", function(head, body)
    body = body:gsub("(\n?)         (%x%x)", "%1        %2")
    return "\n" .. head .. "\n    Signature Value:\n" .. body
  end)
  return t
end

function methods.text(cert)
  local t, err = cert:_text()
  if not t then return nil, err end
  return M._openssl_layout(t)
end

function methods.issued_by(cert, issuer)
  return c._check_issued(issuer, cert)
end
methods.issued = methods.issued_by

function methods.is_issuer_of(cert, subject)
  return c._check_issued(cert, subject)
end

function methods.check_host(cert, host, opts)
  optcheck.check(opts, { "no_subject_cn" }, "x509:check_host")
  return cert:_check_host(host, opts ~= nil and opts.no_subject_cn or false)
end

local function epoch(v, what, opt, level)
  if v == nil then return nil end
  if math.type(v) ~= "integer" then error(what .. ": " .. opt .. " must be an integer (epoch seconds)", level + 1) end
  return v
end

-- precheck(o, what, level) raises for what x509.new refuses before the request's signature is
-- checked; true when there is a request to verify
local NEW_KEYS = ext.keys { "subject", "issuer", "issuer_key", "public_key", "csr", "copy_extensions",
                            "verify_csr", "serial", "not_before", "not_after", "days", "ski", "aki" }
local function precheck(o, what, level)
  if type(o) ~= "table" then error(what .. ": expected a table of options", level) end
  optcheck.check(o, NEW_KEYS, what, level + 1)
  if o.subject == nil then error(what .. ": subject is required", level) end
  if o.issuer_key == nil then error(what .. ": issuer_key (the signing key) is required", level) end
  if o.issuer ~= nil and not c.is_x509(o.issuer) then
    error(what .. ": issuer must be a certificate (certbench.x509)", level)
  end
  if o.csr ~= nil and o.verify_csr ~= false then
    -- as openssl x509 -req and openssl ca do: a request whose signature fails is not signed
    local ok_csr, is_csr = pcall(function() return o.csr.verify end)
    if not ok_csr or type(is_csr) ~= "function" then error(what .. ": csr must be a certbench.csr", level) end
    return true
  end
  return false
end

local function csr_error(what, verr)
  return what .. ": the request's self-signature does not verify (" .. tostring(verr) .. ")"
end

-- options(o, what, level) -> the options of c._new, warning | nil, err
local function options(o, what, level)
  local subject, err = name.from(o.subject, what)
  if not subject then return nil, err end
  local digest, warning, derr = ext.digest(o.digest, what)
  if not digest then return nil, derr end
  local nb = epoch(o.not_before, what, "not_before", level + 1) or os.time()
  local na = epoch(o.not_after, what, "not_after", level + 1)
  if na == nil then
    local days = o.days or 365
    if math.type(days) ~= "integer" or days <= 0 then error(what .. ": days must be a positive integer", level) end
    na = nb + days * 86400
  end
  if o.serial ~= nil and (type(o.serial) ~= "string" or not o.serial:match("^%x+$")) then
    return nil, what .. ": serial must be a hex string, got '" .. tostring(o.serial) .. "'"
  end
  local opts = {
    subject = subject, issuer = o.issuer, issuer_key = o.issuer_key,
    public_key = o.public_key, csr = o.csr, copy_extensions = o.copy_extensions and true or false,
    serial = o.serial, not_before = nb, not_after = na, digest = digest,
    ski = o.ski ~= false, aki = o.aki ~= false,
  }
  local ok, nerr = ext.normalize(o, opts, what)
  if not ok then return nil, nerr end
  if opts.san and opts.san_critical == nil and #subject == 0 then opts.san_critical = true end
  return opts, warning
end

function M.new(o)
  local what = "x509.new"
  if precheck(o, what, 3) then
    local ok, verr = o.csr:verify()
    if not ok then return nil, csr_error(what, verr) end
  end
  local opts, warning = options(o, what, 3)
  if not opts then return nil, warning end
  local cert, cerr = c._new(opts)
  if not cert then return nil, cerr end
  return cert, nil, warning
end

-- new_many(list[, {pem = true}]) -> certs, errs[, pems]: x509.new for every item of the list,
-- the signatures (the requests' and the certificates') on every core. certs[i] = cert | false,
-- errs[i] = the message x509.new would return for item i (nil when it succeeded), pems[i] =
-- certs[i]:to_pem() (encoded by the signing threads). Items are independent: one that fails
-- takes nothing from the others. An item of the wrong type raises, as x509.new does; SHA-1's
-- warning is not returned.
function M.new_many(list, o)
  if type(list) ~= "table" then error("x509.new_many: expected a list of option tables", 2) end
  if o ~= nil and type(o) ~= "table" then error("x509.new_many: options must be a table", 2) end
  optcheck.check(o, { "pem" }, "x509.new_many")
  local what, n = "x509.new", #list
  local norm, errs, reqs, req_at = {}, {}, {}, {}
  for i = 1, n do
    if precheck(list[i], what, 3) then
      reqs[#reqs + 1] = list[i].csr
      req_at[#reqs] = i
    end
  end
  local bad = {}
  if #reqs > 0 then
    local oks, reasons = require("certbench.csr").verify_many(reqs)
    for k, i in ipairs(req_at) do
      if not oks[k] then bad[i] = csr_error(what, reasons[k]) end
    end
  end
  for i = 1, n do
    if bad[i] then
      norm[i], errs[i] = false, bad[i]
    else
      local opts, err = options(list[i], what, 3)
      norm[i] = opts or false
      if not opts then errs[i] = err end
    end
  end
  local pem = o ~= nil and o.pem and true or false
  local certs, cerrs, pems = c._new_many(norm, pem)
  for i, e in pairs(cerrs) do errs[i] = e end
  if pem then return certs, errs, pems end
  return certs, errs
end

local function from_file(fn, prefix, path)
  if type(path) ~= "string" then error(prefix .. "_file: expected a path string", 3) end
  local fs = require "certbench.fs"
  local data, err = fs.read(path) -- up to fs.FILE_MAX, the one cap on a local file
  if not data then return nil, err end
  local r, lerr = fn(data)
  if not r then return nil, (lerr:gsub("^[%w_.]+: ", path .. ": ", 1)) end
  return r
end
M._from_file = from_file

function M.load_file(path) return from_file(c.load, "x509.load", path) end
function M.load_all_file(path) return from_file(c.load_all, "x509.load_all", path) end

mt.__tostring = function(cert)
  local ok, s = pcall(function() return "certbench.x509: " .. cert:subject():rfc4514() .. " (serial " .. cert:serial() .. ")" end)
  return ok and s or "certbench.x509 (closed)"
end

return M
