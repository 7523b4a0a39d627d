-- certbench.detect: what a file holds, from its bytes, never from its name.
--
--   detect.detect(data[, {name=}]) -> info | nil, err, code
--   detect.file(path[, {name=, max_bytes=}]) -> info | nil, err, code
--     data may be DER (certificate, CSR, CRL, PKCS#8 / encrypted PKCS#8 / PKCS#1 / SEC1 private
--     key, SubjectPublicKeyInfo / PKCS#1 public key, PKCS#7, PKCS#12), PEM (any label, text
--     around and between the blocks: `Bag Attributes`, `subject=`/`issuer=` lines; CRLF or CR
--     line ends; RFC 1421 headers such as Proc-Type/DEK-Info), Base-64 without the armor, and
--     text in UTF-8 with a BOM or UTF-16 (LE or BE) as Windows tools write it.
--     info = {
--       encoding = "der" | "pem" | "base64",
--       bom = nil | "utf-8" | "utf-16le" | "utf-16be", line_ends = nil | "lf" | "crlf" | "cr" | "mixed",
--       objects = { obj... }, counts = { certificate = 2, ... }, warnings = { "..." },
--       text_around = true when PEM blocks have text before, between or after them,
--     }
--     obj = {
--       kind = "certificate" | "csr" | "crl" | "private_key" | "public_key" | "pkcs7" | "pkcs12"
--              | "ocsp_response" | "unknown",
--       format = private keys: "pkcs8" | "pkcs1" | "sec1" | "dsa"; public keys: "spki" | "pkcs1";
--       encrypted = true for encrypted keys, encryption = "pkcs8" | "legacy" (Proc-Type),
--       cipher = "DES-EDE3-CBC" (legacy) or the PBE (PKCS#8), algorithm = "RSA" | "EC" | ...,
--       der = the DER bytes (nil for legacy-encrypted keys; the decoded bytes of a block with an
--       unknown label), size = its length, trust_der = the trust settings after a TRUSTED
--       CERTIFICATE,
--       label = the PEM label, block = PEM block number, line = its BEGIN line,
--       headers = { ["Proc-Type"] = ..., ... }, pem = the block re-armored (LF, headers kept),
--       attributes = { friendlyName =, localKeyID = "HEX", subject =, issuer =, ... } from the
--       text before the block, preamble = that text, note = why the kind differs from the label,
--       what = a short description ("encrypted private key (PKCS#1 RSA, legacy PEM encryption
--              DES-EDE3-CBC)"),
--     }
--     code: "empty", "not_pki" (text or binary that is not PKI data), "truncated" (DER shorter
--     than its header says, or a PEM block without its END line), "concatenated" (several DER
--     objects back to back), "trailing" (bytes after the DER object), "bad_base64", "bad_pem".
--   detect.describe(obj) -> the obj.what text; detect.summary(info) -> "PEM (CRLF): 2 certificates"
--   detect.pem(label, der[, {crlf = true}]) -> PEM text, 64 columns; another options key raises
--   detect.pem_with_headers(label, headers, order, der) -> PEM text with RFC 1421 headers (a
--     legacy-encrypted key re-armored: headers = {["Proc-Type"]=...}, order = their order)
--   detect.b64decode(text) -> bytes | nil, err;  detect.b64encode(bytes) -> text
--   detect.der_info(bytes) -> kind, details | nil, err, code   (one DER element)
-- Nothing here raises on bad data: the fuzz target tests/fuzz/detect.lua holds it to that.
local M = {}

local MAX_DEPTH = 48 -- indefinite-length BER nesting we follow before giving up

---------------------------------------------------------------------------------------------
-- Base-64 and PEM text: core/pem.c, the one codec

local cpem = require "_certbench.pem"
local options = require "certbench.options"

M.b64decode = cpem.b64decode
M.b64encode = cpem.b64encode

function M.pem(label, der, opts)
  options.check(opts, { "crlf" }, "detect.pem")
  return cpem.encode(label, der, opts and opts.crlf)
end

---------------------------------------------------------------------------------------------
-- DER / BER

-- header(s, pos, stop) -> el | nil, why ("truncated" or "bad")
-- el = { tag = first byte, start, content (first content byte), len (nil: indefinite) }
local function header(s, pos, stop)
  if pos > stop then return nil, "truncated" end
  local t = s:byte(pos)
  local p = pos + 1
  if t & 0x1f == 0x1f then
    local n = 0
    repeat
      if p > stop then return nil, "truncated" end
      local c = s:byte(p)
      p = p + 1
      n = n + 1
      if n > 4 then return nil, "bad" end
    until c & 0x80 == 0
  end
  if p > stop then return nil, "truncated" end
  local l = s:byte(p)
  p = p + 1
  local len
  if l < 0x80 then
    len = l
  elseif l == 0x80 then
    if t & 0x20 == 0 then return nil, "bad" end -- indefinite length only for constructed
    len = nil
  else
    local n = l & 0x7f
    if n > 6 then return nil, "bad" end
    if p + n - 1 > stop then return nil, "truncated" end
    len = 0
    for i = 0, n - 1 do len = len * 256 + s:byte(p + i) end
    p = p + n
  end
  return { tag = t, start = pos, content = p, len = len }
end

-- finish(s, el, stop, depth) sets el.stop (last byte) for an element; returns true, or nil, why.
-- An indefinite length runs to its end-of-contents octets.
local function finish(s, el, stop, depth)
  if el.len then
    el.stop = el.content + el.len - 1
    if el.stop > stop then return nil, "truncated" end
    return true
  end
  if depth > MAX_DEPTH then return nil, "bad" end
  local p = el.content
  while true do
    if p + 1 > stop then return nil, "truncated" end
    if s:byte(p) == 0 and s:byte(p + 1) == 0 then
      el.stop = p + 1
      return true
    end
    local c, why = header(s, p, stop)
    if not c then return nil, why end
    local ok, why2 = finish(s, c, stop, depth + 1)
    if not ok then return nil, why2 end
    p = c.stop + 1
  end
end

-- children(s, el, stop, max) -> list of child elements (complete ones), and "truncated" when the
-- data ran out inside (the list has what came before), "bad" when it is not BER inside
local function children(s, el, stop, max)
  local out = {}
  local last = el.len and math.min(el.content + el.len - 1, stop) or stop
  local p = el.content
  while p <= last and #out < (max or 16) do
    if not el.len and p + 1 <= last and s:byte(p) == 0 and s:byte(p + 1) == 0 then break end
    local c, why = header(s, p, last)
    if not c then return out, why end
    local ok, why2 = finish(s, c, last, 1)
    if not ok then
      -- a child cut off by the end of the data: kept (marked partial) so that the shape of a
      -- truncated object can still be recognized
      if why2 == "truncated" and c.len then
        c.partial, c.stop = true, last
        out[#out + 1] = c
      end
      return out, why2
    end
    out[#out + 1] = c
    p = c.stop + 1
  end
  return out
end

local function oid_text(s, el)
  if not el or el.tag ~= 0x06 or not el.stop then return nil end
  local b = { s:byte(el.content, el.stop) }
  if #b == 0 or #b > 64 then return nil end
  local parts, v = {}, 0
  for i, x in ipairs(b) do
    v = v * 128 + (x & 0x7f)
    if x & 0x80 == 0 then
      if #parts == 0 then
        local first = v < 80 and v // 40 or 2
        parts[1] = tostring(first)
        parts[2] = tostring(v - first * 40)
      else
        parts[#parts + 1] = tostring(v)
      end
      v = 0
    elseif i == #b then
      return nil
    end
    if v > 2^48 then return nil end
  end
  return table.concat(parts, ".")
end

local function small_int(s, el)
  if not el or el.tag ~= 0x02 or not el.stop or el.stop < el.content or el.stop - el.content > 3 then
    return nil
  end
  local v = 0
  for i = el.content, el.stop do v = v * 256 + s:byte(i) end
  return v
end

local KEY_ALGS = {
  ["1.2.840.113549.1.1.1"] = "RSA", ["1.2.840.113549.1.1.10"] = "RSA-PSS",
  ["1.2.840.10045.2.1"] = "EC", ["1.3.101.112"] = "Ed25519", ["1.3.101.113"] = "Ed448",
  ["1.3.101.110"] = "X25519", ["1.3.101.111"] = "X448", ["1.2.840.10040.4.1"] = "DSA",
  ["1.2.840.10046.2.1"] = "DH", ["1.2.643.7.1.1.1.1"] = "GOST R 34.10-2012",
}

local PBE_ALGS = {
  ["1.2.840.113549.1.5.13"] = "PBES2",
  ["1.2.840.113549.1.5.3"] = "pbeWithMD5AndDES-CBC", ["1.2.840.113549.1.5.10"] = "pbeWithSHA1AndDES-CBC",
  ["1.2.840.113549.1.5.6"] = "pbeWithMD5AndRC2-CBC", ["1.2.840.113549.1.5.11"] = "pbeWithSHA1AndRC2-CBC",
  ["1.2.840.113549.1.12.1.1"] = "pbeWithSHAAnd128BitRC4", ["1.2.840.113549.1.12.1.2"] = "pbeWithSHAAnd40BitRC4",
  ["1.2.840.113549.1.12.1.3"] = "pbeWithSHAAnd3-KeyTripleDES-CBC",
  ["1.2.840.113549.1.12.1.4"] = "pbeWithSHAAnd2-KeyTripleDES-CBC",
  ["1.2.840.113549.1.12.1.5"] = "pbeWithSHAAnd128BitRC2-CBC",
  ["1.2.840.113549.1.12.1.6"] = "pbeWithSHAAnd40BitRC2-CBC",
}

local P7_TYPES = {
  ["1.2.840.113549.1.7.1"] = "data", ["1.2.840.113549.1.7.2"] = "signedData",
  ["1.2.840.113549.1.7.3"] = "envelopedData", ["1.2.840.113549.1.7.4"] = "signedAndEnvelopedData",
  ["1.2.840.113549.1.7.5"] = "digestedData", ["1.2.840.113549.1.7.6"] = "encryptedData",
  ["1.2.840.113549.1.9.16.1.2"] = "authData",
}

local function is_time(el) return el and (el.tag == 0x17 or el.tag == 0x18) end

-- the first OID inside an AlgorithmIdentifier element
local function alg_of(s, el)
  if not el or el.tag ~= 0x30 then return nil end
  local k = children(s, el, el.stop or #s, 1)
  return oid_text(s, k[1])
end

-- classify(s, el, stop) -> kind, details: what one SEQUENCE holds, from its shape. Works on a
-- truncated element too (as far as its first children go), so errors can name what was cut.
local function classify(s, el, stop)
  if el.tag ~= 0x30 then return "unknown", {} end
  local k = children(s, el, stop, 12)
  local t = {}
  for i = 1, #k do t[i] = k[i].tag end
  local n = #k
  -- signed objects: SEQUENCE { tbs SEQUENCE, AlgorithmIdentifier, BIT STRING }
  if t[1] == 0x30 and (t[2] == 0x30 or t[2] == nil) and (t[3] == 0x03 or t[3] == nil) and n <= 3 then
    local u = children(s, k[1], stop, 6)
    local v = {}
    for i = 1, #u do v[i] = u[i].tag end
    if v[1] == 0xA0 then return "certificate", {} end
    if v[1] == 0x02 and v[2] == 0x30 and v[3] == 0x30 then
      if v[4] == 0x30 then return "certificate", { version = 1 } end
      if is_time(u[4]) then return "crl", {} end
      if v[4] == 0xA0 or (v[4] == nil and #u == 3) then return "csr", {} end
    end
    if v[1] == 0x02 and v[2] == 0x30 and v[3] == nil then return "certificate", { partial = true } end
    if v[1] == 0x30 and v[2] == 0x30 and is_time(u[3]) then return "crl", {} end
    if t[2] == 0x30 and t[3] == 0x03 then return "unknown", { signed = true } end
  end
  -- SubjectPublicKeyInfo; EncryptedPrivateKeyInfo
  if n == 2 and t[1] == 0x30 and t[2] == 0x03 then
    local alg = alg_of(s, k[1])
    return "public_key", { format = "spki", algorithm = KEY_ALGS[alg] or alg }
  end
  if n == 2 and t[1] == 0x30 and t[2] == 0x04 then
    local alg = alg_of(s, k[1])
    return "private_key", { format = "pkcs8", encrypted = true, encryption = "pkcs8",
                            cipher = PBE_ALGS[alg] or alg }
  end
  -- PKCS#12: SEQUENCE { INTEGER 3, ContentInfo, MacData? }
  if t[1] == 0x02 and small_int(s, k[1]) == 3 and t[2] == 0x30 then
    local ci = children(s, k[2], stop, 1)
    local oid = oid_text(s, ci[1])
    if oid and P7_TYPES[oid] then return "pkcs12", { mac = t[3] == 0x30 } end
  end
  -- PKCS#7 / CMS ContentInfo
  if t[1] == 0x06 then
    local oid = oid_text(s, k[1])
    if oid and P7_TYPES[oid] then return "pkcs7", { type = P7_TYPES[oid] } end
  end
  -- OCSP response: SEQUENCE { ENUMERATED status, [0] responseBytes OPTIONAL }
  if t[1] == 0x0A and (n == 1 or t[2] == 0xA0) then return "ocsp_response", {} end
  -- PKCS#8 PrivateKeyInfo / OneAsymmetricKey
  if t[1] == 0x02 and t[2] == 0x30 and t[3] == 0x04 then
    local ver = small_int(s, k[1])
    if ver == 0 or ver == 1 then
      local alg = alg_of(s, k[2])
      return "private_key", { format = "pkcs8", algorithm = KEY_ALGS[alg] or alg }
    end
  end
  -- SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING, [0] params?, [1] public key? }
  if t[1] == 0x02 and small_int(s, k[1]) == 1 and t[2] == 0x04
     and (t[3] == nil or t[3] == 0xA0 or t[3] == 0xA1) then
    return "private_key", { format = "sec1", algorithm = "EC" }
  end
  -- all INTEGERs: PKCS#1 RSA private (9+) or public (2) key, DSA private key (6)
  local ints = 0
  for i = 1, n do if t[i] == 0x02 then ints = ints + 1 end end
  if ints == n and n > 0 then
    local ver = small_int(s, k[1])
    if n >= 9 and (ver == 0 or ver == 1) then return "private_key", { format = "pkcs1", algorithm = "RSA" } end
    if n == 6 and ver == 0 then return "private_key", { format = "dsa", algorithm = "DSA" } end
    if n == 2 then return "public_key", { format = "pkcs1", algorithm = "RSA" } end
  end
  return "unknown", { elements = n }
end

local NOUN = {
  certificate = "certificate", csr = "certificate request (PKCS#10)", crl = "CRL",
  private_key = "private key", public_key = "public key", pkcs7 = "PKCS#7 bundle",
  pkcs12 = "PKCS#12 (PFX) file", ocsp_response = "OCSP response", unknown = "unknown object",
}
M.NOUN = NOUN

local FORMAT_NAME = { pkcs8 = "PKCS#8", pkcs1 = "PKCS#1", sec1 = "SEC1", dsa = "DSA", spki = "SubjectPublicKeyInfo" }

function M.describe(o)
  local kind = o.kind
  if kind == "private_key" then
    local parts = { FORMAT_NAME[o.format] or o.format }
    if o.algorithm and not (o.format == "pkcs1" and o.algorithm == "RSA") and o.format ~= "dsa" then
      parts[1] = parts[1] .. " " .. o.algorithm
    elseif o.format == "pkcs1" then
      parts[1] = "PKCS#1 RSA"
    end
    if o.encrypted then
      if o.encryption == "legacy" then
        parts[#parts + 1] = "legacy PEM encryption" .. (o.cipher and (" " .. o.cipher) or "")
      elseif o.cipher then
        parts[#parts + 1] = o.cipher
      end
    end
    return (o.encrypted and "encrypted " or "") .. "private key (" .. table.concat(parts, ", ") .. ")"
  elseif kind == "public_key" then
    return "public key (" .. (FORMAT_NAME[o.format] or o.format) .. (o.algorithm and (", " .. o.algorithm) or "") .. ")"
  elseif kind == "pkcs7" then
    if o.type and o.type ~= "signedData" then return "PKCS#7 " .. o.type end
    return NOUN.pkcs7
  elseif kind == "unknown" then
    if o.label then return "PEM block '" .. o.label .. "'" end
    return "DER data of unknown type"
  end
  return NOUN[kind] or kind
end

-- der_object(s, pos, stop) -> obj, next_pos | nil, err, code: one element at pos
local function der_object(s, pos, stop)
  local el, why = header(s, pos, stop)
  if not el then
    if why == "truncated" then return nil, "truncated DER: the data ends inside the first header", "truncated" end
    return nil, "not DER", "not_pki"
  end
  local ok, why2 = finish(s, el, stop, 1)
  local kind, d = classify(s, el, stop)
  if not ok then
    if why2 == "truncated" then
      local what = kind ~= "unknown" and ("a " .. M.describe(setmetatable({ kind = kind }, { __index = d })))
                   or "DER data"
      if el.len then
        return nil, ("truncated: %s whose header announces %d bytes, but only %d are there"):format(
          what, el.content - el.start + el.len, stop - pos + 1), "truncated", kind
      end
      return nil, ("truncated: %s (BER, indefinite length) ends before its end-of-contents octets"):format(what),
        "truncated", kind
    end
    return nil, "not DER (malformed inside the first element)", "not_pki"
  end
  local o = { kind = kind, der = s:sub(el.start, el.stop) }
  for k2, v in pairs(d) do o[k2] = v end
  o.size = #o.der
  return o, el.stop + 1
end

function M.der_info(s)
  if type(s) ~= "string" then error("detect.der_info: expected a string, not " .. type(s), 2) end
  local o, nxt, code = der_object(s, 1, #s)
  if not o then return nil, nxt, code end
  return o.kind, o
end

---------------------------------------------------------------------------------------------
-- text: BOMs, UTF-16, line ends

local function printable_ratio(s)
  local n = math.min(#s, 4096)
  if n == 0 then return 1 end
  local bad = 0
  for i = 1, n do
    local b = s:byte(i)
    if b < 9 or (b > 13 and b < 32) or b == 127 then bad = bad + 1 end
  end
  return 1 - bad / n
end

local MAGIC = {
  { "\x89PNG", "a PNG image" }, { "PK\3\4", "a ZIP archive" }, { "\x1f\x8b", "a gzip file" },
  { "%PDF", "a PDF document" }, { "\xfe\xed\xfe\xed", "a Java KeyStore (keytool -importkeystore converts it to PKCS#12)" },
  { "\xce\xce\xce\xce", "a Java JCEKS keystore" }, { "\x7fELF", "a program (ELF)" },
  { "MZ", "a Windows program" }, { "\xd0\xcf\x11\xe0", "a Microsoft Office document" },
  { "ssh-rsa ", "an OpenSSH public key" }, { "ssh-ed25519 ", "an OpenSSH public key" },
  { "ecdsa-sha2-", "an OpenSSH public key" }, { "{", "JSON or other text" },
}

local function hex_prefix(s, n)
  local t = {}
  for i = 1, math.min(#s, n) do t[i] = ("%02X"):format(s:byte(i)) end
  return table.concat(t, " ")
end

local function not_pki(s)
  for _, m in ipairs(MAGIC) do
    if s:sub(1, #m[1]) == m[1] then return "not PKI data: this looks like " .. m[2] end
  end
  if printable_ratio(s) > 0.95 then
    local line = s:match("^%s*([^\r\n]*)") or ""
    if #line > 60 then line = line:sub(1, 57) .. "..." end
    return ("not PKI data: text without a PEM block or Base-64 (first line: %q)"):format(line)
  end
  return "not PKI data: binary data that is not DER (first bytes " .. hex_prefix(s, 8) .. ")"
end

---------------------------------------------------------------------------------------------
-- PEM

local LABELS = {
  ["CERTIFICATE"] = { kind = "certificate" }, ["X509 CERTIFICATE"] = { kind = "certificate" },
  ["TRUSTED CERTIFICATE"] = { kind = "certificate", trusted = true },
  ["CERTIFICATE REQUEST"] = { kind = "csr" }, ["NEW CERTIFICATE REQUEST"] = { kind = "csr" },
  ["X509 CRL"] = { kind = "crl" },
  ["PRIVATE KEY"] = { kind = "private_key", format = "pkcs8" },
  ["ENCRYPTED PRIVATE KEY"] = { kind = "private_key", format = "pkcs8", encrypted = true },
  ["RSA PRIVATE KEY"] = { kind = "private_key", format = "pkcs1", algorithm = "RSA" },
  ["EC PRIVATE KEY"] = { kind = "private_key", format = "sec1", algorithm = "EC" },
  ["DSA PRIVATE KEY"] = { kind = "private_key", format = "dsa", algorithm = "DSA" },
  ["PUBLIC KEY"] = { kind = "public_key", format = "spki" },
  ["RSA PUBLIC KEY"] = { kind = "public_key", format = "pkcs1", algorithm = "RSA" },
  ["PKCS7"] = { kind = "pkcs7" }, ["CMS"] = { kind = "pkcs7" }, ["CERTIFICATE CHAIN"] = { kind = "pkcs7" },
  ["PKCS12"] = { kind = "pkcs12" }, ["OCSP RESPONSE"] = { kind = "ocsp_response" },
}
M.LABELS = LABELS

-- attributes(text) reads what `openssl pkcs12` prints before a block: "Bag Attributes" with
-- "    name: value" lines, "Key Attributes", "subject=" and "issuer=" lines.
local function attributes(text)
  local attrs, any = {}, false
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^%s*(subject)=%s*(.-)%s*$")
    if not k then k, v = line:match("^%s*(issuer)=%s*(.-)%s*$") end
    if not k then
      k, v = line:match("^%s+([%a][%w %-_.]-):%s*(.-)%s*$")
    end
    if k and v then
      if k == "localKeyID" then v = v:gsub("[%s:]", ""):upper() end
      if attrs[k] == nil then attrs[k] = v end
      any = true
    end
  end
  return any and attrs or nil
end

local function pem_blocks(text, info)
  local objects, n_blocks = {}, 0
  local around = false
  local blocks, tail = cpem.blocks(text)
  for _, blk in ipairs(blocks) do
    local label, begin_line = blk.label, blk.line
    n_blocks = blk.index
    if blk.error == "mangled" then
      local line = text:match("^[^\n]*", (function()
        local pos = 1
        for _ = 2, begin_line do pos = text:find("\n", pos, true) + 1 end
        return pos
      end)())
      return nil, ("line %d: a mangled PEM armor line (%q)"):format(begin_line, line:sub(1, 60)), "bad_pem"
    elseif blk.error == "truncated" then
      if blk.next_line then
        return nil, ("PEM block %d (%s, line %d) has no END line before the next BEGIN (line %d)"):format(
          n_blocks, label, begin_line, blk.next_line), "truncated"
      end
      return nil, ("truncated: PEM block %d (%s, line %d) has no END line"):format(n_blocks, label, begin_line),
        "truncated"
    elseif blk.error == "mismatch" then
      return nil, ("PEM block %d (line %d): BEGIN %s is closed by END %s (line %d)"):format(
        n_blocks, begin_line, label, blk.end_label, blk.end_line), "bad_pem"
    elseif blk.error == "bad_base64" and blk.char then
      return nil, ("PEM block %d (%s, line %d): bad Base-64: character %q on line %d"):format(
        n_blocks, label, begin_line, blk.char, blk.char_line), "bad_base64"
    elseif blk.error == "bad_base64" then
      return nil, ("PEM block %d (%s, line %d): bad Base-64: %s"):format(n_blocks, label, begin_line, blk.message),
        "bad_base64"
    elseif blk.error == "empty" then
      return nil, ("PEM block %d (%s, line %d) is empty"):format(n_blocks, label, begin_line), "bad_pem"
    end
    local der = blk.der
    local headers, hlist = {}, {}
    for _, h in ipairs(blk.headers or {}) do
      headers[h[1]] = h[2]
      hlist[#hlist + 1] = h[1]
    end
    local pretext = blk.pre
    if pretext:match("%S") then around = true end
    local spec = LABELS[label]
    local o = { label = label, block = n_blocks, line = begin_line, headers = headers }
    if next(headers) then o.header_order = hlist end
    o.attributes = attributes(pretext)
    if pretext:match("%S") then o.preamble = pretext:match("^%s*(.-)%s*$") end
    local legacy = headers["Proc-Type"] and headers["Proc-Type"]:gsub("%s", ""):match("^4,ENCRYPTED$")
    if spec then for k, v in pairs(spec) do o[k] = v end end
    o.trusted = nil
    if legacy then
      o.kind = o.kind or "private_key"
      o.encrypted, o.encryption = true, "legacy"
      o.cipher = headers["DEK-Info"] and headers["DEK-Info"]:match("^%s*([^,%s]+)")
      o.size = #der
    elseif not spec then
      o.kind = "unknown"
      o.der = der
      o.size = #der
    else
      -- the content decides; the label is only a hint
      local obj, nxt, code = der_object(der, 1, #der)
      if not obj then
        if code == "truncated" then
          return nil, ("PEM block %d (%s, line %d): %s"):format(n_blocks, label, begin_line, nxt), "truncated"
        end
        return nil, ("PEM block %d (%s, line %d): the Base-64 does not decode to DER (%s)"):format(
          n_blocks, label, begin_line, nxt), "bad_pem"
      end
      if nxt <= #der then
        local rest = der:sub(nxt)
        if not (spec.trusted and rest:byte(1) == 0x30) then
          return nil, ("PEM block %d (%s, line %d): %d bytes after the DER object"):format(
            n_blocks, label, begin_line, #rest), "bad_pem"
        end
        o.trust_der = rest
      end
      o.der = obj.der
      o.size = #obj.der
      if obj.kind ~= "unknown" and obj.kind ~= spec.kind then
        o.note = ("the block is labelled %s but holds a %s"):format(label, M.describe(obj))
        if spec.kind == "certificate" and obj.kind == "pkcs7" then
          o.note = o.note .. " (as Microsoft CA web enrollment writes a certificate chain)"
        end
        info.warnings[#info.warnings + 1] = ("PEM block %d (line %d): %s"):format(n_blocks, begin_line, o.note)
        o.format, o.encrypted, o.encryption, o.cipher, o.algorithm = nil, nil, nil, nil, nil
      elseif obj.kind == "unknown" then
        info.warnings[#info.warnings + 1] = ("PEM block %d (%s, line %d): its content does not look like a %s"):format(
          n_blocks, label, begin_line, NOUN[spec.kind])
      end
      for k, v in pairs(obj) do
        if k ~= "der" and k ~= "size" and (obj.kind ~= "unknown" or k ~= "kind") then o[k] = v end
      end
      if o.kind == "private_key" and spec.kind == "private_key" and obj.kind == "private_key"
         and obj.format ~= spec.format then
        o.note = ("the block is labelled %s but holds a %s"):format(label, M.describe(obj))
        info.warnings[#info.warnings + 1] = ("PEM block %d (line %d): %s"):format(n_blocks, begin_line, o.note)
      end
    end
    o.pem = M.pem_with_headers(label, o.headers, o.header_order, der)
    objects[#objects + 1] = o
  end
  if tail:match("%S") and n_blocks > 0 then around = true end
  info.text_around = around
  return objects
end

function M.pem_with_headers(label, headers, order, der)
  if not order or #order == 0 then return M.pem(label, der) end
  local h = {}
  for _, k in ipairs(order) do h[#h + 1] = k .. ": " .. headers[k] end
  local p = M.pem(label, der)
  return p:gsub("\n", "\n" .. table.concat(h, "\n") .. "\n\n", 1)
end

---------------------------------------------------------------------------------------------

local function fail(name, err, code)
  if name then err = name .. ": " .. err end
  return nil, err, code
end

local function count(info)
  local c = {}
  for _, o in ipairs(info.objects) do c[o.kind] = (c[o.kind] or 0) + 1 end
  info.counts = c
  for i, o in ipairs(info.objects) do
    o.index = i
    o.what = M.describe(o)
  end
  return info
end

local function der_path(s, info, name)
  local objs = {}
  local pos, stop = 1, #s
  local o, nxt, code = der_object(s, 1, stop)
  if not o then return fail(name, nxt, code) end
  objs[1] = o
  pos = nxt
  if pos <= stop then
    local rest = s:sub(pos)
    if not rest:find("[^%z \t\r\n]") then
      info.warnings[#info.warnings + 1] = ("%d bytes of padding (NUL or white space) after the DER object, ignored"):format(#rest)
    else
      -- more objects back to back, or garbage after the first one
      local more = {}
      local p = pos
      while p <= stop and #more < 64 do
        local o2, n2, c2 = der_object(s, p, stop)
        if not o2 then
          if #more == 0 then
            return fail(name, ("%d bytes after the %s (%d bytes) that are not another DER object"):format(
              stop - pos + 1, M.describe(o), o.size), "trailing")
          end
          more[#more + 1] = { what = (c2 == "truncated") and "a truncated object" or "data that is not DER" }
          break
        end
        more[#more + 1] = { what = M.describe(o2), size = o2.size }
        p = n2
      end
      local t = { ("%s (%d bytes)"):format(M.describe(o), o.size) }
      for _, m in ipairs(more) do t[#t + 1] = m.size and ("%s (%d bytes)"):format(m.what, m.size) or m.what end
      return fail(name, ("%d DER objects back to back: %s; a DER file holds one object (use PEM or PKCS#7 for several)"):format(
        #t, table.concat(t, ", ")), "concatenated")
    end
  end
  if o.kind == "unknown" then
    return fail(name, ("DER data of unknown type (a SEQUENCE of %d elements): not a certificate, CSR, CRL, key, PKCS#7 or PKCS#12"):format(
      o.elements or 0), "not_pki")
  end
  info.objects = objs
  return count(info)
end

function M.detect(data, opts)
  if type(data) ~= "string" then error("detect.detect: data must be a string, not " .. type(data), 2) end
  if opts ~= nil and type(opts) ~= "table" then error("detect.detect: options must be a table", 2) end
  options.check(opts, { "name" }, "detect.detect")
  local name = opts and opts.name
  local info = { objects = {}, warnings = {}, counts = {} }
  if #data == 0 then return fail(name, "empty file", "empty") end
  local s = data
  -- DER first: a certificate is never valid text
  if s:byte(1) == 0x30 and printable_ratio(s) < 0.9 then
    info.encoding = "der"
    return der_path(s, info, name)
  end
  -- text: BOMs, UTF-16 and line ends, as core/pem.c reads them
  local bom, ends, no_bom
  s, bom, ends, no_bom = cpem.text(s)
  info.bom, info.line_ends = bom, ends
  if no_bom then info.encoding_note = (bom == "utf-16le" and "UTF-16LE" or "UTF-16BE") .. " without a BOM" end
  if s:find("-----BEGIN ", 1, true) then
    info.encoding = "pem"
    local objs, err, code = pem_blocks(s, info)
    if not objs then return fail(name, err, code) end
    if #objs == 0 then return fail(name, "no PEM block in the text", "not_pki") end
    info.objects = objs
    return count(info)
  end
  local body = s:match("^%s*(.-)%s*$")
  if body == "" then return fail(name, "empty file (only white space)", "empty") end
  -- Base-64 of DER starts with "M" (0x30) and has no blanks inside its lines
  if #body >= 16 and body:sub(1, 1) == "M" and not body:find("[^A-Za-z0-9+/=%s]")
     and not body:find("%S[ \t]+%S") then
    local der, err = M.b64decode(body)
    if not der then return fail(name, "Base-64 text without PEM armor, but " .. err, "bad_base64") end
    if der:byte(1) ~= 0x30 then
      return fail(name, "Base-64 text without PEM armor that does not decode to DER (first bytes " .. hex_prefix(der, 4) .. ")", "not_pki")
    end
    info.encoding = "base64"
    return der_path(der, info, name)
  end
  return fail(name, not_pki(s), "not_pki")
end

function M.file(path, opts)
  if type(path) ~= "string" then error("detect.file: path must be a string", 2) end
  options.check(opts, { "name", "max_bytes" }, "detect.file")
  local fs = require "certbench.fs"
  local data, err = fs.read(path, (opts and opts.max_bytes) or fs.FILE_MAX)
  if not data then return nil, err, "io" end
  local o = { name = (opts and opts.name) or path }
  return M.detect(data, o)
end

local PLURAL = {
  certificate = "certificates", csr = "certificate requests", crl = "CRLs", private_key = "private keys",
  public_key = "public keys", pkcs7 = "PKCS#7 bundles", pkcs12 = "PKCS#12 files",
  ocsp_response = "OCSP responses", unknown = "other PEM blocks",
}
M.PLURAL = PLURAL
local ORDER = { "private_key", "certificate", "csr", "crl", "public_key", "pkcs7", "pkcs12", "ocsp_response", "unknown" }

function M.summary(info)
  local how = ({ der = "DER", pem = "PEM", base64 = "Base-64 without armor" })[info.encoding] or "?"
  local notes = {}
  if info.bom then notes[#notes + 1] = ({ ["utf-8"] = "UTF-8 BOM", ["utf-16le"] = "UTF-16LE",
                                          ["utf-16be"] = "UTF-16BE" })[info.bom] end
  if info.line_ends == "crlf" then notes[#notes + 1] = "CRLF" elseif info.line_ends == "cr" then
    notes[#notes + 1] = "CR line ends" elseif info.line_ends == "mixed" then notes[#notes + 1] = "mixed line ends" end
  if info.text_around then notes[#notes + 1] = "text around the blocks" end
  if #notes > 0 then how = how .. " (" .. table.concat(notes, ", ") .. ")" end
  local parts = {}
  for _, k in ipairs(ORDER) do
    local n = info.counts[k]
    if n then
      if n == 1 then
        local one
        for _, o in ipairs(info.objects) do if o.kind == k then one = o.what break end end
        parts[#parts + 1] = "1 " .. one
      else
        parts[#parts + 1] = n .. " " .. PLURAL[k]
      end
    end
  end
  return how .. ": " .. table.concat(parts, ", ")
end

return M
