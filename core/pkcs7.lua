-- certbench.pkcs7: certificates-only PKCS#7 bundles (.p7b/.p7c), as Windows' certificate
-- export, CA web sites (DISA, FPKI) and `openssl crl2pkcs7` write them.
--
--   pkcs7.load(data[, opts]) -> { certs = { x509... }, crls = { der... }, signed = bool }
--                               | nil, err, code
--       data: DER or BER, PEM (the first `PKCS7` or `CMS` block; text around it is fine), or
--       base64 without armor. A SignedData with signatures gives its certificates too
--       (signed = true). CRLs stay DER strings (certbench.crl loads them). A PEM
--       certificate bundle is not PKCS#7: x509.load_all reads those.
--       opts.name prefixes messages (a file name).
--       code: "not_pkcs7", "truncated", "malformed", "unsupported", "bad_pem".
--   pkcs7.read(path[, opts])                 load a file
--   pkcs7.build{ certs = { x509... }, crls = { der or crl object... } } -> DER | nil, err
--       (order kept)
--   pkcs7.to_pem(der) -> "-----BEGIN PKCS7-----\n...-----END PKCS7-----\n"
-- An options key a function does not know raises, naming it.
local c = require "_certbench.pkcs7"
local options = require "certbench.options"
require "certbench.x509" -- the methods of the certificates that load returns

local M = {}

function M.load(data, opts)
  if type(data) ~= "string" then
    error("pkcs7.load: data must be a string, not " .. type(data), 2)
  end
  options.check(opts, { "name" }, "pkcs7.load")
  local r, err, code = c.parse(data)
  if not r then return nil, ((opts and opts.name) or "pkcs7") .. ": " .. err, code end
  return r
end

function M.read(path, opts)
  options.check(opts, { "name" }, "pkcs7.read")
  local fs = require "certbench.fs"
  local data, err = fs.read(path, fs.FILE_MAX)
  if not data then return nil, err end
  return M.load(data, { name = (opts and opts.name) or path })
end

function M.build(opts)
  if type(opts) ~= "table" then
    error("pkcs7.build: expects a table { certs = {...}, crls = {...} }, not " .. type(opts), 2)
  end
  options.check(opts, { "certs", "crls" }, "pkcs7.build")
  if opts.certs ~= nil and type(opts.certs) ~= "table" then
    error("pkcs7.build: certs must be a table of certificates", 2)
  end
  if opts.crls ~= nil and type(opts.crls) ~= "table" then
    error("pkcs7.build: crls must be a table of DER strings", 2)
  end
  local crls
  if opts.crls then
    -- DER strings, or CRL objects (certbench.crl's have to_der; no need to load that module)
    crls = {}
    for i, v in ipairs(opts.crls) do
      if type(v) ~= "string" then
        local ok, der = pcall(function() return v:to_der() end)
        if not ok or type(der) ~= "string" then
          error(("pkcs7.build: crls[%d] must be DER (a string) or a CRL object"):format(i), 2)
        end
        v = der
      end
      crls[i] = v
    end
  end
  return c.build(opts.certs or {}, crls)
end

function M.to_pem(der)
  if type(der) ~= "string" then
    error("pkcs7.to_pem: der must be a string, not " .. type(der), 2)
  end
  return c.to_pem(der)
end

return M
