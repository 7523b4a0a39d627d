-- certbench.plugins.ca.db: the files of an `openssl ca` folder, read and written byte for byte
-- as openssl 3 does, with no crypto: serial numbers as hex strings of any length, the times of
-- index.txt, index lines, the serial/crlnumber files and index.txt.attr.
--
--   index.txt: one line per certificate, six tab-separated fields (openssl's TXT_DB):
--     status  V valid, R revoked, E expired (set by `openssl ca -updatedb`)
--     expiry  the certificate's notAfter as encoded: YYMMDDHHMMSSZ (UTCTime) before 2050,
--             YYYYMMDDHHMMSSZ (GeneralizedTime) from 2050
--     revoked empty, or "DATE[,reason[,extra]]": extra is the hold instruction OID of
--             certificateHold or the time of keyCompromise/CACompromise (keyTime/CAkeyTime)
--     serial  upper-case hex, an even number of digits ("00" for zero)
--     file    always "unknown"
--     subject X509_NAME_oneline: "/C=NO/O=x/CN=y", "+" between the members of a multi-valued
--             RDN, "\/" and "\+" in values, bytes outside ' '..'~' as \xHH
--   A tab inside a field is written "\<TAB>" (TXT_DB_write); lines starting "#" are skipped.
local M = {}

-- serial numbers -------------------------------------------------------------------------------

-- norm_serial(hex) -> upper-case hex of an even length without superfluous leading zeros,
-- "00" for zero, as BN_bn2hex and i2a_ASN1_INTEGER write it; nil for anything not hex.
function M.norm_serial(hex)
  if type(hex) ~= "string" then return nil end
  hex = hex:gsub("^%s+", ""):gsub("%s+$", "")
  if hex:sub(1, 2) == "0x" or hex:sub(1, 2) == "0X" then hex = hex:sub(3) end
  hex = hex:gsub(":", "")
  if hex == "" or hex:find("[^%x]") then return nil end
  hex = hex:upper():gsub("^0+", "")
  if hex == "" then return "00" end
  if #hex % 2 == 1 then hex = "0" .. hex end
  return hex
end

-- cmp_serial(a, b) -> -1, 0, 1 for normalized serials
function M.cmp_serial(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

local HEXV = {}
for i = 0, 15 do HEXV[string.format("%X", i)] = i end

-- add_serial(hex, n) -> hex + n (n >= 0, an integer), normalized; any length
function M.add_serial(hex, n)
  assert(n >= 0)
  if #hex < 16 or (#hex == 16 and hex:byte(1) <= 55 --[[ '7' ]]) then
    -- fits in a (positive) integer: the common case, and the fast one
    local v = tonumber(hex, 16)
    if v <= math.maxinteger - n then
      local s = string.format("%X", v + n)
      if #s % 2 == 1 then s = "0" .. s end
      return s
    end
  end
  local digits = {}
  for i = #hex, 1, -1 do digits[#digits + 1] = HEXV[hex:sub(i, i)] end
  local carry, i = n, 1
  while carry > 0 do
    local d = (digits[i] or 0) + carry
    digits[i] = d % 16
    carry = d // 16
    i = i + 1
  end
  local out = {}
  for j = #digits, 1, -1 do out[#out + 1] = string.format("%X", digits[j]) end
  return M.norm_serial(table.concat(out))
end

-- sub_serial(a, b) -> a - b as an integer when it fits (a >= b, both normalized), else nil
function M.sub_serial(a, b)
  if M.cmp_serial(a, b) < 0 then return nil end
  if #a > 14 or #b > 14 then
    -- long serials (random 159-bit ones): the difference only matters when it is small
    local pa, pb = a:sub(1, #a - 12), b:sub(1, #b - 12)
    if #a ~= #b or pa ~= pb then return nil end
    a, b = a:sub(-12), b:sub(-12)
  end
  return tonumber(a, 16) - tonumber(b, 16)
end

-- read_serial_text(text) -> hex | nil, why: the serial and crlnumber files as openssl reads them
-- (a2i_ASN1_INTEGER: hex digits, either case, a "\" at the end of a line continues it)
function M.parse_serial_file(text, what)
  if text == nil then return nil, what .. ": missing" end
  local joined = text:gsub("\\\r?\n", "")
  local first = joined:match("^([^\r\n]*)")
  first = first:gsub("%s+$", "")
  local v = M.norm_serial(first)
  if not v then
    return nil, string.format("%s: not a hexadecimal number (%q)", what, first:sub(1, 40))
  end
  return v
end

-- the text of the serial and crlnumber files: hex and a newline
function M.serial_file_text(hex)
  return hex .. "\n"
end

-- times --------------------------------------------------------------------------------------

-- days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

-- asn1_time(epoch) -> the notAfter/revocation text RFC 5280 asks for: UTCTime for 1950-2049,
-- GeneralizedTime otherwise
function M.asn1_time(t)
  local year = tonumber(os.date("!%Y", t))
  if year >= 1950 and year < 2050 then return os.date("!%y%m%d%H%M%SZ", t) end
  return os.date("!%Y%m%d%H%M%SZ", t)
end

-- parse_asn1_time("YYMMDDHHMMSSZ" | "YYYYMMDDHHMMSSZ") -> epoch | nil
function M.parse_asn1_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec
  if #s == 13 then
    y, mo, d, h, mi, sec = s:match("^(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)Z$")
    if not y then return nil end
    y = tonumber(y)
    y = y + (y < 50 and 2000 or 1900)
  elseif #s == 15 then
    y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)Z$")
    if not y then return nil end
    y = tonumber(y)
  else
    return nil
  end
  mo, d, h, mi, sec = tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
end

-- revocation reasons ------------------------------------------------------------------------

-- RFC 5280 CRLReason codes, with the words openssl writes in index.txt
M.REASONS = {
  unspecified = 0, keyCompromise = 1, CACompromise = 2, affiliationChanged = 3,
  superseded = 4, cessationOfOperation = 5, certificateHold = 6, removeFromCRL = 8,
  privilegeWithdrawn = 9, AACompromise = 10,
}
M.REASON_NAMES = {}
for k, v in pairs(M.REASONS) do M.REASON_NAMES[v] = k end
-- openssl's index.txt also uses these two words: keyCompromise and CACompromise with a time
local INDEX_REASON = {
  keyTime = "keyCompromise", CAkeyTime = "CACompromise", holdInstruction = "certificateHold",
}

-- reason_word(text) -> the canonical RFC 5280 word (case-insensitive, "-" and "_" ignored)
local REASON_LOOKUP = {}
for k in pairs(M.REASONS) do REASON_LOOKUP[k:lower()] = k end
function M.reason_word(text)
  if type(text) ~= "string" then return nil end
  return REASON_LOOKUP[text:lower():gsub("[-_ ]", "")]
end

function M.reason_list()
  local t = {}
  for k in pairs(M.REASONS) do t[#t + 1] = k end
  table.sort(t, function(a, b) return M.REASONS[a] < M.REASONS[b] end)
  return t
end

-- parse_revoked("DATE[,reason[,extra]]") -> { time=, reason=, hold=, compromise_time= } | nil
function M.parse_revoked(field)
  local date, rest = field:match("^([^,]*),?(.*)$")
  local t = M.parse_asn1_time(date)
  if not t then return nil end
  local r = { time = t, date = date }
  if rest ~= "" then
    local word, extra = rest:match("^([^,]*),?(.*)$")
    local canon = INDEX_REASON[word] or M.reason_word(word)
    if not canon then return nil end
    r.reason = canon
    if word == "holdInstruction" then r.hold = extra ~= "" and extra or nil
    elseif word == "keyTime" or word == "CAkeyTime" then r.compromise_time = M.parse_asn1_time(extra) end
  end
  return r
end

-- revoked_field(time, reason) -> the third field as openssl writes it ("DATE" or "DATE,reason")
function M.revoked_field(t, reason)
  local s = M.asn1_time(t)
  if reason then s = s .. "," .. reason end
  return s
end

-- index lines ---------------------------------------------------------------------------------

local function split_fields(line)
  -- TXT_DB_read: a tab ends a field unless a backslash precedes it, which is then dropped
  local fields, cur, i, n = {}, {}, 1, #line
  while i <= n do
    local c = line:sub(i, i)
    if c == "\\" and line:sub(i + 1, i + 1) == "\t" then
      cur[#cur + 1] = "\t"
      i = i + 2
    elseif c == "\t" then
      fields[#fields + 1] = table.concat(cur)
      cur = {}
      i = i + 1
    else
      cur[#cur + 1] = c
      i = i + 1
    end
  end
  fields[#fields + 1] = table.concat(cur)
  return fields
end

-- parse_line(line) -> entry | nil, why. entry: { status = "V"|"R"|"E", expiry = text,
-- expires = epoch, revoked = text | nil, revocation = {time, reason...} | nil,
-- serial = hex as written, key = normalized serial, file = text, subject = text }
function M.parse_line(line)
  local f
  if line:find("\\\t", 1, true) then
    f = split_fields(line)
  else
    local a, b, c, d, e, g = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    if not a then return nil, "not six tab-separated fields" end
    f = { a, b, c, d, e, g }
  end
  if #f ~= 6 then return nil, "not six tab-separated fields" end
  local status = f[1]
  if status ~= "V" and status ~= "R" and status ~= "E" then
    return nil, "unknown status '" .. status .. "'"
  end
  local expires = M.parse_asn1_time(f[2])
  if not expires then return nil, "bad expiry date '" .. f[2] .. "'" end
  local key = M.norm_serial(f[4])
  if not key or f[4]:find("[^%x]") then return nil, "bad serial '" .. f[4] .. "'" end
  local e = { status = status, expiry = f[2], expires = expires, serial = f[4], key = key,
              file = f[5], subject = f[6] }
  if f[3] ~= "" then
    local rev = M.parse_revoked(f[3])
    if not rev then return nil, "bad revocation field '" .. f[3] .. "'" end
    e.revoked, e.revocation = f[3], rev
  end
  if status == "R" and not e.revoked then return nil, "revoked without a revocation date" end
  return e
end

local function esc_tab(s)
  if s:find("\t", 1, true) then return (s:gsub("\t", "\\\t")) end
  return s
end

-- format_line(entry) -> the line with its newline
function M.format_line(e)
  -- every free-text field escapes its tabs: the revocation field holds a hold instruction or
  -- other text after the date, and an unescaped tab there splits the line (found by fuzzing)
  return table.concat({ e.status, e.expiry, esc_tab(e.revoked or ""), e.serial, esc_tab(e.file or "unknown"),
                        esc_tab(e.subject) }, "\t") .. "\n"
end

-- parse_index(text[, first_line_no]) -> entries, bad (list of {line=, why=}), complete_len
-- Only complete lines (ending in "\n") are taken; complete_len is the length of that part, so
-- a torn tail after a crash can be cut there.
function M.parse_index(text, lineno)
  local entries, bad = {}, {}
  lineno = lineno or 1
  local pos, n = 1, #text
  while pos <= n do
    local nl = text:find("\n", pos, true)
    if not nl then break end
    local line = text:sub(pos, nl - 1)
    if line:sub(-1) == "\r" then line = line:sub(1, -2) end
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local e, why = M.parse_line(line)
      if e then
        e.line = lineno
        entries[#entries + 1] = e
      else
        bad[#bad + 1] = { line = lineno, why = why }
      end
    end
    lineno = lineno + 1
    pos = nl + 1
  end
  return entries, bad, pos - 1, lineno
end

-- replace_line(text, lineno, line) -> text with line number lineno (1-based) replaced by line
-- (given with its newline)
function M.replace_line(text, lineno, line)
  local pos = 1
  for _ = 2, lineno do
    local nl = text:find("\n", pos, true)
    if not nl then return nil end
    pos = nl + 1
  end
  local nl = text:find("\n", pos, true)
  if not nl then return nil end
  return text:sub(1, pos - 1) .. line .. text:sub(nl + 1)
end

-- index.txt.attr ------------------------------------------------------------------------------

-- parse_attr(text) -> { unique_subject = bool } (openssl's default: yes)
function M.parse_attr(text)
  local attr = { unique_subject = true }
  for line in (text or ""):gmatch("[^\r\n]+") do
    local v = line:match("^%s*unique_subject%s*=%s*(%S+)")
    if v then
      v = v:lower()
      attr.unique_subject = not (v == "no" or v == "n" or v == "false" or v == "0")
    end
  end
  return attr
end

function M.attr_text(attr)
  return "unique_subject = " .. (attr.unique_subject and "yes" or "no") .. "\n"
end

-- subject names -------------------------------------------------------------------------------

-- oneline(entries) -> X509_NAME_oneline text. entries: a list of { name = short name or OID,
-- value = the string's bytes, rdn = index of the RDN (members of one RDN share it) }
function M.oneline(entries)
  local out = {}
  local prev
  for _, e in ipairs(entries) do
    out[#out + 1] = (prev ~= nil and e.rdn == prev) and "+" or "/"
    out[#out + 1] = e.name
    out[#out + 1] = "="
    local v = e.value
    if v:find("[^ -~]") then v = v:gsub("[^ -~]", function(c) return string.format("\\x%02X", c:byte()) end) end
    if v:find("[/+]") then v = v:gsub("[/+]", "\\%0") end
    out[#out + 1] = v
    prev = e.rdn
  end
  return table.concat(out)
end

-- name_text(s) -> the subject of an index line (M.oneline's form, as openssl ca writes it too:
-- \xHH for a byte outside printable ASCII, \/ and \+) as people see names in every command:
-- name:text(), escaped for the terminal; a subject that does not read back is shown escaped
function M.name_text(s)
  local name = require "certbench.name"
  local out, i, n = {}, 1, #s
  while i <= n do
    local ch = s:sub(i, i)
    local hx = ch == "\\" and s:match("^x(%x%x)", i + 1)
    if hx then
      out[#out + 1] = string.char(tonumber(hx, 16))
      i = i + 4
    elseif ch == "\\" then
      out[#out + 1] = s:sub(i, i + 1) -- \/ \+ \\: name.parse reads them
      i = i + 2
    else
      out[#out + 1] = ch
      i = i + 1
    end
  end
  return name.text_of(table.concat(out))
end

return M
