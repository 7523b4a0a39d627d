-- certbench.http: HTTP(S) and LDAP downloads on the event loop (libcurl, GnuTLS build).
--
--   http.get(url[, opts])          -> response | nil, err, code
--   http.post(url, body[, opts])   -> response | nil, err, code
--   http.request{method=, url=, body=, headers={}, <opts>}
--   http.ldap_values(body[, attribute]) -> {value, ...} | nil, err: the values of an LDAP
--                                     search result as libcurl writes it, base64-decoded
--   http.info()                    -> {version=, ssl=, protocols={http=true, ldap=true, ...}}
--   http.defaults                  -> {connect_timeout=, timeout=, max_size=, max_redirects=, check_timeout=}
--   http.active()                  -> transfers in flight, sockets watched (leak checks)
--
-- A response: {status=, reason=, headers={lower-case name -> value}, body= (or file=),
--   url= (final), redirects=n, time=seconds, size=bytes, last_modified=epoch (if the server
--   says), content_type=, protocol="http"|"https"|"ldap"|"ldaps", not_modified=true on 304}.
-- LDAP responses have no status and no headers.
--
-- Options (all optional; any other key raises, naming it); the defaults are http.defaults, the
-- one place they are defined:
--   connect_timeout (s, 10, or timeout when that is shorter)  timeout (s, whole transfer, 60)
--   low_speed = {bytes_per_sec, s}
--   max_size (bytes, 64 MiB: over it, or a Content-Length announcing more, is an error)
--   max_redirects (5; 0 = do not follow); redirects only to http/https/ldap/ldaps
--   ca_file, ca_path: the only CAs trusted when given (default: the system store);
--   insecure (never by default)
--   headers = {["Name"] = "value", ...} or {"Name: value", ...}
--   etag = <the ETag of the copy held>, if_modified_since = epoch: a 304 gives
--     {status = 304, not_modified = true}
--   to_file = path: the body streams to a temporary file next to path, renamed over path
--     atomically at the end, only on a 200 (or a successful LDAP search); with
--     to_file_over = N, only a body over N bytes (announced or received) goes to the file,
--     a smaller one comes as body: the response has file or body
--   fail_on_status = true: a status >= 400 is an error with code "http" (the response comes
--     fourth: nil, err, "http", response)
--   proxy, no_proxy (default: libcurl reads http_proxy, https_proxy, all_proxy, no_proxy from
--     the environment), user_agent ("certbench/<version>"), verbose (curl's trace on stderr)
-- Error codes: "timeout", "too_large", "connect", "tls", "redirect", "http", "protocol",
--   "truncated", "ldap", "url", "io", "memory". Messages start with the URL.
--
-- Inside a loop task a request yields and the loop runs other tasks (many downloads at once
-- in one thread); outside any task it runs the loop until the transfer is done.
local c = require "_certbench.http"
local info = require "_certbench.info"
local options = require "certbench.options"

local M = {}

local ALLOWED = { http = true, https = true, ldap = true, ldaps = true }
M.user_agent = "certbench/" .. info.version
M.defaults = require "certbench.downloads" -- the one table of them (core/lib/downloads.lua)

local function seconds_ms(v, name, default)
  if v == nil then return default end
  if type(v) ~= "number" or v < 0 then error("http: option '" .. name .. "' must be seconds >= 0", 4) end
  return math.max(1, math.ceil(v * 1000))
end

local function normalise(req)
  if type(req) ~= "table" then error("http.request: a table expected", 3) end
  local url = req.url
  if type(url) ~= "string" then error("http: 'url' must be a string", 3) end
  local o = {
    url = url,
    method = (req.method or (req.body and "POST" or "GET")):upper(),
    body = req.body,
    timeout_ms = seconds_ms(req.timeout, "timeout", M.defaults.timeout * 1000),
    max_size = req.max_size or M.defaults.max_size,
    max_redirects = req.max_redirects or M.defaults.max_redirects,
    ca_file = req.ca_file,
    ca_path = req.ca_path,
    insecure = req.insecure == true,
    user_agent = req.user_agent or M.user_agent,
    to_file = req.to_file,
    to_file_over = req.to_file_over,
    proxy = req.proxy,
    no_proxy = req.no_proxy,
    verbose = req.verbose,
    if_modified_since = req.if_modified_since,
  }
  -- a connection may not take longer than the whole transfer may
  o.connect_timeout_ms = seconds_ms(req.connect_timeout, "connect_timeout",
    math.min(M.defaults.connect_timeout * 1000, o.timeout_ms))
  if req.body ~= nil and type(req.body) ~= "string" then error("http: 'body' must be a string", 3) end
  if math.type(o.max_size) ~= "integer" or o.max_size < 0 then
    error("http: option 'max_size' must be an integer >= 0", 3)
  end
  if o.to_file_over ~= nil and (math.type(o.to_file_over) ~= "integer" or o.to_file_over < 0) then
    error("http: option 'to_file_over' must be an integer >= 0", 3)
  end
  if math.type(o.max_redirects) ~= "integer" or o.max_redirects < 0 then
    error("http: option 'max_redirects' must be an integer >= 0", 3)
  end
  if req.low_speed ~= nil then
    local ls = req.low_speed
    if type(ls) ~= "table" or type(ls[1]) ~= "number" or type(ls[2]) ~= "number" then
      error("http: option 'low_speed' must be {bytes_per_sec, seconds}", 3)
    end
    o.low_speed_limit = math.max(1, math.floor(ls[1]))
    o.low_speed_time = math.max(1, math.ceil(ls[2]))
  end
  local headers = {}
  if req.headers ~= nil then
    if type(req.headers) ~= "table" then error("http: option 'headers' must be a table", 3) end
    for k, v in pairs(req.headers) do
      local line = math.type(k) == "integer" and tostring(v) or (tostring(k) .. ": " .. tostring(v))
      if line:find("[\r\n]") then error("http: a header holds a line break: " .. line, 3) end
      headers[#headers + 1] = line
    end
  end
  if req.etag then headers[#headers + 1] = "If-None-Match: " .. req.etag end
  if #headers > 0 then o.headers = headers end
  return o
end

local function request(req)
  local o = normalise(req)
  local scheme = o.url:match("^(%a[%w+.-]*):")
  if not scheme or not ALLOWED[scheme:lower()] then
    return nil, ("%s: only http, https, ldap and ldaps URLs are allowed (protocol)"):format(o.url),
      "protocol"
  end
  local resp, err, code = c.request(o)
  if not resp then return nil, err, code end
  if resp.status == 304 then resp.not_modified = true end
  if req.fail_on_status and resp.status and resp.status >= 400 then
    return nil, ("%s: HTTP %d%s (http)"):format(resp.url, resp.status,
      resp.reason and resp.reason ~= "" and (" " .. resp.reason) or ""), "http", resp
  end
  return resp
end

local function with(opts, fields)
  local r = {}
  if opts ~= nil then
    if type(opts) ~= "table" then error("http: options must be a table", 3) end
    for k, v in pairs(opts) do r[k] = v end
  end
  for k, v in pairs(fields) do r[k] = v end
  return r
end

-- the options of get and post; request takes url and body too. A key not here raises, naming it
-- (a misspelt max_size or timeout would otherwise leave the default in silence).
local OPTS = { "method", "connect_timeout", "timeout", "low_speed", "max_size", "max_redirects",
               "ca_file", "ca_path", "insecure", "headers", "etag", "if_modified_since", "to_file",
               "to_file_over", "fail_on_status", "proxy", "no_proxy", "user_agent", "verbose" }
local REQUEST_KEYS = { "url", "body" }
for _, k in ipairs(OPTS) do REQUEST_KEYS[#REQUEST_KEYS + 1] = k end

function M.get(url, opts)
  options.check(opts, OPTS, "http.get")
  return request(with(opts, { url = url, method = opts and opts.method or "GET" }))
end

function M.post(url, body, opts)
  if type(body) ~= "string" then error("http.post: the body must be a string", 2) end
  options.check(opts, OPTS, "http.post")
  return request(with(opts, { url = url, body = body, method = "POST" }))
end

function M.request(req)
  if type(req) == "table" then options.check(req, REQUEST_KEYS, "http.request") end
  return request(req)
end

M.ldap_values = c.ldap_values
M.info = c.info
M.active = c.active

return M
