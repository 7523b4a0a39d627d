/* bytecode.h: the Lua code of certbench (the .lua files of core/, of the built-in plugins and argparse) compiled
 * at build time by tools/luapack.c and embedded in the program and in certbench.so, so a
 * command does not spend its start compiling source (47% of a `ca issue` did).
 *
 * Sources stay the truth: each entry carries the size and modification time of the source it
 * was compiled from (the stamps ninja decides on). When that source file is there and differs
 * (edited since the last `ninja`), the source is loaded instead, so stale bytecode can never
 * run; when it is absent (an installed program, the source tree gone), the bytecode is used. */
#ifndef CERTBENCH_BYTECODE_H
#define CERTBENCH_BYTECODE_H

#include <stddef.h>
#include <lua.h>

typedef struct {
  const char *path;          /* relative to the root ("core/lib/cli.lua"), or absolute ("/usr/...") */
  const unsigned char *code; /* lua_dump output */
  size_t len;
  long long src_size, src_mtime_sec, src_mtime_nsec; /* the source's stamps at build time */
} cb_bytecode_entry;

/* generated: build/gen/luablob.c, ends with an entry whose path is NULL */
extern const cb_bytecode_entry cb_bytecode_entries[];

/* cb_bytecode_find returns the entry for the Lua file at path (absolute, or under the root of
 * cb_root_dir()), or NULL when it is not embedded. */
const cb_bytecode_entry *cb_bytecode_find(const char *path);

/* cb_bytecode_loadfile is luaL_loadfilex(L, path, NULL) that takes the embedded bytecode when
 * there is an entry for path and its source is absent or unchanged. Chunk names are "@path"
 * either way, so messages and tracebacks read the same. */
int cb_bytecode_loadfile(lua_State *L, const char *path);

#endif
