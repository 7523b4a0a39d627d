-- x509-limbo (tests/data/x509-limbo/limbo.json, 208 path-validation testcases, Apache-2.0)
-- through certbench.store, with both profiles ("openssl", the default, and "strict").
--
-- Each testcase runs with all that store:verify can express: its trusted certificates as the
-- only trust anchors, its intermediates as untrusted certificates, its CRLs with
-- crl_check = "all", its validation time (now when it has none: the generated certificates
-- run from 1970 to 2969), max_chain_depth as max_depth, the purpose of its validation kind
-- (SERVER: sslserver, CLIENT: sslclient), its extended_key_usage as ekus, its key_usage, and
-- its peer name (DNS: host, IP: ip, RFC822: email; a second name is matched on the leaf).
-- A certificate or CRL that certbench refuses to load makes the verdict FAILURE, as it would
-- in real use.
--
-- The verdicts that differ from expected_result are listed, each with its reason, in
-- tests/data/x509-limbo/disagreements.lua. Each case is one test per profile; it fails when
-- the verdict changes either way: a disagreement missing from the list is a regression, and
-- one listed that now agrees must be removed from the list. The first test of each profile
-- carries the agreement count in its name (and the counts go to stderr and to
-- build/limbo-report.txt; every verdict with its error to build/limbo-results.tsv).
--
-- The default profile must also never differ from OpenSSL's own verdict unless OpenSSL is the
-- one that is wrong: the openssl CLI (`openssl verify`, no -x509_strict, as appliances run it)
-- judges every case that it can express, and each default-profile disagreement with
-- expected_result must be one where openssl gives the same verdict.
local h = require "support.helper"
local cjson = require "cjson"
local store = require "certbench.store"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"

local DIR = h.root .. "/tests/data/x509-limbo"
local MAX_SECONDS = 0.1 -- the longest a case may take

local cases = cjson.decode(h.read(DIR .. "/limbo.json")).testcases
local known = dofile(DIR .. "/disagreements.lua")
local PROFILES = { "openssl", "strict" }

