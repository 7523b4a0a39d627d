-- certbench.ocsp: OCSP (RFC 6960) requests, responses, their verification, and the check of one
-- certificate against its responder over HTTP.
--
--   ocsp.request{cert=, issuer=, serial= (hex, instead of cert), nonce=true|bytes,
--                digest="sha1"|"sha256"|"sha384"|"sha512"} -> der, nonce (the bytes sent or nil)
--   ocsp.cert_id(issuer, cert_or_serial[, digest]) -> {hash_alg=, issuer_name_hash=,
--                issuer_key_hash=, serial=, der=}  (hashes and serial as upper-case hex)
--   ocsp.parse_request(der) -> {version=, cert_ids={cert_id...}, nonce=, extensions=, signed=}
--   ocsp.parse_response(der) -> response | nil, err   (DER; ocsp.load also takes base64 text)
--   ocsp.load(data) -> response | nil, err             DER, or base64 (openssl's .ors files)
--   ocsp.is_response(v) -> true for a parsed response
--   ocsp.check{cert=, issuer=, url= (default: the cert's AIA OCSP URL), nonce=true|bytes,
--              method="post"|"get", digest=, timeout= (s, http.defaults.check_timeout: 30), trusted=, store=, time=, skew=,
--              max_age=, ca_file= (HTTPS responders), connect_timeout= (s, http.defaults')}
--       -> {status="good"|"revoked"|"unknown", revocation_time=, reason=, this_update=,
--           next_update=, produced_at=, responder=, url=, method=, signer=, signer_kind=,
--           no_check=, serial=, nonce=bool, warnings={}, response= (the parsed response)}
--       | nil, err, code
--       codes: "no_url", the HTTP codes ("connect", "timeout", "http", ...), "parse" (not an OCSP
--       response), "status" (the responder refused: tryLater, unauthorized...), "verify"
--   ocsp.get_url(url, der) -> the URL of a GET request (RFC 6960 appendix A.1: base64, then
--       URL-encoded, appended to the responder URL), or nil when it is 255 bytes or longer
--   ocsp.key_hash(cert[, digest="sha1"]) -> raw hash of the subjectPublicKey bits (a responder
--       ID byKey is its SHA-1)
--   ocsp.NO_CHECK_OID, ocsp.NONCE_OID, ocsp.OCSP_SIGNING_OID
--
-- A response: {status= ("successful", "malformedRequest", "internalError", "tryLater",
--   "sigRequired", "unauthorized"), status_code=, response_type="basic", version=1,
--   responder_name= (certbench.name) | responder_key_hash= (hex), produced_at=,
--   responses = { {hash_alg=, issuer_name_hash=, issuer_key_hash=, serial=, status="good"|
--     "revoked"|"unknown", revocation_time=, reason= ("keyCompromise"...), reason_code=,
--     this_update=, next_update=, extensions=}... },
--   nonce= (bytes), extensions = { {oid=, name=, critical=, value=}... },
--   certs = {x509...}, signature_algorithm=, der=}
--   Only "successful" responses carry the rest. Times are epoch seconds.
-- Methods:
--   resp:find(issuer, cert_or_serial) -> the single response for that certificate, or nil
--   resp:verify{issuer=, cert= | serial=, trusted={certs}, store=, time=, skew=300, max_age=,
--               nonce=bytes} -> info | nil, err
--     The signer is found by the responder ID among the issuer, `trusted` (responder
--     certificates trusted by local configuration) and the certificates in the response. A
--     delegated responder must be issued by the issuer (its issuer name and signature), carry
--     the id-kp-OCSPSigning EKU and be valid at `time`; id-pkix-ocsp-nocheck is reported. The
--     signature over tbsResponseData must verify with the signer's key. Every CertID must
--     name the issuer (name and key hash), and with cert/serial one of them that serial.
--     thisUpdate may be at most `skew` seconds in the future, nextUpdate at most `skew`
--     seconds past (without nextUpdate, thisUpdate at most max_age old when given). With
--     `nonce`, the response must echo it. With `store` (certbench.store), the issuer must
--     verify against it too. Unknown critical extensions fail.
--     info: {signer=, signer_kind="issuer"|"delegated"|"trusted", no_check=bool, single=,
--            status=, warnings={}}
-- An options key a function does not know raises, naming it.
local c = require "_certbench.ocsp"
local digest = require "certbench.digest"
local x509 = require "certbench.x509"
local options = require "certbench.options"

local M = {}

M.NONCE_OID = "1.3.6.1.5.5.7.48.1.2"
M.NO_CHECK_OID = "1.3.6.1.5.5.7.48.1.5"
M.OCSP_SIGNING_OID = "1.3.6.1.5.5.7.3.9"

local Response = {}
Response.__index = Response
Response.__name = "certbench.ocsp.response"

local STATUS_TEXT = {
  malformedRequest = "the responder could not read the request",
  internalError = "the responder had an internal error",
  tryLater = "the responder is busy or cannot answer now, try later",
  sigRequired = "the responder only answers signed requests",
  unauthorized = "the responder does not answer for this certificate (not its CA, or not allowed)",
}
M.status_text = STATUS_TEXT

local function is_cert(v) return x509.is_x509(v) end

local function cert_arg(v, what, name)
  if is_cert(v) then return v end
  if type(v) == "string" then
    local cert, err = x509.load(v)
    if not cert then return nil, what .. ": " .. name .. ": " .. err end
    return cert
  end
  error(what .. ": '" .. name .. "' must be a certificate (certbench.x509, PEM or DER)", 3)
end

local function norm_serial(s)
  s = s:upper()
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:gsub("^0+", "")
  if s == "" then s = "0" end
  if #s % 2 == 1 then s = "0" .. s end
  return (neg and "-" or "") .. s
end
M._norm_serial = norm_serial

local function digest_arg(d, what)
  d = d or "sha1"
  if type(d) ~= "string" then error(what .. ": 'digest' must be a string", 3) end
  d = d:lower():gsub("-", "")
  if d ~= "sha1" and d ~= "sha256" and d ~= "sha384" and d ~= "sha512" then
    error(what .. ": unknown digest '" .. d .. "' (sha1, sha256, sha384, sha512)", 3)
  end
  return d
end

function M.cert_id(issuer, subject, d)
  if not is_cert(issuer) then error("ocsp.cert_id: the issuer must be a certificate", 2) end
  d = digest_arg(d, "ocsp.cert_id")
  if type(subject) == "string" then subject = subject:gsub("^0[xX]", "") end
  local der, err = c.cert_id(issuer, subject, d)
  if not der then return nil, err end
  local req = assert(c.parse_request(c.build_request({ der })))
  return req.cert_ids[1]
end

function M.request(o)
  local what = "ocsp.request"
  if type(o) ~= "table" then error(what .. ": a table of options expected", 2) end
  options.check(o, { "cert", "issuer", "serial", "nonce", "digest" }, what)
  local issuer, err = cert_arg(o.issuer, what, "issuer")
  if not issuer then return nil, err end
  local subject
  if o.cert ~= nil then
    subject, err = cert_arg(o.cert, what, "cert")
    if not subject then return nil, err end
  elseif type(o.serial) == "string" and o.serial:match("^%-?%x+$") then
    subject = o.serial
  else
    error(what .. ": 'cert' (a certificate) or 'serial' (hex) is required", 2)
  end
  local d = digest_arg(o.digest, what)
  local nonce = o.nonce
  if nonce == true then
    nonce = require("certbench.rand").bytes(16)
  elseif nonce == false then
    nonce = nil
  elseif nonce ~= nil and (type(nonce) ~= "string" or #nonce < 1 or #nonce > 32) then
    error(what .. ": 'nonce' must be true or 1 to 32 bytes (RFC 8954)", 2)
  end
  local id, ierr = c.cert_id(issuer, subject, d)
  if not id then return nil, ierr end
  local der, berr = c.build_request({ id }, nonce)
  if not der then return nil, berr end
  return der, nonce
end

M.parse_request = c.parse_request

function M.key_hash(cert, d)
  if not is_cert(cert) then error("ocsp.key_hash: a certificate expected", 2) end
  return c.key_hash(cert, digest_arg(d, "ocsp.key_hash"))
end

function M.parse_response(der)
  if type(der) ~= "string" then error("ocsp.parse_response: DER (a string) expected", 2) end
  local r, err = c.parse_response(der)
  if not r then return nil, err end
  r.der = der
  return setmetatable(r, Response)
end

function M.load(data)
  if type(data) ~= "string" then error("ocsp.load: a string expected", 2) end
  if data:byte(1) ~= 0x30 then
    local der = c.unbase64(data)
    if not der then return nil, "ocsp.load: neither DER nor base64 of an OCSP response" end
    data = der
  end
  local r, err = M.parse_response(data)
  if not r then return nil, (err:gsub("^ocsp%.parse_response", "ocsp.load")) end
  return r
end

function M.is_response(v) return getmetatable(v) == Response end

-- the issuer's hashes in one algorithm, cached on the issuer table of one verification
local function issuer_hashes(issuer, alg, cache)
  local h = cache[alg]
  if h == nil then
    if alg ~= "sha1" and alg ~= "sha256" and alg ~= "sha384" and alg ~= "sha512" and alg ~= "sha224" then
      h = false
    else
      h = {
        name = digest.hex(digest.hash(alg, issuer:subject():der())),
        key = digest.hex(assert(c.key_hash(issuer, alg))),
      }
    end
    cache[alg] = h
  end
  return h or nil
end

function Response:find(issuer, subject)
  if not is_cert(issuer) then error("response:find: the issuer must be a certificate", 2) end
  local serial = is_cert(subject) and subject:serial() or subject
  if type(serial) ~= "string" then error("response:find: a certificate or a hex serial expected", 2) end
  serial = norm_serial(serial)
  local cache = {}
  for _, s in ipairs(self.responses or {}) do
    local h = issuer_hashes(issuer, s.hash_alg, cache)
    if h and norm_serial(s.serial) == serial and s.issuer_name_hash == h.name and s.issuer_key_hash == h.key then
      return s
    end
  end
  return nil
end

-- a certificate's subject in a message: name:text(), the one form names are shown in
local function subject_text(cert)
  local ok, t = pcall(function() return cert:subject():text() end)
  return ok and t or "?"
end

local function time_text(t) return require("certbench.ui").time(t) end

function Response:responder_text()
  if self.responder_name then return self.responder_name:rfc4514() end
  if self.responder_key_hash then return "key hash " .. self.responder_key_hash end
  return nil
end

local function has_eku(cert, oid, name)
  local list = cert:eku()
  for _, e in ipairs(list or {}) do
    if e == oid or e == name then return true end
  end
  return false
end

local function has_ext(cert, oid)
  for _, e in ipairs(cert:extensions()) do
    if e.oid == oid then return true, e end
  end
  return false
end

-- check_delegated(signer, issuer, now, skew) -> true | nil, why
local function check_delegated(signer, issuer, now, skew)
  local who = "the responder certificate " .. subject_text(signer)
  if not signer:issuer():equals(issuer:subject()) then
    return nil, ("%s is not issued by the certificate's issuer %s (its issuer is %s): a delegated "
      .. "responder must be certified by the CA itself"):format(who, subject_text(issuer), signer:issuer():text())
  end
  local ok, why = signer:verify_signature(issuer)
  if not ok then
    return nil, ("%s does not carry a valid signature of the issuer %s (%s)"):format(who, subject_text(issuer), tostring(why))
  end
  if not has_eku(signer, M.OCSP_SIGNING_OID, "OCSPSigning") then
    return nil, who .. " has no id-kp-OCSPSigning extended key usage: the CA did not authorise it to sign OCSP responses"
  end
  if signer:not_before() > now + skew then
    return nil, ("%s is not valid yet (from %s)"):format(who, time_text(signer:not_before()))
  end
  if signer:not_after() < now - skew then
    return nil, ("%s expired on %s"):format(who, time_text(signer:not_after()))
  end
  return true
end

local function contains(list, cert)
  for _, x in ipairs(list) do
    if x:equals(cert) then return true end
  end
  return false
end

function Response:verify(o)
  local what = "ocsp verify"
  if type(o) ~= "table" then error("response:verify: a table of options expected", 2) end
  options.check(o, { "issuer", "cert", "serial", "trusted", "store", "time", "skew", "max_age", "nonce" },
    "response:verify")
  if not is_cert(o.issuer) then error("response:verify: 'issuer' (a certificate) is required", 2) end
  if o.trusted ~= nil and type(o.trusted) ~= "table" then error("response:verify: 'trusted' must be a list of certificates", 2) end
  if o.time ~= nil and math.type(o.time) ~= "integer" then error("response:verify: 'time' must be epoch seconds (an integer)", 2) end
  local issuer = o.issuer
  local now = o.time or os.time()
  local skew = o.skew or 300
  local trusted = {}
  for _, t in ipairs(o.trusted or {}) do
    if not is_cert(t) then error("response:verify: 'trusted' must be a list of certificates", 2) end
    trusted[#trusted + 1] = t
  end
  if self.status ~= "successful" then
    return nil, ("%s: the responder answered %s (%s)"):format(what, self.status, STATUS_TEXT[self.status] or "?")
  end
  if self.response_type ~= "basic" then
    return nil, ("%s: unsupported response type %s (only id-pkix-ocsp-basic)"):format(what, tostring(self.response_type))
  end
  local warnings = {}

  -- the signer: whoever the responder ID names, the CA first
  local function named(cert)
    if self.responder_key_hash then
      return digest.hex(assert(c.key_hash(cert, "sha1"))) == self.responder_key_hash
    end
    return cert:subject():equals(self.responder_name)
  end
  local candidates, seen = {}, {}
  local function add(cert, kind)
    local fp = cert:fingerprint()
    if not seen[fp] and named(cert) then
      seen[fp] = true
      candidates[#candidates + 1] = { cert = cert, kind = kind }
    end
  end
  add(issuer, "issuer")
  for _, t in ipairs(trusted) do add(t, "trusted") end
  for _, x in ipairs(self.certs or {}) do
    add(x, contains(trusted, x) and "trusted" or (x:equals(issuer) and "issuer" or "delegated"))
  end
  if #candidates == 0 then
    return nil, ("%s: the responder ID (%s) names neither the issuer %s nor a certificate in the "
      .. "response%s"):format(what, self:responder_text(), subject_text(issuer),
        #trusted > 0 and " or a trusted responder certificate" or "")
  end
  local signer, kind, no_check, first_err
  for _, cand in ipairs(candidates) do
    local ok, why = true, nil
    if cand.kind == "delegated" then ok, why = check_delegated(cand.cert, issuer, now, skew) end
    if ok then
      -- a certificate whose key does not decode (an unsupported or damaged key) cannot have
      -- signed: a reason, not a raise (found by the ocsp_response fuzz target)
      local key, kerr = cand.cert:public_key()
      if key then
        ok, why = c.verify_signature(self._tbs, self._sig_alg, self._sig, self._sig_unused, key)
      else
        ok, why = false, kerr
      end
      if not ok then
        why = ("the response signature does not verify with the key of %s (%s): %s"):format(
          subject_text(cand.cert), cand.kind == "issuer" and "the issuer" or cand.kind .. " responder", why)
      end
    end
    if ok then
      signer, kind = cand.cert, cand.kind
      break
    end
    first_err = first_err or why
  end
  if not signer then return nil, what .. ": " .. first_err end
  if kind == "delegated" then no_check = has_ext(signer, M.NO_CHECK_OID) end

  if o.store ~= nil then
    local chain, err = o.store:verify(issuer, { time = now })
    if not chain then
      return nil, ("%s: the issuer %s does not verify against the trust store: %s"):format(what, subject_text(issuer), err)
    end
  end

  -- the CertIDs
  local cache = {}
  local want
  if o.cert ~= nil then
    if not is_cert(o.cert) then error("response:verify: 'cert' must be a certificate", 2) end
    if not o.cert:issuer():equals(issuer:subject()) then
      return nil, ("%s: %s is issued by %s, not by the issuer given (%s)"):format(what, subject_text(o.cert),
        o.cert:issuer():text(), subject_text(issuer))
    end
    want = norm_serial(o.cert:serial())
  elseif o.serial ~= nil then
    want = norm_serial(o.serial)
  end
  local single
  if #(self.responses or {}) == 0 then return nil, what .. ": the response holds no SingleResponse" end
  for i, s in ipairs(self.responses) do
    local h = issuer_hashes(issuer, s.hash_alg, cache)
    if not h then
      return nil, ("%s: response %d uses the CertID hash %s, which certbench does not compute"):format(what, i, s.hash_alg)
    end
    local mine = want == nil or norm_serial(s.serial) == want
    if s.issuer_name_hash ~= h.name or s.issuer_key_hash ~= h.key then
      local which = s.issuer_name_hash ~= h.name and "issuer name hash" or "issuer key hash"
      if s.issuer_name_hash ~= h.name and s.issuer_key_hash ~= h.key then which = "issuer name and key hashes" end
      if mine or want == nil then
        return nil, ("%s: the %s of the CertID for serial %s does not match the issuer %s: the answer is "
          .. "about a certificate of another CA"):format(what, which, s.serial, subject_text(issuer))
      end
    elseif mine then
      single = single or s
    end
  end
  if want and not single then
    return nil, ("%s: the response has no answer for serial %s"):format(what, want)
  end
  local checked = single and { single } or self.responses

  -- times
  for _, s in ipairs(checked) do
    if s.this_update > now + skew then
      return nil, ("%s: thisUpdate %s of serial %s is in the future (clock skew?)"):format(what, time_text(s.this_update), s.serial)
    end
    if s.next_update then
      if s.next_update < now - skew then
        return nil, ("%s: the response for serial %s expired at %s (nextUpdate)"):format(what, s.serial, time_text(s.next_update))
      end
      if s.next_update < s.this_update then
        return nil, ("%s: nextUpdate is before thisUpdate for serial %s"):format(what, s.serial)
      end
    elseif o.max_age and s.this_update < now - o.max_age then
      return nil, ("%s: the response for serial %s is from %s, older than %d seconds and without nextUpdate"):format(
        what, s.serial, time_text(s.this_update), o.max_age)
    elseif not s.next_update then
      warnings[#warnings + 1] = "no nextUpdate: the responder does not say how long the answer holds"
    end
    for _, e in ipairs(s.extensions or {}) do
      if e.critical then
        return nil, ("%s: unsupported critical extension %s in the answer for serial %s"):format(what, e.name or e.oid, s.serial)
      end
    end
  end
  for _, e in ipairs(self.extensions or {}) do
    if e.critical and e.oid ~= M.NONCE_OID then
      return nil, ("%s: unsupported critical response extension %s"):format(what, e.name or e.oid)
    end
  end

  -- the nonce
  if o.nonce ~= nil then
    if self.nonce == nil then
      return nil, what .. ": the request had a nonce and the response has none (a cached or replayed answer, "
        .. "or a responder that ignores nonces: check without --nonce)"
    end
    if self.nonce ~= o.nonce then
      local raw
      for _, e in ipairs(self.extensions or {}) do if e.oid == M.NONCE_OID then raw = e.value end end
      if raw ~= o.nonce then return nil, what .. ": the response's nonce differs from the request's (a replayed answer?)" end
    end
  end

  return {
    signer = signer, signer_kind = kind, no_check = no_check or false, single = single,
    status = single and single.status or nil, warnings = warnings,
  }
end

function M.get_url(url, der)
  local enc = c.base64(der):gsub("[+/=]", function(ch) return ("%%%02X"):format(ch:byte()) end)
  if #enc >= 255 then return nil end
  return url .. (url:sub(-1) == "/" and "" or "/") .. enc
end

local MAX_RESPONSE = 1 << 20

function M.check(o)
  local what = "ocsp check"
  if type(o) ~= "table" then error("ocsp.check: a table of options expected", 2) end
  options.check(o, { "cert", "issuer", "url", "nonce", "method", "digest", "timeout", "connect_timeout",
                     "trusted", "store", "time", "skew", "max_age", "ca_file" }, "ocsp.check")
  local cert, err = cert_arg(o.cert, "ocsp.check", "cert")
  if not cert then return nil, err end
  local issuer
  issuer, err = cert_arg(o.issuer, "ocsp.check", "issuer")
  if not issuer then return nil, err end
  local method = (o.method or "post"):lower()
  if method ~= "post" and method ~= "get" then error("ocsp.check: method must be \"post\" or \"get\"", 2) end
  local url = o.url
  if url == nil then
    local urls = cert:ocsp_urls() or {}
    url = urls[1]
    if not url then
      return nil, ("%s: %s has no OCSP URL in its Authority Information Access"):format(
        what, subject_text(cert)), "no_url"
    end
  end
  if type(url) ~= "string" then error("ocsp.check: url must be a string", 2) end
  local der, nonce = M.request { cert = cert, issuer = issuer, nonce = o.nonce, digest = o.digest }
  if not der then return nil, nonce end
  local http = require "certbench.http"
  local req = {
    url = url, timeout = o.timeout or require("certbench.downloads").check_timeout,
    connect_timeout = o.connect_timeout, -- http's default
    max_size = MAX_RESPONSE, fail_on_status = true, ca_file = o.ca_file,
    headers = { Accept = "application/ocsp-response" },
  }
  local used = "POST"
  if method == "get" then
    local get = M.get_url(url, der)
    if get then
      req.url, req.method, used = get, "GET", "GET"
    end
  end
  if used == "POST" then
    req.method, req.body = "POST", der
    req.headers["Content-Type"] = "application/ocsp-request"
  end
  local resp, herr, code = http.request(req)
  if not resp then return nil, what .. ": " .. herr, code end
  local r, perr = M.parse_response(resp.body or "")
  if not r then
    local ct = resp.content_type
    return nil, ("%s: %s: not an OCSP response%s (%s)"):format(what, url,
      ct and ct ~= "application/ocsp-response" and (" (the server sent " .. ct .. ")") or "", perr), "parse"
  end
  local warnings = {}
  if resp.content_type and resp.content_type:lower() ~= "application/ocsp-response" then
    warnings[#warnings + 1] = "the responder sent Content-Type " .. resp.content_type
  end
  if r.status ~= "successful" then
    return nil, ("%s: %s: the responder answered %s: %s"):format(what, url, r.status,
      STATUS_TEXT[r.status] or "?"), "status"
  end
  local info, verr = r:verify {
    issuer = issuer, cert = cert, nonce = nonce, trusted = o.trusted, store = o.store,
    time = o.time, skew = o.skew, max_age = o.max_age,
  }
  if not info then return nil, ("%s: %s"):format(url, verr), "verify" end
  for _, w in ipairs(info.warnings) do warnings[#warnings + 1] = w end
  local s = info.single
  return {
    status = s.status, revocation_time = s.revocation_time, reason = s.reason,
    this_update = s.this_update, next_update = s.next_update, produced_at = r.produced_at,
    responder = r:responder_text(), url = url, method = used, serial = cert:serial(),
    signer = tostring(info.signer:subject()), signer_kind = info.signer_kind, no_check = info.no_check,
    nonce = nonce ~= nil, warnings = warnings, response = r,
  }
end

return M
