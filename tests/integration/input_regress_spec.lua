-- tests/integration/input_regress_spec.lua: the cases of issue 12 that lost data or sent the user in
-- circles, each against real tools (openssl, tar, a python3 -m http.server on 127.0.0.1 that
-- the test starts):
--   a .tar.gz holding a DER CRL and a PEM CRL: crl fetch, info and mirror see both;
--   a member that is not understood fails its source (a README.txt does not);
--   an `openssl ecparam -genkey` key (EC PARAMETERS first) opens in convert;
--   convert does not keep the TRUSTED CERTIFICATE label;
--   a command takes a URL (the certsrv step: certnew.cer over http).
local h = require "support.helper"
local servers = require "support.servers"
local cjson = require "cjson"
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"

local dir, www, srv, base, root, sub

local function p(n) return dir .. "/" .. n end

local function cb(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " " .. args)
  return out, err, rc
end

local function cbjson(args)
  local out, err, rc = cb("--json " .. args)
  local ok, t = pcall(cjson.decode, out)
  assert(ok, "not JSON: " .. out .. err)
  return t, rc, err
end

setup(function()
  dir = h.tmpdir()
  www = p("www")
  h.sh("mkdir -p " .. h.q(www))
  root = servers.make_ca(dir, "root")
  sub = servers.make_ca(dir, "sub")
  local rootcrl, subcrl = servers.make_crl(dir .. "/r", root), servers.make_crl(dir .. "/s", sub)
  -- the archive: the root's CRL as DER, the sub CA's as PEM, and a README
  local m = p("members")
  h.sh("mkdir -p " .. h.q(m))
  h.sh(("cp %s %s/root.der"):format(h.q(rootcrl), h.q(m)))
  h.sh(("openssl crl -inform DER -in %s -out %s/sub.pem"):format(h.q(subcrl), h.q(m)))
  h.write(m .. "/README.txt", "CRLs of the test PKI\n")
  h.sh(("cd %s && tar czf %s root.der sub.pem README.txt"):format(h.q(m), h.q(www .. "/all-crls.tar.gz")))
  -- the same with a member that is PKI data gone bad (a CRL cut short)
  h.write(m .. "/cut.der", h.read(rootcrl):sub(1, 100))
  h.sh(("cd %s && tar czf %s sub.pem cut.der README.txt"):format(h.q(m), h.q(www .. "/broken.tar.gz")))
  h.write(p("trusted.pem"), h.read(root.cert) .. h.read(sub.cert))
  h.sh(("cp %s %s"):format(h.q(www .. "/all-crls.tar.gz"), h.q(p("all-crls.tar.gz"))))
  -- certsrv's certnew.cer: the CA certificate as DER
  h.sh(("openssl x509 -in %s -outform DER -out %s"):format(h.q(root.cert), h.q(www .. "/certnew.cer")))
  srv = servers.http(www)
  base = "http://127.0.0.1:" .. srv.port
end)

teardown(function() servers.stop(srv) end)

