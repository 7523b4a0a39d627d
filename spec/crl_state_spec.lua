-- spec/crl_state_spec.lua: the state file of the CRL mirror (plugins/crl/state.lua): entries
-- kept as text and decoded on demand, the file one JSON document written an entry a line
-- (python's json reads it), read a line at a time, the first layout (one line) still read.
local h = require "support.helper"
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local state = require "certbench.plugins.crl.state"

local function sample()
  local st = state.load("/nonexistent/state.json")
  st.meta.last_run, st.meta.last_full_success = 1764300000, 1764290000
  st.meta.ca_links = { ["1a2b3c4d.0"] = true }
  st.crls:set("k2", { issuer = "CN=b, \"quoted\"", number = "0F", size = 10, keys = ui.array {} })
  st.crls:set("k1", { issuer = "CN=a", number = "01", this_update_epoch = 1764200000 })
  st.sources:set("http://x/a.crl?q=\"1\"&r=\\", { ok = true, etag = "\"v1\"", keys = { "k1" } })
  st.sources:set("ldap:///cn=CA,dc=x?certificateRevocationList;binary", { ok = false, errors_total = 3 })
  return st
end

describe("crl mirror state", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("is empty and not there when the file is missing", function()
    local st, existed = state.load(dir .. "/state.json")
    assert.is_false(existed)
    assert.same({}, st.crls:keys())
    assert.same({}, st.meta.ca_links)
    assert.equal(1, st.meta.version)
    assert.is_nil(state.read_meta(dir .. "/state.json"))
  end)

  it("writes one JSON document, an entry a line, that python's json reads as the same data", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    local text = h.read(p)
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(8, #lines)
    assert.equal('"crls":{', lines[2])
    assert.matches('^"k1":{', lines[3])
    assert.matches('^"k2":{', lines[4])
    assert.equal('},"sources":{', lines[5])
    assert.equal("}}", lines[8])
    local py = h.sh("python3 -c " .. h.q("import json,sys; d = json.load(open(sys.argv[1])); "
      .. "print(sorted(d)); print(d['crls']['k2']['issuer']); print(d['sources']['http://x/a.crl?q=\"1\"&r=\\\\']['etag']); "
      .. "print(d['last_run'], d['ca_links'])") .. " " .. h.q(p))
    assert.equal("['ca_links', 'crls', 'last_full_success', 'last_run', 'sources', 'version']\n"
      .. 'CN=b, "quoted"\n"v1"\n1764300000 {\'1a2b3c4d.0\': True}\n', py)
  end)

  it("reads back what it wrote, entries as text until asked for", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    local st, existed = state.load(p)
    assert.is_true(existed)
    assert.same({ "k1", "k2" }, st.crls:keys())
    assert.same({}, (function() local t = {} for k in pairs(st.crls.hot) do t[#t + 1] = k end return t end)())
    assert.equal("CN=b, \"quoted\"", st.crls:peek("k2").issuer)
    assert.is_nil(next(st.crls.hot), "peek keeps nothing decoded")
    assert.equal(1764300000, st.meta.last_run)
    assert.is_true(st.meta.ca_links["1a2b3c4d.0"])
    assert.equal('"v1"', st.sources:peek("http://x/a.crl?q=\"1\"&r=\\").etag)
    assert.equal(3, st.sources:peek("ldap:///cn=CA,dc=x?certificateRevocationList;binary").errors_total)
    local m = state.read_meta(p)
    assert.equal(1764290000, m.last_full_success)
    assert.is_nil(m.crls)
  end)

  it("reads back names and URLs that are not UTF-8 byte for byte (a Latin-1 file:// source keeps its pin)", function()
    -- found by tests/fuzz/crl_state.lua: once --json output made such strings valid UTF-8
    -- (U+FFFD), the state did too, and the entry came back under another key
    local p = dir .. "/state.json"
    local st = sample()
    local url, issuer = "file:///srv/crl/caf\233.crl", "CN=Caf\233 \255"
    st.sources:set(url, { ok = true, issuers = { issuer } })
    st.crls:set("k\200", { issuer = issuer })
    assert(st:save(p))
    local back = state.load(p)
    assert.same({ issuer }, back.sources:peek(url).issuers)
    assert.equal(issuer, back.crls:peek("k\200").issuer)
    assert.equal(st.sources:text(url), back.sources:text(url))
    -- the --json documents stay valid UTF-8
    assert.equal('{"u":"caf\u{FFFD}.crl"}', ui.encode_json { u = "caf\233.crl" })
    assert.equal('{"u":"caf\233.crl"}', ui.encode_json_exact { u = "caf\233.crl" })
    assert.equal('{"u\u{FFFD}":1}', ui.encode_json { ["u\255"] = 1 })
    assert.equal('{"u\255":1}', ui.encode_json_exact { ["u\255"] = 1 })
  end)

  it("keeps changes to an entry it handed out until cooled, and not after", function()
    local st = sample()
    local e = st.crls:get("k1")
    e.number = "02"
    assert.equal("02", st.crls:peek("k1").number)
    st.crls:cool("k1")
    assert.equal('{"issuer":"CN=a","number":"02","this_update_epoch":1764200000}', st.crls:text("k1"))
    e.number = "03" -- a table no longer held by the map
    assert.equal("02", st.crls:peek("k1").number)
    local copy = st.crls:peek("k1")
    copy.number = "04"
    assert.equal("02", st.crls:get("k1").number)
    st.crls:restore("k1", nil)
    assert.is_nil(st.crls:get("k1"))
    st.crls:set("k1", { number = "05" })
    st.crls:cool_all()
    assert.is_nil(next(st.crls.hot))
    assert.same({ "k1", "k2" }, st.crls:keys())
    local seen = {}
    for k, x in st.crls:each() do seen[#seen + 1] = k .. "=" .. x.number end
    assert.same({ "k1=05", "k2=0F" }, seen)
    st.crls:set("k2", nil)
    assert.same({ "k1" }, st.crls:keys())
  end)

  it("reads the first layout (one line) and rewrites it an entry a line", function()
    local p = dir .. "/state.json"
    h.write(p, ui.encode_json { version = 1, last_run = 5, ca_links = {}, crls = { a = { number = "01" } },
      sources = { ["http://u"] = { ok = true } } } .. "\n")
    local st = state.load(p)
    assert.equal("01", st.crls:peek("a").number)
    assert.is_true(st.sources:peek("http://u").ok)
    assert.equal(5, st.meta.last_run)
    assert.equal(5, state.read_meta(p).last_run)
    assert(st:save(p))
    assert.equal(6, select(2, h.read(p):gsub("\n", "")))
    assert.equal("01", state.load(p).crls:peek("a").number)
  end)

  it("starts empty on a damaged, truncated or unknown file, which stays as it is until saved over", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    local good = h.read(p)
    local cases = {
      good:sub(1, #good - 20), -- cut short
      (good:gsub('"k2":{', '"k2":[', 1)), -- an entry line that is no object
      (good:gsub('"version":1', '"version":9', 1)),
      "not json at all\n", "",
    }
    for i, text in ipairs(cases) do
      h.write(p, text)
      local st, existed = state.load(p)
      assert.is_true(existed, "case " .. i)
      assert.same({}, st.crls:keys(), "case " .. i)
      assert.same({}, st.sources:keys(), "case " .. i)
      assert.equal(text, h.read(p))
    end
  end)

  it("counts an entry whose text does not decode as missing, and keeps the others", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    h.write(p, (h.read(p):gsub('"k2":{', '"k2":{oops', 1)))
    local st = state.load(p)
    assert.is_nil(st.crls:peek("k2"))
    assert.is_nil(st.crls:get("k2"))
    assert.equal("01", st.crls:peek("k1").number)
    local seen = {}
    for k in st.crls:each() do seen[#seen + 1] = k end
    assert.same({ "k1" }, seen)
    assert.is_true(st.sources:peek("http://x/a.crl?q=\"1\"&r=\\").ok)
  end)

  it("reads entries from the file it loaded (still after it was saved over) and the spool", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    local st = state.load(p, { spool_dir = dir })
    assert.same({ "state.json" }, fs.list(dir), "the spool has no name")
    assert.is_number(st.crls.texts.k1, "an entry is where it is in the file, not a string")
    local e = st.crls:get("k1")
    e.number = "09"
    st.crls:cool("k1")
    assert.is_number(st.crls.texts.k1)
    local snap = st.crls:snapshot("k2")
    st.crls:set("k2", { number = "AA" })
    assert(st:save(p))
    assert.equal("09", st.crls:peek("k1").number)
    assert.equal("AA", st.crls:peek("k2").number)
    st.crls:restore("k2", snap)
    assert.equal("0F", st.crls:peek("k2").number, "the snapshot reads from the file that was replaced")
    assert.equal('"v1"', st.sources:peek("http://x/a.crl?q=\"1\"&r=\\").etag)
    local again = state.load(p)
    assert.equal("09", again.crls:peek("k1").number)
    assert.equal("AA", again.crls:peek("k2").number)
    st:close()
    again:close()
    assert.same({ "state.json" }, fs.list(dir))
  end)

  it("reads a file whose lines an editor changed (CRLF, an entry added) right", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    h.write(p, (h.read(p):gsub("\n", "\r\n")))
    local st = state.load(p)
    assert.equal("CN=a", st.crls:peek("k1").issuer)
    assert.equal("0F", st.crls:peek("k2").number)
    h.write(p, (h.read(p):gsub("\r\n", "\n"):gsub('"k1":', '"k0":{"x":1},\n"k1":', 1)))
    st = state.load(p)
    assert.equal("CN=a", st.crls:peek("k1").issuer)
    assert.equal(1, st.crls:peek("k0").x)
  end)

  it("saves atomically: a folder it cannot write to is an error, and the old file stays", function()
    local p = dir .. "/state.json"
    assert(sample():save(p))
    local before = h.read(p)
    local ok, err = sample():save(dir .. "/missing/state.json")
    assert.is_nil(ok)
    assert.matches("missing/state.json", err, 1, true)
    assert.equal(before, h.read(p))
    assert.same({ "state.json" }, fs.list(dir))
  end)

  it("holds ten thousand entries as text in a fraction of their decoded size", function()
    local st = state.load(dir .. "/none.json")
    for i = 1, 10000 do
      st.crls:set(("%040x"):format(i), { issuer = "CN=Bench CA " .. i .. ",O=certbench bench", number = "0A",
        this_update_epoch = 1764300000 + i, next_update_epoch = 1764900000 + i, entries = i % 20,
        sha256 = ("%064x"):format(i), base = "Bench_CA_" .. i, size = 400, mtime = 1764300000, ino = i,
        pem_size = 600, pem_mtime = 1764300000, pem_ino = i + 1, source = "http://127.0.0.1:1/" .. i .. ".crl",
        last_success = 1764300000, r_index = 0, hash = ("%08x"):format(i) })
    end
    collectgarbage() collectgarbage()
    local hot = collectgarbage("count")
    st.crls:cool_all()
    collectgarbage() collectgarbage()
    local cold = collectgarbage("count")
    assert.is_true(cold < hot * 0.6, ("decoded %.0f KB, as text %.0f KB"):format(hot, cold))
    assert.equal(10000, #st.crls:keys())
  end)
end)
