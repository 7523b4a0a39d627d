/* name.c: `_certbench.name`, distinguished names (X509_NAME). The C side builds names from a
 * normalized list, gives the entries back as UTF-8 and does what needs BoringSSL (hash, DER,
 * comparison); the text forms (openssl one-line, RFC 4514, /-form) and the -subj parser are in
 * name.lua. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/x509.h>

#include "ext.h"
#include "objects.h"

/* cb_push_name_copy pushes a new name object holding a copy of n. */
void cb_push_name_copy(lua_State *L, const X509_NAME *n) {
  X509_NAME *c = X509_NAME_dup((X509_NAME *)n);
  if (!c) luaL_error(L, "out of memory");
  cb_push_name(L, c);
}

/* _new(list) -> name | nil, err. list is { {field, value, join}, ... } where join true adds the
 * attribute to the previous RDN (a multi-valued RDN, "+" in the -subj form). */
static int l_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  /* validate the types first: raising after the name exists would leak it */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    luaL_argcheck(L, lua_istable(L, -1), 1, "entries must be {field, value} tables");
    lua_geti(L, -1, 1);
    lua_geti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "name entry %d: field and value must be strings", (int)i);
    lua_pop(L, 3);
  }
  cb_push_name(L, X509_NAME_new());
  X509_NAME *name = cb_check_name(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t vlen;
    lua_geti(L, 1, i);
    lua_geti(L, -1, 1);
    lua_geti(L, -2, 2);
    lua_geti(L, -3, 3);
    lua_geti(L, -4, 4);
    const char *field = lua_tostring(L, -4);
    const char *value = lua_tolstring(L, -3, &vlen);
    int join = lua_toboolean(L, -2) && i > 1;
    /* a 4th element is an ASN.1 string tag: the value is that string's contents as they are
     * (RFC 4514 "#hex" values); otherwise the value is UTF-8 and the type is chosen */
    int isnum, tag = (int)lua_tointegerx(L, -1, &isnum);
    if (!isnum) tag = MBSTRING_UTF8;
    else if (tag <= 0 || tag >= 31) return cb_fail(L, "name: bad ASN.1 tag %d for %s", tag, field);
    ASN1_OBJECT *obj = OBJ_txt2obj(field, 0);
    if (!obj) {
      ERR_clear_error();
      return cb_fail(L, "name: unknown attribute type '%s'", field);
    }
    if (vlen == 0 || vlen > 65535) {
      ASN1_OBJECT_free(obj);
      return cb_fail(L, "name: %s value for %s", vlen ? "too long a" : "empty", field);
    }
    int ok = X509_NAME_add_entry_by_OBJ(name, obj, tag, (const uint8_t *)value,
                                        (int)vlen, -1, join ? -1 : 0);
    ASN1_OBJECT_free(obj);
    if (!ok) {
      char what[160];
      snprintf(what, sizeof what, "name: bad value for %s", field);
      return cb_fail_ssl(L, what);
    }
    lua_pop(L, 5);
  }
  return 1;
}

/* _from_der(der) -> name | nil, err */
static int l_from_der(lua_State *L) {
  size_t len;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &len);
  const uint8_t *q = p;
  cb_push_name(L, NULL);
  cb_name *box = lua_touserdata(L, -1);
  box->p = d2i_X509_NAME(NULL, &q, (long)len);
  if (!box->p) return cb_fail_ssl(L, "name.from_der: not a DER name");
  if ((size_t)(q - p) != len) {
    return cb_fail(L, "name.from_der: %d bytes of trailing data", (int)(len - (size_t)(q - p)));
  }
  return 1;
}

/* string_der builds tag + length + contents of a name value by hand: the entry holds only the
 * contents and the tag number (an OBJECT or INTEGER value is stored as a plain string). Returns
 * the length and an OPENSSL_malloc'd buffer, or 0. */
