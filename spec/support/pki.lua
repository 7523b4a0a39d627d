-- spec/support/pki.lua: a small PKI made with the openssl CLI for the store specs.
--   local pki = require("support.pki").make(dir)
-- Files in dir (PEM): root, inter (by root), inter2 (by root, revoked by root), leaf (server
-- cert by inter: DNS vcs.example.com, IP 192.0.2.1, serverAuth), client (clientAuth by inter),
-- expired (by inter, 2020), revoked (by inter, revoked), direct (server cert by root),
-- leaf3 (server cert by inter2); CRLs root.crl (revokes inter2), inter.crl (revokes
-- `revoked`), inter2.crl (empty). pki.path(name) gives a file's path, pki.pem(name) its text.
local h = require "support.helper"

local M = {}

local CONF = [[
[ ca ]
default_ca = CA_root

[ CA_root ]
dir = @DIR@/db_root
certificate = @DIR@/root.pem
private_key = @DIR@/root.key
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[ CA_inter ]
dir = @DIR@/db_inter
certificate = @DIR@/inter.pem
private_key = @DIR@/inter.key
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[ CA_inter2 ]
dir = @DIR@/db_inter2
certificate = @DIR@/inter2.pem
private_key = @DIR@/inter2.key
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = dn
[ dn ]

[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ server ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:vcs.example.com, IP:192.0.2.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
]]

function M.make(dir)
  local function sh(cmd)
    local out, rc = h.run("cd " .. h.q(dir) .. " && " .. cmd)
    assert(rc == 0, cmd .. "\n" .. out)
    return out
  end
  h.write(dir .. "/ca.cnf", (CONF:gsub("@DIR@", dir)))
  for _, ca in ipairs{ "root", "inter", "inter2" } do
    sh("mkdir -p db_" .. ca .. " && : > db_" .. ca .. "/index.txt && echo 1000 > db_" .. ca ..
      "/serial && echo 01 > db_" .. ca .. "/crlnumber")
  end
  local function key(name)
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " .. name .. ".key 2>/dev/null")
  end
  local function issue(name, ca, subj, ext, extra)
    key(name)
    sh("openssl req -new -config ca.cnf -key " .. name .. ".key -subj " .. h.q(subj) .. " -out " .. name .. ".csr")
    sh("openssl ca -batch -notext -config ca.cnf -name CA_" .. ca .. " -extensions " .. ext ..
      " -in " .. name .. ".csr -out " .. name .. ".pem " .. (extra or "") .. " 2>&1")
  end
  -- the CAs start in 2019, so a time inside the expired certificate's life (2020) is valid
  local early = "-startdate 20190101000000Z -enddate 20450101000000Z"
  key("root")
  sh("openssl req -new -config ca.cnf -key root.key -subj '/O=certbench test/CN=Test Root CA' -out root.csr")
  sh("openssl ca -batch -notext -selfsign -config ca.cnf -name CA_root -keyfile root.key -extensions v3_ca " ..
    early .. " -in root.csr -out root.pem 2>&1")
  issue("inter", "root", "/O=certbench test/CN=Test Intermediate CA", "v3_ca", early)
  issue("inter2", "root", "/O=certbench test/CN=Test Revoked Intermediate CA", "v3_ca")
  issue("leaf", "inter", "/CN=vcs.example.com", "server")
  issue("client", "inter", "/CN=client.example.com", "client")
  issue("expired", "inter", "/CN=expired.example.com", "server",
    "-startdate 20200101000000Z -enddate 20210101000000Z")
  issue("revoked", "inter", "/CN=revoked.example.com", "server")
  issue("direct", "root", "/CN=direct.example.com", "server")
  issue("leaf3", "inter2", "/CN=leaf3.example.com", "server")
  sh("openssl ca -batch -config ca.cnf -name CA_inter -revoke revoked.pem -crl_reason keyCompromise 2>&1")
  sh("openssl ca -batch -config ca.cnf -name CA_root -revoke inter2.pem -crl_reason cACompromise 2>&1")
  sh("openssl ca -batch -config ca.cnf -name CA_root -gencrl -out root.crl 2>&1")
  sh("openssl ca -batch -config ca.cnf -name CA_inter -gencrl -out inter.crl 2>&1")
  sh("openssl ca -batch -config ca.cnf -name CA_inter2 -gencrl -out inter2.crl 2>&1")
  local pki = { dir = dir }
  function pki.path(name)
    return dir .. "/" .. name .. (name:find("%.") and "" or ".pem")
  end
  function pki.pem(name)
    return h.read(pki.path(name))
  end
  return pki
end

return M
