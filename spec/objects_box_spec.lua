-- spec/objects_box_spec.lua: when making the Lua box of a key, certificate, request or name
-- fails (out of memory), the object it was to hold is freed before the error goes on
-- (core/lib/objects.c, cb_push_*). CERTBENCH_FAULT=objects.box makes every box fail as an
-- allocation would; the program must raise that error where the object was asked for, and go
-- on. Under --asan-only, LeakSanitizer fails the run (exit code) if an object was left behind.
local h = require "support.helper"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local csr = require "certbench.csr"

describe("a box that cannot be made", function()
  it("frees the object it was to hold and raises, for keys, certificates, requests and names", function()
    local dir = h.tmpdir()
    local key = assert(pkey.generate("ec:P-256"))
    local cert = assert(x509.new { subject = "/CN=box", issuer_key = key, days = 1 })
    local req = assert(csr.new { subject = "/CN=box", key = key })
    h.write(dir .. "/key.pem", key:to_pem())
    h.write(dir .. "/cert.pem", cert:to_pem())
    h.write(dir .. "/req.pem", req:to_pem())
    h.write(dir .. "/run.lua", [[
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local csr = require "certbench.csr"
local name = require "certbench.name"
local dir = ...
local function read(f) local fh = assert(io.open(dir .. "/" .. f, "rb")) local d = fh:read("a") fh:close() return d end
local calls = {
  { "pkey.load", function() return pkey.load(read("key.pem")) end },
  { "pkey.generate", function() return pkey.generate("ec:P-256") end },
  { "x509.load", function() return x509.load(read("cert.pem")) end },
  { "x509.load_all", function() return x509.load_all(read("cert.pem") .. read("cert.pem")) end },
  { "csr.load", function() return csr.load(read("req.pem")) end },
  { "name.parse", function() return name.parse("/CN=box") end },
}
for _, c in ipairs(calls) do
  local ok, err = pcall(c[2])
  print(c[1], ok, (tostring(err):match("not enough memory %(CERTBENCH_FAULT=objects%.box%)")))
end
]])
    local out, rc = h.run(("CERTBENCH_FAULT=objects.box %s run %s %s"):format(h.q(h.bin), h.q(dir .. "/run.lua"), h.q(dir)))
    assert.equal(0, rc, out)
    for _, fn in ipairs { "pkey.load", "pkey.generate", "x509.load", "x509.load_all", "csr.load", "name.parse" } do
      assert.matches("\n?" .. fn:gsub("%.", "%%.") .. "\tfalse\tnot enough memory %(CERTBENCH_FAULT=objects%.box%)\n", out)
    end
    -- without the fault the same script makes every object
    out, rc = h.run(("%s run %s %s"):format(h.q(h.bin), h.q(dir .. "/run.lua"), h.q(dir)))
    assert.equal(0, rc, out)
    assert.is_nil(out:find("false", 1, true), out)
  end)
end)
