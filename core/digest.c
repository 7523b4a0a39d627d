/* digest.c: `_certbench.digest`, hashes and HMACs one-shot and streaming, hex text.
 * MD5 and SHA-1 are here for the fingerprints people compare with old tools, not for new
 * signatures (pkey and csr refuse MD5 for signing). */
#include "digest.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>

#define DIGEST_MT "certbench.digest"
#define DIGEST_NAMES "sha256, sha384, sha512, sha224, sha1 or md5"

static const struct {
  const char *name;
  const EVP_MD *(*md)(void);
} digests[] = {
    {"sha256", EVP_sha256}, {"sha384", EVP_sha384}, {"sha512", EVP_sha512},
    {"sha224", EVP_sha224}, {"sha1", EVP_sha1},     {"md5", EVP_md5},
};

const EVP_MD *cb_digest_byname(const char *name) {
  char norm[16];
  size_t n = 0;
  /* "SHA-256", "sha256" and "Sha256" are the same name; anything long is not a name */
  for (const char *p = name; *p; p++) {
    if (*p == '-') continue;
    if (n + 1 >= sizeof norm) return NULL;
    norm[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
  }
  norm[n] = '\0';
  for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++)
    if (!strcmp(norm, digests[i].name)) return digests[i].md();
  return NULL;
}

const char *cb_digest_name(const EVP_MD *md) {
  for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++)
    if (md && EVP_MD_type(md) == EVP_MD_type(digests[i].md())) return digests[i].name;
  return "unknown";
}

const EVP_MD *cb_check_digest(lua_State *L, int idx, const char *def) {
  const char *name = def ? luaL_optstring(L, idx, def) : luaL_checkstring(L, idx);
  const EVP_MD *md = cb_digest_byname(name);
  if (!md)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown digest '%s' (use " DIGEST_NAMES ")", name));
  return md;
}

void cb_push_hex(lua_State *L, const uint8_t *p, size_t n, char sep) {
  static const char hexd[] = "0123456789ABCDEF";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    if (sep && i > 0) luaL_addchar(&b, sep);
    luaL_addchar(&b, hexd[p[i] >> 4]);
    luaL_addchar(&b, hexd[p[i] & 15]);
  }
  luaL_pushresult(&b);
}

/* digest.hash(alg, data) -> bytes */
static int l_hash(lua_State *L) {
  const EVP_MD *md = cb_check_digest(L, 1, NULL);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned outlen;
  if (!EVP_Digest(data, len, out, &outlen, md, NULL)) return cb_fail_ssl(L, "digest.hash");
  lua_pushlstring(L, (const char *)out, outlen);
  return 1;
}

/* digest.hmac(alg, key, data) -> bytes ; key is a string or a secret */
static int l_hmac(lua_State *L) {
  const EVP_MD *md = cb_check_digest(L, 1, NULL);
  size_t klen, len;
  const char *key = cb_checkbytes(L, 2, &klen);
  const char *data = luaL_checklstring(L, 3, &len);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned outlen;
  if (!HMAC(md, key, klen, (const uint8_t *)data, len, out, &outlen))
    return cb_fail_ssl(L, "digest.hmac");
  lua_pushlstring(L, (const char *)out, outlen);
  cb_cleanse(out, sizeof out);
  return 1;
}

/* digest.hex(bytes[, sep]) -> "AB:CD..." ; sep is "" (default) or one character */
static int l_hex(lua_State *L) {
  size_t len, seplen;
  const char *p = luaL_checklstring(L, 1, &len);
  const char *sep = luaL_optlstring(L, 2, "", &seplen);
  luaL_argcheck(L, seplen <= 1, 2, "the separator must be one character or empty");
  cb_push_hex(L, (const uint8_t *)p, len, seplen ? sep[0] : '\0');
  return 1;
}

/* digest.equals(a, b) -> boolean, in time independent of where they differ (for MACs) */
static int l_equals(lua_State *L) {
  size_t alen, blen;
  const char *a = cb_checkbytes(L, 1, &alen);
  const char *b = cb_checkbytes(L, 2, &blen);
  lua_pushboolean(L, alen == blen && CRYPTO_memcmp(a, b, alen) == 0);
  return 1;
}

