-- the workflow behind `ninja demo` (scripts/demo.lua): what it makes, openssl reads and accepts;
-- the revocation it reports is the one openssl finds; its servers are gone when it ends.
local h = require "support.helper"

local PEERS = { "vcs1.example.com", "vcs2.example.com", "vcs3.example.com" }

local function pid_gone(path)
  local pid = h.read(path):match("%d+")
  local _, rc = h.run("kill -0 " .. pid .. " 2>/dev/null")
  return rc ~= 0, pid
end

describe("scripts/demo.lua", function()
  local dir, out, rc, secs

  setup(function()
    dir = h.tmpdir() .. "/demo-out"
    local t = os.time()
    out, rc = h.certbench("run " .. h.q(h.root .. "/scripts/demo.lua") .. " " .. h.q(dir))
    secs = os.time() - t
  end)

  it("runs in under a minute and reports what it made and where", function()
    assert.equal(0, rc, out)
    assert.is_true(secs < 60)
    assert.matches("certbench demo: done in [%d.]+ s; everything is in " .. dir:gsub("%p", "%%%0") .. "/", out)
    assert.matches("CA file     " .. dir .. "/cluster/ca.pem", out, 1, true)
    assert.matches("peers       vcs1.example.com, vcs2.example.com, vcs3.example.com", out, 1, true)
    assert.matches("status      vcs1.example.com: good", out, 1, true)
    assert.matches("status      vcs3.example.com: revoked", out, 1, true)
    assert.matches("TLS check   vcs1.example.com: OK, TLSv1.3, [%w_]+; 8 checks passed %(vcs tls%-check%)", out)
    assert.matches("by IP       refused, as TLS verify mode would: the peer address 127.0.0.1 is an IP address", out, 1, true)
    assert.matches("servers     stopped", out, 1, true)
  end)

  it("makes keys (0600, unencrypted) and requests and certificates that openssl accepts", function()
    assert.equal(0, rc, out)
    local ca = dir .. "/cluster/ca.pem"
    for _, peer in ipairs(PEERS) do
      local pd = dir .. "/cluster/" .. peer
      assert.equal("600", h.mode(pd .. "/privkey.pem"))
      local k = h.read(pd .. "/privkey.pem")
      assert.matches("^%-%-%-%-%-BEGIN RSA PRIVATE KEY%-%-%-%-%-\n", k)
      assert.is_nil(k:find("ENCRYPTED", 1, true))
      local v, vrc = h.openssl("req -verify -noout -inform DER -in " .. h.q(pd .. "/request.der"))
      assert.equal(0, vrc, v)
      local text, trc = h.openssl("x509 -in " .. h.q(pd .. "/server.pem") .. " -noout -subject -ext subjectAltName,extendedKeyUsage,crlDistributionPoints")
      assert.equal(0, trc, text)
      assert.matches("CN%s*=%s*" .. peer:gsub("%.", "%%."), text)
      assert.matches("DNS:" .. peer .. ", DNS:cluster.example.com", text, 1, true)
      assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, 1, true)
      assert.matches("URI:http://127.0.0.1:%d+/ca.crl", text)
      local m1 = h.openssl("x509 -in " .. h.q(pd .. "/server.pem") .. " -noout -pubkey")
      local m2, prc = h.openssl("pkey -in " .. h.q(pd .. "/privkey.pem") .. " -pubout")
      assert.equal(0, prc, m2)
      assert.equal(m1, m2)
      v = h.openssl("verify -CAfile " .. h.q(ca) .. " -purpose sslclient " .. h.q(pd .. "/server.pem"))
      assert.matches(": OK", v, 1, true)
      -- the PFX opens with the password the demo kept, and holds that key and certificate
      local pfx_text, xrc = h.openssl("pkcs12 -in " .. h.q(pd .. "/" .. peer .. ".pfx") .. " -nodes -passin "
        .. h.q("file:" .. dir .. "/cluster/secrets/pfx.pass"))
      assert.equal(0, xrc, pfx_text)
      assert.matches("subject=.-CN%s*=%s*" .. peer:gsub("%.", "%%."), pfx_text)
      assert.matches("CN%s*=%s*cluster.example.com Root CA", pfx_text)
    end
    assert.equal("600", h.mode(dir .. "/cluster/secrets/ca.pass"))
    assert.equal("600", h.mode(dir .. "/cluster/secrets/pfx.pass"))
    -- the CA key is encrypted with the kept password
    local _, krc = h.openssl("pkey -noout -in " .. h.q(dir .. "/cluster/ca/private/cakey.pem") .. " -passin pass:wrong")
    assert.not_equal(0, krc)
    local kt, krc2 = h.openssl("pkey -noout -in " .. h.q(dir .. "/cluster/ca/private/cakey.pem") .. " -passin "
      .. h.q("file:" .. dir .. "/cluster/secrets/ca.pass"))
    assert.equal(0, krc2, kt)
  end)

  it("mirrors a CRL that openssl finds the revoked peer in, and only that one", function()
    assert.equal(0, rc, out)
    local mirrored = out:match("CRL mirror  (%S+%.pem)")
    assert.truthy(mirrored, out)
    local ca = dir .. "/cluster/ca.pem"
    local crl_text, crc = h.openssl("crl -in " .. h.q(mirrored) .. " -noout -text")
    assert.equal(0, crc, crl_text)
    assert.matches("Key Compromise", crl_text, 1, true)
    for _, peer in ipairs(PEERS) do
      local v = h.openssl("verify -crl_check -CAfile " .. h.q(ca) .. " -CRLfile " .. h.q(mirrored) .. " "
        .. h.q(dir .. "/cluster/" .. peer .. "/server.pem"))
      if peer == "vcs3.example.com" then
        assert.matches("certificate revoked", v, 1, true)
      else
        assert.matches(": OK", v, 1, true)
      end
    end
    -- the mirror folder is an OpenSSL hash folder too
    local v = h.openssl("verify -crl_check -CApath " .. h.q(dir .. "/crl-mirror") .. " "
      .. h.q(dir .. "/cluster/vcs3.example.com/server.pem"))
    assert.matches("certificate revoked", v, 1, true)
  end)

  it("builds the upload files and a self-signed test certificate that openssl accepts", function()
    assert.equal(0, rc, out)
    local up, ss = dir .. "/upload", dir .. "/selfsigned"
    assert.matches("upload      " .. up .. "/ca.pem (trusted CA file by vcs cafile: 1 CA certificate), " .. up
      .. "/crls.pem (CRLs by crl bundle: 1)", out, 1, true)
    assert.matches("self-signed " .. ss .. "/privkey.pem, " .. ss .. "/server.pem", out, 1, true)
    -- the CA file holds the root only (the PFX's leaf left out), and with the CRL file openssl
    -- finds the revoked peer revoked and the others good
    local text = h.read(up .. "/ca.pem")
    local _, n = text:gsub("BEGIN CERTIFICATE", "")
    assert.equal(1, n)
    for _, peer in ipairs(PEERS) do
      local v = h.openssl(("verify -crl_check -CAfile %s -CRLfile %s %s"):format(h.q(up .. "/ca.pem"), h.q(up .. "/crls.pem"),
        h.q(dir .. "/cluster/" .. peer .. "/server.pem")))
      if peer == "vcs3.example.com" then assert.matches("certificate revoked", v, 1, true)
      else assert.matches(": OK", v, 1, true) end
    end
    assert.equal("600", h.mode(ss .. "/privkey.pem"))
    local v = h.openssl(("verify -CAfile %s -purpose sslserver %s"):format(h.q(ss .. "/server.pem"), h.q(ss .. "/server.pem")))
    assert.matches(": OK", v, 1, true)
    local t = h.openssl("x509 -noout -text -in " .. h.q(ss .. "/server.pem"))
    assert.matches("CA:FALSE", t, 1, true)
    assert.matches("DNS:lab.example.com", t, 1, true)
  end)

  it("leaves no server running", function()
    assert.equal(0, rc, out)
    for _, name in ipairs { "http.server", "s_server" } do
      local gone, pid = pid_gone(dir .. "/logs/" .. name .. ".pid")
      assert.is_true(gone, name .. " (pid " .. pid .. ") is still running")
    end
  end)

  it("remakes its own folder on a second run, and refuses one it did not make", function()
    assert.equal(0, rc, out)
    local old = h.read(dir .. "/cluster/ca/cacert.pem")
    local out2, rc2 = h.certbench("run " .. h.q(h.root .. "/scripts/demo.lua") .. " " .. h.q(dir))
    assert.equal(0, rc2, out2)
    assert.not_equal(old, h.read(dir .. "/cluster/ca/cacert.pem"))
    local other = h.tmpdir()
    h.write(other .. "/precious.txt", "keep me")
    local out3, rc3 = h.certbench("run " .. h.q(h.root .. "/scripts/demo.lua") .. " " .. h.q(other))
    assert.equal(1, rc3)
    assert.matches("is not empty and was not made by the demo", out3, 1, true)
    assert.equal("keep me", h.read(other .. "/precious.txt"))
  end)

  it("stops both servers when a step fails", function()
    local d = h.tmpdir() .. "/failing"
    local o, r = h.run("CERTBENCH_DEMO_FAIL=late " .. h.q(h.bin) .. " run " .. h.q(h.root .. "/scripts/demo.lua") .. " " .. h.q(d))
    assert.equal(1, r, o)
    assert.matches("failing on purpose", o, 1, true)
    for _, name in ipairs { "http.server", "s_server" } do
      local gone, pid = pid_gone(d .. "/logs/" .. name .. ".pid")
      assert.is_true(gone, name .. " (pid " .. pid .. ") is still running")
    end
  end)

  it("stops both servers when it is interrupted (SIGTERM, as SIGINT)", function()
    local d = h.tmpdir() .. "/interrupted"
    local o, r = h.run(("%s run %s %s & pid=$!\n"
      .. "for i in $(seq 200); do [ -s %s ] && break; sleep 0.05; done\n"
      .. "kill -TERM $pid; wait $pid; echo \"demo-rc=$?\""):format(h.q(h.bin), h.q(h.root .. "/scripts/demo.lua"), h.q(d),
      h.q(d .. "/logs/http.server.pid")))
    assert.equal(0, r, o)
    assert.matches("demo%-rc=1", o)
    assert.matches("interrupted by SIGTERM; servers stopped", o, 1, true)
    local gone, pid = pid_gone(d .. "/logs/http.server.pid")
    assert.is_true(gone, "http.server (pid " .. pid .. ") is still running")
  end)
end)
