-- tests/integration/ca_lock_spec.lua: the CA's lock against other local users (issue 16, case 7): the lock is
-- DIR/.certbench/lock in an owner-only folder; another user (nobody, through setpriv) who can
-- read the CA folder cannot hold it; a holder is waited for --wait seconds, then named.
local h = require "support.helper"
local fs = require "certbench.fs"

local dir = h.tmpdir()
h.sh("chmod 0755 " .. h.q(dir))
h.sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. h.q(dir .. "/r.key")
  .. " -out " .. h.q(dir .. "/r.csr") .. " -subj /CN=lock.example.com 2>&1")
local CA = dir .. "/ca"
do
  local out, rc = h.certbench("ca init " .. h.q(CA) .. " --subject /CN=Lock-Test-CA --key ec:P-256 --no-encrypt")
  assert(rc == 0, out)
  h.sh("chmod 0755 " .. h.q(CA))
end

local function issue(extra)
  return h.certbench("ca issue " .. h.q(CA) .. " --csr " .. h.q(dir .. "/r.csr") .. " " .. (extra or ""))
end

describe("the CA lock", function()
  it("is a file in an owner-only folder", function()
    assert.equal(0, select(2, issue()))
    assert.equal(448 --[[0700]], fs.stat(CA .. "/.certbench").mode)
    assert.equal("file", fs.stat(CA .. "/.certbench/lock").type)
  end)

  it("cannot be held by another user who can read the CA folder", function()
    -- what held `ca issue` forever before: a shared flock on the folder by anyone; held from
    -- before the command to after it (a holder that slept a fixed time could be gone already)
    local holder = h.shared_lock_as_nobody(CA)
    finally(holder.release)
    local o = h.run("setpriv --reuid=nobody --regid=nogroup --clear-groups " .. h.q(h.bin) .. " run - <<'LUA'\n"
      .. ("local fs = require 'certbench.fs'\nlocal lk, e = fs.lock(%q, { wait = false })\nprint(lk and 'HELD' or e)\nLUA"):format(CA .. "/.certbench/lock"))
    -- the program itself ran as nobody (else this proves nothing): it names the lock file
    assert.matches("/%.certbench/lock: Permission denied", o)
    -- kept from the lock, the command would fail after its 2 s (the next test): its success is
    -- the proof, not how long it took
    local out, rc = issue("--wait 2")
    assert.equal(0, rc, out)
    assert.is_true(holder.held(), "nobody's lock was gone before the command ended: this proves nothing")
  end)

  it("is waited for --wait seconds, then the command fails naming the holder", function()
    local lk = assert(fs.lock(CA .. "/.certbench/lock", { pid = true }))
    local t0 = os.time()
    local out, rc = issue("--wait 1")
    local took = os.time() - t0
    lk:unlock()
    assert.equal(1, rc, out)
    local pid = h.read(CA .. "/.certbench/lock"):match("%d+")
    assert.matches(CA:gsub("%p", "%%%0") .. "/%.certbench/lock: locked by process " .. pid .. " %(waited 1 s%)", out)
    -- the --wait of 1 s, not the default 30 s: the upper bound lies between them, far from the
    -- 1 s a loaded machine stretches (the message above says 1 s already)
    assert.is_true(took >= 1 and took < 15, took .. " s")
    -- and once released the CA goes on
    out, rc = issue()
    assert.equal(0, rc, out)
  end)

  it("refuses a .certbench that is a symbolic link", function()
    local other = h.tmpdir()
    local d = dir .. "/ca2"
    local out, rc = h.certbench("ca init " .. h.q(d) .. " --subject /CN=Lock-Test-CA2 --key ec:P-256 --no-encrypt")
    assert.equal(0, rc, out)
    h.sh("rm -rf " .. h.q(d .. "/.certbench") .. " && ln -s " .. h.q(other) .. " " .. h.q(d .. "/.certbench"))
    out, rc = h.certbench("ca issue " .. h.q(d) .. " --csr " .. h.q(dir .. "/r.csr"))
    assert.equal(1, rc, out)
    assert.matches("%.certbench: is a symbolic link: refused", out)
    assert.same({}, fs.list(other))
  end)
end)
