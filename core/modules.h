/* modules.h: the root module of certbench. The C modules, each in its own file core/<name>.c
 * with luaopen__certbench_<name>, are listed by CB_MODULES in the generated modules.inc
 * (core/gen-objects, from the compile lines of core/objects.ninja): adding a module is its
 * compile line there, nothing here. */
#ifndef CERTBENCH_MODULES_H
#define CERTBENCH_MODULES_H
#include <lua.h>

int luaopen_certbench(lua_State *L);

#endif
