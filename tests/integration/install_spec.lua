-- `ninja install` (tools/install): the installed program works from any folder with the source
-- and build tree it came from gone. A copy of this tree (with its build, modification times
-- kept so ninja has nothing to rebuild) is installed under a temporary DESTDIR and PREFIX, the
-- copy is removed, and the installed program runs: version, ca init/issue (checked by openssl),
-- crl mirror from a 127.0.0.1 server, a site plugin, and the module in a stock lua5.4.
local h = require "support.helper"
local servers = require "support.servers"

describe("ninja install", function()
  local dir, D, PREFIX, bin, env
  setup(function()
    dir = h.tmpdir()
    local tree = dir .. "/tree"
    PREFIX = "/opt/certbench-test"
    D = dir .. "/dest" .. PREFIX
    h.sh(("mkdir -p %s && cd %s && cp -a build.ninja core plugins scripts third_party tools %s/ "
      .. "&& mkdir -p %s/build && cp -a build/certbench build/certbench.so build/luapack build/gen build/obj "
      .. "build/libcertbench.a build/.deps-*.stamp %s/build/ && cp -a .ninja_log .ninja_deps %s/ 2>/dev/null; true")
      :format(h.q(tree), h.q(h.root), h.q(tree), h.q(tree), h.q(tree), h.q(tree)))
    local out, rc = h.run(("cd %s && PREFIX=%s DESTDIR=%s ninja install"):format(h.q(tree), h.q(PREFIX), h.q(dir .. "/dest")))
    assert(rc == 0, out)
    -- the tree it came from is gone
    h.sh("rm -rf " .. h.q(tree))
    bin = D .. "/bin/certbench"
    -- a clean environment: nothing points back at the source tree
    env = ("cd %s && env -u CERTBENCH_HOME -u CERTBENCH_SRC -u CERTBENCH_PLUGINS HOME=%s PATH=%s:/usr/bin:/bin ")
      :format(h.q(dir), h.q(dir), h.q(D .. "/bin"))
  end)

  local function run(args, extra)
    return h.run(env .. (extra or "") .. " certbench " .. args)
  end

  it("installs the program, the module, man page, completion and systemd units", function()
    for _, f in ipairs { "/bin/certbench", "/lib/lua/5.4/certbench.so", "/share/man/man1/certbench.1",
                         "/share/bash-completion/completions/certbench",
                         "/lib/systemd/system/certbench-crl-mirror.service",
                         "/lib/systemd/system/certbench-crl-mirror.timer",
                         "/share/certbench/scripts/demo.lua" } do
      assert.is_truthy(h.run("test -s " .. h.q(D .. f) .. " && echo yes"):find("yes"), f)
    end
    assert.matches("^%.TH CERTBENCH 1", h.read(D .. "/share/man/man1/certbench.1"))
    assert.matches("complete ", h.read(D .. "/share/bash-completion/completions/certbench"))
    local unit = h.read(D .. "/lib/systemd/system/certbench-crl-mirror.service")
    assert.matches("ExecStart=" .. PREFIX:gsub("%-", "%%-") .. "/bin/certbench crl mirror", unit)
    assert.equal("755", h.mode(D .. "/bin/certbench"))
  end)

  it("runs version and finds its built-in plugins with the source tree gone", function()
    local out, rc = run("version")
    assert.equal(0, rc, out)
    assert.matches("BoringSSL", out)
    out, rc = run("plugins")
    assert.equal(0, rc, out)
    for _, p in ipairs { "ca", "convert", "crl", "ocsp", "pfx", "show", "vcs" } do
      assert.matches("\n?" .. p .. " +1%.0", out)
    end
    assert.not_matches(h.root, out, 1, true)
  end)

  it("ca init and ca issue: openssl verifies the certificate", function()
    local out, rc = run("ca init ca --subject /CN=Installed-CA --key ec:P-256 --no-encrypt")
    assert.equal(0, rc, out)
    out, rc = h.openssl(("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=inst.example.com "
      .. "-keyout %s/leaf.key -out %s/leaf.csr"):format(dir, dir))
    assert.equal(0, rc, out)
    out, rc = run("ca issue ca --csr leaf.csr --out leaf.pem")
    assert.equal(0, rc, out)
    out, rc = h.openssl(("verify -CAfile %s/ca/cacert.pem %s/leaf.pem"):format(dir, dir))
    assert.equal(0, rc, out)
  end)

  it("crl mirror from a 127.0.0.1 server", function()
    local ca = servers.make_ca(dir, "Installed CRL CA")
    local crl = servers.make_crl(dir, ca)
    local www = dir .. "/www"
    h.sh(("mkdir -p %s && cp %s %s/ca.crl"):format(h.q(www), h.q(crl), h.q(www)))
    local srv = servers.http(www)
    local out, rc = run(("crl mirror --source http://127.0.0.1:%d/ca.crl --out-dir mirror --ca %s")
      :format(srv.port, h.q(ca.cert)))
    servers.stop(srv)
    assert.equal(0, rc, out)
    local files = h.sh("ls " .. h.q(dir .. "/mirror"))
    local der = files:match("(%S+%.der)")
    assert.is_truthy(der, files)
    out, rc = h.openssl(("crl -inform DER -in %s/mirror/%s -noout -issuer"):format(dir, der))
    assert.equal(0, rc, out)
    assert.matches("Installed CRL CA", out)
  end)

  it("a site plugin, from source", function()
    local plug = dir .. "/site"
    h.sh(("mkdir -p %s && cp -a %s/tests/site-plugins/hello %s/"):format(h.q(plug), h.q(h.root), h.q(plug)))
    local out, rc = run("hello greet installed --shout", "CERTBENCH_PLUGINS=" .. h.q(plug))
    assert.equal(0, rc, out)
    assert.matches("HELLO, INSTALLED", out)
  end)

  it("the module in a stock lua5.4, from the installed path", function()
    local out, rc = h.run(("cd %s && env -u CERTBENCH_HOME LUA_CPATH=%s lua5.4 -e %s"):format(h.q(dir),
      h.q(D .. "/lib/lua/5.4/?.so;;"), h.q([[
local cb = require "certbench"
local x509 = require "certbench.x509"
local ca = require "certbench.plugins.ca"
print(cb.version, type(x509.load), type(ca.open), cb.root)]])))
    assert.equal(0, rc, out)
    assert.matches("^%S+\tfunction\tfunction\t" .. (D .. "/share/certbench"):gsub("%p", "%%%0"), out)
  end)
end)
