/* main.c: the certbench program. Creates a Lua state, loads the core (certbench.c) and hands
 * the command line to core/lib/cli.lua, which does all dispatching; what reaches this file is
 * only a failure to start or a bug, reported in one line (a traceback with --verbose). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cb.h"
#include "certbench.h"

static int message_handler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  luaL_openlibs(L);
  luaL_requiref(L, "certbench", luaopen_certbench, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "certbench.cli");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc, 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_call(L, 1, 1);
  return 1;
}

int main(int argc, char **argv) {
  static char self[PATH_MAX];
  if (realpath("/proc/self/exe", self)) cb_program_path = self;
  int verbose = 0;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = 1;

  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "certbench: out of memory\n");
    return 1;
  }
  lua_pushcfunction(L, message_handler);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 1);
  int code = 0;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(no message)";
    if (verbose) {
      fprintf(stderr, "certbench: internal error: %s\n", msg);
    } else {
      const char *nl = strchr(msg, '\n');
      fprintf(stderr, "certbench: internal error: %.*s (run with --verbose for a traceback)\n",
              nl ? (int)(nl - msg) : (int)strlen(msg), msg);
    }
    code = 1;
  } else {
    code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  }
  fflush(stdout);
  lua_close(L);
  return code;
}
