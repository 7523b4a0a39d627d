/* certbench.c: the root module `certbench`, shared by the program and by build/certbench.so
 * (so a stock lua5.4 can `require "certbench"`). It makes the C modules requirable as
 * `_certbench.<name>` and the Lua modules of the core as `certbench.<name>` (core/<name>.lua),
 * then runs core/certbench.lua, whose table it returns. */
#include <stdio.h>
#include <string.h>

#include "bytecode.h"
#include "cb.h"
#include "modules.h"
#include "modules.inc" /* CB_MODULES, made by core/gen-objects */

static const luaL_Reg c_modules[] = {
#define CB_ENTRY(n) {"_certbench." #n, luaopen__certbench_##n},
    CB_MODULES(CB_ENTRY)
#undef CB_ENTRY
    {NULL, NULL}};

/* search_library: a Lua library embedded by its absolute path (argparse) is taken from the
 * bytecode when package.path finds exactly that file, unchanged; anything else is left to
 * the standard searchers. */
static int search_library(lua_State *L, const char *name) {
  char suffix[256];
  int n = snprintf(suffix, sizeof suffix, "/%s.lua", name);
  if (n < 0 || (size_t)n >= sizeof suffix) return 0;
  for (char *p = suffix + 1; *p; p++)
    if (*p == '.' && p < suffix + n - 4) *p = '/';
  const cb_bytecode_entry *e;
  for (e = cb_bytecode_entries; e->path; e++) {
    size_t len = strlen(e->path);
    if (e->path[0] == '/' && len >= (size_t)n && strcmp(e->path + len - n, suffix) == 0) break;
  }
  if (!e->path) return 0;
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushstring(L, name);
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 1);
  const char *file = lua_tostring(L, -1);
  if (!file || strcmp(file, e->path) != 0) {
    lua_pop(L, 2);
    return 0;
  }
  if (cb_bytecode_loadfile(L, file) != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                      lua_tostring(L, -1));
  lua_pushvalue(L, -2);
  return 2;
}

/* The searcher for "certbench.<x>": core/<x>.lua, where x may contain dots for
 * sub-folders; "certbench.plugins.*" is left to the plugin searcher of core/plugins.lua. */
static int search_core(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strncmp(name, "certbench.", 10) != 0) {
    int found = search_library(L, name);
    if (found) return found;
    lua_pushnil(L);
    return 1;
  }
  if (strncmp(name, "certbench.plugins.", 18) == 0) {
    /* core/plugins.lua installs its own searcher when it loads; a script may require a
     * plugin before anything loaded it (the command line loads it only when needed) */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "certbench.plugins");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "searcher");
    lua_pushstring(L, name);
    lua_call(L, 1, 2);
    return 2;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, cb_root_dir());
  luaL_addstring(&b, "/core/");
  for (const char *p = name + 10; *p; p++) luaL_addchar(&b, *p == '.' ? '/' : *p);
  luaL_addstring(&b, ".lua");
  luaL_pushresult(&b);
  const char *file = lua_tostring(L, -1);
  if (!cb_bytecode_find(file)) { /* embedded modules need no file (an installed program) */
    FILE *f = fopen(file, "r");
    if (!f) {
      lua_pushfstring(L, "no file '%s'", file);
      return 1;
    }
    fclose(f);
  }
  if (cb_bytecode_loadfile(L, file) != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                      lua_tostring(L, -1));
  lua_pushvalue(L, -2); /* the file name, passed to the chunk as its second argument */
  return 2;
}

int luaopen_certbench(lua_State *L) {
  /* package.preload for the C modules */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = c_modules; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);

  /* our searcher goes second, right after preload, so a stray certbench/x.lua on
   * package.path can never shadow the core */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_Integer n = luaL_len(L, -1);
  int present = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    if (lua_tocfunction(L, -1) == search_core) present = 1;
    lua_pop(L, 1);
  }
  if (!present) {
    for (lua_Integer i = n; i >= 2; i--) {
      lua_geti(L, -1, i);
      lua_seti(L, -2, i + 1);
    }
    lua_pushcfunction(L, search_core);
    lua_seti(L, -2, 2);
  }
  lua_pop(L, 2);

  char file[4096];
  snprintf(file, sizeof file, "%s/core/certbench.lua", cb_root_dir());
  if (cb_bytecode_loadfile(L, file) != LUA_OK)
    return luaL_error(L, "certbench: cannot load the core (%s); set CERTBENCH_HOME to the "
                         "folder holding core/ and plugins/", lua_tostring(L, -1));
  lua_pushstring(L, cb_root_dir());
  lua_call(L, 1, 1);
  return 1;
}
