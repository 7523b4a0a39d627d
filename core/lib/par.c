/* par.c: see par.h. One mutex guards the pool and every job: items take tens of microseconds,
 * so it is never contended for long. */
#include "par.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work = PTHREAD_COND_INITIALIZER; /* helpers wait here for items */
static cb_par *g_jobs;                                   /* live jobs with helpers allowed */
static int g_threads, g_idle;

int cb_par_threads(void) {
  const char *env = getenv("CERTBENCH_THREADS");
  long n = 0;
  if (env && *env) {
    char *end;
    n = strtol(env, &end, 10);
    if (*end || n < 1) n = 0;
  }
  if (n == 0) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
  }
  return n > CB_PAR_MAX ? CB_PAR_MAX : (int)n;
}

/* a job with an item a helper may take; called locked */
static cb_par *job_with_work(void) {
  for (cb_par *j = g_jobs; j; j = j->next_job)
    if (!j->stop && j->next < j->ready && j->busy < j->helpers) return j;
  return NULL;
}

static void *helper(void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_mu);
  for (;;) {
    cb_par *j = job_with_work();
    if (!j) {
      g_idle++;
      pthread_cond_wait(&g_work, &g_mu);
      g_idle--;
      continue;
    }
    size_t i = j->next++;
    j->busy++;
    pthread_mutex_unlock(&g_mu);
    j->fn(j->ctx, i);
    pthread_mutex_lock(&g_mu);
    j->busy--;
    if (j->busy == 0 && j->waiting) pthread_cond_signal(&j->done);
  }
  return NULL;
}

/* a child of fork() has none of the helpers: it starts from an empty pool (the lock is taken
 * around fork, so the child's copy is consistent) */
static void before_fork(void) { pthread_mutex_lock(&g_mu); }
static void after_fork_parent(void) { pthread_mutex_unlock(&g_mu); }
static void after_fork_child(void) {
  g_threads = 0;
  g_idle = 0;
  g_jobs = NULL;
  pthread_mutex_unlock(&g_mu);
}
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void init_once(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

/* grows the pool to want helpers; called locked. Helpers block every signal: those are for
 * the thread that runs Lua. */
static void grow(int want) {
  if (g_threads >= want) return;
  pthread_once(&g_once, init_once);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  while (g_threads < want) {
    pthread_t t;
    if (pthread_create(&t, &attr, helper, NULL) != 0) break;
    g_threads++;
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void cb_par_start(cb_par *p, size_t n, cb_par_fn fn, void *ctx, int mode) {
  memset(p, 0, sizeof *p);
  p->n = n;
  p->fn = fn;
  p->ctx = ctx;
  p->live = 1;
  /* A batch of one runs on the caller, even async: making the pool's first thread costs more
   * (~40 us of CPU, more on a loaded machine) than the overlap it buys (one CSR verification,
   * ~100 us, against one signature), and a one-certificate command would start it for that.
   * A background item is long enough (milliseconds) that it does not. */
  size_t want = (size_t)cb_par_threads() - 1;
  size_t cap = mode == CB_PAR_BACKGROUND ? n : n < 2 ? 0 : mode == CB_PAR_ASYNC ? n : n - 1;
  if (want > cap) want = cap;
  if (want == 0) return;
  pthread_cond_init(&p->done, NULL);
  pthread_mutex_lock(&g_mu);
  grow((int)want);
  p->helpers = (int)want < g_threads ? (int)want : g_threads;
  if (p->helpers > 0) {
    p->next_job = g_jobs;
    g_jobs = p;
  }
  pthread_mutex_unlock(&g_mu);
}

void cb_par_publish(cb_par *p, size_t ready) {
  if (!p->helpers) {
    if (ready > p->ready) p->ready = ready > p->n ? p->n : ready;
    return;
  }
  pthread_mutex_lock(&g_mu);
  if (ready > p->n) ready = p->n;
  if (ready > p->ready) {
    p->ready = ready;
    if (g_idle) pthread_cond_broadcast(&g_work);
  }
  pthread_mutex_unlock(&g_mu);
}

/* unlinks p once no helper runs an item of it; called locked */
static void release(cb_par *p) {
  while (p->busy > 0) {
    p->waiting = 1;
    pthread_cond_wait(&p->done, &g_mu);
  }
  for (cb_par **q = &g_jobs; *q; q = &(*q)->next_job) {
    if (*q == p) {
      *q = p->next_job;
      break;
    }
  }
}

void cb_par_finish(cb_par *p) {
  if (!p->live) return;
  if (!p->helpers) {
    for (size_t i = p->next; i < p->n; i++) p->fn(p->ctx, i);
    p->next = p->n;
    p->live = 0;
    return;
  }
  pthread_mutex_lock(&g_mu);
  p->ready = p->n;
  if (g_idle) pthread_cond_broadcast(&g_work);
  while (!p->stop && p->next < p->n) {
    size_t i = p->next++;
    pthread_mutex_unlock(&g_mu);
    p->fn(p->ctx, i);
    pthread_mutex_lock(&g_mu);
  }
  release(p);
  pthread_mutex_unlock(&g_mu);
  pthread_cond_destroy(&p->done);
  p->live = 0;
}

void cb_par_cancel(cb_par *p) {
  if (!p->live) return;
  p->live = 0;
  if (!p->helpers) return;
  pthread_mutex_lock(&g_mu);
  p->stop = 1;
  release(p);
  pthread_mutex_unlock(&g_mu);
  pthread_cond_destroy(&p->done);
}

void cb_par_run(size_t n, cb_par_fn fn, void *ctx) {
  cb_par p;
  cb_par_start(&p, n, fn, ctx, CB_PAR_SYNC);
  cb_par_finish(&p);
}
