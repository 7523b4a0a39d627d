/* fuzz_lua.c: one libFuzzer harness for every parser certbench exposes to Lua. A target is a
 * Lua file tests/fuzz/<target>.lua returning function(data); the harness picks it from
 * $CERTBENCH_FUZZ_TARGET (or -target=NAME, read here before libFuzzer sees argv) and calls it
 * with each input. Going through Lua fuzzes the bindings too: the push/raise paths are where
 * leaks and double frees hide. A raise from the target is fine (it is the API's error path);
 * a crash, a leak or UB is a finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cb.h"
#include "modules.h"

static lua_State *L;
static int target_ref = LUA_NOREF;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *target = getenv("CERTBENCH_FUZZ_TARGET");
  for (int i = 1; i < *argc; i++)
    if (!strncmp((*argv)[i], "-target=", 8)) target = (*argv)[i] + 8;
  if (!target) {
    fprintf(stderr, "fuzz_lua: set CERTBENCH_FUZZ_TARGET or pass -target=NAME\n");
    exit(2);
  }
  const char *src = getenv("CERTBENCH_SRC");
  static char home[4096];
  if (!getenv("CERTBENCH_HOME")) {
    snprintf(home, sizeof home, "CERTBENCH_HOME=%s", src ? src : ".");
    putenv(home);
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "certbench", luaopen_certbench, 0);
  lua_pop(L, 1);
  char file[4096];
  snprintf(file, sizeof file, "%s/tests/fuzz/%s.lua", src ? src : ".", target);
  if (luaL_dofile(L, file) != LUA_OK || !lua_isfunction(L, -1)) {
    fprintf(stderr, "fuzz_lua: %s: %s\n", file, lua_tostring(L, -1));
    exit(2);
  }
  target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, target_ref);
  lua_pushlstring(L, (const char *)data, size);
  (void)lua_pcall(L, 1, 0, 0);
  lua_settop(L, top);
  /* collect every input's garbage now, so a __gc bug shows on the input that caused it */
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
