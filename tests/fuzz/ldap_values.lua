-- ldap_values: the parser of libcurl's LDAP output (http.ldap_values), which reads whatever
-- an LDAP server sends: any input must give a list or nil, err, never a crash.
local http = require "certbench.http"
return function(data)
  local v = http.ldap_values(data)
  if v then
    for _, s in ipairs(v) do assert(type(s) == "string") end
  end
  http.ldap_values(data, "certificateRevocationList;binary")
end
