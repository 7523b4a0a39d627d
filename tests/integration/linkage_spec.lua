-- certbench's crypto calls must bind to BoringSSL, and OpenSSL's libcrypto.so.3 must stay out of
-- its way. libzip and libcurl (through libssh2) depend on libcrypto.so.3, which exports the same
-- names as BoringSSL; certbench does not link them but opens them on first use (core/lib/dynlib.c)
-- with RTLD_DEEPBIND, so that:
--   - a command that needs neither (version, show, ca issue, pfx split) never loads
--     libcrypto.so.3, libcurl or libzip at all;
--   - a command that needs them (crl fetch of a ZIP over HTTP) loads libcrypto.so.3 isolated:
--     its references, and libzip's and libssh2's, bind to itself, none to BoringSSL, while
--     certbench's own still bind to BoringSSL.
-- LD_BIND_NOW makes the dynamic linker resolve every reference when an object is loaded, and
-- LD_DEBUG=bindings,files prints where each one went and which files were loaded.
local h = require "support.helper"
local servers = require "support.servers"

local BSSL = "/usr/lib/x86_64-linux-gnu/android/libcrypto.so.0"
local BSSL_SSL = "/usr/lib/x86_64-linux-gnu/android/libssl.so.0"
local OSSL = "libcrypto.so.3"

