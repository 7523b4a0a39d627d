-- vcs/cafile.lua: the appliance's trusted CA file (the guide's "Loading a trusted CA
-- certificate onto VCS": the full chain between the root CA and the server certificate, in one
-- PEM file) built from whatever the CA handed out: PFX, p7b, PEM bundles, DER, URLs, a leaf
-- with its chain.
--
--   cafile.build{ inputs = { path | url, ... }, out = path, passin =, fetch_aia = bool,
--                 allow_incomplete = bool, force = bool, time = epoch, timeout = s }
--     -> result | nil, err, code
--   result = { out =, certificates = { {subject=, issuer=, serial=, not_after=, self_signed=,
--              from=} ... } (in file order), removed = { {subject=, from=, why=} ... },
--              fetched = { {url=, subject=} ... }, missing = { {issuer=, of=} ... }, warnings = {...} }
-- CA certificates only (a leaf is removed, named), each once (exact copies, and an expired copy
-- of a CA whose same name and key are there valid), ordered issuer after subject up to the
-- self-signed root, chain by chain (the chain of a leaf given first). An issuer that is in no
-- input is fetched from the caIssuers URL of the certificate's AIA with fetch_aia; a chain that
-- still does not reach a root is an error (nothing written) unless allow_incomplete.
-- Inputs are read with certbench.gather (core/lib), the reader `pfx split` and `pfx build`
-- use too.
local fs = require "certbench.fs"
local ui = require "certbench.ui"
local outputs = require "certbench.outputs"

local M = {}

local MAX_DOWNLOAD = 1 << 20

