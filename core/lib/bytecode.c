/* bytecode.c: loading the embedded bytecode, with the stale check (see bytecode.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "bytecode.h"
#include "cb.h"

const cb_bytecode_entry *cb_bytecode_find(const char *path) {
  const char *rel = path;
  if (path[0] == '/') {
    const char *root = cb_root_dir();
    size_t n = strlen(root);
    if (strncmp(path, root, n) == 0 && path[n] == '/') rel = path + n + 1;
  }
  for (const cb_bytecode_entry *e = cb_bytecode_entries; e->path; e++)
    if (strcmp(e->path, rel) == 0 || strcmp(e->path, path) == 0) return e;
  return NULL;
}

/* fresh: the source at path is gone, or has the stamps the bytecode was made from */
static int fresh(const cb_bytecode_entry *e, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return errno == ENOENT || errno == ENOTDIR;
  return (long long)st.st_size == e->src_size && (long long)st.st_mtim.tv_sec == e->src_mtime_sec &&
         (long long)st.st_mtim.tv_nsec == e->src_mtime_nsec;
}

int cb_bytecode_loadfile(lua_State *L, const char *path) {
  const cb_bytecode_entry *e = cb_bytecode_find(path);
  if (!e || !fresh(e, path)) return luaL_loadfilex(L, path, "t");
  lua_pushfstring(L, "@%s", path);
  int st = luaL_loadbufferx(L, (const char *)e->code, e->len, lua_tostring(L, -1), "b");
  lua_remove(L, -2);
  return st;
}
