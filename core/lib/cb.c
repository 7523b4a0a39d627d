/* cb.c: helpers shared by every C module (see cb.h). */
#include "cb.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/mem.h>

int cb_fail(lua_State *L, const char *fmt, ...) {
  va_list ap;
  lua_pushnil(L);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return 2;
}

int cb_fail_errno(lua_State *L, const char *what, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

/* the short library names of BoringSSL's error macros (ASN1_R_..., X509_R_...): the long ones
 * ERR_lib_error_string gives ("ASN.1 encoding routines") are not what people search for */
static const char *lib_short_name(uint32_t e) {
  static const char *const names[] = {
      [ERR_LIB_SYS] = "SYS",       [ERR_LIB_BN] = "BN",         [ERR_LIB_RSA] = "RSA",
      [ERR_LIB_DH] = "DH",         [ERR_LIB_EVP] = "EVP",       [ERR_LIB_BUF] = "BUF",
      [ERR_LIB_OBJ] = "OBJ",       [ERR_LIB_PEM] = "PEM",       [ERR_LIB_DSA] = "DSA",
      [ERR_LIB_X509] = "X509",     [ERR_LIB_ASN1] = "ASN1",     [ERR_LIB_CONF] = "CONF",
      [ERR_LIB_CRYPTO] = "CRYPTO", [ERR_LIB_EC] = "EC",         [ERR_LIB_SSL] = "SSL",
      [ERR_LIB_BIO] = "BIO",       [ERR_LIB_PKCS7] = "PKCS7",   [ERR_LIB_PKCS8] = "PKCS8",
      [ERR_LIB_X509V3] = "X509V3", [ERR_LIB_RAND] = "RAND",     [ERR_LIB_OCSP] = "OCSP",
      [ERR_LIB_ECDSA] = "ECDSA",   [ERR_LIB_ECDH] = "ECDH",     [ERR_LIB_HMAC] = "HMAC",
      [ERR_LIB_DIGEST] = "DIGEST", [ERR_LIB_CIPHER] = "CIPHER", [ERR_LIB_HKDF] = "HKDF",
  };
  int lib = ERR_GET_LIB(e);
  if (lib > 0 && (size_t)lib < sizeof names / sizeof names[0] && names[lib]) return names[lib];
  return "CRYPTO";
}

const char *cb_ssl_reason(char *buf, size_t len) {
  const char *file;
  int line;
  uint32_t e = ERR_get_error_line(&file, &line);
  buf[0] = '\0';
  if (e != 0) {
    const char *reason = ERR_reason_error_string(e);
    const char *lib = lib_short_name(e);
    char code[96];
    /* ERR_error_string_n gives "error:CODE:LIB:OPENSSL_internal:REASON"; keep the upper-case
     * reason name, which is what people search for. */
    ERR_error_string_n(e, code, sizeof code);
    const char *name = strrchr(code, ':');
    name = name ? name + 1 : code;
    if (reason) {
      char human[128];
      size_t i;
      snprintf(human, sizeof human, "%s", reason);
      for (i = 0; human[i]; i++) {
        if (human[i] == '_') human[i] = ' ';
        else if (human[i] >= 'A' && human[i] <= 'Z') human[i] = (char)(human[i] - 'A' + 'a');
      }
      snprintf(buf, len, "%s (%s_R_%s)", human, lib, name);
    } else {
      snprintf(buf, len, "%s", code);
    }
  }
  ERR_clear_error();
  return buf;
}

int cb_fail_ssl(lua_State *L, const char *what) {
  char reason[256];
  cb_ssl_reason(reason, sizeof reason);
  lua_pushnil(L);
  if (reason[0]) lua_pushfstring(L, "%s: %s", what, reason);
  else lua_pushfstring(L, "%s: failed", what);
  return 2;
}

void *cb_newudata(lua_State *L, size_t sz, const char *tname) {
  void *p = lua_newuserdatauv(L, sz, 1);
  memset(p, 0, sz);
  luaL_setmetatable(L, tname);
  return p;
}

void cb_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *metas) {
  if (!luaL_newmetatable(L, tname)) { lua_pop(L, 1); return; }
  if (metas) luaL_setfuncs(L, metas, 0);
  lua_newtable(L);
  if (methods) luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

const char *cb_checkbytes(lua_State *L, int idx, size_t *len) {
  cb_secret *s = luaL_testudata(L, idx, CB_SECRET_MT);
  if (s) {
    if (!s->buf) luaL_argerror(L, idx, "attempt to use a closed secret");
    *len = s->len;
    return s->buf;
  }
  return luaL_checklstring(L, idx, len);
}

const char *cb_optsecret(lua_State *L, int idx, size_t *len) {
  *len = 0;
  if (lua_isnoneornil(L, idx)) return NULL;
  return cb_checkbytes(L, idx, len);
}

const char *cb_optfield_string(lua_State *L, int idx, const char *k, const char *def, size_t *len) {
  const char *s = def;
  if (len) *len = def ? strlen(def) : 0;
  if (lua_type(L, idx) != LUA_TTABLE) return def;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "option '%s' must be a string, not %s", k, luaL_typename(L, -1));
    s = lua_tolstring(L, -1, len); /* the table keeps it alive */
  }
  lua_pop(L, 1);
  return s;
}

