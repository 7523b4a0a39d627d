/* dynlib.h: libraries that only some commands need (libcurl, libzip, BoringSSL's libssl),
 * opened with dlopen the first time a command needs them instead of being linked: a command
 * that never fetches, unpacks or shakes hands does not pay for relocating them (libcurl's
 * GnuTLS build alone brings some 30 libraries, libssl libstdc++) and never has OpenSSL's
 * libcrypto.so.3, which libcurl and libzip depend on, in the process.
 *
 * Isolation: the library is opened RTLD_LOCAL | RTLD_DEEPBIND, so it and everything it brings
 * look symbols up in their own dependencies before the global scope. BoringSSL is in the
 * global scope (the program links it) and exports the same names as libcrypto.so.3: without
 * DEEPBIND, libcrypto.so.3's own references would bind to BoringSSL (tests/integration/linkage_spec.lua
 * checks both directions). Under AddressSanitizer DEEPBIND is not possible (ASan refuses it:
 * it would bypass its malloc), so sanitizer builds open with RTLD_LOCAL alone; those builds
 * run tests, never the linkage test.
 *
 * Use (see core/http.c): include the library's header, declare a struct of pointers with
 * CB_DYNLIB_FIELD for each function, a cb_dynsym table with CB_DYNLIB_SYM, a cb_dynlib, then
 * `#define fn (*table.fn)` for each function so that the calls read as before; call
 * cb_dynlib_load before the first use. */
#ifndef CERTBENCH_DYNLIB_H
#define CERTBENCH_DYNLIB_H

#include <stddef.h>

typedef struct {
  const char *name; /* the symbol */
  void **slot;      /* where its address goes (POSIX's dlsym idiom for function pointers) */
} cb_dynsym;

typedef struct {
  const char *soname;    /* the run-time name, e.g. "libcurl-gnutls.so.4" (not the -dev link) */
  const cb_dynsym *syms; /* ends with {NULL, NULL} */
  void *handle;          /* set by cb_dynlib_load; never closed (the library stays until exit) */
  int state;             /* 0 not tried, 1 loaded, -1 failed (error holds why) */
  char error[256];
} cb_dynlib;

#define CB_DYNLIB_FIELD(f) __typeof__(f) *f;
#define CB_DYNLIB_SYM(table, f) {#f, (void **)&table.f},

/* cb_dynlib_load opens lib and resolves every symbol of lib->syms, once: later calls return
 * the first result. Returns 1, or 0 with lib->error set to one line naming the library and
 * the cause (a missing symbol makes the whole library unusable: nothing is half-loaded).
 * Called from the Lua thread only. */
int cb_dynlib_load(cb_dynlib *lib);

/* cb_dynlib_loaded tells whether lib is open now, without opening it. */
int cb_dynlib_loaded(const cb_dynlib *lib);

#endif