-- rfc3339 -> epoch seconds (fractions dropped: the API counts whole seconds)
local function rfc3339(s)
  local y, mo, d, hh, mi, ss, rest = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?%d*(.*)$")
  assert(y, "limbo.json: bad validation_time " .. s)
  local function days(yy, m, dd) -- days since 1970-01-01 (Howard Hinnant's days_from_civil)
    yy = m <= 2 and yy - 1 or yy
    local era = yy // 400
    local yoe = yy - era * 400
    local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + dd - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
  end
  local t = days(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(hh) * 3600 +
    tonumber(mi) * 60 + tonumber(ss)
  local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
  if sign then
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - off or t + off
  else
    assert(rest == "Z" or rest == "", "limbo.json: bad zone in " .. s)
  end
  return t
end

local NOW = os.time()

-- run_case(case, profile) -> verdict ("SUCCESS"|"FAILURE"), why (the error when FAILURE)
local function run_case(case, profile)
  local cas, untrusted, crls = {}, {}, {}
  for _, pem in ipairs(case.trusted_certs) do
    local c, err = x509.load(pem)
    if not c then return "FAILURE", "trusted certificate: " .. tostring(err) end
    cas[#cas + 1] = c
  end
  for _, pem in ipairs(case.untrusted_intermediates) do
    local c, err = x509.load(pem)
    if not c then return "FAILURE", "intermediate: " .. tostring(err) end
    untrusted[#untrusted + 1] = c
  end
  for _, pem in ipairs(case.crls) do
    local c, err = crl.load(pem)
    if not c then return "FAILURE", "CRL: " .. tostring(err) end
    crls[#crls + 1] = c
  end
  local leaf, lerr = x509.load(case.peer_certificate)
  if not leaf then return "FAILURE", "peer certificate: " .. tostring(lerr) end

  local opts = {
    profile = profile,
    untrusted = untrusted,
    time = case.validation_time ~= cjson.null and rfc3339(case.validation_time) or NOW,
    purpose = case.validation_kind == "SERVER" and "sslserver" or "sslclient",
  }
  if #crls > 0 then
    opts.crls = crls
    opts.crl_check = "all"
  end
  if case.max_chain_depth ~= cjson.null then opts.max_depth = math.tointeger(case.max_chain_depth) end
  if #case.extended_key_usage > 0 then opts.ekus = case.extended_key_usage end
  if #case.key_usage > 0 then opts.key_usage = case.key_usage end
  local names = {}
  if case.expected_peer_name ~= cjson.null then names[1] = case.expected_peer_name end
  for _, n in ipairs(case.expected_peer_names) do names[#names + 1] = n end
  local option = { DNS = "host", IP = "ip", RFC822 = "email" }
  if names[1] then
    local o = assert(option[names[1].kind], "limbo.json: peer name kind " .. tostring(names[1].kind))
    opts[o] = names[1].value
  end

  local s = assert(store.new{ cas = cas })
  local ok, chain, err, info = pcall(s.verify, s, leaf, opts)
  s:close()
  if not ok then
    -- a peer name the API refuses as an argument (an invalid host or address) is a failure
    -- of the case; any other error is a bug, and the verdict ERROR agrees with nothing
    local msg = tostring(chain)
    if msg:find("store:verify: invalid ", 1, true) then return "FAILURE", "refused option: " .. msg end
    return "ERROR", msg
  end
  if not chain then return "FAILURE", (info and info.reason or "?") .. ": " .. tostring(err) end
  for i = 2, #names do
    local n = names[i]
    local match = n.kind == "DNS" and leaf:check_host(n.value) or
      n.kind == "IP" and leaf:check_ip(n.value) or leaf:check_email(n.value)
    if not match then return "FAILURE", "peer name " .. n.value .. " does not match" end
  end
  return "SUCCESS"
end

-- openssl_verdict(case) -> "SUCCESS"|"FAILURE"|nil (nil: the CLI cannot express the case)
local tmp
local function openssl_verdict(case)
  -- key_usage has no option in `openssl verify`; an expected name of a CLIENT case, or a
  -- second one, neither
  if #case.key_usage > 0 or #case.expected_peer_names > 0 then return nil end
  tmp = tmp or h.tmpdir()
  local function put(name, list)
    local f = assert(io.open(tmp .. "/" .. name, "w"))
    for _, pem in ipairs(list) do f:write(pem, "\n") end
    f:close()
    return tmp .. "/" .. name
  end
  local args = { "openssl verify", "-CAfile", put("ca.pem", case.trusted_certs) }
  if #case.untrusted_intermediates > 0 then
    args[#args + 1] = "-untrusted " .. put("inter.pem", case.untrusted_intermediates)
  end
  if #case.crls > 0 then
    args[#args + 1] = "-crl_check_all -CRLfile " .. put("crls.pem", case.crls)
  end
  local t = case.validation_time ~= cjson.null and rfc3339(case.validation_time) or NOW
  args[#args + 1] = "-attime " .. t
  args[#args + 1] = "-purpose " .. (case.validation_kind == "SERVER" and "sslserver" or "sslclient")
  if case.max_chain_depth ~= cjson.null then
    args[#args + 1] = "-verify_depth " .. math.tointeger(case.max_chain_depth)
  end
  local n = case.expected_peer_name
  if n ~= cjson.null then
    args[#args + 1] = (n.kind == "IP" and "-verify_ip " or "-verify_hostname ") .. h.q(n.value)
  end
  args[#args + 1] = put("leaf.pem", { case.peer_certificate })
  local out, rc = h.run(table.concat(args, " "))
  -- a bad argument (an address openssl cannot parse) is exit 1 too: count it as the CLI's
  -- refusal, as for certbench
  local verdict = rc == 0 and out:find(": OK") and "SUCCESS" or "FAILURE"
  if #case.extended_key_usage > 0 and verdict == "SUCCESS" then
    -- `openssl verify` has no EKU option beside -purpose: the leaf must list every one
    local text = h.openssl("x509 -noout -ext extendedKeyUsage -in " .. h.q(tmp .. "/leaf.pem"))
    local long = { serverAuth = "TLS Web Server Authentication", clientAuth = "TLS Web Client Authentication" }
    for _, e in ipairs(case.extended_key_usage) do
      if not long[e] then return nil end
      if not text:find(long[e], 1, true) then verdict = "FAILURE" end
    end
  end
  return verdict
end

local results, counts, lines = {}, {}, {}
for _, profile in ipairs(PROFILES) do
  results[profile] = {}
  local agree = 0
  for _, case in ipairs(cases) do
    local t0 = os.clock()
    local verdict, why = run_case(case, profile)
    local dt = os.clock() - t0
    results[profile][case.id] = { verdict = verdict, why = why, seconds = dt }
    if verdict == case.expected_result then agree = agree + 1 end
    lines[#lines + 1] = table.concat({ profile, case.id, case.expected_result, verdict,
      why or "", string.format("%.4f", dt) }, "\t")
  end
  counts[profile] = agree
end

local openssl = {}
for _, case in ipairs(cases) do openssl[case.id] = openssl_verdict(case) end

local report = {}
for _, profile in ipairs(PROFILES) do
  report[#report + 1] = string.format("x509-limbo, profile %s: %d of %d agree with expected_result",
    profile, counts[profile], #cases)
end
io.stderr:write(table.concat(report, "\n"), "\n")
os.execute("mkdir -p " .. h.q(h.root .. "/build"))
local f = io.open(h.root .. "/build/limbo-report.txt", "w")
if f then
  f:write(table.concat(report, "\n"), "\n")
  f:close()
end
f = io.open(h.root .. "/build/limbo-results.tsv", "w")
if f then
  f:write("profile\tid\texpected\tgot\twhy\tseconds\n", table.concat(lines, "\n"), "\n")
  for _, case in ipairs(cases) do
    f:write("openssl-cli\t", case.id, "\t", case.expected_result, "\t", openssl[case.id] or "-", "\t\t\n")
  end
  f:close()
end

describe("x509-limbo", function()
  it("has its 208 testcases", function()
    assert.equal(208, #cases)
  end)

  for _, profile in ipairs(PROFILES) do
    describe("profile " .. profile, function()
      it(("agrees on %d of %d"):format(counts[profile], #cases), function()
        assert.is_table(known[profile], "disagreements.lua has no list for " .. profile)
        for id in pairs(known[profile]) do
          assert.is_not_nil(results[profile][id], "disagreements.lua: no testcase " .. id)
        end
      end)

      for _, case in ipairs(cases) do
        it(case.id, function()
          local r = results[profile][case.id]
          -- CPU time, and the best of three: a collection of the whole heap or a loaded machine
          -- can stretch one run past the bound, a case that is slow by itself is slow each time
          local best = r.seconds
          for _ = 1, 2 do
            if best <= MAX_SECONDS then break end
            local t0 = os.clock()
            run_case(case, profile)
            best = math.min(best, os.clock() - t0)
          end
          assert.is_true(best <= MAX_SECONDS,
            ("%s took %.3f s (at most %.1f)"):format(case.id, best, MAX_SECONDS))
          local reason = known[profile][case.id]
          if r.verdict == case.expected_result then
            assert.is_nil(reason, case.id .. " now agrees (" .. r.verdict ..
              "): remove it from disagreements.lua (" .. profile .. ")")
          else
            assert.is_not_nil(reason, ("%s: expected %s, got %s%s (a new disagreement)"):format(
              case.id, case.expected_result, r.verdict, r.why and (": " .. r.why) or ""))
            if profile == "openssl" and openssl[case.id] then
              assert.equal(r.verdict, openssl[case.id], case.id .. ": the default profile says " ..
                r.verdict .. " where openssl verify is right (" .. openssl[case.id] .. ")")
            end
          end
        end)
      end
    end)
  end
end)