lua_Integer cb_optfield_integer(lua_State *L, int idx, const char *k, lua_Integer def) {
  lua_Integer v = def;
  if (lua_type(L, idx) != LUA_TTABLE) return def;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s' must be an integer, not %s", k, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

void cb_checkoptions(lua_State *L, int idx, const char *where, const char *const known[]) {
  if (lua_type(L, idx) != LUA_TTABLE) return;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 8, where);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int found = 0;
    if (lua_type(L, -1) == LUA_TSTRING) { /* never lua_tostring a number key: lua_next needs it */
      const char *k = lua_tostring(L, -1);
      for (const char *const *p = known; *p && !found; p++) found = strcmp(*p, k) == 0;
    }
    if (found) continue;
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "certbench.options");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "check");
    lua_pushvalue(L, idx);
    lua_newtable(L);
    for (lua_Integer i = 0; known[i]; i++) {
      lua_pushstring(L, known[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_pushstring(L, where);
    lua_pushinteger(L, 2); /* error's level: the C function, which adds no position */
    lua_call(L, 4, 0);     /* raises */
    return;
  }
}

int cb_optfield_boolean(lua_State *L, int idx, const char *k, int def) {
  int v = def;
  if (lua_type(L, idx) != LUA_TTABLE) return def;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

void cb_cleanse(void *p, size_t n) {
  if (p && n) OPENSSL_cleanse(p, n);
}

cb_secret *cb_push_secret(lua_State *L, const char *p, size_t n) {
  cb_secret *s = cb_newudata(L, sizeof *s, CB_SECRET_MT);
  char *buf = malloc(n + 1);
  if (!buf) luaL_error(L, "out of memory");
  memcpy(buf, p, n);
  buf[n] = '\0';
  s->buf = buf;
  s->len = n;
  return s;
}

static char root_dir[PATH_MAX + 32]; /* room for "/share/certbench" after a path */
const char *cb_program_path;

const char *cb_root_dir(void) {
  if (root_dir[0]) return root_dir;
  const char *env = getenv("CERTBENCH_HOME");
  if (env && *env) {
    snprintf(root_dir, sizeof root_dir, "%s", env);
    return root_dir;
  }
  Dl_info info;
  char path[PATH_MAX];
  const char *self = NULL;
  if (cb_program_path) self = cb_program_path;
  else if (dladdr((void *)cb_root_dir, &info) && info.dli_fname) self = info.dli_fname;
  /* For the program dladdr names argv[0] as it was typed; /proc/self/exe is exact. But in a
   * stock lua5.4 that loaded certbench.so, the library's own path is what we want. */
  if (self && realpath(self, path)) {
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
    /* In the source tree, .../build/certbench(.so): the root is one folder up, the one that
     * holds core/certbench.lua. Installed (tools/install), PREFIX/bin/certbench or
     * PREFIX/lib/lua/5.4/certbench.so: the root is PREFIX/share/certbench, the first
     * share/certbench up from the file; the Lua code is embedded (core/lib/bytecode.h). */
    char probe[PATH_MAX + 32], up[PATH_MAX];
    snprintf(up, sizeof up, "%s", path);
    slash = strrchr(up, '/');
    if (slash) *slash = '\0';
    snprintf(probe, sizeof probe, "%s/core/certbench.lua", up[0] ? up : "");
    int found = access(probe, F_OK) == 0;
    if (found) snprintf(root_dir, sizeof root_dir, "%s", up[0] ? up : "/");
    for (int depth = 0; !found && depth < 4; depth++) {
      slash = strrchr(path, '/');
      if (!slash) break;
      *slash = '\0';
      snprintf(probe, sizeof probe, "%s/share/certbench", path);
      if (access(probe, F_OK) == 0) {
        snprintf(root_dir, sizeof root_dir, "%s", probe);
        found = 1;
      }
    }
    if (!found) snprintf(root_dir, sizeof root_dir, "%s", up[0] ? up : "/");
  } else {
    snprintf(root_dir, sizeof root_dir, ".");
  }
  return root_dir;
}

int cb_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    c += w;
    n -= (size_t)w;
  }
  return 1;
}

int cb_fault_set(const char *point) {
  const char *want = getenv("CERTBENCH_FAULT");
  size_t n = strlen(point);
  while (want && *want) {
    const char *end = strchr(want, ',');
    size_t len = end ? (size_t)(end - want) : strlen(want);
    if (len == n && memcmp(want, point, n) == 0) return 1;
    want = end ? end + 1 : NULL;
  }
  return 0;
}

void cb_fault(const char *point) {
  if (cb_fault_set(point)) kill(getpid(), SIGKILL);
}

int cb_fifo_no_writer(int fd, long *waited_ms) {
  const char *env = getenv("CERTBENCH_FIFO_WAIT");
  long limit = (env && *env ? strtol(env, NULL, 10) : CB_FIFO_WAIT) * 1000;
  if (*waited_ms >= limit) {
    errno = ETIMEDOUT;
    return -1;
  }
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r = poll(&p, 1, 100);
  *waited_ms += 100;
  return r > 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN);
}

int cb_set_blocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;
}

int cb_fifo_fail(lua_State *L, const char *path, long waited_ms) {
  return cb_fail(L, "%s: a FIFO that no process opened for writing (waited %d s)", path,
                 (int)(waited_ms / 1000));
}

const char *cb_size_text(char *buf, size_t n, int64_t v) {
  if (v >= ((int64_t)1 << 30) && v % ((int64_t)1 << 30) == 0) snprintf(buf, n, "%lld GiB", (long long)(v >> 30));
  else if (v >= (1 << 20) && v % (1 << 20) == 0) snprintf(buf, n, "%lld MiB", (long long)(v >> 20));
  else if (v >= (1 << 10) && v % (1 << 10) == 0) snprintf(buf, n, "%lld KiB", (long long)(v >> 10));
  else snprintf(buf, n, "%lld bytes", (long long)v);
  return buf;
}
