-- certbench.options (internal): one check for the options tables of the API. A key the
-- function does not know is a programming error (a misspelt option would otherwise be ignored
-- in silence), so it raises, naming the function and the key.
--   options.check(t, known, where[, level]) -> t
--     t: the options table (nil is fine); known: a set { key = true } or a list of keys;
--     where: the function's name ("ca.open"); level: as error's, for the caller's caller (3)
--   options.distance(a, b) -> the edit distance (Levenshtein) of two strings
--   options.close_matches(word, candidates) -> the candidates close to word, closest first
--     (distance 2 at most, or a prefix either way): the "did you mean" of every message
--   options.seconds(name[, zero]) -> a converter for argparse's :convert (text -> a number > 0,
--     or >= 0 with zero, else nil, "NAME: 'TEXT' is not a number of seconds ..."), the one
--     check of every --timeout and --wait option, so a bad value is a usage error (exit 2)
local M = {}

function M.seconds(name, zero)
  return function(text)
    local n = tonumber(text)
    if not n or n ~= n or n == math.huge or n < 0 or (n == 0 and not zero) then
      return nil, ("%s: '%s' is not a number of seconds %s"):format(name, text,
        zero and "(0 or more)" or "greater than 0")
    end
    return n
  end
end

function M.distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    for j = 1, lb do
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a:byte(i) == b:byte(j) and 0 or 1))
    end
    prev = cur
  end
  return prev[lb]
end

function M.close_matches(word, candidates)
  local out = {}
  for _, c in ipairs(candidates) do
    local d = M.distance(word, c)
    if d <= 2 or (#word >= 2 and c:sub(1, #word) == word) or (#c >= 3 and word:sub(1, #c) == c) then
      out[#out + 1] = { c, d }
    end
  end
  table.sort(out, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[1] < y[1] end)
  for i, v in ipairs(out) do out[i] = v[1] end
  return out
end

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
      local near = type(k) == "string" and M.close_matches(k, names)[1]
      error(("%s: unknown option '%s'%s (known: %s)"):format(where, tostring(k),
        near and ("; did you mean '" .. near .. "'?") or "", table.concat(names, ", ")), level or 3)
    end
  end
  return t
end

return M
