-- tests/interop/site_plugin_spec.lua: the example site plugin tests/site-plugins/acme, which extends the
-- built-in ca (a command and a profile), lists CRL sources and hooks every event, run from the
-- command line and from a script; what it issues openssl verifies, and a failing hook leaves the
-- operation done. The mirror's hooks run against a CRL served by a loopback HTTP server.
local h = require "support.helper"
local servers = require "support.servers"
local cjson = require "cjson"

local site = h.root .. "/tests/site-plugins"

local function cb(args, env)
  return h.run3(("CERTBENCH_PLUGINS=%s %s %s %s"):format(h.q(site), env or "", h.q(h.bin), args))
end

local function events(path)
  local out = {}
  local f = io.open(path)
  if not f then return out end
  for line in f:lines() do out[#out + 1] = cjson.decode(line) end
  f:close()
  return out
end

local function request(dir, cn)
  local out, rc = h.openssl(("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=%s "
    .. "-keyout %s/%s.key -out %s/%s.csr"):format(cn, dir, cn, dir, cn))
  assert(rc == 0, out)
  return dir .. "/" .. cn .. ".csr"
end

describe("the acme site plugin (extends ca, profiles, crl_sources, hooks)", function()
  local d, ca, log
  before_each(function()
    d = h.tmpdir()
    ca, log = d .. "/ca", d .. "/events.jsonl"
    local _, err, rc = cb("ca init " .. h.q(ca) .. " --subject /CN=Acme-Root --no-encrypt")
    assert.equal(0, rc, err)
  end)

  it("adds a command under ca without replacing ca's own", function()
    local out, err, rc = cb("help ca")
    assert.equal(0, rc, err)
    assert.matches("inventory", out, 1, true)
    for _, c in ipairs { "init", "issue", "revoke", "gencrl", "list", "status", "renew" } do
      assert.matches("\n  " .. c .. " ", out, 1, true)
    end
    _, err, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(request(d, "a")))
    assert.equal(0, rc, err)
    out, err, rc = cb("ca inventory " .. h.q(ca) .. " --json")
    assert.equal(0, rc, err)
    local doc = cjson.decode(out)
    assert.equal(1, #doc.certificates)
    assert.equal("/CN=a", doc.certificates[1].subject)
    out, err, rc = cb("ca list " .. h.q(ca))
    assert.equal(0, rc, err)
    assert.matches("  CN = a\n", out, 1, true)
  end)

  it("issues with its profile, runs ca.issued, ca.revoked and crl.published, openssl agrees", function()
    local out, err, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(request(d, "srv")) ..
      " --profile acme-server --out " .. h.q(d .. "/srv.pem") .. " --json", "ACME_LOG=" .. h.q(log))
    assert.equal(0, rc, err)
    local issued = cjson.decode(out)
    local text = h.openssl("x509 -in " .. h.q(d .. "/srv.pem") .. " -noout -text")
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    local v = h.openssl(("verify -CAfile %s %s"):format(h.q(ca .. "/cacert.pem"), h.q(d .. "/srv.pem")))
    assert.matches(": OK", v, 1, true)
    _, err, rc = cb("ca revoke " .. h.q(ca) .. " --serial " .. issued.serial .. " --reason keyCompromise", "ACME_LOG=" .. h.q(log))
    assert.equal(0, rc, err)
    _, err, rc = cb("ca gencrl " .. h.q(ca) .. " --out " .. h.q(d .. "/ca.crl"), "ACME_LOG=" .. h.q(log))
    assert.equal(0, rc, err)
    local ev = events(log)
    assert.equal(3, #ev)
    assert.equal("ca.issued", ev[1].event)
    assert.equal(issued.serial, ev[1].serial)
    assert.equal("acme-server", ev[1].profile)
    assert.equal(h.read(d .. "/srv.pem"), ev[1].pem)
    assert.equal("ca.revoked", ev[2].event)
    assert.equal(issued.serial, ev[2].serial)
    assert.equal("keyCompromise", ev[2].reason)
    assert.equal("crl.published", ev[3].event)
    -- the CRL the hook was told about is in place, and openssl sees the revocation in it
    local crl = h.openssl("crl -in " .. h.q(ev[3].file) .. " -noout -text")
    assert.matches("Serial Number: " .. issued.serial, crl, 1, true)
    v = h.openssl(("verify -crl_check -CAfile %s -CRLfile %s %s"):format(h.q(ca .. "/cacert.pem"),
      h.q(ev[3].file), h.q(d .. "/srv.pem")))
    assert.matches("certificate revoked", v, 1, true)
  end)

  it("a failing hook is reported by plugin name and the certificate stays issued", function()
    local out, err, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(request(d, "b")) ..
      " --out " .. h.q(d .. "/b.pem") .. " --json", "ACME_HOOK_FAIL=1")
    assert.equal(0, rc, err)
    assert.matches("plugin 'acme': hook ca.issued failed", err, 1, true)
    assert.matches("acme inventory is down", err, 1, true)
    local serial = cjson.decode(out).serial
    local index = h.read(ca .. "/index.txt")
    assert.matches("^V\t[^\n]*\t" .. serial .. "\tunknown\t/CN=b\n$", index)
    local v = h.openssl(("verify -CAfile %s %s"):format(h.q(ca .. "/cacert.pem"), h.q(d .. "/b.pem")))
    assert.matches(": OK", v, 1, true)
    -- and the CA goes on: the next issue takes the next serial
    _, err, rc = cb("ca issue " .. h.q(ca) .. " --csr " .. h.q(request(d, "c")))
    assert.equal(0, rc, err)
  end)

  it("works from a script: the command, the profile and the hook", function()
    h.write(d .. "/s.lua", [[
local ca_plugin = require "certbench.plugins.ca"
assert(ca_plugin.commands.inventory, "ca has the inventory command")
local ca = assert(ca_plugin.open(arg[1]))
local cert, details = assert(ca:issue { csr = io.open(arg[2]):read("a"), profile = "acme-server" })
ca:close()
local inv = assert(ca_plugin.commands.inventory.run({ dir = arg[1] }, {}))
print(details.serial, #inv.certificates, table.concat(cert:eku(), ","))
]])
    local out, err, rc = cb("run " .. h.q(d .. "/s.lua") .. " " .. h.q(ca) .. " " .. h.q(request(d, "s")),
      "ACME_LOG=" .. h.q(log))
    assert.equal(0, rc, err)
    local serial, n, eku = out:match("^(%x+)\t(%d+)\t(%S+)\n$")
    assert.equal("1", n)
    assert.equal("serverAuth,clientAuth", eku)
    local ev = events(log)
    assert.equal(1, #ev)
    assert.equal(serial, ev[1].serial)
  end)

  it("its crl_sources are merged with every other plugin's", function()
    local other = h.tmpdir()
    os.execute("mkdir -p " .. h.q(other .. "/more"))
    h.write(other .. "/more/init.lua", [[return { summary = "more sources", crl_sources = {
      "http://127.0.0.1:9/more.crl" } }]])
    h.write(d .. "/s.lua", [[
local mirror = require "certbench.plugins.crl.mirror"
local cfg = assert(mirror.configure { plugin_sources = true, out_dir = arg[1], ca = { arg[2] } })
for _, s in ipairs(cfg.sources) do print(s.url) end
]])
    local out, err, rc = h.run3(("CERTBENCH_PLUGINS=%s %s run %s %s %s"):format(h.q(other .. ":" .. site),
      h.q(h.bin), h.q(d .. "/s.lua"), h.q(d .. "/m"), h.q(ca .. "/cacert.pem")))
    assert.equal(0, rc, err)
    assert.equal("http://127.0.0.1:9/acme-root.crl\nhttp://127.0.0.1:9/acme-issuing.crl\n"
      .. "http://127.0.0.1:9/more.crl\n", out)
  end)

  it("hears crl.published and crl.mirror_done from a mirror run, after its files are in place", function()
    local www = h.tmpdir()
    local rca = servers.make_ca(www, "MirrorRoot")
    local der = servers.make_crl(www, rca)
    os.execute(("cp %s %s"):format(h.q(der), h.q(www .. "/root.crl")))
    local srv = servers.http(www)
    local url = ("http://127.0.0.1:%d/root.crl"):format(srv.port)
    local _, err, rc = cb(("crl mirror --source %s --out-dir %s --ca %s --once"):format(url,
      h.q(d .. "/mirror"), h.q(rca.cert)), "ACME_LOG=" .. h.q(log))
    servers.stop(srv)
    assert.equal(0, rc, err)
    local ev = events(log)
    assert.equal(2, #ev)
    assert.equal("crl.published", ev[1].event)
    assert.equal(url, ev[1].url)
    assert.equal("crl.mirror_done", ev[2].event)
    assert.is_true(ev[2].ok)
    assert.equal(1, ev[2].crls_published)
    -- what the hook was told is there: openssl reads the published CRL
    local pem = (h.run("ls " .. h.q(d .. "/mirror") .. "/*.pem")):match("[^\n]+")
    local text = h.openssl("crl -in " .. h.q(pem) .. " -noout -issuer")
    assert.matches("MirrorRoot", text, 1, true)
  end)
end)
