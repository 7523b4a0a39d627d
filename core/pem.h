/* pem.h: finding and decoding PEM blocks in text that people really have: CRLF line ends, a
 * UTF-8 byte-order mark, `Bag Attributes` or `subject=` lines between blocks, RFC 1421 headers
 * (`Proc-Type:`), blank lines. BoringSSL's PEM reader stops at the first thing it dislikes and
 * cannot say which block was bad; these helpers can.
 *
 * Every module that reads PEM (x509, csr, crl, pkey, pkcs7) can use them. */
#ifndef CERTBENCH_PEM_H
#define CERTBENCH_PEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lua.h>

typedef struct {
  const char *label; /* the text after "-----BEGIN ", not terminated */
  size_t label_len;
  const char *body; /* from the line after BEGIN to the start of the END line */
  size_t body_len;
  int index; /* 1-based number of this block in the data */
} cb_pem_block;

/* cb_pem_next finds the next "-----BEGIN L-----" ... "-----END L-----" block at or after *pos
 * and advances *pos past it. *count is the number of blocks seen so far (updated). Returns 1
 * with *out filled, 0 when there is no further BEGIN line, -1 when a BEGIN line has no END
 * line (out->index and out->label name it). */
int cb_pem_next(const char *data, size_t len, size_t *pos, int *count, cb_pem_block *out);

/* cb_pem_label_is is true when the block's label equals s. */
int cb_pem_label_is(const cb_pem_block *b, const char *s);

/* cb_pem_decode base64-decodes the block's body, skipping RFC 1421 header lines
 * ("Name: value", up to the blank line after them) and all white space. On success returns 1
 * and a buffer the caller frees with free(); returns 0 for bad base64 (or out of memory). */
int cb_pem_decode(const cb_pem_block *b, uint8_t **out, size_t *out_len);

/* cb_pem_decode_secret is cb_pem_decode for key material: the result is OPENSSL_malloc'd
 * (OPENSSL_free cleanses it), the intermediate copy is cleansed, missing '=' padding is
 * tolerated. */
int cb_pem_decode_secret(const cb_pem_block *b, uint8_t **out, size_t *out_len);

/* cb_pem_header_value finds the RFC 1421 header `name` (case-insensitive) of the block: 1 with
 * *v, *vlen its value without blanks around it, else 0. */
int cb_pem_header_value(const cb_pem_block *b, const char *name, const char **v, size_t *vlen);

/* cb_pem_line is the 1-based number of the line holding byte off of data. */
size_t cb_pem_line(const char *data, size_t off);

/* cb_pem_has_header is true when the block has the RFC 1421 header `name` (e.g. "Proc-Type"). */
int cb_pem_has_header(const cb_pem_block *b, const char *name);

/* cb_pem_looks_like is true when data contains a "-----BEGIN " line. */
int cb_pem_looks_like(const char *data, size_t len);

/* cb_skip_bom_space returns the offset of the first byte after a UTF-8 BOM and white space. */
size_t cb_skip_bom_space(const char *data, size_t len);

/* cb_base64_armorless decodes data that is nothing but base64 and white space (a Windows
 * "Base-64 encoded" file whose armor lines were lost). Returns 1 and a malloc'd buffer, or 0. */
int cb_base64_armorless(const char *data, size_t len, uint8_t **out, size_t *out_len);

/* cb_base64_armorless_secret: the same for key material (OPENSSL_malloc'd, see
 * cb_pem_decode_secret). */
int cb_base64_armorless_secret(const char *data, size_t len, uint8_t **out, size_t *out_len);

/* cb_der_check looks at a DER element at the start of p: returns 1 when one complete element of
 * *elem_len bytes is there, 0 when its header promises more bytes than there are ("truncated"),
 * -1 when it is not DER at all. */
int cb_der_check(const uint8_t *p, size_t len, size_t *elem_len);

/* cb_pem_push_labels pushes a Lua string listing the distinct labels of the blocks in data
 * ("PRIVATE KEY, X509 CRL") or "" when there are none: error messages say what was found. */
void cb_pem_push_labels(lua_State *L, const char *data, size_t len);
/* cb_pem_labels writes the same list into out (at most out_len bytes, terminated). */
void cb_pem_labels(const char *data, size_t len, char *out, size_t out_len);

/* cb_pem_encode_secret returns the PEM text of key material (EVP_EncodeBlock: constant-time),
 * with RFC 1421 headers ("Proc-Type: ...\nDEK-Info: ...", no trailing newline) when headers is
 * not NULL, in an OPENSSL_malloc'd buffer of *out_len bytes (OPENSSL_free cleanses it). */
uint8_t *cb_pem_encode_secret(const char *label, const char *headers, const uint8_t *der, size_t len,
                              size_t *out_len);

