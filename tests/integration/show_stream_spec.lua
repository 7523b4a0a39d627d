-- tests/integration/show_stream_spec.lua: `show --entries` streams a big CRL (issue 16, item 4): its peak
-- memory stays near that of `show` without the entries, in text and in --json, and openssl
-- counts the same entries. Peak RSS by /usr/bin/time.
local h = require "support.helper"
local F = require "support.crl_plugin"

describe("show --entries of a big CRL", function()
  it("prints 200,000 entries in about the memory of the summary", function()
    local dir = h.tmpdir()
    local ca = F.ca(dir, "Stream CA")
    local entries, t = {}, os.time() - 86400
    for i = 1, 200000 do entries[i] = { serial = ("%08X"):format(i * 7919), date = t } end
    local path = dir .. "/big.crl"
    h.write(path, F.crl(ca, { number = 1, entries = entries }):to_der())
    entries = nil
    collectgarbage()
    local function peak(args)
      local out = h.sh("/usr/bin/time -f 'RSS=%M' " .. h.q(h.bin) .. " " .. args .. " 2>&1 >" .. h.q(dir .. "/out"))
      return tonumber(out:match("RSS=(%d+)"))
    end
    local base = peak("show " .. h.q(path))
    local text = peak("show --entries " .. h.q(path))
    local json = peak("--json show --entries " .. h.q(path))
    local lines = tonumber(h.sh("grep -c 'Serial Number:' " .. h.q(dir .. "/out") .. " || true"))
    assert.equal(0, lines) -- the last run wrote JSON
    local n = tonumber(h.sh("python3 -c \"import json,sys; print(len(json.load(open(sys.argv[1]))['objects'][0]['crl']['entries']))\" "
      .. h.q(dir .. "/out")))
    assert.equal(200000, n)
    local o = h.sh("openssl crl -inform DER -in " .. h.q(path) .. " -noout -text | grep -c 'Serial Number:'")
    assert.equal(200000, tonumber(o))
    -- gathered, 200,000 entries as tables took some 200 MB over the summary
    assert.is_true(text < base * 1.5 + 20000, ("text %d KB, summary %d KB"):format(text, base))
    assert.is_true(json < base * 1.5 + 20000, ("json %d KB, summary %d KB"):format(json, base))
  end)
end)
