-- spec/options_tables_spec.lua: every options table of the core's API (crl, input, archive, ui,
-- detect, outputs included) and of the pfx and convert
-- libraries rejects a key it does not know, naming the function and the key (a misspelt
-- option would otherwise be ignored in silence), and accepts every key its header documents.
-- One table drives both checks: the function, the arguments it needs, and its documented keys
-- with a value of the right type (each is passed alone with the required ones; the call may
-- still fail for another reason, e.g. no server on port 1, but never as an unknown option).
local h = require "support.helper"
local x509 = require "certbench.x509"
local csr = require "certbench.csr"
local pkey = require "certbench.pkey"
local http = require "certbench.http"
local tls = require "certbench.tls"
local pkcs12 = require "certbench.pkcs12"
local pkcs7 = require "certbench.pkcs7"
local store = require "certbench.store"
local ocsp = require "certbench.ocsp"
local secret = require "certbench.secret"
local fs = require "certbench.fs"
local pfx = require "certbench.plugins.pfx"
local convert = require "certbench.plugins.convert"
local crl = require "certbench.crl"
local input = require "certbench.input"
local archive = require "certbench.archive"
local ui = require "certbench.ui"
local detect = require "certbench.detect"
local outputs = require "certbench.outputs"

local key = assert(pkey.generate("ec:P-256"))
local ca = assert(x509.new { subject = "/CN=options CA", issuer_key = key, ca = true, days = 1 })
local req = assert(csr.new { subject = "/CN=options.example.com", key = key })
local dir = h.tmpdir()
local URL = "http://127.0.0.1:1/x.crl" -- refused at once: nothing is downloaded

-- the extension options x509.new and csr.new share (core/lib/extopts.lua)
local EXT = {
  san = { "DNS:a.example.com" }, san_critical = false, key_usage = { "digitalSignature" },
  key_usage_critical = true, eku = { "serverAuth" }, eku_critical = false,
  crl_distribution_points = { "http://crl.example.com/a.crl" }, ocsp_urls = { "http://ocsp.example.com" },
  ca_issuers_urls = { "http://ca.example.com/ca.cer" }, policies = { "2.5.29.32.0" },
  basic_constraints = { ca = false }, ca = false, path_len = 0,
  extensions = { { name = "nsComment", value = "x" } }, digest = "sha384",
}
local a_crl = assert(crl.new { issuer = ca, key = key, days = 1 })
local CRL_NEW = { issuer = ca, key = key }
local function crl_new(t)
  local o = { issuer = ca, key = key }
  for k, v in pairs(t) do o[k] = v end
  return o
end
local INPUT_OPTS = { password = "pw", limits = { max_members = 10 }, max_size = 1000,
  http = { timeout = 1 }, name = "x.pem", pkcs12 = "keep" }
local ARCHIVE_OPTS = { name = "x.zip", max_members = 10, max_total = 1000, max_member = 1000,
  max_ratio = 10, ratio_grace = 10, max_depth = 1 }

local function with_ext(t)
  for k, v in pairs(EXT) do t[k] = v end
  return t
end

local HTTP_OPTS = {
  method = "GET", connect_timeout = 1, timeout = 1, low_speed = { 1, 1 }, max_size = 1000,
  max_redirects = 0, ca_file = "/nonexistent.pem", ca_path = "/nonexistent", insecure = false,
  headers = { "X-A: b" }, etag = '"x"', if_modified_since = 0, to_file = dir .. "/got.crl",
  to_file_over = 10, fail_on_status = true, proxy = "", no_proxy = "*", user_agent = "t",
  verbose = false,
}

