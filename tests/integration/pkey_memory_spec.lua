-- Memory growth (luv's test-leaks.lua): 20,000 cycles of generating, writing, loading (plain,
-- encrypted, failing), signing and hashing keys. A leak of a key, a BIO, a cipher context or a
-- decrypted buffer per cycle would grow the resident size by megabytes.
-- The cycles run in a fresh certbench process (tests/integration/memory/pkey_cycles.lua, with
-- spec/support/memory.lua), not in this busted process, whose resident size also holds what the
-- specs run before it left in the heap. After a warm-up the child's resident size stays flat to a
-- few pages: it must not grow by MAX_KB over the 20,000 cycles, which a leak of 26 bytes a cycle
-- passes. A legacy PEM key's decrypted buffer left unfreed per load grew it by 31 MB.
local h = require "support.helper"
local memory = require "support.memory"

-- under ASan the quarantine keeps freed memory resident: there the child runs fewer cycles and
-- LeakSanitizer, at its exit, is the check
local ASAN = os.getenv("CERTBENCH_ASAN") ~= nil
local MAX_KB = 512

describe("pkey memory", function()
  it("does not grow over 20,000 key cycles", function()
    local n = 20000
    local points, err = memory.run(h.root .. "/tests/integration/memory/pkey_cycles.lua",
      { tostring(ASAN and n // 20 or n) })
    assert(points, err)
    if ASAN then return end
    local grew, all = memory.growth(points)
    print(("\n# pkey memory: %s"):format(all))
    assert.is_true(grew < MAX_KB, ("resident size grew by %d kB over %d cycles after the warm-up (%s)"):format(grew, n, all))
  end)
end)
