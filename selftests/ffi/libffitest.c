// SPDX-License-Identifier: MIT
/*
 * selftests/ffi/libffitest.c: the C side of the Smalltalk FFI tests (selftests/vm/ffi/).
 *
 * Built as build/selftests/ffi/libffitest.so and dlopen()ed by baton through
 * `ExternalLibrary open: (Smalltalk getenv: 'BATON_FFI_TESTLIB')`. Owns no VM state
 * and never calls into Baton: it sees only what libffi hands it. State lives in
 * arguments and on the stack, except the tid recorder (one process-wide table, see
 * below). Every formula a test recomputes in Smalltalk is stated next to its
 * function. See selftests/ffi/README.md and selftests/vm/ffi/README.md.
 * Description: identities, argument mixes, blocking calls, callbacks from pthreads.
 * Minimum kernel: any (gettid(2), nanosleep(2)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- identities */

/* Each answers its argument unchanged: the VM converts in, C stores it in a
 * register of the declared width, the VM converts back. */
int8_t ft_id_int8(int8_t x) { return x; }
uint8_t ft_id_uint8(uint8_t x) { return x; }
int16_t ft_id_int16(int16_t x) { return x; }
uint16_t ft_id_uint16(uint16_t x) { return x; }
int32_t ft_id_int32(int32_t x) { return x; }
uint32_t ft_id_uint32(uint32_t x) { return x; }
int64_t ft_id_int64(int64_t x) { return x; }
uint64_t ft_id_uint64(uint64_t x) { return x; }
long ft_id_long(long x) { return x; }
unsigned long ft_id_ulong(unsigned long x) { return x; }
size_t ft_id_size_t(size_t x) { return x; }
bool ft_id_bool(bool x) { return x; }
float ft_id_float(float x) { return x; }
double ft_id_double(double x) { return x; }
void *ft_id_pointer(void *x) { return x; }

/* An identity can pass with a wrong conversion that undoes itself (an int8 -1
 * passed as 255 and read back as an int8). The widening functions answer what
 * the callee really received, in a 64-bit register. */
int64_t ft_widen_int8(int8_t x) { return x; }
uint64_t ft_widen_uint8(uint8_t x) { return x; }
int64_t ft_widen_int16(int16_t x) { return x; }
uint64_t ft_widen_uint16(uint16_t x) { return x; }
int64_t ft_widen_int32(int32_t x) { return x; }
uint64_t ft_widen_uint32(uint32_t x) { return x; }
double ft_widen_float(float x) { return x; }
/* 1 when the callee saw true, 0 when it saw false. */
int32_t ft_widen_bool(bool x) { return x ? 1 : 0; }

/* The other direction: the callee truncates a wide value the C way, so the
 * VM must read back only the declared width of the return register, e.g.
 * ft_wrap_int8(200) = -56, ft_wrap_uint8(-1) = 255. */
int8_t ft_wrap_int8(int32_t x) { return (int8_t)x; }
uint8_t ft_wrap_uint8(int32_t x) { return (uint8_t)x; }
int16_t ft_wrap_int16(int32_t x) { return (int16_t)x; }
uint16_t ft_wrap_uint16(int32_t x) { return (uint16_t)x; }
int32_t ft_wrap_int32(int64_t x) { return (int32_t)x; }
uint32_t ft_wrap_uint32(int64_t x) { return (uint32_t)x; }
bool ft_not(bool x) { return !x; }

/* For #void returns and call-overhead benchmarks. */
void ft_noop(void) {}

/* ---------------------------------------------------------------- strings and bytes */

size_t ft_strlen(const char *s) { return s ? strlen(s) : 0; }

/* Answers its argument: the VM must read a #string result before it frees the
 * NUL-terminated copy it made of a #string argument. */
const char *ft_str_echo(const char *s) { return s; }

const char *ft_const_string(void) { return "baton ffi"; }
const char *ft_null_string(void) { return NULL; }

/* The byte pattern every fill writes: byte i (0-based) is
 * (seed + 31 * i + i // 256) \\ 256. */
static uint8_t pattern(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + 31 * i + (i >> 8));
}

/* The checksum of n bytes: s := 0, then for each byte b, in order,
 * s := (s * 31 + b) \\ 2^32. Answers it for the bytes as they are. */
uint32_t ft_checksum(const uint8_t *buf, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + buf[i];
	return s;
}

/* Writes pattern(seed, 0..n-1) into buf and answers its checksum. */
uint32_t ft_fill(uint8_t *buf, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(seed, i);
	return ft_checksum(buf, n);
}

