/* luapack.c: a build tool, not part of the program. Compiles the Lua code certbench embeds
 * (core/lib/bytecode.h) with the liblua the program links, so the bytecode format always matches:
 *   luapack ROOT OUT.c DEPFILE
 * takes the .lua files of ROOT/core/, ROOT/core/lib/ and ROOT/plugins/NAME/, and argparse (from package.path), writes OUT.c
 * (the cb_bytecode_entries table) and a depfile naming every file and folder it read, so that
 * ninja runs it again when one changes or a file is added.
 *
 * Debug information is kept (not `luac -s`) but for the names of local variables: error
 * positions and --verbose tracebacks name file and line as with source. The local names are
 * dropped (drop_locals) because loading them was most of the cost of loading the bytecode: each
 * is a string the loader interns; the 23 files a `ca issue` loads took 2.4 ms to undump with
 * them, 0.33 ms fully stripped (a lua5.4 loop over string.dump of those files, 2026-12-06), and
 * their only use is the "(local 'x')" in the message of a runtime error on a local, a bug's
 * message, never a user's. Upvalue names stay: "global 'x'" in messages depends on them.
 * Chunk names are "@ROOT/path" as luaL_loadfile would give; cb_bytecode_loadfile gives the
 * runtime path. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef struct {
  char **v;
  size_t n, cap;
} list;

static void add(list *l, const char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v) exit(1);
  }
  l->v[l->n++] = strdup(s);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the .lua files of dir (relative to root), sorted; subfolders into subs when given */
static void scan(const char *root, const char *dir, list *files, list *subs, list *deps) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", root, dir);
  add(deps, p);
  DIR *d = opendir(p);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char rel[2048];
    snprintf(rel, sizeof rel, "%s/%s", dir, de->d_name);
    size_t n = strlen(de->d_name);
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    if (stat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (subs) add(subs, rel);
    } else if (n > 4 && !strcmp(de->d_name + n - 4, ".lua")) {
      add(files, rel);
    }
  }
  closedir(d);
}

typedef struct {
  unsigned char *v;
  size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t sz) {
  if (b->n + sz > b->cap) {
    while (b->n + sz > b->cap) b->cap = b->cap ? b->cap * 2 : 65536;
    b->v = realloc(b->v, b->cap);
    if (!b->v) exit(1);
  }
  memcpy(b->v + b->n, p, sz);
  b->n += sz;
}

static int writer(lua_State *L, const void *p, size_t sz, void *ud) {
  (void)L;
  put(ud, p, sz);
  return 0;
}

/* drop_locals: a reader of the dump format of Lua 5.4 (ldump.c) that copies a dump with the
 * local variable names of every function left out (their count written as 0); everything else
 * is copied byte for byte. in/at/len: the dump and the read position; 0 when it does not parse. */
typedef struct {
  const unsigned char *v;
  size_t at, len;
  int bad;
} rd;

static const unsigned char *take(rd *r, size_t sz) {
  if (r->bad || r->len - r->at < sz) {
    r->bad = 1;
    static const unsigned char zero[64];
    return zero;
  }
  const unsigned char *p = r->v + r->at;
  r->at += sz;
  return p;
}

/* a size (dumpSize: 7 bits a byte, most significant first, the last byte marked 0x80) */
static size_t rsize(rd *r, buf *out) {
  size_t x = 0;
  unsigned b;
  do {
    b = *take(r, 1);
    if (out) put(out, &b, 1);
    x = (x << 7) | (b & 0x7f);
  } while (!(b & 0x80) && !r->bad);
  return x;
}

static void rstring(rd *r, buf *out) {
  size_t n = rsize(r, out);
  if (n > 0) {
    const unsigned char *p = take(r, n - 1);
    if (out) put(out, p, n - 1);
  }
}

static void rfunction(rd *r, buf *out) {
  rstring(r, out);                 /* source */
  rsize(r, out);                   /* linedefined */
  rsize(r, out);                   /* lastlinedefined */
  put(out, take(r, 3), 3);         /* numparams, is_vararg, maxstacksize */
  size_t n = rsize(r, out);        /* code */
  put(out, take(r, n * 4), n * 4);
  n = rsize(r, out);               /* constants */
  for (size_t i = 0; i < n && !r->bad; i++) {
    unsigned char tt = *take(r, 1);
    put(out, &tt, 1);
    if (tt == 0x13 || tt == 0x03) put(out, take(r, 8), 8);   /* float, integer */
    else if (tt == 0x04 || tt == 0x14) rstring(r, out);      /* short, long string */
    else if (tt != 0x00 && tt != 0x01 && tt != 0x11) r->bad = 1;
  }
  n = rsize(r, out);               /* upvalues: instack, idx, kind */
  put(out, take(r, n * 3), n * 3);
  n = rsize(r, out);               /* nested functions */
  for (size_t i = 0; i < n && !r->bad; i++) rfunction(r, out);
  n = rsize(r, out);               /* lineinfo */
  put(out, take(r, n), n);
  n = rsize(r, out);               /* abslineinfo: pc, line */
  for (size_t i = 0; i < n && !r->bad; i++) {
    rsize(r, out);
    rsize(r, out);
  }
  n = rsize(r, NULL);              /* locvars: name, startpc, endpc: left out */
  for (size_t i = 0; i < n && !r->bad; i++) {
    rstring(r, NULL);
    rsize(r, NULL);
    rsize(r, NULL);
  }
  unsigned char zero = 0x80;       /* a size of 0 */
  put(out, &zero, 1);
  n = rsize(r, out);               /* upvalue names */
  for (size_t i = 0; i < n && !r->bad; i++) rstring(r, out);
}

