-- tests/integration/crl_memory_spec.lua: memory independent of CRL size and count (issue 16,
-- item 4). Four CAs, each with a 40 MB CRL (about a million entries; spec/support/big_crl.py,
-- signed by the openssl CLI), served from 127.0.0.1 by spec/support/servers/crl_server.py. The
-- mirror of the four sources and `crl fetch` of the four URLs stay under 60 MB of peak RSS
-- (loaded whole, as before the scan, they took 4 x 40 MB and more), `crl diff` of two versions
-- of one CRL and `crl info --ca` under 40 MB; what they write is what was served, and openssl
-- verifies it; the same for one served as PEM and one served gzipped. Peak RSS by /usr/bin/time.
-- tests/bench/crl_stream.sh measures 200 MB CRLs.
local h = require "support.helper"
local F = require "support.crl_plugin"
local servers = require "support.servers"

local SIZE = 40 * 1000 * 1000

describe("memory independent of CRL size and count", function()
  local dir, srv, urls, bundle

  setup(function()
    dir = h.tmpdir()
    h.sh("mkdir -p " .. h.q(dir .. "/www"))
    local pems = {}
    for i = 1, 4 do
      h.sh(("python3 %s/spec/support/big_crl.py %s %s %d --name 'Memory CA %d'"):format(h.q(h.root),
        h.q(dir .. "/ca" .. i), h.q(("%s/www/%d.crl"):format(dir, i)), SIZE, i))
      pems[i] = h.read(dir .. "/ca" .. i .. "/ca.pem")
    end
    -- the next CRL of CA 1: every 50th entry gone, 1000 new ones
    h.sh(("python3 %s/spec/support/big_crl.py %s %s %d --number 2 --drop 50 --extra 1000"):format(h.q(h.root),
      h.q(dir .. "/ca1"), h.q(dir .. "/new1.crl"), SIZE))
    bundle = dir .. "/trusted.pem"
    h.write(bundle, table.concat(pems))
    -- the same four again under other names: eight URLs for crl fetch
    for i = 1, 4 do h.sh(("ln %s/www/%d.crl %s/www/%d.crl"):format(h.q(dir), i, h.q(dir), i + 4)) end
    srv = F.server(dir .. "/www")
    urls = {}
    for i = 1, 8 do urls[i] = ("%s/f/%d.crl"):format(srv.url, i) end
  end)
  teardown(function() if srv then servers.stop(srv) end end)

  -- peak(args) -> peak RSS in MB of certbench args, asserting success; its output in dir/out
  local function peak(args)
    local out, rc = h.run(("/usr/bin/time -f 'RSS=%%M' %s %s > %s 2> %s; echo rc=$?"):format(h.q(h.bin), args,
      h.q(dir .. "/out"), h.q(dir .. "/err")))
    local err = h.read(dir .. "/err")
    assert.equal("rc=0", out:match("rc=%d+"), err .. h.read(dir .. "/out"))
    return tonumber(err:match("RSS=(%d+)")) / 1024
  end

  -- under: the bound, except under ASan, whose quarantine and shadow memory make resident size
  -- say nothing (the memory tests of spec/ check only the child's exit there); what the commands
  -- write is checked in both builds
  local function under(mb, limit, what)
    if os.getenv("CERTBENCH_ASAN") then return end
    assert.is_true(mb < limit, ("%s peaked at %.0f MB"):format(what, mb))
  end

  local function same_file(a, b)
    return h.run(("cmp -s %s %s && echo same"):format(h.q(a), h.q(b))):match("same") ~= nil
  end

  it("crl fetch of eight 40 MB CRLs stays under 60 MB, one budget for all, and writes them as served", function()
    local out = dir .. "/fetched"
    local q = {}
    for i, u in ipairs(urls) do q[i] = h.q(u) end
    local mb = peak(("--json crl fetch --ca %s --out-dir %s --format der %s"):format(h.q(bundle), h.q(out),
      table.concat(q, " ")))
    under(mb, 60, "crl fetch")
    local res = F.json(h.read(dir .. "/out"))
    assert.is_true(res.ok)
    assert.equal(8, #res.sources)
    local files = {}
    for name in h.sh("ls " .. h.q(out)):gmatch("[^\n]+") do files[#files + 1] = name end
    assert.equal(4, #files)
    local matched = 0
    for _, name in ipairs(files) do
      for i = 1, 4 do
        if same_file(out .. "/" .. name, ("%s/www/%d.crl"):format(dir, i)) then matched = matched + 1 end
      end
    end
    assert.equal(4, matched)
    assert.matches("verify OK", h.sh(("openssl crl -inform DER -in %s/%s -noout -CAfile %s 2>&1"):format(h.q(out),
      files[1], h.q(bundle))), 1, true)
  end)

  it("the mirror of four sources of 40 MB CRLs stays under 60 MB and publishes the four", function()
    local conf = dir .. "/mirror.conf.lua"
    local t = { "return { ca = { '" .. bundle .. "' }, sources = {" }
    for i = 1, 4 do t[#t + 1] = "  '" .. urls[i] .. "'," end
    t[#t + 1] = "} }"
    h.write(conf, table.concat(t, "\n"))
    local out = dir .. "/mirror"
    local mb = peak(("--json crl mirror --once --config %s --out-dir %s"):format(h.q(conf), h.q(out)))
    under(mb, 60, "the mirror")
    local report = h.read(dir .. "/out")
    assert.matches('"crls_published":4', report, 1, true)
    local ders = h.sh("ls " .. h.q(out) .. " | grep -c '\\.der$'")
    assert.equal(4, tonumber(ders))
    -- the published PEM is the served DER
    local pem = h.sh("ls " .. h.q(out) .. "/*.pem | head -1"):gsub("\n", "")
    local der = h.sh("openssl crl -in " .. h.q(pem) .. " -outform DER | sha256sum"):match("%x+")
    local any = false
    for i = 1, 4 do
      if h.sh("sha256sum " .. h.q(("%s/www/%d.crl"):format(dir, i))):match("%x+") == der then any = true end
    end
    assert.is_true(any, "the published PEM is one of the served CRLs")
  end)

  it("crl diff of two 40 MB CRLs stays under 40 MB and finds what changed", function()
    local mb = peak(("crl diff %s %s"):format(h.q(dir .. "/www/1.crl"), h.q(dir .. "/new1.crl")))
    under(mb, 40, "crl diff")
    local text = h.read(dir .. "/out")
    local added, removed = text:match("added (%d+), removed (%d+)")
    assert.equal(1000, tonumber(added))
    -- every 50th of the old entries is gone: count them with openssl
    local old = tonumber(h.sh("openssl crl -inform DER -in " .. h.q(dir .. "/www/1.crl") .. " -noout -text | grep -c 'Serial Number:'"))
    assert.equal(old // 50, tonumber(removed))
    local plus = tonumber(h.sh("grep -c '^+ ' " .. h.q(dir .. "/out")))
    assert.equal(1000, plus)
  end)

  -- the same CRL in the other forms a distribution point serves and a folder holds: PEM (by
  -- the openssl CLI; decoded to a temporary file a piece at a time, then scanned), gzip (by
  -- the gzip tool, a .crl.gz without Content-Encoding; inflated from the file to a temporary
  -- file in pieces, then scanned), gzip of several members (`cat a.gz b.gz`: one stream, as
  -- gzip -d makes it; here the CRL cut in two) and gzipped PEM (`gzip crl.pem`: the PEM decoded
  -- as it inflates): never decoded in memory. dec: how openssl reads the form (the cross-check; SERVED
  -- the file, TMP one of the test's).
  -- openssl_serials() -> the sha256sum line of the serial lines openssl prints of 1.crl (once)
  local serials_line
  local function openssl_serials()
    serials_line = serials_line or h.sh(("openssl crl -inform DER -in %s -noout -text | grep -o 'Serial Number: [0-9A-F]*' | sha256sum")
      :format(h.q(dir .. "/www/1.crl")))
    return serials_line
  end
  local function two_members(src, dst)
    return ("head -c 20000000 %s | gzip -c > %s && tail -c +20000001 %s | gzip -c >> %s"):format(src, dst, src, dst)
  end
  for _, form in ipairs {
    { name = "PEM", file = "p1.pem", make = "openssl crl -inform DER -in %s -outform PEM -out %s",
      dec = "openssl crl -in SERVED" },
    { name = "gzip", file = "g1.crl.gz", make = "gzip -c %s > %s", dec = "gzip -dc SERVED | openssl crl -inform DER" },
    { name = "gzip of two members", file = "m1.crl.gz", make = two_members,
      dec = "gzip -dc SERVED | openssl crl -inform DER" },
    -- (inflated to a file first: openssl 3 reading a big PEM from a pipe took minutes of CPU)
    { name = "gzipped PEM", file = "p1.pem.gz", make = "openssl crl -inform DER -in %s | gzip -c > %s",
      dec = "gzip -dc SERVED > TMP && openssl crl -in TMP" },
  } do
    it(("a 40 MB CRL served or stored as %s: fetch, mirror, info, diff and show under the DER bounds"):format(form.name), function()
      local served = dir .. "/www/" .. form.file
      local src = h.q(dir .. "/www/1.crl")
      h.sh(type(form.make) == "function" and form.make(src, h.q(served)) or form.make:format(src, h.q(served)))
      -- openssl reads the form as the CRL served as DER
      local ossl = h.sh(("openssl crl -inform DER -in %s -noout -fingerprint -sha256"):format(src))
      local dec = form.dec:gsub("SERVED", h.q(served)):gsub("TMP", h.q(dir .. "/dec.pem"))
      assert.equal(ossl, h.sh(dec .. " -noout -fingerprint -sha256"))
      -- a server of its own: the one of setup lives 900 s, less than the whole file takes on a
      -- busy machine
      local fsrv = F.server(dir .. "/www")
      finally(function() servers.stop(fsrv) end)
      local url = fsrv.url .. "/f/" .. form.file
      local out = dir .. "/fetched-" .. form.name
      local mb = peak(("--json crl fetch --ca %s --out-dir %s --format der %s"):format(h.q(bundle), h.q(out), h.q(url)))
      under(mb, 60, "crl fetch of a " .. form.name .. " CRL")
      assert.is_true(F.json(h.read(dir .. "/out")).ok)
      local name = h.sh("ls " .. h.q(out)):gsub("\n", "")
      assert.is_true(same_file(out .. "/" .. name, dir .. "/www/1.crl"), "the DER written is the served CRL's")
      -- nothing left behind in the output folder: the temporary files had no name
      assert.equal(name, h.sh("ls -A " .. h.q(out)):gsub("\n", ""))
      assert.matches("verify OK", h.sh(("openssl crl -inform DER -in %s -noout -CAfile %s 2>&1"):format(
        h.q(out .. "/" .. name), h.q(bundle))), 1, true)
      local conf = dir .. "/mirror-" .. form.name .. ".conf.lua"
      h.write(conf, "return { ca = { '" .. bundle .. "' }, sources = { '" .. url .. "' } }")
      local mout = dir .. "/mirror-" .. form.name
      mb = peak(("--json crl mirror --once --config %s --out-dir %s"):format(h.q(conf), h.q(mout)))
      under(mb, 60, "the mirror of a " .. form.name .. " source")
      assert.matches('"crls_published":1', h.read(dir .. "/out"), 1, true)
      assert.equal("", h.sh("ls -A " .. h.q(mout .. "/.certbench-mirror/tmp")):gsub("\n", ""))
      local der = h.sh("ls " .. h.q(mout) .. "/*.der | head -1"):gsub("\n", "")
      assert.is_true(same_file(der, dir .. "/www/1.crl"), "the mirror publishes the served CRL's DER")
      mb = peak(("crl info --ca %s %s"):format(h.q(dir .. "/ca1/ca.pem"), h.q(served)))
      under(mb, 40, "crl info of a " .. form.name .. " CRL")
      assert.matches("verifies:     yes", h.read(dir .. "/out"), 1, true)
      mb = peak(("crl diff %s %s"):format(h.q(served), h.q(dir .. "/new1.crl")))
      under(mb, 40, "crl diff of a " .. form.name .. " CRL")
      assert.matches("added 1000, removed", h.read(dir .. "/out"), 1, true)
      -- show, then show --entries: scanned, their lines those openssl prints of the form
      mb = peak(("show %s"):format(h.q(served)))
      under(mb, 40, "show of a " .. form.name .. " CRL")
      local count = tonumber(h.read(dir .. "/out"):match("Revoked Certificates: (%d+)"))
      mb = peak(("show --entries %s"):format(h.q(served)))
      under(mb, 40, "show --entries of a " .. form.name .. " CRL")
      -- the serials in openssl's order and spelling (its -text of the CRL, which openssl reads
      -- from this form as the same CRL: the fingerprint above)
      local ours = h.sh("grep -o 'Serial Number: [0-9A-F]*' " .. h.q(dir .. "/out") .. " | sha256sum")
      assert.equal(openssl_serials(), ours)
      assert.equal(count, tonumber(h.sh(("grep -c '^    Serial Number: ' %s"):format(h.q(dir .. "/out")))))
    end)
  end

  it("a gzip bomb named .crl.gz: info, fetch and show refuse it in one line naming it, in bounded memory", function()
    -- 300 MB of zeros, about 300 kB gzipped: past the ratio of the scan's limits (crl.GZIP_SCAN)
    local bomb = dir .. "/www/bomb.crl.gz"
    h.sh("head -c 300000000 /dev/zero | gzip -c > " .. h.q(bomb))
    local bsrv = F.server(dir .. "/www")
    finally(function() servers.stop(bsrv) end)
    -- where the line is: stderr, or for crl fetch, which reports each URL on stdout, "FAILED: URL: ..."
    for _, run in ipairs {
      { ("crl info %s"):format(h.q(bomb)), "err" },
      { ("show %s"):format(h.q(bomb)), "err" },
      { ("crl fetch --out-dir %s %s"):format(h.q(dir .. "/bomb-out"), h.q(bsrv.url .. "/f/bomb.crl.gz")), "out" },
    } do
      local args = run[1]
      local out = h.run(("/usr/bin/time -f 'RSS=%%M' %s %s > %s 2> %s; echo rc=$?"):format(h.q(h.bin), args,
        h.q(dir .. "/out"), h.q(dir .. "/err")))
      assert.equal("rc=1", out:match("rc=%d+"), args)
      local err = h.read(dir .. "/err")
      local rss = tonumber(err:match("RSS=(%d+)")) / 1024
      -- certbench's lines, without those of /usr/bin/time
      local lines = {}
      local text = run[2] == "err" and err or h.read(dir .. "/out")
      for l in text:gmatch("[^\n]+") do
        if not l:match("^RSS=%d+$") and not l:match("^Command exited with non%-zero status") then lines[#lines + 1] = l end
      end
      assert.equal(1, #lines, args .. ":\n" .. text)
      assert.matches("bomb.crl", lines[1], 1, true)
      assert.matches("max_ratio", lines[1], 1, true)
      under(rss, 40, args)
    end
  end)

  it("crl info --ca verifies a 40 MB CRL in under 40 MB", function()
    local mb = peak(("crl info --ca %s %s"):format(h.q(dir .. "/ca1/ca.pem"), h.q(dir .. "/www/1.crl")))
    under(mb, 40, "crl info")
    assert.matches("verifies:     yes", h.read(dir .. "/out"), 1, true)
  end)
end)
