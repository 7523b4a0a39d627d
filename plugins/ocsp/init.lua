-- The ocsp plugin: the revocation status of a certificate from its OCSP responder (RFC 6960).
--   certbench ocsp check CERT --issuer ISSUER [--url URL] [--nonce] [--method post|get]
--                            [--digest sha1|sha256] [--trusted RESPONDER.pem] [--ca CA.pem]
--                            [--timeout S] [--tls-ca CA.pem] [--json]
--   exit 0 good, 3 revoked, 1 unknown or no usable answer (as `crl check`)
-- From Lua: require("certbench.plugins.ocsp").check{cert = path, issuer = path, url =, nonce =,
-- method =, digest =, trusted = {paths}, ca = path, timeout =, tls_ca = path} -> result, exit code
-- | nil, err, code; the work itself is certbench.ocsp.check.
--   .report(result) -> the result as --json prints it (times in RFC 3339)
local lazy = require("certbench").lazy
local ocsp = lazy "certbench.ocsp"
local x509 = lazy "certbench.x509"
local ui = require "certbench.ui"
local options = require "certbench.options"

local M = {
  name = "ocsp",
  version = "1.0",
  summary = "OCSP: the revocation status of a certificate from its responder (exit 0 good, 3 revoked, 1 unknown)",
}

local EXIT = { good = 0, revoked = 3, unknown = 1 }

-- load_certs(path, what) -> { x509... } | nil, err: the certificates of a file, "-" or URL in any
-- form certbench.input reads (PEM, DER, .p7b, PFX without a password, ZIP...)
local function load_certs(path, what)
  local input = require "certbench.input"
  local r, err = input.read(path)
  if not r then return nil, what .. ": " .. err end
  if input.problem(r) then return nil, what .. ": " .. input.problem(r) end
  local certs, cerr = input.all(r, "certificate")
  if not certs then return nil, what .. ": " .. cerr end
  if #certs == 0 then return nil, ("%s: %s: no certificate"):format(what, path) end
  return certs
end

