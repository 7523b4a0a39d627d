-- tests/interop/name_display_spec.lua: every command shows a distinguished name in one form,
-- name:text(): what `openssl x509 -noout -subject` prints after "subject=" (OpenSSL 3's default
-- -nameopt oneline), control characters escaped as \XX for the terminal; --json keeps the name
-- exact. One table of commands, each with the line it prints a name in; the names are
-- terminal-hostile (a newline and ESC[8m in the CN, a comma and a '+' that must be quoted) and the
-- expected text is openssl's own output for the same certificate, not certbench's.
local h = require "support.helper"
local x509 = require "certbench.x509"
local cjson = require "cjson"

local CA_CN = "Root\nCA\27[8m"
local LEAF_CN = "vcs\nPASS  forged line\27[8m.example.com"

-- the subject or issuer line of `openssl x509 -noout`, after its "subject=" or "issuer="
local function openssl_name(file, which, nameopt)
  local out = h.sh(("openssl x509 -in %s -noout -%s%s"):format(h.q(file), which, nameopt and (" -nameopt " .. nameopt) or ""))
  return (out:gsub("^" .. which .. "=", "", 1):gsub("\n$", ""))
end

describe("names in every command", function()
  local dir, ca_text, leaf_text, ca_exact, leaf_exact, issued_out, revoked_out
  local function p(name) return h.q(dir .. "/" .. name) end

  setup(function()
    dir = h.tmpdir()
    local out, rc = h.certbench(("ca init %s --subject %s --passout pass:secretpw"):format(p("ca"),
      h.q("/C=NO/O=net2, Inc/CN=" .. CA_CN)))
    assert(rc == 0, out)
    h.sh(("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -subj %s 2>&1")
      :format(p("leaf.key"), p("leaf.csr"), h.q("/C=NO/O=net2/OU=a\\+b/CN=" .. LEAF_CN)))
    issued_out, rc = h.certbench(("ca issue %s --csr %s --out %s --passin pass:secretpw"):format(p("ca"), p("leaf.csr"), p("leaf.pem")))
    assert(rc == 0, issued_out)
    h.sh(("%s ca gencrl %s --out %s --passin pass:secretpw"):format(h.q(h.bin), p("ca"), p("old.crl")))
    local serial = assert(x509.load_file(dir .. "/leaf.pem")):serial()
    revoked_out, rc = h.certbench(("ca revoke %s --serial %s"):format(p("ca"), serial))
    assert(rc == 0, revoked_out)
    h.sh(("%s ca gencrl %s --out %s --passin pass:secretpw"):format(h.q(h.bin), p("ca"), p("ca.crl")))
    h.sh(("openssl pkcs12 -export -inkey %s -in %s -certfile %s -out %s -passout pass:pw"):format(
      p("leaf.key"), p("leaf.pem"), p("ca/cacert.pem"), p("leaf.pfx")))
    h.sh(("openssl crl2pkcs7 -nocrl -certfile %s -certfile %s -out %s"):format(p("leaf.pem"), p("ca/cacert.pem"), p("b.p7b")))
    -- openssl's text of the two names, the terminal form and the exact one (no control escapes)
    leaf_text = openssl_name(dir .. "/leaf.pem", "subject")
    ca_text = openssl_name(dir .. "/leaf.pem", "issuer")
    leaf_exact = openssl_name(dir .. "/leaf.pem", "subject", "oneline,-esc_ctrl")
    ca_exact = openssl_name(dir .. "/leaf.pem", "issuer", "oneline,-esc_ctrl")
  end)

  it("name:text() is openssl's text of the name; exact = true keeps the controls", function()
    -- the fixture is what it claims: quoting and control escapes both at work
    assert.equal('C = NO, O = net2, OU = "a+b", CN = vcs\\0APASS  forged line\\1B[8m.example.com', leaf_text)
    assert.equal('C = NO, O = "net2, Inc", CN = Root\\0ACA\\1B[8m', ca_text)
    local c = assert(x509.load_file(dir .. "/leaf.pem"))
    assert.equal(leaf_text, c:subject():text())
    assert.equal(ca_text, c:issuer():text())
    assert.equal(leaf_exact, c:subject():text { exact = true })
    assert.equal(ca_exact, c:issuer():text { exact = true })
    assert.truthy(leaf_exact:find("\27", 1, true))
  end)

  it("name:text() quotes and escapes each value as openssl does", function()
    local pkey = require "certbench.pkey"
    local k = pkey.generate { type = "ec", curve = "P-256" }
    local values = { 'a"b', "a\\b", "#x", "#", " lead", "trail ", "a<b", "a;b", "a=b", 'a,"b', "a,\\b", "x+y",
                     "tab\there", "del\127", "é ü" }
    for i, v in ipairs(values) do
      local c = assert(x509.new { subject = { { "O", "net2" }, { "CN", v } }, issuer_key = k, public_key = k, days = 2 })
      local f = ("%s/v%d.pem"):format(dir, i)
      h.write(f, c:to_pem())
      assert.equal(openssl_name(f, "subject", "oneline,-esc_msb,utf8"), c:subject():text(), ("value %q"):format(v))
    end
  end)

  -- command, then the lines that must be in its output: %L is the leaf's name, %C the CA's
  local CASES = {
    { "show %s", "leaf.pem", { "Subject: %L", "Issuer: %C" } },
    { "show %s", "ca.crl", { "Issuer: %C" } },
    { "show %s", "b.p7b", { "subject %L", "issuer  %C" } },
    { "show --lint %s", "leaf.pem", { "certificate %L" }, 3 },
    { "pfx info %s --passin pass:pw", "leaf.pfx", { "subject  %L", "issuer   %C", "1. %C" } },
    { "crl info %s", "ca.crl", { "issuer:       %C" } },
    { "crl info %s --ca ca/cacert.pem", "ca.crl", { "verifies:     yes, by %C" } },
    { "crl diff old.crl %s", "ca.crl", { "old: %C  #", "new: %C  #" } },
    { "crl check %s --chain ca/cacert.pem --crl ca.crl", "leaf.pem", { "%L (serial " }, 3 },
    { "ca list %s", "ca", { "  %L" } },
    { "vcs check --key leaf.key --cert %s --ca ca/cacert.pem", "leaf.pem", { "PEM, one certificate: %L" }, 3 },
    { "vcs cafile %s --out cafile.pem --force", "ca/cacert.pem", { "1 %C (root)" } },
  }

  local function expand(line)
    return (line:gsub("%%([LC])", function(w) return w == "L" and leaf_text or ca_text end))
  end

  it("every command prints the names as openssl does, escaped, on one line each", function()
    local outputs = { { "ca issue", issued_out, { "issued serial %x: %L" } },
                      { "ca revoke", revoked_out, { "revoked serial %x: %L" } } }
    for _, c in ipairs(CASES) do
      local cmd = "cd " .. h.q(dir) .. " && " .. h.q(h.bin) .. " " .. c[1]:format(h.q(c[2]))
      local out, rc = h.run(cmd)
      assert.equal(c[4] or 0, rc, cmd .. "\n" .. out)
      outputs[#outputs + 1] = { c[1], out, c[3] }
    end
    for _, o in ipairs(outputs) do
      local what, out = o[1], o[2]
      assert.is_nil(out:find("\27", 1, true), what .. ": an ESC byte reached the terminal\n" .. out)
      assert.is_nil(out:find("\nPASS  forged", 1, true), what .. ": a line was injected\n" .. out)
      for _, want in ipairs(o[3]) do
        local w = expand(want)
        if w:find("%x", 1, true) then
          local a, b = w:match("^(.-)%%x(.*)$")
          assert.truthy(out:find(a, 1, true) and out:find(b, 1, true), what .. ": wants '" .. w .. "' in\n" .. out)
        else
          assert.truthy(out:find(w, 1, true), what .. ": wants '" .. w .. "' in\n" .. out)
        end
      end
    end
  end)

  it("a C1 control (CSI, U+009B) in a name reaches the terminal escaped, in the text of show too", function()
    local pkey = require "certbench.pkey"
    local k = pkey.generate { type = "ec", curve = "P-256" }
    local c = assert(x509.new { subject = { { "CN", "c1\194\155" .. "31m.example.com" } }, issuer_key = k, public_key = k, days = 2 })
    h.write(dir .. "/c1.pem", c:to_pem())
    h.write(dir .. "/c1.key", k:to_pem())
    -- openssl escapes the two bytes (\C2\9B); certbench keeps UTF-8 and escapes the control
    assert.equal("CN = c1\\C2\\9B31m.example.com", openssl_name(dir .. "/c1.pem", "subject"))
    assert.equal("CN = c1\\u009B31m.example.com", c:subject():text())
    for _, args in ipairs { "show c1.pem", "show --lint c1.pem", "vcs check --key c1.key --cert c1.pem --ca c1.pem" } do
      local out = h.run("cd " .. h.q(dir) .. " && " .. h.q(h.bin) .. " " .. args)
      assert.is_nil(out:find("\194\155", 1, true), args .. ": a raw C1 control reached the terminal\n" .. out)
      assert.truthy(out:find("CN = c1\\u009B31m.example.com", 1, true), args .. "\n" .. out)
    end
  end)

  it("--json keeps the text-form name fields exact", function()
    local function json(args, rc)
      local out, err, code = h.run3("cd " .. h.q(dir) .. " && " .. h.q(h.bin) .. " --json " .. args)
      assert.equal(rc or 0, code, args .. "\n" .. out .. err)
      return cjson.decode(out)
    end
    local j = json("show leaf.pem")
    assert.equal(leaf_exact, j.objects[1].certificate.subject)
    assert.equal(ca_exact, j.objects[1].certificate.issuer)
    j = json("show ca.crl")
    assert.equal(ca_exact, j.objects[1].crl.issuer)
    j = json("pfx info leaf.pfx --passin pass:pw")
    assert.equal(ca_exact, j.chain[1])
    j = json("vcs cafile ca/cacert.pem --out cafile2.pem")
    assert.equal(ca_exact, j.certificates[1].subject)
    j = json("vcs check --key leaf.key --cert leaf.pem --ca ca/cacert.pem", 3)
    assert.equal(leaf_exact, j.subject)
  end)
end)
