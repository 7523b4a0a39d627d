-- crl/state.lua: the state file of a CRL mirror (.certbench-mirror/state.json): what is
-- published, per CRL (numbers, dates, digests, files), and what each source answered (ETags,
-- errors). A mirror of thousands of sources keeps each entry as JSON text on disk (where it is
-- in the file read, or in a spool) and decodes only the entries a run is working on: decoded,
-- an entry costs one to two kilobytes of tables; on disk, its key and an integer.
--
--   state.load(path[, {spool_dir}]) -> st, existed   a missing, damaged or unknown file: an
--                                        empty state
--   state.read_meta(path) -> meta | nil  the small fields only (last_run, last_full_success)
--   st.meta                              version, last_run, last_full_success, ca_links
--   st.crls, st.sources                  maps of entries, with
--     m:get(k) -> e | nil      decoded, and kept decoded ("hot", changes stay) until m:cool(k)
--     m:peek(k) -> e | nil     to read: a hot entry itself, else a decoded copy not kept
--                              (an entry whose text does not decode is nil: missing)
--     m:set(k, e | nil)        e becomes the entry (hot)
--     m:text(k) -> JSON | nil   the entry as text
--     m:snapshot(k) -> s, m:restore(k, s)    an entry saved and put back (no copy of it); s
--                              may also be a JSON text, or nil (no entry)
--     m:cool(k), m:cool_all()  hot entries back to text (after that, changes to the tables
--                              that were hot are lost: cool what no task still changes)
--     m:keys() -> sorted list, m:each() -> iterator of k, peeked e (damaged entries skipped)
--   st:save(path[, {sync = true}]) -> true | nil, err, errno   atomically (fs.writer)
--   st:close()
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

-- exact: a name or URL that is not UTF-8 must read back the same, or its CA's state is lost
local encode = ui.encode_json_exact
local decode = ui.decode_json

-- entry(t): the entry of a text, or nil when the text is damaged (hand-edited, say): such an
-- entry counts as missing, which is safe: the mirror reads the published files again
-- (reconcile) rather than trust a state it cannot read
local function entry(t)
  local ok, e = pcall(decode, t)
  if ok and type(e) == "table" then return e end
end

-- Where the texts are: a slot is a Lua string (a text in memory), a negative integer that says
-- where the text is in the state file that was read (it stays open while the state is used),
-- or a slot of the spool (fs.spool: the entries cooled in this run, appended to an unnamed
-- temporary file). So an entry costs its key and one integer of memory, whatever its size.
local Store = {}
Store.__index = Store

local LEN_BITS = 24

local function new_store(opts)
  return setmetatable({ spool = fs.spool(opts and opts.spool_dir) }, Store)
end

local function file_slot(off, len) return -((off << LEN_BITS) | len) - 1 end

function Store:read(slot)
  if type(slot) ~= "number" then return slot end
  if slot >= 0 then return self.spool:read(slot) end
  local r = -(slot + 1)
  self.file:seek("set", r >> LEN_BITS)
  return self.file:read(r & ((1 << LEN_BITS) - 1)) or ""
end

function Store:put(text) return self.spool:put(text) end

function Store:close()
  if self.file then self.file:close() self.file = nil end
  self.spool:close()
end

local Map = {}
Map.__index = Map

local function new_map(store) return setmetatable({ texts = {}, hot = {}, store = store }, Map) end

function Map:get(k)
  local e = self.hot[k]
  if e ~= nil then return e end
  local t = self.texts[k]
  if t == nil then return nil end
  e = entry(self.store:read(t))
  self.hot[k], self.texts[k] = e, nil
  return e
end

function Map:peek(k)
  local e = self.hot[k]
  if e ~= nil then return e end
  local t = self.texts[k]
  return t and entry(self.store:read(t))
end

function Map:set(k, e)
  self.hot[k], self.texts[k] = e, nil
end

function Map:text(k)
  local e = self.hot[k]
  if e ~= nil then return encode(e) end
  local t = self.texts[k]
  return t and self.store:read(t)
