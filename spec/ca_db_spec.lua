-- The files of an openssl ca folder as certbench.plugins.ca.db reads and writes them. The
-- expected bytes are what openssl 3.0 wrote in a demoCA (see tests/interop/ca_spec.lua for the
-- same checks against the live openssl CLI).
local db = require "certbench.plugins.ca.db"

describe("ca.db serial numbers", function()
  it("normalizes like BN_bn2hex: upper case, even length, 00 for zero", function()
    assert.equal("01", db.norm_serial("1"))
    assert.equal("01", db.norm_serial("0001"))
    assert.equal("0100", db.norm_serial("100"))
    assert.equal("ABCD", db.norm_serial("abcd"))
    assert.equal("00", db.norm_serial("0"))
    assert.equal("00", db.norm_serial("000"))
    assert.equal("0A0B", db.norm_serial("0a:0b"))
    assert.equal("FF", db.norm_serial("0xff"))
    assert.is_nil(db.norm_serial("xyz"))
    assert.is_nil(db.norm_serial(""))
    assert.is_nil(db.norm_serial(12))
  end)
  it("adds with carries at any length", function()
    assert.equal("02", db.add_serial("01", 1))
    assert.equal("0100", db.add_serial("FF", 1))
    assert.equal("1000", db.add_serial("0FFF", 1))
    assert.equal("03E9", db.add_serial("00", 1001))
    -- the integer fast path ends where int64 does
    assert.equal("7FFFFFFFFFFFFFFF", db.add_serial("7FFFFFFFFFFFFFFE", 1))
    assert.equal("8000000000000000", db.add_serial("7FFFFFFFFFFFFFFF", 1))
    assert.equal("8000000000000001", db.add_serial("7FFFFFFFFFFFFFFF", 2))
    assert.equal("8000000000000001", db.add_serial("8000000000000000", 1))
    assert.equal("0100000000000000", db.add_serial("FFFFFFFFFFFFFF", 1))
    local big = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    assert.equal("8000000000000000000000000000000000000000", db.add_serial(big, 1))
    assert.equal("80000000000000000000000000000000000003E7", db.add_serial(db.add_serial(big, 1), 999))
  end)
  it("compares and subtracts", function()
    assert.equal(-1, db.cmp_serial("FF", "0100"))
    assert.equal(1, db.cmp_serial("0101", "0100"))
    assert.equal(0, db.cmp_serial("AB", "AB"))
    assert.equal(255, db.sub_serial("0100", "01"))
    assert.is_nil(db.sub_serial("01", "02"))
    local a = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0000"
    assert.equal(16, db.sub_serial(db.add_serial(a, 16), a))
  end)
  it("reads the serial file as openssl does and writes hex and a newline", function()
    assert.equal("04", db.parse_serial_file("04\n", "serial"))
    assert.equal("ABCD", db.parse_serial_file("abcd\r\n", "serial"))
    assert.equal("0102", db.parse_serial_file("01\\\n02\n", "serial"))
    assert.equal("0102", db.parse_serial_file("0102\nignored second line\n", "serial"))
    local v, err = db.parse_serial_file("hello\n", "demoCA/serial")
    assert.is_nil(v)
    assert.equal('demoCA/serial: not a hexadecimal number ("hello")', err)
    assert.equal("demoCA/serial: missing", select(2, db.parse_serial_file(nil, "demoCA/serial")))
    assert.equal("0100\n", db.serial_file_text("0100"))
  end)
end)

