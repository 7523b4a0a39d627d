-- certbench.options (internal): one check for the options tables of the API. A key the
-- function does not know is a programming error (a misspelt option would otherwise be ignored
-- in silence), so it raises, naming the function and the key.
--   options.check(t, known, where[, level]) -> t
--     t: the options table (nil is fine); known: a set { key = true } or a list of keys;
--     where: the function's name ("ca.open"); level: as error's, for the caller's caller (3)
local M = {}

local sets = setmetatable({}, { __mode = "k" })

local function set_of(known)
  if known[1] == nil then return known end
  local s = sets[known]
  if not s then
    s = {}
    for _, k in ipairs(known) do s[k] = true end
    sets[known] = s
  end
  return s
end

function M.check(t, known, where, level)
  if t == nil then return t end
  if type(t) ~= "table" then error(where .. ": options must be a table, not a " .. type(t), level or 3) end
  local s = set_of(known)
  for k in pairs(t) do
    if not s[k] then
      local names = {}
      for n in pairs(s) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown option '%s' (known: %s)"):format(where, tostring(k), table.concat(names, ", ")), level or 3)
    end
  end
  return t
end

return M
