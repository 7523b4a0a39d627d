-- tests/integration/file_cap_spec.lua: one cap on a local file certbench reads whole,
-- fs.FILE_MAX (CB_FILE_MAX in core/lib/cb.h), the value the README states. A file one byte over
-- it is refused by every command and Lua function that reads a file whole, with one line naming
-- the file and the cap (a sparse file: nothing is read, its size is seen first); standard input
-- one byte over it too. A CRL read in pieces from its file (crl info and show of a DER CRL over
-- the cap, spec/support/big_crl.py) is not subject to it: it is never held whole.
local h = require "support.helper"
local fs = require "certbench.fs"

local CAP = fs.FILE_MAX
local CAP_TEXT = (CAP >> 20) .. " MiB"

describe("the local file cap", function()
  local dir, over

  setup(function()
    dir = h.tmpdir()
    over = dir .. "/over.pem"
    h.sh(("truncate -s %d %s"):format(CAP + 1, h.q(over)))
    h.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -subj /CN=cap -days 2 2>&1")
      :format(h.q(dir .. "/k.pem"), h.q(dir .. "/c.pem")))
  end)

  it("is a whole number of MiB, stated in the README", function()
    assert.equal(0, CAP % (1 << 20))
    local readme = h.read(h.root .. "/README.md")
    assert.truthy(readme:find("local file certbench reads whole is " .. CAP_TEXT, 1, true),
      "README does not state the cap as " .. CAP_TEXT)
  end)

  -- the one line of a refusal: the file's name and the cap
  local function refused(out, name)
    local line = out:match("[^\n]*too large[^\n]*")
    assert.truthy(line, out)
    assert.truthy(line:find(name, 1, true), line)
    assert.truthy(line:find(CAP_TEXT, 1, true), line)
    return line
  end

  it("refuses a file one byte over it in every command that reads a file whole", function()
    local cmds = {
      { "show %s", 1 },
      { "show --lint %s", 1 },
      { "convert %s --to der --out " .. h.q(dir .. "/o.der"), 1 },
      { "pfx info %s --passin pass:x", 1 },
      { "pfx split %s --passin pass:x --out-dir " .. h.q(dir .. "/split"), 1 },
      { "crl info %s", 1 },                               -- no DER CRL: read whole
      { "vcs cafile %s --out " .. h.q(dir .. "/ca.pem"), 1 },
      { "vcs check --key " .. h.q(dir .. "/k.pem") .. " --cert %s --ca " .. h.q(dir .. "/c.pem"), 3 },
      { "vcs check --key %s --cert " .. h.q(dir .. "/c.pem") .. " --ca " .. h.q(dir .. "/c.pem"), 3 },
      { "vcs check --key " .. h.q(dir .. "/k.pem") .. " --cert " .. h.q(dir .. "/c.pem") .. " --ca %s", 3 },
    }
    for _, c in ipairs(cmds) do
      local out, rc = h.certbench(c[1]:format(h.q(over)))
      assert.equal(c[2], rc, c[1] .. "\n" .. out)
      refused(out, over)
      -- nothing else of the file: the refusal is one line
      if c[2] == 1 then assert.equal(1, select(2, out:gsub("\n", "")), out) end
    end
  end)

  it("refuses it in the Lua functions that read a file", function()
    local x509 = require "certbench.x509"
    local checks = {
      x509.load_file, x509.load_all_file,
      function(p) return require("certbench.pkey").load_file(p) end,
      function(p) return require("certbench.pkcs12").read(p, "x") end,
      function(p) return require("certbench.pkcs7").read(p) end,
      function(p) return require("certbench.detect").file(p) end,
      function(p) return require("certbench.input").read(p) end,
      function(p) return require("certbench.store").load_file(p) end,
      function(p) return fs.read(p) end,
    }
    for i, f in ipairs(checks) do
      local ok, err = f(over)
      assert.is_nil(ok, "check " .. i)
      refused(err, over)
      assert.is_nil(err:find("\n", 1, true), "check " .. i .. ": more than one line: " .. err)
    end
  end)

  it("refuses standard input one byte over it", function()
    local out, rc = h.run(("head -c %d /dev/zero | %s show -"):format(CAP + 1, h.q(h.bin)))
    assert.equal(1, rc, out)
    refused(out, "standard input")
  end)

  it("does not cap a CRL scanned from its file", function()
    local big = dir .. "/big.crl"
    h.sh(("python3 %s/spec/support/big_crl.py %s %s %d"):format(h.q(h.root), h.q(dir .. "/ca"), h.q(big), CAP + (1 << 20)))
    local st = assert(fs.stat(big))
    assert.is_true(st.size > CAP, "the CRL is not over the cap: " .. st.size)
    local out, rc = h.certbench("crl info " .. h.q(big) .. " --ca " .. h.q(dir .. "/ca/ca.pem"))
    assert.equal(0, rc, out)
    assert.is_nil(out:find("too large", 1, true), out)
    assert.matches("entries", out)
    out, rc = h.certbench("show " .. h.q(big))
    assert.equal(0, rc, out)
    assert.is_nil(out:find("too large", 1, true), out)
  end)
end)
