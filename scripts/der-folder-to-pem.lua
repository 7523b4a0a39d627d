-- der-folder-to-pem.lua: a folder of certificates as Windows saves them (.cer/.crt in DER, or
-- "Base-64 encoded X.509" with CRLF, or PKCS#7 .p7b chains) -> one PEM file per input in
-- OUT-DIR, each read back and compared with its input, and ca-bundle.pem with every CA
-- certificate found, for an appliance's "trusted CA certificate" upload.
--
--   certbench run scripts/der-folder-to-pem.lua SRC-DIR OUT-DIR [--force]
-- Files that are not PKI data (notes, desktop.ini) and PFX files are reported as skipped; the
-- exit status is 1 when any certificate file failed (truncated, bad Base-64...), 0 otherwise.
local fs = require "certbench.fs"
local x509 = require "certbench.x509"
local detect = require "certbench.detect"
local outputs = require "certbench.outputs"
local convert = require "certbench.plugins.convert"

local args, force = {}, false
for _, a in ipairs(arg) do
  if a == "--force" then force = true else args[#args + 1] = a end
end
local src, dst = args[1], args[2]
if not src or not dst then
  io.stderr:write("usage: certbench run scripts/der-folder-to-pem.lua SRC-DIR OUT-DIR [--force]\n")
  os.exit(2, true)
end

local res, err = convert.folder { dir = src, to = "pem", out_dir = dst, force = force }
if not res then
  io.stderr:write("der-folder-to-pem: ", err, "\n")
  os.exit(1, true)
end

local failed, skipped = res.failed, res.skipped
local cas, seen = {}, {}
for _, e in ipairs(res.files) do
  if e.status == "ok" then
    -- read the PEM back: the same certificates, byte for byte, as the input held
    local before = {}
    local info = assert(detect.file(e.file))
    for _, o in ipairs(info.objects) do
      if o.kind == "certificate" then before[#before + 1] = o.der
      elseif o.kind == "pkcs7" then
        for _, c in ipairs(assert(require("certbench.pkcs7").load(o.der)).certs) do before[#before + 1] = c:to_der() end
      end
    end
    local after = x509.load_all(assert(fs.read(e.out))) or {}
    local same = #after == #before
    for i, c in ipairs(after) do
      if c:to_der() ~= before[i] then same = false end
      local fp = c:fingerprint()
      if c:is_ca() and not seen[fp] then
        seen[fp] = true
        cas[#cas + 1] = c
      end
    end
    if same and #after > 0 then
      print(("ok      %s -> %s (%d certificate%s)"):format(e.file, e.out, #after, #after == 1 and "" or "s"))
    else
      failed = failed + 1
      print(("FAILED  %s -> %s: the PEM does not hold the same certificates"):format(e.file, e.out))
    end
  elseif e.status == "failed" and (e.code == "not_pki" or e.code == "empty" or e.code == "pfx") then
    -- desktop.ini, notes, a PFX next to its certificates: not what this script converts
    skipped = skipped + 1
    failed = failed - 1
    print("skipped " .. e.error)
  elseif e.status == "failed" then
    print("FAILED  " .. e.error)
  else
    print(("skipped %s (%s)"):format(e.file, e.reason))
  end
end

if #cas > 0 then
  local t = {}
  for _, c in ipairs(cas) do t[#t + 1] = c:to_pem() end
  local out = outputs.new { force = force }
  out:add(fs.join(dst, "ca-bundle.pem"), table.concat(t))
  local ok, werr = out:commit()
  if ok then
    print(("wrote %s: %d CA certificate%s"):format(fs.join(dst, "ca-bundle.pem"), #cas, #cas == 1 and "" or "s"))
  else
    failed = failed + 1
    print("FAILED  " .. werr)
  end
end
print(("%d converted, %d failed, %d skipped"):format(res.converted, failed, skipped))
os.exit(failed > 0 and 1 or 0, true)
