/* certbench.c: the root module `certbench`, shared by the program and by build/certbench.so
 * (so a stock lua5.4 can `require "certbench"`). It makes the C modules requirable as
 * `_certbench.<name>` and the Lua modules of the core as `certbench.<name>` (core/<name>.lua, or
 * core/lib/<name>.lua for the internal ones),
 * then runs core/certbench.lua, whose table it returns. The luaopen_certbench_<name> entry
 * points at the end let a stock lua5.4 require any module (or built-in plugin) first. */
#include <stdio.h>
#include <string.h>

#include "bytecode.h"
#include "cb.h"
#include "certbench.h"
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

/* core_file(L, name, dir): pushes ROOT/core/DIR<x>.lua for "certbench.<x>" (dots in x are
 * sub-folders) and returns it when the file is embedded or exists, else NULL (the path is
 * still pushed, for the "no file" message) */
static const char *core_file(lua_State *L, const char *name, const char *dir) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, cb_root_dir());
  luaL_addstring(&b, "/core/");
  luaL_addstring(&b, dir);
  for (const char *p = name + 10; *p; p++) luaL_addchar(&b, *p == '.' ? '/' : *p);
  luaL_addstring(&b, ".lua");
  luaL_pushresult(&b);
  const char *file = lua_tostring(L, -1);
  if (cb_bytecode_find(file)) return file; /* embedded modules need no file (an installed program) */
  FILE *f = fopen(file, "r");
  if (!f) return NULL;
  fclose(f);
  return file;
}

/* The searcher for "certbench.<x>": core/<x>.lua (a module of the API), else core/lib/<x>.lua
 * (an internal one: cli, docs, options...), where x may contain dots for sub-folders;
 * "certbench.plugins.*" is left to the plugin searcher of core/plugins.lua. core/lib/ is not a
 * module name of its own: "certbench.lib.<x>" would load a second copy of certbench.<x>. */
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
  if (strncmp(name, "certbench.lib.", 14) == 0) {
    lua_pushfstring(L, "no module '%s' (the internal modules of core/lib/ are required as "
                       "'certbench.%s')", name, name + 14);
    return 1;
  }
  const char *file = core_file(L, name, "");
  if (!file) {
    const char *api = lua_tostring(L, -1);
    file = core_file(L, name, "lib/");
    if (!file) {
      lua_pushfstring(L, "no file '%s'\n\tno file '%s'", api, lua_tostring(L, -1));
      return 1;
    }
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

/* open_named(L): the entry point of `certbench.<x>` for Lua's all-in-one loader, which calls
 * it with the module's name. `require "certbench"` installs the searchers (and, for a plugin,
 * `require "certbench.plugins"` its own), then require finds the module the usual way; Lua 5.4's
 * require keeps no "loading" mark, so asking again for the name being loaded is allowed. */
static int open_named(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "certbench");
  lua_call(L, 1, 0);
  if (strncmp(name, "certbench.plugins.", 18) == 0) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "certbench.plugins");
    lua_call(L, 1, 0);
  }
  lua_getglobal(L, "require");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

#define CB_OPEN(n) \
  int luaopen_certbench_##n(lua_State *L); \
  int luaopen_certbench_##n(lua_State *L) { return open_named(L); }
CB_LUA_MODULES(CB_OPEN)
#undef CB_OPEN
#define CB_OPEN_PLUGIN(n) \
  int luaopen_certbench_plugins_##n(lua_State *L); \
  int luaopen_certbench_plugins_##n(lua_State *L) { return open_named(L); }
CB_BUILTIN_PLUGINS(CB_OPEN_PLUGIN)
#undef CB_OPEN_PLUGIN
