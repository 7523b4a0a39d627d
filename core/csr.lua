-- certbench.csr: PKCS#10 certificate requests.
--   csr.new{ subject = name | "/C=NO/CN=x" | { {"CN","x"} }, key = pkey (private),
--            san = {"DNS:a.example.com", "IP:192.0.2.1", "email:x@y", "URI:sip:x@y"} or
--                  {dns={...}, ip={...}, email={...}, uri={...}},
--            key_usage = {"digitalSignature", "keyEncipherment", ...} (critical unless
--              key_usage_critical = false), eku = {"serverAuth", "clientAuth", or OIDs},
--            basic_constraints = {ca=false, critical=true} | "critical,CA:FALSE",
--            extensions = { {oid=, value_der=, critical=} | {name="basicConstraints",
--              value="CA:FALSE", critical=true} },
--            digest = "sha256" | "sha384" | "sha512" | "sha1",
--            attributes = { {"challengePassword", "text"}, {"unstructuredName", "text"} } or
--              { challengePassword = "text", ... } (PKCS#9 attributes of the request, not of the
--              subject: Microsoft CAs read the challenge password there),
--            and x509.new's other extension options (san_critical, eku_critical, ca, path_len,
--              crl_distribution_points, ocsp_urls, ca_issuers_urls, policies) }; any other key
--              raises, naming it
--     -> req | nil, err[, warning]   (SHA-1 gives a warning as the third value; MD5 is refused;
--        Ed25519 keys sign without a digest)
--   csr.load(data) -> req | nil, err   (PEM, also NEW CERTIFICATE REQUEST, or DER)
--   csr.load_file(path) -> req | nil, "path: ..."
--   csr.is_csr(v)
--   csr.verify_many(list) -> oks, reasons   r:verify() for every request of the list, on every
--                                           core (see core/lib/par.h; $CERTBENCH_THREADS caps the
--                                           threads): oks[i] = true | false, reasons[i] = the
--                                           message of a request that does not verify (else nil).
--                                           An item that is not a certbench.csr raises.
--   csr.load_many(list) -> reqs, errs         csr.load of every string of the list, parsed on
--                                           every core: reqs[i] = req | false, errs[i] = the
--                                           message csr.load gives (else nil)
--   csr.verify_start(list) -> job             the same checks, on copies of the requests, while
--                                           the caller goes on (with the objects too);
--                                           job:wait() -> oks, reasons (the calling thread helps
--                                           with what is left); job:close() (also <close>, and
--                                           garbage collection) stops the checks
-- Methods: r:subject(), r:public_key(), r:san() -> { {type=, value=}... }, r:key_usage(),
--   r:eku() (short names, OIDs when unnamed), r:basic_constraints(), r:policies(), r:ski(),
--   r:crl_distribution_points(), r:ocsp_urls(), r:ca_issuers_urls(),
--   r:extensions() -> { {oid=, name=, critical=, der=, text=}... }, r:verify() -> true |
--   false, reason, r:signature_algorithm(), r:version() (1), r:to_pem(), r:to_der(), r:text(),
--   r:equals(other), r == other, r:attributes() -> { {name=, oid=, value=}... } (the attributes
--   but the extension request; value is the text of a string attribute)
local c = require "_certbench.csr"
local name = require "certbench.name"
local ext = require "certbench.extopts"
local options = require "certbench.options"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"

local M = { load = c.load, is_csr = c.is_csr, verify_many = c.verify_many, verify_start = c.verify_start,
            load_many = c.load_many }
local methods = c._metatable.__index
local mt = c._metatable

function methods.san(r)
  return x509._finish_names(r:_san())
end

function methods.text(r)
  local t, err = r:_text()
  if not t then return nil, err end
  -- openssl indents the attributes (Requested Extensions) one level under "Attributes:"
  t = t:gsub("(\n        Attributes:\n)(.-)(\n    Signature Algorithm:)", function(head, body, tail)
    return head .. body:gsub("([^\n]+)", "    %1") .. tail
  end, 1)
  return x509._openssl_layout(t)
end

local NEW_KEYS = ext.keys { "subject", "key", "attributes" }
function M.new(o)
  local what = "csr.new"
  if type(o) ~= "table" then error(what .. ": expected a table of options", 2) end
  options.check(o, NEW_KEYS, what)
  if o.subject == nil then error(what .. ": subject is required", 2) end
  if o.key == nil then error(what .. ": key (the private key) is required", 2) end
  if not pkey.is_key(o.key) then error(what .. ": key must be a certbench.pkey", 2) end
  if not o.key:is_private() then return nil, what .. ": key must be a private key (it signs the request)" end
  local subject, err = name.from(o.subject, what)
  if not subject then return nil, err end
  local digest, warning, derr = ext.digest(o.digest, what)
  if not digest then return nil, derr end
  local opts = { subject = subject, key = o.key, digest = digest }
  local ok, nerr = ext.normalize(o, opts, what)
  if not ok then return nil, nerr end
  if opts.san and opts.san_critical == nil and #subject == 0 then opts.san_critical = true end
  if o.attributes ~= nil then
    if type(o.attributes) ~= "table" then error(what .. ": attributes must be a table", 2) end
    local list = {}
    for _, a in ipairs(o.attributes) do
      if type(a) ~= "table" or type(a[1]) ~= "string" or type(a[2]) ~= "string" then
        error(what .. ": attributes is a list of {name, text} pairs", 2)
      end
      list[#list + 1] = { a[1], a[2] }
    end
    local keys = {}
    for k, v in pairs(o.attributes) do
      if math.type(k) ~= "integer" then
        if type(k) ~= "string" or type(v) ~= "string" then error(what .. ": attributes: names and values are strings", 2) end
        keys[#keys + 1] = k
      end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do list[#list + 1] = { k, o.attributes[k] } end
    opts.attributes = list
  end
  local req, cerr = c._new(opts)
  if not req then return nil, cerr end
  return req, nil, warning
end

function M.load_file(path) return x509._from_file(c.load, "csr.load", path) end

mt.__tostring = function(r)
  local ok, s = pcall(function() return "certbench.csr: " .. r:subject():rfc4514() end)
  return ok and s or "certbench.csr (closed)"
end

return M
