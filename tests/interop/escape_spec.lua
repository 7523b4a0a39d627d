-- tests/interop/escape_spec.lua: what certificates and peers say reaches the terminal escaped (one
-- function, ui.escape) and --json exact (issue 16, case 8): a self-signed TLS peer (openssl
-- s_server) whose CN holds newlines and ESC[8m, the same certificate in `vcs check`, and a PFX
-- whose friendlyName (set by openssl pkcs12 -name) holds a newline and an escape.
local h = require "support.helper"
local servers = require "support.servers"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local cjson = require "cjson"

local dir = h.tmpdir()
local EVIL = "evil.example.com\nPASS  trusted by the CA file (forged line)\27[8m"

local key = pkey.generate { type = "ec", curve = "P-256" }
local cert = assert(x509.new { subject = { { "CN", EVIL } }, issuer_key = key, public_key = key, days = 10,
                               not_before = os.time() - 60, san = { "DNS:evil.example.com" } })
h.write(dir .. "/evil.pem", cert:to_pem())
assert(fs.write(dir .. "/evil.key", key:to_pem(), { mode = 384 }))

local function no_raw_controls(out)
  assert.is_nil(out:find("\27", 1, true), "an ESC byte reached the terminal")
  for line in out:gmatch("[^\n]*") do
    assert.is_nil(line:find("forged line", 1, true) and not line:find("\\0A", 1, true) and line or nil,
      "a line was injected: " .. line)
  end
end

describe("terminal escapes", function()
  it("ui.escape escapes C0, DEL and UTF-8 C1 controls, and nothing else", function()
    assert.equal("a\\0Ab\\1B[8m\\7F\\u009B1mé", ui.escape("a\nb\27[8m\127\194\155" .. "1mé"))
  end)

  it("vcs tls-check prints the peer's names escaped, and --json keeps them exact", function()
    local s = servers.start(function(port) return ("exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s")
      :format(port, h.q(dir .. "/evil.pem"), h.q(dir .. "/evil.key")) end)
    local port = s.port
    local out, rc = h.certbench(("vcs tls-check 127.0.0.1:%d --peer-address evil.example.com --ca %s --timeout 10")
      :format(port, h.q(dir .. "/evil.pem")))
    local jout = h.certbench(("--json vcs tls-check 127.0.0.1:%d --peer-address evil.example.com --ca %s --timeout 10")
      :format(port, h.q(dir .. "/evil.pem")))
    servers.stop(s)
    assert.is_true(rc == 0 or rc == 3, out)
    assert.matches("evil%.example%.com\\0APASS  trusted by the CA file %(forged line%)\\1B%[8m", out)
    no_raw_controls(out)
    local j = cjson.decode(jout:match("{.*}"))
    assert.truthy(j.chain[1].subject:find("\n", 1, true) or j.chain[1].subject:find("\\0A", 1, true))
  end)

  it("vcs check prints the certificate's names escaped", function()
    local out = h.certbench(("vcs check --cert %s --key %s --ca %s"):format(h.q(dir .. "/evil.pem"),
      h.q(dir .. "/evil.key"), h.q(dir .. "/evil.pem")))
    no_raw_controls(out)
    assert.matches("\\0A", out)
  end)

  it("pfx info prints a friendlyName with a newline and an escape on one line, escaped", function()
    h.sh(("openssl pkcs12 -export -inkey %s -in %s -out %s -passout pass:pw -name %s 2>&1"):format(
      h.q(dir .. "/evil.key"), h.q(dir .. "/evil.pem"), h.q(dir .. "/evil.pfx"), h.q("my\nname\27[8m")))
    local out, rc = h.certbench("pfx info " .. h.q(dir .. "/evil.pfx") .. " --passin pass:pw")
    assert.equal(0, rc, out)
    assert.matches('friendlyName "my\\0Aname\\1B%[8m"', out)
    no_raw_controls(out)
    local jout = h.certbench("--json pfx info " .. h.q(dir .. "/evil.pfx") .. " --passin pass:pw")
    assert.truthy(jout:find('my\\nname\\u001b[8m', 1, true), jout)
  end)
  it("vcs cafile names a CA whose issuer is missing escaped, in the error and the warnings", function()
    local rkey = pkey.generate { type = "ec", curve = "P-256" }
    local root = assert(x509.new { subject = "/CN=Hidden Root", issuer_key = rkey, public_key = rkey, days = 10, ca = true })
    local ikey = pkey.generate { type = "ec", curve = "P-256" }
    local inter = assert(x509.new { subject = { { "CN", EVIL } }, issuer = root, issuer_key = rkey, public_key = ikey,
                                    days = 10, not_before = os.time() - 60, ca = true })
    h.write(dir .. "/evil-ica.pem", inter:to_pem())
    local out, rc = h.certbench(("vcs cafile %s --out %s"):format(h.q(dir .. "/evil-ica.pem"), h.q(dir .. "/ca1.pem")))
    assert.equal(1, rc, out)
    assert.matches("\\0APASS", out)
    no_raw_controls(out)
    out, rc = h.certbench(("vcs cafile %s --out %s --allow-incomplete"):format(h.q(dir .. "/evil-ica.pem"), h.q(dir .. "/ca2.pem")))
    assert.equal(0, rc, out)
    assert.matches("missing: the issuer of evil", out, 1, true)
    no_raw_controls(out)
  end)
end)

-- what the user names reaches stderr escaped too (issue: attacker): a file name holding a newline
-- and ESC[31m printed a forged second line and recoloured the terminal in every error
describe("errors naming a hostile file name", function()
  local NAME = "ev\nPASS forged line\27[31m.pem"
  local COMMANDS = {
    { "show", function(f) return "show " .. f end },
    { "crl info", function(f) return "crl info " .. f end },
    { "convert", function(f) return "convert file " .. f .. " --to der --out " .. h.q(dir .. "/x.der") end },
    { "pfx info", function(f) return "pfx info " .. f .. " --passin pass:x" end },
    { "crl check", function(f) return ("crl check %s --chain %s"):format(f, h.q(dir .. "/evil.pem")) end },
    { "vcs cafile", function(f) return "vcs cafile " .. f .. " --out " .. h.q(dir .. "/x-ca.pem") end },
    { "ca adopt --config", function(f) return "ca adopt --config " .. f end },
  }
  setup(function() h.write(dir .. "/" .. NAME, "not pki\27[8m\n") end)
  for _, c in ipairs(COMMANDS) do
    it(c[1] .. " says it on one escaped line", function()
      local out, err, rc = h.run3(h.q(h.bin) .. " " .. c[2](h.q(dir .. "/" .. NAME)))
      assert.is_true(rc == 1 or rc == 2, out .. err)
      assert.equal(1, select(2, err:gsub("\n", "")), err)
      assert.matches("ev\\0APASS forged line\\1B[31m.pem", err, 1, true)
      no_raw_controls(err)
    end)
  end
  it("a usage error from the option parser (the option and argparse's hint) is one escaped line", function()
    local _, err, rc = h.run3(h.q(h.bin) .. " show " .. h.q("-\27[31mx") .. " x")
    assert.equal(2, rc)
    assert.equal(1, select(2, err:gsub("\n", "")), err)
    no_raw_controls(err)
  end)
end)

-- what a certificate names is printed on stdout escaped too: crl check showed the distribution
-- point URL of an openssl-made certificate (ESC[31m in it) raw in its notes (issue: attacker)
describe("stdout text holding what a certificate names", function()
  it("crl check --fetch prints a distribution point URL with ESC escaped, on one line", function()
    local ca, cakey = dir .. "/cdp-ca.pem", dir .. "/cdp-ca.key"
    h.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -subj /CN=CDP-CA -days 2 2>&1")
      :format(h.q(cakey), h.q(ca)))
    h.write(dir .. "/cdp.ext", "crlDistributionPoints=URI:http://127.0.0.1:9/x\27[31mred\n")
    h.sh(("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -subj /CN=cdp -out %s 2>&1")
      :format(h.q(dir .. "/cdp.key"), h.q(dir .. "/cdp.csr")))
    h.sh(("openssl x509 -req -in %s -CA %s -CAkey %s -days 1 -extfile %s -out %s 2>&1"):format(h.q(dir .. "/cdp.csr"),
      h.q(ca), h.q(cakey), h.q(dir .. "/cdp.ext"), h.q(dir .. "/cdp.pem")))
    local out, err, rc = h.run3(("%s crl check %s --chain %s --fetch --timeout 3"):format(h.q(h.bin),
      h.q(dir .. "/cdp.pem"), h.q(ca)))
    assert.equal(1, rc, out .. err)
    assert.matches("x\\1B[31mred", out, 1, true)
    no_raw_controls(out .. err)
  end)
end)