describe("ca.db times", function()
  it("writes UTCTime before 2050 and GeneralizedTime from 2050 (RFC 5280)", function()
    assert.equal("271128005541Z", db.asn1_time(1827363341))
    assert.equal("491231235959Z", db.asn1_time(2524607999))
    assert.equal("20500101000000Z", db.asn1_time(2524608000))
    assert.equal("20600101000000Z", db.asn1_time(2840140800))
  end)
  it("parses both forms back to epoch seconds", function()
    assert.equal(1827363341, db.parse_asn1_time("271128005541Z"))
    assert.equal(2524608000, db.parse_asn1_time("20500101000000Z"))
    assert.equal(0, db.parse_asn1_time("700101000000Z"))
    assert.equal(-631152000, db.parse_asn1_time("500101000000Z"))
    assert.is_nil(db.parse_asn1_time("2701010000Z"))
    assert.is_nil(db.parse_asn1_time("271301000000Z"))
    assert.is_nil(db.parse_asn1_time("27112800554xZ"))
    for _, t in ipairs({ 0, 1, 951782400, 1700000000, 2524607999, 2524608000, 4102444800 }) do
      assert.equal(t, db.parse_asn1_time(db.asn1_time(t)))
    end
  end)
end)

describe("ca.db index lines", function()
  -- lines openssl 3.0 wrote (ca -revoke with -crl_reason, -crl_hold, -crl_compromise)
  local lines = {
    "V\t271128005541Z\t\t01\tunknown\t/C=NO/O=net2, Inc./CN=host1.example.com",
    "R\t271128005541Z\t261128005545Z,keyCompromise\t02\tunknown\t/C=NO/O=net2, Inc./CN=host2.example.com",
    "R\t271128005541Z\t261128005545Z\t03\tunknown\t/C=NO/O=net2, Inc./CN=host3.example.com",
    "R\t271128005632Z\t261128005632Z,unspecified\tFF\tunknown\t/C=NO/O=Bj\\xC3\\xB8rn\\/Slash/CN=h4",
    "R\t20600101000000Z\t261128005632Z,holdInstruction,1.2.840.10040.2.2\t0100\tunknown\t/CN=h4",
    "R\t271128005541Z\t261128005632Z,keyTime,20240101000000Z\t01\tunknown\t/CN=x",
    "E\t210101000000Z\t\t1000\tunknown\t/C=NO/CN=old",
  }

  it("parses every field", function()
    local e = assert(db.parse_line(lines[2]))
    assert.equal("R", e.status)
    assert.equal("271128005541Z", e.expiry)
    assert.equal(1827363341, e.expires)
    assert.equal("02", e.serial)
    assert.equal("02", e.key)
    assert.equal("unknown", e.file)
    assert.equal("/C=NO/O=net2, Inc./CN=host2.example.com", e.subject)
    assert.equal("keyCompromise", e.revocation.reason)
    assert.equal(db.parse_asn1_time("261128005545Z"), e.revocation.time)
    local hold = assert(db.parse_line(lines[5]))
    assert.equal("certificateHold", hold.revocation.reason)
    assert.equal("1.2.840.10040.2.2", hold.revocation.hold)
    assert.equal(db.parse_asn1_time("20600101000000Z"), hold.expires)
    local kt = assert(db.parse_line(lines[6]))
    assert.equal("keyCompromise", kt.revocation.reason)
    assert.equal(db.parse_asn1_time("20240101000000Z"), kt.revocation.compromise_time)
    local plain = assert(db.parse_line(lines[3]))
    assert.is_nil(plain.revocation.reason)
    assert.equal("E", assert(db.parse_line(lines[7])).status)
  end)

  it("writes every line back byte for byte", function()
    for _, l in ipairs(lines) do
      assert.equal(l .. "\n", db.format_line(assert(db.parse_line(l))))
    end
  end)

  it("keeps a tab in a field escaped as TXT_DB does", function()
    local l = "V\t271128005541Z\t\t0A\tunknown\t/CN=a\\\tb"
    local e = assert(db.parse_line(l))
    assert.equal("/CN=a\tb", e.subject)
    assert.equal(l .. "\n", db.format_line(e))
  end)

  -- found by tests/fuzz/ca_index.lua (seed corpus/ca_index/escaped-tab-in-revocation): the
  -- revocation field was written back with its tab unescaped, a seventh field for openssl
  it("keeps a tab escaped in the revocation field too", function()
    local l = "R\t271128005541Z\t251201000000Z,holdInstruction,1.2\\\t3\t0B\tunknown\t/CN=b"
    local e = assert(db.parse_line(l))
    assert.equal("251201000000Z,holdInstruction,1.2\t3", e.revoked)
    assert.equal(l .. "\n", db.format_line(e))
    local back = assert(db.parse_line(db.format_line(e):sub(1, -2)))
    assert.equal(e.revoked, back.revoked)
    assert.equal("/CN=b", back.subject)
  end)

  it("rejects malformed lines with the reason", function()
    assert.same({ nil, "not six tab-separated fields" }, { db.parse_line("V\t271128005541Z\t\t01\tunknown") })
    assert.same({ nil, "unknown status 'X'" }, { db.parse_line("X\t271128005541Z\t\t01\tunknown\t/CN=a") })
    assert.same({ nil, "bad expiry date '2711'" }, { db.parse_line("V\t2711\t\t01\tunknown\t/CN=a") })
    assert.same({ nil, "bad serial 'G1'" }, { db.parse_line("V\t271128005541Z\t\tG1\tunknown\t/CN=a") })
    assert.same({ nil, "bad revocation field 'junk'" }, { db.parse_line("R\t271128005541Z\tjunk\t01\tunknown\t/CN=a") })
    assert.same({ nil, "revoked without a revocation date" }, { db.parse_line("R\t271128005541Z\t\t01\tunknown\t/CN=a") })
  end)

  it("parses a whole index: comments skipped, a torn tail left out and measured", function()
    local text = "# a comment\n" .. lines[1] .. "\n" .. lines[2] .. "\nbad line\n" .. lines[3] .. "\nV\t2711"
    local entries, bad, complete = db.parse_index(text)
    assert.equal(3, #entries)
    assert.equal(2, entries[1].line)
    assert.equal(5, entries[3].line)
    assert.same({ { line = 4, why = "not six tab-separated fields" } }, bad)
    assert.equal(#text - #"V\t2711", complete)
  end)

  it("formats the revocation field", function()
    assert.equal("261128005545Z", db.revoked_field(1795827345))
    assert.equal("261128005545Z,superseded", db.revoked_field(1795827345, "superseded"))
  end)

  it("knows the RFC 5280 reasons by their words in any case", function()
    assert.equal("keyCompromise", db.reason_word("keycompromise"))
    assert.equal("CACompromise", db.reason_word("ca-compromise"))
    assert.equal("cessationOfOperation", db.reason_word("cessation_of_operation"))
    assert.is_nil(db.reason_word("stolen"))
    assert.equal("unspecified", db.reason_list()[1])
    assert.equal(10, #db.reason_list())
  end)
end)

describe("ca.db index.txt.attr", function()
  it("defaults to unique_subject = yes as openssl does", function()
    assert.is_true(db.parse_attr(nil).unique_subject)
    assert.is_true(db.parse_attr("unique_subject = yes\n").unique_subject)
    assert.is_false(db.parse_attr("unique_subject = no\n").unique_subject)
    assert.equal("unique_subject = no\n", db.attr_text({ unique_subject = false }))
  end)
end)

describe("ca.db subject one-line form", function()
  it("writes X509_NAME_oneline: \\/ \\+ and \\xHH escapes, + within an RDN", function()
    assert.equal("/C=NO/O=Bj\\xC3\\xB8rn\\/Slash/CN=h4", db.oneline({
      { name = "C", value = "NO", rdn = 1 }, { name = "O", value = "Bjørn/Slash", rdn = 2 },
      { name = "CN", value = "h4", rdn = 3 } }))
    assert.equal("/O=a\\b=c,d;e\"f<g\\+h #/OU=x+CN=multi/CN= lead", db.oneline({
      { name = "O", value = "a\\b=c,d;e\"f<g+h #", rdn = 1 }, { name = "OU", value = "x", rdn = 2 },
      { name = "CN", value = "multi", rdn = 2 }, { name = "CN", value = " lead", rdn = 3 } }))
    assert.equal("/CN=tab\\x09", db.oneline({ { name = "CN", value = "tab\t", rdn = 1 } }))
    assert.equal("", db.oneline({}))
  end)
end)
