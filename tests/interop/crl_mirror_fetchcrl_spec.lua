-- tests/interop/crl_mirror_fetchcrl_spec.lua: what fetch-crl users rely on (issue 16, item 8), against
-- spec/support/servers/crl_server.py on 127.0.0.1 and real files: several URLs per CRL tried in order
-- (failover), an aging tolerance for failed downloads, file:// sources, an IGTF trust folder laid
-- out as the Debian fetch-crl / ca-policy packages expect it (--igtf-dir), old-style hash names
-- beside the new ones (--hash-names new,old), checked against openssl's -hash_old.
local h = require "support.helper"
local servers = require "support.servers"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"

local function mirror_cmd(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " --json crl mirror " .. args)
  local ok, rep = pcall(F.json, out)
  return ok and rep or nil, rc, err, out
end

describe("crl mirror for fetch-crl users", function()
  local dir, www, srv, ca

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    ca = F.ca(dir, "Failover CA")
    h.write(www .. "/a.crl", F.crl(ca, { number = 4 }):to_der())
    F.routes(www, { a = { mode = "file", file = "a.crl" }, dead = { mode = "status", code = 500 } })
    srv = F.server(www)
  end)
  teardown(function() servers.stop(srv) end)

  it("tries the URLs of a CRL in order: one answering is success, the others' errors reported", function()
    local out = dir .. "/fo"
    h.write(dir .. "/fo.lua", ("return { out_dir = %q, ca = { %q }, sources = { { urls = { %q, %q } } } }")
      :format(out, ca.pem, srv.url .. "/s/dead", srv.url .. "/s/a"))
    local rep, rc, err = mirror_cmd("--config " .. h.q(dir .. "/fo.lua"))
    assert.equal(0, rc, err)
    assert.is_true(rep.ok)
    assert.equal(1, rep.crls_published)
    assert.equal(srv.url .. "/s/a", rep.sources[1].served_by)
    assert.matches("500", rep.sources[1].failover[1])
    -- every URL failing is a failure
    h.write(dir .. "/fo2.lua", ("return { out_dir = %q, ca = { %q }, sources = { { urls = { %q, %q } } } }")
      :format(dir .. "/fo2", ca.pem, srv.url .. "/s/dead", srv.url .. "/s/nothing"))
    rep, rc = mirror_cmd("--config " .. h.q(dir .. "/fo2.lua"))
    assert.equal(1, rc)
    assert.is_false(rep.ok)
  end)

  it("tolerates a failed download while the published CRL is current and young enough (--tolerance)", function()
    local out = dir .. "/tol"
    local base = ("--out-dir %s --ca %s --source %s --timeout 5"):format(h.q(out), h.q(ca.pem), h.q(srv.url .. "/s/t"))
    F.routes(www, { t = { mode = "file", file = "a.crl" } })
    local rep, rc, err = mirror_cmd(base)
    assert.equal(0, rc, err)
    F.routes(www, { t = { mode = "status", code = 500 } })
    rep, rc, err = mirror_cmd(base .. " --tolerance 1h")
    assert.equal(0, rc, err)
    assert.is_true(rep.ok)
    assert.matches("tolerated: the published CRL is current and was fetched %d+ s ago, within 3600s", rep.sources[1].warning)
    -- past the tolerance: a failure
    h.run("sleep 2")
    rep, rc = mirror_cmd(base .. " --tolerance 1")
    assert.equal(1, rc)
    assert.is_false(rep.ok)
    -- without it: a failure at once
    rep, rc = mirror_cmd(base)
    assert.equal(1, rc)
  end)

  it("reads file:// sources a job drops in a folder, and an unchanged file is not read again", function()
    local drop = dir .. "/drop"
    assert(fs.mkdir(drop))
    h.write(drop .. "/a.crl", F.crl(ca, { number = 6 }):to_der())
    local out = dir .. "/file"
    local base = ("--out-dir %s --ca %s --source %s"):format(h.q(out), h.q(ca.pem), h.q("file://" .. drop .. "/a.crl"))
    local rep, rc, err = mirror_cmd(base)
    assert.equal(0, rc, err)
    assert.equal(1, rep.crls_published)
    local o = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(out), h.q(select(2, F.leaf(ca, dir, "01")))))
    assert.matches("OK", o)
    rep, rc, err = mirror_cmd(base)
    assert.equal(0, rc, err)
    assert.is_true(rep.sources[1].not_modified)
    -- a missing file is a failure naming it
    rep, rc = mirror_cmd(("--out-dir %s --ca %s --source %s"):format(h.q(out), h.q(ca.pem), h.q("file://" .. drop .. "/none.crl")))
    assert.equal(1, rc)
    assert.matches("none%.crl", rep.sources[1].error)
  end)

  it("reads an IGTF trust folder: each CA's URLs are a source pinned to that CA", function()
    local g = dir .. "/grid-security-certificates"
    assert(fs.mkdir(g))
    local one, two = F.ca(dir, "IGTF One"), F.ca(dir, "IGTF Two")
    -- CA one: <alias>.pem, <hash>.0 a link to it, <alias>.info with two crlurls (the first dead)
    local h1, h2 = one.cert:subject():hash(), two.cert:subject():hash()
    h.write(g .. "/IGTF-One.pem", h.read(one.pem))
    h.sh("ln -s IGTF-One.pem " .. h.q(g .. "/" .. h1 .. ".0"))
    h.write(g .. "/IGTF-One.info", ("alias = IGTF-One\nversion = 1.0\ncrlurl = %s; %s\nemail = ca@example.org\n")
      :format(srv.url .. "/s/dead", srv.url .. "/s/one"))
    h.write(g .. "/IGTF-One.signing_policy", "access_id_CA X509 '/CN=IGTF One'\n")
    -- CA two: only <hash>.0 and <hash>.crl_url (the older form)
    h.write(g .. "/" .. h2 .. ".0", h.read(two.pem))
    h.write(g .. "/" .. h2 .. ".crl_url", srv.url .. "/s/two\n")
    h.write(www .. "/one.crl", F.crl(one, { number = 2 }):to_der())
    h.write(www .. "/two.crl", F.crl(two, { number = 9 }):to_der())
    -- CA two's URL serves CA one's CRL: valid and trusted, but not its own CA's
    F.routes(www, { dead = { mode = "status", code = 500 }, one = { mode = "file", file = "one.crl" },
                    two = { mode = "file", file = "one.crl" } })
    local out = dir .. "/igtf-out"
    local rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(out)))
    assert.equal(1, rc, err)
    local by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    assert.is_true(by[srv.url .. "/s/dead"].ok, "the source of CA one is named by its first URL")
    assert.matches("500", by[srv.url .. "/s/dead"].failover[1])
    assert.matches("pinned to CN=IGTF Two", by[srv.url .. "/s/two"].error)
    F.routes(www, { dead = { mode = "status", code = 500 }, one = { mode = "file", file = "one.crl" },
                    two = { mode = "file", file = "two.crl" } })
    rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(out)))
    assert.equal(0, rc, err)
    local leaf = select(2, F.leaf(two, dir, "05"))
    local o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(out), h.q(leaf)))
    assert.equal(0, vrc, o)
  end)

  it("publishes the old-style hash names beside the new ones (--hash-names new,old), as openssl -hash_old names them", function()
    local out = dir .. "/oldnames"
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    local base = ("--out-dir %s --ca %s --source %s --hash-names new,old"):format(h.q(out), h.q(ca.pem), h.q(srv.url .. "/s/a"))
    local rep, rc, err = mirror_cmd(base)
    assert.equal(0, rc, err)
    local chash_old = h.sh("openssl x509 -in " .. h.q(ca.pem) .. " -noout -subject_hash_old"):match("%x+")
    local chash = h.sh("openssl x509 -in " .. h.q(ca.pem) .. " -noout -subject_hash"):match("%x+")
    local pem
    for _, f in ipairs(fs.list(out)) do if f:match("%.pem$") then pem = f end end
    local rhash_old = h.sh("openssl crl -in " .. h.q(out .. "/" .. pem) .. " -noout -hash_old"):match("%x+")
    assert.not_equal(chash, chash_old)
    assert.equal(pem, fs.readlink(out .. "/" .. rhash_old .. ".r0"))
    assert.equal(chash .. ".0", fs.readlink(out .. "/" .. chash_old .. ".0"))
    assert.equal(h.read(ca.pem), h.read(out .. "/" .. chash_old .. ".0"))
    -- a second run changes nothing, and the new names are still there
    rep, rc, err = mirror_cmd(base)
    assert.equal(0, rc, err)
    assert.equal(0, rep.files_written)
    assert.truthy(fs.exists(out .. "/" .. chash .. ".0"))
    assert.truthy(fs.exists(out .. "/" .. rhash_old .. ".r0"))
  end)
end)
