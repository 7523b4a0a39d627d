-- tests/integration/readme_spec.lua: the commands of README's "VCS in 5 minutes", taken from the README
-- itself and run as written (bash, `certbench` on the PATH), with what the Windows side of each
-- path would hand over made here by the openssl CLI.
local h = require "support.helper"
local servers = require "support.servers"

local function section(text, title)
  local start = text:find("\n## " .. title .. "\n", 1, true)
  assert(start, "README has no section '" .. title .. "'")
  local stop = text:find("\n## ", start + 4, true) or #text
  return text:sub(start, stop)
end

-- the ```sh blocks of a section, each with the ### heading above it ("" before the first)
local function blocks(text)
  local out, heading = {}, ""
  local pos = 1
  while true do
    local hs, he, htitle = text:find("\n### ([^\n]+)", pos)
    local bs, be, body = text:find("\n```sh\n(.-)\n```", pos)
    if not bs then break end
    if hs and hs < bs then
      heading = htitle
      pos = he
    else
      out[#out + 1] = { heading = heading, script = body }
      pos = be
    end
  end
  return out
end

local function find(list, heading_part, nth)
  local n = 0
  for _, b in ipairs(list) do
    if b.heading:find(heading_part, 1, true) then
      n = n + 1
      if n == (nth or 1) then return b.script end
    end
  end
  error("no sh block under a heading with '" .. heading_part .. "'")
end

local function ossl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

-- run(dir, script, env) -> output, rc: bash -e in dir, build/ first on the PATH
local function run(dir, script, env)
  h.write(dir .. "/.block.sh", "set -euo pipefail\n" .. script .. "\n")
  return h.run(("cd %s && PATH=%s:$PATH %s bash .block.sh"):format(h.q(dir), h.q(h.root .. "/build"), env or ""))
end

-- a CA as the Microsoft side would have it, signing with the client-and-server template's EKUs
local function windows_ca(dir)
  h.write(dir .. "/ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
  ossl(("req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -subj /DC=int/DC=net2/CN=net2-CA -days 30")
    :format(h.q(dir .. "/ms-ca.key"), h.q(dir .. "/ms-ca.pem")))
  h.write(dir .. "/webclientandserver.ext",
    "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    .. "subjectAltName=DNS:vcs.example.com\n")
  return { key = dir .. "/ms-ca.key", cert = dir .. "/ms-ca.pem", ext = dir .. "/webclientandserver.ext" }
end

describe("README: VCS in 5 minutes", function()
  local readme = h.read(h.root .. "/README.md")
  local list = blocks(section(readme, "VCS in 5 minutes"))

  it("has the plan and the three paths of the guide", function()
    assert.is_true(#list >= 5)
    assert.equal("", list[1].heading)
    for _, part in ipairs { "private CA", "through a PFX", "through a CSR" } do
      assert.truthy(find(list, part))
    end
  end)

  it("plans the names of each deployment model", function()
    local out, rc = run(h.tmpdir(), list[1].script)
    assert.equal(0, rc, out)
    assert.matches("standalone server", out, 1, true)
    assert.matches("SAN DNS:vcs2.example.com, DNS:cluster.example.com", out, 1, true)
    assert.matches("SAN DNS:cluster.example.com, DNS:vcs1.example.com, DNS:vcs2.example.com", out, 1, true)
  end)

  it("with a private CA: certificates that pass the check and that openssl verifies", function()
    local d = h.tmpdir()
    local out, rc = run(d, find(list, "private CA"), "CA_PASS='a long CA password'")
    assert.equal(0, rc, out)
    assert.matches("0 failed: ready to upload", out, 1, true)
    assert.matches("PASS  CRL of Example VCS Root CA", out, 1, true)
    for _, peer in ipairs { "vcs1.example.com", "vcs2.example.com" } do
      local v = ossl(("verify -crl_check -CAfile %s -CRLfile %s -purpose sslclient %s"):format(
        h.q(d .. "/vcs-ca/cacert.pem"), h.q(d .. "/vcs/ca.crl"), h.q(d .. "/vcs/" .. peer .. "/server.pem")))
      assert.matches(": OK", v, 1, true)
      assert.equal("600", h.mode(d .. "/vcs/" .. peer .. "/privkey.pem"))
    end
    -- the TLS check, against vcs1 served by openssl s_server on 127.0.0.1 in place of the
    -- peer's own address (no DNS here): only the target of the README's command changes
    local s = servers.start(function(port) return ("cd %s && exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s -CAfile %s -Verify 2")
      :format(h.q(d), port, "vcs/vcs1.example.com/server.pem", "vcs/vcs1.example.com/privkey.pem", "vcs-ca/cacert.pem") end)
    local port = s.port
    local tls_block = find(list, "private CA", 2)
    assert.matches("vcs1.example.com:5061", tls_block, 1, true)
    tls_block = tls_block:gsub("vcs1%.example%.com:5061", "127.0.0.1:" .. port .. " --peer-address vcs1.example.com")
    out, rc = run(d, tls_block)
    servers.stop(s)
    assert.equal(0, rc, out)
    assert.matches("PASS  client certificate       requested, and vcs2.example.com was sent and accepted", out, 1, true)
    assert.matches("PASS  revocation (CRL)", out, 1, true)
    assert.matches("the peer passes TLS verify mode", out, 1, true)
  end)

  it("with a Microsoft CA through a PFX: the three upload files, checked", function()
    local d = h.tmpdir()
    local ca = windows_ca(d)
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /C=NO/L=Oslo/O=net2/OU=ast/CN=vcs.example.com")
      :format(h.q(d .. "/k.pem"), h.q(d .. "/r.pem")))
    ossl(("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 30 -extfile %s -out %s")
      :format(h.q(d .. "/r.pem"), h.q(ca.cert), h.q(ca.key), h.q(ca.ext), h.q(d .. "/c.pem")))
    -- as Windows exports it: the key, the certificate, the CA, a friendlyName, 3DES and SHA-1
    ossl(("pkcs12 -export -legacy -inkey %s -in %s -certfile %s -name vcs-certificate -passout pass:pfx-pw -out %s")
      :format(h.q(d .. "/k.pem"), h.q(d .. "/c.pem"), h.q(ca.cert), h.q(d .. "/cert_inf.pfx")))
    local out, rc = run(d, find(list, "through a PFX"), "PFX_PASS=pfx-pw")
    assert.equal(0, rc, out)
    assert.matches("0 failed: ready to upload", out, 1, true)
    assert.equal("600", h.mode(d .. "/vcs-ms/privkey.pem"))
    assert.equal(h.read(ca.cert):gsub("\r", ""), h.read(d .. "/vcs-ms/ca.pem"))
  end)

  it("with a Microsoft CA through a CSR: certreq's DER request, the .cer files back, checked", function()
    local d = h.tmpdir()
    local out, rc = run(d, find(list, "through a CSR", 1))
    assert.equal(0, rc, out)
    assert.equal("600", h.mode(d .. "/vcs-req/privkey.pem"))
    -- what certreq and certsrv would hand back: server.cer in DER, certnew.cer in Base 64 with CRLF
    local ca = windows_ca(d)
    ossl(("x509 -req -in %s -inform DER -CA %s -CAkey %s -CAcreateserial -days 30 -extfile %s -outform DER -out %s")
      :format(h.q(d .. "/vcs-req/request.der"), h.q(ca.cert), h.q(ca.key), h.q(ca.ext), h.q(d .. "/server.cer")))
    h.write(d .. "/certnew.cer", (h.read(ca.cert):gsub("\n", "\r\n")))
    out, rc = run(d, find(list, "through a CSR", 2))
    assert.equal(0, rc, out)
    assert.matches("0 failed: ready to upload", out, 1, true)
    assert.matches("PASS  names                    CN vcs.example.com", out, 1, true)
  end)

  it("a self-signed certificate for a test deployment: the check accepts it with the warning", function()
    local d = h.tmpdir()
    local out, rc = run(d, find(list, "self-signed certificate"))
    assert.equal(0, rc, out)
    assert.matches("self-signed: for test deployments", out, 1, true)
    assert.matches("0 failed: ready to upload", out, 1, true)
    assert.matches(": OK", ossl(("verify -CAfile %s -purpose sslserver %s"):format(h.q(d .. "/lab/server.pem"), h.q(d .. "/lab/server.pem"))))
  end)

  it("with the guide's own OpenSSL CA: adopted with its openssl.cnf, and as a key and certificate", function()
    local d = h.tmpdir()
    h.sh("mkdir -p " .. h.q(d .. "/demoCA/newcerts"))
    h.write(d .. "/demoCA/index.txt", "")
    h.write(d .. "/demoCA/serial", "1000\n")
    h.write(d .. "/openssl.cnf", "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = ./demoCA\n"
      .. "database = $dir/index.txt\nnew_certs_dir = $dir/newcerts\ncertificate = ca.crt\nprivate_key = ca.key\n"
      .. "serial = $dir/serial\ndefault_md = sha1\ndefault_days = 365\npolicy = policy_anything\ncopy_extensions = copy\n"
      .. "[ policy_anything ]\ncountryName = optional\norganizationName = optional\ncommonName = supplied\n"
      .. "[ req ]\ndistinguished_name = dn\n[ dn ]\n[ v3_ca ]\nbasicConstraints = critical,CA:TRUE\n"
      .. "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n")
    ossl(("genrsa -aes256 -passout pass:capw -out %s 2048"):format(h.q(d .. "/ca.key")))
    ossl(("req -new -x509 -key %s -passin pass:capw -config %s -sha1 -extensions v3_ca -subj /O=net2/CN=net2-CA -out %s")
      :format(h.q(d .. "/ca.key"), h.q(d .. "/openssl.cnf"), h.q(d .. "/ca.crt")))
    local out, rc = run(d, "certbench vcs csr --fqdn vcs.example.com --subject /O=net2 --out-dir vcs-req")
    assert.equal(0, rc, out)
    out, rc = run(d, find(list, "guide's own OpenSSL CA"), "CA_PASS=capw")
    assert.equal(0, rc, out)
    assert.matches("default_md = sha1", out, 1, true)
    local text = ossl("x509 -noout -text -in " .. h.q(d .. "/vcs-req/server.pem"))
    assert.matches("sha256WithRSAEncryption", text, 1, true)
    assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
    assert.matches(": OK", ossl(("verify -CAfile %s %s"):format(h.q(d .. "/ca.crt"), h.q(d .. "/vcs-req/server.pem"))))
    -- openssl ca goes on in the adopted demoCA (the README issued from lab-ca)
    ossl(("req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /CN=x.example.com"):format(h.q(d .. "/x.key"), h.q(d .. "/x.csr")))
    local o2, rc2 = h.run(("cd %s && openssl ca -batch -config openssl.cnf -passin pass:capw -in x.csr -out x.pem"):format(h.q(d)))
    assert.equal(0, rc2, o2)
    assert.matches("serial=1000", ossl("x509 -noout -serial -in " .. h.q(d .. "/x.pem")))
    assert.matches("\t1000\tunknown\t/CN=x.example.com", h.read(d .. "/demoCA/index.txt"), 1, true)
  end)
end)

-- "Where things are" is the map of the tree: every path it names exists, and the tree keeps
-- its naming rule (core/<m>.c with core/<m>.lua, what is not API in core/lib/, each named).
describe("README: Where things are", function()
  local text = section(h.read(h.root .. "/README.md"), "Where things are")
  local rows = {}
  for first, what in text:gmatch("\n| ([^\n]-) | ([^\n]-) |") do rows[#rows + 1] = { first, what } end
  local function row(first)
    for _, r in ipairs(rows) do if r[1] == first then return r[2] end end
    error("Where things are has no row " .. first)
  end
  local function ls(dir, ext)
    local out = {}
    for f in io.popen(("ls %s"):format(h.q(h.root .. "/" .. dir))):lines() do
      if f:sub(-#ext - 1) == "." .. ext then out[#out + 1] = f:sub(1, -#ext - 2) end
    end
    return out
  end
  local function exists(p) return os.rename(h.root .. "/" .. p, h.root .. "/" .. p) ~= nil end

  it("names only paths that exist", function()
    local n = 0
    for span in text:gmatch("`([^`]+)`") do
      -- a path: has a slash, no template (<module>), no spaces; build outputs are not in a clone
      if span:find("/", 1, true) and not span:find("[<%s]") and not span:match("^build") then
        n = n + 1
        assert(exists(span), "README's Where things are names " .. span .. ", which does not exist")
      end
    end
    assert.is_true(n >= 20, n .. " paths only")
  end)

  it("matches core/: module pairs, Lua-only modules named, internal files in core/lib/, each named", function()
    local lua = {}
    for _, m in ipairs(ls("core", "lua")) do lua[m] = true end
    local pairs_row = row("`core/<module>.c` + `core/<module>.lua`")
    for _, m in ipairs(ls("core", "c")) do
      assert(lua[m] or m == "main", "core/" .. m .. ".c has no core/" .. m .. ".lua: a module pair, or core/lib/")
    end
    for _, m in ipairs(ls("core", "h")) do
      assert(exists("core/" .. m .. ".c"), "core/" .. m .. ".h is no module's C interface: core/lib/")
    end
    for m in pairs(lua) do
      if not exists("core/" .. m .. ".c") then
        assert(pairs_row:find("`core/" .. m .. ".lua`", 1, true), "core/" .. m .. ".lua, a Lua-only module, is not named")
      end
    end
    local lib = row("`core/lib/`")
    for _, ext in ipairs { "c", "lua" } do
      for _, m in ipairs(ls("core/lib", ext)) do
        assert(lib:find("`" .. m .. "`", 1, true), "core/lib/" .. m .. "." .. ext .. " is not named in the core/lib/ row")
        if ext == "lua" then
          local head = h.read(h.root .. "/core/lib/" .. m .. ".lua"):match("^[^\n]*")
          assert(head:find("(internal)", 1, true), "core/lib/" .. m .. ".lua's header does not say (internal)")
        end
      end
    end
  end)
end)
