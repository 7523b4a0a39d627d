-- certbench.options: the edit distance behind every "did you mean" and the plugin contract's
-- check for misspelt fields (which runs on every plugin load, so it is the fast two-row form
-- with a bound): it must agree with the textbook table, bound or not.
local options = require "certbench.options"

-- the textbook definition: the whole (la+1) x (lb+1) table
local function reference(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a:sub(i, i) == b:sub(j, j) and 0 or 1))
    end
  end
  return d[#a][#b]
end

describe("options.distance", function()
  it("is Levenshtein's distance", function()
    assert.equal(0, options.distance("", ""))
    assert.equal(3, options.distance("", "abc"))
    assert.equal(3, options.distance("kitten", "sitting"))
    assert.equal(1, options.distance("comands", "commands"))
    assert.equal(1, options.distance("verion", "version"))
  end)

  it("agrees with the full table on random words, and with max returns max + 1 above it", function()
    math.randomseed(17)
    local function word()
      local t = {}
      for i = 1, math.random(0, 10) do t[i] = string.char(96 + math.random(1, 4)) end
      return table.concat(t)
    end
    for _ = 1, 3000 do
      local a, b = word(), word()
      local want = reference(a, b)
      assert.equal(want, options.distance(a, b), a .. " / " .. b)
      for max = 0, 4 do
        assert.equal(want <= max and want or max + 1, options.distance(a, b, max), a .. " / " .. b .. " max " .. max)
      end
    end
  end)
end)
