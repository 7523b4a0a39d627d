-- certbench.pkcs12: PFX (.pfx/.p12) files, as Windows, OpenSSL 1.x/3.x, Java, macOS and
-- Firefox write them.
--
--   pkcs12.parse(data, password[, opts]) -> result | nil, err, code
--       data: DER/BER, or the same as base64 text.
--       password: string or certbench.secret; nil or "" tries the empty password both as
--       "" and as absent (OpenSSL and Windows differ). opts.name prefixes messages (a file
--       name), opts.max_iterations caps every KDF (default 10,000,000), opts.verify_mac =
--       false reads a file whose MAC cannot be checked (BLAKE2, GOST), with a warning.
--       code: "not_pfx", "truncated", "malformed", "bad_password", "unsupported".
--       result = {
--         key = pkey | nil,        the first private key
--         cert = x509 | nil,       the certificate whose public key matches that key (chosen
--                                  by key, never by localKeyID or order)
--         chain = { x509... },     every other certificate, in file order
--         keys = { pkey... },      all keys (a PFX may hold several)
--         bags = { { type = "key"|"cert"|"crl"|"secret"|"unknown", bag_type = "certBag"...,
--                    object = pkey|x509|nil, friendly_name =, local_key_id = "HEX",
--                    attributes = { {oid=, name=, value=}... }, encryption = "none"|"...",
--                    iterations =, key_bag = n (certs: index of the matching key bag),
--                    der = (bags kept undecoded), problem = "..." }... },
--         algorithms = { mac = "sha256"|"sha1"|"PBMAC1/..."|nil, mac_iterations =, mac_verified =,
--                        key_encryption =, key_iterations =, cert_encryption =,
--                        cert_iterations =, password_form = "UTF-16"|"Latin-1"|"absent" },
--         warnings = { "..." },
--       }
--   pkcs12.read(path, password[, opts])   parse a file
--   pkcs12.build{ key=, cert=, chain={...}, password=, friendly_name=,
--                 profile="modern"|"legacy"|"windows2016", iterations=, mac_iterations=,
--                 key_pbe=, cert_pbe=, mac=, prf=, key_id=true } -> DER | nil, err
--   An options key a function does not know raises, naming it.
--       modern: PBES2 AES-256-CBC + PBKDF2-HMAC-SHA256, SHA-256 MAC, 2048 iterations
--               (OpenSSL 3's defaults); legacy: pbeWithSHAAnd3-KeyTripleDES-CBC for key and
--               certificates, SHA-1 MAC (old Windows, Java 8, `openssl pkcs12 -legacy`);
--               windows2016: legacy with Windows' 2000 iterations.
--       key_pbe/cert_pbe override: "aes-256-cbc", "aes-192-cbc", "aes-128-cbc", "3des",
--       "rc2-40", "none"; mac: "sha1".."sha512", "none"; prf: PBKDF2's hash.
local c = require "_certbench.pkcs12"
local options = require "certbench.options"
-- the objects that parse returns get their methods from these modules
require "certbench.pkey"
require "certbench.x509"

local M = {}

M.PROFILES = {
  modern = { key_pbe = "aes-256-cbc", cert_pbe = "aes-256-cbc", prf = "sha256", mac = "sha256",
             iterations = 2048 },
  legacy = { key_pbe = "3des", cert_pbe = "3des", prf = "sha1", mac = "sha1", iterations = 2048 },
  windows2016 = { key_pbe = "3des", cert_pbe = "3des", prf = "sha1", mac = "sha1", iterations = 2000 },
}

local PARSE_KEYS = { "name", "max_iterations", "verify_mac" }

function M.parse(data, password, opts)
  if type(data) ~= "string" then
    error("pkcs12.parse: data must be a string, not " .. type(data), 2)
  end
  opts = options.check(opts, PARSE_KEYS, "pkcs12.parse") or {}
  local name = opts.name or "pfx"
  local r, err, code = c.parse(data, password, opts.max_iterations, opts.verify_mac ~= false)
  if not r then return nil, name .. ": " .. err, code end
  local keys, key_index = {}, nil
  for i, b in ipairs(r.bags) do
    if b.type == "key" and b.object then
      keys[#keys + 1] = b.object
      key_index = key_index or i
    end
    if b.problem then r.warnings[#r.warnings + 1] = ("bag %d: %s"):format(i, b.problem) end
  end
  r.keys = keys
  r.key = key_index and r.bags[key_index].object or nil
  r.chain = {}
  for _, b in ipairs(r.bags) do
    if b.type == "cert" and b.object then
      if key_index and not r.cert and b.key_bag == key_index then
        r.cert = b.object
      else
        r.chain[#r.chain + 1] = b.object
      end
    end
  end
  return r
end

function M.read(path, password, opts)
  options.check(opts, PARSE_KEYS, "pkcs12.read")
  local fs = require "certbench.fs"
  local data, err = fs.read(path, fs.FILE_MAX)
  if not data then return nil, err end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.name = o.name or path
  return M.parse(data, password, o)
end

local BUILD_FIELDS = { "key", "cert", "chain", "password", "friendly_name", "iterations",
                       "mac_iterations", "key_pbe", "cert_pbe", "mac", "prf", "key_id" }
local BUILD_KEYS = { "profile", table.unpack(BUILD_FIELDS) }

function M.build(opts)
  if type(opts) ~= "table" then
    error("pkcs12.build: expects a table of options, not " .. type(opts), 2)
  end
  options.check(opts, BUILD_KEYS, "pkcs12.build")
  local profile = opts.profile or "modern"
  local p = M.PROFILES[profile]
  if not p then
    error(("pkcs12.build: unknown profile '%s' (modern, legacy, windows2016)"):format(tostring(profile)), 2)
  end
  local t = {}
  for k, v in pairs(p) do t[k] = v end
  for _, k in ipairs(BUILD_FIELDS) do
    if opts[k] ~= nil then t[k] = opts[k] end
  end
  if opts.iterations ~= nil and opts.mac_iterations == nil then t.mac_iterations = opts.iterations end
  return c.build(t)
end

return M
