-- Error codes that cross layers: every failure of certbench.archive carries a stable code
-- (archive.CODES), which certbench.input and the crl plugin's readers (crl/crlfile.lua) pass on
-- unchanged, and which crl/fetch.lua turns into the kind of failure the mirror reports ("archive",
-- "format", "io") from the code alone, never from the message. Real archives made by the zip,
-- gzip, tar and openssl tools and python3's zipfile (spec/support/archive.py), cut and damaged.
local archive = require "certbench.archive"
local input = require "certbench.input"
local crlfile = require "certbench.plugins.crl.crlfile"
local fetch = require "certbench.plugins.crl.fetch"
local h = require "support.helper"

local dir
local function fx(name) return h.read(dir .. "/" .. name) end
local function sh(cmd)
  local out, rc = h.run("cd " .. h.q(dir) .. " && " .. cmd)
  assert(rc == 0, cmd .. ": " .. out)
  return out
end

-- every layer's answer for bytes saved as file name (and limits): the codes of
-- archive.members, archive.crls, input.bytes, crlfile.from_data, crlfile.from_file (read, and
-- scanned) and of
-- fetch.get on a file:// URL, with fetch's message
local function codes(name, data, limits)
  local path = dir .. "/case-" .. name
  h.write(path, data)
  local t = {}
  local r, err
  r, err, t.members = archive.members(data, limits)
  assert(r == nil and err, name .. ": archive.members should fail")
  r, _, t.crls = archive.crls(data, limits)
  assert(r == nil, name .. ": archive.crls should fail")
  r, _, t.input = input.bytes(data, name, { limits = limits })
  assert(r == nil, name .. ": input.bytes should fail")
  r, _, t.from_data = crlfile.from_data(data, name, limits)
  assert(r == nil, name .. ": crlfile.from_data should fail")
  r, _, t.from_file = crlfile.from_file(path, limits)
  assert(r == nil, name .. ": crlfile.from_file should fail")
  -- scanned: a gzip file is inflated to a temporary file in pieces, not in memory
  r, _, t.from_file_scan = crlfile.from_file(path, limits, { scan = true })
  assert(r == nil, name .. ": crlfile.from_file with scan should fail")
  r, t.fetch_error, t.fetch = fetch.get("file://" .. path, { allow_file = true, limits = limits })
  assert(r == nil, name .. ": fetch.get should fail")
  return t
end

-- the same code from the archive up to crlfile, and fetch's kind of failure
local function expect(name, data, limits, code, kind)
  local t = codes(name, data, limits)
  for _, layer in ipairs { "members", "crls", "input", "from_data", "from_file", "from_file_scan" } do
    assert.equal(code, t[layer], ("%s: the code of %s"):format(name, layer))
  end
  assert.equal(kind, t.fetch, name .. ": fetch.get's code (" .. tostring(t.fetch_error) .. ")")
  return t
end

