-- tests/interop/crl_mirror_fetchcrl_spec.lua: what fetch-crl users rely on (issue 16, item 8), against
-- spec/support/servers/crl_server.py on 127.0.0.1 and real files: several URLs per CRL tried in order
-- (failover), an aging tolerance for failed downloads, file:// sources, an IGTF trust folder laid
-- out as the Debian fetch-crl / ca-policy packages expect it (--igtf-dir), old-style hash names
-- beside the new ones (--hash-names new,old), checked against openssl's -hash_old. Where the
-- Debian fetch-crl is installed (third_party/install-deps test), it reads the same folders: the
-- same CRLs under the same names, and the rollbacks it publishes that the mirror refuses.
local h = require "support.helper"
local servers = require "support.servers"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"

local FETCH_CRL = h.run("command -v fetch-crl"):match("^(/%S+)")

-- fetch_crl(dir, igtf, out, state) -> output, rc: the Debian fetch-crl on the folder igtf,
-- writing its "openssl" format in dual mode (<hash>.r0 and <old-hash>.r0) to out, its state to
-- state; its own configuration file only (not /etc/fetch-crl.conf, nor /etc/fetch-crl.d)
local function fetch_crl(dir, igtf, out, state)
  local conf = fs.join(dir, "fetch-crl.conf")
  h.write(conf, ("infodir = %s\ncfgdir =\nformats = openssl\nopensslmode = dual\nhttptimeout = 5\n"):format(igtf))
  for _, d in ipairs { out, state } do if not fs.exists(d) then assert(fs.mkdir(d)) end end
  return h.run(("%s -c %s -l %s -o %s -s %s"):format(FETCH_CRL, h.q(conf), h.q(igtf), h.q(out), h.q(state)))
end

local function crl_number(path)
  local o = h.sh("openssl crl -in " .. h.q(path) .. " -noout -crlnumber")
  return tonumber(o:match("crlNumber=0x(%x+)"), 16)
