/* info.c: `_certbench.info`, versions of certbench and of the libraries it runs on.
 * libcurl and libzip are opened only when a command needs them (core/lib/dynlib.h), so their
 * versions here are those of the headers certbench was built with; `certbench version
 * --verbose` opens them and asks (http.info(), archive.libzip_version()). */
#include <string.h>

#include <curl/curl.h>
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <uv.h>
#include <zip.h>

#include "bytecode.h"
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

/* loadfile(path) -> chunk | nil, err: loadfile for certbench's own Lua files, from the
 * embedded bytecode when it is there and not stale (core/lib/bytecode.h), else from the file. */
static int l_loadfile(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (cb_bytecode_loadfile(L, path) == LUA_OK) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* embedded(path) -> true when the Lua file at path is embedded (it needs no file on disk) */
static int l_embedded(lua_State *L) {
  lua_pushboolean(L, cb_bytecode_find(luaL_checkstring(L, 1)) != NULL);
  return 1;
}

/* embedded_plugins() -> { name, ... }: the built-in plugins embedded (plugins/NAME/init.lua) */
static int l_embedded_plugins(lua_State *L) {
  lua_newtable(L);
  lua_Integer n = 0;
  for (const cb_bytecode_entry *e = cb_bytecode_entries; e->path; e++) {
    const char *p = e->path;
    if (strncmp(p, "plugins/", 8) != 0) continue;
    const char *slash = strchr(p + 8, '/');
    if (!slash || strcmp(slash, "/init.lua") != 0) continue;
    lua_pushlstring(L, p + 8, (size_t)(slash - (p + 8)));
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

int luaopen__certbench_info(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"versions", l_versions}, {"is_boringssl", l_is_boringssl}, {"loadfile", l_loadfile},
      {"embedded", l_embedded}, {"embedded_plugins", l_embedded_plugins}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushstring(L, CB_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
