-- spec/crl_check_spec.lua: `certbench crl check` and its Lua API
-- (require("certbench.plugins.crl").check / .revocation.run): every certificate of a chain against
-- its issuer's CRL, exit 0 good, 3 revoked, 1 undetermined; expired CRLs, the fallback, CRLs
-- from files, folders, the CA file and distribution points; the --json evidence; NIST PKITS.
local h = require "support.helper"
local F = require "support.crl_plugin"
local servers = require "support.servers"
local fs = require "certbench.fs"
local x509 = require "certbench.x509"
local plugin = require "certbench.plugins.crl"

local function check_cli(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " crl check " .. args)
  return out, rc, err
end

local function check_json(args)
  local out, err, rc = h.run3(h.q(h.bin) .. " --json crl check " .. args)
  local ok, t = pcall(F.json, out)
  assert(ok, "not JSON: " .. out .. err)
  return t, rc, err
end

describe("crl check", function()
  local d, root, inter, leaf, leafpath, revleaf, revpath, files

  local function write_crl(name, ca, o)
    local c = F.crl(ca, o)
    local p = d .. "/" .. name
    h.write(p, c:to_pem())
    return p, c
  end

  setup(function()
    d = h.tmpdir()
    root = F.ca(d, "Root")
    inter = F.ca(d, "Issuing", { parent = root })
    leaf, leafpath = F.leaf(inter, d, "1001")
    revleaf, revpath = F.leaf(inter, d, "1002")
    files = {}
    files.root_crl = write_crl("root.crl.pem", root, { number = 1 })
    files.inter_crl = write_crl("inter.crl.pem", inter, { number = 7,
      entries = { { serial = "1002", date = os.time() - 3600, reason = "keyCompromise" } } })
    files.chain = d .. "/chain.pem"
    h.write(files.chain, h.read(inter.pem) .. h.read(root.pem))
  end)

  local function args(cert, extra)
    return ("%s --chain %s --crl %s --crl %s %s"):format(h.q(cert), h.q(files.chain), h.q(files.root_crl),
      h.q(files.inter_crl), extra or "")
  end

  it("says good (exit 0) when no certificate of the chain is revoked, with the evidence in JSON", function()
    local res, rc = check_json(args(leafpath))
    assert.equal(0, rc)
    assert.equal("good", res.verdict)
    assert.equal(3, #res.certificates)
    local l, i, r = res.certificates[1], res.certificates[2], res.certificates[3]
    assert.same({ "leaf", "good", "1001" }, { l.role, l.status, l.serial })
    assert.equal("07", l.crl.number)
    assert.equal(files.inter_crl, l.crl.source)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", l.crl.this_update)
    assert.equal("CN=Issuing,O=certbench tests", l.crl.signer)
    assert.same({ "CA", "good", "01" }, { i.role, i.status, i.crl.number })
    assert.equal("trust_anchor", r.status)
    local out = check_cli(args(leafpath))
    assert.matches("verdict: GOOD", out)
  end)

  it("says revoked (exit 3) for a revoked leaf, with date and reason", function()
    local res, rc = check_json(args(revpath))
    assert.equal(3, rc)
    assert.equal("revoked", res.verdict)
    assert.equal("revoked", res.certificates[1].status)
    assert.equal("keyCompromise", res.certificates[1].revocation.reason)
    assert.equal("good", res.certificates[2].status)
    -- --quiet keeps the reason of the verdict, on stderr, in one line
    local out, qrc, err = check_cli(args(revpath) .. " --quiet")
    assert.equal(3, qrc, err)
    assert.equal("", out)
    assert.matches("^certbench: crl check: leaf [^\n]*%(serial 1002%): REVOKED: [^\n]*\n$", err)
    out, qrc, err = check_cli(args(leafpath) .. " --quiet")
    assert.equal(0, qrc, err)
    assert.equal("", out .. err)
  end)

  it("checks every CA of the chain: a revoked intermediate revokes the chain", function()
    local p = write_crl("root-revokes.pem", root, { number = 2,
      entries = { { serial = inter.cert:serial(), date = os.time() - 60, reason = "cACompromise" } } })
    local res, rc = check_json(("%s --chain %s --crl %s --crl %s"):format(h.q(leafpath), h.q(files.chain), h.q(p), h.q(files.inter_crl)))
    assert.equal(3, rc)
    assert.equal("good", res.certificates[1].status)
    assert.equal("revoked", res.certificates[2].status)
    assert.equal("cACompromise", res.certificates[2].revocation.reason)
    -- with both root CRLs given, the freshest (number 2) decides
    res, rc = check_json(args(leafpath, "--crl " .. h.q(p)))
    assert.equal(3, rc)
    assert.equal("02", res.certificates[2].crl.number)
  end)

  it("is undetermined (exit 1) without a CRL, and --fallback decides", function()
    local res, rc = check_json(("%s --chain %s --crl %s"):format(h.q(leafpath), h.q(files.chain), h.q(files.inter_crl)))
    assert.equal(1, rc)
    assert.equal("undetermined", res.verdict)
    assert.equal("undetermined", res.certificates[2].status)
    assert.matches("no CRL of O = certbench tests, CN = Root", res.certificates[2].reason, 1, true)
    res, rc = check_json(("%s --chain %s --crl %s --fallback revoked"):format(h.q(leafpath), h.q(files.chain), h.q(files.inter_crl)))
    assert.equal(3, rc)
    assert.is_true(res.fallback_applied)
    res, rc = check_json(("%s --chain %s --crl %s --fallback not-revoked"):format(h.q(leafpath), h.q(files.chain), h.q(files.inter_crl)))
    assert.equal(0, rc)
    assert.equal("good", res.verdict)
    assert.is_true(res.fallback_applied)
    -- a revoked certificate stays revoked whatever the fallback
    _, rc = check_json(("%s --chain %s --crl %s --fallback not-revoked"):format(h.q(revpath), h.q(files.chain), h.q(files.inter_crl)))
    assert.equal(3, rc)
    local out = check_cli(("%s --chain %s --crl %s --fallback not-revoked"):format(h.q(leafpath), h.q(files.chain), h.q(files.inter_crl)))
    assert.matches("fallback not%-revoked", out)
  end)

  it("treats an expired CRL as revoking its CA's certificates, unless told otherwise", function()
    local p = write_crl("inter-expired.pem", inter, { number = 8, this_update = os.time() - 9 * 86400,
      next_update = os.time() - 86400 })
    local base = ("%s --chain %s --crl %s --crl %s"):format(h.q(leafpath), h.q(files.chain), h.q(files.root_crl), h.q(p))
    local res, rc = check_json(base)
    assert.equal(3, rc)
    assert.is_true(res.certificates[1].expired_crl)
    assert.is_true(res.certificates[1].crl.expired)
    assert.matches("expired at", res.certificates[1].reason)
    res, rc = check_json(base .. " --expired undetermined")
    assert.equal(1, rc)
    _, rc = check_json(base .. " --expired undetermined --fallback not-revoked")
    assert.equal(0, rc)
    res, rc = check_json(base .. " --expired ignore")
    assert.equal(0, rc)
    assert.matches("used anyway", res.certificates[1].notes[1])
    -- the same CRL is current at an earlier time (--at)
    local oldroot = write_crl("root-old.pem", root, { number = 1, this_update = os.time() - 20 * 86400, days = 60 })
    _, rc = check_json(("%s --chain %s --crl %s --crl %s --at %d"):format(h.q(leafpath), h.q(files.chain),
      h.q(oldroot), h.q(p), os.time() - 2 * 86400))
    assert.equal(0, rc)
    _, rc = check_json(args(leafpath, "--at 2099-01-01T00:00:00Z"))
    assert.equal(3, rc)
  end)

  it("does not use a CRL signed by another key (undetermined, with the reason in the notes)", function()
    local imp = F.impostor(inter)
    local p = write_crl("forged.pem", inter, { number = 99, signer = imp })
    local res, rc = check_json(("%s --chain %s --crl %s --crl %s"):format(h.q(revpath), h.q(files.chain), h.q(files.root_crl), h.q(p)))
    assert.equal(1, rc)
    assert.matches("does not verify", table.concat(res.certificates[1].notes, "\n"))
  end)

  it("uses CRLs embedded in the CA file, as appliances do", function()
    local bundle = d .. "/trusted-with-crls.pem"
    h.write(bundle, h.read(files.chain) .. h.read(files.root_crl) .. h.read(files.inter_crl))
    local res, rc = check_json(("%s --chain %s"):format(h.q(revpath), h.q(bundle)))
    assert.equal(3, rc)
    assert.equal(bundle, res.certificates[1].crl.source)
    -- and a certificate file holding the chain needs no --chain
    local all = d .. "/leaf-and-chain.pem"
    h.write(all, h.read(leafpath) .. h.read(bundle))
    _, rc = check_json(h.q(leafpath) .. " --crl " .. h.q(files.inter_crl))
    assert.equal(1, rc) -- the issuer is missing
    res, rc = check_json(("%s --crl %s --crl %s"):format(h.q(all), h.q(files.root_crl), h.q(files.inter_crl)))
    assert.equal(0, rc)
    assert.equal(3, #res.certificates)
  end)

  it("reads CRLs from a folder: an OpenSSL hash folder, or any files", function()
    local hd = d .. "/hashdir"
    assert(fs.mkdir(hd))
    h.write(hd .. "/" .. root.cert:subject():hash() .. ".r0", h.read(files.root_crl))
    h.write(hd .. "/" .. inter.cert:subject():hash() .. ".r0", h.read(files.inter_crl))
    local res, rc = check_json(("%s --chain %s --crl-dir %s"):format(h.q(revpath), h.q(files.chain), h.q(hd)))
    assert.equal(3, rc)
    assert.matches("%.r0$", res.certificates[1].crl.source)
    local pd = d .. "/plain"
    assert(fs.mkdir(pd))
    h.write(pd .. "/root.crl", F.crl(root, { number = 1 }):to_der())
    h.write(pd .. "/inter.pem", h.read(files.inter_crl))
    h.write(pd .. "/notes.txt", "not a CRL")
    _, rc = check_json(("%s --chain %s --crl-dir %s"):format(h.q(leafpath), h.q(files.chain), h.q(pd)))
    assert.equal(0, rc)
    local _, rc2, err = check_cli(("%s --chain %s --crl-dir %s"):format(h.q(leafpath), h.q(files.chain), h.q(d .. "/nope")))
    assert.equal(1, rc2)
    assert.matches("crl check: %-%-crl%-dir [^\n]*/nope: No such file or directory\n$", err)
    local _, rc3, err3 = check_cli(("%s --chain %s --crl-dir %s"):format(h.q(leafpath), h.q(files.chain), h.q(pd .. "/notes.txt")))
    assert.equal(1, rc3)
    assert.matches("crl check: %-%-crl%-dir [^\n]*/notes.txt is not a folder\n$", err3)
  end)

  it("applies a delta CRL on top of its base (and removeFromCRL takes a certificate off)", function()
    local delta = write_crl("delta.pem", inter, { number = 9, delta_base = 7,
      entries = { { serial = "1001", date = os.time() - 30, reason = "superseded" },
                  { serial = "1002", date = os.time() - 30, reason = "removeFromCRL" } } })
    local res, rc = check_json(args(leafpath, "--crl " .. h.q(delta)))
    assert.equal(3, rc)
    assert.equal("09", res.certificates[1].delta.number)
    assert.equal("superseded", res.certificates[1].revocation.reason)
    _, rc = check_json(args(revpath, "--crl " .. h.q(delta)))
    assert.equal(0, rc)
    -- a delta on a newer base than the one held does not apply
    local other = write_crl("delta-other.pem", inter, { number = 12, delta_base = 11,
      entries = { { serial = "1001", date = os.time() - 30 } } })
    res, rc = check_json(args(leafpath, "--crl " .. h.q(other)))
    assert.equal(0, rc)
    assert.is_nil(res.certificates[1].delta)
  end)

  it("respects the scope of a CRL: user-only CRLs do not cover CAs", function()
    local p = write_crl("root-users.pem", root, { number = 3, idp = { only_user = true } })
    local res, rc = check_json(("%s --chain %s --crl %s --crl %s"):format(h.q(leafpath), h.q(files.chain), h.q(p), h.q(files.inter_crl)))
    assert.equal(1, rc)
    assert.matches("end%-entity certificates only", table.concat(res.certificates[2].notes, "\n"))
  end)

  it("fetches CRLs from the distribution points with --fetch", function()
    local www = d .. "/www"
    assert(fs.mkdir(www))
    local srv = F.server(www)
    local r2 = F.ca(d, "Fetch Root")
    local i2 = F.ca(d, "Fetch Issuing", { parent = r2, cdp = { srv.url .. "/f/root.crl" } })
    local _, lp = F.leaf(i2, d, "2001", { cdp = { srv.url .. "/f/issuing.crl" } })
    local _, rp = F.leaf(i2, d, "2002", { cdp = { srv.url .. "/f/issuing.crl" } })
    h.write(www .. "/root.crl", F.crl(r2, { number = 1 }):to_der())
    h.write(www .. "/issuing.crl", F.crl(i2, { number = 1, entries = { { serial = "2002", date = os.time() - 60 } } }):to_der())
    local chain = d .. "/fetch-chain.pem"
    h.write(chain, h.read(i2.pem) .. h.read(r2.pem))
    local res, rc = check_json(("%s --chain %s --fetch"):format(h.q(lp), h.q(chain)))
    local res2, rc2 = check_json(("%s --chain %s --fetch"):format(h.q(rp), h.q(chain)))
    local _, rc3 = check_json(("%s --chain %s"):format(h.q(lp), h.q(chain)))
    os.remove(www .. "/issuing.crl")
    local res4, rc4 = check_json(("%s --chain %s --fetch"):format(h.q(lp), h.q(chain)))
    servers.stop(srv)
    assert.equal(0, rc)
    assert.equal(srv.url .. "/f/issuing.crl", res.certificates[1].crl.source)
    assert.equal(3, rc2)
    assert.equal("revoked", res2.certificates[1].status)
    assert.equal(1, rc3)
    assert.equal(1, rc4)
    assert.matches("404", table.concat(res4.certificates[1].notes, "\n"))
  end)

  it("reports usage and file errors", function()
    local _, rc, err = check_cli(h.q(d .. "/missing.pem"))
    assert.equal(1, rc)
    assert.matches("missing.pem", err)
    _, rc, err = check_cli(h.q(leafpath) .. " --fallback maybe")
    assert.equal(2, rc)
    _, rc, err = check_cli(h.q(leafpath) .. " --at yesterday")
    assert.equal(2, rc)
    assert.matches("not a time", err)
    _, rc, err = check_cli(h.q(leafpath) .. " --crl " .. h.q(files.chain))
    assert.equal(1, rc)
    assert.matches("no CRL found %(the content is PEM with CERTIFICATE blocks%)", err)
  end)

  it("works from Lua with certificate objects", function()
    local check = plugin.revocation
    local c1 = assert(require("certbench.crl").load(h.read(files.inter_crl)))
    local c2 = assert(require("certbench.crl").load(h.read(files.root_crl)))
    local res = check.run { certs = { revleaf }, chain = { inter.cert, root.cert },
      crls = { { crl = c1, source = "inter" }, { crl = c2, source = "root" } } }
    assert.is_true(res.verdict == "revoked")
    assert.equal("inter", res.certificates[1].crl.source)
    res = plugin.check { cert = leafpath, chain_files = { files.chain }, crl_files = { files.root_crl, files.inter_crl } }
    assert.is_true(res.verdict == "good")
    assert.equal("good", res.verdict)
  end)
end)

describe("crl check on NIST PKITS", function()
  local corpus = h.data .. "/pkits"
  local rows = {}
  do
    local f = assert(io.open(corpus .. "/expected_results.tsv"))
    local head
    for line in f:lines() do
      local cols = {}
      for c in (line .. "\t"):gmatch("([^\t]*)\t") do cols[#cols + 1] = c end
      if not head then head = cols else
        local r = {}
        for i, k in ipairs(head) do r[k] = cols[i] end
        rows[#rows + 1] = r
      end
    end
    f:close()
  end

  local function run(r, extra)
    local a = { h.q(corpus .. "/certs/" .. r.ee_cert) }
    for c in r.cert_path:gmatch("%S+") do
      if c ~= r.ee_cert then a[#a + 1] = "--chain " .. h.q(corpus .. "/certs/" .. c) end
    end
    for c in r.crl_path:gmatch("%S+") do a[#a + 1] = "--crl " .. h.q(corpus .. "/crls/" .. c) end
    local _, rc = check_cli(table.concat(a, " ") .. " " .. (extra or ""))
    return rc
  end

  -- 4.4 Basic Certificate Revocation: the exit code of each case. Invalid cases are revoked
  -- (3) when the CRL says so or has expired (4.4.11, 4.4.12: an expired CRL revokes), and
  -- undetermined (1) when no usable CRL exists (missing, bad signature, wrong issuer, unknown
  -- critical extension, a revoked CRL signing key).
  local want44 = {
    ["4.4.1"] = 1, ["4.4.2"] = 3, ["4.4.3"] = 3, ["4.4.4"] = 1, ["4.4.5"] = 1, ["4.4.6"] = 1,
    ["4.4.7"] = 0, ["4.4.8"] = 3, ["4.4.9"] = 1, ["4.4.10"] = 1, ["4.4.11"] = 3, ["4.4.12"] = 3,
    ["4.4.13"] = 0, ["4.4.14"] = 0, ["4.4.15"] = 3, ["4.4.16"] = 0, ["4.4.17"] = 0, ["4.4.18"] = 3,
    ["4.4.19"] = 0, ["4.4.20"] = 3, ["4.4.21"] = 1,
  }

  it("4.4 Basic Certificate Revocation: every case gives its verdict", function()
    local n = 0
    for _, r in ipairs(rows) do
      local w = want44[r.test_id]
      if w then
        n = n + 1
        assert.equal(w, run(r), r.name)
        assert.equal(r.expected == "valid" and 0 or 3, run(r, "--fallback revoked"), r.name .. " with --fallback revoked")
      end
    end
    assert.equal(21, n)
  end)

  -- Every other case whose outcome depends on revocation alone (valid when CRLs are ignored,
  -- default policy inputs): with --fallback revoked, valid means exit 0 and invalid exit 3.
  -- Known and on the safe side (valid paths judged undetermined): DSA parameter inheritance
  -- (4.1.4: BoringSSL has no DSA parameter inheritance) and 4.14.30, where the cRLIssuer's own
  -- certificate is covered only by the CRL it signs itself (OpenSSL 3 rejects it too).
  local unsupported = { ["4.1.4"] = true, ["4.14.30"] = true }

  it("agrees with PKITS on the other revocation cases (self-issued CAs, distribution points, reasons, indirect CRLs, deltas)", function()
    local n, agreed = 0, 0
    local wrong = {}
    for _, r in ipairs(rows) do
      if r.openssl3_without_crls == "valid" and r.non_default_policy_inputs == "no"
         and not want44[r.test_id] then
        n = n + 1
        local rc = run(r, "--fallback revoked")
        local ok = (r.expected == "valid") == (rc == 0)
        if unsupported[r.test_id] then
          assert.equal(3, rc, r.name .. ": never judged good")
        elseif ok then
          agreed = agreed + 1
        else
          wrong[#wrong + 1] = r.name .. " (exit " .. tostring(rc) .. ")"
        end
      end
    end
    assert.same({}, wrong)
    assert.is_true(n >= 100, "cases run: " .. n)
    assert.equal(n - 2, agreed)
  end)
end)
