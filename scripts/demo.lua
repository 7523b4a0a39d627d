-- demo.lua: the workflow behind `ninja demo`, on local files only, in demo-out/.
-- A key and a self-signed certificate for a VCS server, written the way certbench writes
-- every key (0600 from creation, atomically), then read back and shown.
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"

local out = arg[1] or "demo-out"
local fqdn = arg[2] or "vcs1.example.com"
assert(fs.mkdir(out))

local key = pkey.generate { type = "ec", curve = "P-256" }
local cert = assert(x509.new {
  subject = "/C=NO/O=net2/CN=" .. fqdn,
  public_key = key, issuer_key = key, days = 30,
  san = { "DNS:" .. fqdn },
  eku = { "serverAuth", "clientAuth" },
})
assert(fs.write_key(fs.join(out, "privkey.pem"), key:to_pem(), { force = true }))
assert(fs.write(fs.join(out, "server.pem"), cert:to_pem()))

-- read back what was written, as a user's next step would
local again = assert(x509.load(assert(fs.read(fs.join(out, "server.pem")))))
local key2 = assert(pkey.load(assert(fs.read(fs.join(out, "privkey.pem")))))
assert(key2:matches(again), "the key on disk does not match the certificate")

print(again:text())
print(string.format("wrote %s/privkey.pem (mode %o) and %s/server.pem; key matches certificate",
  out, fs.stat(fs.join(out, "privkey.pem")).mode, out))