end

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

  it("reads an IGTF trust folder as fetch-crl does: each CA's URLs are a source pinned to that CA", function()
    local g = dir .. "/grid-security-certificates"
    assert(fs.mkdir(g))
    local one, two, three = F.ca(dir, "IGTF One"), F.ca(dir, "IGTF Two"), F.ca(dir, "IGTF Three")
    local h1, h2 = one.cert:subject():hash(), two.cert:subject():hash()
    -- CA one as the IGTF distribution ships it: <alias>.pem, <hash>.0 a link to it, <alias>.info
    -- whose crl_url lists two URLs (the first dead), with a comment and a continued line
    h.write(g .. "/IGTF-One.pem", h.read(one.pem))
    h.sh("ln -s IGTF-One.pem " .. h.q(g .. "/" .. h1 .. ".0"))
    h.write(g .. "/IGTF-One.info", ("# @(#)IGTF-One.info\nalias = IGTF-One\nversion = 1.0\nca_url = %s\n"
      .. "crl_url = %s;\\\n  %s\nemail = ca@example.org\nstatus = accredited:classic\n")
      :format(srv.url .. "/ca.pem", srv.url .. "/s/dead", srv.url .. "/s/one"))
    h.write(g .. "/IGTF-One.signing_policy", "access_id_CA X509 '/CN=IGTF One'\n")
    -- CA two in the older form: <hash>.0 and <hash>.crl_url, one URL a line, tried in order
    h.write(g .. "/" .. h2 .. ".0", h.read(two.pem))
    h.write(g .. "/" .. h2 .. ".crl_url", ("# the CA's mirror first\n%s\n%s\n"):format(srv.url .. "/s/gone", srv.url .. "/s/two"))
    -- CA three has no crl_url ("crlurl" is not a key fetch-crl reads): no source, not a failure
    h.write(g .. "/IGTF-Three.pem", h.read(three.pem))
    h.write(g .. "/IGTF-Three.info", "alias = IGTF-Three\ncrlurl = " .. srv.url .. "/s/three\n")
    h.write(www .. "/one.crl", F.crl(one, { number = 2, entries = { { serial = "0B", date = os.time() - 7200 } } }):to_der())
    h.write(www .. "/two.crl", F.crl(two, { number = 9 }):to_der())
    -- CA two's URL serves CA one's CRL: valid and trusted, but not its own CA's
    F.routes(www, { dead = { mode = "status", code = 500 }, gone = { mode = "status", code = 404 },
                    one = { mode = "file", file = "one.crl" }, two = { mode = "file", file = "one.crl" } })
    local out = dir .. "/igtf-out"
    local rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(out)))
    assert.equal(1, rc, err)
    assert.equal(2, #rep.sources)
    local by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    assert.is_true(by[srv.url .. "/s/dead"].ok, "the source of CA one is named by its first URL")
    assert.matches("500", by[srv.url .. "/s/dead"].failover[1])
    assert.matches("pinned to CN=IGTF Two", by[srv.url .. "/s/gone"].error)
    assert.matches("IGTF%-Three%.info: no crl_url", err)
    F.routes(www, { dead = { mode = "status", code = 500 }, gone = { mode = "status", code = 404 },
                    one = { mode = "file", file = "one.crl" }, two = { mode = "file", file = "two.crl" } })
    rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(out)))
    assert.equal(0, rc, err)
    by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    assert.equal(srv.url .. "/s/two", by[srv.url .. "/s/gone"].served_by)
    assert.matches("404", by[srv.url .. "/s/gone"].failover[1])
    local leaf = select(2, F.leaf(two, dir, "05"))
    local revoked = select(2, F.leaf(one, dir, "0B"))
    local o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(out), h.q(leaf)))
    assert.equal(0, vrc, o)
    o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(out), h.q(revoked)))
    assert.not_equal(0, vrc)
    assert.matches("certificate revoked", o)
    -- fetch-crl reads the same folder to the same CRLs, under the names certbench gives them with
    -- --hash-names new,old (its default "dual" mode)
    local both = dir .. "/igtf-both"
    rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5 --hash-names new,old"):format(h.q(g), h.q(both)))
    assert.equal(0, rc, err)
    o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(both), h.q(revoked)))
    assert.matches("certificate revoked", o)
    if not FETCH_CRL then pending("fetch-crl is not installed (third_party/install-deps test)") return end
    local fc = dir .. "/igtf-fetch-crl"
    o, vrc = fetch_crl(dir, g, fc, dir .. "/igtf-fetch-crl-state")
    assert.equal(0, vrc, o)
    local function r0s(d)
      local t = {}
      for _, f in ipairs(fs.list(d)) do if f:match("^%x+%.r0$") then t[#t + 1] = f end end
      table.sort(t)
      return t
    end
    assert.equal(4, #r0s(fc))
    assert.same(r0s(fc), r0s(both))
    for _, f in ipairs(r0s(fc)) do
      assert.equal(crl_number(fc .. "/" .. f), crl_number(both .. "/" .. f), f)
    end
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
    -- the folder with both names is a CApath openssl reads: -crl_check finds the CA and its CRL
    local leaf = select(2, F.leaf(ca, dir, "0C"))
    local o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(out), h.q(leaf)))
    assert.equal(0, vrc, o)
  end)
end)

