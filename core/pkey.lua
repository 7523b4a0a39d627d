-- certbench.pkey: private and public keys (RSA, EC P-256/P-384/P-521, Ed25519).
--
--   pkey.generate(spec)   spec: {type="rsa", bits=2048} (2048..8192, a multiple of 128),
--                         {type="ec", curve="P-256"|"P-384"|"P-521"}, {type="ed25519"}, or a
--                         string "rsa", "rsa:4096", "ec", "ec:P-384", "ed25519". A bad spec raises.
--   pkey.load(data[, {password=, format="pem"|"der", name=, max_iter=}])
--                         -> key | nil, err, code
--       data: PEM (text around blocks, CRLF, a BOM, a bundle: the first key block is taken) or
--       DER (autodetected), or base64 without the armor. Reads PKCS#8, encrypted PKCS#8 (PBES2
--       with PBKDF2-HMAC-SHA1/224/256/384/512 or scrypt and AES/3DES/DES-CBC; PBES1 MD5/SHA1-DES;
--       PKCS#12 PBEs), PKCS#1, SEC1, legacy encrypted PEM (Proc-Type: 4,ENCRYPTED with DES-CBC,
--       DES-EDE3-CBC, AES-128/192/256-CBC), SubjectPublicKeyInfo and PKCS#1 public keys.
--       password: a string or a certbench.secret; "" is a password (the empty one).
--       name: prefixed to messages ("server.key: wrong password (or corrupt key)").
--       max_iter: refuse KDF iteration counts (and scrypt N) above it (default 10,000,000).
--       code: "encrypted" (a password is needed), "bad_password", "not_a_key", "unsupported"
--       (DSA, X25519, Ed448, unknown curves or ciphers, OpenSSH keys).
--   pkey.load_file(path[, opts]) -> key | nil, err, code   (code "io" when the file is unreadable)
--   pkey.is_key(v) -> boolean
--   pkey.pem_encode(label, der) -> "-----BEGIN label-----" text, 64 columns
--
--   key:type() -> "rsa" | "ec" | "ed25519" (keys taken from certificates may be "dsa"...)
--   key:bits(), key:curve() -> "P-256"... | nil, key:is_private()
--   key:to_pem([{format="pkcs8"|"traditional", password=, cipher=, iter=}]) -> text | nil, err
--       pkcs8 (default) or traditional (BEGIN RSA/EC PRIVATE KEY). With a password: PKCS#8 is
--       PBES2, PBKDF2-HMAC-SHA256 (iter, default 100,000; a random salt), cipher-CBC with a
--       random IV, as OpenSSL 3 writes it; traditional is the legacy Proc-Type/DEK-Info form
--       (`openssl rsa -aes256 -traditional`). cipher: "aes-256-cbc" (default), "aes-192-cbc",
--       "aes-128-cbc", "des-ede3-cbc".
--   key:to_der([{format=, password=, cipher=, iter=}]) -> bytes | nil, err (no encrypted
--       traditional DER: that does not exist)
--   key:save(path[, {form="pem"|"der", force=, ...to_pem options}]) -> true | nil, err
--       written with fs.write_key: mode 0600 from creation, an existing file only with force
--   key:public() -> a key with the public half; key:public_pem(), key:public_der() (SPKI)
--   key:fingerprint([alg="sha256"]) -> "AB:CD:..." of the SPKI DER; key:spki_sha256() -> raw
--   key:matches(key_or_cert_or_csr) -> true | false, reason
--   key:sign(data[, {digest="sha256", padding="pkcs1"|"pss"}]) -> signature | nil, err
--       Ed25519 signs the data itself (the digest option is ignored). MD5 raises.
--   key:verify(data, sig[, {digest=, padding=}]) -> true | false, reason
--   key:close(); keys are also closed by the garbage collector and by `<close>`.
-- An options key a function does not know raises, naming it.
local c = require "_certbench.pkey"
local digest = require "certbench.digest"
local optcheck = require "certbench.options"

local M = {}
local methods = c.methods

local CURVES = {
  ["p-256"] = "P-256", p256 = "P-256", prime256v1 = "P-256", secp256r1 = "P-256",
  ["p-384"] = "P-384", p384 = "P-384", secp384r1 = "P-384",
  ["p-521"] = "P-521", p521 = "P-521", secp521r1 = "P-521",
}

local function spec_error(msg)
  error("pkey.generate: " .. msg, 3)
end

