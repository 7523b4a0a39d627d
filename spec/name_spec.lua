-- spec/name_spec.lua: certbench.name, distinguished names.
local name = require "certbench.name"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02X", c:byte()) end)) end

describe("name.parse", function()
  it("reads the openssl -subj form in order", function()
    local n = assert(name.parse("/C=NO/O=net2/CN=vcs.example.com"))
    assert.equal("C = NO, O = net2, CN = vcs.example.com", n:text())
    assert.equal("CN=vcs.example.com,O=net2,C=NO", n:rfc4514())
    assert.equal("/C=NO/O=net2/CN=vcs.example.com", n:oneline())
    assert.equal(3, #n)
  end)

  it("takes escaped / + \\ and multi-valued RDNs", function()
    local n = assert(name.parse("/O=a\\/b\\+c\\\\d/OU=x+UID=42/CN=y"))
    local l = n:list()
    assert.equal("a/b+c\\d", l[1].value)
    assert.same({ "OU", "x", 2 }, { l[2].name, l[2].value, l[2].rdn })
    assert.same({ "UID", "42", 2 }, { l[3].name, l[3].value, l[3].rdn })
    assert.equal(3, l[4].rdn)
    assert.equal("O = \"a/b+c\\\\d\", OU = x + UID = 42, CN = y", n:text())
    assert.equal("CN=y,OU=x+UID=42,O=a/b\\+c\\\\d", n:rfc4514())
    -- oneline escapes what parse needs, so it reads back to an equal name
    assert.equal("/O=a\\/b\\+c\\\\d/OU=x+UID=42/CN=y", n:oneline())
    assert.is_true(name.parse(n:oneline()) == n)
  end)

  it("escapes C0, DEL and C1 controls in rfc4514() as \\XX bytes, which read back to the same name", function()
    -- the fuzzer found U+009C written as ui.escape's terminal form \u009C, which read back as
    -- the six characters "u009C" (and then broke O's 64-character bound)
    local n = name.new { { "O", "a\0b\27c\127d\194\156e é" }, { "CN", "x\194\155[8my" } }
    assert.equal("CN=x\\C2\\9B[8my,O=a\\00b\\1Bc\\7Fd\\C2\\9Ce é", n:rfc4514())
    assert.is_nil(n:rfc4514():find("[%z\1-\31\127]"))
    assert.is_nil(n:rfc4514():find("\194[\128-\159]"))
    assert.is_true(assert(name.parse_rfc4514(n:rfc4514())) == n)
    local full = assert(name.new { { "O", ("\194\156"):rep(64) } })
    assert.is_true(assert(name.parse_rfc4514(full:rfc4514())) == full)
  end)

  it("is UTF-8 correct, with openssl's string types", function()
    local n = assert(name.parse("/C=NO/O=Blåbær AS/CN=Ærø ☃"))
    assert.equal("Blåbær AS", n:get("O"))
    assert.equal("Ærø ☃", n:get("CN"))
    assert.equal("C = NO, O = Blåbær AS, CN = Ærø ☃", n:text())
    local der = hex(n:der())
    assert.truthy(der:find("0603550406" .. "1302" .. "4E4F", 1, true)) -- C: PrintableString
    assert.truthy(der:find("060355040A" .. "0C", 1, true))             -- O: UTF8String
  end)

  it("accepts long names and OIDs as types", function()
    local n = assert(name.parse("/commonName=x/2.5.4.10=y/1.2.3.4=z"))
    assert.equal("CN = x, O = y, 1.2.3.4 = z", n:text())
    -- RFC 4514: an unnamed type is written as OID=#<DER of the value>
    assert.equal("1.2.3.4=#0C017A,O=y,CN=x", n:rfc4514())
    local s, v, oid = n:entries()()
    assert.same({ "CN", "x", "2.5.4.3" }, { s, v, oid })
  end)

  it("treats / alone and a trailing / as the empty name and no entry", function()
    assert.equal(0, #assert(name.parse("/")))
    assert.equal("/", name.parse("/"):oneline())
    assert.equal("", name.parse("/"):rfc4514())
    assert.equal(1, #assert(name.parse("/CN=x/")))
  end)

  it("names what is wrong", function()
    local cases = {
      { "CN=x", "must start with '/'" },
      { "/CN", "missing '=' after 'CN'" },
      { "/CN=a\\", "at the end" },
      { "/CN=a+", "'+' at the end" },
      { "/=x", "empty attribute type" },
      { "/FOO=x", "unknown attribute type 'FOO'" },
      { "/CN=", "empty value for CN" },
      { "/C=NOR", "bad value for C: string too long" },
      { "/CN=\255\254", "bad value for CN: invalid utf8string" },
      { "/emailAddress=å@b", "bad value for emailAddress: illegal characters" },
    }
    for _, c in ipairs(cases) do
      local n, err = name.parse(c[1])
      assert.is_nil(n, c[1])
      assert.truthy(err:find(c[2], 1, true), c[1] .. " -> " .. tostring(err))
    end
    assert.has_error(function() name.parse(42) end)
    assert.has_error(function() name.parse() end)
  end)
end)

describe("name.new", function()
  it("takes an ordered list of {type, value}", function()
    local n = assert(name.new{ { "C", "NO" }, { "O", "net2" }, { "CN", "x" } })
    assert.equal("C = NO, O = net2, CN = x", n:text())
  end)

  it("takes single-key entries and a single-key table", function()
    local n = assert(name.new{ { C = "NO" }, { CN = "x" } })
    assert.equal("/C=NO/CN=x", n:oneline())
    assert.equal("/CN=y", assert(name.new{ CN = "y" }):oneline())
    assert.equal(0, #assert(name.new{}))
  end)

  it("joins an entry to the previous RDN with multi = true", function()
    local n = assert(name.new{ { "OU", "a" }, { "UID", "b", multi = true } })
    assert.equal("OU=a+UID=b", n:rfc4514())
  end)

  it("raises on wrong types and returns nil, err on bad values", function()
    assert.has_error(function() name.new("x") end)
    assert.has_error(function() name.new{ { 1, 2 } } end)
    assert.has_error(function() name.new{ 5 } end)
    assert.has_error(function() name.new{ C = "NO", O = "x" } end) -- no order
    local n, err = name.new{ { "XYZ", "1" } }
    assert.is_nil(n)
    assert.matches("unknown attribute type 'XYZ'", err)
  end)
end)

describe("name.parse_rfc4514", function()
  it("reads RFC 4514 text, most significant RDN last", function()
    local n = assert(name.parse_rfc4514("CN=x\\2Cy,O=\"a,b\"+OU=c ,C=NO"))
    assert.equal("C = NO, O = \"a,b\" + OU = c, CN = \"x,y\"", n:text())
  end)

  it("reads back what rfc4514() writes", function()
    local n = assert(name.parse("/C=NO/O=Acme, Inc./OU=a\\+b/CN=#lead/CN=trail /CN=x\"y<z>;"))
    local back = assert(name.parse_rfc4514(n:rfc4514()))
    assert.is_true(back == n)
    assert.equal("CN=x\\\"y\\<z\\>\\;,CN=trail\\ ,CN=\\#lead,OU=a\\+b,O=Acme\\, Inc.,C=NO", n:rfc4514())
  end)

  it("reads #hex values with their string type", function()
    local n = assert(name.parse_rfc4514("1.2.3.4=#13027A7A+CN=#0C017A,C=NO"))
    assert.equal("C = NO, 1.2.3.4 = zz + CN = z", n:text())
    assert.equal("1.2.3.4=#13027A7A+CN=z,C=NO", n:rfc4514())
    assert.is_true(assert(name.parse_rfc4514(n:rfc4514())) == n)
    -- the EV jurisdiction types openssl knows are known here too
    assert.equal("jurisdictionC = US", assert(name.parse("/jurisdictionC=US")):text())
  end)

  it("names errors", function()
    assert.matches("expected TYPE=", select(2, name.parse_rfc4514("x")))
    assert.matches("bad #hex value for CN", select(2, name.parse_rfc4514("CN=#0C02")))
    assert.matches("bad #hex value for CN", select(2, name.parse_rfc4514("CN=#0C0178zz")))
    assert.matches("unterminated quote", select(2, name.parse_rfc4514("CN=\"x")))
    assert.equal(0, #assert(name.parse_rfc4514("")))
  end)
end)

describe("name objects", function()
  local n = assert(name.parse("/C=NO/O=net2/OU=a/OU=b/CN=x"))

  it("get returns the first value, or all of them", function()
    assert.equal("a", n:get("OU"))
    assert.same({ "a", "b" }, n:get("OU", true))
    assert.equal("x", n:get("commonName"))
    assert.equal("x", n:get("2.5.4.3"))
    assert.is_nil(n:get("L"))
    assert.same({}, n:get("L", true))
    assert.has_error(function() n:get() end)
  end)

  it("iterates entries", function()
    local got = {}
    for sn, v, oid, rdn in n:entries() do got[#got + 1] = sn .. "=" .. v .. "@" .. oid .. "#" .. rdn end
    assert.same({ "C=NO@2.5.4.6#1", "O=net2@2.5.4.10#2", "OU=a@2.5.4.11#3", "OU=b@2.5.4.11#4",
                  "CN=x@2.5.4.3#5" }, got)
  end)

  it("hashes like X509_NAME_hash: 8 lower-case hex digits", function()
    local hsh = n:hash()
    assert.matches("^%x%x%x%x%x%x%x%x$", hsh)
    assert.equal(hsh:lower(), hsh)
    assert.equal(hsh, assert(name.parse("/C=NO/O=net2/OU=a/OU=b/CN=x")):hash())
    assert.not_equal(hsh, assert(name.parse("/C=NO/O=net2/CN=y")):hash())
    -- canonical form: case and inner spaces do not count
    assert.equal(assert(name.parse("/CN=Hello  World")):hash(), assert(name.parse("/CN=hello world")):hash())
    assert.matches("^%x+$", n:hash_old())
  end)

  it("round-trips DER", function()
    local back = assert(name.from_der(n:der()))
    assert.is_true(back == n)
    assert.is_true(back:equals(n))
    local bad, err = name.from_der("\48\3\1\1\1")
    assert.is_nil(bad); assert.matches("name.from_der", err)
    bad, err = name.from_der(n:der() .. "x")
    assert.is_nil(bad); assert.matches("trailing data", err)
  end)

  it("compares, copies and prints", function()
    local m = assert(name.parse("/C=NO/O=net2/CN=y"))
    assert.is_false(m == n)
    assert.is_false(m:equals(n))
    assert.is_true(n:copy() == n)
    assert.equal("CN=x,OU=b,OU=a,O=net2,C=NO", tostring(n))
    assert.is_true(name.is_name(n))
    assert.is_false(name.is_name("x"))
  end)

  it("raises on a closed name", function()
    local m = assert(name.parse("/CN=z"))
    m:close()
    m:close() -- idempotent
    assert.has_error(function() m:text() end, nil)
    local ok, err = pcall(m.hash, m)
    assert.is_false(ok)
    assert.matches("attempt to use a closed name", err)
    assert.equal("certbench.name (closed)", tostring(m))
  end)

  it("name.from takes names, both string forms and tables", function()
    assert.is_true(name.from(n) == n)
    assert.equal("/CN=a", name.from("/CN=a"):oneline())
    assert.equal("/C=NO/CN=a", name.from("CN=a,C=NO"):oneline())
    assert.equal("/CN=a", name.from{ { "CN", "a" } }:oneline())
    assert.has_error(function() name.from(42) end)
    assert.equal("2.5.4.3", name.oid("CN"))
    assert.equal("2.5.4.3", name.oid("commonName"))
    assert.is_nil(name.oid("nonsense-type"))
  end)
end)

describe("n:label()", function()
  it("is the CN, escaped for the terminal, else the whole name's text", function()
    local name = require "certbench.name"
    assert.equal("a.example.com", name.parse("/O=net2/CN=a.example.com"):label())
    assert.equal("x\\0Ay\\1B[8m", name.new { { "CN", "x\ny\27[8m" } }:label())
    assert.equal("O = net2", name.parse("/O=net2"):label())
  end)

  it("is what describe.cert_label says of a certificate (pfx, show, vcs messages), CN= before a CN", function()
    local describe = require "certbench.describe"
    local x509 = require "certbench.x509"
    local key = assert(require("certbench.pkey").generate("ec:P-256"))
    local function cert(subject) return assert(x509.new { subject = subject, issuer_key = key, days = 1 }) end
    local evil = cert(name.new { { "O", "net2" }, { "CN", "x\ny\27[8m" } })
    assert.equal("CN=x\\0Ay\\1B[8m", describe.cert_label(evil))
    assert.equal("CN=" .. evil:subject():label(), describe.cert_label(evil))
    local no_cn = cert("/O=net2/OU=ops\27[8m")
    assert.equal(no_cn:subject():label(), describe.cert_label(no_cn))
    assert.is_nil(describe.cert_label(no_cn):find("\27", 1, true))
  end)
end)

-- name.text_of shows a name a report holds as a string (RFC 4514 or /-form) as name:text() does;
-- ca's db.name_text the same for index.txt's form (openssl ca's \xHH escapes). Neither raises,
-- and nothing they return holds a control character, whatever the string.
describe("name.text_of and db.name_text", function()
  local db = require "certbench.plugins.ca.db"
  it("read a report's name back into the one text form", function()
    local n = assert(name.parse("/C=NO/O=net2, Inc/CN=a\nb"))
    assert.equal(n:text(), name.text_of(n))
    assert.equal(n:text(), name.text_of(n:rfc4514()))
    assert.equal(n:text(), name.text_of(n:oneline()))
    assert.equal('C = NO, O = "net2, Inc", CN = a\\0Ab', name.text_of(n:rfc4514()))
    assert.equal(n:text(), db.name_text(db.oneline(n:list())))
    local u = assert(name.new { { "CN", "é/+x" } })
    assert.equal(u:text(), db.name_text(db.oneline(u:list())))
    assert.equal("not a name\\1B", name.text_of("not a name\27"))
  end)
  it("never raise and never return a control character", function()
    math.randomseed(7)
    local alphabet = "/=+,\\\"#<>; xCNOabc\n\27\0\194\155é"
    for _ = 1, 3000 do
      local t = {}
      for i = 1, math.random(0, 24) do
        local k = math.random(1, #alphabet)
        t[i] = alphabet:sub(k, k)
      end
      local s = table.concat(t)
      for _, f in ipairs { name.text_of, db.name_text } do
        local out = f(s)
        assert.is_string(out)
        assert.is_nil(out:find("[%z\1-\31\127]"), ("%q -> %q"):format(s, out))
        assert.is_nil(out:find("\194[\128-\159]"), ("%q -> %q"):format(s, out))
      end
    end
  end)
end)