-- A rollback: CRL #5 served after #10 (issue 16, item 8). fetch-crl compares only thisUpdate
-- (lastUpdate), and with its state gone only with a file it guesses from the anchor's names, which
-- for an .info anchor are not the <hash>.r0 it writes; the mirror compares CRL numbers of the
-- same issuer and key, from its state or, without it, from the verified CRLs in its folder.
describe("crl mirror and fetch-crl facing a rollback", function()
  local dir, www, srv, ca, g, leaf

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    ca = F.ca(dir, "Rollback CA")
    g = dir .. "/grid-security-certificates"
    assert(fs.mkdir(g))
    h.write(g .. "/Rollback-CA.pem", h.read(ca.pem))
    h.sh("ln -s Rollback-CA.pem " .. h.q(g .. "/" .. ca.cert:subject():hash() .. ".0"))
    srv = F.server(www)
    h.write(g .. "/Rollback-CA.info", ("alias = Rollback-CA\ncrl_url = %s\n"):format(srv.url .. "/s/crl"))
    local now = os.time()
    -- #10 revokes the leaf; #5 does not. Distinct mtimes: crl_server.py's Last-Modified is the
    -- file's, and fetch-crl keeps its cached CRL when a HEAD shows the same one
    h.write(www .. "/10.crl", F.crl(ca, { number = 10, this_update = now - 3600,
      entries = { { serial = "0D", date = now - 7200 } } }):to_der())
    h.write(www .. "/5-newer.crl", F.crl(ca, { number = 5, this_update = now - 60 }):to_der())
    h.write(www .. "/5-older.crl", F.crl(ca, { number = 5, this_update = now - 5400 }):to_der())
    h.sh(("touch -d @%d %s; touch -d @%d %s; touch -d @%d %s"):format(now - 3000, h.q(www .. "/10.crl"),
      now - 2000, h.q(www .. "/5-newer.crl"), now - 1000, h.q(www .. "/5-older.crl")))
    leaf = select(2, F.leaf(ca, dir, "0D"))
  end)
  teardown(function() servers.stop(srv) end)

  local function serve(file) F.routes(www, { crl = { mode = "file", file = file } }) end
  local function mirror(out)
    return mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(out)))
  end
  local function published(out) return crl_number(out .. "/" .. ca.cert:subject():hash() .. ".r0") end
  local function revoked_in(out)
    local o, rc = h.openssl(("verify -CAfile %s -CApath %s -crl_check %s"):format(h.q(ca.pem), h.q(out), h.q(leaf)))
    return rc ~= 0 and o:match("certificate revoked") ~= nil, o
  end

  it("publishes #10, then refuses #5 with a newer thisUpdate, which fetch-crl publishes", function()
    local out, fc, st = dir .. "/cb1", dir .. "/fc1", dir .. "/fc1-state"
    serve("10.crl")
    local rep, rc, err = mirror(out)
    assert.equal(0, rc, err)
    assert.equal(10, published(out))
    serve("5-newer.crl")
    rep, rc, err = mirror(out)
    assert.equal(1, rc, err)
    assert.matches("CRL number 5 is lower than the published 10", rep.sources[1].crls[1].error)
    assert.equal(10, published(out))
    assert.is_true(revoked_in(out))
    if not FETCH_CRL then pending("fetch-crl is not installed (third_party/install-deps test)") return end
    serve("10.crl")
    local o, frc = fetch_crl(dir, g, fc, st)
    assert.equal(0, frc, o)
    assert.equal(10, published(fc))
    assert.is_true(revoked_in(fc))
    serve("5-newer.crl")
    o, frc = fetch_crl(dir, g, fc, st)
    assert.equal(0, frc, o)
    assert.equal(5, published(fc), "fetch-crl publishes the rollback")
    assert.is_false(revoked_in(fc), "and the revoked certificate verifies again")
  end)

  it("after its state is deleted, still refuses #5 with an older thisUpdate, which fetch-crl then publishes", function()
    local out, fc, st = dir .. "/cb2", dir .. "/fc2", dir .. "/fc2-state"
    serve("10.crl")
    local rep, rc, err = mirror(out)
    assert.equal(0, rc, err)
    serve("5-older.crl")
    h.sh("rm -rf " .. h.q(out .. "/.certbench-mirror"))
    rep, rc, err = mirror(out)
    assert.equal(1, rc, err)
    assert.matches("CRL number 5 is lower than the published 10", rep.sources[1].crls[1].error)
    assert.equal(10, published(out))
    assert.is_true(revoked_in(out))
    if not FETCH_CRL then pending("fetch-crl is not installed (third_party/install-deps test)") return end
    serve("10.crl")
    local o, frc = fetch_crl(dir, g, fc, st)
    assert.equal(0, frc, o)
    serve("5-older.crl")
    -- with its state, fetch-crl refuses an older thisUpdate
    o, frc = fetch_crl(dir, g, fc, st)
    assert.equal(1, frc, o)
    assert.matches("predates installed CRL", o)
    assert.equal(10, published(fc))
    -- without it, it publishes it
    h.sh("rm -f " .. h.q(st) .. "/*")
    o, frc = fetch_crl(dir, g, fc, st)
    assert.equal(0, frc, o)
    assert.equal(5, published(fc), "fetch-crl publishes the rollback")
    assert.is_false(revoked_in(fc))
  end)
end)