static size_t string_der(const ASN1_STRING *s, uint8_t **out) {
  int type = ASN1_STRING_type(s);
  size_t dlen = 0;
  CBB cbb, child;
  *out = NULL;
  if (type == V_ASN1_NEG_INTEGER) type = V_ASN1_INTEGER;
  if (type == V_ASN1_NEG_ENUMERATED) type = V_ASN1_ENUMERATED;
  if (type <= 0 || type >= 31 || !CBB_init(&cbb, 16)) return 0;
  unsigned tag = (unsigned)type;
  if (type == V_ASN1_SEQUENCE || type == V_ASN1_SET) tag |= CBS_ASN1_CONSTRUCTED;
  if (!CBB_add_asn1(&cbb, &child, tag) ||
      !CBB_add_bytes(&child, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s)) ||
      !CBB_finish(&cbb, out, &dlen)) {
    CBB_cleanup(&cbb);
    *out = NULL;
    return 0;
  }
  return dlen;
}

/* cb_push_asn1_string_utf8 pushes the value of a directory string as UTF-8; a value that is
 * not a string type is pushed as "#" and the hex of its DER, as RFC 4514 does. */
void cb_push_asn1_string_utf8(lua_State *L, const ASN1_STRING *s) {
  unsigned char *u = NULL;
  int n = ASN1_STRING_to_UTF8(&u, s);
  if (n >= 0) {
    lua_pushlstring(L, (const char *)u, (size_t)n);
    OPENSSL_free(u);
    return;
  }
  ERR_clear_error();
  uint8_t *der;
  size_t dlen = string_der(s, &der);
  lua_pushliteral(L, "#");
  cb_push_hex(L, der, dlen, 0);
  lua_concat(L, 2);
  OPENSSL_free(der);
}

/* cb_push_obj_names pushes the short name (the OID text when there is none) and the OID. */
void cb_push_obj_names(lua_State *L, const ASN1_OBJECT *obj) {
  char oid[128];
  OBJ_obj2txt(oid, sizeof oid, obj, 1);
  int nid = OBJ_obj2nid(obj);
  const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
  lua_pushstring(L, sn ? sn : oid);
  lua_pushstring(L, oid);
}

/* n:_entries() -> { {sn, value_utf8, oid, rdn_index}, ... } in DER order */
static int m_entries(lua_State *L) {
  X509_NAME *n = cb_check_name(L, 1);
  int count = X509_NAME_entry_count(n);
  lua_createtable(L, count, 0);
  for (int i = 0; i < count; i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
    lua_createtable(L, 4, 0);
    cb_push_obj_names(L, X509_NAME_ENTRY_get_object(e));
    cb_push_asn1_string_utf8(L, X509_NAME_ENTRY_get_data(e));
    lua_insert(L, -2); /* sn, value, oid */
    lua_seti(L, -4, 3);
    lua_seti(L, -3, 2);
    lua_seti(L, -2, 1);
    lua_pushinteger(L, X509_NAME_ENTRY_set(e));
    lua_seti(L, -2, 4);
    if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_undef) {
      /* RFC 4514 writes a value of an unnamed type as "#" and the hex of its DER */
      uint8_t *der;
      size_t dlen = string_der(X509_NAME_ENTRY_get_data(e), &der);
      if (dlen > 0) {
        cb_push_hex(L, der, dlen, 0);
        lua_seti(L, -2, 5);
      }
      OPENSSL_free(der);
    }
    lua_seti(L, -2, i + 1);
  }
  return 1;
}

/* n:hash() -> 8 lower-case hex digits, the c_rehash / CApath file name (X509_NAME_hash) */
static int m_hash(lua_State *L) {
  X509_NAME *n = cb_check_name(L, 1);
  char buf[16];
  snprintf(buf, sizeof buf, "%08lx", (unsigned long)X509_NAME_hash(n) & 0xffffffffUL);
  lua_pushstring(L, buf);
  return 1;
}

