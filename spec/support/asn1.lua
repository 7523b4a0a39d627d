-- spec/support/asn1.lua: a little DER toolkit for specs that need odd files: hand-made PFX and
-- PKCS#7 structures, BER re-encodings (indefinite lengths, chunked strings), bags without
-- attributes. Single-byte tags only, which is all these formats use.
local M = {}

function M.len(n)
  if n < 0x80 then return string.char(n) end
  local b = ""
  while n > 0 do
    b = string.char(n & 0xff) .. b
    n = n >> 8
  end
  return string.char(0x80 | #b) .. b
end

function M.tlv(tag, content)
  return string.char(tag) .. M.len(#content) .. content
end

function M.seq(...) return M.tlv(0x30, table.concat({ ... })) end
function M.set(...) return M.tlv(0x31, table.concat({ ... })) end
function M.octets(s) return M.tlv(0x04, s) end
function M.int(n)
  local b = ""
  repeat
    b = string.char(n & 0xff) .. b
    n = n >> 8
  until n == 0
  if b:byte(1) >= 0x80 then b = "\0" .. b end
  return M.tlv(0x02, b)
end
function M.explicit(n, ...) return M.tlv(0xa0 | n, table.concat({ ... })) end
function M.bmp(s) -- ASCII only: enough for test names
  return M.tlv(0x1e, (s:gsub(".", function(ch) return "\0" .. ch end)))
end

function M.oid(dotted)
  local arcs = {}
  for a in dotted:gmatch("%d+") do arcs[#arcs + 1] = tonumber(a) end
  local out = { string.char(arcs[1] * 40 + arcs[2]) }
  for i = 3, #arcs do
    local v, b = arcs[i], { string.char(arcs[i] & 0x7f) }
    v = v >> 7
    while v > 0 do
      table.insert(b, 1, string.char(0x80 | (v & 0x7f)))
      v = v >> 7
    end
    out[#out + 1] = table.concat(b)
  end
  return M.tlv(0x06, table.concat(out))
end

-- read one DER element at pos: tag, content, next position
function M.read(s, pos)
  pos = pos or 1
  local tag, l = s:byte(pos), s:byte(pos + 1)
  local p = pos + 2
  if l >= 0x80 then
    local n = l & 0x7f
    l = 0
    for i = 0, n - 1 do l = (l << 8) | s:byte(p + i) end
    p = p + n
  end
  return tag, s:sub(p, p + l - 1), p + l
end

-- decode: the elements of s as { {tag=, content=}... }
function M.decode(s)
  local out, pos = {}, 1
  while pos <= #s do
    local tag, content, nxt = M.read(s, pos)
    out[#out + 1] = { tag = tag, content = content }
    pos = nxt
  end
  return out
end

function M.encode(list)
  local parts = {}
  for i, e in ipairs(list) do parts[i] = M.tlv(e.tag, e.content) end
  return table.concat(parts)
end

local function chunks(tag, content, size)
  local parts = {}
  for i = 1, #content, size do parts[#parts + 1] = M.tlv(tag, content:sub(i, i + size - 1)) end
  return table.concat(parts)
end

-- berify re-encodes DER as BER the way Java and Windows tools do: every constructed element
-- with an indefinite length, OCTET STRINGs (and [0] IMPLICIT OCTET STRINGs, tag 0x80) longer
-- than `size` as constructed strings of chunks. Contents of OCTET STRINGs are left as they are
-- unless deep is set and they are themselves DER (then they are re-encoded too: this breaks a
-- MAC, which covers those bytes).
function M.berify(der, size, deep)
  size = size or 64
  local out = {}
  for _, e in ipairs(M.decode(der)) do
    if e.tag & 0x20 ~= 0 then
      out[#out + 1] = string.char(e.tag) .. "\x80" .. M.berify(e.content, size, deep) .. "\0\0"
    elseif (e.tag == 0x04 or e.tag == 0x80) and #e.content > size then
      local content = e.content
      if deep and e.tag == 0x04 and content:byte(1) == 0x30 then
        local ok, inner = pcall(M.berify, content, size, deep)
        if ok then content = inner end
      end
      out[#out + 1] = string.char(e.tag | 0x20) .. "\x80" .. chunks(0x04, content, size) .. "\0\0"
    else
      out[#out + 1] = M.tlv(e.tag, e.content)
    end
  end
  return table.concat(out)
end

-- OIDs of PKCS#12 and PKCS#7
M.DATA = "1.2.840.113549.1.7.1"
M.SIGNED_DATA = "1.2.840.113549.1.7.2"
M.ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
M.BAG = "1.2.840.113549.1.12.10.1."
M.X509_CERT = "1.2.840.113549.1.9.22.1"
M.X509_CRL = "1.2.840.113549.1.9.23.1"

-- pfx_from_safes makes a PFX without a MAC from SafeContents (DER strings) in data ContentInfos
function M.pfx_from_safes(safes, mac_data)
  local cis = {}
  for i, s in ipairs(safes) do cis[i] = M.seq(M.oid(M.DATA), M.explicit(0, M.octets(s))) end
  local auth = M.seq(table.concat(cis))
  return M.seq(M.int(3), M.seq(M.oid(M.DATA), M.explicit(0, M.octets(auth))), mac_data or "")
end

-- safe_bags: the SafeBags of an unencrypted, MAC-less PFX, as { {oid=, value=, attrs=}... }
-- (raw DER pieces), in file order over every data ContentInfo
function M.safe_bags(pfx)
  local top = M.decode(M.decode(pfx)[1].content)
  local auth_ci = M.decode(top[2].content)
  local auth = M.decode(M.decode(auth_ci[2].content)[1].content)[1].content
  local bags = {}
  for _, ci in ipairs(M.decode(auth)) do
    local parts = M.decode(ci.content)
    local safe = M.decode(M.decode(parts[2].content)[1].content)[1].content
    for _, b in ipairs(M.decode(safe)) do
      local f = M.decode(b.content)
      bags[#bags + 1] = { oid = M.tlv(f[1].tag, f[1].content), value = M.tlv(f[2].tag, f[2].content),
                          attrs = f[3] and M.tlv(f[3].tag, f[3].content) or nil }
    end
  end
  return bags
end

function M.bag(b, with_attrs)
  return M.seq(b.oid, b.value, with_attrs and b.attrs or "")
end

return M