/* Upcases ASCII a..z of buf[0..n-1] in place; answers how many it changed. */
uint32_t ft_upcase(char *buf, size_t n)
{
	uint32_t changed = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[i] >= 'a' && buf[i] <= 'z') {
			buf[i] = (char)(buf[i] - 'a' + 'A');
			changed++;
		}
	return changed;
}

/* A read-only block of known contents, for the ExternalAddress accessors
 * (offsets in bytes from the answered address):
 *   0..7   bytes 1 2 3 4 5 6 7 8
 *   8      int32 -123456
 *   12     int32 2147483647
 *   16     uint64 18364758544493064720 (16rFEDCBA9876543210)
 *   24     double -2.5
 *   32     the NUL-terminated string 'const data' */
struct const_data {
	uint8_t bytes[8];
	int32_t neg;
	int32_t max;
	uint64_t big;
	double d;
	char s[16];
};
_Static_assert(offsetof(struct const_data, neg) == 8, "layout");
_Static_assert(offsetof(struct const_data, big) == 16, "layout");
_Static_assert(offsetof(struct const_data, d) == 24, "layout");
_Static_assert(offsetof(struct const_data, s) == 32, "layout");

static const struct const_data const_data = {
	{1, 2, 3, 4, 5, 6, 7, 8}, -123456, INT32_MAX, 0xFEDCBA9876543210u, -2.5, "const data",
};

const void *ft_const_data(void) { return &const_data; }

/* Reads and writes at p + off (byte offsets), so tests can check the
 * ExternalAddress accessors against C in both directions. */
uint8_t ft_peek_uint8(const void *p, size_t off) { return ((const uint8_t *)p)[off]; }

int32_t ft_peek_int32(const void *p, size_t off)
{
	int32_t v;
	memcpy(&v, (const char *)p + off, sizeof v);
	return v;
}

uint64_t ft_peek_uint64(const void *p, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)p + off, sizeof v);
	return v;
}

double ft_peek_double(const void *p, size_t off)
{
	double v;
	memcpy(&v, (const char *)p + off, sizeof v);
	return v;
}

void ft_poke_uint64(void *p, size_t off, uint64_t v) { memcpy((char *)p + off, &v, sizeof v); }
void ft_poke_double(void *p, size_t off, double v) { memcpy((char *)p + off, &v, sizeof v); }

/* Copies the NUL-terminated s to p + off (with its NUL); answers its length. */
size_t ft_poke_string(void *p, size_t off, const char *s)
{
	size_t n = strlen(s);
	memcpy((char *)p + off, s, n + 1);
	return n;
}

/* ---------------------------------------------------------------- argument mixes */

/* Weighted sums: argument k (1-based) is multiplied by 10^(k-1), so a swapped,
 * dropped or misconverted argument changes the result. Tests pass small
 * integers and halves, which doubles hold exactly. */
int32_t ft_args0(void) { return 42; }
double ft_args1(double a) { return a; }
double ft_args2(int32_t a, double b) { return a + 10 * b; }
double ft_args3(double a, int64_t b, float c) { return a + 10.0 * b + 100 * (double)c; }

double ft_args4(int8_t a, double b, uint16_t c, double d)
{
	return a + 10 * b + 100.0 * c + 1000 * d;
}

double ft_args5(double a, int32_t b, double c, int64_t d, float e)
{
	return a + 10.0 * b + 100 * c + 1000.0 * d + 10000 * (double)e;
}

double ft_sum6(int32_t a, double b, int64_t c, float d, uint8_t e, double f)
{
	return a + 10 * b + 100.0 * c + 1000 * (double)d + 10000.0 * e + 100000 * f;
}

/* All six integer argument registers. */
int64_t ft_isum6(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f)
{
	return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f;
}

/* Eight integers: the last two go on the stack (callWithArguments:). */
int64_t ft_isum8(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g,
		 int64_t h)
{
	return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f + 1000000 * g +
	       10000000 * h;
}

/* Ten doubles: more than the eight SSE argument registers. */
double ft_dsum10(double a, double b, double c, double d, double e, double f, double g, double h,
		 double i, double j)
{
	return a + 10 * b + 100 * c + 1e3 * d + 1e4 * e + 1e5 * f + 1e6 * g + 1e7 * h + 1e8 * i +
	       1e9 * j;
}

/* ---------------------------------------------------------------- blocking and computing */

/* Sleeps in the kernel for ns nanoseconds, through signals. */
static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Block in nanosleep(2) and answer the argument. */
uint32_t ft_sleep_ms(uint32_t ms)
{
	sleep_ns((uint64_t)ms * 1000000u);
	return ms;
}

