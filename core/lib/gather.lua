-- certbench.gather (internal): the keys and certificates of a PFX file or a PEM bundle (or
-- anything certbench.input reads), gathered for `pfx split`, `pfx build` and `vcs cafile`: here
-- in core/lib, not in the pfx plugin, because two plugins share it (a plugin never loads
-- another plugin's files).
local input = require "certbench.input"
local x509 = require "certbench.x509"
local opener = require "certbench.passin"

local M = {}

-- gather(path, passin[, {keys = false}]) -> { keys = { {key=, from=} }, certs = { {cert=, from=} },
--   kind = "pkcs12" | "pem" | ..., pfx = result of pkcs12.parse, notes = {...} } | nil, err, code
function M.gather(path, passin, opts)
  -- a path, "-" or a URL; PEM, DER, PKCS#7, ZIP, tar...: certbench.input reads them all
  local r, err, code = input.read(path, { pkcs12 = "keep" })
  if not r then return nil, err, code end
  return M.gather_result(r, path, passin, opts)
end

-- gather_data(data, name, passin[, opts]) -> the same from bytes already read (a download)
function M.gather_data(data, path, passin, opts)
  local r, err, code = input.bytes(data, path, { pkcs12 = "keep" })
  if not r then return nil, err, code end
  return M.gather_result(r, path, passin, opts)
end

-- gather_result(r, path, passin[, opts]): the keys and certificates of what certbench.input read
function M.gather_result(r, path, passin, opts)
  local problem, pcode = input.problem(r)
  if problem then return nil, problem, pcode end
  local out = { keys = {}, certs = {}, notes = {}, summary = r.summary }
  for _, sk in ipairs(r.skipped) do out.notes[#out.notes + 1] = ("%s: %s: left out"):format(sk.from, sk.reason) end
  local objs = r.objects
  if #objs == 1 and objs[1].kind == "pkcs12" then
    local r, perr, pcode = opener.open_pfx(objs[1].der, path, passin)
    if not r then return nil, perr, pcode end
    out.kind, out.pfx = "pkcs12", r
    for i, b in ipairs(r.bags) do
      if b.type == "key" and b.object then
        out.keys[#out.keys + 1] = { key = b.object, from = ("bag %d"):format(i), friendly_name = b.friendly_name }
      elseif b.type == "cert" and b.object then
        out.certs[#out.certs + 1] = { cert = b.object, from = ("bag %d"):format(i), friendly_name = b.friendly_name }
      elseif b.type ~= "key" and b.type ~= "cert" then
        out.notes[#out.notes + 1] = ("bag %d (%s) is not a key or certificate: not written"):format(i, b.bag_type or b.type)
      elseif b.problem then
        -- a certificate the core refused (a validity that is no time): said, not dropped
        out.notes[#out.notes + 1] = ("bag %d: %s: not written"):format(i, (b.problem:gsub(", kept as DER$", "")))
      end
    end
    return out
  end
  local enc = r.summary:match("^(%S+)") or "?"
  out.kind = ({ PEM = "pem", DER = "der" })[enc] or r.summary:match("^[^:]*")
  for _, o in ipairs(objs) do
    -- where in the file: the archive member (input's from, after the path) and the PEM block; a
    -- block alone would say "PEM block 1" of every member of a ZIP, and input's own parentheses
    -- ("(PKCS#7, certificate 2)") would be doubled by the callers' "path (where)"
    local rest = o.from ~= path and o.from:sub(#path + 1):gsub("^:? *", ""):gsub(" ?%(PEM block %d+%)$", "")
      :gsub("^%((.*)%)$", "%1") or ""
    local block = o.block and ("PEM block %d, line %d"):format(o.block, o.line)
    local where = (rest ~= "" and block) and (rest .. ", " .. block) or block or (rest ~= "" and rest) or "the file"
    if o.kind == "private_key" then
      if not (opts and opts.keys == false) then
        local k, kerr, kcode = opener.load_key(o.pem or o.der, path .. " (" .. where .. ")", passin)
        if not k then return nil, kerr, kcode end
        out.keys[#out.keys + 1] = { key = k, from = where, friendly_name = o.attributes and o.attributes.friendlyName }
      end
    elseif o.kind == "certificate" then
      local c, cerr = x509.load(o.der)
      if not c then return nil, path .. " (" .. where .. "): " .. tostring(cerr), "bad_cert" end
      out.certs[#out.certs + 1] = { cert = c, from = where, friendly_name = o.attributes and o.attributes.friendlyName }
    elseif o.kind == "pkcs12" then
      return nil, path .. " (" .. where .. "): a PKCS#12 inside a bundle is not supported", "unsupported"
    else
      out.notes[#out.notes + 1] = ("%s: %s, not a key or certificate: left out"):format(where, o.what or o.kind)
    end
  end
  return out
end

return M
