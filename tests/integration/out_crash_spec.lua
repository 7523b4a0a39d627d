-- tests/integration/out_crash_spec.lua: the one way out through the commands, with files openssl made:
-- `ca issue --out /dev/null` as root keeps /dev/null a device, a FIFO stays a FIFO, `--out -`
-- prints; a planted .certbench-journal symbolic link is not followed; `pfx split` killed at
-- each fault point and at 60 random moments leaves no named file with the key but privkey.pem
-- (the named fallback's leftovers are gone after the next run).
local h = require "support.helper"
local fs = require "certbench.fs"

local dir = h.tmpdir()
local function f(name) return dir .. "/" .. name end
local function cb(args, env)
  return h.run((env or "") .. " " .. h.q(h.bin) .. " " .. args .. " </dev/null")
end

-- a CA made by certbench, a CSR and a PFX made by openssl
h.sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. f("req.key")
  .. " -out " .. f("req.csr") .. " -subj /CN=out.example.com 2>&1")
h.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " .. f("srv.key")
  .. " -out " .. f("srv.pem") .. " -days 30 -subj /CN=vcs.example.com 2>&1")
h.sh("openssl pkcs12 -export -inkey " .. f("srv.key") .. " -in " .. f("srv.pem") .. " -out " .. f("srv.pfx")
  .. " -passout pass:pw 2>&1")
local KEY_DER = h.sh("openssl pkey -in " .. f("srv.key") .. " -outform DER | base64 -w0")

local function new_ca(name)
  local d = f(name)
  local out, rc = cb("ca init " .. h.q(d) .. " --subject /CN=Out-Test-CA --key ec:P-256 --no-encrypt")
  assert(rc == 0, out)
  return d
end

-- every file below d (hidden ones too) that holds the server key, by name
local function key_holders(d)
  local found = {}
  for _, name in ipairs(fs.list(d) or {}) do
    local data = fs.read(d .. "/" .. name) or ""
    if data:find("PRIVATE KEY", 1, true) then
      -- the same key whatever the PEM form: compare what openssl reads
      local der = h.run("openssl pkey -in " .. h.q(d .. "/" .. name) .. " -outform DER 2>/dev/null | base64 -w0")
      if der == KEY_DER then found[#found + 1] = name end
    end
  end
  return found
end

describe("ca issue --out", function()
  local ca = new_ca("ca")

  it("/dev/null stays a character device", function()
    local before = fs.stat("/dev/null")
    local out, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(f("req.csr")) .. " --out /dev/null")
    assert.equal(0, rc, out)
    local after = fs.stat("/dev/null")
    assert.equal("device", after.type)
    assert.equal(before.ino, after.ino)
  end)

  it("a FIFO stays a FIFO and its reader gets the certificate openssl reads", function()
    local fifo = f("cert.fifo")
    h.sh("mkfifo " .. h.q(fifo))
    -- the reader's copy is named from-fifo.pem once the writer closed the FIFO: a copy read while
    -- it grew could be partial
    local got = f("from-fifo.pem")
    h.sh(("(cat %s > %s.part && mv %s.part %s) >/dev/null 2>&1 </dev/null &"):format(h.q(fifo), h.q(got), h.q(got), h.q(got)))
    local out, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(f("req.csr")) .. " --out " .. h.q(fifo))
    assert.equal(0, rc, out)
    h.wait_until(function() return h.size(got) ~= nil end, "the FIFO reader's copy")
    assert.equal("fifo", fs.stat(fifo).type)
    local subj = h.sh("openssl x509 -in " .. h.q(f("from-fifo.pem")) .. " -noout -subject")
    assert.matches("CN%s*=%s*out.example.com", subj)
  end)

  it("- prints the certificate on standard output", function()
    local out, rc = h.run(h.q(h.bin) .. " ca issue " .. h.q(ca) .. " --csr " .. h.q(f("req.csr"))
      .. " --out - 2>/dev/null | openssl x509 -noout -subject")
    assert.equal(0, rc, out)
    assert.matches("CN%s*=%s*out.example.com", out)
  end)

  it("a .certbench-journal planted as a symbolic link: its target is not written, the command fails naming it", function()
    local d = new_ca("ca-planted")
    h.write(f("victim"), "precious\n")
    h.sh("rm -f " .. h.q(d .. "/.certbench-journal") .. " && ln -s " .. h.q(f("victim")) .. " " .. h.q(d .. "/.certbench-journal"))
    local out, rc = cb("ca issue " .. h.q(d) .. " --csr " .. h.q(f("req.csr")))
    assert.equal(1, rc, out)
    assert.matches("%.certbench%-journal: Too many levels of symbolic links", out)
    assert.equal("precious\n", h.read(f("victim")))
  end)
end)