end

-- snapshot(k) -> s: what restore(k, s) puts back (nil: no entry), without a copy of the text
function Map:snapshot(k)
  self:cool(k)
  return self.texts[k]
end

function Map:restore(k, s)
  self.hot[k], self.texts[k] = nil, s
end

function Map:cool(k)
  local e = self.hot[k]
  if e ~= nil then self.hot[k], self.texts[k] = nil, self.store:put(encode(e)) end
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

local function new_state(meta, opts)
  meta = meta or {}
  meta.version = 1
  meta.ca_links = meta.ca_links or {}
  meta.crls, meta.sources = nil, nil
  local store = new_store(opts)
  return setmetatable({ meta = meta, store = store, crls = new_map(store), sources = new_map(store) }, State)
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

-- read_section(f, pos, map, closing) -> pos: entry lines up to the closing line; each entry is
-- kept as where its text is in the file (decoded only when asked for). pos: the offset of the
-- next line (every line ends with one "\n": the layout is ours; a file that breaks it gives
-- entries that do not decode, which count as missing).
local function read_section(f, pos, map, closing)
  for line in f:lines() do
    local start = pos
    pos = pos + #line + 1
    if line == closing then return pos end
    if line:sub(-1) == "," then line = line:sub(1, -2) end
    local q = key_end(line)
    local k = decode(line:sub(1, q))
    if type(k) ~= "string" or line:sub(q + 1, q + 1) ~= ":" then error("bad entry", 0) end
    local len = #line - q - 1
    if line:sub(q + 2, q + 2) ~= "{" or line:sub(-1) ~= "}" or len >= (1 << LEN_BITS) then error("bad entry", 0) end
    map.texts[k] = file_slot(start + q + 1, len)
  end
  error("truncated", 0)
end

local function read_lines(f, opts)
  local first = f:read("l")
  if not first or first:sub(1, 1) ~= "{" or first:sub(-1) ~= "," then error("not the line layout", 0) end
  local meta = decode(first:sub(1, -2) .. "}")
  if type(meta) ~= "table" or meta.version ~= 1 then error("unknown version", 0) end
  local second = f:read("l")
  if second ~= '"crls":{' then error("not the line layout", 0) end
  local st = new_state(meta, opts)
  local pos = read_section(f, #first + #second + 2, st.crls, '},"sources":{')
  read_section(f, pos, st.sources, "}}")
  st.store.file = f
  return st
end

-- the first layout: one document, decoded whole, its entries turned into text in the spool
local function read_whole(f, opts)
  f:seek("set")
  local t = decode(f:read("a"))
  if type(t) ~= "table" or t.version ~= 1 then error("unknown version", 0) end
  local crls, sources = t.crls or {}, t.sources or {}
  local st = new_state(t, opts)
  for k, e in pairs(crls) do st.crls.texts[k] = st.store:put(encode(e)) end
  for k, e in pairs(sources) do st.sources.texts[k] = st.store:put(encode(e)) end
  return st
end

-- load(path[, {spool_dir = dir}]) -> st, existed. The file stays open while st is used (its
-- entries are read from it); spool_dir: where the spool is made (default: tmpfile(3)).
function M.load(path, opts)
  local f = io.open(path, "rb")
  if not f then return new_state(nil, opts), false end
  local ok, st = pcall(read_lines, f, opts)
  if not ok then
    ok, st = pcall(read_whole, f, opts)
    f:close()
  end
  -- a damaged file is no reason to stop: the published files are read again (mirror's
  -- reconcile), so that nothing is rolled back
  if not ok then st = new_state(nil, opts) end
  return st, true
end

-- st:close(): the state file and the spool closed (also when st is collected)
function State:close() self.store:close() end

function M.read_meta(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local ok, meta = pcall(function()
    local first = f:read("l")
    if first and first:sub(-1) == "," then return decode(first:sub(1, -2) .. "}") end
    f:seek("set")
    local t = decode(f:read("a"))
    if type(t) == "table" then t.crls, t.sources = nil, nil end
    return t
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