local CASES = {
  { "x509.new", function(o) return x509.new(o) end, { subject = "/CN=x", issuer_key = key },
    with_ext { subject = "/CN=x", issuer = ca, issuer_key = key, public_key = key, csr = req,
               copy_extensions = true, verify_csr = true, serial = "0A", not_before = 1700000000,
               not_after = 1800000000, days = 2, ski = false, aki = false } },
  { "x509.new_many", function(o) return x509.new_many({}, o) end, {}, { pem = true } },
  { "csr.new", function(o) return csr.new(o) end, { subject = "/CN=x", key = key },
    with_ext { subject = "/CN=x", key = key, attributes = { challengePassword = "pw" } } },
  { "http.get", function(o) return http.get(URL, o) end, {}, HTTP_OPTS },
  { "http.post", function(o) return http.post(URL, "body", o) end, {}, HTTP_OPTS },
  { "http.request", function(o) return http.request(o) end, { url = URL },
    (function()
      local t = { url = URL, body = "b" }
      for k, v in pairs(HTTP_OPTS) do t[k] = v end
      return t
    end)() },
  { "tls.handshake", function(o) return tls.handshake(o) end, { host = "127.0.0.1", port = 1 },
    { host = "127.0.0.1", port = 1, peer_name = "a.example.com", sni = false, ca_file = { ca },
      store = nil, cert = "/nonexistent.pem", key = "/nonexistent.key", key_password = "pw",
      chain = { ca }, timeout = 1, alpn = "h2", version = "TLSv1.3", min_version = "TLSv1.2",
      max_version = "TLSv1.3", settle = 0, time = 1700000000, purpose = "sslserver" } },
  { "tls.verify", function(o) return tls.verify({ chain = { ca } }, o) end, {},
    { ca_file = { ca }, peer_name = "a.example.com", host = "a.example.com", time = 1700000000,
      purpose = "sslserver" } },
  { "pkcs12.parse", function(o) return pkcs12.parse("x", nil, o) end, {},
    { name = "x.pfx", max_iterations = 1000, verify_mac = false } },
  { "pkcs12.read", function(o) return pkcs12.read(dir .. "/none.pfx", nil, o) end, {},
    { name = "x.pfx", max_iterations = 1000, verify_mac = false } },
  { "pkcs12.build", function(o) return pkcs12.build(o) end, { key = key, cert = ca },
    { key = key, cert = ca, chain = { ca }, password = "pw", friendly_name = "f", profile = "legacy",
      iterations = 2, mac_iterations = 2, key_pbe = "3des", cert_pbe = "none", mac = "sha1", prf = "sha1",
      key_id = false } },
  { "pkcs7.load", function(o) return pkcs7.load("x", o) end, {}, { name = "x.p7b" } },
  { "pkcs7.read", function(o) return pkcs7.read(dir .. "/none.p7b", o) end, {}, { name = "x.p7b" } },
  { "pkcs7.build", function(o) return pkcs7.build(o) end, {}, { certs = { ca }, crls = {} } },
  { "pkey.load", function(o) return pkey.load("x", o) end, {},
    { password = "pw", format = "pem", name = "k.pem", max_iter = 10 } },
  { "pkey.load_file", function(o) return pkey.load_file(dir .. "/none.key", o) end, {},
    { password = "pw", format = "der", name = "k.pem", max_iter = 10 } },
  { "key:to_pem", function(o) return key:to_pem(o) end, {},
    { format = "pkcs8", password = "pw", cipher = "aes-128-cbc", iter = 1000 } },
  { "key:to_der", function(o) return key:to_der(o) end, {}, { format = "pkcs8", password = "pw", cipher = "aes-128-cbc", iter = 1000 } },
  { "key:save", function(o) return key:save(dir .. "/saved.key", o) end, {},
    { form = "der", force = true, format = "pkcs8", password = "pw", cipher = "aes-128-cbc", iter = 1000 } },
  { "key:sign", function(o) return key:sign("data", o) end, {}, { digest = "sha384", padding = "pkcs1" } },
  { "key:verify", function(o) return key:verify("data", "sig", o) end, {}, { digest = "sha384", padding = "pkcs1" } },
  { "store.new", function(o) return store.new(o) end, {}, { cas = { ca }, crls = {}, untrusted = { ca } } },
  { "store.load_file", function(o) return store.load_file(dir .. "/none.pem", o) end, {},
    { cas = { ca }, crls = {}, untrusted = { ca } } },
  { "store.find_issuer", function(o) return store.find_issuer(ca, { ca }, o) end, {},
    { noun = "trusted CA", among = "the trusted CAs" } },
  { "store:verify", function(o) return assert(store.new { cas = { ca } }):verify(ca, o) end, {},
    { untrusted = {}, crls = {}, purpose = "sslserver", host = "a.example.com", ip = "192.0.2.1",
      email = "a@example.com", time = 1700000000, crl_check = false, policies = { "anyPolicy" },
      policy_check = false, explicit_policy = false, inhibit_policy_mapping = false,
      inhibit_any_policy = false, partial_chain = false, max_depth = 5, extended_crl = false,
      use_deltas = false, check_ss_signature = false, profile = "openssl", ekus = { "serverAuth" },
      key_usage = { "digitalSignature" } } },
  { "ocsp.request", function(o) return ocsp.request(o) end, { cert = ca, issuer = ca },
    { cert = ca, issuer = ca, serial = "0A", nonce = true, digest = "sha256" } },
  { "ocsp.check", function(o) return ocsp.check(o) end, { cert = ca, issuer = ca, url = URL },
    { cert = ca, issuer = ca, url = URL, nonce = false, method = "get", digest = "sha1", timeout = 1,
      connect_timeout = 1, trusted = { ca }, store = nil, time = 1700000000, skew = 1, max_age = 1,
      ca_file = "/nonexistent.pem" } },
  { "secret.get", function(o) return secret.get("pass:x", o) end, {},
    { prompt = "p: ", confirm = false, what = "x" } },
  { "fs.write", function(o) return fs.write(dir .. "/w", "x", o) end, {},
    { mode = 420, exclusive = false, sync = false, key = false } },
  { "fs.writer", function(o) local w = fs.writer(dir .. "/wr", o) if w then w:close() end end, {},
    { mode = 420, exclusive = false, sync = false, key = false } },
  { "fs.write_key", function(o) return fs.write_key(dir .. "/wk", "x", o) end, {}, { force = true, mode = 384 } },
  { "fs.write_new", function(o) return fs.write_new(dir .. "/wn", "x", o) end, {}, { force = true, mode = 420 } },
  { "fs.append", function(o) return fs.append(dir .. "/a", "x", o) end, {}, { mode = 420, sync = false } },
  { "fs.create", function(o) return fs.create(dir .. "/cr" .. tostring(o), "x", o) end, {},
    { mode = 420, sync = false, async = false } },
  { "fs.pwrite", function(o) return fs.pwrite(dir .. "/pw", 0, "x", o) end, {}, { mode = 420, sync = false } },
  { "fs.link", function(o) return fs.link(dir .. "/w", dir .. "/ln", o) end, {}, { replace = true, sync = false } },
  { "fs.symlink", function(o) return fs.symlink(dir .. "/w", dir .. "/sl", o) end, {}, { replace = true, sync = false } },
  { "fs.mkdir", function(o) return fs.mkdir(dir .. "/d/e", o) end, {}, { mode = 448, parents = true } },
  { "fs.stat", function(o) return fs.stat(dir, o) end, {}, { follow = false } },
  { "fs.rename", function(o) return fs.rename(dir .. "/none", dir .. "/none2", o) end, {}, { sync = false } },
  { "fs.lock", function(o) local lk = fs.lock(dir .. "/lock", o) if lk then lk:unlock() end end, {},
    { shared = true, wait = false, pid = true, timeout = 1 } },
  { "pfx.info", function(o) return pfx.info(o) end, { file = dir .. "/none.pfx" },
    { file = dir .. "/none.pfx", passin = "pass:x" } },
  { "pfx.split", function(o) return pfx.split(o) end, { file = dir .. "/none.pfx", out_dir = dir },
    { file = dir .. "/none.pfx", out_dir = dir, passin = "pass:x", key_format = "pkcs8",
      key_passout = "pass:y", key = 1, force = true } },
  { "pfx.build", function(o) return pfx.build(o) end, { key = dir .. "/k", cert = dir .. "/c", out = dir .. "/o" },
    { key = dir .. "/k", cert = dir .. "/c", chain = dir .. "/ch", out = dir .. "/o", passin = "pass:x",
      passout = "pass:y", friendly_name = "f", profile = "modern", force = true } },
  { "pfx.decrypt_key", function(o) return pfx.decrypt_key(o) end, { file = dir .. "/k", out = dir .. "/o" },
    { file = dir .. "/k", out = dir .. "/o", passin = "pass:x", key_format = "pkcs8", force = true } },
  { "pfx.encrypt_key", function(o) return pfx.encrypt_key(o) end, { file = dir .. "/k", out = dir .. "/o" },
    { file = dir .. "/k", out = dir .. "/o", passin = "pass:x", passout = "pass:y", key_format = "pkcs8",
      cipher = "aes-256-cbc", force = true } },
  { "convert.data", function(o) return convert.data("x", "x.pem", "pem", o) end, {}, { password = "pw" } },
  { "convert.file", function(o) return convert.file(o) end, { file = dir .. "/none.cer", to = "pem" },
    { file = dir .. "/none.cer", to = "pem", out = dir .. "/o.pem", force = true, passin = "pass:x" } },
  { "convert.folder", function(o) return convert.folder(o) end, { dir = dir .. "/none", to = "pem", out_dir = dir },
    { dir = dir .. "/none", to = "pem", out_dir = dir .. "/out", force = true } },
  { "crl.new", function(o) return crl.new(o) end, CRL_NEW,
    crl_new { this_update = 1700000000, next_update = 1700086400, number = 1, entries = {},
      digest = "sha256", pss = false, freshest = { "http://crl.example.com/d.crl" }, sort = true,
      idp = { urls = { "http://crl.example.com/a.crl" } } } },
  -- days and hours are each other's alternative (next_update wins): apart
  { "crl.new", function(o) return crl.new(o) end, CRL_NEW, crl_new { days = 1, hours = 1 } },
  { "crl.new: idp", function(o) return crl.new(crl_new { idp = o }) end, {},
    { urls = { "http://crl.example.com/a.crl" }, only_user = true, only_some_reasons = { "keyCompromise" },
      indirect = false, only_attribute = false } },
  { "crl.new", function(o) return crl.new(o) end, CRL_NEW,
    crl_new { number = 2, delta_base = 1, idp = { only_ca = true } } },
  { "crl:write", function(o) return a_crl:write(dir .. "/w" .. tostring(o) .. ".crl", o) end, {},
    { format = "pem", mode = 420, sync = false, async = false } },
  { "crl.scan_file", function(o) return crl.scan_file(dir .. "/none.crl", o) end, {},
    { max_bytes = 1000, chunk = 64 } },
  { "crl.missing", function(o) return crl.missing(a_crl, a_crl, o) end, {}, { count = true } },
  { "input.read", function(o) return input.read({ data = "x" }, o) end, {}, INPUT_OPTS },
  { "input.bytes", function(o) return input.bytes("x", "x.pem", o) end, {}, INPUT_OPTS },
  { "input.fetch", function(o) return input.fetch({ data = "x" }, o) end, {}, INPUT_OPTS },
  { "input.load", function(o) return input.load({ kind = "crl", der = a_crl:to_der(), from = "x" }, o) end, {},
    { password = "pw" } },
  { "input.all", function(o) return input.all({ objects = {} }, "crl", o) end, {}, { password = "pw" } },
  { "archive.open", function(o) return archive.open("x", o) end, {}, ARCHIVE_OPTS },
  { "archive.members", function(o) return archive.members("x", o) end, {}, ARCHIVE_OPTS },
  { "archive.iter", function(o) for _ in archive.iter("x", o) do end end, {}, ARCHIVE_OPTS },
  { "archive.crls", function(o) return archive.crls("x", o) end, {}, ARCHIVE_OPTS },
  { "archive.certs", function(o) return archive.certs("x", o) end, {}, ARCHIVE_OPTS },
  { "archive.gzip", function(o) return archive.gzip("x", o) end, {}, { name = "x", level = 1, mtime = 0 } },
  { "archive.zip", function(o) return archive.zip({ { name = "x", data = "x" } }, o) end, {}, { mtime = 0 } },
  -- the values ui has before the CLI sets them: a passing call changes nothing
  { "ui.configure", function(o) return ui.configure(o) end, {},
    { json = false, quiet = false, verbose = false, progress = true } },
  { "detect.detect", function(o) return detect.detect("x", o) end, {}, { name = "x" } },
  { "detect.file", function(o) return detect.file(dir .. "/none", o) end, {}, { name = "x", max_bytes = 10 } },
  { "detect.pem", function(o) return detect.pem("X", "x", o) end, {}, { crlf = true } },
  { "outputs.new", function(o) return outputs.new(o) end, {}, { force = true } },
  { "outputs:add", function(o) return outputs.new():add(dir .. "/out", "x", o) end, {},
    { key = true, mode = 384, what = "a file" } },
  { "lint.certificate", function(o) return require("certbench.lint").certificate(ca, o) end, {},
    { role = "root", tls_server = false } },
  { "x509:check_host", function(o) return ca:check_host("a.example.com", o) end, {}, { no_subject_cn = true } },
}

local function copy(t, k, v)
  local o = {}
  for a, b in pairs(t) do o[a] = b end
  if k ~= nil then o[k] = v end
  return o
end

describe("options tables", function()
  for _, case in ipairs(CASES) do
    local where, call, required, documented = case[1], case[2], case[3], case[4]

    it(where .. " rejects an unknown key, naming the function and the key", function()
      local ok, err = pcall(call, copy(required, "bogus_option", 1))
      assert.is_false(ok)
      assert.matches(where .. ": unknown option 'bogus_option'", tostring(err), 1, true)
      -- a near miss of a documented key is named as the likely meaning
      local some = next(documented)
      ok, err = pcall(call, copy(required, some .. "x", documented[some]))
      assert.is_false(ok)
      assert.matches(("unknown option '%sx'; did you mean '%s'?"):format(some, some), tostring(err), 1, true)
    end)

    it(where .. " accepts every documented key", function()
      for k, v in pairs(documented) do
        local ok, err = pcall(call, copy(required, k, v))
        assert(ok or not tostring(err):find("unknown option", 1, true), where .. ": " .. k .. ": " .. tostring(err))
      end
    end)
  end
end)
