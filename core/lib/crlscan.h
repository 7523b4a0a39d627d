/* crlscan.h: a DER CRL checked from its regular file a piece at a time, without holding it
 * (cb_crl_scan_fd), and its revoked entries read again from the file by a cursor. The object
 * is crlengine.h's cb_crl (its scanned, synthetic, fd and file fields); the parsing of the parts
 * around the entries, and of each entry, is the engine's. Nothing here touches Lua. */
#ifndef CERTBENCH_CRLSCAN_H
#define CERTBENCH_CRLSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "crlengine.h"

/* cb_crl_scan_fd checks the DER CRL in the regular file fd (size bytes) without holding it: the
 * file is read once, in pieces of chunk bytes (0: 1 MiB), every revoked entry checked as
 * cb_crl_parse checks it and counted, tbsCertList hashed with the digest of its signature
 * algorithm (so cb_crl_verify needs no second read) and the whole CRL with SHA-256. The part
 * before the entries and the part after them (extensions, signature) go through cb_crl_parse,
 * each at most 1 MiB. A file of at most chunk bytes is parsed whole, as cb_crl_parse would.
 * e takes fd (closed by cb_crl_free, also on failure). Memory: about 2 x chunk plus the two
 * parts, whatever the number of entries. Returns 1, or 0 with a message in err. */
int cb_crl_scan_fd(cb_crl *e, int fd, uint64_t size, size_t chunk, char *err, size_t errlen);

/* A cursor reads the revoked entries of a scanned CRL from its file, in DER order, through a
 * buffer of about 1 MiB. */
typedef struct {
  int fd;
  uint64_t end;            /* the end of the entries in the file */
  uint64_t buf_pos, pos;   /* buf[0] is the file's byte buf_pos; pos: the next byte to read */
  uint64_t next;           /* the next entry's offset */
  size_t n;                /* entries read */
  uint8_t *buf;
  size_t cap;
} cb_crl_cursor;

/* cb_crl_cursor_open starts a cursor on e's entries (e scanned, or not: then from its DER).
 * cb_crl_cursor_next decodes the next entry into out; *view is set to a cb_crl whose der
 * resolves out's spans (valid until the next call). Returns 1, 0 at the end, -1 with err
 * (a file changed since the scan). cb_crl_cursor_close frees the buffer (idempotent). */
int cb_crl_cursor_open(cb_crl_cursor *c, const cb_crl *e);
int cb_crl_cursor_next(cb_crl_cursor *c, const cb_crl *e, cb_crl *view, cb_crl_entry *out, char *err,
                       size_t errlen);
void cb_crl_cursor_close(cb_crl_cursor *c);

/* cb_crl_file_read reads n bytes at off of a scanned CRL's file. Returns 1, or 0 with errno
 * (0: the file is shorter than it was). */
int cb_crl_file_read(const cb_crl *e, uint8_t *p, size_t n, uint64_t off);

#endif