local function list(v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  return v
end

-- check(opts) -> result | nil, err, code (the command maps result.status to its exit code)
function M.check(opts)
  local certs, err = load_certs(opts.cert, "ocsp check")
  if not certs then return nil, err end
  local cert, issuer = certs[1], nil
  if opts.issuer then
    local is, ierr = load_certs(opts.issuer, "ocsp check: --issuer")
    if not is then return nil, ierr end
    issuer = is[1]
  else
    for i = 2, #certs do
      if cert:issued_by(certs[i]) then issuer = certs[i] break end
    end
    if not issuer then
      return nil, ("ocsp check: %s: the issuer's certificate is needed (--issuer ISSUER.pem)"):format(opts.cert), 2
    end
  end
  if not cert:issued_by(issuer) then
    local _, why = cert:issued_by(issuer)
    return nil, ("ocsp check: %s is not the issuer of %s (%s)"):format(issuer:subject():text(),
      cert:subject():text(), tostring(why))
  end
  local trusted = {}
  for _, p in ipairs(list(opts.trusted)) do
    local t, terr = load_certs(p, "ocsp check: --trusted")
    if not t then return nil, terr end
    for _, x in ipairs(t) do trusted[#trusted + 1] = x end
  end
  local st
  if opts.ca then
    local serr
    st, serr = require("certbench.store").load_file(opts.ca)
    if not st then return nil, "ocsp check: --ca: " .. serr end
  end
  local res, cerr, code = ocsp.check {
    cert = cert, issuer = issuer, url = opts.url, nonce = opts.nonce, method = opts.method,
    digest = opts.digest, trusted = trusted, store = st, timeout = opts.timeout,
    ca_file = opts.tls_ca, time = opts.time,
  }
  if not res and code == "no_url" then
    -- the library's hint names its option (url=); a command line user needs the flag, and the file
    return nil, ("ocsp check: %s: %s has no OCSP URL in its Authority Information Access: give the responder with --url URL")
      :format(opts.cert, cert:subject():rfc4514()), 2
  end
  if not res then return nil, cerr, code end
  res.response = nil
  res.subject = cert:subject():rfc4514()
  res.issuer = issuer:subject():rfc4514()
  return res
end

-- the text and JSON output: times as RFC 3339 text
-- nm(s): a name the result holds in RFC 4514 form (its --json form) as people see names in every
-- command: name:text(), escaped
local function nm(s) return s and require("certbench.name").text_of(s) end

local function text(res, ctx)
  local say = ctx.ui.say
  local status = res.status:upper()
  if res.status == "revoked" then
    status = status .. " on " .. res.revocation_time .. (res.reason and (" (" .. res.reason .. ")") or "")
  end
  say("%s (serial %s): %s", nm(res.subject), res.serial, status)
  say("  responder    %s (%s), %s", res.url, res.method, nm(res.responder) or "?")
  say("  signed by    %s (%s%s)", nm(res.signer), res.signer_kind == "issuer" and "the issuer itself" or
    (res.signer_kind .. " responder"), res.no_check and ", id-pkix-ocsp-nocheck" or "")
  say("  produced at  %s", res.produced_at)
  say("  this update  %s", res.this_update)
  say("  next update  %s", res.next_update or "- (not given)")
  if res.nonce then say("  nonce        sent and matched") end
  for _, w in ipairs(res.warnings or {}) do ctx.ui.warn("%s", w) end
end

function M.report(res)
  local out = {}
  for k, v in pairs(res) do out[k] = v end
  for _, k in ipairs { "revocation_time", "this_update", "next_update", "produced_at" } do
    if out[k] then out[k] = ui.time(out[k]) end
  end
  out.warnings = ui.array(res.warnings or {})
  return out
end

M.commands = {
  check = {
    summary = "ask the certificate's OCSP responder: good (exit 0), revoked (3), unknown or no answer (1)",
    description = "The request (RFC 6960, CertID with SHA-1 unless --digest) goes to --url or the "
      .. "responder named in the certificate's Authority Information Access, by HTTP POST (or GET "
      .. "for short requests with --method get). The answer must be signed by the issuer or by a "
      .. "responder certificate the issuer gave id-kp-OCSPSigning (or one given with --trusted), be "
      .. "about this certificate and current, and echo the nonce with --nonce.",
    options = function(p)
      p:argument("cert", "the certificate to check (PEM or DER; with its issuer after it, --issuer may be left out)")
      p:option("--issuer", "the issuer's certificate (the CA that signed CERT)")
      p:option("--url", "the responder URL (default: the certificate's AIA OCSP URL)")
      p:flag("--nonce", "send a nonce and require the response to echo it")
      p:option("--method", "post (default) or get (RFC 6960 appendix A: for requests under 255 bytes)")
        :choices { "post", "get" }
      p:option("--digest", "hash of the CertID: sha1 (default, what responders expect) or sha256")
        :choices { "sha1", "sha256", "sha384", "sha512" }
      p:option("--trusted", "a responder certificate trusted by configuration (repeatable)"):count("*")
      p:option("--ca", "verify the issuer against these CA certificates too")
      p:option("--timeout", "seconds for the request", "30"):convert(options.seconds("--timeout"))
      p:option("--tls-ca", "CA file for an https responder URL")
    end,
    run = function(args)
      local timeout = args.timeout
      local res, err, code = M.check {
        cert = args.cert, issuer = args.issuer, url = args.url, nonce = args.nonce or nil,
        method = args.method, digest = args.digest, trusted = args.trusted, ca = args.ca,
        timeout = timeout, tls_ca = args.tls_ca,
      }
      -- the library's codes ("connect", "verify", ...) are not exit codes: 2 stays a usage error
      if not res then return nil, err, code == 2 and 2 or 1 end
      return M.report(res), nil, EXIT[res.status] or 1
    end,
    text = text,
  },
}

return M
