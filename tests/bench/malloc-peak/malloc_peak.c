/*
 * Which C allocations are alive when the process's C heap peaks: an LD_PRELOAD shim over glibc's malloc family that
 * keeps every live block of 1 MB or more with its call stack, and writes the live set to /tmp/malloc-peak.<pid>.txt
 * each time their total reaches a new high (8 MB past the last one written). SIGUSR1 starts the high again from what
 * is alive now (e.g. once the model has loaded, to see a conversation's peak rather than the load's; run the bench with
 * --no-machine, whose bandwidth probe at the end allocates 2 GiB and would be the last high written). A diagnostic
 * for docs/bench/quant.md ("Where the C heap goes"), not part of the app or of CI:
 *
 *   gcc -O2 -shared -fPIC -o /tmp/libmalloc_peak.so tests/bench/malloc-peak/malloc_peak.c -ldl -lpthread
 *   LD_PRELOAD=/tmp/libmalloc_peak.so java ... -jar bench/target/convllava-bench.jar ...   (kill -USR1 <pid> after the load)
 *   tests/bench/malloc-peak/summarize.py /tmp/malloc-peak.<pid>.txt
 *
 * Stacks come from glibc's backtrace(): libtorch's frames are named (at::native::... after c++filt), Java's are not
 * (a direct buffer shows as libjvm frames under JIT code). The shim's own bookkeeping never allocates through itself:
 * a thread-local guard (initial-exec TLS, which needs no allocation) skips what backtrace() and dprintf() do.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <execinfo.h>
#include <pthread.h>
#include <unistd.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
static volatile int reset_req;
static void on_usr1(int s) { reset_req = 1; }
__attribute__((constructor)) static void ctor() { signal(SIGUSR1, on_usr1); }
#define BIG (1 << 20)
#define SLOTS 65536
#define DEPTH 14
typedef struct { void *p; size_t n; int depth; void *bt[DEPTH]; double t; } Rec;
static Rec tab[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static size_t live, peak, dumped_at;
static __thread int guard __attribute__((tls_model("initial-exec")));
static void *(*rmalloc)(size_t); static void (*rfree)(void *); static void *(*rcalloc)(size_t, size_t);
static void *(*rrealloc)(void *, size_t); static int (*rpm)(void **, size_t, size_t); static void *(*raa)(size_t, size_t); static void *(*rmemalign)(size_t, size_t);
static char tmpbuf[65536]; static size_t tmpused;
static double now() { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
static void init() {
    if (rmalloc) return;
    rmalloc = dlsym(RTLD_NEXT, "malloc"); rfree = dlsym(RTLD_NEXT, "free"); rcalloc = dlsym(RTLD_NEXT, "calloc");
    rrealloc = dlsym(RTLD_NEXT, "realloc"); rpm = dlsym(RTLD_NEXT, "posix_memalign"); raa = dlsym(RTLD_NEXT, "aligned_alloc"); rmemalign = dlsym(RTLD_NEXT, "memalign");
}
static void dump() {
    char path[128]; snprintf(path, sizeof path, "/tmp/malloc-peak.%d.txt", getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    dprintf(fd, "peak live big bytes %zu at %.3f\n", peak, now());
    for (int i = 0; i < SLOTS; i++) if (tab[i].p) {
        dprintf(fd, "BLOCK %zu bytes (%.1f MB) t=%.3f\n", tab[i].n, tab[i].n / 1e6, tab[i].t);
        backtrace_symbols_fd(tab[i].bt, tab[i].depth, fd);
    }
    close(fd);
}
static void add(void *p, size_t n) {
    if (!p || n < BIG || guard) return;
    guard = 1;
    Rec r; r.p = p; r.n = n; r.t = now(); r.depth = backtrace(r.bt, DEPTH);
    pthread_mutex_lock(&mu);
    unsigned h = ((size_t) p >> 12) % SLOTS;
    while (tab[h].p) h = (h + 1) % SLOTS;
    if (reset_req) { reset_req = 0; peak = live; dumped_at = live; }
    tab[h] = r; live += n;
    if (live > peak) { peak = live; if (peak > dumped_at + (8 << 20)) { dumped_at = peak; dump(); } }
    pthread_mutex_unlock(&mu);
    guard = 0;
}
static void del(void *p) {
    if (!p || guard) return;
    pthread_mutex_lock(&mu);
    unsigned h = ((size_t) p >> 12) % SLOTS;
    for (int k = 0; k < SLOTS && tab[h].p; k++, h = (h + 1) % SLOTS) {
        if (tab[h].p == p) {
            live -= tab[h].n; tab[h].p = NULL;
            /* re-insert following cluster */
            unsigned j = (h + 1) % SLOTS;
            while (tab[j].p) { Rec r = tab[j]; tab[j].p = NULL; unsigned g = ((size_t) r.p >> 12) % SLOTS; while (tab[g].p) g = (g + 1) % SLOTS; tab[g] = r; j = (j + 1) % SLOTS; }
            break;
        }
    }
    pthread_mutex_unlock(&mu);
}
void *malloc(size_t n) { if (!rmalloc) { init(); if (!rmalloc) { void *p = tmpbuf + tmpused; tmpused += (n + 15) & ~15; return p; } } void *p = rmalloc(n); add(p, n); return p; }
void free(void *p) { if ((char *) p >= tmpbuf && (char *) p < tmpbuf + sizeof tmpbuf) return; init(); if (p) del(p); rfree(p); }
void *calloc(size_t a, size_t b) { if (!rcalloc) { void *p = malloc(a * b); memset(p, 0, a * b); return p; } void *p = rcalloc(a, b); add(p, a * b); return p; }
void *realloc(void *q, size_t n) { init(); if ((char *) q >= tmpbuf && (char *) q < tmpbuf + sizeof tmpbuf) { void *p = malloc(n); memcpy(p, q, n); return p; } if (q) del(q); void *p = rrealloc(q, n); add(p, n); return p; }
int posix_memalign(void **out, size_t a, size_t n) { init(); int r = rpm(out, a, n); if (!r) add(*out, n); return r; }
void *aligned_alloc(size_t a, size_t n) { init(); void *p = raa(a, n); add(p, n); return p; }
void *memalign(size_t a, size_t n) { init(); void *p = rmemalign(a, n); add(p, n); return p; }