-- a raw CN with a newline and ESC[8m forged whole lines in the error and the warnings
local function label(c) return c:subject():label() end

local function valid_at(c, t) return c:not_before() <= t and t <= c:not_after() end

local function is_url(s) return s:match("^https?://") ~= nil end

-- download(url, timeout) -> bytes | nil, err
local function download(url, timeout)
  local http = require "certbench.http"
  local r, err = http.get(url, { fail_on_status = true, max_size = MAX_DOWNLOAD, timeout = timeout or http.defaults.check_timeout })
  if not r then return nil, err end
  return r.body or ""
end

-- certs_of(input, passin, timeout) -> { {cert=, from=} ... } | nil, err
local function certs_of(input, passin, timeout)
  local gather = require "certbench.gather"
  local g, err
  if is_url(input) then
    local data, derr = download(input, timeout)
    if not data then return nil, derr end
    g, err = gather.gather_data(data, input, passin, { keys = false })
  else
    g, err = gather.gather(input, passin, { keys = false })
  end
  if not g then return nil, err end
  local out = {}
  for _, c in ipairs(g.certs) do
    out[#out + 1] = { cert = c.cert, from = input .. (c.from ~= "the file" and (" (" .. c.from .. ")") or "") }
  end
  if #out == 0 then return nil, input .. ": no certificate in it" end
  return out
end

function M.build(o)
  if not o.inputs or #o.inputs == 0 then return nil, "vcs cafile: give the inputs (files or URLs)", 2 end
  if not o.out then return nil, "vcs cafile: --out is required", 2 end
  local describe = require "certbench.describe"
  local now = o.time or os.time()
  local res = { out = o.out, removed = {}, fetched = {}, missing = {}, warnings = {} }
  -- every certificate once, in input order
  local all = {}
  local function known(c)
    for _, e in ipairs(all) do if e.cert:equals(c) then return e end end
    return nil
  end
  for _, input in ipairs(o.inputs) do
    local list, err = certs_of(input, o.passin, o.timeout)
    if not list then return nil, err end
    for _, e in ipairs(list) do
      if not known(e.cert) then all[#all + 1] = e end
    end
  end
  -- CAs and leaves apart; a leaf is where a chain starts
  local cas, leaves = {}, {}
  for _, e in ipairs(all) do
    if e.cert:is_ca() then
      cas[#cas + 1] = e
    else
      leaves[#leaves + 1] = e
      res.removed[#res.removed + 1] = { subject = e.cert:subject():text { exact = true }, from = e.from,
        why = e.cert:is_self_signed() and "a self-signed certificate that is not a CA (a test server certificate)"
          or "not a CA certificate (a server or client certificate)" }
    end
  end
  -- an expired copy of a CA that is also there valid, same name and key: left out
  local keep = {}
  for i, e in ipairs(cas) do
    keep[i] = true
    if not valid_at(e.cert, now) then
      for j, f in ipairs(cas) do
        if j ~= i and valid_at(f.cert, now) and f.cert:subject():equals(e.cert:subject())
           and f.cert:public_key():fingerprint() == e.cert:public_key():fingerprint() then
          keep[i] = false
          res.removed[#res.removed + 1] = { subject = e.cert:subject():text { exact = true }, from = e.from,
            why = ("expired %s; the copy from %s is valid until %s"):format(ui.time(e.cert:not_after()), f.from, ui.time(f.cert:not_after())) }
          break
        end
      end
    end
  end
  local pool, from_of = {}, {}
  for i, e in ipairs(cas) do
    if keep[i] then
      pool[#pool + 1] = e.cert
      from_of[e.cert] = e.from
    end
  end
  -- the chain of a start, fetching missing issuers from AIA when allowed
  local tried = {}
  local function chain_of(start)
    while true do
      local others = {}
      for _, c in ipairs(pool) do if not c:equals(start) then others[#others + 1] = c end end
      local ch = describe.build_chain(start, others, now)
      if ch.complete or not o.fetch_aia then return ch end
      local top = ch.chain[#ch.chain] or start
      local got = false
      for _, url in ipairs(top:ca_issuers_urls() or {}) do
        if is_url(url) and not tried[url] then
          tried[url] = true
          local list, err = certs_of(url, nil, o.timeout)
          if not list then
            res.warnings[#res.warnings + 1] = ("the issuer of %s from its AIA: %s"):format(label(top), err)
          else
            for _, e in ipairs(list) do
              if top:issued_by(e.cert) and top:verify_signature(e.cert) then
                local seen = false
                for _, c in ipairs(pool) do if c:equals(e.cert) then seen = true end end
                if not seen then
                  pool[#pool + 1] = e.cert
                  from_of[e.cert] = url
                  res.fetched[#res.fetched + 1] = { url = url, subject = e.cert:subject():text { exact = true } }
                  got = true
                end
              end
            end
            if not got then
              res.warnings[#res.warnings + 1] = ("%s (the AIA caIssuers URL of %s) holds no certificate that issued it"):format(url, label(top))
            end
          end
          if got then break end
        end
      end
      if not got then return ch end
    end
  end
  -- the starts: the leaves given, then the CAs that issued no other CA of the pool
  local order, reported = {}, {}
  local function emit(c)
    for _, x in ipairs(order) do if x:equals(c) then return end end
    order[#order + 1] = c
  end
  local function walk(start, is_leaf)
    local ch = chain_of(start)
    if not is_leaf then emit(start) end
    for _, c in ipairs(ch.chain) do emit(c) end
    if not ch.complete then
      local top = ch.chain[#ch.chain] or start
      local key = top:issuer():text { exact = true }
      if not reported[key] then
        reported[key] = true
        res.missing[#res.missing + 1] = { issuer = key, of = label(top) }
      end
    end
  end
  for _, e in ipairs(leaves) do walk(e.cert, true) end
  local snapshot = {}
  for _, c in ipairs(pool) do snapshot[#snapshot + 1] = c end
  for _, c in ipairs(snapshot) do
    local bottom = true
    for _, d in ipairs(snapshot) do
      if not d:equals(c) and not d:is_self_signed() and d:issued_by(c) and d:verify_signature(c) then
        -- a CA that issued another CA comes after it, unless that is a cross-certificate of itself
        if not (d:subject():equals(c:subject())) then bottom = false end
      end
    end
    if bottom then walk(c, false) end
  end
  for _, c in ipairs(pool) do emit(c) end
  if #res.missing > 0 and not o.allow_incomplete then
    local t = {}
    for _, m in ipairs(res.missing) do t[#t + 1] = ("the issuer of %s (%s)"):format(m.of, ui.escape(m.issuer)) end
    return nil, ("vcs cafile: %s %s in no input%s: the CA file must reach the self-signed root; add %s%s "
      .. "(--allow-incomplete writes it anyway)"):format(table.concat(t, ", "), #t == 1 and "is" or "are",
      o.fetch_aia and " nor at the AIA URLs" or "", #t == 1 and "its certificate" or "their certificates",
      o.fetch_aia and "" or ", or give --fetch-aia to download it from the certificate's AIA"), 1
  end
  if #order == 0 then
    return nil, ("vcs cafile: no CA certificate in %s (%d certificate%s, none a CA): the CA file holds the CAs "
      .. "that issued the server certificate; give their files, or the server certificate with --fetch-aia"):format(
      table.concat(o.inputs, ", "), #all, #all == 1 and "" or "s")
  end
  local pems, list = {}, {}
  for _, c in ipairs(order) do
    pems[#pems + 1] = c:to_pem()
    list[#list + 1] = { subject = c:subject():text { exact = true }, issuer = c:issuer():text { exact = true }, serial = c:serial(),
                        not_after = ui.time(c:not_after()), self_signed = c:is_self_signed(), from = from_of[c] }
    if not valid_at(c, now) then
      res.warnings[#res.warnings + 1] = ("%s is not valid now (%s to %s): peers refuse the chains through it"):format(
        label(c), ui.time(c:not_before()), ui.time(c:not_after()))
    end
  end
  if #res.missing > 0 then
    res.warnings[#res.warnings + 1] = "incomplete: the appliance needs the chain up to the self-signed root"
  end
  local out = outputs.new { force = o.force }
  out:add(o.out, table.concat(pems), { what = "trusted CA file" })
  local written, werr = out:commit()
  if not written then return nil, "vcs cafile: " .. werr end
  res.certificates = list
  return res
end

return M
