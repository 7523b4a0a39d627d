/* certbench.h: the root module of certbench (core/certbench.c). The C modules, each in its own
 * file core/<name>.c with luaopen__certbench_<name> and its Lua wrapper core/<name>.lua, are
 * listed by CB_MODULES in the generated modules.inc (core/gen-objects, from the compile lines of
 * core/objects.ninja): adding a module is its compile line there, nothing here.
 * The internal helpers, with no Lua module of their own, are in core/lib/: cb (errors, options,
 * faults), objects (the shared userdata boxes), pbe, par (the thread pool of batches), crlengine
 * (the CRL parser), crlscan (a CRL checked from its file without holding it), ext (X.509 extensions), bytecode (the embedded Lua code), dynlib (libcurl and
 * libzip opened on first use), info (`_certbench.info`, the versions, for the core's Lua only),
 * and the Lua files whose header says "(internal)" (cli, docs, options, extopts...), which are
 * not API. core/main.c is the program. */
#ifndef CERTBENCH_CERTBENCH_H
#define CERTBENCH_CERTBENCH_H
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
