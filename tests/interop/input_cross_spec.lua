-- tests/interop/input_cross_spec.lua: every input form crossed with every command that takes that kind
-- of object. The objects are made with the openssl CLI; each form is made from them at test
-- time (openssl, zip, tar, gzip, iconv-free UTF-16 in Lua), served over HTTP by a
-- python3 -m http.server on 127.0.0.1 that the test starts, and piped on standard input. For
-- each (form, command), the objects the command saw are compared with the objects made: the
-- same set, whatever the form (certbench.input is the one way in).
local h = require "support.helper"
local servers = require "support.servers"
local cjson = require "cjson"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local pkey = require "certbench.pkey"
local pem = require "certbench.pem"

local dir, www, srv, url_base
local function p(name) return dir .. "/" .. name end
local function ossl(args) return h.sh("cd " .. h.q(dir) .. " && openssl " .. args .. " 2>&1") end

local function cb(args, stdin)
  local cmd = h.q(h.bin) .. " " .. args
  if stdin then cmd = cmd .. " < " .. h.q(stdin) end
  local out, err, rc = h.run3(cmd)
  return out, err, rc
end

local function cbjson(args, stdin)
  local out, err, rc = cb("--json " .. args, stdin)
  assert(rc == 0, args .. " failed (" .. tostring(rc) .. "): " .. err .. out)
  return cjson.decode(out)
end

-- identities: what "the same object" means for each kind
local ID = {
  certificate = function(der) return assert(x509.load(der)):fingerprint("sha256") end,
  crl = function(der) local c = assert(crl.load(der)) return c:issuer():text() .. "#" .. tostring(c:number()) end,
  private_key = function(text) return assert(pkey.load(text)):fingerprint() end,
  csr = function(der) return assert(require("certbench.csr").load(der)):subject():text() end,
}

local function sorted(t) table.sort(t) return t end

