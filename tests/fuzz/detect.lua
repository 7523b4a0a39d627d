-- detect: the content detector (certbench.detect) on arbitrary bytes. It must never raise, and
-- what it finds must hold up: every recognized DER object is recognized again on its own, the
-- same PEM text with CRLF line ends and a UTF-8 BOM gives the same objects, and Base-64
-- round-trips. A broken invariant raises, which the harness reports as a crash.
local detect = require "certbench.detect"

local function broken(what)
  error("detect invariant broken: " .. what, 2)
end

return function(data)
  local head = data:sub(1, 256)
  if detect.b64decode(detect.b64encode(head)) ~= head then broken("Base-64 round trip") end
  local info = detect.detect(data, { name = "fuzz" })
  if not info then return end
  detect.summary(info)
  for _, o in ipairs(info.objects) do
    if type(o.what) ~= "string" then broken("object without a description") end
    if o.der and o.kind ~= "unknown" then
      local kind = detect.der_info(o.der)
      -- a PEM label only names a kind; the content decides, and must decide the same way twice
      if kind ~= o.kind and not (o.label and kind == "unknown") then
        broken(("object %d: %s, but its DER alone is %s"):format(o.index, o.kind, tostring(kind)))
      end
      local again = detect.detect(detect.pem("CERTIFICATE", o.der))
      if not again or again.objects[1].der ~= o.der then broken("re-armored DER not found again") end
    end
  end
  if info.encoding == "pem" and not info.bom then
    local crlf = "\239\187\191" .. data:gsub("\r?\n", "\r\n")
    local info2 = detect.detect(crlf)
    if not info2 or #info2.objects ~= #info.objects then broken("CRLF + BOM changed what was found") end
    for i, o in ipairs(info.objects) do
      local o2 = info2.objects[i]
      if o2.der ~= o.der or o2.kind ~= o.kind or o2.line ~= o.line then broken("CRLF + BOM changed object " .. i) end
    end
  end
end