uint32_t ft_usleep_us(uint32_t us)
{
	sleep_ns((uint64_t)us * 1000u);
	return us;
}

/* Sleeps ms, then does ft_fill(buf, n, seed): the buffer must still be where
 * it was (pinned) when the sleep ends, whatever the VM did meanwhile. */
uint32_t ft_block_then_fill(uint8_t *buf, size_t n, uint32_t ms, uint8_t seed)
{
	ft_sleep_ms(ms);
	return ft_fill(buf, n, seed);
}

/* A callout of length proportional to n that never blocks: answers
 * x + n * (n - 1) / 2, computed the long way. */
uint64_t ft_spin(uint32_t n, uint32_t x)
{
	volatile uint64_t acc = x;
	for (uint32_t i = 0; i < n; i++)
		acc = acc + i;
	return acc;
}

/* ---------------------------------------------------------------- threads */

int32_t ft_gettid(void) { return (int32_t)gettid(); }

/* The thread that started the process (where baton's main() runs). */
bool ft_is_main_thread(void) { return gettid() == getpid(); }

/*
 * The tid recorder: ft_record_tid() appends the caller's tid to one
 * process-wide table, the only mutable static state of this library. It is
 * safe from any thread (one atomic counter reserves the slot), but one test
 * at a time uses it: each .st file runs in its own baton process, and the
 * test calls ft_record_reset() first. Calls beyond TIDS_MAX are counted but
 * not stored.
 */
#define TIDS_MAX 4096
static atomic_uint tids_n;
static _Atomic int32_t tids[TIDS_MAX];

void ft_record_reset(void) { atomic_store(&tids_n, 0); }

/* Records and answers the caller's tid. */
int32_t ft_record_tid(void)
{
	int32_t me = (int32_t)gettid();
	unsigned i = atomic_fetch_add(&tids_n, 1);
	if (i < TIDS_MAX)
		atomic_store(&tids[i], me);
	return me;
}

/* How many calls were recorded since the reset. */
uint32_t ft_recorded_count(void) { return atomic_load(&tids_n); }

/* How many of the stored records are tid: equal to ft_recorded_count()
 * exactly when every call came from that thread. */
uint32_t ft_recorded_matching(int32_t tid)
{
	unsigned n = atomic_load(&tids_n), k = 0;
	if (n > TIDS_MAX)
		n = TIDS_MAX;
	for (unsigned i = 0; i < n; i++)
		k += atomic_load(&tids[i]) == tid;
	return k;
}

/* ---------------------------------------------------------------- callbacks */

typedef int32_t (*cmp_fn)(const void *, const void *);

struct sort_ctx {
	cmp_fn cmp;
	uint32_t calls;
};

static int counted_cmp(const void *a, const void *b, void *ud)
{
	struct sort_ctx *c = ud;
	c->calls++;
	return c->cmp(a, b);
}

/* Sorts a[0..n-1] with qsort_r and the given comparator (C int (*)(const void *,
 * const void *)); answers how many times the comparator was called. */
uint32_t ft_qsort_ints(int32_t *a, size_t n, cmp_fn cmp)
{
	struct sort_ctx c = {cmp, 0};
	qsort_r(a, n, sizeof *a, counted_cmp, &c);
	return c.calls;
}

/* Nested callbacks, on the caller's thread, from inside the callout. Each
 * answers a value that shows C ran after the callback returned. */
int32_t ft_call_cb_int(int32_t (*cb)(int32_t), int32_t x) { return cb(x) + 1000; }

double ft_call_cb_double(double (*cb)(double, double), double a, double b) { return 2 * cb(a, b); }

int64_t ft_call_cb_int64(int64_t (*cb)(int64_t), int64_t x) { return cb(x); }

/* cb receives s as a #string; answers cb's result plus 1. */
int32_t ft_call_cb_string(int32_t (*cb)(const char *), const char *s) { return cb(s) + 1; }

/* cb returns a #pointer; answers it unchanged. */
void *ft_call_cb_pointer(void *(*cb)(void *), void *p) { return cb(p); }

/* Calls cb(0), cb(1) ... cb(n-1); answers n. */
int32_t ft_call_cb_void(void (*cb)(int32_t), int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		cb(i);
	return n;
}

/* ---- one foreign thread */

struct one_call {
	int32_t (*cb)(int32_t);
	int32_t arg, result;
	bool pass_tid; /* call cb(gettid()) instead of cb(arg) */
};

