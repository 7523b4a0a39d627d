-- certbench.options (internal): one check for the options tables of the API. A key the
-- function does not know is a programming error (a misspelt option would otherwise be ignored
-- in silence), so it raises, naming the function and the key.
--   options.check(t, known, where[, level]) -> t
--     t: the options table (nil is fine); known: a set { key = true } or a list of keys;
--     where: the function's name ("ca.open"); level: as error's, for the caller's caller (3)
--   options.distance(a, b[, max]) -> the edit distance (Levenshtein) of two strings; with max,
--     any distance above max is returned as max + 1, found without filling the whole table
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

-- Two rows, the bytes of b read once, no call in the inner loop: the plugin contract check
-- (close_to in core/plugins.lua) ran 40 of these per `ca issue`, at 56 us each before (1.3 ms
-- of the command; a loop of 1000 in `certbench run`), and a bound ends most at the first rows.
function M.distance(a, b, max)
  local la, lb = #a, #b
  if max and (la - lb > max or lb - la > max) then return max + 1 end
  if la == 0 or lb == 0 then return la + lb end
  local bb, prev, cur = {}, {}, {}
  for j = 1, lb do bb[j] = b:byte(j) end
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local c = a:byte(i)
    cur[0] = i
    local low = i
    for j = 1, lb do
      local d = prev[j - 1] + (c == bb[j] and 0 or 1)
      local x = prev[j] + 1
      if x < d then d = x end
      x = cur[j - 1] + 1
      if x < d then d = x end
      cur[j] = d
      if d < low then low = d end
    end
    if max and low > max then return max + 1 end
    prev, cur = cur, prev
  end
  if max and prev[lb] > max then return max + 1 end
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
