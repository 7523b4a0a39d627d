-- certbench.plugins.ca.adopt: a CA certbench did not make, taken over: the guide's own
-- (`openssl genrsa -aes256 -out ca.key 4096`, `openssl req -new -x509 -key ca.key -out ca.crt`,
-- then `openssl ca -config openssl.cnf`), or an existing demoCA folder.
--
--   adopt.adopt(dir, { key = path, cert = path, config = path, passin =, passout = }) -> info | nil, err, code
--     dir: the CA folder (nil: the config's [CA_default] dir). It gets the openssl ca layout
--     around the key and certificate: cacert.pem, private/cakey.pem (the key's bytes as given,
--     still encrypted if it was; re-encrypted with AES-256 under passout when given), index.txt,
--     serial, crlnumber, newcerts/, crl/ (what is there already is kept: an existing demoCA goes
--     on with its index and serial). The key must match the certificate.
--     With config (openssl.cnf): [ca] default_ca (or CA_default) gives dir, database, serial,
--     crlnumber, new_certs_dir (they must be the folder's own files, so that `openssl ca
--     -config` and certbench keep issuing from the same folder), certificate and private_key
--     (when key and cert are not given), unique_subject (written to index.txt.attr), and a
--     profile from default_days, default_md, policy, x509_extensions and copy_extensions,
--     written to DIR/certbench-profile.json: `ca issue` uses it when no --profile is given.
--     info = { dir =, subject =, serial =, key_encrypted =, profile = {...} | nil,
--              created = {paths}, kept = {paths}, notes = {...} }
--   adopt.parse_cnf(text) -> sections { name = { key = value } } | nil, err: openssl's config
--     syntax: [ section ], key = value, # comments, $var / ${var} / $section::var expansion
--   adopt.profile_from_cnf(sections, ca_section, ca_cert) -> profile, notes | nil, err
local fs = require "certbench.fs"
local db = require "certbench.plugins.ca.db"

local lazy = setmetatable({}, { __index = function(t, k)
  local m = require("certbench." .. k)
  rawset(t, k, m)
  return m
end })

local M = {}

M.PROFILE_FILE = "certbench-profile.json"

-- config files ------------------------------------------------------------------------------

local function expand(v, sections, current)
  local function lookup(sec, name)
    local s = sections[sec]
    local x = s and s[name]
    if x == nil and sec ~= "default" then x = sections.default and sections.default[name] end
    if x == nil then x = os.getenv(name) end
    return x
  end
  local out, n = v, 0
  repeat
    local changed = false
    out = out:gsub("%${([%w_%.]+)::([%w_%.]+)}", function(s, k) changed = true return lookup(s, k) or "" end)
    out = out:gsub("%$([%w_%.]+)::([%w_]+)", function(s, k) changed = true return lookup(s, k) or "" end)
    out = out:gsub("%${([%w_]+)}", function(k) changed = true return lookup(current, k) or "" end)
    out = out:gsub("%$([%w_]+)", function(k) changed = true return lookup(current, k) or "" end)
    n = n + 1
  until not changed or n > 8
  return out
end

function M.parse_cnf(text)
  local sections = { default = {} }
  local order = { default = {} }
  local current = "default"
  local ln = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    line = line:gsub("\r$", "")
    -- comments: a # outside quotes
    local clean, q = {}, nil
    for ch in line:gmatch(".") do
      if q then if ch == q then q = nil end
      elseif ch == '"' or ch == "'" then q = ch
      elseif ch == "#" then break end
      clean[#clean + 1] = ch
    end
    line = table.concat(clean):match("^%s*(.-)%s*$")
    if line ~= "" then
      local sec = line:match("^%[%s*([^%]]-)%s*%]$")
      if sec then
        current = sec
        sections[sec] = sections[sec] or {}
        order[sec] = order[sec] or {}
      elseif line:match("^%.include") or line:match("^%.pragma") then
        -- directives of newer openssl: nothing the CA needs
      else
        local k, v = line:match("^([^=]-)%s*=%s*(.*)$")
        if not k or k == "" then return nil, ("line %d: '%s' is not key = value"):format(ln, line) end
        v = v:gsub('^"(.*)"$', "%1"):gsub("^'(.*)'$", "%1")
        v = expand(v, sections, current)
        if sections[current][k] == nil then order[current][#order[current] + 1] = k end
        sections[current][k] = v
      end
    end
  end
  sections._order = order
  return sections
end

local function split_list(v)
  local out = {}
  for part in (v or ""):gmatch("[^,]+") do
    part = part:match("^%s*(.-)%s*$")
    if part ~= "" then out[#out + 1] = part end
  end
  return out
end

local DIGESTS = { sha256 = "sha256", sha384 = "sha384", sha512 = "sha512", sha1 = "sha1", default = nil }

-- profile_from_cnf(sections, ca, ca_cert) -> profile, notes | nil, err
function M.profile_from_cnf(sections, ca, ca_cert)
  local p, notes = { summary = "from openssl.cnf [" .. ca._name .. "]" }, {}
  if ca.default_days then
    local d = math.tointeger(tonumber(ca.default_days))
    if not d or d <= 0 then return nil, ("default_days = %s is not a number of days"):format(ca.default_days) end
    p.days = d
  end
  if ca.default_md then
    local md = ca.default_md:lower()
    if md ~= "default" then
      if not DIGESTS[md] then return nil, ("default_md = %s: certbench signs with sha256, sha384, sha512 (or sha1)"):format(ca.default_md) end
      if md == "sha1" then
        notes[#notes + 1] = "default_md = sha1 (as the guide has it): certificates are signed with SHA-256 instead, "
          .. "since TLS peers refuse SHA-1 signatures"
        md = "sha256"
      end
      p.digest = md
    end
  end
  if ca.policy then
    local sec = sections[ca.policy]
    if not sec then return nil, ("policy = %s: no section [%s]"):format(ca.policy, ca.policy) end
    local list = {}
    for _, k in ipairs(sections._order[ca.policy]) do list[#list + 1] = { k, sec[k] } end
    p.policy = list
  end
  local copy = (ca.copy_extensions or "none"):lower()
  if copy == "copy" or copy == "copyall" then
    p.copy_extensions = "copy"
    if copy == "copyall" then notes[#notes + 1] = "copy_extensions = copyall is taken as copy: the profile's extensions win" end
  elseif copy == "none" then
    p.copy_extensions = false
  else
    return nil, ("copy_extensions = %s: none, copy or copyall"):format(ca.copy_extensions)
  end
  if ca.x509_extensions then
    local name = ca.x509_extensions
    local sec = sections[name]
    if not sec then return nil, ("x509_extensions = %s: no section [%s]"):format(name, name) end
    for _, k in ipairs(sections._order[name]) do
      local v = sec[k]
      local body = v:gsub("^%s*critical%s*,%s*", "")
      if k == "basicConstraints" then
        local t = body:upper()
        if t:find("CA:TRUE", 1, true) then
          p.ca = true
          local pl = t:match("PATHLEN:(%d+)")
          if pl then p.path_len = tonumber(pl) end
        end
      elseif k == "keyUsage" then
        p.key_usage = split_list(body)
      elseif k == "extendedKeyUsage" then
        p.eku = split_list(body)
      elseif k == "crlDistributionPoints" then
        p.crl_distribution_points = {}
        for _, x in ipairs(split_list(body)) do
          local u = x:match("^URI:(.+)$")
          if not u then return nil, ("[%s] crlDistributionPoints = %s: only URI: entries are taken"):format(name, v) end
          p.crl_distribution_points[#p.crl_distribution_points + 1] = u
        end
      elseif k == "authorityInfoAccess" then
        for _, x in ipairs(split_list(body)) do
          local what, u = x:match("^([%w]+)%s*;%s*URI:(.+)$")
          if what == "OCSP" then p.ocsp_urls = p.ocsp_urls or {} p.ocsp_urls[#p.ocsp_urls + 1] = u
          elseif what == "caIssuers" then p.ca_issuers_urls = p.ca_issuers_urls or {} p.ca_issuers_urls[#p.ca_issuers_urls + 1] = u
          else return nil, ("[%s] authorityInfoAccess = %s: OCSP;URI: and caIssuers;URI: entries only"):format(name, v) end
        end
      elseif k == "certificatePolicies" then
        local oids = {}
        for _, x in ipairs(split_list(body)) do
          if x:match("^[%d%.]+$") then oids[#oids + 1] = x
          else notes[#notes + 1] = ("[%s] certificatePolicies %s: qualifiers are left out, the policy OIDs kept"):format(name, x) end
        end
        p.policies = oids
      elseif k == "subjectKeyIdentifier" or k == "authorityKeyIdentifier" then
        -- certbench writes both always (hash, keyid)
      else
        notes[#notes + 1] = ("[%s] %s is left out: a certbench profile does not carry it"):format(name, k)
      end
    end
  end
  return p, notes
end

-- adopting ------------------------------------------------------------------------------------

local function abs(path)
  if path:sub(1, 1) == "/" then return path end
  local cwd = fs.realpath and fs.realpath(".") or os.getenv("PWD") or "."
  return (cwd .. "/" .. path):gsub("/%./", "/"):gsub("/%.$", "")
end

local function same_path(a, b)
  local ra = fs.realpath and fs.realpath(a) or abs(a)
  local rb = fs.realpath and fs.realpath(b) or abs(b)
  return (ra or abs(a)) == (rb or abs(b))
end

function M.adopt(dir, o)
  o = o or {}
  local notes, created, kept = {}, {}, {}
  local sections, ca, profile
  if o.config then
    local text, err = fs.read(o.config, 1 << 20)
    if not text then return nil, err end
    sections, err = M.parse_cnf(text)
    if not sections then return nil, o.config .. ": " .. err, 2 end
    local name = sections.ca and sections.ca.default_ca or "CA_default"
    ca = sections[name]
    if not ca then return nil, ("%s: no section [%s] (the [ca] section's default_ca)"):format(o.config, name), 2 end
    ca._name = name
    if ca.dir then
      if dir == nil then dir = ca.dir
      elseif not same_path(dir, ca.dir) and fs.exists(ca.dir) then
        return nil, ("ca adopt: %s is not the folder %s names (dir = %s): openssl ca -config would go on in %s; "
          .. "adopt that folder, or change dir in the config"):format(dir, o.config, ca.dir, ca.dir), 2
      end
    end
  end
  if dir == nil then return nil, "ca adopt: give the CA folder (or --config with a dir)", 2 end
  dir = dir:gsub("(.)/+$", "%1")
  local core = require "certbench.plugins.ca.authority"
  local p = core.paths(dir)
  if ca then
    local want = { database = p.index, serial = p.serial, crlnumber = p.crlnumber, new_certs_dir = p.newcerts }
    for _, k in ipairs { "database", "serial", "crlnumber", "new_certs_dir" } do
      local v = ca[k]
      if v and not (v == want[k] or abs(v) == abs(want[k]) or (fs.exists(v) and fs.exists(want[k]) and same_path(v, want[k]))) then
        return nil, ("ca adopt: %s: %s = %s, where certbench keeps %s; use the openssl ca layout (%s) so that both "
          .. "tools use the same files"):format(o.config, k, v, want[k], "index.txt, serial, crlnumber, newcerts/"), 2
      end
    end
  end
  local key_path = o.key or (ca and ca.private_key)
  local cert_path = o.cert or (ca and ca.certificate)
  if not key_path and fs.exists(p.key) then key_path = p.key end
  if not cert_path and fs.exists(p.cert) then cert_path = p.cert end
  if not key_path or not cert_path then
    return nil, "ca adopt: give --key and --cert (the CA's key and certificate)", 2
  end
  -- the guide signs with `openssl ca -cert ca.crt -keyfile ca.key`: the config's own paths were never
  -- made, and a bare "No such file" would not say that the option is what is missing
  for _, f in ipairs { { o.cert, cert_path, "certificate", "--cert", "ca.crt" }, { o.key, key_path, "private_key", "--key", "ca.key" } } do
    if not f[1] and not fs.exists(f[2]) then
      return nil, ("ca adopt: %s: %s = %s does not exist: give the CA's file with %s (the guide's %s)")
        :format(o.config, f[3], f[2], f[4], f[5]), 2
    end
  end
  local cert, cerr = lazy.x509.load_file(cert_path)
  if not cert then return nil, cerr end
  local key_data, rerr = fs.read(key_path, 1 << 20)
  if not key_data then return nil, rerr end
  local key, kerr, code = lazy.pkey.load(key_data, { name = key_path })
  local encrypted = false
  if not key and code == "encrypted" then
    encrypted = true
    local s, serr = lazy.secret.get(o.passin, { what = "the CA key password (" .. key_path .. ")" })
    if not s then return nil, lazy.passin.source_error(key_path, "--passin", o.passin, serr) end
    key, kerr, code = lazy.pkey.load(key_data, { name = key_path, password = s })
    if s ~= o.passin and s.close then s:close() end
    if not key and code == "bad_password" then return nil, key_path .. ": wrong password for the CA key" end
  end
  if not key then return nil, kerr end
  if not key:matches(cert) then
    key:close()
    return nil, ("ca adopt: %s is not the key of %s"):format(key_path, cert_path)
  end
  if not cert:is_ca() then
    notes[#notes + 1] = ("%s has no basicConstraints CA:TRUE: relying parties may refuse what it issues "
      .. "(the guide makes it with -extensions v3_ca)"):format(cert_path)
  end
  local key_pem = key_data
  if o.passout then
    local s, serr = lazy.secret.get(o.passout, { what = "a new password for the CA key", confirm = true })
    if not s then key:close() return nil, lazy.passin.source_error("ca adopt", "--passout", o.passout, serr) end
    local err
    key_pem, err = key:to_pem { password = s, cipher = "aes-256-cbc" }
    if s ~= o.passout and s.close then s:close() end
    if not key_pem then key:close() return nil, err end
    encrypted = true
  end
  key:close()
  if ca then
    local perr
    profile, perr = M.profile_from_cnf(sections, ca, cert)
    if not profile then return nil, o.config .. ": " .. perr, 2 end
    for _, n in ipairs(perr) do notes[#notes + 1] = n end
    local profiles = require "certbench.plugins.ca.profiles"
    local ok, verr = profiles.validate(profile, "openssl.cnf")
    if not ok then return nil, o.config .. ": " .. verr, 2 end
  end

  -- the layout: what exists is kept, what is missing is made
  if fs.exists(dir) and not fs.isdir(dir) then return nil, dir .. ": exists and is not a folder" end
  if not fs.isdir(dir) then
    local ok, err = fs.mkdir(dir, { parents = true, mode = 493 })
    if not ok then return nil, err end
    created[#created + 1] = dir
  end
  local lk, lsd = require("certbench.plugins.ca.authority").lock(dir, o.wait)
  if not lk then return nil, lsd end
  local function step(ok, err) if not ok then error(err, 0) end end
  local ok, err = pcall(function()
    for _, d in ipairs { { p.private, 448 }, { p.newcerts, 493 }, { p.crl, 493 } } do
      if not fs.isdir(d[1]) then step(fs.mkdir(d[1], { mode = d[2] })) created[#created + 1] = d[1] end
    end
    if fs.exists(p.cert) then
      local have = lazy.x509.load_file(p.cert)
      if not (have and have:equals(cert)) then
        error(("%s is another certificate than %s: not replaced"):format(p.cert, cert_path), 0)
      end
      kept[#kept + 1] = p.cert
    else
      step(fs.write(p.cert, cert:to_pem())) created[#created + 1] = p.cert
    end
    if fs.exists(p.key) and not same_path(p.key, key_path) then
      error(("%s exists already: not replaced (move it away to adopt %s)"):format(p.key, key_path), 0)
    elseif fs.exists(p.key) then
      kept[#kept + 1] = p.key
    else
      step(fs.write_key(p.key, key_pem)) created[#created + 1] = p.key
    end
    if fs.exists(p.index) then kept[#kept + 1] = p.index else step(fs.write(p.index, "")) created[#created + 1] = p.index end
    if fs.exists(p.serial) then
      kept[#kept + 1] = p.serial
    else
      local s = lazy.rand.serial(8)
      if s:sub(1, 1) == "0" then s = "1" .. s:sub(2) end
      step(fs.write(p.serial, db.serial_file_text(s))) created[#created + 1] = p.serial
    end
    if fs.exists(p.crlnumber) then kept[#kept + 1] = p.crlnumber
    else step(fs.write(p.crlnumber, db.serial_file_text("01"))) created[#created + 1] = p.crlnumber end
    if ca and ca.unique_subject then
      local v = ca.unique_subject:lower()
      step(fs.write(p.attr, db.attr_text { unique_subject = not (v == "no" or v == "n" or v == "false" or v == "0") }))
      created[#created + 1] = p.attr
    end
    if profile then
      local cjson = require "cjson"
      local doc = { source = abs(o.config), section = ca._name, profile = profile }
      step(fs.write(dir .. "/" .. M.PROFILE_FILE, cjson.encode(doc) .. "\n"))
      created[#created + 1] = dir .. "/" .. M.PROFILE_FILE
    end
  end)
  lk:unlock()
  lsd:close()
  if not ok then return nil, "ca adopt: " .. tostring(err) end
  -- open it as every command will (recovery, the checks of a CA folder)
  local opened, oerr = core.open(dir, { passin = o.passout or o.passin })
  if not opened then return nil, oerr end
  local info = opened:info()
  opened:close()
  return { dir = dir, subject = info.subject, serial = info.serial, key_encrypted = encrypted,
           profile = profile, created = created, kept = kept, notes = notes }
end

return M
