local ui = require "certbench.ui"
local cjson = require "cjson"
local digest = require "certbench.digest"
local fs = require "certbench.fs"
local h = require "support.helper"

-- the chunks of v's streamed JSON
local function chunks(v)
  local t = {}
  ui.encode_json(v, function(s) t[#t + 1] = s end)
  return t
end

-- a document of a few MB in the shape of crl mirror's state: many objects of strings (escapes,
-- UTF-8, control characters), integers, floats, booleans, empty lists and objects, a numeric
-- key among string keys, and now and then a string longer than a chunk
local function state(n)
  local sources = {}
  for i = 1, n do
    local serials = {}
    for j = 1, i % 13 do serials[j] = string.format("%016X%04X", i * 7919, j) end
    sources[i] = {
      url = "http://crl" .. i .. ".example.test/ca-" .. i .. ".crl",
      issuer = "CN=Caf\u{e9} " .. i .. ",O=\"Q\"\\\n\t" .. string.char(i % 32),
      size = i * 1021, ratio = i / 7, big = i * 2 ^ 60, neg = -i,
      ok = i % 3 == 0, none = i % 5 == 0 and ui.array() or {},
      revoked = serials, [i % 4 + 1] = "numeric key",
      long = i % 97 == 0 and string.rep("L", 70000 + i) or nil,
    }
  end
  return { version = 1, sources = sources, empty = ui.array(), nan = 0 / 0 }
end

-- what the encoder wrote for these values before it streamed (the same bytes, kept)
local edge = {
  { { a = ui.array(), b = {}, c = { ui.array(), {}, { {} } }, d = ui.array { 1 } },
    '{"a":[],"b":{},"c":[[],{},[{}]],"d":[1]}' },
  { { "é", "日本", "\u{1F600}", "\0\1\31\127", "a/b\\c\"d", "\t\r\n\b\f", "\xff\xfe" },
    '["é","日本","😀","\\u0000\\u0001\\u001f\\u007f","a\\/b\\\\c\\"d","\\t\\r\\n\\b\\f","\u{FFFD}\u{FFFD}"]' }, -- bytes outside UTF-8: U+FFFD (valid JSON)
  { { math.maxinteger, math.mininteger, 1e308, -1e-308, 2 ^ 63, 0.1, -0.0, 1 / 3, 2 ^ 53, 1e21 },
    "[9223372036854775807,-9223372036854775808,1e+308,-9.9999999999999991e-309," ..
    "9.2233720368547758e+18,0.10000000000000001,-0,0.33333333333333331,9007199254740992,1e+21]" },
  { { 0 / 0, math.huge, -math.huge, true, false, cjson.null }, "[null,null,null,true,false,null]" },
  { { [10] = "a", [2] = "b", x = 1, [1.5] = "f", [true] = "ignored" }, '{"1.5":"f","10":"a","2":"b","x":1}' },
  { ui.array(), "[]" }, { {}, "{}" }, { "top", '"top"' }, { 42, "42" }, { 1.25, "1.25" },
  { false, "false" }, { cjson.null, "null" }, { nil, "null" },
}

describe("ui.encode_json", function()
  it("writes the same bytes as before, streamed or not", function()
    for i, c in ipairs(edge) do
      assert.equal(c[2], ui.encode_json(c[1]), "case " .. i)
      assert.equal(c[2], table.concat(chunks(c[1])), "case " .. i)
    end
  end)

  -- a file name of Latin-1 bytes made the whole --json document invalid UTF-8 (RFC 8259): a
  -- strict reader refused it; each byte outside a UTF-8 sequence is now U+FFFD
  it("writes valid UTF-8 whatever the bytes of a string, keys included; valid text is unchanged", function()
    local cases = {
      { "caf\xe9.pem", '"caf\u{FFFD}.pem"' }, { "\xff\xfe", '"\u{FFFD}\u{FFFD}"' },
      { "ok \u{E9} \u{1F600}", '"ok \u{E9} \u{1F600}"' }, { "cut \xc3", '"cut \u{FFFD}"' },
      { "\xf4\x90\x80\x80", '"' .. ("\u{FFFD}"):rep(4) .. '"' }, { "\xed\xa0\x80", '"' .. ("\u{FFFD}"):rep(3) .. '"' },
    }
    for i, c in ipairs(cases) do
      assert.equal(c[2], ui.encode_json(c[1]), "case " .. i)
      assert.equal("{" .. c[2] .. ":1}", table.concat(chunks { [c[1]] = 1 }), "case " .. i)
      assert.is_truthy(utf8.len(ui.encode_json(c[1])))
    end
    local out = h.run(h.q(h.bin) .. " --json show " .. h.q(h.tmpdir() .. "/none\xff.pem") .. " 2>/dev/null")
    assert.is_truthy(utf8.len(out), out)
    assert.equal(1, cjson.decode(out).exit_code)
  end)

  it("writes userdata as its text", function()
    local w = assert(fs.writer(h.tmpdir() .. "/x"))
    w:abort()
    assert.equal('["certbench.fs.writer (closed)",1]', ui.encode_json { w, 1 })
    assert.equal('["certbench.fs.writer (closed)",1]', table.concat(chunks { w, 1 }))
  end)

  it("streams a document of megabytes in bounded chunks, identical to the whole text", function()
    local d = state(3000)
    local whole = ui.encode_json(d)
    -- the digest of what the encoder wrote for this document before it streamed
    assert.equal("CB84DB6C54F0862895C8CAB2880028D40AECEE9E3646EB005BD2C51A0FEEA121",
      digest.hex(digest.sha256(whole)))
    local t = chunks(d)
    assert.equal(whole, table.concat(t))
    assert.is_true(#t > 30, #t .. " chunks")
    for i, s in ipairs(t) do
      -- at most a chunk, the element that filled it (a long string here) and a little more
      assert.is_true(#s <= 65536 + 73000 + 2048, "chunk " .. i .. ": " .. #s)
    end
    local back = cjson.decode(whole)
    assert.equal(3000, #back.sources)
    assert.equal(string.rep("L", 70000 + 97), back.sources[97].long)
    assert.equal("CN=Caf\u{e9} 31,O=\"Q\"\\\n\t" .. string.char(31), back.sources[31].issuer)
  end)

  it("sends chunks of kilobytes: neither one per token nor the whole document", function()
    local nums, strs, objs = {}, {}, {}
    for i = 1, 100000 do nums[i] = i / 7 * 1e-300 end
    for i = 1, 10000 do strs[i] = string.rep("s", i % 900) end
    for i = 1, 20000 do objs[i] = { i, { k = "v" .. i }, ui.array() } end
    for _, v in ipairs { nums, strs, objs } do
      local t = chunks(v)
      assert.equal(ui.encode_json(v), table.concat(t))
      for i, s in ipairs(t) do
        assert.is_true(#s <= 65536 + 2048, "chunk " .. i .. ": " .. #s)
        -- 4096 pieces at the least: a few bytes each in the worst case (objs)
        if i < #t then assert.is_true(#s >= 4096, "chunk " .. i .. ": " .. #s) end
      end
    end
  end)

  it("keeps the live heap to a chunk's worth, not the document's", function()
    local d = state(3000)
    collectgarbage()
    collectgarbage()
    local base, peak, calls, total = collectgarbage("count"), 0, 0, 0
    ui.encode_json(d, function(s)
      calls = calls + 1
      total = total + #s
      if calls % 4 == 0 then
        collectgarbage()
        peak = math.max(peak, collectgarbage("count") - base)
      end
    end)
    assert.is_true(total > 3000000)
    -- the text whole is 3 MB; its pieces, before, several times that
    assert.is_true(peak < 1024, string.format("%.0f KB above the document", peak))
  end)

  it("keeps no state between encoders: two can stream at once", function()
    local a, b = state(300), { x = state(200), y = ui.array() }
    local function pull(v) return coroutine.create(function() ui.encode_json(v, coroutine.yield) end) end
    local ca, cb, ta, tb = pull(a), pull(b), {}, {}
    while coroutine.status(ca) ~= "dead" or coroutine.status(cb) ~= "dead" do
      for _, c in ipairs { { ca, ta }, { cb, tb } } do
        if coroutine.status(c[1]) ~= "dead" then
          local ok, s = coroutine.resume(c[1])
          assert(ok, s)
          c[2][#c[2] + 1] = s
        end
      end
    end
    assert.is_true(#ta > 2 and #tb > 2)
    assert.equal(ui.encode_json(a), table.concat(ta))
    assert.equal(ui.encode_json(b), table.concat(tb))
  end)

  it("raises on nesting too deep and on a sink that is not a function", function()
    local deep = {}
    local t = deep
    for _ = 1, 100 do t[1] = {} t = t[1] end
    assert.equal(string.rep("[", 100) .. "{}" .. string.rep("]", 100), ui.encode_json(deep))
    t[1] = {}
    assert.has_error(function() ui.encode_json(deep) end, "ui.json: nested too deep")
    assert.has_error(function() ui.encode_json(deep, function() end) end, "ui.json: nested too deep")
    assert.has_error(function() ui.encode_json({}, "stdout") end,
      "bad argument #2 to 'encode_json' (function expected, got string)")
  end)
end)

describe("ui.raw", function()
  it("is written as it is, inside any document, streamed or not", function()
    local inner = ui.encode_json { url = "http://x/a.crl", crls = ui.array { { action = "published", n = 3 } }, ok = true }
    local doc = { sources = ui.array { ui.raw(inner), ui.raw("[]") }, n = 2 }
    local want = '{"n":2,"sources":[' .. inner .. ',[]]}'
    assert.equal(want, ui.encode_json(doc))
    local chunks = {}
    ui.encode_json(doc, function(c) chunks[#chunks + 1] = c end)
    assert.equal(want, table.concat(chunks))
    assert.equal(inner, ui.raw_text(doc.sources[1]))
    assert.is_nil(ui.raw_text({}))
  end)

  it("reads like the table it was made from", function()
    local r = ui.raw(ui.encode_json { url = "u", ok = false, crls = ui.array { { action = "rejected" }, { action = "published" } } })
    assert.equal("u", r.url)
    assert.is_false(r.ok)
    assert.is_nil(r.missing)
    local actions = {}
    for _, c in ipairs(r.crls) do actions[#actions + 1] = c.action end
    assert.same({ "rejected", "published" }, actions)
    local keys = {}
    for k in pairs(r) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "crls", "ok", "url" }, keys)
    assert.equal(3, #ui.raw("[1,2,3]"))
    assert.equal(200, ui.raw('{"status":200}').status)
  end)

  it("refuses to be changed and to be made of anything but text", function()
    local r = ui.raw('{"a":1}')
    assert.has_error(function() r.a = 2 end, "ui.raw: a JSON text cannot be changed in place")
    assert.has_error(function() ui.raw { a = 1 } end)
  end)
end)

describe("ui.lazy_stream", function()
  -- an iterator over 1..n that counts its starts and steps
  local function counter(n)
    local c = { starts = 0, steps = 0 }
    c.open = function()
      c.starts = c.starts + 1
      local i = 0
      return function()
        if i >= n then return nil end
        i = i + 1
        c.steps = c.steps + 1
        return i
      end
    end
    return c
  end

  it("read in order, each item costs one step of one iterator", function()
    local c = counter(1000)
    local t = ui.lazy_stream(1000, c.open, function(v) return { n = v * 2 } end)
    local sum = 0
    for i, v in ipairs(t) do
      assert.equal(i * 2, v.n)
      sum = sum + 1
    end
    assert.equal(1000, sum)
    assert.equal(1, c.starts)
    assert.equal(1000, c.steps)
    local json = ui.encode_json(t)
    assert.equal(2, c.starts, "the encoder starts one iterator and walks it once")
    assert.equal(2000, c.steps)
    assert.matches('^%[{"n":2},{"n":4},', json)
  end)

  it("going back starts again; an iterator shorter than n gives nil", function()
    local c = counter(3)
    local t = ui.lazy_stream(5, c.open, function(v) return v end)
    assert.equal(2, t[2])
    assert.equal(1, t[1])
    assert.equal(2, c.starts)
    assert.equal(3, t[3])
    assert.is_nil(t[4])
    assert.has_error(function() ui.lazy_stream(1, nil, function() end) end)
    assert.has_error(function() ui.lazy_stream(1, function() end, nil) end)
  end)
end)

describe("ui.lazy_array", function()
  it("makes each value when it is read or encoded, and is a list to the encoder", function()
    local made = 0
    local t = ui.lazy_array(3, function(i) made = made + 1 return { n = i } end)
    assert.equal(3, #t)
    assert.equal(2, t[2].n)
    assert.is_nil(t[4])
    assert.is_nil(t[0])
    assert.is_nil(t.n)
    local seen = {}
    for i, v in ipairs(t) do seen[i] = v.n end
    assert.same({ 1, 2, 3 }, seen)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    assert.same({ 1, 2, 3 }, keys)
    made = 0
    assert.equal('[{"n":1},{"n":2},{"n":3}]', ui.encode_json(t))
    assert.equal(3, made, "each made once by the encoder")
    assert.equal("[]", ui.encode_json(ui.lazy_array(0, function() error("never") end)))
    local raw = ui.lazy_array(1, function() return ui.raw('{"a":1}') end)
    assert.equal('{"x":[{"a":1}]}', ui.encode_json { x = raw })
  end)

  it("is read only and checks its arguments", function()
    local t = ui.lazy_array(1, function() return 1 end)
    assert.has_error(function() t[1] = 2 end, "ui.lazy_array: read only")
    assert.has_error(function() ui.lazy_array(-1, function() end) end)
    assert.has_error(function() ui.lazy_array(1, "x") end)
  end)
end)

describe("ui.json", function()
  it("writes the document and a newline on stdout, chunk by chunk", function()
    local real, got = io.stdout, {}
    io.stdout = { write = function(self, ...)
      for _, s in ipairs { ... } do got[#got + 1] = s end
      return self
    end }
    local d = state(1000)
    local ok, err = pcall(ui.json, d)
    io.stdout = real
    assert.is_true(ok, err)
    assert.equal(ui.encode_json(d) .. "\n", table.concat(got))
    assert.is_true(#got > 5, #got .. " writes")
  end)

  it("writes to the real stdout of a process", function()
    local out, rc = h.run(string.format("%s run - <<'LUA'\nlocal ui = require 'certbench.ui'\n" ..
      "ui.json { a = ui.array(), b = { 1, 2.5, 'x' } }\nui.json(nil)\nLUA", h.q(h.bin)))
    assert.equal(0, rc, out)
    assert.equal('{"a":[],"b":[1,2.5,"x"]}\nnull\n', out)
  end)
end)

describe("ui.write_json", function()
  local dir
  before_each(function() dir = h.tmpdir() end)

  it("writes the document and a newline atomically, with fs options", function()
    local d = state(500)
    assert.is_true(ui.write_json(dir .. "/state.json", d))
    assert.equal(ui.encode_json(d) .. "\n", h.read(dir .. "/state.json"))
    assert.equal("644", h.mode(dir .. "/state.json"))
    assert.is_true(ui.write_json(dir .. "/state.json", { b = ui.array() },
      { mode = tonumber("600", 8), sync = false }))
    assert.equal('{"b":[]}\n', h.read(dir .. "/state.json"))
    assert.equal("600", h.mode(dir .. "/state.json"))
    assert.same({ "state.json" }, fs.list(dir))
  end)

  it("leaves the old file and nothing else when the encoder raises", function()
    h.write(dir .. "/state.json", "OLD\n")
    local d = state(3000) -- megabytes written before the error
    local t = d.sources[2999]
    for _ = 1, 101 do t.deep = {} t = t.deep end
    assert.has_error(function() ui.write_json(dir .. "/state.json", d) end, "ui.json: nested too deep")
    assert.equal("OLD\n", h.read(dir .. "/state.json"))
    collectgarbage() -- not needed for the cleanup: <close> did it
    assert.same({ "state.json" }, fs.list(dir))
  end)

  it("returns the failure, naming the file, when it cannot write", function()
    local ok, err, code = ui.write_json(dir .. "/missing/state.json", { 1 })
    assert.is_nil(ok)
    assert.equal(dir .. "/missing/state.json: No such file or directory", err)
    assert.equal(2, code)
    ok, err, code = ui.write_json(dir .. "/state.json", {}, { exclusive = true, mode = 384 })
    assert.is_true(ok, err)
    ok, err, code = ui.write_json(dir .. "/state.json", {}, { exclusive = true })
    assert.is_nil(ok)
    assert.equal(dir .. "/state.json: File exists", err)
    assert.equal(17, code)
  end)

  it("returns the first write error and keeps the old file when the disk refuses", function()
    h.write(dir .. "/state.json", "OLD\n")
    -- a file size limit: write(2) fails with EFBIG once 64 KB are written (SIGXFSZ ignored)
    local out, rc = h.run(string.format(
      "ulimit -f 64; trap '' XFSZ\nCERTBENCH_SRC=%s %s run - <<'LUA'\nlocal ui = require 'certbench.ui'\n" ..
      "local t = {} for i = 1, 20000 do t[i] = { n = i, s = ('x'):rep(i %% 50) } end\n" ..
      "print(ui.write_json(%q, t))\nLUA", h.q(h.root), h.q(h.bin), dir .. "/state.json"))
    assert.equal(0, rc, out)
    assert.equal("nil\t" .. dir .. "/state.json: File too large\t27\n", out)
    assert.equal("OLD\n", h.read(dir .. "/state.json"))
    assert.same({ "state.json" }, fs.list(dir))
  end)
end)

describe("ui.about", function()
  it("names the subject once", function()
    assert.equal("a.crl: truncated", ui.about("a.crl", "truncated"))
    assert.equal("http://h/x: cannot connect", ui.about("http://h/x", "http://h/x: cannot connect"))
    -- a subject that is only a prefix of the message's first word is still added
    assert.equal("http://h/x: http://h/xy: gone", ui.about("http://h/x", "http://h/xy: gone"))
  end)
end)

describe("ui.plural", function()
  it("says a count in words: 1 entry, 2 entries, 0 CRLs, 1 key, a plural given", function()
    assert.same({ "1 entry", "2 entries", "0 CRLs", "1 CRL", "2 keys", "1 key", "3 certificate requests", "2 men" },
      { ui.plural(1, "entry"), ui.plural(2, "entry"), ui.plural(0, "CRL"), ui.plural(1, "CRL"), ui.plural(2, "key"),
        ui.plural(1, "key"), ui.plural(3, "certificate request"), ui.plural(2, "man", "men") })
  end)
end)