static int drop_locals(const buf *in, buf *out) {
  /* header: signature, version, format, LUAC_DATA, 3 sizes, LUAC_INT, LUAC_NUM; upvalue count */
  rd r = {in->v, 0, in->n, 0};
  if (in->n < 32 || in->v[4] != 0x54 || in->v[13] != 8 || in->v[14] != 8) return 0;
  put(out, take(&r, 32), 32);
  rfunction(&r, out);
  return !r.bad && r.at == r.len;
}

static void emit_bytes(FILE *out, const buf *b) {
  for (size_t i = 0; i < b->n; i++) fprintf(out, "%u,%s", b->v[i], (i % 24 == 23) ? "\n" : "");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: luapack ROOT OUT.c DEPFILE\n");
    return 2;
  }
  const char *root = argv[1];
  list files = {0}, subs = {0}, deps = {0};
  scan(root, "core", &files, NULL, &deps);
  scan(root, "core/lib", &files, NULL, &deps);
  scan(root, "plugins", &files, &subs, &deps);
  qsort(subs.v, subs.n, sizeof *subs.v, cmp);
  for (size_t i = 0; i < subs.n; i++) scan(root, subs.v[i], &files, NULL, &deps);
  qsort(files.v, files.n, sizeof *files.v, cmp);

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  /* argparse: where a stock lua5.4 finds it; recorded by absolute path */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushliteral(L, "argparse");
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 1);
  if (lua_isstring(L, -1)) add(&files, lua_tostring(L, -1));
  lua_settop(L, 0);

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    perror(tmp);
    return 1;
  }
  fprintf(out, "/* generated by tools/luapack.c from %zu Lua files: do not edit */\n"
               "#include \"bytecode.h\"\n\n", files.n);
  for (size_t i = 0; i < files.n; i++) {
    char path[4096];
    if (files.v[i][0] == '/') snprintf(path, sizeof path, "%s", files.v[i]);
    else snprintf(path, sizeof path, "%s/%s", root, files.v[i]);
    add(&deps, path);
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
      fprintf(stderr, "luapack: %s\n", lua_tostring(L, -1));
      fclose(out);
      remove(tmp);
      return 1;
    }
    buf full = {0}, slim = {0};
    lua_dump(L, writer, &full, 0);
    /* the result must load (a dump format this reader does not know fails the build) */
    if (!drop_locals(&full, &slim) ||
        luaL_loadbufferx(L, (const char *)slim.v, slim.n, path, "b") != LUA_OK) {
      fprintf(stderr, "luapack: %s: the bytecode without local names does not load (%s)\n", path,
              lua_isstring(L, -1) ? lua_tostring(L, -1) : "a dump format luapack does not know");
      fclose(out);
      remove(tmp);
      return 1;
    }
    fprintf(out, "static const unsigned char b%zu[] = {\n", i);
    emit_bytes(out, &slim);
    fprintf(out, "};\n");
    free(full.v);
    free(slim.v);
    lua_settop(L, 0);
  }
  fprintf(out, "\nconst cb_bytecode_entry cb_bytecode_entries[] = {\n");
  for (size_t i = 0; i < files.n; i++) {
    char path[4096];
    if (files.v[i][0] == '/') snprintf(path, sizeof path, "%s", files.v[i]);
    else snprintf(path, sizeof path, "%s/%s", root, files.v[i]);
    struct stat st;
    if (stat(path, &st) != 0) {
      perror(path);
      return 1;
    }
    fprintf(out, "  {\"%s\", b%zu, sizeof b%zu, %lld, %lld, %lld},\n", files.v[i], i, i,
            (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec);
  }
  fprintf(out, "  {0, 0, 0, 0, 0, 0}};\n");
  if (fclose(out) != 0 || rename(tmp, argv[2]) != 0) {
    perror(argv[2]);
    return 1;
  }
  FILE *d = fopen(argv[3], "w");
  if (!d) {
    perror(argv[3]);
    return 1;
  }
  fprintf(d, "%s:", argv[2]);
  for (size_t i = 0; i < deps.n; i++) fprintf(d, " \\\n  %s", deps.v[i]);
  fprintf(d, "\n");
  fclose(d);
  lua_close(L);
  return 0;
}
