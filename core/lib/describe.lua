-- certbench.describe (internal): the description of certificates, keys and PFX contents for
-- people (text) and programs (tables for --json), and the chain a set of certificates makes,
-- shared by the show, pfx and vcs plugins (so `show` needs no other plugin).
-- Names: a result's name fields (subject, issuer, chain) hold name:text{exact = true}, the one
-- form certbench shows a name in, exact for --json; what prints them for people passes them
-- through ui.escape (M.name_line), which makes them exactly name:text(). Messages (warnings,
-- notes) name certificates with M.cert_label and name:text(), already escaped.
local ui = require "certbench.ui"
local store = require "certbench.store"

local M = {}

function M.key_info(k)
  local t = { type = k:type(), bits = k:bits(), private = k:is_private() }
  t.curve = k:curve()
  t.fingerprint = k:fingerprint()
  t.text = M.key_line(k)
  return t
end

function M.key_line(k)
  local ty = k:type()
  local label = ({ rsa = "RSA", ec = "EC", ed25519 = "Ed25519", dsa = "DSA" })[ty] or ty
  if ty == "ec" then return label .. " " .. (k:curve() or (k:bits() .. " bits")) end
  if ty == "ed25519" then return label end
  return label .. " " .. tostring(k:bits())
end

function M.cert_info(c, now)
  now = now or os.time()
  local pk = c:public_key()
  local t = {
    subject = c:subject():text { exact = true }, issuer = c:issuer():text { exact = true }, serial = c:serial(),
    not_before = c:not_before(), not_after = c:not_after(),
    not_before_text = ui.time(c:not_before()), not_after_text = ui.time(c:not_after()),
    self_signed = c:is_self_signed(), ca = c:is_ca(),
    key = pk and M.key_line(pk) or c:key_algorithm(),
    sha256 = c:fingerprint("sha256"), sha1 = c:fingerprint("sha1"),
  }
  local san = c:san()
  if san and #san > 0 then
    local list = {}
    for _, g in ipairs(san) do list[#list + 1] = g.type .. ":" .. tostring(g.value) end
    t.san = ui.array(list)
  end
  if c:not_after() < now then t.expired = true elseif c:not_before() > now then t.not_yet_valid = true end
  return t
end

-- validity(c, now, warn_days) -> status ("pass" | "warn" | "fail"), text: how long a server
-- certificate has left, the one verdict of `vcs check` and `vcs tls-check` (each had its own
-- count of days and words): fail before notBefore or after notAfter, warn with fewer than
-- warn_days whole days left
function M.validity(c, now, warn_days)
  local nb, na = c:not_before(), c:not_after()
  if now < nb then
    return "fail", ("not valid before %s: check the clocks of the CA and of this machine"):format(ui.time(nb))
  elseif now > na then
    return "fail", ("expired %s"):format(ui.time(na))
  end
  local left = (na - now) // 86400
  if left < warn_days then
    return "warn", ("expires %s, in %d day%s: renew it first"):format(ui.time(na), left, left == 1 and "" or "s")
  end
  return "pass", ("valid until %s (%d days)"):format(ui.time(na), left)
end

-- short one-line name of a certificate for messages: its subject's n:label() (the one helper
-- that names a name: the CN escaped for a terminal, else the whole name's text, escaped too),
-- with "CN=" before a CN so that a message says what the word is
function M.cert_label(c)
  local subject = c:subject()
  local label = subject:label()
  if subject:get("CN") then return "CN=" .. label end
  return label
end

---------------------------------------------------------------------------------------------
-- chains

local function contains(list, c)
  for _, x in ipairs(list) do if x == c or x:equals(c) then return true end end
  return false
end


-- build_chain(leaf, certs[, now]) -> { chain = {issuer of leaf, ..., root}, extra = {...},
--   complete = (ends at a self-signed certificate), missing = issuer name text when not,
--   duplicates = n }
-- Where several certificates could be the issuer (an expired copy of an intermediate and its
-- renewal, an old root and a renewed one with the same name and key), the one valid at `now`
-- (default the current time) wins, then the one valid longest; the order of certs only breaks
-- ties, as `openssl verify` picks a valid issuer whatever the order. Certificates not on the
-- path end in extra.
function M.build_chain(leaf, certs, now)
  now = now or os.time()
  local pool, dups = {}, 0
  for _, c in ipairs(certs) do
    if c:equals(leaf) or contains(pool, c) then dups = dups + 1 else pool[#pool + 1] = c end
  end
  local function better(a, b)
    local va = a:not_before() <= now and now <= a:not_after()
    local vb = b:not_before() <= now and now <= b:not_after()
    if va ~= vb then return va end
    return a:not_after() > b:not_after()
  end
  local used, chain = {}, {}
  local cur = leaf
  local complete = leaf:is_self_signed()
  local missing
  while not complete and #chain < 16 do
    local found
    for i, c in ipairs(pool) do
      if not used[i] and store.find_issuer(cur, { c }) and (not found or better(c, pool[found])) then found = i end
    end
    if not found then
      missing = cur:issuer():text()
      break
    end
    used[found] = true
    chain[#chain + 1] = pool[found]
    cur = pool[found]
    complete = cur:is_self_signed()
  end
  local extra = {}
  for i, c in ipairs(pool) do if not used[i] then extra[#extra + 1] = c end end
  return { chain = chain, extra = extra, complete = complete, missing = missing, duplicates = dups }
end

-- verify_chain(leaf, chain) -> { ok = bool, text = "...", reason = } using certbench.store with the
-- root of a complete chain as the only anchor. Expired certificates do not hide a bad order:
-- the chain is also checked at a moment when every certificate was valid.
function M.verify_chain(leaf, chain)
  if #chain == 0 or not chain[#chain]:is_self_signed() then
    if leaf:is_self_signed() and #chain == 0 then
      return { ok = true, text = "self-signed certificate" }
    end
    return { ok = false, text = "the chain does not reach a root certificate", reason = "incomplete" }
  end
  local root = chain[#chain]
  local untrusted = {}
  for i = 1, #chain - 1 do untrusted[i] = chain[i] end
  local s, serr = store.new { cas = { root } }
  if not s then return { ok = false, text = serr } end
  local res, err, info = s:verify(leaf, { untrusted = untrusted })
  if res then return { ok = true, text = "the chain verifies up to " .. M.cert_label(root) } end
  local reason = info and info.reason
  if reason == "cert_has_expired" or reason == "cert_not_yet_valid" then
    local from, to = leaf:not_before(), leaf:not_after()
    for _, c in ipairs(chain) do
      from = math.max(from, c:not_before())
      to = math.min(to, c:not_after())
    end
    if from <= to then
      local res2, err2 = s:verify(leaf, { untrusted = untrusted, time = from + (to - from) // 2 })
      if res2 then
        return { ok = true, expired = true, reason = reason,
                 text = "the chain's names and signatures verify, but " .. err }
      end
      err = err2 or err
    end
  end
  return { ok = false, text = err, reason = reason }
end

---------------------------------------------------------------------------------------------
-- PFX description: `pfx info` and `show`

local WEAK_PBE = {
  ["pbeWithSHAAnd40BitRC2-CBC"] = "RC2-40, broken long ago; OpenSSL 3 opens it only with -legacy",
  ["pbeWithSHAAnd128BitRC2-CBC"] = "RC2-128; OpenSSL 3 opens it only with -legacy",
  ["pbeWithSHAAnd40BitRC4"] = "RC4-40, broken; OpenSSL 3 opens it only with -legacy",
  ["pbeWithSHAAnd128BitRC4"] = "RC4, broken; OpenSSL 3 opens it only with -legacy",
  ["pbeWithMD5AndDES-CBC"] = "single DES with MD5, broken; OpenSSL 3 opens it only with -legacy",
  ["pbeWithSHA1AndDES-CBC"] = "single DES, broken; OpenSSL 3 opens it only with -legacy",
}

function M.pfx_info(r, name, now)
  now = now or os.time()
  local a = r.algorithms or {}
  local res = { file = name, type = "pkcs12", algorithms = a, bags = {}, warnings = {} }
  local W = res.warnings
  local keys, certs = {}, {}
  for i, b in ipairs(r.bags) do
    local t = { index = i, type = b.type, bag_type = b.bag_type, friendly_name = b.friendly_name,
                local_key_id = b.local_key_id, encryption = b.encryption, iterations = b.iterations,
                problem = b.problem }
    if b.attributes and #b.attributes > 0 then
      local list = {}
      for _, at in ipairs(b.attributes) do
        list[#list + 1] = { oid = at.oid, name = at.name, value = at.value }
      end
      t.attributes = ui.array(list)
    end
    if b.type == "key" and b.object then
      t.key = M.key_info(b.object)
      keys[#keys + 1] = { bag = i, key = b.object, info = t }
    elseif b.type == "cert" and b.object then
      t.certificate = M.cert_info(b.object, now)
      certs[#certs + 1] = { bag = i, cert = b.object, info = t }
    end
    res.bags[#res.bags + 1] = t
  end
  res.bags = ui.array(res.bags)
  -- which certificate goes with which key: by key, never by localKeyID
  for _, k in ipairs(keys) do
    for _, c in ipairs(certs) do
      if k.key:matches(c.cert) then
        k.info.matches_certificate = k.info.matches_certificate or c.bag
        c.info.matches_key = c.info.matches_key or k.bag
        if k.info.local_key_id and c.info.local_key_id and k.info.local_key_id ~= c.info.local_key_id then
          W[#W + 1] = ("bag %d (key) and bag %d (its certificate) have different localKeyIDs: tools that pair by localKeyID (openssl pkcs12 -clcerts) get them wrong"):format(k.bag, c.bag)
        end
      end
    end
    if not k.info.matches_certificate and #certs > 0 then
      W[#W + 1] = ("the private key in bag %d (%s) matches none of the %d certificates"):format(k.bag, k.info.key.text, #certs)
    end
  end
  if #keys == 0 then W[#W + 1] = "no private key in the file (certificates only)" end
  if #keys > 1 then W[#W + 1] = ("%d private keys in one file: split takes one (--key N)"):format(#keys) end
  if #certs == 0 then W[#W + 1] = "no certificate in the file" end
  -- the server certificate and its chain
  -- with several keys there is no one server certificate: each pairing shows in its bag
  local server
  for _, c in ipairs(certs) do
    if c.info.matches_key and #keys == 1 then server = c break end
  end
  if server then
    server.info.role = "server"
    local others = {}
    for _, c in ipairs(certs) do if c ~= server then others[#others + 1] = c.cert end end
    local ch = M.build_chain(server.cert, others)
    local subjects = {}
    for _, c in ipairs(ch.chain) do
      subjects[#subjects + 1] = c:subject():text { exact = true }
      for _, cc in ipairs(certs) do if cc.cert == c then cc.info.role = "chain" end end
    end
    for _, c in ipairs(certs) do if not c.info.role then c.info.role = "extra" end end
    res.server = { bag = server.bag, subject = server.info.certificate.subject }
    res.chain = ui.array(subjects)
    res.chain_complete = ch.complete
    if #ch.chain == 0 and not ch.complete then
      W[#W + 1] = ("no chain: the issuer of %s (%s) is not in the file"):format(M.cert_label(server.cert), ch.missing)
    elseif not ch.complete then
      W[#W + 1] = ("chain incomplete: %s is not in the file"):format(ch.missing)
    end
  end
  -- algorithms
  if a.mac == nil then
    W[#W + 1] = "no MAC: nothing protects the file's integrity"
  elseif a.mac == "sha1" then
    W[#W + 1] = "the MAC is HMAC-SHA1 (legacy; modern files use SHA-256)"
  end
  if a.mac_verified == false then W[#W + 1] = "the MAC was not verified" end
  for _, which in ipairs { "key", "cert" } do
    local alg = a[which .. "_encryption"]
    if alg and WEAK_PBE[alg] then
      W[#W + 1] = ("%s encrypted with %s: %s"):format(which == "key" and "the key is" or "the certificates are", alg, WEAK_PBE[alg])
    end
    local it = a[which .. "_iterations"]
    if it and it < 1000 then
      W[#W + 1] = ("%s encryption uses %d iteration%s (weak against password guessing)"):format(which, it, it == 1 and "" or "s")
    end
  end
  if a.mac_iterations and a.mac_iterations < 1000 and a.mac then
    W[#W + 1] = ("the MAC uses %d iteration%s (weak against password guessing)"):format(a.mac_iterations, a.mac_iterations == 1 and "" or "s")
  end
  for _, c in ipairs(certs) do
    local ci = c.info.certificate
    if ci.expired then
      W[#W + 1] = ("certificate %s (bag %d) expired on %s"):format(M.cert_label(c.cert), c.bag, ci.not_after_text)
    elseif ci.not_yet_valid then
      W[#W + 1] = ("certificate %s (bag %d) is not valid before %s"):format(M.cert_label(c.cert), c.bag, ci.not_before_text)
    end
  end
  for _, w in ipairs(r.warnings or {}) do W[#W + 1] = w end
  res.warnings = ui.array(W)
  return res
end

local function enc_text(e, it)
  if not e then return "?" end
  if e == "none" then return "not encrypted" end
  return e .. (it and (", " .. it .. " iterations") or "")
end

function M.print_pfx_info(res, say)
  say = say or ui.say
  local a = res.algorithms
  say("%s: PKCS#12 (PFX), %d bag%s", res.file, #res.bags, #res.bags == 1 and "" or "s")
  if a.mac then
    say("  MAC: %s, %s iterations%s", a.mac, tostring(a.mac_iterations), a.mac_verified == false and " (not verified)" or "")
  else
    say("  MAC: none")
  end
  if a.key_encryption then say("  keys: %s", enc_text(a.key_encryption, a.key_iterations)) end
  if a.cert_encryption then say("  certificates: %s", enc_text(a.cert_encryption, a.cert_iterations)) end
  if a.password_form then say("  password: %s", ({ ["UTF-16"] = "as UTF-16 (standard)", ["Latin-1"] = "as Latin-1 bytes",
                                                      absent = "none (the empty password, absent)" })[a.password_form] or a.password_form) end
  for _, b in ipairs(res.bags) do
    local attrs = {}
    if b.friendly_name then attrs[#attrs + 1] = 'friendlyName "' .. ui.escape(b.friendly_name):gsub('"', '\\"') .. '"' end
    if b.local_key_id then attrs[#attrs + 1] = "localKeyID " .. b.local_key_id end
    local enc = b.encryption and b.encryption ~= "none" and (" [" .. b.encryption .. "]") or ""
    if b.key then
      say("  bag %d: private key, %s%s", b.index, b.key.text, enc)
      say("         SHA-256 of the public key %s", b.key.fingerprint)
      if b.matches_certificate then say("         matches the certificate in bag %d", b.matches_certificate)
      else say("         matches no certificate in the file") end
    elseif b.certificate then
      local c = b.certificate
      say("  bag %d: certificate%s%s", b.index, b.role and (" (" .. b.role .. ")") or "", enc)
      say("         subject  %s", ui.escape(c.subject))
      say("         issuer   %s", ui.escape(c.issuer))
      say("         serial   %s", c.serial)
      say("         valid    %s to %s%s", c.not_before_text, c.not_after_text,
        c.expired and " (EXPIRED)" or (c.not_yet_valid and " (not yet valid)" or ""))
      say("         key      %s%s%s", c.key, c.ca and ", CA" or "", c.self_signed and ", self-signed" or "")
      if b.matches_key then say("         matches the private key in bag %d", b.matches_key) end
    else
      say("  bag %d: %s (%s)%s", b.index, b.type, b.bag_type or "?", b.problem and (": " .. b.problem) or "")
    end
    if #attrs > 0 then say("         %s", table.concat(attrs, ", ")) end
  end
  if res.server then
    local chain = res.chain or {}
    if #chain > 0 then
      say("  chain of the server certificate (issuer first, up to the root%s):", res.chain_complete and "" or ", incomplete")
      for i, s in ipairs(chain) do say("    %d. %s", i, ui.escape(s)) end
    end
  end
  for _, w in ipairs(res.warnings) do say("  warning: %s", w) end
end

return M
