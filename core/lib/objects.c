/* objects.c: the userdata boxes of the shared crypto types (see objects.h). */
#include "objects.h"

#include <string.h>

/* new_box(size, metatable name as a light userdata): a zeroed userdata with that metatable.
 * Run under lua_pcall by cb_push_*, so that a memory error while making the box comes back
 * to the caller, who still owns the object and frees it before raising again.
 * CERTBENCH_FAULT=objects.box makes every box fail as an allocation would, so that path runs
 * in tests (spec/objects_box_spec.lua, under LeakSanitizer with --asan-only). */
static int new_box(lua_State *L) {
  static int fault = -1; /* the Lua thread only: $CERTBENCH_FAULT read once */
  if (fault < 0) fault = cb_fault_set("objects.box");
  if (fault) return luaL_error(L, "not enough memory (CERTBENCH_FAULT=objects.box)");
  size_t size = (size_t)lua_tointeger(L, 1);
  const char *mt = lua_touserdata(L, 2);
  void *b = lua_newuserdatauv(L, size, 1);
  memset(b, 0, size);
  luaL_setmetatable(L, mt);
  return 1;
}

#define DEFINE_BOX(type, MT, ctype, freefn, label)                                   \
  static int type##_gc(lua_State *L) {                                               \
    cb_##type *b = luaL_checkudata(L, 1, MT);                                        \
    if (b->p) {                                                                      \
      freefn(b->p);                                                                  \
      b->p = NULL;                                                                   \
    }                                                                                \
    return 0;                                                                        \
  }                                                                                  \
  void cb_push_##type(lua_State *L, ctype *owned) {                                  \
    /* the box is made under a protected call (pushing a light C function, an      \
     * integer and a light userdata allocates nothing): if that raises, owned is     \
     * freed here and the error raised again, so nothing leaks */                    \
    lua_pushcfunction(L, new_box);                                                   \
    lua_pushinteger(L, (lua_Integer)sizeof(cb_##type));                              \
    lua_pushlightuserdata(L, (void *)(MT));                                          \
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {                                           \
      freefn(owned);                                                                 \
      lua_error(L);                                                                  \
    }                                                                                \
    cb_##type *b = lua_touserdata(L, -1);                                            \
    b->p = owned;                                                                    \
  }                                                                                  \
  ctype *cb_check_##type(lua_State *L, int idx) {                                    \
    cb_##type *b = luaL_checkudata(L, idx, MT);                                      \
    if (!b->p) luaL_argerror(L, idx, "attempt to use a closed " label);              \
    return b->p;                                                                     \
  }

DEFINE_BOX(pkey, CB_PKEY_MT, EVP_PKEY, EVP_PKEY_free, "key")
DEFINE_BOX(x509, CB_X509_MT, X509, X509_free, "certificate")
DEFINE_BOX(csr, CB_CSR_MT, X509_REQ, X509_REQ_free, "request")
DEFINE_BOX(name, CB_NAME_MT, X509_NAME, X509_NAME_free, "name")

EVP_PKEY *cb_test_pkey(lua_State *L, int idx) {
  cb_pkey *b = luaL_testudata(L, idx, CB_PKEY_MT);
  return b ? b->p : NULL;
}
X509 *cb_test_x509(lua_State *L, int idx) {
  cb_x509 *b = luaL_testudata(L, idx, CB_X509_MT);
  return b ? b->p : NULL;
}
X509_REQ *cb_test_csr(lua_State *L, int idx) {
  cb_csr *b = luaL_testudata(L, idx, CB_CSR_MT);
  return b ? b->p : NULL;
}

static int closed_tostring(lua_State *L) {
  const char *name = NULL;
  if (lua_getmetatable(L, 1)) {
    lua_getfield(L, -1, "__name");
    name = lua_tostring(L, -1);
  }
  lua_pushfstring(L, "%s: %p", name ? name : "object", lua_topointer(L, 1));
  return 1;
}

static void ensure_class(lua_State *L, const char *tname, lua_CFunction gc) {
  if (luaL_newmetatable(L, tname)) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, closed_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

void cb_objects_init(lua_State *L) {
  ensure_class(L, CB_PKEY_MT, pkey_gc);
  ensure_class(L, CB_X509_MT, x509_gc);
  ensure_class(L, CB_CSR_MT, csr_gc);
  ensure_class(L, CB_NAME_MT, name_gc);
}

void cb_add_methods(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *metas) {
  cb_objects_init(L);
  luaL_getmetatable(L, tname);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    luaL_newmetatable(L, tname);
    lua_newtable(L);
    lua_setfield(L, -2, "__index");
  }
  if (metas) luaL_setfuncs(L, metas, 0);
  if (methods) {
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
