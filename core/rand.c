/* rand.c: `_certbench.rand`, random bytes and certificate serial numbers from BoringSSL's
 * CSPRNG. */
#include <stdint.h>

#include <openssl/rand.h>

#include "digest.h"

#define MAX_RAND_BYTES (1 << 20)

/* rand.bytes(n) -> n random bytes (0 <= n <= 1 MiB) */
static int l_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= MAX_RAND_BYTES, 1, "must be between 0 and 1048576");
  luaL_Buffer b;
  uint8_t *p = (uint8_t *)luaL_buffinitsize(L, &b, (size_t)n);
  RAND_bytes(p, (size_t)n);
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/* rand.serial([bytes = 16]) -> upper-case hex of a positive serial of exactly `bytes` octets.
 * The first octet is in 0x10..0x7F: the top bit clear keeps the DER INTEGER positive without a
 * padding octet, and no leading zero nibble means the text, the DER length and what
 * `openssl x509 -serial` prints are all the same size, whatever the draw. */
static int l_serial(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 1, 16);
  /* RFC 5280 4.1.2.2: at most 20 octets (the CA/B Forum asks for 64 random bits and more) */
  luaL_argcheck(L, n >= 1 && n <= 20, 1, "a serial has 1 to 20 bytes");
  uint8_t s[20];
  RAND_bytes(s, (size_t)n);
  while ((s[0] & 0x7F) < 0x10) RAND_bytes(s, 1); /* rejection keeps the draw uniform */
  s[0] &= 0x7F;
  cb_push_hex(L, s, (size_t)n, '\0');
  return 1;
}

/* rand.uniform(n) -> an integer uniformly drawn from [0, n), n >= 1 */
static int l_uniform(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "must be at least 1");
  uint64_t bound = (uint64_t)n, r;
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound; /* drop the biased top of the range */
  do RAND_bytes((uint8_t *)&r, sizeof r);
  while (r >= limit);
  lua_pushinteger(L, (lua_Integer)(r % bound));
  return 1;
}

int luaopen__certbench_rand(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"bytes", l_bytes}, {"serial", l_serial}, {"uniform", l_uniform}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
