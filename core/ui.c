/* ui.c: `_certbench.ui`, the little the terminal side needs from C. */
#include <sys/ioctl.h>
#include <unistd.h>

#include "cb.h"

/* ui.isatty(fd) -> boolean */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* ui.width(fd) -> columns of the terminal on fd, or 80 */
static int l_width(lua_State *L) {
  struct winsize ws;
  int fd = (int)luaL_optinteger(L, 1, 2);
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) lua_pushinteger(L, ws.ws_col);
  else lua_pushinteger(L, 80);
  return 1;
}

int luaopen__certbench_ui(lua_State *L) {
  static const luaL_Reg fns[] = {{"isatty", l_isatty}, {"width", l_width}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