describe("a .tar.gz with a DER CRL and a PEM CRL", function()
  local function issuers(list)
    local t = {}
    for _, c in ipairs(list) do t[#t + 1] = c end
    table.sort(t)
    return t
  end
  local want

  setup(function()
    want = issuers { x509.load(h.read(root.cert)):subject():text(), x509.load(h.read(sub.cert)):subject():text() }
  end)

  it("crl info reads both (from the file and from the URL)", function()
    for _, src in ipairs { h.q(p("all-crls.tar.gz")), base .. "/all-crls.tar.gz" } do
      local res, rc, err = cbjson("crl info " .. src .. " --ca " .. h.q(p("trusted.pem")))
      assert.equal(0, rc, err)
      local got = {}
      for _, c in ipairs(res.crls) do
        assert.is_nil(c.error)
        assert.is_true(c.verified)
        got[#got + 1] = c.issuer
      end
      assert.equal(2, #got, src)
    end
  end)

  it("crl fetch writes both", function()
    local out = p("fetched")
    local res, rc, err = cbjson(("crl fetch %s/all-crls.tar.gz --ca %s -o %s"):format(base, h.q(p("trusted.pem")), h.q(out)))
    assert.equal(0, rc, err)
    local got = {}
    for _, f in ipairs(require("certbench.fs").list(out)) do
      if f:match("%.der$") or f:match("%.crl$") then
        got[#got + 1] = assert(crl.load(h.read(out .. "/" .. f))):issuer():text()
      end
    end
    assert.same(want, issuers(got), cjson.encode(res))
  end)

  it("crl mirror publishes both, and fails a source with a member it cannot read", function()
    local out = p("mirror")
    local rep, rc, err = cbjson(("crl mirror --source %s/all-crls.tar.gz --out-dir %s --ca %s"):format(
      base, h.q(out), h.q(p("trusted.pem"))))
    assert.equal(0, rc, err)
    local got = {}
    for _, f in ipairs(require("certbench.fs").list(out)) do
      if f:match("%.der$") then got[#got + 1] = assert(crl.load(h.read(out .. "/" .. f))):issuer():text() end
    end
    assert.same(want, issuers(got))
    assert.is_table(rep)
    local out2 = p("mirror2")
    local rep2, rc2 = cbjson(("crl mirror --source %s/broken.tar.gz --out-dir %s --ca %s"):format(
      base, h.q(out2), h.q(p("trusted.pem"))))
    assert.equal(1, rc2)
    local text = cjson.encode(rep2)
    assert.matches("cut.der", text, 1, true)
    assert.not_matches("README.txt: not understood", text, 1, true)
  end)
end)

describe("keys, labels and URLs in convert", function()
  it("opens an openssl ecparam -genkey key (EC PARAMETERS block first)", function()
    h.sh("openssl ecparam -name prime256v1 -genkey -out " .. h.q(p("ec.pem")))
    assert.matches("^%-%-%-%-%-BEGIN EC PARAMETERS", h.read(p("ec.pem")))
    local out, err, rc = cb(("convert %s --to pem --out %s"):format(h.q(p("ec.pem")), h.q(p("ec-out.pem"))))
    assert.equal(0, rc, err)
    assert.matches("EC PARAMETERS", out, 1, true) -- said, not dropped in silence
    local theirs = h.sh("openssl pkey -in " .. h.q(p("ec.pem")) .. " -pubout")
    assert.equal(theirs, assert(pkey.load(h.read(p("ec-out.pem")))):public_pem())
  end)

  it("writes a TRUSTED CERTIFICATE as CERTIFICATE", function()
    h.sh(("openssl x509 -in %s -trustout -addtrust serverAuth -out %s"):format(h.q(root.cert), h.q(p("trusted-root.pem"))))
    assert.matches("BEGIN TRUSTED CERTIFICATE", h.read(p("trusted-root.pem")), 1, true)
    local _, err, rc = cb(("convert %s --to pem --out %s"):format(h.q(p("trusted-root.pem")), h.q(p("plain-root.pem"))))
    assert.equal(0, rc, err)
    local text = h.read(p("plain-root.pem"))
    assert.not_matches("TRUSTED", text, 1, true)
    -- openssl reads it as the same certificate
    assert.equal(h.sh("openssl x509 -in " .. h.q(root.cert) .. " -noout -fingerprint -sha256"),
      h.sh("openssl x509 -in " .. h.q(p("plain-root.pem")) .. " -noout -fingerprint -sha256"))
  end)

  it("takes a URL: certsrv's certnew.cer over http", function()
    local _, err, rc = cb(("convert %s/certnew.cer --to pem --out %s"):format(base, h.q(p("certnew.pem"))))
    assert.equal(0, rc, err)
    assert.equal(h.read(root.cert), h.read(p("certnew.pem")))
    -- a URL that is not there: one line naming it, exit 1
    local _, err2, rc2 = cb(("convert %s/nothere.cer --to pem --out %s"):format(base, h.q(p("x.pem"))))
    assert.equal(1, rc2)
    assert.matches("nothere.cer", err2, 1, true)
  end)
end)

-- hostile and one-shot inputs (issue: attacker): a pipe can be read once, so a command that
-- looked at its head first lost it (crl info <(cat ca.crl): "No such file or directory"); a FIFO
-- nobody writes hung every command for ever (open(2) blocks, as `openssl x509 -in FIFO` does).
describe("inputs that are no regular file", function()
  local crlfile
  local COMMANDS = {
    { "crl info", function(f) return "crl info " .. f end },
    { "crl diff", function(f) return "crl diff " .. f .. " " .. h.q(crlfile) end },
    { "show", function(f) return "show " .. f end },
    { "convert", function(f) return "convert file " .. f .. " --to der --out " .. h.q(p("piped.der")) .. " --force" end },
    { "crl check --crl", function(f) return ("crl check %s --chain %s --crl %s"):format(h.q(root.cert), h.q(root.cert), f) end },
  }
  setup(function()
    crlfile = servers.make_crl(dir .. "/pipe", root)
  end)

  for _, c in ipairs(COMMANDS) do
    it(c[1] .. " reads a pipe (/dev/stdin) as it reads the file", function()
      local _, err, rc = cb(c[2](h.q(crlfile)))
      assert.is_true(rc == 0 or rc == 3, err)
      local _, perr, prc = h.run3(("cat %s | %s %s"):format(h.q(crlfile), h.q(h.bin), c[2]("/dev/stdin")))
      assert.equal(rc, prc, perr)
    end)

    it(c[1] .. " fails on a FIFO nobody writes, in bounded time, naming it", function()
      local fifo = p("nowriter.fifo")
      os.remove(fifo)
      h.sh("mkfifo " .. h.q(fifo))
      local t0 = os.time()
      local out, err, rc = h.run3("CERTBENCH_FIFO_WAIT=1 timeout 20 " .. h.q(h.bin) .. " " .. c[2](h.q(fifo)))
      assert.equal(1, rc, out .. err)
      assert.is_true(os.time() - t0 < 10)
      assert.matches("^certbench: .*nowriter%.fifo: a FIFO that no process opened for writing %(waited 1 s%)\n$", err)
    end)
  end

  it("a FIFO whose writer comes late is read whole", function()
    local fifo = p("late.fifo")
    os.remove(fifo)
    h.sh("mkfifo " .. h.q(fifo))
    local out, err, rc = h.run3(("(sleep 1; cat %s > %s) & %s crl info %s; wait"):format(h.q(crlfile), h.q(fifo), h.q(h.bin), h.q(fifo)))
    assert.equal(0, rc, err)
    assert.matches("issuer", out)
  end)
end)

-- a certificate with bytes after it is refused by every command that reads one: crl check read
-- its certificate with a loader of its own (x509.load_all), which stopped at the first
-- certificate and answered GOOD for a file show and convert refuse
describe("a DER certificate with trailing bytes", function()
  local COMMANDS = {
    { "crl check", function(f) return ("crl check %s --chain %s --crl %s"):format(f, h.q(root.cert), h.q(p("trail.crl"))) end },
    { "show", function(f) return "show " .. f end },
    { "convert", function(f) return "convert file " .. f .. " --to pem --out " .. h.q(p("trail-out.pem")) end },
  }
  setup(function()
    h.sh(("openssl x509 -in %s -outform DER -out %s"):format(h.q(root.cert), h.q(p("trail.der"))))
    local f = assert(io.open(p("trail.der"), "ab"))
    f:write("\0junk")
    f:close()
    h.sh(("cp %s %s"):format(h.q(servers.make_crl(dir .. "/trail", root)), h.q(p("trail.crl"))))
  end)
  for _, c in ipairs(COMMANDS) do
    it(c[1] .. " refuses it, naming the file and the bytes", function()
      local out, err, rc = cb(c[2](h.q(p("trail.der"))))
      assert.equal(1, rc, out .. err)
      assert.matches("^certbench: .*trail%.der: 5 bytes after the certificate", err)
      assert.equal(1, select(2, err:gsub("\n", "")))
    end)
  end
end)

-- crl fetch killed during a download (SIGTERM, SIGKILL) left its private folder, with the partial
-- download, in the output folder: one more .certbench-fetch-* per killed run, never removed
describe("crl fetch after runs that were killed", function()
  it("removes the private folders killed runs left, not a running fetch's nor a new one", function()
    local out = p("killed")
    h.sh("mkdir -p " .. h.q(out .. "/.certbench-fetch-0A0A0A0A0A0A") .. " " .. h.q(out .. "/.certbench-fetch-0B0B0B0B0B0B")
      .. " " .. h.q(out .. "/.certbench-fetch-0C0C0C0C0C0C"))
    h.write(out .. "/.certbench-fetch-0A0A0A0A0A0A/w-partial", ("x"):rep(4096))
    h.sh("touch -d '-5 min' " .. h.q(out) .. "/.certbench-fetch-0A0A0A0A0A0A " .. h.q(out) .. "/.certbench-fetch-0B0B0B0B0B0B")
    -- 0B: a running fetch's (held locked); 0C: made a moment ago
    local lockpid = h.sh("flock -o " .. h.q(out .. "/.certbench-fetch-0B0B0B0B0B0B") .. " sleep 20 >/dev/null 2>&1 & echo $!")
    h.sh("sleep 0.5")
    local _, err, rc = cb(("crl fetch %s/all-crls.tar.gz --ca %s -o %s"):format(base, h.q(p("trusted.pem")), h.q(out)))
    h.sh("kill " .. lockpid:match("%d+"))
    assert.equal(0, rc, err)
    local left = {}
    for _, f in ipairs(require("certbench.fs").list(out)) do
      if f:match("^%.certbench") then left[#left + 1] = f end
    end
    table.sort(left)
    assert.same({ ".certbench-fetch-0B0B0B0B0B0B", ".certbench-fetch-0C0C0C0C0C0C" }, left)
  end)
end)

-- --quiet prints the paths written and errors: crl fetch and crl mirror with a failed source
-- said nothing at all under --quiet, exit 1 and no word of why
describe("--quiet and a source that fails", function()
  it("crl fetch and crl mirror say which source failed and why, on stderr; stdout keeps the paths", function()
    local out, err, rc = cb(("--quiet crl fetch %s/nothere.crl %s/all-crls.tar.gz --ca %s -o %s"):format(base, base,
      h.q(p("trusted.pem")), h.q(p("quiet-fetch"))))
    assert.equal(1, rc, out .. err)
    assert.matches("nothere.crl: HTTP 404", err, 1, true)
    for line in out:gmatch("[^\n]+") do assert.matches("^" .. p("quiet-fetch"):gsub("%p", "%%%0") .. "/", line) end
    out, err, rc = cb(("--quiet crl mirror --source %s/nothere.crl --out-dir %s --ca %s"):format(base,
      h.q(p("quiet-mirror")), h.q(p("trusted.pem"))))
    assert.equal(1, rc, out .. err)
    assert.equal("", out)
    assert.matches("nothere.crl: HTTP 404", err, 1, true)
  end)
end)
