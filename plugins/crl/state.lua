-- crl/state.lua: the state file of a CRL mirror (.certbench-mirror/state.json): what is
-- published, per CRL (numbers, dates, digests, files), and what each source answered (ETags,
-- errors). A mirror of thousands of sources keeps each entry as its JSON text and decodes only
-- the entries a run is working on: decoded, an entry costs one to two kilobytes of tables, as
-- text a few hundred bytes.
--
--   state.load(path) -> st, existed      a missing, damaged or unknown file: an empty state
--   state.read_meta(path) -> meta | nil  the small fields only (last_run, last_full_success)
--   st.meta                              version, last_run, last_full_success, ca_links
--   st.crls, st.sources                  maps of entries, with
--     m:get(k) -> e | nil      decoded, and kept decoded ("hot", changes stay) until m:cool(k)
--     m:peek(k) -> e | nil     to read: a hot entry itself, else a decoded copy not kept
--                              (an entry whose text does not decode is nil: missing)
--     m:set(k, e | nil)        e becomes the entry (hot)
--     m:text(k) -> JSON | nil, m:set_text(k, json | nil)   the entry as text
--     m:cool(k), m:cool_all()  hot entries back to text (after that, changes to the tables
--                              that were hot are lost: cool what no task still changes)
--     m:keys() -> sorted list, m:each() -> iterator of k, peeked e (damaged entries skipped)
--   st:save(path[, {sync = true}]) -> true | nil, err, errno   atomically (fs.writer)
--
-- The file is one JSON document that any parser reads, written an entry a line so that it is
-- also read a line at a time, without the whole document in memory:
--   {"ca_links":{...},"last_run":N,...,"version":1,
--   "crls":{
--   "<key>":{...},
--   "<key>":{...}
--   },"sources":{
--   "<url>":{...}
--   }}
-- A file of the first layout (the whole document on one line) is read whole, once.
local fs = require "certbench.fs"
local ui = require "certbench.ui"

local M = {}

local encode = ui.encode_json
local decode = ui.decode_json

-- entry(t): the entry of a text, or nil when the text is damaged (hand-edited, say): such an
-- entry counts as missing, which is safe: the mirror reads the published files again
-- (reconcile) rather than trust a state it cannot read
local function entry(t)
  local ok, e = pcall(decode, t)
  if ok and type(e) == "table" then return e end
end

local Map = {}
Map.__index = Map

local function new_map() return setmetatable({ texts = {}, hot = {} }, Map) end

function Map:get(k)
  local e = self.hot[k]
  if e ~= nil then return e end
  local t = self.texts[k]
  if t == nil then return nil end
  e = entry(t)
  self.hot[k], self.texts[k] = e, nil
  return e
end

function Map:peek(k)
  local e = self.hot[k]
  if e ~= nil then return e end
  local t = self.texts[k]
  return t and entry(t)
end

function Map:set(k, e)
  self.hot[k], self.texts[k] = e, nil
end

function Map:text(k)
  local e = self.hot[k]
  if e ~= nil then return encode(e) end
  return self.texts[k]
end

function Map:set_text(k, t)
  self.hot[k], self.texts[k] = nil, t
end

function Map:cool(k)
  local e = self.hot[k]
  if e ~= nil then self.hot[k], self.texts[k] = nil, encode(e) end
end

function Map:cool_all()
  local ks = {}
  for k in pairs(self.hot) do ks[#ks + 1] = k end
  for _, k in ipairs(ks) do self:cool(k) end
end

function Map:keys()
  local ks = {}
  for k in pairs(self.texts) do ks[#ks + 1] = k end
  for k in pairs(self.hot) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- each(): k, e for every entry that decodes
function Map:each()
  local ks, i = self:keys(), 0
  return function()
    while true do
      i = i + 1
      local k = ks[i]
      if k == nil then return nil end
      local e = self:peek(k)
      if e ~= nil then return k, e end
    end
  end
end

local State = {}
State.__index = State

local function new_state(meta)
  meta = meta or {}
  meta.version = 1
  meta.ca_links = meta.ca_links or {}
  meta.crls, meta.sources = nil, nil
  return setmetatable({ meta = meta, crls = new_map(), sources = new_map() }, State)
end

-- key_end(line): where the JSON string that starts the line ends (its closing quote)
local function key_end(line)
  local i = 2
  while true do
    local c = line:find('[\\"]', i)
    if not c then error("no key", 0) end
    if line:byte(c) == 92 then i = c + 2 else return c end
  end
end

-- read_section(f, map, closing): entry lines up to the closing line, each kept as text (decoded
-- only when asked for: a run of thousands of sources need not decode each twice)
local function read_section(f, map, closing)
  for line in f:lines() do
    if line == closing then return end
    if line:sub(-1) == "," then line = line:sub(1, -2) end
    local q = key_end(line)
    local k = decode(line:sub(1, q))
    if type(k) ~= "string" or line:sub(q + 1, q + 1) ~= ":" then error("bad entry", 0) end
    local text = line:sub(q + 2)
    if text:sub(1, 1) ~= "{" or text:sub(-1) ~= "}" then error("bad entry", 0) end
    map.texts[k] = text
  end
  error("truncated", 0)
end

local function read_lines(f)
  local first = f:read("l")
  if not first or first:sub(1, 1) ~= "{" or first:sub(-1) ~= "," then error("not the line layout", 0) end
  local meta = decode(first:sub(1, -2) .. "}")
  if type(meta) ~= "table" or meta.version ~= 1 then error("unknown version", 0) end
  if f:read("l") ~= '"crls":{' then error("not the line layout", 0) end
  local st = new_state(meta)
  read_section(f, st.crls, '},"sources":{')
  read_section(f, st.sources, "}}")
  return st
end

-- the first layout: one document, decoded whole, its entries turned into text
local function read_whole(f)
  f:seek("set")
  local t = decode(f:read("a"))
  if type(t) ~= "table" or t.version ~= 1 then error("unknown version", 0) end
  local crls, sources = t.crls or {}, t.sources or {}
  local st = new_state(t)
  for k, e in pairs(crls) do st.crls.texts[k] = encode(e) end
  for k, e in pairs(sources) do st.sources.texts[k] = encode(e) end
  return st
end

function M.load(path)
  local f = io.open(path, "rb")
  if not f then return new_state(), false end
  local ok, st = pcall(read_lines, f)
  if not ok then ok, st = pcall(read_whole, f) end
  f:close()
  -- a damaged file is no reason to stop: the published files are read again (mirror's
  -- reconcile), so that nothing is rolled back
  if not ok then st = new_state() end
  return st, true
end

function M.read_meta(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local ok, meta = pcall(function()
    local first = f:read("l")
    if first and first:sub(-1) == "," then return decode(first:sub(1, -2) .. "}") end
    return read_whole(f).meta
  end)
  f:close()
  return ok and type(meta) == "table" and meta or nil
end

local function write_section(w, map)
  local ks = map:keys()
  for i, k in ipairs(ks) do
    w:write(encode(k), ":", map:text(k), i < #ks and ",\n" or "\n")
  end
end

function State:save(path, opts)
  local w, err, code = fs.writer(path, { sync = not opts or opts.sync ~= false })
  if not w then return nil, err, code end
  local head = encode(self.meta)
  w:write(head:sub(1, -2), ',\n"crls":{\n')
  write_section(w, self.crls)
  w:write('},"sources":{\n')
  write_section(w, self.sources)
  w:write("}}\n")
  return w:commit()
end

return M