/* cb_pem_text turns text as Windows tools and editors write it into UTF-8 with LF line ends:
 * a UTF-8 BOM dropped, UTF-16 (LE/BE, with or without a BOM) converted, CRLF and CR made LF.
 * *out is malloc'd (terminated); *bom is "utf-8", "utf-16le", "utf-16be" or NULL (*no_bom is 1
 * when UTF-16 was recognised without one); *line_ends "lf", "crlf", "cr", "mixed" or NULL.
 * Returns 0 when out of memory. */
int cb_pem_text(const char *data, size_t len, char **out, size_t *out_len, const char **bom,
                int *no_bom, const char **line_ends);

/* cb_push_pem pushes the PEM text of der under label, 64 columns, "\n" line ends. For public
 * objects only (the encoder is not constant-time). */
void cb_push_pem(lua_State *L, const char *label, const uint8_t *der, size_t der_len);

/* cb_pem_len is the size of the PEM text of der_len bytes under label; cb_pem_encode writes it
 * into out (at least cb_pem_len bytes, not terminated) and returns its length. Lua-free: safe
 * on any thread. Public objects only, as cb_push_pem. */
size_t cb_pem_len(const char *label, size_t der_len);
size_t cb_pem_encode(char *out, const char *label, const uint8_t *der, size_t der_len);

/* The parts, for writing big objects in pieces: cb_pem_armor writes the BEGIN (end = 0) or END
 * line of label (at most 16 + strlen(label) bytes); cb_pem_lines the base64 lines of der (a
 * multiple of 48 bytes, but for the last piece), 65 bytes per 48. Both return the length. */
size_t cb_pem_armor(char *out, const char *label, int end);
size_t cb_pem_lines(char *out, const uint8_t *der, size_t der_len);

/* A loader of one kind of object from PEM (any of its labels; text and other blocks between
 * them skipped), DER (one or several elements back to back) or armorless base64. */
typedef struct {
  const char *const *labels; /* accepted PEM labels, NULL-terminated */
  const char *noun;          /* "certificate": for messages */
  /* parse one DER element; label is the index in labels (0 for DER input). NULL on failure,
   * with BoringSSL's error queue set, or with cb_load_why set when the reason is certbench's
   * (a certificate BoringSSL parses but whose validity is no time). */
  void *(*parse)(const uint8_t *der, size_t len, int label);
  void (*push)(lua_State *L, void *owned); /* pushes the object box, taking ownership */
} cb_loader;

/* cb_load_why: the reason a loader's parse refused an object BoringSSL accepted ("notAfter is
 * not a valid time ..."); cb_load reports it and clears it. Per thread: loaders run in workers. */
extern _Thread_local char cb_load_why[256];

/* cb_load reads argument 1 (a string). all = 0: pushes the first object; all = 1: pushes a
 * list of every object. On failure pushes nil, "what: no certificate in the data (found
 * PRIVATE KEY)" / "bad base64 in PEM block 2" / "truncated DER ..."; returns the number of
 * values pushed. */
int cb_load(lua_State *L, const cb_loader *ld, const char *what, int all);

/* cb_load_first finds and parses the object cb_load (all = 0) would give for data, without Lua:
 * safe on any thread. Returns it (owned), or NULL where cb_load would fail (call it for the
 * message). */
void *cb_load_first(const cb_loader *ld, const char *data, size_t len);

/* cb_pem_stream reads in_fd in pieces of chunk bytes (0: 1 MiB) and base64-decodes the first PEM
 * block whose label want() accepts into out_fd, in pieces too: never the text or the DER whole.
 * The blocks found, the headers skipped and the base64 accepted are those of cb_pem_next and
 * cb_pem_decode on the whole text (the crl_scan fuzz target holds it to that). Returns 1 (res
 * filled: the DER's length, the BEGIN line, whether other blocks come before or after it), 0
 * with err filled (a block without END line, bad base64, more than max_out bytes, I/O), or -1
 * when no such block is there (the text is something else: the caller reads it whole). */
typedef struct {
  uint64_t der_len;
  size_t line;
  int others;
} cb_pem_stream_result;
int cb_pem_stream(int in_fd, int out_fd, int (*want)(const char *label, size_t n), size_t chunk, uint64_t max_out,
                  cb_pem_stream_result *res, char *err, size_t errlen);

/* cb_pem_stream_from is cb_pem_stream reading its text from in(ctx, buf, n) (read()'s contract:
 * the bytes read, 0 at the end, -1 with errno), such as a gzip stream being inflated (cb_gz_read):
 * the text is never on disk or in memory whole. */
typedef ssize_t (*cb_pem_read_fn)(void *ctx, void *buf, size_t n);
int cb_pem_stream_from(cb_pem_read_fn in, void *ctx, int out_fd, int (*want)(const char *label, size_t n),
                       size_t chunk, uint64_t max_out, cb_pem_stream_result *res, char *err, size_t errlen);

#endif
