-- spec/support/pfx.lua: a small PKI made with certbench's own API for the pfx, convert and show
-- specs (the interop specs make theirs with the openssl CLI).
--   local fx = require("support.pfx").make(dir)
-- fx.root, fx.sub (by root), fx.leaf (by sub: CN=vcs.net2.int, serverAuth+clientAuth, RSA 2048),
-- fx.other (by sub, another key), fx.stranger (self-signed, unrelated), fx.expired (by sub,
-- expired a month ago, leaf_key), fx.leaf_key, fx.other_key, fx.csr (for leaf_key), fx.crl (by
-- sub, revoking `other`); fx.path(name) -> dir/name, and these files:
--   root.pem sub.pem leaf.pem leaf.der leaf.key (PKCS#1) leaf-pkcs8.key leaf-des3.key
--   (legacy DES-EDE3-CBC, password "keypw") leaf-enc.key (encrypted PKCS#8, "keypw")
--   chain.pem (sub, root) chain-reversed.pem (root, sub) fullchain.pem (leaf, sub, root)
--   leaf.csr sub.crl
-- fx.pfx(opts) -> DER of a PFX built by certbench.pkcs12 (password "secret" unless given).
-- fx.bundle(opts) -> the text `openssl pkcs12 -in x.pfx` writes: Bag Attributes, subject=/issuer=
-- lines, the certificates (opts.order: list of certs), the key (opts.key_pem; default the legacy
-- DES-EDE3 one, as OpenSSL 1.0 wrote it, with "Key Attributes").
local h = require "support.helper"
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local csr = require "certbench.csr"
local crl = require "certbench.crl"
local pkcs12 = require "certbench.pkcs12"

local M = {}

local cache = {}

function M.make(dir)
  if cache[dir] then return cache[dir] end
  local fx = { dir = dir }
  local now = os.time()
  local root_key = pkey.generate("ec:P-256")
  local sub_key = pkey.generate("ec:P-256")
  fx.leaf_key = pkey.generate("rsa:2048")
  fx.other_key = pkey.generate("ec:P-256")
  local stranger_key = pkey.generate("ec:P-256")
  fx.root = assert(x509.new { subject = "/DC=int/DC=net2/CN=net2-Root-CA", issuer_key = root_key, ca = true, days = 3650 })
  fx.sub = assert(x509.new { subject = "/DC=int/DC=net2/CN=net2-Sub-CA", issuer = fx.root, issuer_key = root_key,
                             public_key = sub_key, ca = true, path_len = 0, days = 1825 })
  fx.leaf = assert(x509.new { subject = "/C=NO/L=Oslo/O=net2/OU=ast/CN=vcs.net2.int", issuer = fx.sub,
                              issuer_key = sub_key, public_key = fx.leaf_key, days = 365,
                              san = { "DNS:vcs.net2.int", "DNS:vcs-cluster.net2.int" },
                              eku = { "serverAuth", "clientAuth" },
                              key_usage = { "digitalSignature", "keyEncipherment" } })
  fx.other = assert(x509.new { subject = "/CN=other.net2.int", issuer = fx.sub, issuer_key = sub_key,
                               public_key = fx.other_key, days = 365, eku = { "serverAuth" } })
  fx.stranger = assert(x509.new { subject = "/CN=Unrelated Root", issuer_key = stranger_key, ca = true, days = 365 })
  fx.expired = assert(x509.new { subject = "/C=NO/O=net2/CN=old.net2.int", issuer = fx.sub, issuer_key = sub_key,
                                 public_key = fx.leaf_key, not_before = now - 400 * 86400, not_after = now - 30 * 86400 })
  fx.csr = assert(csr.new { subject = "/C=NO/O=net2/CN=vcs.net2.int", key = fx.leaf_key, san = { "DNS:vcs.net2.int" } })
  fx.crl = assert(crl.new { issuer = fx.sub, key = sub_key, days = 30, number = 7,
                            entries = { { serial = fx.other:serial(), date = now - 3600, reason = "keyCompromise" } } })
  fx.sub_key, fx.root_key = sub_key, root_key
  function fx.path(name) return dir .. "/" .. name end
  local function w(name, data) h.write(fx.path(name), data) end
  w("root.pem", fx.root:to_pem())
  w("sub.pem", fx.sub:to_pem())
  w("leaf.pem", fx.leaf:to_pem())
  w("leaf.der", fx.leaf:to_der())
  w("leaf.key", fx.leaf_key:to_pem { format = "traditional" })
  w("leaf-pkcs8.key", fx.leaf_key:to_pem())
  w("leaf-des3.key", fx.leaf_key:to_pem { format = "traditional", password = "keypw", cipher = "des-ede3-cbc" })
  w("leaf-enc.key", fx.leaf_key:to_pem { password = "keypw" })
  w("chain.pem", fx.sub:to_pem() .. fx.root:to_pem())
  w("chain-reversed.pem", fx.root:to_pem() .. fx.sub:to_pem())
  w("fullchain.pem", fx.leaf:to_pem() .. fx.sub:to_pem() .. fx.root:to_pem())
  w("leaf.csr", fx.csr:to_pem())
  w("sub.crl", fx.crl:to_pem())

  function fx.pfx(o)
    o = o or {}
    local t = { key = o.key == nil and fx.leaf_key or o.key or nil, cert = o.cert == nil and fx.leaf or o.cert or nil,
                chain = o.chain or { fx.root, fx.sub }, password = o.password or "secret",
                friendly_name = o.friendly_name or "vcs-certificate", profile = o.profile, key_id = o.key_id }
    return assert(pkcs12.build(t))
  end

  local function attrs(c, lines)
    return table.concat(lines, "\n") .. "\nsubject=" .. c:subject():oneline() .. "\nissuer=" .. c:issuer():oneline() .. "\n"
  end
  function fx.bundle(o)
    o = o or {}
    local parts = {}
    local key_pem = o.key_pem or fx.leaf_key:to_pem { format = "traditional", password = "keypw", cipher = "des-ede3-cbc" }
    local kid = o.local_key_id or "01 00 00 00 "
    if not o.key_last then
      parts[#parts + 1] = "Bag Attributes\n    localKeyID: " .. kid .. "\n    friendlyName: vcs-certificate\n"
        .. "Key Attributes\n    X509v3 Key Usage: 10 \n" .. key_pem
    end
    for _, c in ipairs(o.order or { fx.leaf, fx.root, fx.sub }) do
      if c == fx.leaf then
        parts[#parts + 1] = attrs(c, { "Bag Attributes", "    localKeyID: " .. kid, "    friendlyName: vcs-certificate" }) .. c:to_pem()
      else
        parts[#parts + 1] = attrs(c, { "Bag Attributes: <Empty Attributes>" }) .. c:to_pem()
      end
    end
    if o.key_last then
      parts[#parts + 1] = "Bag Attributes\n    localKeyID: " .. kid .. "\nKey Attributes: <No Attributes>\n" .. key_pem
    end
    local text = table.concat(parts)
    if o.crlf then text = text:gsub("\n", "\r\n") end
    return text
  end

  cache[dir] = fx
  return fx
end

return M
