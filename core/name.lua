-- certbench.name: X.509 distinguished names.
--   name.parse("/C=NO/O=net2/CN=vcs.example.com") -> name | nil, err
--       the openssl -subj form: "\" escapes the next character ("\/", "\+", "\\"), "+" joins
--       attributes into one multi-valued RDN; "/" alone is the empty name.
--   name.parse_rfc4514("CN=x,O=net2,C=NO") -> name | nil, err  (most significant RDN last)
--   name.new{ {"C","NO"}, {"O","net2"}, {"CN","x"} } -> name | nil, err
--       entries in order; {C="NO"} single-key tables too; {"OU","b", multi=true} joins the
--       previous RDN. Attribute types: short names, long names or dotted OIDs. Values are UTF-8
--       (countryName becomes a PrintableString, emailAddress an IA5String, the rest what
--       BoringSSL's string table picks: PrintableString when it can, else UTF8String).
--   name.from_der(der) -> name | nil, err;  name.is_name(v)
--   name.from(v) -> a name from a name, a string (parse) or a table (new)
-- Methods:
--   n:text([{exact = true}])
--                 "C = NO, O = net2, CN = x": the one form certbench shows a name in, to people,
--                 in every command; what `openssl x509 -noout -subject` prints after "subject="
--                 (OpenSSL 3's default -nameopt oneline), with UTF-8 kept as is (utf8,-esc_msb):
--                 a value with , + < > ; a leading # or an edge blank is quoted, " and \ get a
--                 \ before them, RDNs join with ", " and the attributes of one RDN with " + ".
--                 Control characters as ui.escape shows them (\0A, \1B; \u009B for C1, which
--                 openssl prints raw), so the text is safe for a terminal; exact = true keeps
--                 them as they are (--json: its encoder escapes them)
--   name.text_of(v) -> the same text from a name, or from a string in RFC 4514 or /-form (a
--                 report's name read back); a string neither parses as is shown ui.escape'd
--   n:rfc4514()   "CN=x,O=net2,C=NO" (RFC 4514 escaping; UTF-8 kept; unnamed types as OID=#hex)
--   n:oneline()   "/C=NO/O=net2/CN=x" (/ + \ escaped with \, so name.parse reads it back)
--   n:entries()   iterator of short_name, value_utf8, oid (and the RDN index)
--   n:list()      { {name=, value=, oid=, rdn=}, ... }
--   n:get("CN"[, true]) -> first value (or a list of all with true); type by short/long name/OID
--   n:label()     the name in one short word for messages: its CN as ui.escape shows it, else
--                 n:text() (escaped too): never a raw control character from a certificate
--   n:hash()      X509_NAME_hash: 8 lower-case hex (c_rehash, CApath, -subject_hash)
--   n:hash_old(), n:der(), n:equals(other), n == other, #n and n:count() (entries),
--   tostring(n) (rfc4514), n:copy() (an independent name), n:close()
local c = require "_certbench.name"

local M = { from_der = c.from_der, is_name = c.is_name }
local methods = c._metatable.__index
local mt = c._metatable

-- The -subj form.
function M.parse(s)
  if type(s) ~= "string" then error("name.parse: expected a string, got " .. type(s), 2) end
  if s:sub(1, 1) ~= "/" then
    return nil, "name.parse: '" .. s .. "' is not in the /TYPE=value/... form (it must start with '/'; "
      .. "for 'CN=x,O=y' use name.parse_rfc4514)"
  end
  local entries = {}
  local i, n = 2, #s
  local join = false
  while i <= n do
    -- the type, up to "="
    local buf = {}
    while i <= n do
      local ch = s:sub(i, i)
      if ch == "\\" and i < n then buf[#buf + 1] = s:sub(i + 1, i + 1); i = i + 2
      elseif ch == "=" or ch == "/" or ch == "+" then break
      else buf[#buf + 1] = ch; i = i + 1 end
    end
    local typ = table.concat(buf)
    if s:sub(i, i) ~= "=" then
      if typ == "" and i > n then break end -- a trailing "/"
      return nil, "name.parse: missing '=' after '" .. typ .. "' in '" .. s .. "'"
    end
    i = i + 1
    buf = {}
    local sep
    while i <= n do
      local ch = s:sub(i, i)
      if ch == "\\" then
        if i == n then return nil, "name.parse: '\\' at the end of '" .. s .. "'" end
        buf[#buf + 1] = s:sub(i + 1, i + 1); i = i + 2
      elseif ch == "/" or ch == "+" then sep = ch; i = i + 1; break
      else buf[#buf + 1] = ch; i = i + 1 end
    end
    if typ == "" then return nil, "name.parse: empty attribute type in '" .. s .. "'" end
    entries[#entries + 1] = { typ, table.concat(buf), join }
    join = sep == "+"
    if sep == "+" and i > n then return nil, "name.parse: '+' at the end of '" .. s .. "'" end
  end
  return c.new(entries)
end

-- RFC 4514: "CN=x,O=y+OU=z,C=NO", most significant last; \XX hex pairs and \c escapes,
-- quoted values, "#hex" values (the DER of a string: kept with its tag).
function M.parse_rfc4514(s)
  if type(s) ~= "string" then error("name.parse_rfc4514: expected a string, got " .. type(s), 2) end
  local rdns, cur = {}, {}
  local i, n = 1, #s
  if s:match("^%s*$") then return c.new({}) end
  while i <= n do
    while s:sub(i, i) == " " do i = i + 1 end
    local typ = s:match("^([%w%.%-]+)%s*=", i)
    if not typ then return nil, "name.parse_rfc4514: expected TYPE= at position " .. i .. " of '" .. s .. "'" end
    i = select(2, s:find("^[%w%.%-]+%s*=", i)) + 1
    if s:sub(i, i) == "#" then
      -- "#" and the hex of the value's DER: a string type's tag and contents are kept as they are
      local hx = s:match("^#(%x*)", i)
      i = i + 1 + #hx
      while s:sub(i, i) == " " do i = i + 1 end
      local sep = s:sub(i, i)
      if sep ~= "" and sep ~= "," and sep ~= "+" and sep ~= ";" then
        return nil, "name.parse_rfc4514: bad #hex value for " .. typ
      end
      i = i + 1
      local der = (#hx % 2 == 0) and hx:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end) or ""
      local tag, len, pos = der:byte(1), der:byte(2), 3
      if len and len >= 0x80 then
        local nb = len - 0x80
        len = 0
        for k = 1, nb do len = len * 256 + (der:byte(2 + k) or 0) end
        pos = 3 + nb
      end
      if not tag or not len or pos + len - 1 ~= #der then
        return nil, "name.parse_rfc4514: bad #hex value for " .. typ
      end
      cur[#cur + 1] = { typ, der:sub(pos), tag = tag }
      if sep ~= "+" then rdns[#rdns + 1] = cur; cur = {} end
      goto continue
    end
    local buf, sep = {}, nil
    local quoted = false
    local kept = 0 -- characters that were escaped or quoted: never trimmed
    if s:sub(i, i) == '"' then quoted = true; i = i + 1 end
    while i <= n do
      local ch = s:sub(i, i)
      if ch == "\\" then
        local hx = s:match("^%x%x", i + 1)
        if hx then buf[#buf + 1] = string.char(tonumber(hx, 16)); i = i + 3
        elseif i < n then buf[#buf + 1] = s:sub(i + 1, i + 1); i = i + 2
        else return nil, "name.parse_rfc4514: '\\' at the end of '" .. s .. "'" end
        kept = #buf
      elseif quoted and ch == '"' then
        quoted = false; i = i + 1; kept = #buf
      elseif not quoted and (ch == "," or ch == "+" or ch == ";") then
        sep = ch; i = i + 1; break
      else buf[#buf + 1] = ch; i = i + 1 end
    end
    if quoted then return nil, "name.parse_rfc4514: unterminated quote in '" .. s .. "'" end
    while #buf > kept and buf[#buf] == " " do buf[#buf] = nil end -- blanks before a separator
    local v = table.concat(buf)
    cur[#cur + 1] = { typ, v }
    if sep ~= "+" then rdns[#rdns + 1] = cur; cur = {} end
    ::continue::
  end
  if #cur > 0 then rdns[#rdns + 1] = cur end
  local entries = {}
  for r = #rdns, 1, -1 do
    for k, e in ipairs(rdns[r]) do entries[#entries + 1] = { e[1], e[2], k > 1, e.tag } end
  end
  return c.new(entries)
end

function M.new(t)
  if type(t) ~= "table" then error("name.new: expected a table of {type, value} entries, got " .. type(t), 2) end
  local entries = {}
  for i, e in ipairs(t) do
    if type(e) ~= "table" then error("name.new: entry " .. i .. " must be a table", 2) end
    if e[1] ~= nil then
      if type(e[1]) ~= "string" or type(e[2]) ~= "string" then
        error("name.new: entry " .. i .. " must be {type, value} with strings", 2)
      end
      entries[#entries + 1] = { e[1], e[2], e.multi and true or false }
    else
      local k, v = next(e)
      if k == nil or next(e, k) ~= nil or type(k) ~= "string" or type(v) ~= "string" then
        error("name.new: entry " .. i .. " must be {type, value} or {TYPE = value}", 2)
      end
      entries[#entries + 1] = { k, v, false }
    end
  end
  -- {C="NO"} as the whole table (one key) is accepted too; several keys have no order
  if #t == 0 then
    local k, v = next(t)
    if k ~= nil then
      if next(t, k) ~= nil then
        error("name.new: a table of several TYPE = value keys has no order; use a list of {type, value}", 2)
      end
      if type(k) ~= "string" or type(v) ~= "string" then error("name.new: bad entry", 2) end
      entries[1] = { k, v, false }
    end
  end
  return c.new(entries)
end

function M.from(v, what)
  if M.is_name(v) then return v end
  if type(v) == "string" then
    if v:sub(1, 1) == "/" then return M.parse(v) end
    return M.parse_rfc4514(v)
  end
  if type(v) == "table" then return M.new(v) end
  error((what or "name") .. ": expected a name, a string or a table, got " .. type(v), 3)
end

-- escaping ------------------------------------------------------------------------------------

-- the one escape for the terminal (ui.escape), loaded when a name is first shown
local esc_ctrl = function(s) return require("certbench.ui").escape(s) end

-- quoted as openssl's oneline quotes (a_strex.c, ESC_QUOTE): a value holding , + < > ; or
-- starting with a blank or "#" (a "#" alone is not quoted), or ending with a blank; decided on the
-- value as it is, before any escape
local function needs_quotes(v)
  return v:find("[,+<>;]") or v:sub(1, 1) == " " or v:sub(-1) == " " or (#v > 1 and v:sub(1, 1) == "#")
end

local function text_value(v, exact)
  local q = needs_quotes(v)
  v = v:gsub('(["\\])', "\\%1")
  if not exact then v = esc_ctrl(v) end
  if q then return '"' .. v .. '"' end
  return v
end

-- RFC 4514 escapes a byte as \XX, which parse_rfc4514 reads back; ui.escape's \u009C form for
-- the C1 controls is for terminals and would read back as the six characters "u009C"
local function rfc4514_value(v)
  v = v:gsub('([,+"\\<>;])', "\\%1")
  v = v:gsub("\194[\128-\159]", function(c1) return ("\\%02X\\%02X"):format(c1:byte(1, 2)) end)
  v = v:gsub("[%z\1-\31\127]", function(ch) return ("\\%02X"):format(ch:byte()) end)
  if v:sub(1, 1) == "#" or v:sub(1, 1) == " " then v = "\\" .. v end
  if #v > 1 and v:sub(-1) == " " and v:sub(-2, -2) ~= "\\" then v = v:sub(1, -2) .. "\\ " end
  return v
end

-- groups entries into RDNs: { { e1 }, { e2, e3 }, ... }
local function rdns(n)
  local out, last = {}, nil
  for _, e in ipairs(n:_entries()) do
    if e[4] ~= last then out[#out + 1] = {}; last = e[4] end
    local r = out[#out]
    r[#r + 1] = e
  end
  return out
end

function methods.label(n)
  local cn = n:get("CN")
  if cn then return esc_ctrl(cn) end
  return n:text()
end

function methods.text(n, opts)
  if opts ~= nil then
    if type(opts) ~= "table" then error("name:text: options must be a table", 2) end
    for k in pairs(opts) do
      if k ~= "exact" then error("name:text: unknown option '" .. tostring(k) .. "' (known: exact)", 2) end
    end
  end
  local exact = opts ~= nil and opts.exact
  local parts = {}
  for _, r in ipairs(rdns(n)) do
    local av = {}
    for _, e in ipairs(r) do av[#av + 1] = e[1] .. " = " .. text_value(e[2], exact) end
    parts[#parts + 1] = table.concat(av, " + ")
  end
  return table.concat(parts, ", ")
end

function M.text_of(v)
  if M.is_name(v) then return v:text() end
  if type(v) ~= "string" then error("name.text_of: expected a name or a string, got " .. type(v), 2) end
  local n = M.from(v)
  if n then return n:text() end
  return esc_ctrl(v)
end

function methods.rfc4514(n)
  local list, parts = rdns(n), {}
  for i = #list, 1, -1 do
    local av = {}
    for _, e in ipairs(list[i]) do
      if e[5] then av[#av + 1] = e[3] .. "=#" .. e[5]
      else av[#av + 1] = e[1] .. "=" .. rfc4514_value(e[2]) end
    end
    parts[#parts + 1] = table.concat(av, "+")
  end
  return table.concat(parts, ",")
end

function methods.oneline(n)
  local parts = {}
  for _, r in ipairs(rdns(n)) do
    local av = {}
    for _, e in ipairs(r) do
      av[#av + 1] = e[1]:gsub("[/+\\=]", "\\%0") .. "=" .. e[2]:gsub("[/+\\]", "\\%0")
    end
    parts[#parts + 1] = "/" .. table.concat(av, "+")
  end
  if #parts == 0 then return "/" end
  return table.concat(parts)
end

function methods.list(n)
  local out = {}
  for i, e in ipairs(n:_entries()) do
    out[i] = { name = e[1], value = e[2], oid = e[3], rdn = e[4] + 1 }
  end
  return out
end

function methods.entries(n)
  local list = n:_entries()
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2], e[3], e[4] + 1 end
  end
end

-- the OID a type given by the user stands for (short name, long name or OID)
local oid_cache = {}
local function type_oid(t)
  local o = oid_cache[t]
  if o == nil then
    o = c.oid(t) or false
    oid_cache[t] = o
  end
  return o or nil
end
M.oid = type_oid

function methods.get(n, typ, all)
  if type(typ) ~= "string" then error("name:get: expected an attribute type string", 2) end
  local list = n:_entries()
  local want = type_oid(typ)
  local out = {}
  for _, e in ipairs(list) do
    if e[1] == typ or e[3] == typ or e[3] == want then
      if not all then return e[2] end
      out[#out + 1] = e[2]
    end
  end
  if all then return out end
  return nil
end

mt.__tostring = function(n)
  local ok, s = pcall(methods.rfc4514, n)
  if not ok then return "certbench.name (closed)" end
  return s
end

return M
