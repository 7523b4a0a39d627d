-- spec/crl_fetchcrl_conf_spec.lua: fetch-crl's configuration file read as the mirror's
-- (plugins/crl/fetchcrl_conf.lua, through mirror.configure{ fetch_crl_conf = FILE }): the keys a
-- fetch-crl user has mapped, the others refused naming the file, the line and why, the per-CA
-- sections as fetch-crl's TrustAnchor::loadAnchor applies them. fetch-crl itself reading the same
-- files: tests/interop/crl_mirror_fetchcrl_spec.lua.
local h = require "support.helper"
local F = require "support.crl_plugin"
local fs = require "certbench.fs"
local mirror = require "certbench.plugins.crl.mirror"
local fconf = require "certbench.plugins.crl.fetchcrl_conf"

describe("crl mirror --fetch-crl-conf", function()
  local dir, g, one, two, h2

  setup(function()
    dir = h.tmpdir()
    one, two = F.ca(dir, "Conf One"), F.ca(dir, "Conf Two")
    h2 = two.cert:subject():hash()
    g = dir .. "/certificates"
    assert(fs.mkdir(g))
    h.write(g .. "/One.pem", h.read(one.pem))
    h.write(g .. "/One.info", "alias = One\nstatus = accredited:classic\ncrl_url = http://ca.example/one.crl\n")
    h.write(g .. "/" .. h2 .. ".0", h.read(two.pem))
    h.write(g .. "/" .. h2 .. ".crl_url", "http://ca.example/two.crl\n")
  end)

  local function write(name, text)
    h.write(dir .. "/" .. name, text)
    return dir .. "/" .. name
  end
  local function by_name(cfg)
    local t = {}
    for _, s in ipairs(cfg.sources) do t[s.name] = s end
    return t
  end

  it("takes the Debian package's /etc/fetch-crl.conf as it is shipped: CRLs beside the CAs, 24 h tolerance, both hash styles", function()
    -- the file of fetch-crl 3.0.22-2, but for the folder
    local p = write("debian.conf", "#\n# Default configuration file for fetch-crl3\n# @(#)$Id$\n#\n"
      .. "infodir = " .. g .. "\nagingtolerance = 24\nsymlinks\nnowarnings\ncfgdir =\n")
    local cfg = assert(mirror.configure { fetch_crl_conf = p })
    assert.equal(g, cfg.out_dir)
    assert.equal(86400, cfg.tolerance)
    assert.same({ new = true, old = true }, cfg.hash_names)
    assert.is_false(cfg.publish_cas, "the CAs are in the folder already")
    assert.equal(2, #cfg.sources)
    local conf = assert(fconf.read(p))
    assert.is_true(conf.nowarnings)
  end)

  it("refuses a key it does not know or support, naming the file, the line and why", function()
    local function refused(text, pattern)
      local p = write("refused.conf", "infodir = " .. g .. "\ncfgdir =\n" .. text)
      local cfg, err, code = mirror.configure { fetch_crl_conf = p }
      assert.is_nil(cfg)
      assert.equal(2, code)
      assert.matches(pattern, err)
    end
    refused("# a comment\nparalelism = 4\n", "refused%.conf:4: paralelism: not a fetch%-crl setting certbench knows")
    refused("postexec = /usr/local/bin/reload\n", "refused%.conf:3: postexec: not supported: a site plugin's crl%.mirror_done")
    refused("formats = openssl nss\n", "refused%.conf:3: formats: nss is not supported: an NSS database")
    refused("rcmode = differentiated\n", "refused%.conf:3: rcmode: 'differentiated' is not supported")
    refused("\n[One]\nagingtolerance = 12h\n", "refused%.conf:5: agingtolerance: '12h' is not a number of hours")
    refused("[One]\nbackups\n", "refused%.conf:4: backups: not a fetch%-crl setting certbench knows %(in the section %[One%]%)")
    refused("catemplate = @HASH@.0\n", "refused%.conf:3: catemplate: @HASH@ is not supported")
    -- a continued line counts from where it starts
    refused("prepend_url = http://a/x \\\n  http://b/y\nfoo\n", "refused%.conf:5: foo")
    -- the files of its cfgdir, each named
    local d = dir .. "/fetch-crl.d"
    assert(fs.mkdir(d))
    h.write(d .. "/local.conf", "httptimeout = 30\nlogmode = syslog\n")
    local p = write("cfgdir.conf", "infodir = " .. g .. "\ncfgdir = " .. d .. "\n")
    local cfg, err = mirror.configure { fetch_crl_conf = p }
    assert.is_nil(cfg)
    assert.matches("fetch%-crl%.d/local%.conf:2: logmode: not supported", err)
    -- and a file of it that is correct is read
    h.write(d .. "/local.conf", "httptimeout = 30\n")
    cfg = assert(mirror.configure { fetch_crl_conf = p })
    assert.equal(30, cfg.timeout)
  end)

  it("applies the per-CA sections and the URL templates as fetch-crl does", function()
    local p = write("anchors.conf", table.concat({
      "infodir = " .. g, "cfgdir =", "output = out", "parallelism = 3", "httptimeout = 9",
      "opensslmode = single", "formats = openssl;pem;der", "noerrors",
      "prepend_url = file:///mirror/@ALIAS@/@STATUS@.r@R@",
      "postpend_url = http://last.example/@ANCHORNAME@.r@R@",
      "[One]", "agingtolerance = 1", "errors", "nametemplate_pem = @ALIAS@-@R@.pem",
      "[" .. h2 .. "]", "nopostpend_url", "crl_url.0 = http://section.example/two.crl; http://section2.example/two.crl",
      "httptimeout = 4", "",
    }, "\n"))
    local cfg = assert(mirror.configure { fetch_crl_conf = p })
    assert.equal(dir .. "/out", cfg.out_dir, "relative to the file's folder")
    assert.is_true(cfg.publish_cas)
    assert.equal(3, cfg.concurrency)
    assert.equal(9, cfg.timeout)
    assert.same({ new = true }, cfg.hash_names)
    local s = by_name(cfg)
    local a, b = s["One.info"], s[h2 .. ".crl_url"]
    assert.same({ "file:///mirror/One/accredited:classic.r0", "http://ca.example/one.crl", "http://last.example/One.r0" }, a.urls)
    assert.same({ "file:///mirror/" .. h2 .. "/unknown.r0", "http://section.example/two.crl", "http://section2.example/two.crl" }, b.urls)
    assert.equal(3600, a.tolerance)
    assert.is_nil(b.tolerance, "the main section's, the mirror's own")
    assert.equal(86400, cfg.tolerance)
    assert.is_nil(a.optional, "errors in its section cancels noerrors")
    assert.is_true(b.optional)
    assert.equal(4, b.timeout)
    assert.equal(9, a.timeout)
    assert.same({ pem = "One-0.pem", der = "One.0.crl" }, a.names)
    assert.same({ pem = h2 .. ".0.crl.pem", der = h2 .. ".0.crl" }, b.names)
    assert.same({ tostring(one.cert:subject()) }, a.issuers)
    -- the alias's section wins over the anchor name's
    local p2 = write("alias.conf", "infodir = " .. g .. "\ncfgdir =\n[One]\ncrl_url.0 = http://alias.example/x.crl\n"
      .. "[One]\n[One.info]\n")
    cfg = assert(mirror.configure { fetch_crl_conf = p2 })
    assert.same({ "http://alias.example/x.crl" }, by_name(cfg)["One.info"].urls)
  end)

  it("noerrors makes a CA's failure a warning, exit 0; nowarnings keeps it off the terminal", function()
    local gg = dir .. "/files"
    assert(fs.mkdir(gg))
    h.write(gg .. "/One.pem", h.read(one.pem))
    h.write(gg .. "/One.info", ("alias = One\ncrl_url = file://%s/none.crl\n"):format(dir))
    local base = "infodir = " .. gg .. "\ncfgdir =\noutput = " .. dir .. "/files-out\n"
    local p = write("noerrors.conf", base .. "[One]\nnoerrors\n")
    local out, rc = h.run(h.q(h.bin) .. " crl mirror --fetch-crl-conf " .. h.q(p) .. " 2>&1")
    assert.equal(0, rc, out)
    assert.matches("none%.crl.*not an error: the source is optional", out)
    -- "= 0" is off, as Perl reads it
    p = write("off.conf", base .. "noerrors = 0\n")
    out, rc = h.run(h.q(h.bin) .. " crl mirror --fetch-crl-conf " .. h.q(p) .. " 2>&1")
    assert.equal(1, rc, out)
    p = write("quiet.conf", base .. "noerrors\nnowarnings\n")
    out, rc = h.run(h.q(h.bin) .. " crl mirror --fetch-crl-conf " .. h.q(p) .. " 2>&1")
    assert.equal(0, rc, out)
    assert.matches("^ok ", out)
    assert.not_matches("optional", out)
    -- without it, a failure
    p = write("errors.conf", base)
    out, rc = h.run(h.q(h.bin) .. " crl mirror --fetch-crl-conf " .. h.q(p) .. " 2>&1")
    assert.equal(1, rc, out)
    assert.matches("none%.crl", out)
  end)

  it("never lets a name template replace a file of the trust folder that is not a CRL", function()
    local gg = dir .. "/template"
    assert(fs.mkdir(gg))
    h.write(dir .. "/one.crl", F.crl(one, { number = 1 }):to_der())
    h.write(gg .. "/One.pem", h.read(one.pem))
    h.write(gg .. "/One.info", ("alias = One\ncrl_url = file://%s/one.crl\n"):format(dir))
    local p = write("template.conf", "infodir = " .. gg .. "\ncfgdir =\nformats = openssl,pem\nnametemplate_pem = @ALIAS@.pem\n")
    local out, rc = h.run(h.q(h.bin) .. " --json crl mirror --fetch-crl-conf " .. h.q(p))
    assert.equal(0, rc, out)
    assert.equal(h.read(one.pem), h.read(gg .. "/One.pem"))
    assert.is_nil(fs.readlink(gg .. "/One.pem"))
    assert.matches("One%.pem: not replaced by a link to .-: it is not a CRL", table.concat(F.json(out).state_ignored, "\n"))
  end)

  it("finds the CAs in cadir by catemplate, and skips metadata files that are symbolic links with nosymlinks", function()
    local gg, cas = dir .. "/meta", dir .. "/cas"
    assert(fs.mkdir(gg))
    assert(fs.mkdir(cas))
    h.write(gg .. "/One.info", "alias = One\ncrl_url = http://ca.example/one.crl\n")
    h.write(cas .. "/ca-One.crt", h.read(one.pem))
    h.write(dir .. "/Alt.info", "alias = Alt\ncrl_url = http://ca.example/alt.crl\n")
    h.sh("ln -s ../Alt.info " .. h.q(gg .. "/Alt.info"))
    h.write(cas .. "/ca-Alt.crt", h.read(two.pem))
    local base = "infodir = " .. gg .. "\ncfgdir =\noutput = " .. dir .. "/meta-out\ncadir = " .. cas
      .. "\ncatemplate = ca-@ALIAS@.crt\n"
    local cfg = assert(mirror.configure { fetch_crl_conf = write("cadir.conf", base) })
    local s = by_name(cfg)
    assert.truthy(s["One.info"] and s["Alt.info"])
    assert.same({ tostring(two.cert:subject()) }, s["Alt.info"].issuers)
    local found = {}
    for _, c in ipairs(cfg.ca) do found[#found + 1] = fs.basename(c) end
    table.sort(found)
    assert.same({ "ca-Alt.crt", "ca-One.crt" }, found)
    cfg = assert(mirror.configure { fetch_crl_conf = write("nosymlinks.conf", base .. "nosymlinks\n") })
    s = by_name(cfg)
    assert.truthy(s["One.info"])
    assert.is_nil(s["Alt.info"])
  end)

  it("puts the pem and der formats' names in output_pem and output_der, as links to the published files", function()
    local gg, pemdir = dir .. "/formats", dir .. "/pem-out"
    assert(fs.mkdir(gg))
    h.write(dir .. "/one-2.crl", F.crl(one, { number = 2 }):to_der())
    h.write(gg .. "/One.pem", h.read(one.pem))
    h.write(gg .. "/One.info", ("alias = One\ncrl_url = file://%s/one-2.crl\n"):format(dir))
    local p = write("formats.conf", "infodir = " .. gg .. "\ncfgdir =\noutput = " .. dir .. "/formats-out\n"
      .. "formats = pem der\noutput_pem = " .. pemdir .. "\n")
    -- output_pem missing: the CRLs are published, the run says which name it could not make
    local out, err, rc = h.run3(h.q(h.bin) .. " --json crl mirror --fetch-crl-conf " .. h.q(p))
    assert.equal(0, rc, err)
    assert.matches("cannot make the names of the pem/der formats: .*pem%-out", F.json(out).warning)
    assert(fs.mkdir(pemdir))
    out, err, rc = h.run3(h.q(h.bin) .. " --json crl mirror --fetch-crl-conf " .. h.q(p))
    assert.equal(0, rc, err)
    assert.is_nil(F.json(out).warning)
    local o = h.sh("openssl crl -noout -crlnumber -in " .. h.q(pemdir .. "/One.0.crl.pem"))
    assert.matches("crlNumber=0x02", o)
    assert.equal("/", fs.readlink(pemdir .. "/One.0.crl.pem"):sub(1, 1))
    o = h.sh("openssl crl -inform DER -noout -crlnumber -in " .. h.q(dir .. "/formats-out/One.0.crl"))
    assert.matches("crlNumber=0x02", o)
  end)
end)
