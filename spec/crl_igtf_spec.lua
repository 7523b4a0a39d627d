-- spec/crl_igtf_spec.lua: plugins/crl/igtf.lua reads an IGTF trust folder with the grammar of
-- fetch-crl 3 (its TrustAnchor::loadAnchor and ConfigTiny): crl_url / crl_url.N in <name>.info,
-- one URL a line in <name>.crl_url, the CA by <alias>.pem, <alias>.R or <name>.R. The folder
-- read by the real fetch-crl is in tests/interop/crl_mirror_fetchcrl_spec.lua.
local h = require "support.helper"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"
local igtf = require "certbench.plugins.crl.igtf"

describe("crl igtf.read", function()
  local dir, one, two

  setup(function()
    dir = h.tmpdir()
    one, two = F.ca(dir, "Spec IGTF One"), F.ca(dir, "Spec IGTF Two")
  end)

  local function folder(files)
    local g = h.tmpdir()
    for name, text in pairs(files) do h.write(g .. "/" .. name, text) end
    return g
  end
  local function urls_of(res)
    local t = {}
    for _, s in ipairs(res.sources) do t[#t + 1] = table.concat(s.urls, " ") end
    return t
  end

  it("takes crl_url, or crl_url.0, crl_url.1... (one source per CRL), pinned to the CA", function()
    local g = folder {
      ["One.pem"] = h.read(one.pem),
      ["One.info"] = "alias = One\ncrl_url.0 = http://a/0.crl;http://b/0.crl\ncrl_url.1 = http://a/1.crl\n",
    }
    local res = assert(igtf.read(g))
    assert.same({ "http://a/0.crl http://b/0.crl", "http://a/1.crl" }, urls_of(res))
    assert.equal(tostring(one.cert:subject()), res.sources[2].issuers[1])
    assert.same({ g .. "/One.pem" }, res.ca)
  end)

  it("parses values as fetch-crl's ConfigTiny does: ';' or spaces separate, ' ; ' starts a comment", function()
    local g = folder {
      ["One.pem"] = h.read(one.pem),
      ["One.info"] = "# comment\n; comment\nalias = One\ncrl_url = http://a/x.crl http://b/x.crl;\\\n   http://c/x.crl ; http://d/x.crl\n[other]\ncrl_url.1 = http://e/x.crl\n",
    }
    local res = assert(igtf.read(g))
    assert.same({ "http://a/x.crl http://b/x.crl http://c/x.crl" }, urls_of(res))
  end)

  it("ignores, with a note, what fetch-crl refuses: crl_url beside crl_url.0, no alias, a non-URL, no CA", function()
    local g = folder {
      ["One.pem"] = h.read(one.pem),
      ["One.info"] = "alias = One\ncrl_url = http://a/x.crl\ncrl_url.0 = http://b/x.crl\n",
      ["Two.pem"] = h.read(two.pem),
      ["Two.info"] = "crl_url = http://a/two.crl\n",
      ["Three.info"] = "alias = Three\ncrl_url = http://a/three.crl\n",
      ["abcdef01.crl_url"] = "ldap-less text\n",
      ["abcdef01.0"] = h.read(two.pem),
      ["Four.info"] = "alias = Four\ncrlurl = http://a/four.crl\n",
    }
    local res, err = igtf.read(g)
    assert.is_nil(res)
    assert.matches("no CA with a CRL URL", err)
    -- one good CA among them: the notes name each of the others
    h.write(g .. "/Five.pem", h.read(one.pem))
    h.write(g .. "/Five.info", "alias = Five\ncrl_url = http://a/five.crl\n")
    res = assert(igtf.read(g))
    assert.same({ "http://a/five.crl" }, urls_of(res))
    local notes = table.concat(res.notes, "\n")
    assert.matches("One%.info: both crl_url and crl_url%.0", notes)
    assert.matches("Two%.info: no alias", notes)
    assert.matches("Three%.info: no CA beside it", notes)
    assert.matches("abcdef01%.crl_url: not a URL: ldap%-less", notes)
    assert.matches("Four%.info: no crl_url", notes)
  end)

  it("prefers <name>.info to <name>.crl_url, finds the CA as <alias>.R or <name>.R, and reads a CA once", function()
    local hash = one.cert:subject():hash()
    local g = folder {
      [hash .. ".0"] = h.read(one.pem),
      [hash .. ".info"] = "alias = One\ncrl_url = http://info/one.crl\n",
      [hash .. ".crl_url"] = "http://crl-url/one.crl\n",
      ["Two.1"] = h.read(two.pem),
      ["Two.info"] = "alias = Two\ncrl_url.0 = http://a/two-0.crl\ncrl_url.1 = http://a/two-1.crl\n",
      -- the same CA again under another name, for the same CRL: fetched once
      ["Again.crl_url"] = "http://again/one.crl\n",
      ["Again.0"] = h.read(one.pem),
    }
    local res = assert(igtf.read(g))
    local urls = urls_of(res)
    table.sort(urls)
    assert.same({ "http://a/two-1.crl", "http://info/one.crl" }, urls)
    assert.matches("Two%.info: no CA beside it %(Two%.pem, Two%.0, Two%.0%)", table.concat(res.notes, "\n"))
    assert.equal(2, #res.ca)
    assert.truthy(fs.exists(res.ca[1]))
  end)
end)
