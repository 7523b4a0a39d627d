-- store_bundle: the bundle parser of store.load_file on arbitrary bytes, then every certificate
-- found verified in a store of the first one with every CRL found (CRL checking of the whole
-- chain, deltas, indirect CRLs, policies): X509_verify_cert on hostile certificates and CRLs.
local store = require "certbench.store"

local MAX_CERTS = 8

return function(data)
  local certs, crls = store._parse_bundle(data, "fuzz")
  if not certs then return end
  while #certs > MAX_CERTS do certs[#certs] = nil end
  local s, err = store.new{ cas = { certs[1] }, crls = crls }
  if not s then
    -- BoringSSL is stricter than the CRL engine in one documented way (non-minimal serials);
    -- any other CRL the engine took and the store refuses is a finding (see crl_load)
    assert(err:find("BoringSSL cannot parse this CRL: invalid integer", 1, true), err)
    return
  end
  for _, c in ipairs(certs) do
    s:verify(c, { untrusted = certs, crl_check = "all", time = 1577836800,
                  policies = { "anyPolicy" }, host = "a.example.com", purpose = "sslserver" })
  end
  s:close()
end
