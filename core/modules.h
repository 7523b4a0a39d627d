/* modules.h: the root module of certbench. The C modules, each in its own file core/<name>.c
 * with luaopen__certbench_<name>, are listed by CB_MODULES in the generated modules.inc
 * (core/gen-objects, from the compile lines of core/objects.ninja): adding a module is its
 * compile line there, nothing here.
 * The other C files of core/ are internal helpers with no Lua module of their own: cb (errors,
 * options, faults), objects (the shared userdata boxes), pem, pbe, par (the thread pool of
 * batches), crlengine (the CRL parser), ext (X.509 extensions), main and certbench (the program
 * and the root module). A Lua file of core/ whose header says "(internal)" is not API either. */
#ifndef CERTBENCH_MODULES_H
#define CERTBENCH_MODULES_H
#include <lua.h>

/* Every module a script may require as `certbench.<name>` (core/<name>.lua) and every built-in
 * plugin (`certbench.plugins.<name>`), each with an entry point luaopen_certbench_<name> (or
 * luaopen_certbench_plugins_<name>) in certbench.so: Lua's all-in-one loader finds it there,
 * so a stock lua5.4 with build/ on package.cpath can require any of them first.
 * spec/docs_spec.lua requires each in lua5.4, and fails when a module or plugin is missing
 * from these lists. */
#define CB_LUA_MODULES(X) \
  X(archive) X(crl) X(csr) X(detect) X(digest) X(fs) X(http) X(input) X(lint) X(loop) X(name) \
  X(ocsp) X(outputs) X(pem) X(pkcs12) X(pkcs7) X(pkey) X(plugins) X(rand) X(secret) X(store) X(tls) \
  X(ui) X(x509)
#define CB_BUILTIN_PLUGINS(X) X(ca) X(convert) X(crl) X(ocsp) X(pfx) X(show) X(vcs)

int luaopen_certbench(lua_State *L);

#endif
