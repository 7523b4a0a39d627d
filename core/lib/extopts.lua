-- certbench.extopts (internal): the extension options shared by csr.new and x509.new, normalized
-- for the C builder (core/lib/ext.c, an internal C helper, not this file's C half). The option forms
-- are documented in x509.lua and csr.lua.
local name = require "certbench.name"

local M = {}

local SAN_TYPES = { dns = "DNS", ip = "IP", email = "email", uri = "URI", rid = "RID",
                    dirname = "dirName", othername = "otherName" }

-- "DNS:a.example.com" -> {type="DNS", value="a.example.com"}
local function san_string(s, what)
  local t, v = s:match("^([%a]+):(.*)$")
  local typ = t and SAN_TYPES[t:lower()]
  if not typ then
    return nil, what .. ": subject alternative name '" .. s .. "' must be TYPE:value with TYPE one of "
      .. "DNS, IP, email, URI, RID, dirName, otherName"
  end
  if typ == "dirName" then
    local n, err = name.from(v, what)
    if not n then return nil, err end
    return { type = typ, name = n }
  elseif typ == "otherName" then
    -- openssl's syntax: otherName:OID;UTF8:value
    local oid, val = v:match("^([^;]+);UTF8:(.*)$")
    if not oid then
      return nil, what .. ": otherName must be 'otherName:OID;UTF8:value', got '" .. s .. "'"
    end
    return { type = typ, oid = oid, value = val }
  end
  return { type = typ, value = v }
end

function M.san(v, what)
  if v == nil then return nil end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then error(what .. ": san must be a list of strings or a table, not " .. type(v), 3) end
  local out = {}
  for _, e in ipairs(v) do
    if type(e) == "string" then
      local gn, err = san_string(e, what)
      if not gn then return nil, err end
      out[#out + 1] = gn
    elseif type(e) == "table" and type(e.type) == "string" then
      local typ = SAN_TYPES[e.type:lower()]
      if not typ then return nil, what .. ": unknown subject alternative name type '" .. e.type .. "'" end
      local gn = { type = typ, value = e.value, oid = e.oid, name = e.name }
      if typ == "dirName" and not name.is_name(gn.name) then
        local n, err = name.from(e.value, what)
        if not n then return nil, err end
        gn.name = n
      end
      out[#out + 1] = gn
    else
      error(what .. ": san entries must be 'TYPE:value' strings or {type=, value=} tables", 3)
    end
  end
  -- {dns = {...}, ip = {...}, email = {...}, uri = {...}} (also single strings)
  for k, list in pairs(v) do
    if type(k) == "string" then
      local typ = SAN_TYPES[k:lower()]
      if not typ or typ == "dirName" or typ == "otherName" then
        error(what .. ": unknown san key '" .. k .. "' (dns, ip, email, uri, rid)", 3)
      end
      if type(list) == "string" then list = { list } end
      if type(list) ~= "table" then error(what .. ": san." .. k .. " must be a list of strings", 3) end
      for _, s in ipairs(list) do
        if type(s) ~= "string" then error(what .. ": san." .. k .. " must be a list of strings", 3) end
        out[#out + 1] = { type = typ, value = s }
      end
    end
  end
  return out
end

-- a list of strings, or a comma-separated string
local function strings(v, what, opt)
  if v == nil then return nil end
  if type(v) == "string" then
    local out = {}
    for item in v:gmatch("[^,]+") do
      item = item:match("^%s*(.-)%s*$")
      if item ~= "" then out[#out + 1] = item end
    end
    return out
  end
  if type(v) ~= "table" then error(what .. ": " .. opt .. " must be a list of strings, not " .. type(v), 4) end
  for i, s in ipairs(v) do
    if type(s) ~= "string" then error(what .. ": " .. opt .. "[" .. i .. "] must be a string", 4) end
  end
  return v
end

local function bool(v, what, opt)
  if v ~= nil and type(v) ~= "boolean" then error(what .. ": " .. opt .. " must be a boolean", 4) end
  return v
end

-- keys(list) -> list plus the keys normalize and digest read: the options x509.new and csr.new
-- know (certbench.options checks them, so a misspelt one is an error, never ignored)
local EXT_KEYS = { "san", "san_critical", "key_usage", "key_usage_critical", "eku", "eku_critical",
                   "crl_distribution_points", "ocsp_urls", "ca_issuers_urls", "policies",
                   "basic_constraints", "ca", "path_len", "extensions", "digest" }
function M.keys(list)
  local out = {}
  for _, k in ipairs(list) do out[#out + 1] = k end
  for _, k in ipairs(EXT_KEYS) do out[#out + 1] = k end
  return out
end

-- normalize copies the extension options of o into the table out (for the C builder).
-- Returns out, or nil, err (a failure of the input, e.g. a bad dirName).
function M.normalize(o, out, what)
  local err
  out.san, err = M.san(o.san, what)
  if err then return nil, err end
  out.san_critical = bool(o.san_critical, what, "san_critical")
  out.key_usage = strings(o.key_usage, what, "key_usage")
  out.key_usage_critical = bool(o.key_usage_critical, what, "key_usage_critical")
  out.eku = strings(o.eku, what, "eku")
  out.eku_critical = bool(o.eku_critical, what, "eku_critical")
  out.crl_distribution_points = strings(o.crl_distribution_points, what, "crl_distribution_points")
  out.ocsp_urls = strings(o.ocsp_urls, what, "ocsp_urls")
  out.ca_issuers_urls = strings(o.ca_issuers_urls, what, "ca_issuers_urls")
  out.policies = strings(o.policies, what, "policies")
  local bc = o.basic_constraints
  if bc ~= nil then
    if type(bc) == "string" then
      -- openssl's "CA:TRUE, pathlen:0"
      local ca = bc:upper():match("CA%s*:%s*(%a+)")
      if ca ~= "TRUE" and ca ~= "FALSE" then
        return nil, what .. ": basic_constraints '" .. bc .. "' must say CA:TRUE or CA:FALSE"
      end
      local pl = bc:lower():match("pathlen%s*:%s*(%d+)")
      bc = { ca = ca == "TRUE", path_len = pl and math.tointeger(tonumber(pl)) or nil,
             critical = bc:lower():find("critical", 1, true) ~= nil or nil }
    end
    if type(bc) ~= "table" then error(what .. ": basic_constraints must be a table", 3) end
    out.basic_constraints = { ca = bc.ca and true or false, path_len = bc.path_len,
                              critical = bc.critical }
  end
  if o.ca ~= nil or o.path_len ~= nil then
    if o.path_len ~= nil and math.type(o.path_len) ~= "integer" then
      error(what .. ": path_len must be an integer", 3)
    end
    out.basic_constraints = { ca = o.ca and true or false, path_len = o.path_len, critical = o.ca and true or false }
    if o.ca and out.key_usage == nil then out.key_usage = { "keyCertSign", "cRLSign" } end
  end
  if o.extensions ~= nil then
    if type(o.extensions) ~= "table" then error(what .. ": extensions must be a list", 3) end
    local list = {}
    for i, e in ipairs(o.extensions) do
      if type(e) ~= "table" then error(what .. ": extensions[" .. i .. "] must be a table", 3) end
      if e.oid ~= nil then
        if type(e.oid) ~= "string" or type(e.value_der) ~= "string" then
          error(what .. ": extensions[" .. i .. "] needs oid= and value_der= strings", 3)
        end
      elseif type(e.name) ~= "string" or type(e.value) ~= "string" then
        error(what .. ": extensions[" .. i .. "] needs oid= and value_der=, or name= and value=", 3)
      end
      list[i] = { oid = e.oid, value_der = e.value_der, name = e.name, value = e.value,
                  critical = e.critical and true or false }
    end
    out.extensions = list
  end
  return out
end

-- digest: sha256 by default; sha1 only when asked (with a warning); md5 and others refused
function M.digest(d, what)
  d = d or "sha256"
  if type(d) ~= "string" then error(what .. ": digest must be a string", 3) end
  d = d:lower():gsub("%-", "")
  if d == "sha1" then
    return d, what .. ": SHA-1 signatures are deprecated and refused by modern clients; use sha256"
  end
  if d == "sha256" or d == "sha384" or d == "sha512" then return d end
  return nil, nil, what .. ": digest '" .. d .. "' is not allowed (sha256, sha384, sha512, or sha1 when you must)"
end

return M