/* n:hash_old() -> the MD5-based hash of OpenSSL before 1.0 (`-subject_hash_old`) */
static int m_hash_old(lua_State *L) {
  X509_NAME *n = cb_check_name(L, 1);
  char buf[16];
  snprintf(buf, sizeof buf, "%08lx", (unsigned long)X509_NAME_hash_old(n) & 0xffffffffUL);
  lua_pushstring(L, buf);
  return 1;
}

static int m_der(lua_State *L) {
  X509_NAME *n = cb_check_name(L, 1);
  uint8_t *der = NULL;
  int len = i2d_X509_NAME(n, &der);
  if (len < 0) return cb_fail_ssl(L, "name:der");
  lua_pushlstring(L, (const char *)der, (size_t)len);
  OPENSSL_free(der);
  return 1;
}

static int m_equals(lua_State *L) {
  X509_NAME *a = cb_check_name(L, 1);
  X509_NAME *b = cb_check_name(L, 2);
  lua_pushboolean(L, X509_NAME_cmp(a, b) == 0);
  return 1;
}

static int m_eq(lua_State *L) {
  cb_name *a = luaL_testudata(L, 1, CB_NAME_MT);
  cb_name *b = luaL_testudata(L, 2, CB_NAME_MT);
  lua_pushboolean(L, a && b && a->p && b->p && X509_NAME_cmp(a->p, b->p) == 0);
  return 1;
}

static int m_count(lua_State *L) {
  lua_pushinteger(L, X509_NAME_entry_count(cb_check_name(L, 1)));
  return 1;
}

static int m_copy(lua_State *L) {
  cb_push_name_copy(L, cb_check_name(L, 1));
  return 1;
}

/* oid(type) -> the dotted OID of an attribute type name, or nil */
static int l_oid(lua_State *L) {
  const char *t = luaL_checkstring(L, 1);
  ASN1_OBJECT *obj = OBJ_txt2obj(t, 0);
  if (!obj) {
    ERR_clear_error();
    lua_pushnil(L);
    return 1;
  }
  char oid[128];
  OBJ_obj2txt(oid, sizeof oid, obj, 1);
  ASN1_OBJECT_free(obj);
  lua_pushstring(L, oid);
  return 1;
}

static int l_is_name(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, CB_NAME_MT) != NULL);
  return 1;
}

/* Attribute types openssl knows and this BoringSSL does not: the EV jurisdiction fields (CA/B
 * Forum), so names print "jurisdictionC = US" as openssl does, and parse by name. */
static void add_known_objects(void) {
  static int done;
  static const char *const objs[][3] = {
      {"1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL", "jurisdictionLocalityName"},
      {"1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST", "jurisdictionStateOrProvinceName"},
      {"1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC", "jurisdictionCountryName"},
  };
  if (done) return;
  done = 1;
  for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
    if (OBJ_txt2nid(objs[i][0]) == NID_undef) OBJ_create(objs[i][0], objs[i][1], objs[i][2]);
  }
  ERR_clear_error();
}

int luaopen__certbench_name(lua_State *L) {
  add_known_objects();
  static const luaL_Reg methods[] = {{"_entries", m_entries}, {"hash", m_hash},
                                     {"hash_old", m_hash_old}, {"der", m_der},
                                     {"equals", m_equals},     {"count", m_count},
                                     {"copy", m_copy},         {NULL, NULL}};
  static const luaL_Reg metas[] = {{"__eq", m_eq}, {"__len", m_count}, {NULL, NULL}};
  static const luaL_Reg fns[] = {
      {"new", l_new}, {"from_der", l_from_der}, {"is_name", l_is_name}, {"oid", l_oid}, {NULL, NULL}};
  cb_add_methods(L, CB_NAME_MT, methods, metas);
  luaL_newlib(L, fns);
  luaL_getmetatable(L, CB_NAME_MT);
  lua_setfield(L, -2, "_metatable");
  return 1;
}
