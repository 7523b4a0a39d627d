-- mirror.configure (crl/mirror_config.lua): the one place where a mirror's configuration is
-- assembled from a config file, options and the environment, for `crl mirror` and for scripts
-- alike; every key it does not know, at any level, is an error naming it.
local h = require "support.helper"
local mirror = require "certbench.plugins.crl.mirror"

describe("mirror.configure", function()
  local dir
  setup(function() dir = h.tmpdir() end)

  it("refuses an unknown key of a config file, of a source in it, and of the options, naming it", function()
    h.write(dir .. "/bad.lua", 'return { out_dir = "m", ca = "ca.pem", sources = { "http://127.0.0.1:9/a" }, daily = "03:00" }')
    local cfg, err, code = mirror.configure { config = dir .. "/bad.lua" }
    assert.is_nil(cfg)
    assert.equal("mirror: configuration: unknown key 'daily'", err)
    assert.equal(2, code)
    h.write(dir .. "/badsrc.lua", 'return { out_dir = "m", ca = "ca.pem", sources = { { url = "http://127.0.0.1:9/a", timout = 5 } } }')
    cfg, err, code = mirror.configure { config = dir .. "/badsrc.lua" }
    assert.is_nil(cfg)
    assert.equal("mirror: sources[1]: unknown key 'timout'", err)
    assert.equal(2, code)
    cfg, err, code = mirror.configure { config = dir .. "/bad.lua", once = true, _dir = "/" }
    assert.is_nil(cfg)
    assert.equal("mirror: options: unknown keys '_dir', 'once'", err)
    assert.equal(2, code)
    assert.has_error(function() mirror.configure("x") end)
  end)

  it("merges file, options and command-line counts, and checks each value once", function()
    h.write(dir .. "/m.lua", 'return { out_dir = "out", ca = { "ca.pem" }, sources = { "http://127.0.0.1:9/a" }, concurrency = 3, grace = "1h" }')
    local cfg = assert(mirror.configure { config = dir .. "/m.lua", cwd = "/srv", sources = { "http://127.0.0.1:9/b" },
      concurrency = "5", max_size = "1000", metrics = "m.prom", publish_cas = false })
    -- paths in the file from the file's folder, on the command line from cwd
    assert.equal(dir .. "/out", cfg.out_dir)
    assert.same({ dir .. "/ca.pem" }, cfg.ca)
    assert.equal("/srv/m.prom", cfg.metrics)
    assert.equal(5, cfg.concurrency)
    assert.equal(1000, cfg.max_size)
    assert.equal(3600, cfg.grace)
    assert.is_false(cfg.publish_cas)
    assert.same({ "http://127.0.0.1:9/a", "http://127.0.0.1:9/b" }, { cfg.sources[1].url, cfg.sources[2].url })
    -- the count as text is checked by mirror.config, with the message the command line prints
    for _, bad in ipairs { "abc", "0", "2.5" } do
      local c, err, code = mirror.configure { config = dir .. "/m.lua", concurrency = bad }
      assert.is_nil(c, bad)
      assert.equal("mirror: concurrency must be an integer from 1 to 1024", err)
      assert.equal(2, code)
      local _, stderr, rc = h.run3(h.q(h.bin) .. " crl mirror --config " .. h.q(dir .. "/m.lua") .. " --concurrency " .. bad)
      assert.equal(2, rc)
      assert.matches("crl mirror: concurrency must be an integer from 1 to 1024", stderr, 1, true)
    end
    local _, err = mirror.configure { config = dir .. "/m.lua", max_size = "lots" }
    assert.equal("mirror: max_size must be a positive integer", err)
  end)

  it("gives a script the environment's schedule, as `crl mirror` gets it", function()
    h.write(dir .. "/m2.lua", 'return { out_dir = "out", ca = { "ca.pem" }, sources = { "http://127.0.0.1:9/a" } }')
    h.write(dir .. "/show.lua", [[
local mirror = require "certbench.plugins.crl.mirror"
local cfg, daily = assert(mirror.configure { config = arg[1] })
print(cfg.concurrency, daily.interval, daily.max_runs)
]])
    local out, rc = h.run("CERTBENCH_CRL_MIRROR_INTERVAL=7 CERTBENCH_CRL_MIRROR_MAX_RUNS=2 " .. h.q(h.bin) .. " run "
      .. h.q(dir .. "/show.lua") .. " " .. h.q(dir .. "/m2.lua"))
    assert.equal(0, rc, out)
    assert.equal("8\t7\t2", out:match("[^\n]+"))
  end)

  it("reads an IGTF trust folder given as igtf_dir, and names it when it cannot", function()
    local cfg, err, code = mirror.configure { igtf_dir = dir .. "/no-such-folder", out_dir = dir .. "/o" }
    assert.is_nil(cfg)
    assert.matches("^mirror: igtf_dir: ", err)
    assert.matches("no-such-folder", err, 1, true)
    assert.is_nil(code)
  end)
end)
