-- smoke: the harness itself, through a core parser-free path (fs.basename on arbitrary bytes)
local fs = require "certbench.fs"
return function(data) fs.basename(data); fs.dirname(data) end
