-- certbench.input: the one way in. Every command reads its files, URLs and standard input
-- through here, so what one command accepts, all accept.
--
--   input.read(source[, opts]) -> result | nil, err, code
--     source: a path; "-" for standard input; an http(s):// or ldap(s):// URL (certbench.http,
--       with its limits); or { data = bytes, name = "label" } for bytes already in memory.
--     opts: password = string | certbench.secret  (PKCS#12 files and encrypted keys)
--           limits = { max_members=, max_total=, ... }  (certbench.archive's, for every kind)
--           max_size = bytes of a download (default: certbench.http's defaults.max_size,
--             64 MiB). A file or standard input is capped at fs.FILE_MAX (256 MiB), the one cap
--             on a local file, whatever max_size says
--           http = { ... }  more options for certbench.http (ca_file, timeout, ...)
--           name = how the source is named in messages (default: the path or URL)
--           pkcs12 = "keep": a PKCS#12 file is one object { kind = "pkcs12", der = } for a caller
--             that opens it itself (pfx asks for the password on the terminal)
--     result = {
--       name = the source's name, summary = "PEM (CRLF): 2 certificates" | "ZIP (3 members): ...",
--       objects = { obj, ... }    in the order found
--       unknown = { { from =, reason =, code = }, ... }   members not understood: a command
--                                 reports every one of them (never dropped in silence)
--       skipped = { { from =, reason = }, ... }  members plainly not PKI data (a README.txt
--                                 in an archive) and parameter blocks (EC PARAMETERS)
--       warnings = { "...", ... }  what certbench.detect noticed (a block labelled CERTIFICATE
--                                 holding a PKCS#7 bundle)
--     }
--     obj = {
--       kind = "certificate" | "crl" | "csr" | "private_key" | "public_key" | "ocsp_response",
--       der = the DER bytes (nil for a key encrypted with legacy PEM encryption or one from a
--             PKCS#12 file: then object or pem),
--       pem = the PEM block as it was (keys with Proc-Type headers need it),
--       object = the parsed object when the container gave one (PKCS#12 contents),
--       from = "all-crls.tar.gz: root.der" (source, then the member, then "PKCS#7"/"PKCS#12"
--              and the block number when there are several), member = "root.der" | nil,
--       container = "pkcs7" | "pkcs12" | nil, pkcs7 = the DER of the PKCS#7 it came from,
--       label = the PEM label, encrypted = true (keys),
--       friendly_name = (PKCS#12), format = "pkcs8" | "pkcs1" | "sec1" | "spki" (keys),
--       legacy = true for a key with Proc-Type/DEK-Info encryption, what = a short description,
--       attributes = the Bag Attributes text before a PEM block (friendlyName, localKeyID),
--       block =, line = (PEM block number and BEGIN line)
--     }
--     code (with nil): "io" (cannot read the source), "http", or the code certbench.archive
--       gives a broken archive or one over a limit ("max_ratio" for a zip bomb, "max_members",
--       "truncated", "corrupt"...: archive.CODES lists them).
--   input.bytes(data, name[, opts]) -> result | nil, err, code   (the same, from bytes)
--   input.fetch(source[, opts]) -> data, name | nil, err, code    (the bytes alone)
--   input.read_pieces(source, fn[, opts]) -> true | nil, err, code   (the same, a big PEM file
--       given to fn(result) a piece of blocks at a time, never whole in memory)
--   input.load(obj[, opts]) -> x509 | crl | csr | pkey | ocsp response | nil, err[, code]
--       the parsed object (opts.password for encrypted keys)
--   input.of(result, kind) -> { obj, ... } of that kind
--   input.all(result, kind[, opts]) -> { parsed objects of that kind } | nil, err
--   input.problems(result) -> { "from: reason", ... } for the members not understood
--   input.problem(result) -> "from: reason (and N more not understood)", code | nil: the one
--       line a command that refuses partial input prints
--   input.is_source(s) -> true for "-" and URLs (a string that is not a plain path)
-- An options key these functions do not know raises, naming the function and the key.
-- certbench.archive is loaded only for what is not a plain PEM or DER file (an archive, a
-- PKCS#7 bundle, DER objects back to back, limits given): a `ca issue --csr r.pem` does not pay
-- for it. The content test is the C one archive.detect itself uses.
local archive = require("certbench").lazy "certbench.archive"
local content_kind = require("_certbench.archive").detect
local detect = require "certbench.detect"
local fs = require "certbench.fs"
local options = require "certbench.options"

local M = {}

local OPTS = { "password", "limits", "max_size", "http", "name", "pkcs12" }
local LOAD_OPTS = { "password" }


local URL = { http = true, https = true, ldap = true, ldaps = true }

local function scheme(s) return s:match("^(%a[%w+.-]*)://") end

function M.is_source(s)
  return s == "-" or (type(s) == "string" and URL[(scheme(s) or ""):lower()] ~= nil)
end

-- fetch(source, opts) -> list of { data =, name = } | nil, err, code
local function fetch(source, opts)
  -- a file or standard input: fs.FILE_MAX, the one cap on a local file (CB_FILE_MAX); a
  -- download: max_size, else http.defaults.max_size, read from certbench.downloads only for a
  -- URL (it does not load certbench.http and its event loop; a plain file needs neither)
  local max = fs.FILE_MAX
  if type(source) == "table" then
    if type(source.data) ~= "string" then error("input: source.data must be a string", 3) end
    return { { data = source.data, name = opts.name or source.name or "data" } }
  end
  if type(source) ~= "string" then error("input: source must be a path, \"-\", a URL or {data=}", 3) end
  local name = opts.name or source
  if source == "-" then
    local data = io.stdin:read(max + 1) or ""
    if #data > max then
      return nil, ("standard input: too large (over certbench's limit of %d MiB for a file it reads whole)")
        :format(max >> 20), "io"
    end
    return { { data = data, name = opts.name or "standard input" } }
  end
  local sch = scheme(source)
  if sch and URL[sch:lower()] then
    local http = require "certbench.http"
    max = opts.max_size or require("certbench.downloads").max_size
    local req = { max_size = max, fail_on_status = true }
    for k, v in pairs(opts.http or {}) do req[k] = v end
    local resp, err = http.get(source, req)
    if not resp then return nil, err, "http" end
    local body = resp.body
    if resp.file then
      body = fs.read(resp.file, max)
      os.remove(resp.file)
    end
    if resp.protocol == "ldap" or resp.protocol == "ldaps" then
      local values, verr = http.ldap_values(body or "")
      if not values then return nil, ("%s: %s"):format(source, verr), "http" end
      if #values == 1 then return { { data = values[1], name = name } } end
      local out = {}
      for i, v in ipairs(values) do out[i] = { data = v, name = ("%s#%d"):format(name, i) } end
      return out
    end
    return { { data = body or "", name = name } }
  elseif sch then
    return nil, ("%s: %s:// is not a source certbench reads (a path, -, http(s):// or ldap(s)://)")
      :format(source, sch), "io"
  end
  local data, err = fs.read(source, max)
  if not data then return nil, err, "io" end
  return { { data = data, name = name } }
end

-- plainly_not_pki: what detect says of a member that is no PKI data at all (a README, an
-- image), as opposed to PKI data it could not read (broken DER, a PEM block cut short)
local function plainly_not_pki(err, code)
  if code == "empty" then return true end
  return code == "not_pki" and not err:find("DER data of unknown type", 1, true)
    and not err:find("binary data that is not DER", 1, true)
end

local PARAMETERS = { ["EC PARAMETERS"] = true, ["DH PARAMETERS"] = true, ["DSA PARAMETERS"] = true,
  ["X9.42 DH PARAMETERS"] = true }

local KINDS = { certificate = true, crl = true, csr = true, private_key = true, public_key = true,
  ocsp_response = true }

-- decode(data, st): the objects of one member into st (objects, unknown, skipped)
local decode

local function add(st, o, from, extra)
  o.from = from
  o.member = st.member
  if extra then for k, v in pairs(extra) do o[k] = v end end
  st.objects[#st.objects + 1] = o
end

local function unknown(st, from, reason, code)
  st.unknown[#st.unknown + 1] = { from = from, reason = reason, code = code }
end

local function from_pkcs7(st, der, from)
  local p7, err = archive.pkcs7(der)
  if not p7 then return unknown(st, from, err, "pkcs7") end
  local n = #p7.certs + #p7.crls
  if n == 0 then st.skipped[#st.skipped + 1] = { from = from, reason = "a PKCS#7 bundle without certificates or CRLs" } end
  for i, d in ipairs(p7.certs) do
    add(st, { kind = "certificate", der = d }, n > 1 and ("%s (PKCS#7, certificate %d)"):format(from, i) or from,
      { container = "pkcs7", pkcs7 = der })
  end
  for i, d in ipairs(p7.crls) do
    add(st, { kind = "crl", der = d }, n > 1 and ("%s (PKCS#7, CRL %d)"):format(from, i) or from,
      { container = "pkcs7", pkcs7 = der })
  end
end

local function from_pkcs12(st, der, from)
  local pkcs12 = require "certbench.pkcs12"
  local r, err, code = pkcs12.parse(der, st.opts.password)
  if not r then
    if code == "bad_password" and st.opts.password == nil then
      err = "a PKCS#12 file protected by a password: give it with --passin"
      code = "password"
    end
    return unknown(st, from, err, code or "pkcs12")
  end
  for i, bag in ipairs(r.bags) do
    local where = ("%s (PKCS#12 bag %d)"):format(from, i)
    if bag.type == "key" and bag.object then
      add(st, { kind = "private_key", object = bag.object }, where,
        { container = "pkcs12", friendly_name = bag.friendly_name })
    elseif bag.type == "cert" and bag.object then
      add(st, { kind = "certificate", der = bag.object:to_der(), object = bag.object }, where,
        { container = "pkcs12", friendly_name = bag.friendly_name })
    elseif bag.type == "crl" and bag.der then
      add(st, { kind = "crl", der = bag.der }, where, { container = "pkcs12" })
    elseif bag.problem then
      unknown(st, where, bag.problem, "pkcs12")
    else
      st.skipped[#st.skipped + 1] = { from = where, reason = ("a %s bag"):format(bag.bag_type or bag.type) }
    end
  end
end

local function from_info(st, info, from)
  local many = #info.objects > 1
  for _, o in ipairs(info.objects) do
    local where = from
    if many and o.block then where = ("%s (PEM block %d)"):format(from, o.block) end
    if o.kind == "pkcs7" then
      from_pkcs7(st, o.der, where)
    elseif o.kind == "pkcs12" and st.opts.pkcs12 == "keep" then
      add(st, { kind = "pkcs12", der = o.der }, where)
    elseif o.kind == "pkcs12" then
      from_pkcs12(st, o.der, where)
    elseif KINDS[o.kind] then
      add(st, { kind = o.kind, der = (o.encryption ~= "legacy") and o.der or nil, pem = o.pem, label = o.label,
        encrypted = o.encrypted or nil, legacy = o.encryption == "legacy" or nil, format = o.format,
        what = o.what, attributes = o.attributes, block = o.block, line = o.line }, where)
    elseif o.label and PARAMETERS[o.label] then
      st.skipped[#st.skipped + 1] = { from = where, reason = o.label .. " (parameters, not a key)" }
    else
      unknown(st, where, o.label and ("a PEM block labelled %s, which certbench does not read"):format(o.label)
        or ("%s: not an object certbench reads"):format(o.what or "DER data"), "unknown")
    end
  end
end

decode = function(st, data, from, in_archive)
  local info, err, code = detect.detect(data)
  if info then
    if not in_archive then st.info = info end
    for _, w in ipairs(info.warnings) do st.warnings[#st.warnings + 1] = in_archive and (from .. ": " .. w) or w end
    return from_info(st, info, from)
  end
  if data:byte(1) == 0x30 and archive.detect(data) == "pkcs7" then return from_pkcs7(st, data, from) end
  if code == "concatenated" then
    -- DER objects back to back (concatenated gzip members of DER CRLs inflate to this)
    if not in_archive then st.concatenated = true end
    for i, der in ipairs(archive.der_split(data) or {}) do
      decode(st, der, ("%s (DER object %d)"):format(from, i), in_archive)
    end
    st.info = nil -- the summary counts every piece, not the last one
    return
  end
  if in_archive and plainly_not_pki(err, code) then
    st.skipped[#st.skipped + 1] = { from = from, reason = err }
    return
  end
  unknown(st, from, err, code)
end

local function join(source, member)
  if member == nil then return source end
  return source .. ": " .. member
end

-- one_member: what archive.open gives for data that is no container (one member, itself)
local function one_member(data)
  local m = { data = data }
  return { plain = true, next = function() local x = m; m = nil; return x end, close = function() end }
end

function M.bytes(data, name, opts)
  if type(data) ~= "string" then error("input.bytes: data must be a string", 2) end
  options.check(opts, OPTS, "input.bytes")
  opts = opts or {}
  local st = { objects = {}, unknown = {}, skipped = {}, warnings = {}, opts = opts, name = name }
  local r, err, code
  local ckind = opts.limits == nil and content_kind(data)
  if ckind == "pem" or ckind == "der" then
    r = one_member(data)
  else
    local aopts = { name = name }
    for k, v in pairs(opts.limits or {}) do aopts[k] = v end
    r, err, code = archive.open(data, aopts)
    if not r then return nil, err, code end
  end
  local plain = r.plain
  local members = 0
  while true do
    local m, merr, mcode = r:next()
    if not m then
      if merr then
        r:close()
        return nil, merr, mcode
      end
      break
    end
    local from = plain and name or join(name, m.name)
    st.member = not plain and m.name or nil
    members = members + 1
    if m.not_a_file then
      unknown(st, from, m.not_a_file .. ", not read", "not_a_file")
    else
      decode(st, m.data, from, not plain)
    end
  end
  st.member, st.opts = nil, nil
  if plain and st.info then
    st.summary = detect.summary(st.info)
  else
    local counts, order = {}, {}
    for _, o in ipairs(st.objects) do
      if not counts[o.kind] then order[#order + 1] = o.kind end
      counts[o.kind] = (counts[o.kind] or 0) + 1
    end
    local t = {}
    for _, k in ipairs(order) do
      t[#t + 1] = counts[k] == 1 and ("1 " .. detect.NOUN[k]) or (counts[k] .. " " .. (detect.PLURAL[k] or k))
    end
    local kind = archive.detect(data)
    if st.concatenated then kind = "DER objects back to back" end
    st.summary = ("%s%s: %s"):format(kind == "pkcs7" and "PKCS#7" or kind == "der" and "DER" or kind:upper(),
      plain and "" or (" (%d member%s)"):format(members, members == 1 and "" or "s"),
      #t > 0 and table.concat(t, ", ") or "nothing certbench reads")
  end
  st.info, st.concatenated = nil, nil
  return st
end

function M.read(source, opts)
  options.check(opts, OPTS, "input.read")
  opts = opts or {}
  local pieces, err, code = fetch(source, opts)
  if not pieces then return nil, err, code end
  if #pieces == 1 then return M.bytes(pieces[1].data, pieces[1].name, opts) end
  local all = { name = opts.name or source, objects = {}, unknown = {}, skipped = {}, warnings = {},
    summary = ("%d values"):format(#pieces) }
  for _, p in ipairs(pieces) do
    local r, rerr, rcode = M.bytes(p.data, p.name, opts)
    if not r then return nil, rerr, rcode end
    for _, k in ipairs { "objects", "unknown", "skipped", "warnings" } do
      for _, x in ipairs(r[k]) do all[k][#all[k] + 1] = x end
    end
  end
  return all
end

-- PIECE: about how many bytes of a PEM file read_pieces decodes at once
local PIECE = 1 << 20

-- read_pieces(source, fn[, opts]) -> true | nil, err, code: like read, for a caller that takes
-- the objects a few at a time. A PEM file bigger than PIECE (a trust bundle of thousands of CAs)
-- is read a piece at a time, each cut after an END line so that no block is split, decoded by
-- bytes() as read() would decode the whole, and given to fn(result); object numbers (block,
-- line, "(PEM block N)" in from) count from the start of the file. The text and its objects are
-- then never whole in memory (unless fn keeps them). Anything else (another kind of file, "-",
-- a URL) is one result, read(). fn returns true to go on, or nil, err[, code] to stop with that.
function M.read_pieces(source, fn, opts)
  options.check(opts, OPTS, "input.read_pieces")
  opts = opts or {}
  local st = type(source) == "string" and not M.is_source(source) and fs.stat(source)
  -- a file over fs.FILE_MAX goes to read(), which refuses it as it refuses it whole
  local f = st and st.type == "file" and st.size > PIECE and st.size <= fs.FILE_MAX and io.open(source, "rb")
  local buf = f and f:read(PIECE)
  -- PEM text: armor in the first piece (UTF-16 and binary files go the whole way)
  if not buf or not buf:find("-----BEGIN ", 1, true) or buf:find("\0", 1, true) then
    if f then f:close() end
    local r, err, code = M.read(source, opts)
    if not r then return nil, err, code end
    return fn(r)
  end
  local name = opts.name or source
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.name = nil
  local blocks, lines, eof = 0, 0, false
  -- renumber: the piece's numbers from the start of the file, in the fields and in the text
  -- ("PEM block N", "line N") of names and messages
  local function text(t)
    if type(t) ~= "string" then return t end
    t = t:gsub("PEM block (%d+)", function(n) return "PEM block " .. (tonumber(n) + blocks) end)
    return (t:gsub("([Ll]ine )(%d+)", function(w, n) return w .. (tonumber(n) + lines) end))
  end
  local function renumber(x)
    if x.block then
      x.block, x.line = x.block + blocks, x.line and x.line + lines
      local rest = x.from:sub(#name + 1):gsub("^ %(PEM block %d+%)", "", 1)
      x.from = ("%s (PEM block %d)%s"):format(name, x.block, rest)
    end
    x.reason = text(x.reason)
  end
  while true do
    -- the piece: up to the end of the last END line held (everything, at the end of the file)
    local cut
    if eof then cut = #buf else
      for e in buf:gmatch("%-%-%-%-%-END [^\n]*\n()") do cut = e - 1 end
    end
    if cut and cut > 0 then
      local piece = buf:sub(1, cut)
      buf = buf:sub(cut + 1)
      if piece:find("-----BEGIN ", 1, true) then
        local r, err, code = M.bytes(piece, name, o)
        if not r then f:close() return nil, err, code end
        for _, x in ipairs(r.objects) do renumber(x) end
        for _, x in ipairs(r.unknown) do x.from = text(x.from) renumber(x) end
        for _, x in ipairs(r.skipped) do x.from = text(x.from) renumber(x) end
        for i, w in ipairs(r.warnings) do r.warnings[i] = text(w) end
        local ok, ferr, fcode = fn(r)
        if not ok then f:close() return nil, ferr, fcode end
      end
      for _ in piece:gmatch("%-%-%-%-%-BEGIN ") do blocks = blocks + 1 end
      for _ in piece:gmatch("\n") do lines = lines + 1 end
    end
    if eof then break end
    local more = f:read(PIECE)
    if more then buf = buf .. more else eof = true end
  end
  f:close()
  return true
end

-- fetch(source[, opts]) -> data, name | nil, err, code: the bytes of a source (path, "-",
-- URL, {data=}), for a command that looks at them itself before decoding (show)
function M.fetch(source, opts)
  options.check(opts, OPTS, "input.fetch")
  local pieces, err, code = fetch(source, opts or {})
  if not pieces then return nil, err, code end
  if #pieces ~= 1 then return nil, ("%s: %d values, one expected"):format(tostring(source), #pieces), "io" end
  return pieces[1].data, pieces[1].name
end

function M.of(result, kind)
  local out = {}
  for _, o in ipairs(result.objects) do if o.kind == kind then out[#out + 1] = o end end
  return out
end

function M.load(obj, opts)
  options.check(opts, LOAD_OPTS, "input.load")
  if obj.object then return obj.object end
  local k = obj.kind
  if k == "certificate" then return require("certbench.x509").load(obj.der) end
  if k == "crl" then return require("certbench.crl").load(obj.der) end
  if k == "csr" then return require("certbench.csr").load(obj.der) end
  if k == "private_key" or k == "public_key" then
    return require("certbench.pkey").load(obj.der or obj.pem, { password = opts and opts.password, name = obj.from })
  end
  if k == "ocsp_response" then return require("certbench.ocsp").load(obj.der) end
  return nil, ("%s: cannot load a %s"):format(obj.from, tostring(k))
end

function M.all(result, kind, opts)
  options.check(opts, LOAD_OPTS, "input.all")
  local out = {}
  for _, o in ipairs(M.of(result, kind)) do
    local x, err, code = M.load(o, opts)
    if not x then
      if err and not err:find(o.from, 1, true) then err = o.from .. ": " .. err end
      return nil, err, code
    end
    out[#out + 1] = x
  end
  return out
end

function M.problems(result)
  local out = {}
  for _, u in ipairs(result.unknown) do out[#out + 1] = u.from .. ": " .. u.reason end
  return out
end

function M.problem(result)
  local u = result.unknown[1]
  if not u then return nil end
  local more = #result.unknown - 1
  return u.from .. ": " .. u.reason .. (more > 0 and (" (and %d more not understood)"):format(more) or ""), u.code
end

return M
