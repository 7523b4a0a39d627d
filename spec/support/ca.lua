-- spec/support/ca.lua: what the ca specs share (spec/ca_spec.lua, tests/integration/ca_crash_spec.lua,
-- tests/interop/ca_spec.lua): CA folders, requests, snapshots of a folder, the invariants.
local h = require "support.helper"
local fs = require "certbench.fs"
local pkey = require "certbench.pkey"
local csr = require "certbench.csr"
local x509 = require "certbench.x509"
local db = require "certbench.plugins.ca.db"

local M = {}

M.ca = require "certbench.plugins.ca"
M.PW = "pass:correct horse"

local shared_key
function M.key()
  if not shared_key then shared_key = pkey.generate("ec:P-256") end
  return shared_key
end

-- a new CA in dir (ec:P-256 for speed, encrypted with M.PW unless opts.encrypt == false)
function M.new_ca(dir, opts)
  opts = opts or {}
  local o = { subject = opts.subject or "/C=NO/O=net2/CN=net2 Test Root", key = opts.key or "ec:P-256",
              passout = opts.encrypt ~= false and M.PW or nil, encrypt = opts.encrypt }
  for k, v in pairs(opts) do o[k] = v end
  return assert(M.ca.init(dir, o))
end

-- request(subject[, san][, key]) -> PEM of a CSR signed by the shared test key
function M.request(subject, san, key)
  local r = assert(csr.new({ subject = subject, key = key or M.key(), san = san }))
  return r:to_pem()
end

-- a CSR whose signature does not verify: the last byte of the signature changed
function M.bad_request(subject)
  local r = assert(csr.new({ subject = subject, key = M.key() }))
  local der = r:to_der()
  local last = der:byte(#der)
  der = der:sub(1, -2) .. string.char(last ~ 0x01)
  return pkey.pem_encode("CERTIFICATE REQUEST", der)
end

-- snapshot(dir) -> { relative path = "mode:content" } of every file and folder below dir
function M.snapshot(dir)
  local out = {}
  local function walk(rel)
    local path = rel == "" and dir or (dir .. "/" .. rel)
    local st = fs.stat(path, { follow = false })
    if st.type == "directory" then
      out[rel .. "/"] = string.format("%o", st.mode)
      for _, name in ipairs(fs.list(path)) do walk(rel == "" and name or (rel .. "/" .. name)) end
    elseif rel ~= ".certbench/lock" then
      -- (the lock file holds the process id of its last holder: not the CA's data)
      out[rel] = string.format("%o:", st.mode) .. (fs.read(path) or "?")
    end
  end
  walk("")
  return out
end

-- differences between two snapshots, as text (empty when identical)
function M.diff(a, b)
  local lines = {}
  for k, v in pairs(a) do
    if b[k] == nil then lines[#lines + 1] = "removed " .. k
    elseif b[k] ~= v then lines[#lines + 1] = "changed " .. k end
  end
  for k in pairs(b) do if a[k] == nil then lines[#lines + 1] = "added " .. k end end
  table.sort(lines)
  return table.concat(lines, "\n")
end

-- check(dir[, opts]) -> report table; raises (assert) on a broken invariant:
--   every index line parses, no serial twice, a file for every line, a line for every file,
--   the serial file past every serial, no torn last line, and (opts.parse_all or the serials in
--   opts.parse) every certificate file parses, has the serial of its name and verifies with
--   the CA certificate.
function M.check(dir, opts)
  opts = opts or {}
  local text = assert(fs.read(dir .. "/index.txt"))
  assert(text == "" or text:sub(-1) == "\n", "index.txt ends with a torn line")
  local entries, bad = db.parse_index(text)
  assert(#bad == 0, "index.txt has bad lines: " .. (bad[1] and (bad[1].line .. ": " .. bad[1].why) or ""))
  local seen, highest = {}, nil
  for _, e in ipairs(entries) do
    assert(not seen[e.key], "serial " .. e.key .. " is in index.txt twice")
    seen[e.key] = e
    if not highest or db.cmp_serial(e.key, highest) > 0 then highest = e.key end
  end
  local files = {}
  for _, name in ipairs(assert(fs.list(dir .. "/newcerts"))) do
    local s = name:match("^(%x+)%.pem$")
    assert(s, "newcerts/" .. name .. " is not a certificate file name")
    files[s] = true
    assert(seen[s], "newcerts/" .. name .. " has no line in index.txt")
  end
  for k in pairs(seen) do assert(files[k], "serial " .. k .. " has no file in newcerts/") end
  local serial = assert(db.parse_serial_file(fs.read(dir .. "/serial"), "serial"))
  if highest then
    assert(db.cmp_serial(serial, highest) > 0, "the serial file (" .. serial .. ") is not past " .. highest)
  end
  local cacert = assert(x509.load(assert(fs.read(dir .. "/cacert.pem"))))
  local function parse(k)
    local data = assert(fs.read(dir .. "/newcerts/" .. k .. ".pem"))
    local cert = x509.load(data)
    assert(cert, "newcerts/" .. k .. ".pem does not parse")
    assert(db.norm_serial(cert:serial()) == k, "newcerts/" .. k .. ".pem holds serial " .. cert:serial())
    assert(cert:verify_signature(cacert), "newcerts/" .. k .. ".pem does not verify with the CA")
    assert(seen[k].expiry == db.asn1_time(cert:not_after()), "index expiry of " .. k .. " differs from the certificate")
  end
  if opts.parse_all then
    for k in pairs(seen) do parse(k) end
  elseif opts.parse then
    for _, k in ipairs(opts.parse) do if seen[k] then parse(k) end end
  end
  return { count = #entries, entries = entries, serial = serial, highest = highest, by_key = seen }
end

function M.count_lines(dir)
  local text = fs.read(dir .. "/index.txt") or ""
  local _, n = text:gsub("\n", "")
  return n
end

return M
