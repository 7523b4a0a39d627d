-- csr_load: the request loader and every accessor on what loads (extensionRequest decoding);
-- the batch paths (csr.load_many's thread-side walk, verify_many, verify_start) must agree with
-- csr.load and r:verify() on every input.
local csr = require "certbench.csr"

local function fail(msg)
  error("csr_load: " .. msg, 2)
end

return function(data)
  local r, err = csr.load(data)
  local many, errs = csr.load_many({ data, data })
  if r then
    if not (many[1] and many[1]:to_der() == r:to_der() and many[2]) then fail("load_many does not give what load gives") end
  elseif many[1] ~= false or errs[1] ~= err or errs[2] ~= err then
    fail("load_many does not fail as load does")
  end
  if not r then return end
  r:version(); r:subject():text(); r:subject():rfc4514(); r:public_key()
  r:san(); r:eku(); r:key_usage(); r:basic_constraints(); r:policies(); r:ski()
  r:crl_distribution_points(); r:ocsp_urls(); r:ca_issuers_urls()
  r:extensions(); r:signature_algorithm(); r:text()
  local ok, why = r:verify()
  local oks, reasons = csr.verify_many({ r, many[1] })
  local oks2, reasons2 = csr.verify_start({ many[2], r }):wait()
  if oks[1] ~= ok or oks[2] ~= ok or oks2[1] ~= ok or oks2[2] ~= ok or reasons[1] ~= why or reasons2[2] ~= why then
    fail("the batch verifications do not agree with verify()")
  end
  local again = csr.load(r:to_der())
  if not (again and again == r) then fail("a loaded request does not load back from to_der()") end
  r:to_pem()
end
