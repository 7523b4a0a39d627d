-- spec/download_defaults_spec.lua: the download defaults are defined once, in http.defaults
-- (core/lib/downloads.lua is that table), and what downloads takes them from there: crl fetch's
-- connection and redirect limits, crl bundle's timeout and its help, certbench.input's cap.
-- Proved by changing http.defaults in a fresh certbench (a script run with `certbench run`,
-- before any plugin is loaded) and watching the values and the behaviour follow; the commands'
-- own deliberate values (crl fetch's 120 s and 256 MiB) are named once; the shorter timeout of
-- a download someone waits on for a verdict (crl check, ocsp.check, vcs cafile) is
-- http.defaults.check_timeout.
local h = require "support.helper"
local servers = require "support.servers"

local dir = h.tmpdir()

-- run(lua) -> the script's output, fields "key=value" per line; fails the test on exit ~= 0
local function run(lua)
  local path = dir .. "/script.lua"
  h.write(path, lua)
  local out, rc = h.run(h.q(h.bin) .. " run " .. h.q(path))
  assert.equal(0, rc, out)
  local t = {}
  for k, v in out:gmatch("([%w_]+)=([^\n]*)") do t[k] = v end
  return t, out
end

local PRELUDE = [[
local http = require "certbench.http"
assert(http.defaults == require "certbench.downloads", "http.defaults is not the one table")
local cli = require "certbench.cli"
local crl = assert(require("certbench.plugins").load("crl"))
local vcs = assert(require("certbench.plugins").load("vcs"))
local function help(cmd, plugin) return cli.command_parser(plugin or crl, cmd, true):get_help():gsub("%s+", " ") end
local function say(k, v) print(k .. "=" .. tostring(v)) end
]]

local REPORT = [[
local fetch = require "certbench.plugins.crl.fetch"
say("fetch_connect", fetch.defaults.connect_timeout)
say("fetch_redirects", fetch.defaults.max_redirects)
say("fetch_timeout", fetch.defaults.timeout)
say("fetch_max", fetch.defaults.max_size)
say("bundle_help", help("bundle"):match("%-%-timeout <timeout> seconds.-%(default:? %d+%)"))
say("check_help", help("check"):match("%-%-timeout <timeout> seconds.-%(default:? %d+%)"))
say("fetch_help", help("fetch"):match("%-%-timeout <timeout> seconds.-%(default:? %d+%)"))
say("cafile_help", help("cafile", vcs):match("%-%-timeout <timeout> seconds.-%(default:? %d+%)"))
say("check_timeout", require("certbench.plugins.crl.check").TIMEOUT)
]]

describe("download defaults", function()
  it("unchanged: the values the commands had before they took http.defaults", function()
    local t = run(PRELUDE .. REPORT)
    assert.equal("10", t.fetch_connect)
    assert.equal("5", t.fetch_redirects)
    assert.equal("120", t.fetch_timeout)         -- crl fetch's own, named in fetch.lua
    assert.equal(tostring(256 << 20), t.fetch_max)
    assert.matches("(default 60)", t.bundle_help, 1, true)
    assert.matches("(default: 30)", t.check_help, 1, true) -- http.defaults.check_timeout
    assert.matches("(default: 120)", t.fetch_help, 1, true)
    assert.matches("(default 30)", t.cafile_help, 1, true)
    assert.equal("30", t.check_timeout)
  end)

  it("changed in http.defaults: crl fetch's limits and crl bundle's help follow", function()
    local t = run(PRELUDE .. [[
http.defaults.connect_timeout = 7
http.defaults.max_redirects = 2
http.defaults.timeout = 41
http.defaults.check_timeout = 13
]] .. REPORT)
    assert.equal("7", t.fetch_connect)
    assert.equal("2", t.fetch_redirects)
    assert.equal("120", t.fetch_timeout)
    assert.matches("(default 41)", t.bundle_help, 1, true)
    assert.matches("(default: 13)", t.check_help, 1, true)
    assert.matches("(default 13)", t.cafile_help, 1, true)
    assert.equal("13", t.check_timeout)
  end)

  it("ocsp.check's requests time out at http.defaults.check_timeout", function()
    local hostile = servers.hostile()
    finally(function() servers.stop(hostile) end)
    local t, out = run(PRELUDE .. ([[
http.defaults.check_timeout = 1
local x509, pkey, ocsp = require "certbench.x509", require "certbench.pkey", require "certbench.ocsp"
local k = pkey.generate("ec:P-256")
local ca = x509.new { subject = "/CN=t", issuer_key = k, ca = true, days = 1 }
local c0 = os.time()
local r, err = ocsp.check { cert = ca, issuer = ca, url = "http://127.0.0.1:%d/slow?interval=5" }
say("ok", r ~= nil)
say("err", err)
say("secs", os.time() - c0)
]]):format(hostile.port))
    assert.equal("false", t.ok, out)
    -- 1 s, not the slow body's 5000 s or the default 30 s: the bound lies between them, far from
    -- the 1 s (3 s, with os.time's whole seconds and a process start, was close on a loaded machine)
    assert.is_true(tonumber(t.secs) < 15, out)
  end)

  it("crl bundle's downloads time out at http.defaults.timeout", function()
    local hostile = servers.hostile()
    finally(function() servers.stop(hostile) end)
    local t, out = run(PRELUDE .. ([[
http.defaults.timeout = 1
local bundle = require "certbench.plugins.crl.bundle"
local c0 = os.time()
local r, err = bundle.build { sources = { "http://127.0.0.1:%d/slow?interval=5" }, cas = {},
  out = %q }
say("ok", r ~= nil)
say("err", err)
say("secs", os.time() - c0)
]]):format(hostile.port, dir .. "/bundle.pem"))
    assert.equal("false", t.ok, out)
    assert.matches("time", t.err, 1, true)
    assert.is_true(tonumber(t.secs) < 15, out) -- 1 s, not the slow body's 5000 s or the default 60 s
  end)

  it("input's default cap of a download is http.defaults.max_size; a local file's is fs.FILE_MAX", function()
    local www = h.tmpdir()
    h.write(www .. "/twenty.pem", ("x"):rep(20))
    local srv = servers.http(www)
    finally(function() servers.stop(srv) end)
    local t = run(PRELUDE .. ([[
http.defaults.max_size = 10
local input = require "certbench.input"
local r, err = input.read(%q)
say("ok", r ~= nil)
say("err", err)
r, err = input.read(%q)
say("local_err", err)
say("file_max", require("certbench.fs").FILE_MAX)
]]):format(("http://127.0.0.1:%d/twenty.pem"):format(srv.port), www .. "/twenty.pem"))
    assert.equal("false", t.ok)
    assert.matches("twenty.pem", t.err, 1, true)
    assert.matches("10", t.err, 1, true)
    -- the local file passes the size cap (20 bytes): what stops it is its content, not its size
    assert.not_matches("too large", t.local_err, 1, true)
    assert.not_matches("limit", t.local_err, 1, true)
    assert.equal(tostring(256 << 20), t.file_max)
  end)
end)
