-- csr_load: the request loader and every accessor on what loads (extensionRequest decoding).
local csr = require "certbench.csr"

return function(data)
  local r = csr.load(data)
  if not r then return end
  r:version(); r:subject():text(); r:subject():rfc4514(); r:public_key()
  r:san(); r:eku(); r:key_usage(); r:basic_constraints(); r:policies(); r:ski()
  r:crl_distribution_points(); r:ocsp_urls(); r:ca_issuers_urls()
  r:extensions(); r:verify(); r:signature_algorithm(); r:text()
  local again = csr.load(r:to_der())
  if not (again and again == r) then
    io.stderr:write("csr_load: a loaded request does not load back from to_der()\n")
    os.exit(3)
  end
  r:to_pem()
end
