-- certbench.rand: randomness from BoringSSL's CSPRNG.
--   rand.bytes(n)             -> n random bytes (n up to 1 MiB)
--   rand.serial([bytes=16])   -> a certificate serial as upper-case hex: positive (top bit
--                                clear), never zero, exactly 2*bytes digits (1 <= bytes <= 20)
--   rand.uniform(n)           -> an integer in [0, n), without modulo bias
local c = require "_certbench.rand"

return { bytes = c.bytes, serial = c.serial, uniform = c.uniform }
