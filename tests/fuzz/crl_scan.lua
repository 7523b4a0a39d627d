-- crl_scan: crl.scan_file (the CRL checked from its file a piece at a time, never held whole; a
-- PEM one decoded to a temporary file a piece at a time first) against crl.load_file (the whole
-- DER parsed in memory, a PEM block decoded whole) on arbitrary bytes, read in pieces of
-- 64 to 319 bytes so that every boundary falls inside headers, entries and extensions. The two
-- must agree: both refuse, or both accept with the same fields, the same entries in the same
-- order, the same fingerprint, the same verdict of verify() with the same key and the same
-- bytes written out. A gzip of the input (one member, certbench.archive's gzip) scans like the
-- input (crl.scan_file's gzip option: inflated to a temporary file in pieces, a PEM in it
-- decoded as it inflates): the same verdict and fingerprint ("bundle" where the PEM has other
-- blocks); so does the input cut in two gzip members (one stream, as gzip -d makes it); and the
-- input itself scanned as gzip is refused with the code certbench.archive gives it in memory.
local crl = require "certbench.crl"
local archive = require "certbench.archive"
local pkey = require "certbench.pkey"
local fs = require "certbench.fs"

local key = pkey.generate { type = "ec", curve = "P-256" }
local path, out, gzpath = os.tmpname(), os.tmpname(), os.tmpname()
local GZ = {}
for _, k in ipairs { "max_total", "max_member", "max_ratio", "ratio_grace" } do GZ[k] = archive.defaults[k] end
-- the codes of archive.CODES crl.scan_file's gzip path shares with certbench.archive
local SHARED = { max_total = true, max_member = true, max_ratio = true, truncated = true, corrupt = true }

-- gzipped: data (and the scan of it as it is) against its gzip, and data read as gzip against
-- certbench.archive
local function gzip_invariants(data, chunk, scanned, others)
  local function scan_gz(gz)
    local f = assert(io.open(gzpath, "wb"))
    f:write(gz)
    f:close()
    return crl.scan_file(gzpath, { chunk = chunk, tmp_dir = tmpdir, gzip = GZ })
  end
  local g, gerr, gcode = scan_gz(archive.gzip(data))
  local der = data:byte(1) == 0x30
  if der and (g == nil) ~= (scanned == nil) then
    error(("the gzip of a DER input scans apart from it: %s / %s"):format(tostring(others), tostring(gerr)))
  end
  if not der then
    -- PEM: the gzip scans as the file does, but a PEM with other blocks is left to the caller
    local want = scanned and not others
    if want and not g then error("the gzip of a PEM CRL is refused: " .. tostring(gerr)) end
    if not want and g then error("the gzip of an input that is no lone PEM CRL scans") end
    if scanned and others and gcode ~= "bundle" then error("the gzip of a PEM bundle is not left as bundle: " .. tostring(gerr)) end
  end
  if g and g:fingerprint() ~= scanned:fingerprint() then error("the gzip of the input scans to another fingerprint") end
  -- cut in two members: the same stream
  local cut = #data // 2 + (#data > 0 and data:byte(1) % 7 or 0)
  local g2, g2err, g2code = scan_gz(archive.gzip(data:sub(1, cut)) .. archive.gzip(data:sub(cut + 1)))
  if (g == nil) ~= (g2 == nil) or (g and g:fingerprint() ~= g2:fingerprint()) then
    error(("two gzip members scan apart from one: %s / %s"):format(tostring(gerr), tostring(g2err)))
  end
  if not g and gcode ~= g2code and gcode ~= "max_ratio" and g2code ~= "max_ratio" then
    error(("two gzip members fail apart from one: %s (%s) / %s (%s)"):format(tostring(gcode), tostring(gerr),
      tostring(g2code), tostring(g2err)))
  end
  if g then g:close() end
  if g2 then g2:close() end
  if archive.detect(data) == "gzip" then
    local r, rerr, rcode = crl.scan_file(path, { chunk = chunk, tmp_dir = tmpdir, gzip = GZ })
    if r then r:close()
    elseif SHARED[rcode] then
      local m, merr, mcode = archive.members(data)
      if m then
        error(("scan_file refuses a gzip (%s: %s) that certbench.archive reads"):format(rcode, rerr))
      end
      if mcode ~= rcode then error(("scan_file says %s, certbench.archive %s: %s"):format(rcode, tostring(mcode), tostring(merr))) end
    end
  end
end
-- where a PEM CRL is decoded to (files without a name: nothing to clean)
local tmpdir = os.getenv("TMPDIR") or "/tmp"

local function fields(c)
  local idp = c:issuing_distribution_point()
  return table.concat({
    tostring(c:issuer()), c:issuer_der(), c:this_update(), tostring(c:next_update()), tostring(c:number()),
    tostring(c:delta_base()), tostring(c:is_delta()), tostring(c:aki()), tostring(idp and #(idp.urls or {})),
    c:signature_algorithm(), c:version(), c:count(), #c:extensions(),
  }, "\n")
end

local function entries(c)
  local t = {}
  local ok, err = pcall(function()
    for e in c:entries() do
      t[#t + 1] = table.concat({ e.serial, e.date, tostring(e.reason), tostring(e.invalidity_date),
                                 tostring(e.certificate_issuer) }, "/")
    end
  end)
  if not ok then return nil, err end
  return table.concat(t, "\n")
end

return function(data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  local chunk = 64 + (#data > 0 and data:byte(#data) or 0)
  local whole = crl.load_file(path)
  local scanned, serr, scode = crl.scan_file(path, { chunk = chunk, tmp_dir = tmpdir })
  if scanned and data:byte(1) ~= 0x30 then
    -- PEM, decoded in pieces (cb_pem_stream): the same DER whatever the size of the pieces,
    -- 64 bytes (the reader's smallest) to 319
    for _, k in ipairs { 64, 65 + #data % 255 } do
      local again, aerr = crl.scan_file(path, { chunk = k, tmp_dir = tmpdir })
      if not again then error(("pieces of %d bytes refuse what pieces of %d accept: %s"):format(k, chunk, tostring(aerr))) end
      if again:fingerprint() ~= scanned:fingerprint() then error(("pieces of %d and %d bytes decode apart"):format(k, chunk)) end
      again:close()
    end
  end
  gzip_invariants(data, chunk, scanned, serr)
  if whole == nil or scanned == nil then
    -- the scan takes DER and a PEM CRL block; the loader also takes bare base64 and a DER
    -- after a BOM ("nopem": no PEM CRL block, the caller reads such a file whole)
    if scanned and not whole then error("scan_file accepts what load_file refuses") end
    if whole and data:byte(1) == 0x30 and #data <= (1 << 20) then
      error("load_file accepts what scan_file refuses: " .. tostring(serr))
    end
    if whole and data:byte(1) ~= 0x30 and scode ~= "nopem" then
      error("load_file accepts a PEM CRL that scan_file refuses: " .. tostring(serr))
    end
    if whole then whole:close() end
    return
  end
  if fields(whole) ~= fields(scanned) then error("the fields differ:\n" .. fields(whole) .. "\n--\n" .. fields(scanned)) end
  local ew, errw = entries(whole)
  local es, errs = entries(scanned)
  if ew ~= es then error("the entries differ: " .. tostring(errw) .. " / " .. tostring(errs)) end
  if whole:fingerprint() ~= scanned:fingerprint() then error("the fingerprints differ") end
  if whole:fingerprint("sha1") ~= scanned:fingerprint("sha1") then error("the sha1 fingerprints differ") end
  local v1, w1 = whole:verify(key)
  local v2, w2 = scanned:verify(key)
  if v1 ~= v2 or w1 ~= w2 then error(("verify differs: %s (%s) / %s (%s)"):format(tostring(v1), tostring(w1), tostring(v2), tostring(w2))) end
  if crl.missing(whole, scanned, { count = true }) ~= 0 or crl.missing(scanned, whole, { count = true }) ~= 0 then
    error("crl.missing finds a difference between a CRL and itself")
  end
  fs.remove(out)
  assert(scanned:write(out, { format = "pem" }))
  if fs.read(out) ~= whole:to_pem() then error("the PEM written from the file differs") end
  whole:close()
  scanned:close()
end