-- the objects of a PEM file certbench wrote, as identities
local function ids_of_pem(kind, text)
  local out = {}
  for _, b in ipairs((pem.blocks(text))) do
    assert(not b.error, "bad block in output: " .. tostring(b.error))
    if kind == "private_key" then
      out[#out + 1] = ID.private_key(pem.encode(b.label, b.der))
    else
      out[#out + 1] = ID[kind](b.der)
    end
  end
  return sorted(out)
end

local made = {} -- kind -> { ders } (keys: PEM texts)
local forms = {} -- kind -> { {name=, path= | url= | stdin=, passin=, expect = ids} }

local function utf16(text)
  text = text:gsub("\r?\n", "\r\n")
  return "\255\254" .. text:gsub(".", "%0\0")
end

local function b64(der)
  local s = pem.b64encode(der)
  return (s:gsub(("."):rep(64), "%0\r\n")) .. "\r\n"
end

-- add_forms(kind, pemtext, ders, opts): every form of the objects
local function add_forms(kind, pemtext, ders, opts)
  local ids = {}
  for _, d in ipairs(ders) do ids[#ids + 1] = ID[kind](d) end
  ids = sorted(ids)
  local first = { ID[kind](ders[1]) }
  local list = {}
  local function add(name, content, expect, extra)
    local f = p(kind .. "." .. name)
    h.write(f, content)
    local e = { name = name, path = f, expect = expect or ids }
    for k, v in pairs(extra or {}) do e[k] = v end
    list[#list + 1] = e
    return f
  end
  add("pem", pemtext)
  add("pem-crlf", (pemtext:gsub("\n", "\r\n")))
  add("utf16", utf16(pemtext))
  add("der", ders[1], first)
  add("b64.cer", b64(ders[1]), first)
  -- archives of the members, made with the real tools
  local mdir = p(kind .. "-members")
  h.sh("mkdir -p " .. h.q(mdir))
  h.write(mdir .. "/all.pem", pemtext)
  h.write(mdir .. "/first.der", ders[1])
  h.write(mdir .. "/README.txt", "these are test files\n")
  local both = {}
  for _, x in ipairs(ids) do both[#both + 1] = x end
  both[#both + 1] = first[1]
  both = sorted(both)
  h.sh(("cd %s && zip -q %s all.pem first.der README.txt"):format(h.q(mdir), h.q(p(kind .. ".zip"))))
  list[#list + 1] = { name = "zip", path = p(kind .. ".zip"), expect = both }
  h.sh(("cd %s && tar cf %s all.pem first.der README.txt"):format(h.q(mdir), h.q(p(kind .. ".tar"))))
  list[#list + 1] = { name = "tar", path = p(kind .. ".tar"), expect = both }
  h.sh(("cd %s && tar czf %s all.pem first.der README.txt"):format(h.q(mdir), h.q(p(kind .. ".tar.gz"))))
  list[#list + 1] = { name = "tar.gz", path = p(kind .. ".tar.gz"), expect = both }
  h.sh(("gzip -c %s > %s"):format(h.q(mdir .. "/all.pem"), h.q(p(kind .. ".pem.gz"))))
  list[#list + 1] = { name = "gz", path = p(kind .. ".pem.gz"), expect = ids }
  if opts.p7b then
    list[#list + 1] = { name = "p7b", path = opts.p7b, expect = ids }
  end
  if opts.pfx then
    list[#list + 1] = { name = "pfx", path = opts.pfx, expect = ids, passin = "pass:pw" }
  end
  -- over HTTP and on standard input
  h.write(www .. "/" .. kind .. ".pem", pemtext)
  list[#list + 1] = { name = "url", url = url_base .. "/" .. kind .. ".pem", expect = ids }
  list[#list + 1] = { name = "stdin", stdin = p(kind .. ".pem"), expect = ids }
  forms[kind] = list
end

local function source(f) return f.url or (f.stdin and "-") or h.q(f.path) end

setup(function()
  dir = h.tmpdir()
  www = dir .. "/www"
  h.sh("mkdir -p " .. h.q(www))
  srv = servers.http(www)
  url_base = "http://127.0.0.1:" .. srv.port
  -- a root CA, a leaf, a CRL of the root, a key and a request
  ossl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -subj /CN=Cross-Root -days 30 -addext basicConstraints=critical,CA:true -addext keyUsage=keyCertSign,cRLSign")
  ossl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=cross.example.com")
  ossl("x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -out leaf.pem -days 10")
  h.write(p("ca.cnf"), ("[ca]\ndefault_ca=c\n[c]\ndatabase=%s\ncrlnumber=%s\ndefault_md=sha256\ndefault_crl_days=10\n")
    :format(p("index.txt"), p("crlnumber")))
  h.write(p("index.txt"), "")
  h.write(p("crlnumber"), "05\n")
  ossl("ca -config ca.cnf -gencrl -keyfile root.key -cert root.pem -out root.crl")
  ossl("pkcs8 -topk8 -nocrypt -in leaf.key -out leaf.p8")
  local der = function(cmd) ossl(cmd) end
  der("x509 -in leaf.pem -outform DER -out leaf.der")
  der("x509 -in root.pem -outform DER -out root.der")
  der("crl -in root.crl -outform DER -out root.crl.der")
  der("req -in leaf.csr -outform DER -out leaf.csr.der")
  der("pkey -in leaf.p8 -outform DER -out leaf.key.der")
  ossl("crl2pkcs7 -nocrl -certfile leaf.pem -certfile root.pem -outform DER -out chain.p7b")
  ossl("crl2pkcs7 -in root.crl -outform DER -out crl.p7b")
  ossl("pkcs12 -export -nokeys -in leaf.pem -certfile root.pem -out certs.pfx -passout pass:pw")
  ossl("pkcs12 -export -in leaf.pem -inkey leaf.key -out key.pfx -passout pass:pw")
  local chain_pem = h.read(p("leaf.pem")) .. h.read(p("root.pem"))
  add_forms("certificate", chain_pem, { h.read(p("leaf.der")), h.read(p("root.der")) },
    { p7b = p("chain.p7b"), pfx = p("certs.pfx") })
  add_forms("crl", h.read(p("root.crl")), { h.read(p("root.crl.der")) }, { p7b = p("crl.p7b") })
  add_forms("private_key", h.read(p("leaf.p8")), { h.read(p("leaf.key.der")) }, {})
  -- the key's PFX holds the leaf certificate too: only the key is compared
  forms.private_key[#forms.private_key + 1] = { name = "pfx", path = p("key.pfx"), passin = "pass:pw",
    expect = { ID.private_key(h.read(p("leaf.p8"))) } }
  add_forms("csr", h.read(p("leaf.csr")), { h.read(p("leaf.csr.der")) }, {})
  h.sh(("%s ca init %s --subject /CN=Cross-CA --passout pass:capw"):format(h.q(h.bin), h.q(p("ca"))))
end)

teardown(function() servers.stop(srv) end)

-- the commands, per kind: each returns the identities of the objects it saw
local COMMANDS = {
  certificate = {
    show = function(f)
      local j = cbjson("show " .. source(f) .. (f.passin and (" --passin " .. f.passin) or ""), f.stdin)
      local out = {}
      for _, o in ipairs(j.objects) do
        if o.certificate then out[#out + 1] = o.certificate.sha256 end
        for _, b in ipairs(o.pkcs12 and o.pkcs12.bags or {}) do
          if b.certificate then out[#out + 1] = b.certificate.sha256 end
        end
        for _, c in ipairs(o.pkcs7 and o.pkcs7.certificates or {}) do out[#out + 1] = c.sha256 end
      end
      return out
    end,
    convert = function(f)
      local o = p("out-" .. f.name .. "-" .. math.random(1 << 30) .. ".pem")
      cbjson("convert " .. source(f) .. " --to pem --out " .. h.q(o) .. (f.passin and (" --passin " .. f.passin) or ""), f.stdin)
      return ids_of_pem("certificate", h.read(o))
    end,
    ["pfx split"] = function(f)
      local d = p("split-" .. f.name .. "-" .. math.random(1 << 30))
      cbjson("pfx split " .. source(f) .. " --out-dir " .. h.q(d) .. (f.passin and (" --passin " .. f.passin) or ""), f.stdin)
      return ids_of_pem("certificate", h.read(d .. "/certs.pem"))
    end,
  },
  crl = {
    show = function(f)
      local j = cbjson("show " .. source(f), f.stdin)
      local out = {}
      for _, o in ipairs(j.objects) do
        if o.crl then out[#out + 1] = o.crl.issuer .. "#" .. tostring(o.crl.number) end
        for _, c in ipairs(o.pkcs7 and o.pkcs7.crls or {}) do out[#out + 1] = c.issuer .. "#" .. tostring(c.number) end
      end
      return out
    end,
    convert = function(f)
      local o = p("out-crl-" .. f.name .. "-" .. math.random(1 << 30) .. ".pem")
      cbjson("convert " .. source(f) .. " --to pem --out " .. h.q(o), f.stdin)
      return ids_of_pem("crl", h.read(o))
    end,
    ["crl info"] = function(f)
      local j = cbjson("crl info " .. source(f), f.stdin)
      local out = {}
      for _, c in ipairs(j.crls) do
        assert(not c.error, c.error)
        out[#out + 1] = c.issuer .. "#" .. tostring(c.number)
      end
      return out
    end,
  },
  private_key = {
    show = function(f)
      local j = cbjson("show " .. source(f) .. (f.passin and (" --passin " .. f.passin) or ""), f.stdin)
      local out = {}
      for _, o in ipairs(j.objects) do
        if o.key then out[#out + 1] = o.key.fingerprint end
        for _, b in ipairs(o.pkcs12 and o.pkcs12.bags or {}) do
          if b.key then out[#out + 1] = b.key.fingerprint end
        end
      end
      return out
    end,
    convert = function(f)
      local o = p("out-key-" .. f.name .. "-" .. math.random(1 << 30) .. ".pem")
      cbjson("convert " .. source(f) .. " --to pem --out " .. h.q(o) .. (f.passin and (" --passin " .. f.passin) or ""), f.stdin)
      local out = {}
      for _, id in ipairs(ids_of_pem("private_key", (h.read(o):gsub("%-%-%-%-%-BEGIN CERTIFICATE.-END CERTIFICATE%-%-%-%-%-\n", ""))))
      do out[#out + 1] = id end
      return out
    end,
  },
  csr = {
    show = function(f)
      local j = cbjson("show " .. source(f), f.stdin)
      local out = {}
      for _, o in ipairs(j.objects) do if o.csr then out[#out + 1] = o.csr.subject end end
      return out
    end,
    convert = function(f)
      local o = p("out-csr-" .. f.name .. "-" .. math.random(1 << 30) .. ".pem")
      cbjson("convert " .. source(f) .. " --to pem --out " .. h.q(o), f.stdin)
      return ids_of_pem("csr", h.read(o))
    end,
  },
}

-- names: show writes "CN = x" (openssl's -nameopt), crl info "CN=x" (RFC 4514)
local function norm(_, ids)
  local out = {}
  for i, x in ipairs(ids) do out[i] = (x:gsub(" = ", "=")) end
  return sorted(out)
end

describe("every input form x every command that takes it", function()
  for _, kind in ipairs { "certificate", "crl", "private_key", "csr" } do
    for cname, run in pairs(COMMANDS[kind]) do
      it(("%s: %s sees the same objects in every form"):format(kind, cname), function()
        local seen = 0
        for _, f in ipairs(forms[kind]) do
          assert.same(norm(kind, f.expect), norm(kind, run(f)), ("%s via %s"):format(f.name, cname))
          seen = seen + 1
        end
        assert.is_true(seen >= 11, "forms tried: " .. seen)
      end)
    end
  end

  it("ca issue --csr takes the request in every form", function()
    local n = 0
    for _, f in ipairs(forms.csr) do
      if f.name ~= "zip" and f.name ~= "tar" and f.name ~= "tar.gz" then -- those hold it twice
        local out = p("issued-" .. f.name .. ".pem")
        local _, err, rc = cb(("ca issue %s --csr %s --out %s --passin pass:capw"):format(h.q(p("ca")), source(f), h.q(out)), f.stdin)
        assert.equal(0, rc, f.name .. ": " .. err)
        assert.equal(ID.csr(h.read(p("leaf.csr.der"))), assert(x509.load(h.read(out))):subject():text(), f.name)
        n = n + 1
      end
    end
    assert.is_true(n >= 8)
  end)
end)

describe("interop: what certbench.input reads from tar/zip/p7b is what openssl reads from the members", function()
  local input = require "certbench.input"
  it("tar.gz, zip, p7b of certificates and CRLs", function()
    -- openssl's view: each extracted member, read by openssl itself
    local x = p("extract")
    h.sh("mkdir -p " .. h.q(x) .. " && cd " .. h.q(x) .. " && tar xzf " .. h.q(p("certificate.tar.gz")))
    local theirs = {}
    for _, m in ipairs { "all.pem", "first.der" } do
      local form = m:match("der$") and "DER" or "PEM"
      local f = x .. "/" .. m
      if form == "DER" then
        h.sh(("openssl x509 -inform DER -in %s -out %s"):format(h.q(f), h.q(f .. ".pem")))
        f = f .. ".pem"
      end
      local text = h.sh(("openssl crl2pkcs7 -nocrl -certfile %s | openssl pkcs7 -print_certs"):format(h.q(f)))
      for _, c in ipairs(assert(x509.load_all(text))) do theirs[#theirs + 1] = c:fingerprint("sha256") end
    end
    for _, archive in ipairs { "certificate.tar.gz", "certificate.zip", "certificate.tar" } do
      local r = assert(input.read(p(archive)))
      assert.same({}, r.unknown)
      local ours = {}
      for _, o in ipairs(input.of(r, "certificate")) do ours[#ours + 1] = ID.certificate(o.der) end
      assert.same(sorted(theirs), sorted(ours), archive)
      assert.equal(1, #r.skipped) -- README.txt, said, not dropped in silence
    end
    -- a p7b made by openssl crl2pkcs7: openssl pkcs7 -print_certs lists what input reads
    local printed = h.sh("openssl pkcs7 -inform DER -in " .. h.q(p("chain.p7b")) .. " -print_certs")
    local want = {}
    for _, c in ipairs(assert(x509.load_all(printed))) do want[#want + 1] = c:fingerprint("sha256") end
    local r = assert(input.read(p("chain.p7b")))
    local got = {}
    for _, o in ipairs(r.objects) do got[#got + 1] = ID.certificate(o.der) end
    assert.same(want, got) -- in the same order
    -- CRLs: openssl crl of the extracted member = what input reads from the tar.gz
    local y = p("extract-crl")
    h.sh("mkdir -p " .. h.q(y) .. " && cd " .. h.q(y) .. " && tar xzf " .. h.q(p("crl.tar.gz")))
    local their_der = h.sh("openssl crl -in " .. h.q(y .. "/all.pem") .. " -outform DER | base64 -w0")
    local rc = assert(input.read(p("crl.tar.gz")))
    local crls = input.of(rc, "crl")
    assert.equal(2, #crls)
    assert.equal(their_der:gsub("%s", ""), pem.b64encode(crls[1].der))
    assert.equal(h.read(y .. "/first.der"), crls[2].der)
  end)
end)
