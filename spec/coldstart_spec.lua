-- Cold start (issue 17): the Lua code is embedded as bytecode (core/lib/bytecode.h) but the sources
-- stay the truth, and a command loads only the modules it uses.
local h = require "support.helper"

-- modules(args) -> sorted list of the modules `certbench ARGS` loads, counted in a stock lua5.4
-- that loads build/certbench.so and runs the same command line through certbench.cli; and the
-- plugin files it loads (a plugin's init.lua is loaded by core/plugins.lua, not by require, so
-- package.loaded does not show it: info.loadfile is watched for them)
local function modules(dir, args)
  local script = ([[
package.cpath = %q .. "/build/?.so;" .. package.cpath
local before = {}
for k in pairs(package.loaded) do before[k] = true end
require "certbench"
local info = require "_certbench.info"
local loadfile, files = info.loadfile, {}
info.loadfile = function(f, ...) files[#files + 1] = f:match("plugins/.*$") or f return loadfile(f, ...) end
local argv = { [0] = "certbench" }
for i = 1, #arg do argv[i] = arg[i] end
local rc = require("certbench.cli").main(argv)
local list = {}
for k in pairs(package.loaded) do if not before[k] then list[#list + 1] = k end end
table.sort(list)
io.stderr:write("MODULES ", table.concat(list, " "), "\n")
io.stderr:write("FILES ", table.concat(files, " "), "\n")
os.exit(rc)
]]):format(h.root)
  local f = dir .. "/count.lua"
  h.write(f, script)
  local out, rc = h.run(("cd %s && lua5.4 %s %s"):format(h.q(dir), h.q(f), args))
  assert(rc == 0, out)
  local list, files = {}, {}
  for m in out:match("MODULES ([^\n]*)"):gmatch("%S+") do list[#list + 1] = m end
  for m in out:match("FILES ([^\n]*)"):gmatch("%S+") do files[#files + 1] = m end
  return list, files
end

local function has(list, pattern)
  for _, m in ipairs(list) do if m:find(pattern) then return m end end
  return nil
end

describe("cold start", function()
  local dir
  setup(function()
    dir = h.tmpdir()
    local out, rc = h.openssl(("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=cold.example.com "
      .. "-keyout %s/k.pem -out %s/r.csr"):format(dir, dir))
    assert(rc == 0, out)
    out, rc = h.certbench(("ca init %s/ca --subject /CN=ColdCA --key ec:P-256 --no-encrypt"):format(h.q(dir)))
    assert(rc == 0, out)
  end)

  it("version loads a handful of modules: no plugin, no argparse, no crypto module, no cjson", function()
    local list = modules(dir, "version")
    assert.is_true(#list <= 8, #list .. " modules: " .. table.concat(list, " "))
    for _, p in ipairs { "^argparse$", "^cjson$", "plugins", "x509", "pkey", "http", "archive" } do
      assert.is_nil(has(list, p), table.concat(list, " "))
    end
    assert.is_truthy(has(list, "^certbench%.cli$"))   -- the count saw the command run
  end)

  it("ca issue loads the ca plugin's modules and the crypto it signs with, nothing of other plugins", function()
    local list, files = modules(dir, "ca issue ca --csr r.csr --out leaf.pem")
    assert.is_truthy(h.read(dir .. "/leaf.pem"):find("BEGIN CERTIFICATE", 1, true))
    assert.is_truthy(has(list, "^certbench%.plugins%.ca%.authority$"))
    assert.is_truthy(has(list, "^certbench%.plugins%.ca%.issue$"))
    -- the CA's other operations are in files of their own, not compiled for an issuance
    for _, p in ipairs { "ca%.revoke$", "ca%.gencrl$", "ca%.renew$", "ca%.create$", "ca%.adopt$" } do
      assert.is_nil(has(list, p), table.concat(list, " "))
    end
    assert.is_truthy(has(list, "^certbench%.x509$"))
    -- the request is read through certbench.input (a file, - or a URL, any form): a plain PEM
    -- file needs its detect module, not certbench.archive; never libzip, libarchive or libcurl
    -- (opened on first use). 33 on 2026-12-06: issue.lua split from authority.lua (+1), the
    -- words parsed by certbench.argscan instead of argparse (+1 -1); 32 before (33 with archive;
    -- the plugin table of every plugin was loaded too, for the help's list of profiles)
    assert.is_true(#list <= 33, #list .. " modules: " .. table.concat(list, " "))
    -- argparse only for help, completion and a line argscan leaves to it (an error, `--`...)
    for _, p in ipairs { "plugins%.crl", "plugins%.vcs", "plugins%.pfx", "http", "ocsp", "tls",
                         "pkcs12", "store", "^cjson$", "^certbench%.archive$", "^argparse$" } do
      assert.is_nil(has(list, p), table.concat(list, " "))
    end
    -- and of the plugins, only ca's own init.lua is loaded
    assert.equal("plugins/ca/init.lua", files[1])
    for _, f in ipairs(files) do assert.matches("^plugins/ca/", f) end
  end)

  it("the CA object finds every method of its operation files (authority.lua loads them on first use)", function()
    local authority = require "certbench.plugins.ca.authority"
    local files = {}
    for name, file in pairs(authority._method_file) do files[file] = true end
    for _, file in ipairs { "issue", "revoke", "gencrl", "renew" } do
      assert.is_true(files[file], file)
      for name, fn in pairs(require("certbench.plugins.ca." .. file)) do
        assert.equal("function", type(fn), file .. "." .. name)
        assert.equal(file, authority._method_file[name], file .. "." .. name .. " is not in authority's METHOD_FILE")
      end
    end
  end)

  it("a plain PEM or DER input is read without certbench.archive, to the same result", function()
    local input = require "certbench.input"
    local pem = h.read(dir .. "/r.csr")
    local der = assert(input.bytes(pem, "r.csr")).objects[1].der
    for _, data in ipairs { pem, der, "junk that is neither" } do
      -- limits given take the path through certbench.archive, the one every input took before
      local fast = assert(input.bytes(data, "r.csr"))
      local full = assert(input.bytes(data, "r.csr", { limits = {} }))
      assert.same(full, fast)
    end
    local fast = assert(input.bytes(pem, "r.csr"))
    assert.equal("csr", fast.objects[1].kind)
  end)

  it("runs from the embedded bytecode when the sources are gone", function()
    local empty = dir .. "/nosrc"
    h.sh("mkdir -p " .. h.q(empty))
    local env = "CERTBENCH_HOME=" .. h.q(empty) .. " "
    local out, rc = h.run(env .. h.q(h.bin) .. " version")
    assert.equal(0, rc, out)
    assert.matches("BoringSSL", out)
    out, rc = h.run(env .. h.q(h.bin) .. " plugins")
    assert.equal(0, rc, out)
    for _, p in ipairs { "ca", "crl", "pfx", "show", "vcs" } do assert.matches("\n?" .. p .. " ", out) end
    out, rc = h.run(("cd %s && %s%s ca issue ca --csr r.csr --out leaf2.pem"):format(h.q(dir), env, h.q(h.bin)))
    assert.equal(0, rc, out)
    local v, vrc = h.openssl(("verify -CAfile %s/ca/cacert.pem %s/leaf2.pem"):format(dir, dir))
    assert.equal(0, vrc, v)
  end)

  it("never runs stale bytecode: an edited source, even of the same size, is loaded instead", function()
    local home = dir .. "/tree"
    -- cp -a keeps the modification times: an untouched copy matches the embedded stamps
    h.sh(("mkdir -p %s && cp -a %s/core %s/plugins %s/"):format(h.q(home), h.q(h.root), h.q(h.root), h.q(home)))
    local env = "CERTBENCH_HOME=" .. h.q(home) .. " "
    local out = h.sh(env .. h.q(h.bin) .. " version")
    assert.matches("\nLua       ", out)
    -- same size, new contents: the core module
    h.sh(("sed -i 's/Lua       %%s/Lux       %%s/' %s/core/lib/cli.lua"):format(h.q(home)))
    out = h.sh(env .. h.q(h.bin) .. " version")
    assert.matches("\nLux       Lua 5%.4", out)
    -- a built-in plugin's file
    h.sh(("sed -i 's/summary = \"VCS\\/SIP server certificates/summary = \"EDITED server certificates/' %s/plugins/vcs/init.lua")
      :format(h.q(home)))
    out = h.sh(env .. h.q(h.bin) .. " help")
    assert.matches("EDITED server certificates", out)
  end)
end)
