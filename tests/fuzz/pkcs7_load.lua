-- pkcs7_load: PKCS#7 bundles (PEM, armorless base64, BER/DER SignedData) on arbitrary bytes;
-- what parses is written back, which walks every certificate again.
local pkcs7 = require "certbench.pkcs7"
return function(data)
  local r = pkcs7.load(data)
  if r then
    local der = pkcs7.build { certs = r.certs, crls = r.crls }
    if der then pkcs7.to_pem(der) end
  end
end