-- ld(cmd) -> bindings {from=, to=, sym=}, files {basename = true}, output, exit code.
-- The linker's trace goes to files (LD_DEBUG_OUTPUT), so the command's own output stays apart.
local function ld(cmd)
  local dir = h.tmpdir()
  local out, rc = h.run(("cd %s && LD_BIND_NOW=1 LD_DEBUG=bindings,files LD_DEBUG_OUTPUT=%s/ld %s")
    :format(h.q(h.root), h.q(dir), cmd))
  local trace = h.run("cat " .. h.q(dir) .. "/ld.*")
  local list, files = {}, {}
  for from, to, sym in trace:gmatch("binding file (%S+) %[%d+%] to (%S+) %[%d+%]: normal symbol `([^']+)'") do
    list[#list + 1] = { from = from, to = to, sym = sym }
  end
  for f in trace:gmatch("file=(%S+) %[%d+%];") do files[f:match("[^/]+$")] = true end
  return list, files, out, rc
end

-- symbols every build of certbench calls, whatever modules it has
local EXPECTED = { "RAND_bytes", "OpenSSL_version", "OPENSSL_cleanse", "ERR_get_error_line" }

local function check(list, from_pattern)
  local to_bssl, to_ossl = {}, {}
  for _, b in ipairs(list) do
    if b.from:find(from_pattern) then
      if b.to == BSSL or b.to == BSSL_SSL then to_bssl[b.sym] = true end
      if b.to:find(OSSL, 1, true) then to_ossl[#to_ossl + 1] = b.sym end
    end
  end
  local missing = {}
  for _, s in ipairs(EXPECTED) do if not to_bssl[s] then missing[#missing + 1] = s end end
  return missing, to_ossl
end

local function cb(args) return h.q(h.root .. "/build/certbench") .. " " .. args end

describe("linkage", function()
  local dir
  setup(function()
    dir = h.tmpdir()
    local function openssl(args)
      local out, rc = h.openssl(args)
      assert(rc == 0, "openssl " .. args .. "\n" .. out)
    end
    openssl(("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=Link "
      .. "-keyout %s/key.pem -out %s/cert.pem"):format(dir, dir))
    openssl(("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=leaf.example.com "
      .. "-keyout %s/leaf.key -out %s/leaf.csr"):format(dir, dir))
    openssl(("pkcs12 -export -inkey %s/key.pem -in %s/cert.pem -passout pass:pw -out %s/a.pfx")
      :format(dir, dir, dir))
    local out, rc = h.run(cb(("ca init %s/ca --subject /CN=LinkCA --key ec:P-256 --no-encrypt"):format(dir)))
    assert(rc == 0, out)
  end)

  it("the program's crypto symbols bind to BoringSSL, none to OpenSSL's libcrypto.so.3", function()
    local list = ld(cb("version"))
    assert.is_true(#list > 100, "LD_DEBUG printed no bindings")
    local missing, to_ossl = check(list, "build/certbench$")
    assert.same({}, missing)   -- these went to BoringSSL
    assert.same({}, to_ossl)   -- and nothing went to OpenSSL
  end)

  it("the program links neither libcurl, libzip nor libssl (they are opened on first use)", function()
    local out = h.sh("readelf -d " .. h.q(h.root .. "/build/certbench") .. " " .. h.q(h.root .. "/build/certbench.so"))
    assert.matches("libcrypto%.so%.0", out)   -- readelf printed the NEEDED entries
    assert.not_matches("libcurl", out)
    assert.not_matches("libzip", out)
    assert.not_matches("libcrypto%.so%.3", out)
    assert.not_matches("libssl", out)
    assert.not_matches("libstdc%+%+", out)
  end)

  for _, c in ipairs {
    { "version", "version" },
    { "show", "show %s/cert.pem" },
    { "ca issue", "ca issue %s/ca --csr %s/leaf.csr --out %s/leaf.pem" },
    { "pfx split", "pfx split %s/a.pfx --passin pass:pw --out-dir %s/split" },
  } do
    it(c[1] .. " never loads libcrypto.so.3, libcurl, libzip, nor libssl and the libstdc++ it brings", function()
      local args = c[2]:gsub("%%s", dir)
      local list, files, out, rc = ld(cb(args))
      assert.equal(0, rc, out)
      assert.is_true(files["libcrypto.so.0"], "LD_DEBUG listed no files: the test would be moot")
      assert.is_nil(files[OSSL])
      assert.is_nil(files["libcurl-gnutls.so.4"])
      assert.is_nil(files["libzip.so.4"])
      assert.is_nil(files["libssl.so.0"])
      assert.is_nil(files["libstdc++.so.6"])
      local missing, to_ossl = check(list, "build/certbench$")
      assert.same({}, missing)
      assert.same({}, to_ossl)
    end)
  end

  it("crl fetch of a ZIP over HTTP loads libcrypto.so.3 isolated: it binds to itself, never to BoringSSL", function()
    local ca = servers.make_ca(dir, "Link CRL CA")
    local crl = servers.make_crl(dir, ca)
    local www = dir .. "/www"
    h.sh(("mkdir -p %s && cp %s %s/a.crl && cd %s && zip -q crls.zip a.crl"):format(h.q(www), h.q(crl), h.q(www), h.q(www)))
    local srv = servers.http(www)
    local list, files, out, rc = ld(cb(("crl fetch -o %s/fetched --ca %s http://127.0.0.1:%d/crls.zip")
      :format(h.q(dir), h.q(ca.cert), srv.port)))
    servers.stop(srv)
    assert.equal(0, rc, out)
    assert.matches("1 CRL", out)
    -- the libraries were really loaded, with libcrypto.so.3: the test would prove nothing otherwise
    assert.is_true(files[OSSL], "libcrypto.so.3 is not loaded: the test is moot")
    assert.is_true(files["libcurl-gnutls.so.4"])
    assert.is_true(files["libzip.so.4"])
    -- certbench's own references: BoringSSL
    local missing, to_ossl = check(list, "build/certbench$")
    assert.same({}, missing)
    assert.same({}, to_ossl)
    -- only certbench and BoringSSL's own libssl bind to BoringSSL's libcrypto; nothing that
    -- came with libcurl or libzip does
    local strays, self_refs, from_users = {}, 0, 0
    for _, b in ipairs(list) do
      local to_b = b.to == BSSL or b.to == BSSL_SSL
      if to_b and not (b.from:find("build/certbench$") or b.from == BSSL or b.from == BSSL_SSL) then
        strays[#strays + 1] = b.from .. ": " .. b.sym
      end
      if b.from:find(OSSL, 1, true) and b.to:find(OSSL, 1, true) then self_refs = self_refs + 1 end
      if (b.from:find("libzip", 1, true) or b.from:find("libssh2", 1, true)) and b.to:find(OSSL, 1, true) then
        from_users = from_users + 1
      end
    end
    assert.same({}, strays)
    assert.is_true(self_refs > 1000, "libcrypto.so.3 bound only " .. self_refs .. " references to itself")
    assert.is_true(from_users > 10, "libzip and libssh2 bound " .. from_users .. " references to libcrypto.so.3")
  end)

  it("a TLS handshake opens BoringSSL's libssl: it binds to BoringSSL's libcrypto, never to libcrypto.so.3", function()
    local www = dir .. "/tlswww"
    h.sh("mkdir -p " .. h.q(www))
    local srv = servers.https(www, dir .. "/cert.pem", dir .. "/key.pem")
    local script = dir .. "/hs.lua"
    h.write(script, ("local r, err = require('certbench.tls').handshake{ host = '127.0.0.1', port = %d, "
      .. "ca_file = %q, peer_name = 'Link' }\nprint(r and r.version or err)\n"):format(srv.port, dir .. "/cert.pem"))
    local list, files, out, rc = ld(cb("run " .. h.q(script)))
    servers.stop(srv)
    assert.equal(0, rc, out)
    assert.matches("TLSv1%.[23]", out)
    assert.is_true(files["libssl.so.0"], "libssl.so.0 was not loaded: the test is moot")
    assert.is_nil(files[OSSL])
    local from_ssl, strays = 0, {}
    for _, b in ipairs(list) do
      if b.from == BSSL_SSL then
        if b.to == BSSL then from_ssl = from_ssl + 1 end
        if b.to:find(OSSL, 1, true) then strays[#strays + 1] = b.sym end
      end
    end
    assert.same({}, strays)
    assert.is_true(from_ssl > 100, "libssl bound only " .. from_ssl .. " references to BoringSSL's libcrypto")
  end)

  it("the module for a stock lua5.4 binds to BoringSSL too", function()
    local list = ld("lua5.4 -e 'package.cpath=\"build/?.so;\"..package.cpath; require(\"certbench\")'")
    local missing, to_ossl = check(list, "build/certbench%.so$")
    assert.same({}, missing)
    assert.same({}, to_ossl)
  end)

  it("at run time the library answering is BoringSSL", function()
    assert.is_true(require("_certbench.info").is_boringssl())
    assert.matches("^BoringSSL", require("certbench").versions().boringssl)
  end)
end)
