/* fuzz_lua.c: one libFuzzer harness for every parser certbench exposes to Lua. A target is a
 * Lua file tests/fuzz/<target>.lua returning function(data); the harness picks it from
 * $CERTBENCH_FUZZ_TARGET (or -target=NAME, read here before libFuzzer sees argv; a NAME with
 * a '/' is the path of a target file, which tests/integration/fuzz_harness_spec.lua uses) and
 * calls it with each input. Going through Lua fuzzes the bindings too: the push/raise paths are
 * where leaks and double frees hide.
 *
 * A raise from the target is a finding: the targets call the API the way a plugin does, where a
 * bad input is a `nil, err` (the API's expected failure) and a raise is a programming error or
 * an invariant the target checks with assert/error. So the harness prints the message with its
 * traceback and aborts, which libFuzzer reports as a crash and saves the input.
 *
 * Coverage of the Lua code: liblua5.4 comes from Debian, built without
 * -fsanitize-coverage, so a target that runs mostly Lua (detect, ca_index, the plugins) gave
 * libFuzzer no feedback at all (`cov: 1`). A line hook turns each Lua line-to-line step (the
 * previous line and this one, AFL's edge hash) into a hit in an array of 8-bit counters that
 * the harness registers with libFuzzer like a module's own instrumentation
 * (__sanitizer_cov_8bit_counters_init + __sanitizer_cov_pcs_init, as Atheris does for Python).
 * New Lua edges then count as new coverage and their inputs are kept. CERTBENCH_FUZZ_LUACOV=0
 * turns the hook off (to compare). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cb.h"
#include "certbench.h"

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);
void __sanitizer_cov_pcs_init(const uintptr_t *pcs_beg, const uintptr_t *pcs_end);

static lua_State *L;
static int target_ref = LUA_NOREF;
static const char *target_name;

/* 64 Ki edges: the Lua of the biggest target (crl_check: the plugin, detect, the store
 * wrappers) has a few thousand lines, so collisions stay rare. */
#define LUACOV_SIZE (1u << 16)
static uint8_t luacov_counters[LUACOV_SIZE];
/* libFuzzer's PC table: one {pc, flags} pair per counter. The "pcs" are only distinct numbers
 * (libFuzzer counts distinct PCs for `cov:`); nothing symbolizes them unless -print_pcs=1. */
static uintptr_t luacov_pcs[LUACOV_SIZE * 2];
static uintptr_t luacov_prev;

static void luacov_hook(lua_State *co, lua_Debug *ar) {
  if (!lua_getinfo(co, "Sl", ar)) return;
  /* a function is its chunk's source string (interned once per loaded chunk, so the pointer is
   * stable while the module stays loaded) and the line where it is defined: closures made per
   * input share it, so they do not look new each time */
  uintptr_t here = (uintptr_t)ar->source * 31u + (uintptr_t)ar->linedefined * 65537u + (uintptr_t)ar->currentline;
  here ^= here >> 17;
  here *= 0xed5ad4bbu;
  here ^= here >> 11;
  uint8_t *c = &luacov_counters[(here ^ luacov_prev) & (LUACOV_SIZE - 1)];
  if (*c != 0xff) (*c)++;
  luacov_prev = here >> 1;
}

static void luacov_init(lua_State *l) {
  const char *on = getenv("CERTBENCH_FUZZ_LUACOV");
  if (on && !strcmp(on, "0")) return;
  for (size_t i = 0; i < LUACOV_SIZE; i++) {
    luacov_pcs[2 * i] = (uintptr_t)0x10000000u + i; /* distinct, and no real code address */
    luacov_pcs[2 * i + 1] = 0;
  }
  __sanitizer_cov_8bit_counters_init(luacov_counters, luacov_counters + LUACOV_SIZE);
  __sanitizer_cov_pcs_init(luacov_pcs, luacov_pcs + 2 * LUACOV_SIZE);
  /* coroutines made later inherit the hook (lua_newthread copies it) */
  lua_sethook(l, luacov_hook, LUA_MASKLINE, 0);
}

static int traceback(lua_State *l) {
  const char *msg = lua_tostring(l, 1);
  if (!msg) msg = luaL_tolstring(l, 1, NULL);
  luaL_traceback(l, l, msg, 1);
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *target = getenv("CERTBENCH_FUZZ_TARGET");
  for (int i = 1; i < *argc; i++)
    if (!strncmp((*argv)[i], "-target=", 8)) target = (*argv)[i] + 8;
  if (!target) {
    fprintf(stderr, "fuzz_lua: set CERTBENCH_FUZZ_TARGET or pass -target=NAME\n");
    exit(2);
  }
  target_name = target;
  const char *src = getenv("CERTBENCH_SRC");
  static char home[4096];
  if (!getenv("CERTBENCH_HOME")) {
    snprintf(home, sizeof home, "CERTBENCH_HOME=%s", src ? src : ".");
    putenv(home);
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  luacov_init(L);
  luaL_requiref(L, "certbench", luaopen_certbench, 0);
  lua_pop(L, 1);
  char file[4096];
  if (strchr(target, '/'))
    snprintf(file, sizeof file, "%s", target);
  else
    snprintf(file, sizeof file, "%s/tests/fuzz/%s.lua", src ? src : ".", target);
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, file) != LUA_OK || lua_pcall(L, 0, 1, -2) != LUA_OK || !lua_isfunction(L, -1)) {
    fprintf(stderr, "fuzz_lua: %s: %s\n", file, lua_isfunction(L, -1) ? "no function" : lua_tostring(L, -1));
    exit(2);
  }
  target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  int top = lua_gettop(L);
  luacov_prev = 0;
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, target_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, top + 1) != LUA_OK) {
    /* the message first, on one line of its own, then libFuzzer's "deadly signal" report and
     * the crash file with the input */
    fprintf(stderr, "fuzz_lua: target %s raised: %s\n", target_name, lua_tostring(L, -1));
    fflush(stderr);
    abort();
  }
  lua_settop(L, top);
  /* collect every input's garbage now, so a __gc bug shows on the input that caused it */
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
