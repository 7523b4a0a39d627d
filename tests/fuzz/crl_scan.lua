-- crl_scan: crl.scan_file (the CRL checked from its file a piece at a time, never held whole)
-- against crl.load_file (the whole DER parsed in memory) on arbitrary bytes, read in pieces of
-- 64 to 319 bytes so that every boundary falls inside headers, entries and extensions. The two
-- must agree: both refuse, or both accept with the same fields, the same entries in the same
-- order, the same fingerprint, the same verdict of verify() with the same key and the same
-- bytes written out.
local crl = require "certbench.crl"
local pkey = require "certbench.pkey"
local fs = require "certbench.fs"

local key = pkey.generate { type = "ec", curve = "P-256" }
local path, out = os.tmpname(), os.tmpname()

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
  local scanned, serr = crl.scan_file(path, { chunk = chunk })
  if whole == nil or scanned == nil then
    -- only DER is scanned; the loader takes PEM and base64 too
    if scanned and not whole then error("scan_file accepts what load_file refuses") end
    if whole and data:byte(1) == 0x30 and #data <= (1 << 20) then
      error("load_file accepts what scan_file refuses: " .. tostring(serr))
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
