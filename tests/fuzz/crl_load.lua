-- crl_load: crl.load and crl.load_all on arbitrary bytes (PEM, DER, base64, junk), then every
-- reader of a CRL that loads: the lazy entry decoding, the index, the text and verify paths.
local crl = require "certbench.crl"
local pkey = require "certbench.pkey"

local key = pkey.generate("ed25519")

return function(data)
  local c = crl.load(data)
  if c then
    c:issuer()
    c:issuer_der()
    c:this_update()
    c:next_update()
    c:number()
    c:delta_base()
    c:is_delta()
    c:aki()
    c:issuing_distribution_point()
    c:freshest_crl()
    c:signature_algorithm()
    c:version()
    c:extensions()
    local n = 0
    for e in c:entries() do
      n = n + 1
      assert(c:lookup(e.serial), "an entry that lookup cannot find")
      if n > 64 then break end
    end
    local m = 0
    for _ in c:serials() do m = m + 1 end
    assert(m == c:count(), "serials() and count() disagree")
    c:lookup("01")
    c:verify(key)
    if c:count() < 1000 then c:text() end
    local again = assert(crl.load(c:to_pem()))
    assert(again:to_der() == c:to_der())
    assert(again:fingerprint() == c:fingerprint())
    c:close()
  end
  crl.load_all(data)
end