function M.generate(spec)
  if spec == nil then spec = "rsa" end
  if type(spec) == "string" then
    local t, arg = spec:match("^(%w+):(.+)$")
    t = t or spec
    t = t:lower()
    if t == "rsa" then
      local bits = arg and math.tointeger(tonumber(arg))
      if arg and not bits then spec_error("'" .. spec .. "': the RSA size must be a number") end
      spec = { type = "rsa", bits = bits }
    elseif t == "ec" or t == "ecdsa" then
      spec = { type = "ec", curve = arg }
    elseif t == "ed25519" and not arg then
      spec = { type = "ed25519" }
    else
      spec_error("unknown key spec '" .. spec .. "' (use rsa:BITS, ec:CURVE or ed25519)")
    end
  elseif type(spec) ~= "table" then
    spec_error("the key spec must be a table or a string, not " .. type(spec))
  end
  local t = type(spec.type) == "string" and spec.type:lower() or spec.type
  if t == "rsa" then
    local bits = spec.bits or 2048
    if math.type(bits) ~= "integer" then spec_error("bits must be an integer") end
    if bits < 2048 or bits > 8192 or bits % 128 ~= 0 then
      spec_error("RSA bits must be 2048 to 8192, a multiple of 128 (2048, 3072, 4096...), not " .. bits)
    end
    return c.generate_rsa(bits)
  elseif t == "ec" or t == "ecdsa" then
    local curve = spec.curve or "P-256"
    local canon = type(curve) == "string" and CURVES[curve:lower()]
    if not canon then spec_error("curve must be P-256, P-384 or P-521, not " .. tostring(curve)) end
    return c.generate_ec(canon)
  elseif t == "ed25519" then
    return c.generate_ed25519()
  end
  spec_error("key type must be rsa, ec or ed25519, not " .. tostring(spec.type))
end

-- Windows tools sometimes save text as UTF-16LE with a BOM; a key file is ASCII underneath.
local function from_utf16le(data)
  local body = data:sub(3)
  local ascii = body:gsub("(.)\0", "%1")
  -- every pair must have matched, or this was not UTF-16LE text after all
  if #ascii * 2 == #body then return ascii end
  return data
end

-- the options each function knows; any other key raises, naming it
local ENCODE = { "format", "password", "cipher", "iter" }
local KNOWN = {
  ["pkey.load"] = { "password", "format", "name", "max_iter" },
  ["key:to_pem"] = ENCODE, ["key:to_der"] = ENCODE,
  ["key:save"] = { "form", "force", table.unpack(ENCODE) },
  ["key:sign"] = { "digest", "padding" }, ["key:verify"] = { "digest", "padding" },
}
KNOWN["pkey.load_file"] = KNOWN["pkey.load"]

local function check_opts(fn, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fn .. ": options must be a table, not " .. type(opts), 3) end
  return optcheck.check(opts, KNOWN[fn], fn, 4)
end

function M.load(data, opts)
  if type(data) ~= "string" then error("pkey.load: data must be a string, not " .. type(data), 2) end
  opts = check_opts("pkey.load", opts)
  local fmt = opts.format
  if fmt ~= nil and fmt ~= "pem" and fmt ~= "der" then
    error("pkey.load: format must be \"pem\" or \"der\", not " .. tostring(fmt), 2)
  end
  if data:sub(1, 2) == "\255\254" then data = from_utf16le(data) end
  local key, err, code = c.load(data, fmt, opts.password, opts.max_iter)
  if not key and opts.name then err = opts.name .. ": " .. err end
  return key, err, code
end

function M.load_file(path, opts)
  local fs = require "certbench.fs"
  opts = check_opts("pkey.load_file", opts)
  local data, err = fs.read(path) -- fs.FILE_MAX, the one cap on a local file
  if not data then return nil, err, "io" end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.name = o.name or path
  return M.load(data, o)
end

M.is_key = c.is_key
M.pem_encode = c.pem_encode

local encode = methods.encode
methods.encode = nil

local function write(self, form, opts)
  opts = check_opts(form == "pem" and "key:to_pem" or "key:to_der", opts)
  return encode(self, form, opts.format, opts.password, opts.cipher, opts.iter)
end

function methods:to_pem(opts) return write(self, "pem", opts) end
function methods:to_der(opts) return write(self, "der", opts) end

function methods:save(path, opts)
  opts = check_opts("key:save", opts)
  local form = opts.form or "pem"
  if form ~= "pem" and form ~= "der" then error("key:save: form must be \"pem\" or \"der\"", 2) end
  local data, err = write(self, form, { format = opts.format, password = opts.password,
                                        cipher = opts.cipher, iter = opts.iter })
  if not data then return nil, err end
  return require("certbench.fs").write_key(path, data, { force = opts.force })
end

function methods:public_pem()
  local der, err = self:public_der()
  if not der then return nil, err end
  return c.pem_encode("PUBLIC KEY", der)
end

function methods:fingerprint(alg)
  local der, err = self:public_der()
  if not der then return nil, err end
  return digest.hex(digest.hash(alg or "sha256", der), ":")
end

function methods:spki_sha256()
  local der, err = self:public_der()
  if not der then return nil, err end
  return digest.sha256(der)
end

local function padding(fn, opts)
  local p = opts.padding
  if p == nil or p == "pkcs1" then return false end
  if p == "pss" then return true end
  error(fn .. ": padding must be \"pkcs1\" or \"pss\", not " .. tostring(p), 3)
end

local csign, cverify = methods.sign, methods.verify

function methods:sign(data, opts)
  opts = check_opts("key:sign", opts)
  return csign(self, data, opts.digest, padding("key:sign", opts))
end

function methods:verify(data, sig, opts)
  opts = check_opts("key:verify", opts)
  return cverify(self, data, sig, opts.digest, padding("key:verify", opts))
end

return M
