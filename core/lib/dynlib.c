/* dynlib.c: opening a library on first use, isolated from BoringSSL (see dynlib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define CB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CB_SANITIZED 1
#endif
#endif

#ifdef CB_SANITIZED
#define CB_DL_FLAGS (RTLD_NOW | RTLD_LOCAL)
#else
#define CB_DL_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)
#endif

int cb_dynlib_load(cb_dynlib *lib) {
  if (lib->state) return lib->state > 0;
  /* RTLD_NOW: an incomplete library fails here, with its name, not at some later call */
  void *h = dlopen(lib->soname, CB_DL_FLAGS);
  if (!h) {
    const char *e = dlerror();
    snprintf(lib->error, sizeof lib->error, "%s", e ? e : lib->soname);
    lib->state = -1;
    return 0;
  }
  for (const cb_dynsym *s = lib->syms; s->name; s++) {
    dlerror();
    void *p = dlsym(h, s->name);
    if (!p) {
      snprintf(lib->error, sizeof lib->error, "%s: no symbol %s (a different version of the library?)",
               lib->soname, s->name);
      for (const cb_dynsym *t = lib->syms; t != s; t++) *t->slot = NULL;
      dlclose(h);
      lib->state = -1;
      return 0;
    }
    *s->slot = p;
  }
  lib->handle = h;
  lib->state = 1;
  return 1;
}

int cb_dynlib_loaded(const cb_dynlib *lib) { return lib->state > 0; }
