-- tests/interop/crl_fetch_check_spec.lua: issue 16, case 9, against spec/support/servers/crl_server.py on
-- 127.0.0.1: `crl check --fetch` downloads the distribution points of a chain at once, not one
-- after another; `crl fetch --ca` keeps a newer CRL in its output folder unless --force.
local h = require "support.helper"
local servers = require "support.servers"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"

describe("crl check --fetch and crl fetch --ca", function()
  local dir, www, srv, root, sub

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    srv = F.server(www)
    root = F.ca(dir, "Check Root")
    sub = F.ca(dir, "Check Sub", { parent = root, cdp = { srv.url .. "/s/r1", srv.url .. "/s/r2" } })
    h.write(www .. "/root.crl", F.crl(root, { number = 5 }):to_der())
    h.write(www .. "/sub.crl", F.crl(sub, { number = 7 }):to_der())
    h.write(www .. "/sub3.crl", F.crl(sub, { number = 3 }):to_der())
    local routes = {}
    for i = 1, 2 do routes["r" .. i] = { mode = "delay", ms = 1500, file = "root.crl" } end
    for i = 1, 4 do routes["s" .. i] = { mode = "delay", ms = 1500, file = "sub.crl" } end
    routes.sub = { mode = "file", file = "sub.crl" }
    routes.sub3 = { mode = "file", file = "sub3.crl" }
    F.routes(www, routes)
  end)
  teardown(function() servers.stop(srv) end)

  it("crl check --fetch downloads six slow distribution points at once", function()
    local cdp = {}
    for i = 1, 4 do cdp[i] = srv.url .. "/s/s" .. i end
    local _, leaf = F.leaf(sub, dir, "0C", { cdp = cdp })
    local chain = dir .. "/chain.pem"
    h.write(chain, h.read(sub.pem) .. h.read(root.pem))
    local out, rc = h.certbench(("crl check %s --chain %s --fetch --timeout 10"):format(h.q(leaf), h.q(chain)))
    assert.equal(0, rc, out)
    assert.matches("GOOD", out:upper())
    -- at once is the six in flight together at the server, each held 1.5 s (one after another,
    -- or the leaf's four and then the sub CA's two, would show 1 or 4); not a bound on the time,
    -- which a loaded machine stretches
    assert.equal(6, F.peak(srv))
    local stats = F.stats(srv)
    for i = 1, 4 do assert.truthy(stats["/s/s" .. i], "s" .. i .. " asked") end
    for i = 1, 2 do assert.truthy(stats["/s/r" .. i], "r" .. i .. " asked") end
  end)

  it("crl fetch --ca keeps the newer CRL #7 in its folder when the server sends #3, unless --force", function()
    local out_dir = dir .. "/fetched"
    local out, rc = h.certbench(("crl fetch %s --ca %s -o %s"):format(h.q(srv.url .. "/s/sub"), h.q(sub.pem), h.q(out_dir)))
    assert.equal(0, rc, out)
    local der
    for _, f in ipairs(fs.list(out_dir)) do if f:match("%.crl$") then der = out_dir .. "/" .. f end end
    local function number() return h.sh("openssl crl -inform DER -in " .. h.q(der) .. " -noout -crlnumber") end
    assert.matches("crlNumber=0x0?7", number())
    out, rc = h.certbench(("crl fetch %s --ca %s -o %s"):format(h.q(srv.url .. "/s/sub3"), h.q(sub.pem), h.q(out_dir)))
    assert.equal(1, rc, out)
    assert.matches("holds CRL number 7, newer than the fetched 3: kept %(%-%-force replaces it%)", out)
    assert.matches("crlNumber=0x0?7", number())
    out, rc = h.certbench(("crl fetch %s --ca %s -o %s --force"):format(h.q(srv.url .. "/s/sub3"), h.q(sub.pem), h.q(out_dir)))
    assert.equal(0, rc, out)
    assert.matches("crlNumber=0x0?3", number())
  end)
end)
