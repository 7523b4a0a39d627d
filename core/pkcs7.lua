-- certbench.pkcs7: certificates-only PKCS#7 bundles (.p7b/.p7c), as Windows' certificate
-- export, CA web sites (DISA, FPKI) and `openssl crl2pkcs7` write them.
--
--   pkcs7.load(data[, opts]) -> { certs = { x509... }, crls = { der... }, signed = bool }
--                               | nil, err, code
--       data: DER or BER, PEM (`-----BEGIN PKCS7-----`, also `CMS`), or base64 without
--       armor. A SignedData with signatures gives its certificates too (signed = true).
--       CRLs stay DER strings (certbench.crl can load them). opts.name prefixes messages.
--       code: "not_pkcs7", "truncated", "malformed", "unsupported", "bad_pem".
--   pkcs7.read(path[, opts])                 load a file
--   pkcs7.build{ certs = { x509... }, crls = { der... } } -> DER   (order kept)
--   pkcs7.to_pem(der) -> "-----BEGIN PKCS7-----\n...-----END PKCS7-----\n"
local c = require "_certbench.pkcs7"

local M = {}

local PKCS7_LABELS = { PKCS7 = true, CMS = true, ["PKCS #7 SIGNED DATA"] = true }

-- find the first PEM block: label, body (nil, nil when there is none)
local function pem_block(text)
  local s, e, label = text:find("%-%-%-%-%-BEGIN ([^\r\n]-)%-%-%-%-%-")
  if not s then return nil end
  local es, ee = text:find("-----END " .. label .. "-----", e + 1, true)
  if not es then return label, nil end
  local body = text:sub(e + 1, es - 1)
  -- RFC 1421 headers ("Name: value" lines up to a blank line) are not base64
  if body:find("^%s*[%w-]+:") then
    body = body:gsub("^%s*.-\r?\n\r?\n", "", 1)
  end
  return label, body
end

function M.load(data, opts)
  if type(data) ~= "string" then
    error("pkcs7.load: data must be a string, not " .. type(data), 2)
  end
  opts = opts or {}
  local name = opts.name or "pkcs7"
  local der = data
  local text = data:gsub("^\239\187\191", "") -- a UTF-8 BOM
  if text:find("-----BEGIN ", 1, true) then
    local label, body = pem_block(text)
    if not PKCS7_LABELS[label] then
      if label == "CERTIFICATE" or label == "X509 CERTIFICATE" or label == "TRUSTED CERTIFICATE" then
        return nil, name .. ": a PEM certificate bundle, not PKCS#7 (x509.load_all reads it)", "not_pkcs7"
      end
      return nil, ("%s: PEM %s, not PKCS#7"):format(name, label), "not_pkcs7"
    end
    if not body then
      return nil, ("%s: the PEM block %s has no END line"):format(name, label), "truncated"
    end
    der = c.b64decode(body)
    if not der then
      return nil, ("%s: bad base64 in the PEM block %s"):format(name, label), "bad_pem"
    end
  elseif #text >= 8 and text:byte(1) ~= 0x30 and not text:find("[^%w%+/=%s]") then
    der = c.b64decode(text) or data
  end
  local r, err, code = c.parse(der)
  if not r then return nil, name .. ": " .. err, code end
  return r
end

function M.read(path, opts)
  local fs = require "certbench.fs"
  local data, err = fs.read(path, 256 * 1024 * 1024)
  if not data then return nil, err end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.name = o.name or path
  return M.load(data, o)
end

function M.build(opts)
  if type(opts) ~= "table" then
    error("pkcs7.build: expects a table { certs = {...}, crls = {...} }, not " .. type(opts), 2)
  end
  if opts.certs ~= nil and type(opts.certs) ~= "table" then
    error("pkcs7.build: certs must be a table of certificates", 2)
  end
  if opts.crls ~= nil and type(opts.crls) ~= "table" then
    error("pkcs7.build: crls must be a table of DER strings", 2)
  end
  return c.build(opts.certs or {}, opts.crls)
end

function M.to_pem(der)
  if type(der) ~= "string" then
    error("pkcs7.to_pem: der must be a string, not " .. type(der), 2)
  end
  local b = c.b64encode(der)
  local lines = { "-----BEGIN PKCS7-----" }
  for i = 1, #b, 64 do lines[#lines + 1] = b:sub(i, i + 63) end
  lines[#lines + 1] = "-----END PKCS7-----\n"
  return table.concat(lines, "\n")
end

return M