describe("pfx split killed", function()
  local n = 0
  local function split(out, env, force)
    return cb("pfx split " .. h.q(f("srv.pfx")) .. " --passin pass:pw --out-dir " .. h.q(out)
      .. (force and " --force" or ""), env)
  end
  local function fresh()
    n = n + 1
    local d = f("split" .. n)
    fs.mkdir(d)
    return d
  end

  it("proves the check: a finished split has the key in privkey.pem only", function()
    local d = fresh()
    local out, rc = split(d)
    assert.equal(0, rc, out)
    assert.same({ "privkey.pem" }, key_holders(d))
  end)

  it("at each fault point leaves no named copy of the key", function()
    for _, point in ipairs({ "fs.key:written", "fs.write:before-rename" }) do
      local d = fresh()
      local out, rc = split(d, "CERTBENCH_FAULT=" .. point)
      assert.equal(137, rc, point .. ": " .. out)
      local holders = key_holders(d)
      if point == "fs.key:written" then assert.same({}, holders, point)
      else assert.same({ "privkey.pem" }, holders, point) end
      -- the next run goes on
      out, rc = split(d, nil, true)
      assert.equal(0, rc, out)
      assert.same({ "privkey.pem" }, key_holders(d))
    end
  end)

  it("replacing with --force, killed at each point: the old files or the new, a leftover removed by the next run", function()
    local d = fresh()
    assert.equal(0, select(2, split(d)))
    for _, point in ipairs({ "fs.key:written", "fs.key:linked", "fs.write:before-rename" }) do
      local out, rc = split(d, "CERTBENCH_FAULT=" .. point, true)
      assert.equal(137, rc, point .. ": " .. out)
      local holders = key_holders(d)
      assert.equal("privkey.pem", holders[#holders], point)
      for i = 1, #holders - 1 do
        assert.equal("fs.key:linked", point)
        assert.matches("^%.privkey%.pem%.certbench%-key%.%x+%.tmp$", holders[i])
      end
      out, rc = split(d, nil, true)
      assert.equal(0, rc, out)
      assert.same({ "privkey.pem" }, key_holders(d), point)
    end
  end)

  it("without O_TMPFILE (the named fallback): the leftover of a kill is removed by the next run", function()
    local d = fresh()
    local out, rc = split(d, "CERTBENCH_FAULT=fs.key:no-tmpfile,fs.key:written")
    assert.equal(137, rc, out)
    local holders = key_holders(d)
    assert.equal(1, #holders)
    assert.matches("^%.privkey%.pem%.certbench%-key%.%x+%.tmp$", holders[1])
    assert.equal(384, fs.stat(d .. "/" .. holders[1]).mode)
    out, rc = split(d, "CERTBENCH_FAULT=fs.key:no-tmpfile")
    assert.equal(0, rc, out)
    assert.same({ "privkey.pem" }, key_holders(d))
  end)

  it("at 60 random moments leaves no named copy of the key but privkey.pem", function()
    -- how long a split takes here, to spread the kills over the whole run
    local t0 = os.time()
    local clock = function() return tonumber(h.sh("date +%s.%N")) end
    local s0 = clock()
    for _ = 1, 3 do assert.equal(0, select(2, split(fresh()))) end
    local dur = (clock() - s0) / 3
    assert(dur > 0 and os.time() - t0 < 60)
    local killed, extra, finished = 0, 0, 0
    math.randomseed(os.time())
    -- the time of a split is measured once: a run that finishes before its kill (the first three
    -- slowed by a loaded machine) shortens the estimate, and more rounds follow until 20 kills
    -- (150 rounds at most)
    local i = 0
    while i < 60 or (killed < 20 and i < 150) do
      i = i + 1
      local d = fresh()
      local delay = ("%.4f"):format(math.random() * dur * 1.2)
      local out, rc = h.run("timeout -s KILL " .. delay .. " " .. h.q(h.bin) .. " pfx split " .. h.q(f("srv.pfx"))
        .. " --passin pass:pw --out-dir " .. h.q(d) .. " </dev/null")
      if rc == 137 then killed = killed + 1
      elseif rc == 0 then
        finished = finished + 1
        dur = math.min(dur, tonumber(delay))
      end
      local holders = key_holders(d)
      for _, name in ipairs(holders) do
        if name ~= "privkey.pem" then extra = extra + 1 end
      end
      assert.is_true(#holders == 0 or (#holders == 1 and holders[1] == "privkey.pem"),
        "kill " .. i .. " after " .. delay .. " s: " .. table.concat(holders, ", "))
    end
    print(("# random kills: %d rounds, split %.3f s, %d killed, %d finished"):format(i, dur, killed, finished))
    assert.equal(0, extra)
    -- the kills must have landed during the runs for this to mean anything
    assert.is_true(killed >= 20, killed .. " of " .. i .. " runs killed")
  end)
end)
