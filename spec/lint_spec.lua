-- certbench.lint: the rule table and lint.certificate's roles, on certificates x509.new makes
-- (the rules one by one are tested on openssl-made certificates in tests/interop/lint_spec.lua,
-- and on paths by tests/integration/limbo_spec.lua).
local lint = require "certbench.lint"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"

local key = pkey.generate { type = "ec", curve = "P-256" }
local root = assert(x509.new { subject = "/CN=Spec Root", issuer_key = key, ca = true })
local function leaf(o)
  local t = { subject = "/CN=vcs.example.com", issuer = root, issuer_key = key, public_key = key,
              ca = false, key_usage = { "digitalSignature" }, eku = { "serverAuth", "clientAuth" },
              san = { "DNS:vcs.example.com" } }
  for k, v in pairs(o or {}) do t[k] = v end
  return assert(x509.new(t))
end

local function ids(findings)
  local t = {}
  for _, f in ipairs(findings) do t[#t + 1] = f.id end
  table.sort(t)
  return t
end

describe("certbench.lint", function()
  it("has one entry per rule id, each naming its rule, severity and text", function()
    local seen = {}
    for _, r in ipairs(lint.rules) do
      assert.is_nil(seen[r.id], "two rules " .. r.id)
      seen[r.id] = true
      assert.matches("^RFC 5280 [%d.]+$", r.rule:gsub("^CA/B Forum BR ", "RFC 5280 "))
      assert.is_true(r.severity == "error" or r.severity == "warning", r.id)
      assert.is_string(r.text)
    end
  end)

  it("finds nothing in what x509.new makes by default", function()
    assert.same({}, lint.certificate(root))
    assert.same({}, lint.certificate(leaf()))
  end)

  it("takes the role from the certificate, or from the caller", function()
    assert.same({}, ids(lint.certificate(root, { role = "root" })))
    -- a CA certificate linted as a TLS server's leaf breaks the baseline requirements
    assert.same({ "cabf-leaf-ca", "cabf-leaf-eku", "cabf-san" },
      ids(lint.certificate(root, { role = "leaf", tls_server = true })))
    assert.same({}, ids(lint.certificate(root, { role = "leaf", tls_server = false })))
    assert.has_error(function() lint.certificate(root, { role = "anchor" }) end)
  end)

  it("applies the CA/B Forum rules to a leaf only when it may serve TLS", function()
    local client = leaf { eku = { "clientAuth" }, san = { "DNS:other.example.com" } }
    assert.same({}, lint.certificate(client))
    assert.same({ "cabf-cn-in-san" }, ids(lint.certificate(client, { tls_server = true })))
  end)

  it("reports a SHOULD as a warning", function()
    local f = lint.certificate(leaf { key_usage_critical = false })
    assert.equal(1, #f)
    assert.equal("ku-critical", f[1].id)
    assert.equal("warning", f[1].severity)
    assert.equal("RFC 5280 4.2.1.3", f[1].rule)
  end)
end)