static void *one_call_main(void *p)
{
	struct one_call *c = p;
	c->result = c->cb(c->pass_tid ? (int32_t)gettid() : c->arg);
	return NULL;
}

static int32_t run_in_thread(struct one_call *c)
{
	pthread_t th;
	if (pthread_create(&th, NULL, one_call_main, c) != 0)
		return -1;
	pthread_join(th, NULL);
	return c->result;
}

/* Starts a pthread that calls cb(x), joins it and answers cb's result; -1 if
 * the thread could not be created. */
int32_t ft_call_cb_in_thread(int32_t (*cb)(int32_t), int32_t x)
{
	struct one_call c = {cb, x, 0, false};
	return run_in_thread(&c);
}

/* Starts a pthread that calls cb(its own gettid()), joins it and answers cb's
 * result; -1 if the thread could not be created. */
int32_t ft_thread_passes_tid(int32_t (*cb)(int32_t))
{
	struct one_call c = {cb, 0, 0, true};
	return run_in_thread(&c);
}

/* ---- many foreign threads
 *
 * Thread t (0-based, t < nthreads) calls cb(t, i) for i = 0 .. iters-1, in
 * order, and checks each result against t * 100000 + i. The answer is the
 * number of correct results: nthreads * iters when all were. The threads wait
 * at a gate until all exist, so their callbacks really overlap. */
#define FT_THREADS_MAX 64

typedef int32_t (*cb2_fn)(int32_t, int32_t);

struct crowd {
	cb2_fn cb;
	int32_t iters, nthreads, started;
	pthread_mutex_t lock;
	pthread_cond_t opened;
	bool open;
	pthread_t th[FT_THREADS_MAX];
	struct crowd_member {
		struct crowd *c;
		int32_t index, correct;
	} m[FT_THREADS_MAX];
};

static void *member_main(void *p)
{
	struct crowd_member *m = p;
	struct crowd *c = m->c;
	pthread_mutex_lock(&c->lock);
	while (!c->open)
		pthread_cond_wait(&c->opened, &c->lock);
	pthread_mutex_unlock(&c->lock);
	for (int32_t i = 0; i < c->iters; i++)
		m->correct += c->cb(m->index, i) == m->index * 100000 + i;
	return NULL;
}

/* Creates the threads and opens the gate; NULL for bad arguments. A thread
 * that cannot be created is remembered (started < nthreads) and makes the
 * join answer -1; the others still run. */
static struct crowd *crowd_start(int32_t nthreads, int32_t iters, cb2_fn cb)
{
	if (nthreads < 1 || nthreads > FT_THREADS_MAX || iters < 0 || iters >= 100000 || !cb)
		return NULL;
	struct crowd *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cb = cb;
	c->iters = iters;
	c->nthreads = nthreads;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->opened, NULL);
	for (int32_t t = 0; t < nthreads; t++) {
		c->m[t] = (struct crowd_member){c, t, 0};
		if (pthread_create(&c->th[c->started], NULL, member_main, &c->m[t]) == 0)
			c->started++;
	}
	pthread_mutex_lock(&c->lock);
	c->open = true;
	pthread_cond_broadcast(&c->opened);
	pthread_mutex_unlock(&c->lock);
	return c;
}

static int32_t crowd_join(struct crowd *c)
{
	int32_t total = 0;
	for (int32_t t = 0; t < c->started; t++)
		pthread_join(c->th[t], NULL);
	for (int32_t t = 0; t < c->nthreads; t++)
		total += c->m[t].correct;
	if (c->started < c->nthreads)
		total = -1;
	pthread_cond_destroy(&c->opened);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return total;
}

/* Starts nthreads pthreads calling back as above, waits for them, answers
 * the number of correct results; -1 for bad arguments (nthreads outside
 * 1..64, iters outside 0..99999) or if a thread could not be created. */
int32_t ft_threads_call_cb(int32_t nthreads, int32_t iters, cb2_fn cb)
{
	struct crowd *c = crowd_start(nthreads, iters, cb);
	return c ? crowd_join(c) : -1;
}

/* The same in two steps: ft_spawn_threads_async starts the threads and
 * returns at once with a handle (NULL for bad arguments); the threads call
 * back while the caller goes on; ft_join_async(handle) waits for them, frees
 * the handle and answers the number of correct results (-1 for NULL). Each
 * handle must be joined exactly once. */
void *ft_spawn_threads_async(int32_t nthreads, int32_t iters, cb2_fn cb)
{
	return crowd_start(nthreads, iters, cb);
}

int32_t ft_join_async(void *handle)
{
	return handle ? crowd_join(handle) : -1;
}
