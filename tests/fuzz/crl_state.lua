-- crl_state: the CRL mirror's state file (plugins/crl/state.lua) on arbitrary bytes. It is our
-- own file, but a damaged one, one an older version wrote, or one edited by hand must give an
-- empty state or entries that save and read back to the same texts, never a crash.
require "certbench.plugins" -- installs the searcher of certbench.plugins.NAME.file
local state = require "certbench.plugins.crl.state"

-- saved without fsync: the target checks what is written, not durability, and an fsync per
-- input kept it at about 20 inputs a second
local path = os.tmpname()

local function texts(map)
  local t = {}
  for _, k in ipairs(map:keys()) do t[k] = map:text(k) end
  return t
end

local function same(a, b, what)
  for k, v in pairs(a) do
    if b[k] ~= v then error(what .. " changed on the way back: " .. k) end
  end
  for k in pairs(b) do
    if a[k] == nil then error(what .. " gained an entry on the way back: " .. k) end
  end
end

return function(data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  local st = state.load(path)
  state.read_meta(path)
  for _, k in ipairs(st.crls:keys()) do
    local e = st.crls:peek(k)
    assert(e == nil or type(e) == "table", "an entry that is no table")
  end
  for _, e in st.sources:each() do assert(type(e) == "table") end
  local crls, sources = texts(st.crls), texts(st.sources)
  assert(st:save(path, { sync = false }))
  local back = state.load(path)
  same(crls, texts(back.crls), "crls")
  same(sources, texts(back.sources), "sources")
end
