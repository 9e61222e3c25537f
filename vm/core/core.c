// SPDX-License-Identifier: MIT
/*
 * vm/core/core.c: a VM core's life (new, enter, free), its heartbeat policy,
 * deadlines, external wake-ups, counters and tracing.
 *
 * The heartbeat thread calls beat() and still_idle() here; they decide,
 * from the hot words alone, whether a callout is blocked, whether a waiter
 * is stranded, and whether the VM is idle enough to stop ticking.
 * See Documentation/core/heartbeat.md and Documentation/core/protocol.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/membarrier.h"
#include "kernel-iface/probes.h"
#include "kernel-iface/trace.h"
#include "vm/core/core.h"

void core_warn_once(baton_vm *vm, int *flag, const char *fmt, ...)
{
	(void)vm;
	if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED))
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void core_trace_handoff(baton_vm *vm, uint32_t from, uint32_t to)
{
	if (vm->trace_fd >= 0)
		kif_trace_printf(vm->trace_fd, "baton handoff vm=%p from=%u to=%u\n",
				       (void *)vm, from, to);
}

/* ---- the heartbeat's policy ---------------------------------------------- */

/* Idle: free with nothing installed, or its owner asleep in the event loop
 * (which keeps its own deadline); and nobody queued. */
static int idle_now(baton_vm *vm)
{
	if (atomic_load(&vm->top_prio) >= 0)
		return 0;
	if (atomic_load(&vm->loop_sleeping))
		return 1;
	return own_running(vm) == 0 && hot_load(vm, installed) == 0;
}

static int still_idle(void *ud)
{
	return idle_now(ud);
}

/* An extra wake-up before the next beat; later ones come with the beats. */
static void recheck(baton_vm *vm, uint64_t at)
{
	if (vm->block_ns < vm->period_ns)
		hb_recheck_at(vm->hb, at);
}

/*
 * A callout is blocked when the same callout (same epoch) holds the VM's
 * work at a beat and still holds it vm->block_ns later. Waiting a whole
 * further beat would put the detection latency between one and two
 * periods; the short confirmation keeps it under 1.2 periods while brief
 * callouts (shorter than block_ns) are never taken for blocked ones.
 */
static uint64_t watch_callout(baton_vm *vm, uint64_t now)
{
	uint32_t inst = hot_load(vm, installed);
	uint64_t epoch = hot_load(vm, disowns);
	if (vm->hb_suspect != epoch + 1) {
		vm->hb_suspect = epoch + 1;
		vm->hb_suspect_at = now;
		recheck(vm, now + vm->block_ns);
		return HB_TICK;
	}
	if (now - vm->hb_suspect_at < vm->block_ns) {
		recheck(vm, vm->hb_suspect_at + vm->block_ns);
		return HB_TICK;
	}
	vm->hb_suspect = 0;
	count(vm, blocked);
	KIF_PROBE2(blocked, inst, epoch);
	TRACE_EV(vm, NULL, TR_BLOCKED, inst);
	own_activate(vm, "blocked");
	return HB_TICK;
}

static uint64_t beat(void *ud, uint64_t now, uint64_t expirations)
{
	baton_vm *vm = ud;
	atomic_fetch_add_explicit(&vm->beats, expirations, memory_order_relaxed);
	TRACE_EV(vm, NULL, TR_BEAT, expirations);
	if (atomic_load(&vm->quitting))
		return HB_TICK;
	if (atomic_load(&vm->loop_sleeping) && atomic_load(&vm->top_prio) < 0)
		return HB_NO_DEADLINE; /* the owner waits in the loop, deadline included */
	if (own_running(vm)) {
		/* Busy: the owner polls this at its next send or jump. */
		atomic_store_explicit(&vm->hot.interrupt, 1, memory_order_relaxed);
		vm->hb_suspect = 0;
		return HB_TICK;
	}
	if (atomic_load(&vm->top_prio) >= 0 && own_release_free(vm))
		return HB_TICK; /* I5: a waiter slept while the VM was free */
	if (hot_load(vm, installed))
		return watch_callout(vm, now);
	vm->hb_suspect = 0;
	uint64_t dl = atomic_load(&vm->deadline);
	if (dl && now >= dl) {
		count(vm, wakes);
		KIF_PROBE1(wake, 0);
		own_activate(vm, "timer");
		return HB_TICK;
	}
	return dl ? dl : HB_NO_DEADLINE;
}

/* ---- shared heartbeats ----------------------------------------------------- */

struct baton_heartbeat {
	struct hb_group *g;
	unsigned hz;
};

