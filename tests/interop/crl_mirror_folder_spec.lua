-- tests/interop/crl_mirror_folder_spec.lua: the mirror's own folder against a local attacker (issue 16,
-- cases 1 to 5 and 7): symbolic links planted for .certbench-mirror, its tmp/ and state.json names,
-- a state folder of another user, another user (nobody, through setpriv) trying to hold the
-- lock; real folders, a real server on 127.0.0.1 (spec/support/servers/crl_server.py).
local h = require "support.helper"
local servers = require "support.servers"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"
local cjson = require "cjson"

local function mirror_cmd(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " --json crl mirror " .. args)
  local ok, rep = pcall(F.json, out)
  return ok and rep or nil, rc, err, out
end

local function as_nobody(cmd)
  return h.run("setpriv --reuid=nobody --regid=nogroup --clear-groups " .. cmd)
end

describe("crl mirror: its folder", function()
  local dir, www, srv, ca, args_for

  setup(function()
    dir = h.tmpdir()
    www = dir .. "/www"
    assert(fs.mkdir(www))
    ca = F.ca(dir, "Folder CA")
    h.write(www .. "/a.crl", F.crl(ca, { number = 10, entries = { { serial = "0A", date = os.time() - 600, reason = "keyCompromise" } } }):to_der())
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    srv = F.server(www)
    args_for = function(out)
      return ("--out-dir %s --ca %s --source %s --timeout 5 --wait 0"):format(h.q(out), h.q(ca.pem), h.q(srv.url .. "/s/a"))
    end
  end)
  teardown(function() servers.stop(srv) end)

  local n = 0
  local function fresh()
    n = n + 1
    local d = dir .. "/m" .. n
    assert(fs.mkdir(d))
    return d
  end

  it("proves the setup: a plain run publishes and keeps its state folder 0700", function()
    local out = fresh()
    local rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    assert.equal(1, rep.crls_published)
    assert.equal(448 --[[0700]], fs.stat(out .. "/.certbench-mirror").mode)
    assert.equal(448, fs.stat(out .. "/.certbench-mirror/tmp").mode)
    assert.truthy(fs.exists(out .. "/.certbench-mirror/state.json"))
  end)

  it("refuses a tmp/ that is a symbolic link: the files of its target stay", function()
    local out, other = fresh(), fresh()
    h.write(other .. "/precious", "keep me\n")
    assert(fs.mkdir(out .. "/.certbench-mirror", { mode = 448 }))
    h.sh("ln -s " .. h.q(other) .. " " .. h.q(out .. "/.certbench-mirror/tmp"))
    local _, rc, err = mirror_cmd(args_for(out))
    assert.equal(1, rc)
    assert.matches("%.certbench%-mirror/tmp: is a symbolic link: refused", err)
    assert.equal("keep me\n", h.read(other .. "/precious"))
    assert.same({ "precious" }, fs.list(other))
  end)

  it("refuses a .certbench-mirror that is a symbolic link: nothing written into its target", function()
    local out, other = fresh(), fresh()
    h.write(other .. "/state.json", "{\"theirs\":true}\n")
    h.sh("ln -s " .. h.q(other) .. " " .. h.q(out .. "/.certbench-mirror"))
    local _, rc, err = mirror_cmd(args_for(out))
    assert.equal(1, rc)
    assert.matches("%.certbench%-mirror: is a symbolic link: refused", err)
    assert.same({ "state.json" }, fs.list(other))
    assert.equal("{\"theirs\":true}\n", h.read(other .. "/state.json"))
  end)

  it("refuses a state folder owned by another user", function()
    local out = fresh()
    assert(fs.mkdir(out .. "/.certbench-mirror", { mode = 448 }))
    h.sh("chown nobody " .. h.q(out .. "/.certbench-mirror"))
    local _, rc, err = mirror_cmd(args_for(out))
    assert.equal(1, rc)
    local uid = h.sh("id -u nobody"):match("%d+")
    assert.matches("%.certbench%-mirror: owned by uid " .. uid .. ", not by this user %(uid 0%): refused", err)
  end)

  it("ignores and reports names in state.json that are not plain names: nothing outside is removed", function()
    local out = fresh()
    local rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    local victim = dir .. "/victim-" .. n
    h.write(victim, "do not delete\n")
    -- ca_links names the trusted CA links the mirror removes when no longer wanted
    local path = out .. "/.certbench-mirror/state.json"
    local text = h.read(path)
    local rel = "../" .. fs.basename(victim)
    local t = cjson.decode(text)
    t.ca_links = t.ca_links or {}
    t.ca_links[rel] = true
    -- and a CRL entry whose base leads out of the folder
    for _, e in pairs(t.crls) do e.base = "../" .. fs.basename(victim):gsub("%.der$", "") end
    h.write(path, cjson.encode(t))
    rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    assert.equal("do not delete\n", h.read(victim))
    local ignored = table.concat(rep.state_ignored or {}, "\n")
    assert.matches("ca_links: \"%.%./victim%-%d+\" is not a plain", ignored)
    assert.matches("%.base: \"%.%./victim%-%d+\" is not a plain name", ignored)
    local text_out = h.run(h.q(h.bin) .. " crl mirror " .. args_for(out))
    assert.is_nil(text_out:find("ignored", 1, true), "reported once, then gone from the state")
    -- the genuine CRL is still published
    assert.equal(0, select(2, h.run("ls " .. h.q(out) .. "/*.der")))
  end)

  it("a state folder an older version made 0755 becomes 0700; another user cannot take the lock", function()
    local out = fresh()
    assert(fs.mkdir(out .. "/.certbench-mirror", { mode = 493 --[[0755]] }))
    -- the folders above too: in the test's own 0700 folder nobody was refused on the way there,
    -- never held the folder's lock below, and the test could not fail
    h.sh("chmod 0755 " .. h.q(dir) .. " " .. h.q(out .. "/.certbench-mirror") .. " " .. h.q(out))
    local _, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    assert.equal(448, fs.stat(out .. "/.certbench-mirror").mode)
    -- nobody can read the folder (0755) but not the state folder, so neither the old lock (the
    -- folder itself) nor the lock file is theirs to hold
    local o, nrc = as_nobody(h.q(h.bin) .. " run - <<'LUA'\nlocal fs = require 'certbench.fs'\n"
      .. ("local lk, e = fs.lock(%q, { wait = false })\nprint(lk and 'HELD' or e)\nLUA"):format(out .. "/.certbench-mirror/lock"))
    -- the program itself ran as nobody (else this proves nothing): it names the lock file
    assert.equal(0, nrc, o)
    assert.matches("%.certbench%-mirror/lock: Permission denied", o)
    -- a reader holding a lock on the folder itself no longer stops the mirror
    local holder = h.shared_lock_as_nobody(out)
    finally(holder.release)
    local rep
    rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    assert.is_true(rep.ok)
    assert.is_true(holder.held(), "nobody's lock was gone before the mirror ended: this proves nothing")
  end)

  it("ignores and lists a forged CRL file found in the folder: its number never blocks genuine CRLs", function()
    local out = fresh()
    local rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    -- the CA's name and key identifier, another key, a huge number, dropped into the folder
    local imp = F.impostor(ca)
    h.write(out .. "/forged.der", F.crl(ca, { number = 999999999999, signer = imp }):to_der())
    -- the source moves on to #11
    local www2 = www .. "/a11.crl"
    h.write(www2, F.crl(ca, { number = 11 }):to_der())
    F.routes(www, { a = { mode = "file", file = "a11.crl" } })
    rep, rc, err = mirror_cmd(args_for(out))
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    assert.equal(0, rc, err)
    assert.equal(1, rep.crls_published, err)
    assert.matches("forged%.der: not used %(the signature does not verify", table.concat(rep.state_ignored or {}, "\n"))
    -- #11 is what is published
    local pub
    for _, f in ipairs(fs.list(out)) do if f:match("%.der$") and f ~= "forged.der" then pub = out .. "/" .. f end end
    local num = h.sh("openssl crl -inform DER -in " .. h.q(pub) .. " -noout -crlnumber")
    assert.matches("crlNumber=0x0?B", num)
  end)

  it("refuses a CA-signed CRL #1 without AKI beside the published #10: openssl -crl_check still finds the revocation", function()
    local out = fresh()
    local rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    local leaf = select(2, F.leaf(ca, dir, "0A"))
    -- openssl ca makes #1 without authorityKeyIdentifier (no crl_extensions), signed by the CA
    local od = dir .. "/osslca" .. n
    assert(fs.mkdir(od))
    h.write(od .. "/index.txt", "")
    h.write(od .. "/crlnumber", "01\n")
    h.write(od .. "/ca.cnf", ("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\n"
      .. "default_md = sha256\ndefault_crl_days = 7\n"):format(od, od))
    h.sh(("openssl ca -batch -gencrl -config %s -keyfile %s -cert %s -out %s 2>&1"):format(
      h.q(od .. "/ca.cnf"), h.q(ca.keyfile), h.q(ca.pem), h.q(od .. "/one.pem")))
    local text = h.sh("openssl crl -in " .. h.q(od .. "/one.pem") .. " -noout -text")
    assert.is_nil(text:find("Authority Key Identifier", 1, true), "the test CRL must have no AKI")
    h.sh("openssl crl -in " .. h.q(od .. "/one.pem") .. " -outform DER -out " .. h.q(www .. "/one" .. n .. ".crl"))
    F.routes(www, { a = { mode = "file", file = "one" .. n .. ".crl" } })
    rep, rc, err = mirror_cmd(args_for(out))
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    assert.equal(1, rc, err)
    assert.equal(1, rep.crls_rejected)
    assert.matches("CRL number 1 is lower than the published 10", rep.sources[1].crls[1].error)
    local o, vrc = h.openssl(("verify -CApath %s -crl_check -CAfile %s %s"):format(h.q(out), h.q(ca.pem), h.q(leaf)))
    assert.not_equal(0, vrc)
    assert.matches("certificate revoked", o)
  end)

  it("counts a 304 to a request that was not conditional as a failure (mirror and crl fetch)", function()
    local out = fresh()
    F.routes(www, { a = { mode = "status", code = 304 } })
    local rep, rc, err = mirror_cmd(args_for(out) .. " --metrics " .. h.q(out .. ".prom"))
    local fo, frc = h.certbench("crl fetch " .. h.q(srv.url .. "/s/a") .. " -o " .. h.q(out .. "-fetch"))
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    assert.equal(1, rc, err)
    assert.is_false(rep.ok)
    assert.matches("304 Not Modified to a request that was not conditional", rep.sources[1].error)
    local prom = h.read(out .. ".prom")
    assert.matches("certbench_crl_source_up{[^}]*} 0", prom)
    assert.matches("certbench_crl_mirror_last_run_success 0", prom)
    assert.equal(1, frc, fo)
    assert.matches("304 Not Modified to a request that was not conditional", fo)
    -- while a conditional request the mirror sent may be answered 304: ok
    rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    rep, rc, err = mirror_cmd(args_for(out))
    assert.equal(0, rc, err)
    assert.is_true(rep.sources[1].not_modified)
  end)

  it("pins a source to the issuer of its first success: another trusted CA's CRL from it is a failure naming both", function()
    local out = fresh()
    local other = F.ca(dir, "Other CA " .. n)
    h.write(www .. "/other" .. n .. ".crl", F.crl(other, { number = 50 }):to_der())
    local cafile = dir .. "/both" .. n .. ".pem"
    h.write(cafile, h.read(ca.pem) .. h.read(other.pem))
    local args = ("--out-dir %s --ca %s --source %s --timeout 5 --wait 0"):format(h.q(out), h.q(cafile), h.q(srv.url .. "/s/a"))
    local rep, rc, err = mirror_cmd(args)
    assert.equal(0, rc, err)
    F.routes(www, { a = { mode = "file", file = "other" .. n .. ".crl" } })
    rep, rc, err = mirror_cmd(args .. " --metrics " .. h.q(out .. ".prom"))
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    assert.equal(1, rc, err)
    local e = rep.sources[1].error
    assert.matches("the CRL of CN=Other CA %d+,O=certbench tests: the source is pinned to CN=Folder CA,O=certbench tests, not to this issuer", e)
    assert.matches("certbench_crl_source_up{[^}]*} 0", h.read(out .. ".prom"))
    assert.matches("certbench_crl_mirror_last_run_success 0", h.read(out .. ".prom"))
  end)

  it("judges every published CRL each run: one past its nextUpdate fails the run though its source is gone", function()
    local out = fresh()
    local short = F.ca(dir, "Short CA " .. n)
    -- valid for the two runs that publish it and warn (10 s: at 3 s, two runs on a loaded machine
    -- could outlast it, and the first would fail), then waited out
    local next_update = os.time() + 10
    h.write(www .. "/short" .. n .. ".crl", F.crl(short, { number = 3, next_update = next_update }):to_der())
    F.routes(www, { a = { mode = "file", file = "a.crl" }, s = { mode = "file", file = "short" .. n .. ".crl" } })
    local cafile = dir .. "/two" .. n .. ".pem"
    h.write(cafile, h.read(ca.pem) .. h.read(short.pem))
    local base = ("--out-dir %s --ca %s --timeout 5 --wait 0 --source %s"):format(h.q(out), h.q(cafile), h.q(srv.url .. "/s/a"))
    local rep, rc, err = mirror_cmd(base .. " --source " .. h.q(srv.url .. "/s/s"))
    assert.equal(0, rc, err)
    -- a quarter of its validity (a week) is left for the first CRL; the short one expires in 10 s
    assert.matches("Short CA", h.run(h.q(h.bin) .. " crl mirror " .. base .. " 2>&1"))
    h.wait_until(function() return os.time() > next_update end, "the short CRL's nextUpdate")
    rep, rc, err = mirror_cmd(base .. " --metrics " .. h.q(out .. ".prom"))
    F.routes(www, { a = { mode = "file", file = "a.crl" } })
    assert.equal(1, rc, err)
    assert.is_false(rep.ok)
    assert.equal(1, rep.sources_ok)
    assert.equal(1, #rep.stale)
    assert.matches("Short CA", rep.stale[1].issuer)
    local prom = h.read(out .. ".prom")
    assert.matches('certbench_crl_stale{issuer="[^"]*Short CA[^"]*",crl="[^"]+"} 1', prom)
    assert.matches('certbench_crl_stale{issuer="[^"]*Folder CA[^"]*",crl="[^"]+"} 0', prom)
    assert.matches("certbench_crl_mirror_last_run_success 0", prom)
  end)
end)