describe("error codes from certbench.archive to crl fetch", function()
  setup(function()
    dir = h.tmpdir()
    local out, rc = h.run("python3 " .. h.q(h.root .. "/spec/support/archive.py") .. " " .. h.q(dir))
    assert(rc == 0, out)
    sh("zip -q -P secret enc.zip crl1.der crl2.der")
    sh("cat crl1.pem crl2.pem | gzip -c > bundle.pem.gz")
    sh("gzip -c crl1.der > crl1.der.gz")
    sh("mkdir t && cp crl1.der crl2.der t/ && head -c 40000 /dev/urandom > t/noise.bin && tar cf t.tar t")
  end)

  it("a gzip CRL scanned from its file (in pieces) reads as from memory: names, fields, entries", function()
    sh("gzip -n -c crl1.der > nameless.crl.gz")
    for _, f in ipairs { "crl1.der.gz", "nameless.crl.gz" } do
      local a = assert(crlfile.from_file(dir .. "/" .. f))
      local b = assert(crlfile.from_file(dir .. "/" .. f, nil, { scan = true }))
      assert.equal(1, #a)
      assert.equal(1, #b)
      assert.equal(a[1].name, b[1].name, f)
      assert.equal(a[1].crl:fingerprint(), b[1].crl:fingerprint())
      assert.equal(a[1].crl:count(), b[1].crl:count())
      local ea, eb = {}, {}
      for e in a[1].crl:entries() do ea[#ea + 1] = e end
      for e in b[1].crl:entries() do eb[#eb + 1] = e end
      assert.same(ea, eb)
      -- scanned: no lookup(), the entries stay in the temporary file
      assert.has_error(function() b[1].crl:lookup("01") end)
    end
    assert.equal("crl1.der", crlfile.from_file(dir .. "/crl1.der.gz", nil, { scan = true })[1].name)
    assert.equal("nameless.crl", crlfile.from_file(dir .. "/nameless.crl.gz", nil, { scan = true })[1].name)
  end)

  it("lists every code it documents, each with a description", function()
    for _, c in ipairs { "max_members", "max_member", "max_total", "max_ratio", "max_depth", "truncated",
                         "corrupt", "encrypted", "unsupported", "unavailable", "nomem", "format" } do
      assert.is_string(archive.CODES[c], c)
    end
  end)

  it("a zip bomb: max_ratio (overall, and per member), an archive failure for fetch", function()
    expect("smallbombs.zip", fx("smallbombs.zip"), nil, "max_ratio", "archive")
    local zeros = archive.zip { { name = "x.crl", data = ("\0"):rep(300 * 1024) } }
    expect("zeros.zip", zeros, { ratio_grace = 0 }, "max_ratio", "archive")
    local gz = archive.gzip(("\0"):rep(300 * 1024), { name = "y.crl" })
    expect("zeros.gz", gz, { ratio_grace = 0 }, "max_ratio", "archive")
  end)

  it("too big: max_member and max_total", function()
    expect("sizes-member.zip", fx("sizes.zip"), { max_member = 1 << 20 }, "max_member", "archive")
    expect("sizes-total.zip", fx("sizes.zip"), { max_total = 3 << 20 }, "max_total", "archive")
  end)

  it("too many members and too deep: max_members, max_depth", function()
    expect("many.zip", fx("many.zip"), nil, "max_members", "archive")
    expect("deep.zip", fx("deep.zip"), nil, "max_depth", "archive")
  end)

  it("truncated: a cut gzip stream, a zip cut before its central directory, a short deflate member", function()
    local gz = fx("bundle.pem.gz")
    for _, cut in ipairs { #gz // 2, #gz - 1 } do
      expect("cut" .. cut .. ".gz", gz:sub(1, cut), nil, "truncated", "archive")
    end
    local z = fx("stored.zip")
    expect("cut.zip", z:sub(1, #z - 1), nil, "truncated", "archive")
    local big = archive.zip { { name = "r.bin", data = h.run("head -c 100000 /dev/urandom") } }
    local comp = string.unpack("<I4", big, 19)
    local cd = big:find("PK\1\2", 1, true)
    local short = big:sub(1, 18) .. string.pack("<I4", comp - 1000) .. big:sub(23, cd + 19) ..
      string.pack("<I4", comp - 1000) .. big:sub(cd + 24)
    expect("short.zip", short, nil, "truncated", "archive")
  end)

  it("corrupt: a CRC mismatch in a zip and in a gzip, a bad central directory, a damaged tar", function()
    local z = fx("stored.zip")
    local at = 30 + #"crl1.der" + 40
    expect("crc.zip", z:sub(1, at - 1) .. string.char(z:byte(at) ~ 0x55) .. z:sub(at + 1), nil, "corrupt", "archive")
    local gz = fx("crl1.der.gz")
    expect("crc.gz", gz:sub(1, -9) .. string.char(gz:byte(-8) ~ 0xff) .. gz:sub(-7), nil, "corrupt", "archive")
    local cd = z:find("PK\1\2", 1, true)
    expect("cd.zip", z:sub(1, cd - 1) .. "XX\1\2" .. z:sub(cd + 4), nil, "corrupt", "archive")
    -- a tar cut inside a member: libarchive refuses it. The old guess from the message
    -- ("tar: ...", no "zip" in it) called this a format error
    local tar = fx("t.tar")
    expect("cut.tar", tar:sub(1, 512 * 3 + 100), nil, "corrupt", "archive")
  end)

  it("encrypted: an encrypted zip member", function()
    expect("enc.zip", fx("enc.zip"), nil, "encrypted", "archive")
  end)

  it("not a CRL: format, however the file is named (fetch reads no message)", function()
    -- no CRL in it, and "zip" in its name and so in every message: the old guess from the
    -- text made this an archive failure
    for _, name in ipairs { "leaf.pem", "leaf.der" } do
      local path = dir .. "/certs-not-crls-" .. name .. ".zip"
      h.write(path, fx(name))
      local _, err, code = crlfile.from_data(fx(name), path)
      assert.equal("format", code, err)
      _, err, code = crlfile.from_file(path)
      assert.equal("format", code, err)
      _, err, code = fetch.get("file://" .. path, { allow_file = true })
      assert.equal("format", code, err)
      assert.matches("zip", err, 1, true)
    end
    -- a PEM block of a CRL without its END line, inside a zip: archive.crls says format
    local pem = fx("crl1.pem"):gsub("%-%-%-%-%-END.*$", "")
    local r, err, code = archive.crls(archive.zip { { name = "cut.pem", data = pem } })
    assert.is_nil(r)
    assert.equal("format", code, err)
  end)

  it("io: a file that cannot be read", function()
    local _, err, code = crlfile.from_file(dir .. "/no-such-file.crl")
    assert.equal("io", code, err)
    _, err, code = crlfile.first_crl(dir .. "/no-such-file.crl")
    assert.equal("io", code, err)
    _, err, code = fetch.get("file://" .. dir .. "/no-such-file.crl", { allow_file = true })
    assert.equal("io", code, err)
  end)

  it("zip-slip: a member named ../../x is a label only; the mirror publishes under its own names", function()
    local slip = archive.zip { { name = "../../escaped/crl1.der", data = fx("crl1.der") } }
    h.write(dir .. "/slip.zip", slip)
    local ms = assert(archive.members(slip))
    assert.equal("../../escaped/crl1.der", ms[1].name)
    local list = assert(crlfile.from_file(dir .. "/slip.zip"))
    assert.equal("../../escaped/crl1.der", list[1].name)
    local mirror = require "certbench.plugins.crl.mirror"
    local out = dir .. "/slip-out/a/b"
    local cfg = assert(mirror.config { out_dir = out, ca = { dir .. "/ca.pem" }, sources = { "file://" .. dir .. "/slip.zip" },
      grace = "36500d" })
    local rep, ok = mirror.run(cfg)
    assert.is_true(ok, rep and rep.sources[1] and rep.sources[1].error)
    assert.equal(1, rep.crls_published)
    for _, f in pairs(rep.sources[1].crls[1].files) do assert.equal(out, f:match("^(.*)/[^/]+$"), f) end
    assert.is_nil(io.open(dir .. "/slip-out/escaped/crl1.der"), "nothing under the member's path")
    assert.is_nil(io.open(dir .. "/escaped/crl1.der"))
  end)
end)