-- fetch-crl's own configuration file as the mirror's (crl mirror --fetch-crl-conf), on an IGTF
-- folder laid out as the Debian fetch-crl / ca-policy packages lay it out, published into that
-- folder itself (fetch-crl's default output): the CA, .info, .crl_url, .signing_policy and
-- .namespaces files stay as they are; where fetch-crl is installed, it runs on a copy of the
-- folder with the same settings and both publish the same names with the same CRLs.
describe("crl mirror --fetch-crl-conf on an IGTF folder that is its output", function()
  local dir, www, srv, one, two, h1, h2

  -- an IGTF folder: CA one as the IGTF distribution ships it (<alias>.pem, .info, .signing_policy,
  -- .namespaces, and <hash>.* symbolic links to them, .info included as releases 1.33 to 1.36 had
  -- it: nosymlinks keeps it from being read twice); CA two in the older form (<hash>.0 a file,
  -- <hash>.crl_url)
  local function igtf_folder(g)
    assert(fs.mkdir(g))
    h.write(g .. "/IGTF-One.pem", "subject= /CN=IGTF One\n" .. h.read(one.pem))
    h.write(g .. "/IGTF-One.info", ("alias = IGTF-One\nstatus = accredited:classic\ncrl_url = %s\n"):format(srv.url .. "/s/dead"))
    h.write(g .. "/IGTF-One.signing_policy", "access_id_CA X509 '/CN=IGTF One'\npos_rights globus CA:sign\n")
    h.write(g .. "/IGTF-One.namespaces", "TO Issuer \"/CN=IGTF One\" PERMIT Subject \"/.*\"\n")
    for _, ext in ipairs { "0", "signing_policy", "namespaces", "info" } do
      h.sh(("ln -s IGTF-One.%s %s"):format(ext == "0" and "pem" or ext, h.q(g .. "/" .. h1 .. "." .. ext)))
    end
    h.write(g .. "/" .. h2 .. ".0", h.read(two.pem))
    h.write(g .. "/" .. h2 .. ".crl_url", srv.url .. "/s/gone\n")
    h.write(g .. "/" .. h2 .. ".signing_policy", "access_id_CA X509 '/CN=IGTF Two'\n")
  end

  -- fetch-crl.conf for the folder g: prepend and postpend URLs with its tokens, a per-CA section
  -- replacing CA two's URLs, both hash styles and the pem format, no /etc/fetch-crl.d
  local function conf(path, g, state)
    h.write(path, table.concat({
      "# fetch-crl.conf",
      "infodir = " .. g,
      "statedir = " .. state,
      "cfgdir =",
      "agingtolerance = 24",
      "nosymlinks",
      "nowarnings",
      "httptimeout = 5",
      "parallelism = 2",
      "formats = openssl, pem, der",
      "prepend_url = " .. srv.url .. "/s/pre-@ALIAS@-@R@",
      "postpend_url = " .. srv.url .. "/s/post-@ANCHORNAME@.r@R@",
      "",
      "[" .. h2 .. "]",
      "noprepend_url",
      "crl_url.0 = " .. srv.url .. "/s/dead2",
      "",
    }, "\n"))
  end

  -- name -> what it is (type, link target, content, inode, mtime), the mirror's own folder aside
  local function snapshot(g)
    local t = {}
    for _, n in ipairs(fs.list(g)) do
      if n ~= ".certbench-mirror" then
        local st = fs.stat(g .. "/" .. n, { follow = false })
        t[n] = { type = st.type, link = fs.readlink(g .. "/" .. n), data = h.read(g .. "/" .. n), ino = st.ino, mtime = st.mtime }
      end
    end
    return t
  end

  -- run_in(command) -> output, rc: a command as README writes it, build/ first on the PATH
  local function run_in(command)
    return h.run(("cd %s && PATH=%s:$PATH %s 2>&1"):format(h.q(dir), h.q(h.root .. "/build"), command))
  end

  -- the routes of the tests: CA one's own URL and CA two's dead, its prepended / postpended ones
  -- serving `one` and CA two's CRL
  local function serve(one)
    F.routes(www, { dead = { mode = "status", code = 500 }, dead2 = { mode = "status", code = 503 },
      gone = { mode = "status", code = 404 }, ["pre-IGTF-One-0"] = { mode = "file", file = one },
      ["post-" .. h2 .. ".r0"] = { mode = "file", file = "two.crl" } })
  end

  local function mirror(c, extra)
    return mirror_cmd("--fetch-crl-conf " .. h.q(c) .. (extra or ""))
  end

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    one, two = F.ca(dir, "IGTF One"), F.ca(dir, "IGTF Two")
    h1, h2 = one.cert:subject():hash(), two.cert:subject():hash()
    h.write(www .. "/one-7.crl", F.crl(one, { number = 7, entries = { { serial = "0E", date = os.time() - 7200 } } }):to_der())
    h.write(www .. "/one-3.crl", F.crl(one, { number = 3, this_update = os.time() - 60 }):to_der())
    h.write(www .. "/two.crl", F.crl(two, { number = 2 }):to_der())
    srv = F.server(www)
  end)
  teardown(function() servers.stop(srv) end)

  it("publishes beside the CAs, touches none of the trust folder's files, and a second run writes nothing", function()
    serve("one-7.crl")
    local g = dir .. "/cb"
    igtf_folder(g)
    assert(fs.mkdir(dir .. "/cb-state"))
    conf(dir .. "/cb.conf", g, dir .. "/cb-state")
    local before = snapshot(g)
    local rep, rc, err, out = mirror(dir .. "/cb.conf")
    assert.equal(0, rc, err .. out)
    -- nosymlinks: the <hash>.info link is not a second CA one
    assert.equal(2, #rep.sources)
    local by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    -- CA one from the prepended URL (its own is tried after it), CA two from the postpended one
    -- after the URL its section gives (its .crl_url's is not tried)
    local s1, s2 = by[srv.url .. "/s/pre-IGTF-One-0"], by[srv.url .. "/s/dead2"]
    assert.is_truthy(s1, "CA one's source starts with the prepend_url")
    assert.is_truthy(s2, "CA two's section replaced its URL and dropped the prepend_url")
    assert.equal(srv.url .. "/s/post-" .. h2 .. ".r0", s2.served_by)
    assert.matches("503", s2.failover[1])
    assert.equal(1, #s2.failover)
    -- nowarnings: the failover is in the report, not on the terminal
    assert.not_matches("failover", err)
    local after = snapshot(g)
    for n, b in pairs(before) do
      assert.same(b, after[n], n .. " changed")
    end
    -- what it published: the hash names of both styles and the pem format's names
    local h1old = one.cert:subject():hash_old()
    assert.equal(7, crl_number(g .. "/" .. h1 .. ".r0"))
    assert.equal(7, crl_number(g .. "/" .. h1old .. ".r0"))
    assert.equal(7, crl_number(g .. "/IGTF-One.0.crl.pem"))
    assert.equal(2, crl_number(g .. "/" .. h2 .. ".0.crl.pem"))
    assert.equal(7, tonumber(h.sh("openssl crl -inform DER -noout -crlnumber -in " .. h.q(g .. "/IGTF-One.0.crl")):match("0x(%x+)"), 16))
    assert.is_nil(fs.exists(g .. "/" .. h1 .. ".1") or nil, "no CA link of the mirror's own")
    -- the folder is a CApath that openssl reads: the revoked certificate is refused
    local revoked = select(2, F.leaf(one, dir, "0E"))
    local o, vrc = h.openssl(("verify -CApath %s -crl_check %s"):format(h.q(g), h.q(revoked)))
    assert.not_equal(0, vrc)
    assert.matches("certificate revoked", o)
    -- a second run: nothing written, nothing touched
    local published = snapshot(g)
    rep, rc, err = mirror(dir .. "/cb.conf")
    assert.equal(0, rc, err)
    assert.equal(0, rep.files_written)
    assert.same(published, snapshot(g))
    -- a rollback (#3, newer thisUpdate) from the same URL is refused there too
    serve("one-3.crl")
    rep, rc, err = mirror(dir .. "/cb.conf")
    assert.equal(1, rc, err)
    by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    assert.matches("CRL number 3 is lower than the published 7", by[srv.url .. "/s/pre-IGTF-One-0"].error)
    assert.equal(7, crl_number(g .. "/" .. h1 .. ".r0"))
    for n, b in pairs(before) do assert.same(b, snapshot(g)[n], n .. " changed") end
    serve("one-7.crl")
  end)

  -- README's migration: its fetch-crl.conf and its command, taken from the README and run as
  -- written but for the paths and the URL (this folder, this server); fetch-crl runs the same file
  it("runs README's fetch-crl.conf with README's command, publishing what fetch-crl publishes", function()
    local readme = h.read(h.root .. "/README.md")
    local ini = readme:match("\n```ini\n(# /etc/fetch%-crl%.conf\n.-)\n```\n")
    assert.is_truthy(ini, "README has no ```ini block of /etc/fetch-crl.conf")
    local cmd = readme:match("```ini\n# /etc/fetch%-crl%.conf\n.-```sh\n(.-)\n```")
    assert.equal("certbench crl mirror --fetch-crl-conf /etc/fetch-crl.conf", cmd)
    F.routes(www, { dead = { mode = "status", code = 500 }, gone = { mode = "status", code = 404 },
      ["IGTF-One.r0"] = { mode = "file", file = "one-7.crl" }, [h2 .. ".r0"] = { mode = "file", file = "two.crl" } })
    local results = {}
    for _, tool in ipairs { "cb", "fc" } do
      if tool == "fc" and not FETCH_CRL then break end
      local g, st = dir .. "/readme-" .. tool, dir .. "/readme-" .. tool .. "-state"
      igtf_folder(g)
      assert(fs.mkdir(st))
      -- this machine's /etc/fetch-crl.d is not the test's (fetch-crl 3.0.22 reads it whatever cfgdir says)
      local text = ini:gsub("/etc/grid%-security/certificates", g):gsub("/var/cache/fetch%-crl", st)
        :gsub("http://crl%-cache%.example%.org/", srv.url .. "/s/"):gsub("\n%[", "\ncfgdir =\n\n[", 1)
      local c = dir .. "/readme-" .. tool .. ".conf"
      h.write(c, text)
      local before = snapshot(g)
      local o, rc
      if tool == "cb" then
        o, rc = run_in(cmd:gsub("/etc/fetch%-crl%.conf", c))
      else
        o, rc = h.run(("%s -q -c %s"):format(FETCH_CRL, h.q(c)))
      end
      assert.equal(0, rc, o)
      local after = snapshot(g)
      local names = {}
      for n in pairs(after) do
        if before[n] then assert.same(before[n], after[n], n .. " changed by " .. tool)
        else names[#names + 1] = n end
      end
      table.sort(names)
      results[tool] = { dir = g, names = names }
    end
    local cb = results.cb
    assert.equal(7, crl_number(cb.dir .. "/" .. h1 .. ".r0"))
    assert.equal(2, crl_number(cb.dir .. "/" .. h2 .. ".r0"))
    if not results.fc then pending("fetch-crl is not installed (third_party/install-deps test)") return end
    -- fetch-crl's files are the mirror's <hash>.rN names (both hash styles), each the same CRL
    assert.equal(4, #results.fc.names, table.concat(results.fc.names, " "))
    for _, n in ipairs(results.fc.names) do
      assert.truthy(fs.exists(cb.dir .. "/" .. n), n .. " is missing from the certbench folder")
      assert.equal(h.sh("openssl crl -outform DER -in " .. h.q(results.fc.dir .. "/" .. n) .. " | sha256sum"),
        h.sh("openssl crl -outform DER -in " .. h.q(cb.dir .. "/" .. n) .. " | sha256sum"), n)
    end
  end)

  -- the same folder with --igtf-dir and --out-dir (no fetch-crl.conf), and a CApath whose CAs a
  -- c_rehash made: a <hash>.0 with the CA the mirror trusts is left as it is, and never removed
  it("leaves a folder's own <hash>.0 of a trusted CA alone, with --igtf-dir DIR --out-dir DIR and in any CApath", function()
    serve("one-7.crl")
    local g = dir .. "/cli"
    igtf_folder(g)
    local before = snapshot(g)
    -- CA one's own URL is dead here (no prepend_url without the configuration): CA two's is
    -- the one that fails, and the run with it
    local rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(g)))
    assert.equal(1, rc, err)
    assert.equal(0, rep.sources_ok)
    for n, b in pairs(before) do assert.same(b, snapshot(g)[n], n .. " changed") end
    F.routes(www, { dead = { mode = "file", file = "one-7.crl" }, gone = { mode = "file", file = "two.crl" } })
    rep, rc, err = mirror_cmd(("--igtf-dir %s --out-dir %s --timeout 5"):format(h.q(g), h.q(g)))
    assert.equal(0, rc, err)
    for n, b in pairs(before) do assert.same(b, snapshot(g)[n], n .. " changed") end
    serve("one-7.crl")
    assert.equal(7, crl_number(g .. "/" .. h1 .. ".r0"))
    -- a CApath made by openssl rehash: <hash>.0 a link to the CA file, which --ca also names
    local capath = dir .. "/capath"
    assert(fs.mkdir(capath))
    h.write(capath .. "/one.pem", "# the CA, with a comment\n" .. h.read(one.pem))
    h.sh("openssl rehash " .. h.q(capath))
    assert.equal("one.pem", fs.readlink(capath .. "/" .. h1 .. ".0"))
    before = snapshot(capath)
    local base = ("--out-dir %s --source %s --timeout 5"):format(h.q(capath), h.q(srv.url .. "/s/pre-IGTF-One-0"))
    rep, rc, err = mirror_cmd(base .. " --ca " .. h.q(capath .. "/one.pem"))
    assert.equal(0, rc, err)
    for n, b in pairs(before) do assert.same(b, snapshot(capath)[n], n .. " changed") end
    -- the CA no longer trusted by the mirror (another --ca): its link stays, it is not the mirror's
    rep, rc, err = mirror_cmd(base .. " --ca " .. h.q(two.pem))
    assert.is_truthy(rep, err)
    assert.equal("one.pem", fs.readlink(capath .. "/" .. h1 .. ".0"))
    assert.same(before[h1 .. ".0"], snapshot(capath)[h1 .. ".0"])
  end)

  it("publishes what fetch-crl publishes with the same configuration, and takes its folder over without a rollback", function()
    if not FETCH_CRL then pending("fetch-crl is not installed (third_party/install-deps test)") return end
    serve("one-7.crl")
    local gc, gf = dir .. "/same-cb", dir .. "/same-fc"
    igtf_folder(gc)
    igtf_folder(gf)
    for _, d in ipairs { "same-cb-state", "same-fc-state" } do assert(fs.mkdir(dir .. "/" .. d)) end
    conf(dir .. "/same-cb.conf", gc, dir .. "/same-cb-state")
    conf(dir .. "/same-fc.conf", gf, dir .. "/same-fc-state")
    local rep, rc, err = mirror(dir .. "/same-cb.conf")
    assert.equal(0, rc, err)
    local o, frc = h.run(("%s -c %s"):format(FETCH_CRL, h.q(dir .. "/same-fc.conf")))
    assert.equal(0, frc, o)
    -- fetch-crl's names, each with the same CRL in the certbench folder
    local fnames = {}
    for _, n in ipairs(fs.list(gf)) do
      if n:match("%.r%d+$") or n:match("%.crl%.pem$") or n:match("%.crl$") then fnames[#fnames + 1] = n end
    end
    table.sort(fnames)
    assert.equal(8, #fnames, table.concat(fnames, " "))
    for _, n in ipairs(fnames) do
      assert.truthy(fs.exists(gc .. "/" .. n), n .. " is missing from the certbench folder")
      -- the der format's files are DER in both folders, the others PEM
      local inform = n:match("%.crl$") and " -inform DER" or ""
      assert.equal(h.sh("openssl crl" .. inform .. " -outform DER -in " .. h.q(gf .. "/" .. n) .. " | sha256sum"),
        h.sh("openssl crl" .. inform .. " -outform DER -in " .. h.q(gc .. "/" .. n) .. " | sha256sum"), n)
    end
    -- the mirror takes over fetch-crl's folder (its <hash>.r0 files, no mirror state): a lower
    -- CRL number is refused there at once
    serve("one-3.crl")
    local before = snapshot(gf)
    rep, rc, err = mirror(dir .. "/same-fc.conf")
    assert.equal(1, rc, err)
    local by = {}
    for _, s in ipairs(rep.sources) do by[s.url] = s end
    assert.matches("CRL number 3 is lower than the published 7", by[srv.url .. "/s/pre-IGTF-One-0"].error)
    assert.equal(7, crl_number(gf .. "/" .. h1 .. ".r0"))
    for n, b in pairs(before) do
      if not n:match("%.r%d+$") and not n:match("%.crl%.pem$") and not n:match("%.crl$") then assert.same(b, snapshot(gf)[n], n .. " changed") end
    end
    serve("one-7.crl")
  end)
end)
