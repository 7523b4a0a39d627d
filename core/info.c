/* info.c: `_certbench.info`, versions of certbench and of the libraries it runs on.
 * libcurl and libzip are opened only when a command needs them (core/dynlib.h), so their
 * versions here are those of the headers certbench was built with; `certbench version
 * --verbose` opens them and asks (http.info(), archive.libzip_version()). */
#include <string.h>

#include <curl/curl.h>
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <uv.h>
#include <zip.h>

#include "cb.h"

static int l_versions(lua_State *L) {
  lua_createtable(L, 0, 8);
  lua_pushstring(L, CB_VERSION);
  lua_setfield(L, -2, "certbench");
  lua_pushstring(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua");
  lua_pushfstring(L, "%s (API %d)", OpenSSL_version(OPENSSL_VERSION), BORINGSSL_API_VERSION);
  lua_setfield(L, -2, "boringssl");
  lua_pushstring(L, uv_version_string());
  lua_setfield(L, -2, "libuv");
  lua_pushstring(L, LIBCURL_VERSION);
  lua_setfield(L, -2, "libcurl");
  /* the flavour core/http.c opens, libcurl-gnutls.so.4 */
  lua_pushstring(L, "GnuTLS");
  lua_setfield(L, -2, "libcurl_tls");
  lua_pushstring(L, LIBZIP_VERSION);
  lua_setfield(L, -2, "libzip");
  return 1;
}

/* is_boringssl tells, at run time, that the crypto symbols this module calls are BoringSSL's:
 * OpenSSL 3's OpenSSL_version() returns "OpenSSL 3.x", BoringSSL's returns "BoringSSL". */
static int l_is_boringssl(lua_State *L) {
  lua_pushboolean(L, strcmp(OpenSSL_version(OPENSSL_VERSION), "BoringSSL") == 0);
  return 1;
}

int luaopen__certbench_info(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"versions", l_versions}, {"is_boringssl", l_is_boringssl}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushstring(L, CB_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