/* digest.size(alg) -> bytes of output */
static int l_size(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)EVP_MD_size(cb_check_digest(L, 1, NULL)));
  return 1;
}

/* The streaming object: one of md or hmac is set while it is open; final() closes it. */
typedef struct {
  EVP_MD_CTX *md;
  HMAC_CTX *hmac;
  const char *name;
  int is_hmac;
} stream;

static int stream_gc(lua_State *L) {
  stream *s = luaL_checkudata(L, 1, DIGEST_MT);
  EVP_MD_CTX_free(s->md);
  HMAC_CTX_free(s->hmac);
  s->md = NULL;
  s->hmac = NULL;
  return 0;
}

static stream *check_stream(lua_State *L) {
  stream *s = luaL_checkudata(L, 1, DIGEST_MT);
  if (!s->md && !s->hmac) luaL_error(L, "attempt to use a finished digest");
  return s;
}

/* digest.new(alg[, hmac_key]) -> stream ; with a key it computes the HMAC */
static int l_new(lua_State *L) {
  const EVP_MD *md = cb_check_digest(L, 1, NULL);
  size_t klen = 0;
  const char *key = lua_isnoneornil(L, 2) ? NULL : cb_checkbytes(L, 2, &klen);
  stream *s = cb_newudata(L, sizeof *s, DIGEST_MT);
  s->name = cb_digest_name(md);
  if (key) {
    s->is_hmac = 1;
    s->hmac = HMAC_CTX_new();
    if (!s->hmac) return luaL_error(L, "out of memory");
    if (!HMAC_Init_ex(s->hmac, key, klen, md, NULL)) return cb_fail_ssl(L, "digest.new");
  } else {
    s->md = EVP_MD_CTX_new();
    if (!s->md) return luaL_error(L, "out of memory");
    if (!EVP_DigestInit_ex(s->md, md, NULL)) return cb_fail_ssl(L, "digest.new");
  }
  return 1;
}

/* stream:update(data) -> stream (chainable) */
static int stream_update(lua_State *L) {
  stream *s = check_stream(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int ok = s->md ? EVP_DigestUpdate(s->md, data, len)
                 : HMAC_Update(s->hmac, (const uint8_t *)data, len);
  if (!ok) return luaL_error(L, "digest:update: failed");
  lua_settop(L, 1);
  return 1;
}

/* stream:final() -> bytes ; the stream is finished afterwards */
static int stream_final(lua_State *L) {
  stream *s = check_stream(L);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned outlen = 0;
  int ok = s->md ? EVP_DigestFinal_ex(s->md, out, &outlen) : HMAC_Final(s->hmac, out, &outlen);
  stream_gc(L);
  if (!ok) return luaL_error(L, "digest:final: failed");
  lua_pushlstring(L, (const char *)out, outlen);
  cb_cleanse(out, sizeof out);
  return 1;
}

/* stream:algorithm() -> "sha256" */
static int stream_algorithm(lua_State *L) {
  stream *s = luaL_checkudata(L, 1, DIGEST_MT);
  lua_pushstring(L, s->name);
  return 1;
}

static int stream_tostring(lua_State *L) {
  stream *s = luaL_checkudata(L, 1, DIGEST_MT);
  lua_pushfstring(L, "certbench.digest (%s%s%s)", s->is_hmac ? "hmac-" : "", s->name,
                  (s->md || s->hmac) ? "" : ", finished");
  return 1;
}

int luaopen__certbench_digest(lua_State *L) {
  static const luaL_Reg methods[] = {{"update", stream_update},
                                     {"final", stream_final},
                                     {"algorithm", stream_algorithm},
                                     {"close", stream_gc},
                                     {NULL, NULL}};
  static const luaL_Reg metas[] = {
      {"__gc", stream_gc}, {"__close", stream_gc}, {"__tostring", stream_tostring}, {NULL, NULL}};
  cb_newclass(L, DIGEST_MT, methods, metas);
  static const luaL_Reg fns[] = {{"hash", l_hash},     {"hmac", l_hmac}, {"hex", l_hex},
                                 {"equals", l_equals}, {"size", l_size}, {"new", l_new},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
