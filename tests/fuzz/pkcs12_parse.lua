-- pkcs12_parse: the PFX parser (BER conversion, MAC, PBE decryption, bags, attributes) on
-- arbitrary bytes, with the empty password (two forms) and "password". The iteration cap keeps
-- a mutated count of 2^31 from stalling the fuzzer; the seeds use at most 2048.
local p12 = require "certbench.pkcs12"
local opts = { max_iterations = 2048 }
local lax = { max_iterations = 2048, verify_mac = false }
return function(data)
  for _, pw in ipairs { "", "password" } do
    local r = p12.parse(data, pw, opts)
    if r then
      for _, b in ipairs(r.bags) do
        if b.object and b.type == "cert" then b.object:serial() end
      end
    end
  end
  -- without the MAC the mutations reach the decryption and the bags
  p12.parse(data, "password", lax)
end
