-- certbench.plugins.ca.create: creating a CA folder (ca init)
-- (authority.lua's init calls it; the new CA is opened with authority.open)
local A = require "certbench.plugins.ca.authority"
local fs = require "certbench.fs"
local options = require "certbench.options"
local db = require "certbench.plugins.ca.db"
local S = A._shared
local lazy = S.lazy
local paths = A.paths
local M = {}

-- creating a CA -------------------------------------------------------------------------------

local function first_serial()
  local s = lazy.rand.serial(8)
  -- a random start (serials of different CAs do not collide), then one by one; a non-zero
  -- first digit keeps them all the same length for a long while
  if s:sub(1, 1) == "0" then s = "1" .. s:sub(2) end
  return s
end

local function remove_tree(path)
  local st = fs.stat(path, { follow = false })
  if not st then return end
  if st.type == "directory" then
    for _, name in ipairs(fs.list(path) or {}) do remove_tree(path .. "/" .. name) end
  end
  fs.remove(path)
end

-- init(dir, opts) -> ca | nil, err
--   subject (required), key = "ec:P-384" (default) | "rsa:4096" | "ed25519" | a pkey,
--   days = 3650 (1825 for a sub-CA), encrypt = true, passout = password source or secret
--   (prompted twice without one), sub_ca = true with parent = a CA folder or object
--   (parent_passin for its key), path_len, ui
-- The folder is built under a temporary name next to dir and renamed into place, so a crash
-- leaves no half CA; an existing CA (or any non-empty folder) is never touched.
local INIT_OPTS = { "subject", "key", "days", "encrypt", "passout", "sub_ca", "parent",
                    "parent_passin", "path_len", "ui" }
function M.init(dir, o)
  if type(dir) ~= "string" then error("ca.init: the CA folder must be a string", 2) end
  if type(o) ~= "table" then error("ca.init: expected a table of options {subject=, ...}", 2) end
  options.check(o, INIT_OPTS, "ca.init")
  dir = dir:gsub("(.)/+$", "%1")
  local p = paths(dir)
  local st = fs.stat(dir)
  if st then
    if st.type ~= "directory" then return nil, dir .. ": exists and is not a folder" end
    if fs.exists(p.cert) or fs.exists(p.key) or fs.exists(p.index) then
      return nil, dir .. ": a CA exists there already (certbench ca init never overwrites one)"
    end
    if #(fs.list(dir) or {}) > 0 then return nil, dir .. ": exists and is not empty" end
  end
  if o.subject == nil then error("ca.init: subject is required", 2) end
  local subject, serr = lazy.name.from(o.subject, "ca init")
  if not subject then return nil, serr end
  if #subject == 0 then return nil, "ca init: the subject is empty" end
  local parent
  if o.sub_ca or o.parent ~= nil then
    if o.parent == nil then return nil, "ca init: a sub-CA needs its parent CA folder (--parent DIR)" end
    if type(o.parent) == "string" then
      local perr
      parent, perr = A.open(o.parent, { passin = o.parent_passin, ui = o.ui })
      if not parent then return nil, perr end
    else
      parent = o.parent
    end
  end
  local days = o.days or (parent and 1825 or 3650)
  if math.type(days) ~= "integer" or days <= 0 then error("ca.init: days must be a positive integer", 2) end
  local key = o.key
  if type(key) == "string" and fs.exists(key) then
    return nil, ("ca init: %s is a key file: `certbench ca adopt %s --key %s --cert CA-CERT` takes over an existing "
      .. "key and certificate; ca init makes a new key (--key ec:P-384, rsa:4096, ...)"):format(key, dir, key), 2
  end
  if key == nil or type(key) == "string" then
    local ok, k = pcall(lazy.pkey.generate, key or "ec:P-384")
    if not ok then return nil, "ca init: " .. tostring(k):gsub("^.-pkey%.generate: ", "") end
    key = k
  elseif not lazy.pkey.is_key(key) then
    error("ca.init: key must be a key spec (rsa:4096, ec:P-384, ed25519) or a certbench.pkey", 2)
  end
  -- the parent's key is checked before anything is made: a wrong password changes nothing
  if parent then
    local pk, perr = parent:_key()
    if not pk then return nil, perr end
  end
  local key_pem, kerr
  if o.encrypt == false then
    key_pem, kerr = key:to_pem()
  else
    local secret, gerr = lazy.secret.get(o.passout, { what = "a password for the new CA key", confirm = true })
    if not secret then return nil, lazy.passin.source_error("ca init", "--passout", o.passout, gerr) end
    local empty = (lazy.secret.is_secret(secret) and #secret:reveal() == 0) or secret == ""
    if empty then
      if secret ~= o.passout and secret.close then secret:close() end
      return nil, "ca init: the CA key password is empty (give one, or --no-encrypt for an unencrypted key)"
    end
    key_pem, kerr = key:to_pem({ password = secret, cipher = "aes-256-cbc" })
    if secret ~= o.passout and secret.close then secret:close() end
  end
  if not key_pem then return nil, kerr end

  local parent_dir = fs.dirname(dir)
  if not fs.isdir(parent_dir) then
    local ok, merr = fs.mkdir(parent_dir)
    if not ok then return nil, merr end
  end
  local tmp = string.format("%s/.%s.init-%s", parent_dir, fs.basename(dir), lazy.rand.serial(6))
  local t = paths(tmp)
  local function fail(err)
    remove_tree(tmp)
    return nil, err
  end
  local ok, err = fs.mkdir(tmp, { mode = 493 --[[0755]] })
  if not ok then return nil, err end
  for _, step in ipairs({
    function() return fs.mkdir(t.private, { mode = 448 --[[0700]] }) end,
    function() return fs.mkdir(t.newcerts) end,
    function() return fs.mkdir(t.crl) end,
    function() return fs.write_key(t.key, key_pem) end,
    function() return fs.write(t.index, "") end,
    function() return fs.write(t.attr, db.attr_text({ unique_subject = false })) end,
    function() return fs.write(t.serial, db.serial_file_text(first_serial())) end,
    function() return fs.write(t.crlnumber, db.serial_file_text("01")) end,
  }) do
    ok, err = step()
    if not ok then return fail(err) end
  end
  local cert, chain
  if parent then
    local details
    cert, details = parent:issue({ public_key = key, subject = subject, profile = "sub-ca", days = days,
                                   path_len = o.path_len })
    if not cert then return fail(details) end
    local pchain = fs.read(parent.p.chain) or parent.cert:to_pem()
    chain = cert:to_pem() .. pchain
  else
    local cerr
    cert, cerr = lazy.x509.new({ subject = subject, issuer_key = key, public_key = key, ca = true,
                                 path_len = o.path_len, days = days })
    if not cert then return fail(cerr) end
  end
  ok, err = fs.write(t.cert, cert:to_pem())
  if not ok then return fail(err) end
  if chain then
    ok, err = fs.write(t.chain, chain)
    if not ok then return fail(err) end
  end
  fs.fault("ca.init:before-rename")
  if st then fs.remove(dir) end -- the empty folder the user made; rename needs the name free
  ok, err = fs.rename(tmp, dir)
  if not ok then return fail(err) end
  local ca, oerr = A.open(dir, { key = key, ui = o.ui })
  if not ca then return nil, oerr end
  ca.key_given = false
  ca.parent_serial = parent and cert:serial() or nil
  if parent and type(o.parent) == "string" then parent:close() end
  return ca
end

return M
