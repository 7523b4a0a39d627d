-- spec/support/servers.lua: real servers on 127.0.0.1 for the network tests, started and stopped by
-- the tests themselves. `local servers = require "support.servers"`.
--   servers.free_port()                -> a port nobody listens on (right now)
--   servers.wait_port(port[, secs])    -> true once something accepts connections there
--   servers.start(cmd, port)           -> server {pid=, port=, log=}: cmd runs in the background
--                                         (through sh; use exec), waited for on port; fails when
--                                         it exits before it listens, or right after
--   servers.start(make_cmd)            the same on a free port: make_cmd(port) -> cmd; another
--                                         port when the server exits (another process took the
--                                         port between free_port and the server's bind: 5 tries)
--   servers.stop(server)               kills it (idempotent)
--   servers.http(dir[, backlog])       python3 -m http.server serving dir; with backlog, the
--                                      same server with a listen backlog that size (python's
--                                      default of 5 drops the SYNs of a burst of connections)
--   servers.https(dir, cert, key)      openssl s_server -WWW serving dir
--   servers.hostile()                  spec/support/servers/hostile.py (port from its stdout)
--   servers.make_ca(dir, name)         -> {cert=, key=}: a test CA made with the openssl CLI
--   servers.make_server_cert(dir, ca, name) -> {cert=, key=} for IP:127.0.0.1 and localhost
--   servers.make_crl(dir, ca)          -> path of a DER CRL signed by ca (openssl ca -gencrl)
--   servers.slapd(dir, ldif[, tls])    slapd with an mdb database holding ldif (suffix
--                                      dc=example,dc=test), or nil, why when it cannot run;
--                                      with tls = {cert=, key=} also ldaps (server.ldaps_url)
local h = require "support.helper"

local M = {}
local running = {}

function M.free_port()
  local out = h.run([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
  return assert(tonumber(out:match("%d+")), "no free port: " .. out)
end

local function listening(port)
  local _, rc = h.run(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null"):format(port))
  return rc == 0
end

function M.wait_port(port, secs)
  local deadline = os.time() + (secs or 10)
  repeat
    if listening(port) then return true end
    h.run("sleep 0.05")
  until os.time() > deadline
  return false
end

local function alive(pid)
  local _, rc = h.run("kill -0 " .. pid .. " 2>/dev/null")
  return rc == 0
end

function M.start(cmd, port, log)
  if type(cmd) == "function" then
    local err
    for _ = 1, 5 do
      local p = M.free_port()
      local ok, s = pcall(M.start, cmd(p), p, log)
      if ok then return s end
      err = s
    end
    error(err, 2)
  end
  log = log or os.tmpname()
  local p = io.popen(("(%s) >%s 2>&1 </dev/null & echo $!"):format(cmd, h.q(log)))
  local pid = tonumber(p:read("l"))
  p:close()
  local s = { pid = pid, port = port, log = log }
  running[#running + 1] = s
  if port then
    -- waited for until it listens or exits (30 s: a loaded machine starts python slowly); one
    -- that exited failed to bind, and what listens there is another process's
    local deadline = os.time() + 30
    local up
    repeat
      up = listening(port)
      if not up then h.run("sleep 0.05") end
    until up or not alive(pid) or os.time() > deadline
    if not up or not alive(pid) then
      M.stop(s)
      error(("server did not start on port %d: %s\n%s"):format(port, cmd, h.read(log)))
    end
  end
  return s
end

function M.stop(s)
  if not s or s.stopped then return end
  s.stopped = true
  h.run("kill " .. s.pid .. " 2>/dev/null")
  for _ = 1, 50 do
    if not alive(s.pid) then break end
    h.run("sleep 0.05")
  end
  if alive(s.pid) then h.run("kill -9 " .. s.pid .. " 2>/dev/null") end
end

-- stop whatever a failing test left behind, when the state closes
setmetatable(running, { __gc = function(t) for _, s in ipairs(t) do M.stop(s) end end })

function M.http(dir, backlog)
  if backlog then
    return M.start(function(port) return ("exec python3 -c %s"):format(h.q(([[
import functools, http.server as s
s.ThreadingHTTPServer.request_queue_size = %d
s.test(HandlerClass=functools.partial(s.SimpleHTTPRequestHandler, directory=%q),
       ServerClass=s.ThreadingHTTPServer, port=%d, bind="127.0.0.1")]]):format(backlog, dir, port))) end)
  end
  return M.start(function(port)
    return ("exec python3 -m http.server %d --bind 127.0.0.1 --directory %s"):format(port, h.q(dir))
  end)
end

function M.https(dir, cert, key)
  return M.start(function(port)
    return ("cd %s && exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s")
      :format(h.q(dir), port, h.q(cert), h.q(key))
  end)
end

function M.hostile()
  local log = os.tmpname()
  local s = M.start(("exec python3 %s/spec/support/servers/hostile.py --lifetime 900"):format(h.q(h.root)), nil, log)
  for _ = 1, 200 do
    local port = tonumber((h.read(log):match("^(%d+)\n")))
    if port then
      s.port = port
      assert(M.wait_port(port), "hostile.py is not answering")
      s.url = "http://127.0.0.1:" .. port
      return s
    end
    h.run("sleep 0.05")
  end
  M.stop(s)
  error("hostile.py did not start: " .. h.read(log))
end

local function openssl(args)
  local out, rc = h.openssl(args)
  assert(rc == 0, "openssl " .. args .. "\n" .. out)
  return out
end

function M.make_ca(dir, name)
  local ca = { cert = dir .. "/" .. name .. ".pem", key = dir .. "/" .. name .. ".key" }
  openssl(("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj %s "
    .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
    .. "-keyout %s -out %s"):format(h.q("/CN=" .. name), h.q(ca.key), h.q(ca.cert)))
  return ca
end

function M.make_server_cert(dir, ca, name)
  local s = { cert = dir .. "/" .. name .. ".pem", key = dir .. "/" .. name .. ".key" }
  local csr, ext = dir .. "/" .. name .. ".csr", dir .. "/" .. name .. ".ext"
  h.write(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    .. "basicConstraints=critical,CA:FALSE\n")
  openssl(("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj %s -keyout %s -out %s")
    :format(h.q("/CN=" .. name), h.q(s.key), h.q(csr)))
  openssl(("x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 2 -extfile %s -out %s")
    :format(h.q(csr), h.q(ca.cert), h.q(ca.key), h.q(ext), h.q(s.cert)))
  return s
end

function M.make_crl(dir, ca)
  local d = dir .. "/crlca"
  h.run("mkdir -p " .. h.q(d))
  h.write(d .. "/index.txt", "")
  h.write(d .. "/crlnumber", "1000\n")
  h.write(d .. "/ca.cnf", ([[
[ ca ]
default_ca = test
[ test ]
database = %s/index.txt
crlnumber = %s/crlnumber
default_md = sha256
default_crl_days = 7
]]):format(d, d))
  local pem, der = d .. "/crl.pem", d .. "/crl.der"
  openssl(("ca -gencrl -config %s -keyfile %s -cert %s -out %s")
    :format(h.q(d .. "/ca.cnf"), h.q(ca.key), h.q(ca.cert), h.q(pem)))
  openssl(("crl -in %s -outform DER -out %s"):format(h.q(pem), h.q(der)))
  return der
end

-- slapd(dir, ldif) -> server | nil, why
function M.slapd(dir, ldif, tls)
  local slapd = "/usr/sbin/slapd"
  if not io.open(slapd) then return nil, "slapd is not installed (third_party/install-deps test)" end
  local modpath
  for _, d in ipairs{ "/usr/lib/ldap", "/usr/lib/x86_64-linux-gnu/ldap", "/usr/lib/openldap" } do
    if io.open(d .. "/back_mdb.so") then modpath = d break end
  end
  if not modpath then return nil, "slapd's back_mdb module was not found" end
  local conf, db = dir .. "/slapd.conf", dir .. "/db"
  h.run("mkdir -p " .. h.q(db))
  local tls_conf = tls and ("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n"):format(tls.cert, tls.key) or ""
  h.write(conf, ([[
include /etc/ldap/schema/core.schema
modulepath %s
moduleload back_mdb
pidfile %s/slapd.pid
%s
database mdb
maxsize 10485760
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
directory %s
]]):format(modpath, dir, tls_conf, db))
  h.write(dir .. "/data.ldif", ldif)
  local out, rc = h.run(("/usr/sbin/slapadd -f %s -l %s"):format(h.q(conf), h.q(dir .. "/data.ldif")))
  if rc ~= 0 then return nil, "slapadd failed: " .. out end
  local port = M.free_port()
  local urls = ("ldap://127.0.0.1:%d/"):format(port)
  local tls_port
  if tls then
    tls_port = M.free_port()
    urls = urls .. (" ldaps://127.0.0.1:%d/"):format(tls_port)
  end
  local ok, s = pcall(M.start, ("exec %s -d 0 -f %s -h %s"):format(slapd, h.q(conf), h.q(urls)), port)
  if not ok then return nil, "slapd did not start: " .. tostring(s) end
  s.url = "ldap://127.0.0.1:" .. port
  if tls then
    if not M.wait_port(tls_port) then
      M.stop(s)
      return nil, "slapd did not listen for ldaps: " .. h.read(s.log)
    end
    s.ldaps_url = "ldaps://127.0.0.1:" .. tls_port
  end
  return s
end

-- ocsp(index, port, ca_cert, ca_key, log) -> server: `openssl ocsp` answering for a CA folder
-- (signed by the CA itself). Not probed with a connection of its own: openssl 3.0's responder
-- hangs on a connection that closes without a request; its log says when it listens. It binds
-- every interface; tests only talk to it on 127.0.0.1.
function M.ocsp(index, port, ca_cert, ca_key, log)
  local s = M.start(("exec openssl ocsp -index %s -port %d -rsigner %s -rkey %s -CA %s -ignore_err")
    :format(h.q(index), port, h.q(ca_cert), h.q(ca_key), h.q(ca_cert)), nil, log)
  for _ = 1, 200 do
    local f = io.open(s.log)
    local text = f and f:read("a") or ""
    if f then f:close() end
    if text:find("waiting for OCSP client connections", 1, true) then return s end
    h.run("sleep 0.05")
  end
  M.stop(s)
  error("openssl ocsp did not start on port " .. port .. ": " .. h.read(s.log))
end

return M
