/* modules.h: the C modules of certbench, each in its own file core/<name>.c with
 * luaopen__certbench_<name>. Adding a module: a line here and two in core/objects.ninja. */
#ifndef CERTBENCH_MODULES_H
#define CERTBENCH_MODULES_H
#include <lua.h>

#define CB_MODULES(X) \
  X(info) \
  X(fs) \
  X(secret) \
  X(ui) \
  X(digest) \
  X(rand) \
  X(pkey) \
  X(archive) \
  X(loop) \
  X(http) \
  X(name) \
  X(x509) \
  X(csr) \
  X(pkcs12) \
  X(pkcs7) \
  X(crl) \
  X(store) \
  X(ocsp) \
  X(tls) \
  X(pem)

#define CB_DECLARE(n) int luaopen__certbench_##n(lua_State *L);
CB_MODULES(CB_DECLARE)
#undef CB_DECLARE

int luaopen_certbench(lua_State *L);

#endif
