/* par.h: the items of a batch (certificates to sign, requests to verify, a big CRL's hash) run
 * on every core the process may use, from inside a C call. The calling thread takes items too;
 * the helpers are a pool of threads made on first use and kept (a thread made per call costs
 * ~40 us of CPU, a third of what one ECDSA verification does). They touch nothing of Lua.
 * This pool is for work a C call waits for before it returns. Work the event loop waits for
 * while other Lua tasks run (a CRL verified or a file written in a task, cb_loop_queue_work in
 * loop.h) goes to libuv's pool instead, which hands the result back on the loop thread; no
 * other thread is made anywhere in the core.
 *
 * Use: cb_par_start, then cb_par_publish as items become ready (an item is ready when the
 * caller has built everything fn needs for it), then cb_par_finish (or cb_par_cancel when an
 * error unwinds). fn(ctx, i) runs exactly once for each i < n (none after a cancel), on any
 * thread, in no particular order: it must touch only item i's data and objects that are safe
 * to share read-only (an EVP_PKEY that signs, per BoringSSL's thread-safety rules). */
#ifndef CERTBENCH_PAR_H
#define CERTBENCH_PAR_H

#include <pthread.h>
#include <stddef.h>

#define CB_PAR_MAX 16

typedef void (*cb_par_fn)(void *ctx, size_t i);

typedef struct cb_par cb_par;
struct cb_par {
  size_t n, ready, next;
  int stop, live;
  int helpers, busy; /* helpers allowed on this job, and those running an item of it now */
  int waiting;       /* the caller waits for busy to drop to 0 */
  pthread_cond_t done;
  cb_par_fn fn;
  void *ctx;
  cb_par *next_job; /* in the pool's list while live */
};

/* cb_par_threads is how many threads (the caller included) a batch may use: $CERTBENCH_THREADS
 * when it is a number >= 1, else the CPUs this process may run on, at most CB_PAR_MAX. */
int cb_par_threads(void);

/* cb_par_start prepares p for n items of fn, to run on up to cb_par_threads() - 1 helpers: no
 * more than n - 1 (mode CB_PAR_SYNC), as the caller takes items too, or n when the caller does
 * other work first (CB_PAR_ASYNC), so that items run meanwhile; in these modes a batch of one
 * has no helper (the thread it would start costs more than the overlap gives). CB_PAR_BACKGROUND
 * is CB_PAR_ASYNC for items long enough that even one is worth a helper (a big CRL's hash, tens
 * of milliseconds, while the caller scans its entries). Without helpers (one CPU, or threads
 * that cannot be made) the caller runs every item in cb_par_finish. No item is ready yet. */
enum { CB_PAR_SYNC = 0, CB_PAR_ASYNC = 1, CB_PAR_BACKGROUND = 2 };
void cb_par_start(cb_par *p, size_t n, cb_par_fn fn, void *ctx, int mode);

/* cb_par_publish makes items [0, ready) available to the helpers. */
void cb_par_publish(cb_par *p, size_t ready);

/* cb_par_finish makes every item available, runs items on the calling thread until none is
 * left and waits for those the helpers run. */
void cb_par_finish(cb_par *p);

/* cb_par_cancel lets no further item start and waits for those running. Idempotent, harmless
 * after cb_par_finish and on a zeroed cb_par. */
void cb_par_cancel(cb_par *p);

/* cb_par_run runs fn for every item of [0, n), all ready at once. */
void cb_par_run(size_t n, cb_par_fn fn, void *ctx);

#endif
