-- spec/regress/malformed_times_spec.lua: certificates and CRLs whose validity or update times
-- do not parse, or carry a zone offset, and a CRL whose issuer is no Name. Before: a malformed
-- UTCTime stopped show, pfx info and pfx split with an internal error (plugins/pfx/lib.lua:129,
-- now in core/lib/describe.lua: "attempt to compare nil with number"), an offset (+0200) was shown as "nil", and a CRL with an
-- undecodable issuer loaded and made crl info/diff/check fail with "attempt to index a nil value".
-- Now a time that does not parse is refused by the loader in one line naming the file and the
-- field, an offset is read as X.680 says and shown in UTC (as openssl shows it), and the CRL
-- loader refuses the issuer. The files are made at test time by spec/support/time.py (one
-- field of a normal certificate/CRL replaced, re-signed by the CA key).
local h = require "support.helper"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local pkcs12 = require "certbench.pkcs12"

local dir

local function cb(args)
  local out, err, rc = h.run3("cd " .. h.q(dir) .. " && " .. h.q(h.bin) .. " " .. args)
  return out, err, rc
end

-- a failure is one line on stderr, naming the file and the field, and exit code 1
local function one_line_failure(args, file, field)
  local out, err, rc = cb(args)
  assert.equal(1, rc, args .. "\n" .. out .. err)
  local lines = {}
  for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
  assert.equal(1, #lines, err)
  assert.truthy(lines[1]:find(file, 1, true), "no file name in: " .. lines[1])
  assert.truthy(lines[1]:find(field, 1, true), "no field in: " .. lines[1])
  assert.falsy(lines[1]:find("attempt to", 1, true), lines[1])
  return lines[1]
end

-- openssl's reading of a date line ("notBefore=Jun  1 10:00:00 2025 GMT") as epoch seconds
local MON = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
local function openssl_time(text, key)
  local mon, d, H, M, S, Y = text:match(key .. "=(%a+)%s+(%d+) (%d+):(%d+):(%d+) (%d+) GMT")
  assert(mon, "openssl printed no " .. key .. " in " .. text)
  local y, m = tonumber(Y), MON[mon]
  -- days from civil (proleptic Gregorian), as openssl's own conversion
  local yy = m <= 2 and y - 1 or y
  local era = yy // 400
  local yoe = yy - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + tonumber(d) - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return (era * 146097 + doe - 719468) * 86400 + tonumber(H) * 3600 + tonumber(M) * 60 + tonumber(S)
end

setup(function()
  dir = h.tmpdir()
  h.sh("python3 " .. h.q(h.root .. "/spec/support/time.py") .. " " .. h.q(dir))
  -- the PFX files come from openssl, which keeps the certificate bytes as they are
  for _, v in ipairs { "offset", "bad-notafter" } do
    h.sh(("cd %s && openssl pkcs12 -export -in leaf-%s.pem -inkey leaf.key -certfile ca.pem -passout pass:pw -out %s.pfx")
      :format(h.q(dir), v, v))
  end
  h.sh("cd " .. h.q(dir) .. " && openssl crl2pkcs7 -nocrl -certfile leaf-bad-notafter.pem -certfile ca.pem -out bad.p7b")
  h.sh("cd " .. h.q(dir) .. " && cat leaf.key leaf-bad-notafter.pem ca.pem > bundle-bad.pem")
end)

describe("a time with a zone offset", function()
  it("is read as UTC, as openssl reads it (x509)", function()
    local c = assert(x509.load(h.read(dir .. "/leaf-offset.pem")))
    local dates = h.sh("openssl x509 -noout -dates -in " .. h.q(dir .. "/leaf-offset.pem"))
    -- UTCTime 250601120000+0200 and GeneralizedTime 20351231233000-0130
    assert.equal(1748772000, c:not_before())
    assert.equal(2082762000, c:not_after())
    assert.equal(openssl_time(dates, "notBefore"), c:not_before())
    assert.equal(openssl_time(dates, "notAfter"), c:not_after())
  end)

  it("is printed by c:text() and show as openssl -text prints it", function()
    local ours = cb("show leaf-offset.pem")
    local theirs = h.sh("openssl x509 -noout -text -in " .. h.q(dir .. "/leaf-offset.pem"))
    for _, k in ipairs { "Not Before", "Not After " } do
      local want = theirs:match(k .. ": ([^\n]+)")
      assert.truthy(want, theirs)
      assert.equal(want, ours:match(k .. ": ([^\n]+)"), ours)
    end
    assert.falsy(ours:find("nil", 1, true), ours)
  end)

  it("is read as UTC in a CRL (crl.load, crl info, crl diff)", function()
    local c = assert(crl.load(h.read(dir .. "/crl-offset.der")))
    local dates = h.sh("openssl crl -inform DER -noout -lastupdate -nextupdate -in " .. h.q(dir .. "/crl-offset.der"))
    assert.equal(openssl_time(dates, "lastUpdate"), c:this_update())
    assert.equal(openssl_time(dates, "nextUpdate"), c:next_update())
    local out, err, rc = cb("crl info crl-offset.der")
    assert.equal(0, rc, out .. err)
    assert.truthy(out:find("this update:%s+2025%-06%-01T10:00:00Z"), out)
    assert.truthy(out:find("next update:%s+2035%-06%-01T12:00:00Z"), out)
    out, err, rc = cb("crl diff crl-ok.der crl-offset.der")
    assert.equal(0, rc, out .. err)
    assert.truthy(out:find("2025-06-01T10:00:00Z .. 2035-06-01T12:00:00Z", 1, true), out)
  end)

  it("is shown in UTC by pfx info and pfx split", function()
    local out, err, rc = cb("pfx info offset.pfx --passin pass:pw")
    assert.equal(0, rc, out .. err)
    assert.truthy(out:find("valid    2025-06-01T10:00:00Z to 2036-01-01T01:00:00Z", 1, true), out)
    out, err, rc = cb("pfx split offset.pfx --passin pass:pw --out-dir split-offset")
    assert.equal(0, rc, out .. err)
    assert.truthy(out:find("valid until 2036-01-01T01:00:00Z", 1, true), out)
    -- what was written is the certificate as it was, byte for byte
    assert.equal(h.sh("openssl x509 -outform DER -in " .. h.q(dir .. "/leaf-offset.pem") .. " | od -An -tx1"),
      h.sh("openssl x509 -outform DER -in " .. h.q(dir .. "/split-offset/server.pem") .. " | od -An -tx1"))
  end)

  it("passes vcs check's checks that read times", function()
    local out, err = cb("vcs check --key leaf.key --cert leaf-offset.pem --ca ca.pem --crl crl-offset.der")
    assert.falsy((out .. err):find("nil", 1, true), out .. err)
    assert.truthy(out:find("CRL #05 from crl-offset.der, next update 2035-06-01T12:00:00Z", 1, true), out)
  end)
end)

describe("a certificate whose time does not parse", function()
  it("is refused by x509.load naming the field and the bytes", function()
    local c, err = x509.load(h.read(dir .. "/leaf-bad-notafter.pem"))
    assert.is_nil(c)
    assert.truthy(err:find('notAfter is not a valid time (UTCTime "351332000000Z")', 1, true), err)
    c, err = x509.load(h.read(dir .. "/leaf-bad-notbefore.pem"))
    assert.is_nil(c)
    assert.truthy(err:find('notBefore is not a valid time (UTCTime "25O601000000Z")', 1, true), err)
    -- openssl sees the same field as bad
    local dates = h.run("openssl x509 -noout -dates -in " .. h.q(dir .. "/leaf-bad-notafter.pem"))
    assert.truthy(dates:find("notAfter=Bad time value", 1, true), dates)
  end)

  it("is one line naming the file and field in show and crl check", function()
    one_line_failure("show leaf-bad-notafter.pem", "leaf-bad-notafter.pem", "notAfter is not a valid time")
    one_line_failure("show leaf-bad-notbefore.pem", "leaf-bad-notbefore.pem", "notBefore is not a valid time")
    one_line_failure("show bad.p7b", "bad.p7b", "notAfter is not a valid time")
    one_line_failure("crl check leaf-bad-notafter.pem --chain ca.pem --crl crl-ok.der", "leaf-bad-notafter.pem",
      "notAfter is not a valid time")
  end)

  it("is named in pfx info, and pfx split says which bag was left out and why", function()
    local r = assert(pkcs12.parse(h.read(dir .. "/bad-notafter.pfx"), "pw"))
    local problem
    for _, b in ipairs(r.bags) do if b.problem then problem = b.problem end end
    assert.truthy(problem and problem:find("notAfter is not a valid time", 1, true), tostring(problem))
    local out, err, rc = cb("pfx info bad-notafter.pfx --passin pass:pw")
    assert.equal(0, rc, out .. err)
    assert.truthy(out:find('bag 1: cert (certBag): the certificate\'s notAfter is not a valid time (UTCTime "351332000000Z")', 1, true), out)
    local line = one_line_failure("pfx split bad-notafter.pfx --passin pass:pw --out-dir split-bad", "bad-notafter.pfx",
      "bag 1: the certificate's notAfter is not a valid time")
    assert.truthy(line:find("nothing written", 1, true), line)
    assert.equal("", (h.run("ls " .. h.q(dir .. "/split-bad") .. " 2>/dev/null")))
    one_line_failure("pfx split bundle-bad.pem --out-dir split-bundle", "bundle-bad.pem", "notAfter is not a valid time")
  end)

  it("fails vcs check's certificate and CA file checks by name", function()
    local out, err, rc = cb("vcs check --key leaf.key --cert leaf-bad-notafter.pem --ca ca.pem")
    assert.equal(3, rc, out .. err)
    assert.truthy(out:find("FAIL%s+certificate file%s+leaf%-bad%-notafter%.pem: certificate 1: notAfter is not a valid time"), out)
    h.sh("cd " .. h.q(dir) .. " && cat ca.pem leaf-bad-notbefore.pem > ca-bad.pem")
    out, err, rc = cb("vcs check --key leaf.key --cert leaf.pem --ca ca-bad.pem")
    assert.equal(3, rc, out .. err)
    assert.truthy(out:find("FAIL%s+CA file%s+ca%-bad%.pem %(PEM block 2%): certificate 1: notBefore is not a valid time"), out)
    assert.falsy((out .. err):find("attempt to", 1, true), out .. err)
  end)
end)

describe("a CRL whose time or issuer does not parse", function()
  it("is refused by crl.load", function()
    local c, err = crl.load(h.read(dir .. "/crl-bad-next.der"))
    assert.is_nil(c)
    assert.truthy(err:find('nextUpdate is "350231000000Z"', 1, true), err)
    c, err = crl.load(h.read(dir .. "/crl-bad-issuer.der"))
    assert.is_nil(c)
    assert.truthy(err:find("issuer name", 1, true), err)
    -- openssl refuses that CRL too
    local _, rc = h.run("openssl crl -inform DER -noout -in " .. h.q(dir .. "/crl-bad-issuer.der"))
    assert.are_not.equal(0, rc)
  end)

  it("is one line naming the file and field in show, crl info, crl diff, crl check and vcs check", function()
    for _, f in ipairs { { "crl-bad-next.der", "nextUpdate" }, { "crl-bad-issuer.der", "issuer name" } } do
      one_line_failure("show " .. f[1], f[1], f[2])
      one_line_failure("crl info " .. f[1], f[1], f[2])
      one_line_failure("crl diff crl-ok.der " .. f[1], f[1], f[2])
      one_line_failure("crl check leaf.pem --chain ca.pem --crl " .. f[1], f[1], f[2])
      local out, err, rc = cb("vcs check --key leaf.key --cert leaf.pem --ca ca.pem --crl " .. f[1])
      assert.equal(3, rc, out .. err)
      assert.truthy(out:find("FAIL%s+CRLs%s+" .. f[1]:gsub("%p", "%%%0") .. ": [^\n]*" .. f[2]), out)
    end
  end)
end)