baton_heartbeat *baton_heartbeat_new(unsigned hz, int uring)
{
	baton_heartbeat *h = malloc(sizeof *h);
	if (!h)
		return NULL;
	h->hz = hz ? hz : 1000;
	struct hb_config hc = { .hz = h->hz, .force_read = uring == BATON_URING_OFF };
	h->g = hb_group_new(&hc);
	if (!h->g) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

/* Written once under pthread_once, immutable after. */
static baton_heartbeat *process_hb;
static int process_hb_err;
static pthread_once_t process_hb_once = PTHREAD_ONCE_INIT;

int baton_heartbeat_free(baton_heartbeat *h)
{
	if (!h)
		return 0;
	if (h == process_hb)
		return -EPERM; /* the process's: never freed */
	int r = hb_group_free(h->g);
	if (r == 0)
		free(h);
	return r;
}

static void process_hb_make(void)
{
	process_hb = baton_heartbeat_new(0, BATON_URING_AUTO);
	if (!process_hb)
		process_hb_err = errno;
}

baton_heartbeat *baton_heartbeat_process(void)
{
	pthread_once(&process_hb_once, process_hb_make);
	if (!process_hb)
		errno = process_hb_err;
	return process_hb;
}

/* ---- life -------------------------------------------------------------------- */

baton_vm *baton_vm_new(const struct baton_config *cfg)
{
	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	baton_vm *vm = aligned_alloc(64, (sizeof *vm + 63) & ~(size_t)63);
	if (!vm)
		return NULL;
	memset(vm, 0, sizeof *vm);
	if (cfg->hooks)
		vm->hooks = *cfg->hooks;
	vm->ud = cfg->ud;
	vm->before_spawn = cfg->before_spawn;
	vm->spawn_ud = cfg->spawn_ud;
	vm->max = cfg->max_threads ? cfg->max_threads : 64;
	if (vm->max > 0xffff)
		vm->max = 0xffff;
	vm->hz = cfg->heartbeat ? cfg->heartbeat->hz
		 : cfg->heartbeat_hz ? cfg->heartbeat_hz : 1000;
	vm->period_ns = 1000000000ull / vm->hz;
	vm->uring_off = cfg->uring == BATON_URING_OFF;
	vm->block_ns = cfg->block_us ? cfg->block_us * 1000ull : vm->period_ns / 16;
	atomic_store(&vm->top_prio, -1);
	vm->trace_fd = -1;
	const char *st = getenv("BATON_STRESS_HANDOFF");
	vm->stress = st && *st && strcmp(st, "0") != 0;
	/* The membarrier fast path (Documentation/core/protocol.md), probed
	 * once; BATON_MEMBARRIER=0, or a kernel or seccomp filter refusing it
	 * (ENOSYS, EPERM, EINVAL), leaves the CAS path. */
	const char *mb = getenv("BATON_MEMBARRIER");
	vm->hot.mb = !(mb && strcmp(mb, "0") == 0) && kif_membarrier_register() == 0;
	const char *tr = getenv("BATON_TRACE");
	if (tr && strcmp(tr, "ftrace") == 0) {
		vm->trace_fd = kif_trace_open();
		if (vm->trace_fd < 0)
			fprintf(stderr, "baton: BATON_TRACE=ftrace: trace_marker: %s\n",
				strerror(-vm->trace_fd));
	}
	vm->table = calloc(vm->max + 1, sizeof *vm->table);
	if (!vm->table || pthread_mutex_init(&vm->lock, NULL))
		goto fail;
	struct hb_config hc = {
		.hz = vm->hz,
		.force_read = cfg->uring == BATON_URING_OFF,
		.beat = beat,
		.still_idle = still_idle,
		.ud = vm,
	};
	if (cfg->heartbeat && cfg->heartbeat_hz &&
	    cfg->heartbeat_hz != cfg->heartbeat->hz) {
		errno = EINVAL;
		goto fail;
	}
	vm->hb = hb_start_shared(cfg->heartbeat ? cfg->heartbeat->g : NULL, &hc);
	if (!vm->hb)
		goto fail;
	/* BATON_TRACE=json:FILE: the timeline of any embedder, as --trace */
	if (tr && strncmp(tr, "json:", 5) == 0) {
		int r = baton_trace_start(vm, tr + 5);
		if (r < 0)
			fprintf(stderr, "baton: BATON_TRACE=%s: %s\n", tr, strerror(-r));
	}
	return vm;
fail:;
	int err = errno;
	free(vm->table);
	if (vm->trace_fd >= 0)
		kif_trace_close(vm->trace_fd);
	free(vm);
	errno = err;
	return NULL;
}

baton_thread *baton_enter(baton_vm *vm)
{
	B_ASSERT(vm, "baton_enter: no VM");
	baton_thread *t = thr_alloc(vm, 0);
	if (!t)
		return NULL;
	t->tid = kif_gettid();
	pthread_mutex_lock(&vm->lock);
	int got = own_claim_locked(vm, t->hot.index);
	pthread_mutex_unlock(&vm->lock);
	if (!got) {
		thr_free(vm, t);
		errno = EBUSY;
		return NULL;
	}
	own_takeover(vm, t, 0);
	OWN_ASSERT(vm, t);
	return t;
}

void baton_vm_free(baton_vm *vm, baton_thread *main_thread)
{
	(void)main_thread;
	OWN_ASSERT(vm, main_thread);
	B_ASSERT(main_thread->hot.index == 1 && !main_thread->foreign,
		 "baton_vm_free: the calling thread is not main");
	atomic_store(&vm->quitting, 1);
	hb_stop(vm->hb);
	thr_join_all(vm);
	trace_close(vm);
	io_close(vm);
	for (unsigned i = 0; i <= vm->max; i++)
		free(vm->table[i]);
	free(vm->table);
	pthread_mutex_destroy(&vm->lock);
	if (vm->trace_fd >= 0)
		kif_trace_close(vm->trace_fd);
	free(vm);
}

/* ---- time and events -------------------------------------------------------------- */

void baton_set_deadline(baton_vm *vm, uint64_t ns)
{
	B_ASSERT(vm && atomic_load(&vm->hot.owner), "baton_set_deadline: nobody owns the VM");
	atomic_store(&vm->deadline, ns);
}

/* baton_wake, and baton_wake_from with [from] (owned by the caller, loop
 * open) or NULL: only the kick of an owner asleep in the loop differs. */
static void wake(baton_vm *vm, baton_vm *from)
{
	/* seq_cst, the interrupt first, then the word: the Dekker pair with an
	 * owner going to sleep in the event loop (own.c, idle_on_loop) or
	 * parking (baton_idle, which frees the word, then looks at the
	 * interrupt). An owner that runs on sees it at its next checkpoint. */
	atomic_store(&vm->hot.interrupt, 1);
	if (own_running(vm)) {
		if (from)
			own_kick_loop_from(vm, from);
		else
			own_kick_loop(vm);
		return;
	}
	if (atomic_load(&vm->top_prio) >= 0 && own_release_free(vm))
		return;
	count(vm, wakes);
	KIF_PROBE1(wake, 1);
	own_activate(vm, "wake"); /* else: taken meanwhile; the interrupt stays up */
}

void baton_wake(baton_vm *vm)
{
	B_ASSERT(vm, "baton_wake: no VM");
	wake(vm, NULL);
}

void baton_wake_from(baton_vm *vm, baton_vm *from)
{
	B_ASSERT(vm, "baton_wake_from: no VM");
	/* from->io is only read by its owner, the caller: no race. */
	wake(vm, from && from != vm && from->io ? from : NULL);
}

uint64_t baton_now_ns(void)
{
	return kif_now_ns();
}

/* ---- introspection -------------------------------------------------------------------- */

#define rd(f) atomic_load_explicit(&vm->f, memory_order_relaxed)

void baton_get_stats(baton_vm *vm, struct baton_stats *s)
{
	B_ASSERT(vm && s, "baton_get_stats: no VM or no result");
	memset(s, 0, sizeof *s);
	s->disowns = rd(hot.disowns);
	s->owns_slow = rd(owns_slow);
	s->owns_fast = s->disowns - s->owns_slow;
	s->handoffs = rd(handoffs);
	s->beats = rd(beats);
	s->blocked = rd(blocked);
	s->blocking_hints = rd(hints);
	s->activations = rd(activations);
	s->creations = rd(creations);
	s->creation_failures = rd(creation_failures);
	s->max_threads_hits = rd(max_hits);
	s->idles = rd(idles);
	s->wakes = rd(wakes);
	s->attaches = rd(attaches);
	s->preemptions = rd(preemptions);
	s->wait_ns_total = rd(wait_ns);
	s->hb_wakeups = hb_wakeups(vm->hb);
	s->hb_cpu_ns = hb_cpu_ns(vm->hb);
	s->threads = rd(nthreads);
	s->threads_peak = rd(peak);
	s->hb_backend = hb_backend(vm->hb);
	s->own_fast_path = vm->hot.mb ? "membarrier" : "cas";
	s->takeovers = rd(takeovers);
	s->takeover_aborts = rd(takeover_aborts);
	s->takeover_ns = rd(takeover_ns);
	pthread_mutex_lock(&vm->lock);
	for (baton_thread *t = vm->waiters; t; t = t->next)
		s->waiting++;
	for (baton_thread *t = vm->parked; t; t = t->next)
		s->parked++;
	pthread_mutex_unlock(&vm->lock);
}

#define NO_T(fn) B_ASSERT(t, fn ": no thread")
unsigned baton_thread_index(const baton_thread *t)
{
	NO_T("baton_thread_index");
	return t->hot.index;
}
int baton_thread_tid(const baton_thread *t)
{
	NO_T("baton_thread_tid");
	return t->tid;
}
int baton_thread_is_foreign(const baton_thread *t)
{
	NO_T("baton_thread_is_foreign");
	return t->foreign;
}
void baton_thread_set_data(baton_thread *t, void *data)
{
	NO_T("baton_thread_set_data");
	t->data = data;
}
void *baton_thread_data(const baton_thread *t)
{
	NO_T("baton_thread_data");
	return t->data;
}
unsigned baton_owner(baton_vm *vm)
{
	B_ASSERT(vm, "baton_owner: no VM");
	return own_running(vm);
}

baton_thread *baton_thread_at(baton_vm *vm, unsigned i)
{
	B_ASSERT(vm, "baton_thread_at: no VM");
	if (i == 0 || i > vm->max)
		return NULL;
	baton_thread *t = vm->table[i];
	return t && t->where != T_FREE ? t : NULL;
}
