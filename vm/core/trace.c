// SPDX-License-Identifier: MIT
/*
 * vm/core/trace.c: the in-VM ownership timeline (`baton --trace FILE`).
 *
 * Owns the trace state hung off the VM (vm->tr): one append-only event
 * buffer per VM thread index, written without a lock by that thread alone
 * (a chunk list: the writer fills a slot, then publishes the count with a
 * release store; a reader takes the count with an acquire load), plus one
 * track for the heartbeat and for threads outside the VM, under a mutex;
 * the string table (process and function names); the handoff flow ids.
 * It writes Chrome trace-event JSON (Perfetto, chrome://tracing) at
 * baton_trace_flush() and at baton_vm_free(). Off, it costs the core's slow
 * paths one test of vm->tr each and the fast paths nothing.
 * See Documentation/core/tracing.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-iface/clock.h"
#include "vm/core/core.h"
#include "vm/core/trace.h"

#define CHUNK 4096
#define HB_TID 1000000000
#define MAX_EVENTS_PER_TRACK (8u << 20) /* then events are dropped and counted */

struct ev {
	uint64_t ts;
	uint64_t arg;
	uint32_t name;
	uint32_t kind;
};

struct chunk {
	_Atomic(struct chunk *) next;
	_Atomic unsigned n;
	struct ev ev[CHUNK];
};

struct track {
	struct chunk *_Atomic head;
	struct chunk *tail; /* writer's */
	unsigned total;     /* writer's */
	_Atomic int tid;
	/* the writer's view of its open top-level span */
	int top;
	uint32_t top_name;
	_Atomic uint64_t dropped;
	/* a handoff flow id left by the giver for this thread (0: none) */
	_Atomic uint64_t flow_in;
	/* the function of this thread's current callout (for blocked) */
	_Atomic uint32_t callout;
};

struct baton_trace {
	char *path;
	uint64_t t0;
	unsigned ntracks;        /* vm->max + 1: [0] is the heartbeat's */
	struct track *tracks;
	pthread_mutex_t lock;    /* track 0, the names, flushing */
	_Atomic uint64_t flows;
	char **names;            /* [0] unused */
	unsigned nnames, capnames;
	uint32_t *hash;          /* open addressing: name ids, 0 empty */
	unsigned hcap;
};

/* ---- names ------------------------------------------------------------------ */

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int grow_hash(struct baton_trace *tr)
{
	unsigned cap = tr->hcap ? tr->hcap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof *h);
	if (!h)
		return -1;
	for (unsigned id = 1; id < tr->nnames; id++) {
		uint32_t k = fnv(tr->names[id], strlen(tr->names[id])) & (cap - 1);
		while (h[k])
			k = (k + 1) & (cap - 1);
		h[k] = id;
	}
	free(tr->hash);
	tr->hash = h;
	tr->hcap = cap;
	return 0;
}

/* tr->lock held. */
static uint32_t intern_locked(struct baton_trace *tr, const char *s, size_t n)
{
	if (tr->nnames * 2 + 2 >= tr->hcap && grow_hash(tr) < 0)
		return 0;
	uint32_t k = fnv(s, n) & (tr->hcap - 1);
	for (; tr->hash[k]; k = (k + 1) & (tr->hcap - 1)) {
		const char *x = tr->names[tr->hash[k]];
		if (strlen(x) == n && !memcmp(x, s, n))
			return tr->hash[k];
	}
	if (tr->nnames >= tr->capnames) {
		unsigned cap = tr->capnames ? tr->capnames * 2 : 64;
		char **nn = realloc(tr->names, cap * sizeof *nn);
		if (!nn)
			return 0;
		tr->names = nn;
		tr->capnames = cap;
	}
	char *c = malloc(n + 1);
	if (!c)
		return 0;
	memcpy(c, s, n);
	c[n] = 0;
	uint32_t id = tr->nnames++;
	tr->names[id] = c;
	tr->hash[k] = id;
	return id;
}

uint32_t baton_trace_name(baton_vm *vm, const char *s, size_t len)
{
	struct baton_trace *tr = vm ? vm->tr : NULL;
	if (!tr || !s)
		return 0;
	pthread_mutex_lock(&tr->lock);
	uint32_t id = intern_locked(tr, s, len);
	pthread_mutex_unlock(&tr->lock);
	return id;
}

/* ---- recording --------------------------------------------------------------- */

static void append(struct track *k, uint64_t ts, int kind, uint32_t name, uint64_t arg)
{
	if (k->total >= MAX_EVENTS_PER_TRACK) {
		atomic_fetch_add_explicit(&k->dropped, 1, memory_order_relaxed);
		return;
	}
	struct chunk *c = k->tail;
	unsigned n = c ? atomic_load_explicit(&c->n, memory_order_relaxed) : CHUNK;
	if (n == CHUNK) {
		struct chunk *nc = malloc(sizeof *nc);
		if (!nc) {
			atomic_fetch_add_explicit(&k->dropped, 1, memory_order_relaxed);
			return;
		}
		atomic_store_explicit(&nc->next, NULL, memory_order_relaxed);
		atomic_store_explicit(&nc->n, 0, memory_order_relaxed);
		if (c)
			atomic_store_explicit(&c->next, nc, memory_order_release);
		else
			atomic_store_explicit(&k->head, nc, memory_order_release);
		k->tail = c = nc;
		n = 0;
	}
	c->ev[n] = (struct ev){.ts = ts, .arg = arg, .name = name, .kind = (uint32_t)kind};
	atomic_store_explicit(&c->n, n + 1, memory_order_release);
	k->total++;
}

/* [t]'s own track (lock-free: only t writes it), or the shared one. */
static void record(baton_vm *vm, baton_thread *t, int kind, uint32_t name, uint64_t arg)
{
	struct baton_trace *tr = vm->tr;
	uint64_t now = kif_now_ns();
	if (t && t->hot.index < tr->ntracks) {
		struct track *k = &tr->tracks[t->hot.index];
		if (!atomic_load_explicit(&k->tid, memory_order_relaxed))
			atomic_store_explicit(&k->tid, kif_gettid(), memory_order_relaxed);
		append(k, now, kind, name, arg);
		return;
	}
	pthread_mutex_lock(&tr->lock);
	struct track *k = &tr->tracks[0];
	if (!atomic_load_explicit(&k->tid, memory_order_relaxed))
		atomic_store_explicit(&k->tid, kif_gettid(), memory_order_relaxed);
	append(k, kif_now_ns(), kind, name, arg);
	pthread_mutex_unlock(&tr->lock);
}

void trace_ev(baton_vm *vm, baton_thread *t, int kind, uint32_t name, uint64_t arg)
{
	if (kind == TR_BLOCKED && arg < vm->tr->ntracks)
		name = atomic_load_explicit(&vm->tr->tracks[arg].callout, memory_order_relaxed);
	record(vm, t, kind, name, arg);
}

void trace_top(baton_vm *vm, baton_thread *t, int kind, uint32_t name)
{
	struct baton_trace *tr = vm->tr;
	if (!t || t->hot.index >= tr->ntracks)
		return;
	struct track *k = &tr->tracks[t->hot.index];
	if (k->top == kind && k->top_name == name)
		return;
	if (k->top != TR_NONE)
		record(vm, t, TR_END_MARK, 0, 0);
	if (kind != TR_NONE)
		record(vm, t, kind, name, 0);
	k->top = kind;
	k->top_name = name;
}

void trace_give(baton_vm *vm, uint32_t from, baton_thread *to)
{
	struct baton_trace *tr = vm->tr;
	uint64_t id = atomic_fetch_add_explicit(&tr->flows, 1, memory_order_relaxed) + 1;
	if (to->hot.index < tr->ntracks)
		atomic_store_explicit(&tr->tracks[to->hot.index].flow_in, id, memory_order_relaxed);
	baton_thread *g = from && from <= vm->max ? vm->table[from] : NULL;
	record(vm, g, TR_GIVE, 0, id << 16 | to->hot.index);
}

void trace_take(baton_vm *vm, baton_thread *t)
{
	struct baton_trace *tr = vm->tr;
	if (t->hot.index >= tr->ntracks)
		return;
	uint64_t id = atomic_exchange_explicit(&tr->tracks[t->hot.index].flow_in, 0,
					       memory_order_relaxed);
	if (id)
		record(vm, t, TR_TAKE, 0, id);
}

/* ---- the embedder's half (include/baton.h) -------------------------------------- */

int baton_trace_start(baton_vm *vm, const char *path)
{
	if (!vm || !path || !*path)
		return -EINVAL;
	if (vm->tr)
		return -EBUSY;
	struct baton_trace *tr = calloc(1, sizeof *tr);
	if (!tr)
		return -ENOMEM;
	tr->ntracks = vm->max + 1;
	tr->tracks = calloc(tr->ntracks, sizeof *tr->tracks);
	tr->path = strdup(path);
	tr->nnames = 1;
	if (!tr->tracks || !tr->path || pthread_mutex_init(&tr->lock, NULL)) {
		free(tr->tracks);
		free(tr->path);
		free(tr);
		return -ENOMEM;
	}
	tr->t0 = kif_now_ns();
	/* the file must be writable: say so now, not at exit */
	FILE *f = fopen(path, "w");
	if (!f) {
		int e = errno;
		pthread_mutex_destroy(&tr->lock);
		free(tr->tracks);
		free(tr->path);
		free(tr);
		return -e;
	}
	fclose(f);
	atomic_store_explicit(&vm->tr, tr, memory_order_release);
	/* the threads that own or wait now: the rest announce themselves */
	for (unsigned i = 1; i <= vm->max; i++)
		if (vm->table[i] && vm->table[i]->where == T_OWNING &&
		    atomic_load(&vm->hot.owner) == i)
			trace_top(vm, vm->table[i], TR_RUN, 0);
	return 0;
}

int baton_trace_on(baton_vm *vm)
{
	return vm && vm->tr;
}

void baton_trace_run(baton_vm *vm, baton_thread *t, uint32_t name)
{
	if (vm && vm->tr)
		trace_top(vm, t, TR_RUN, name);
}

void baton_trace_callout(baton_vm *vm, baton_thread *t, const char *fn)
{
	if (!vm || !vm->tr || !t)
		return;
	if (t->hot.index >= vm->tr->ntracks)
		return;
	struct track *k = &vm->tr->tracks[t->hot.index];
	/* fn NULL: the same call again (after a callback returned into it) */
	uint32_t id = fn ? baton_trace_name(vm, fn, strlen(fn))
			 : atomic_load_explicit(&k->callout, memory_order_relaxed);
	atomic_store_explicit(&k->callout, id, memory_order_relaxed);
	trace_top(vm, t, TR_CALLOUT, id);
}

void baton_trace_callout_end(baton_vm *vm, baton_thread *t)
{
	if (vm && vm->tr)
		trace_top(vm, t, TR_NONE, 0);
}

void baton_trace_gc(baton_vm *vm, baton_thread *t, int full, int end, uint64_t bytes)
{
	if (!vm || !vm->tr || !t)
		return;
	record(vm, t, end ? TR_GC_E : TR_GC_B, full ? 2 : 1, bytes);
}

void baton_trace_io(baton_vm *vm, baton_thread *t, int complete, uint64_t n)
{
	if (vm && vm->tr)
		record(vm, t, complete ? TR_IO_COMPLETE : TR_IO_SUBMIT, 0, n);
}

/* The core's own I/O calls come from the owner. */
void trace_io(baton_vm *vm, int complete, uint64_t n)
{
	uint32_t o = atomic_load_explicit(&vm->hot.owner, memory_order_relaxed);
	baton_thread *t = o && o <= vm->max ? vm->table[o] : NULL;
	record(vm, t, complete ? TR_IO_COMPLETE : TR_IO_SUBMIT, 0, n);
}

/* ---- writing the file ------------------------------------------------------------ */

struct out {
	FILE *f;
	int first;
	int pid;
	uint64_t t0;
};

/* Length of the valid UTF-8 sequence at [s] (1-4), or 0. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string: names come from the program (a process's name:), so any
 * byte that is not valid UTF-8 becomes U+FFFD. */
static void jstr(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		unsigned char c = *s;
		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			s++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			s++;
		} else if (c < 0x80) {
			fputc(c, f);
			s++;
		} else {
			int n = utf8_len(s);
			if (n) {
				fwrite(s, 1, (size_t)n, f);
				s += n;
			} else {
				fputs("\\ufffd", f);
				s++;
			}
		}
	}
	fputc('"', f);
}

/* Opens one event object: the fields every event has. */
static void head(struct out *o, const char *ph, const char *cat, const char *name, int tid,
		 uint64_t ts)
{
	uint64_t rel = ts > o->t0 ? ts - o->t0 : 0;
	fprintf(o->f, "%s\n{\"ph\":\"%s\",\"cat\":\"%s\",\"name\":", o->first ? "" : ",", ph, cat);
	jstr(o->f, name);
	fprintf(o->f, ",\"pid\":%d,\"tid\":%d,\"ts\":%llu.%03llu", o->pid, tid,
		(unsigned long long)(rel / 1000), (unsigned long long)(rel % 1000));
	o->first = 0;
}

static const char *top_cat(int kind)
{
	switch (kind) {
	case TR_RUN: return "own";
	case TR_CALLOUT: return "callout";
	case TR_WAIT: return "wait";
	case TR_PARK: return "park";
	case TR_LOOP: return "loop";
	default: return "?";
	}
}

/* The published events of track [i], in a fresh array (track 0 sorted:
 * several threads write it). */
static struct ev *snapshot(struct baton_trace *tr, unsigned i, size_t *n)
{
	size_t cap = 0, len = 0;
	struct ev *v = NULL;
	for (struct chunk *c = atomic_load_explicit(&tr->tracks[i].head, memory_order_acquire); c;
	     c = atomic_load_explicit(&c->next, memory_order_acquire)) {
		unsigned m = atomic_load_explicit(&c->n, memory_order_acquire);
		if (len + m > cap) {
			cap = (len + m) * 2;
			struct ev *nv = realloc(v, cap * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		memcpy(v + len, c->ev, m * sizeof *v);
		len += m;
	}
	if (i == 0) {
		/* nearly sorted (threads take the lock after the clock): an
		 * insertion sort, stable, keeps equal timestamps in order */
		for (size_t j = 1; j < len; j++) {
			struct ev e = v[j];
			size_t k = j;
			while (k > 0 && v[k - 1].ts > e.ts) {
				v[k] = v[k - 1];
				k--;
			}
			v[k] = e;
		}
	}
	*n = len;
	return v;
}

static const char *name_of(struct baton_trace *tr, uint32_t id, const char *dflt)
{
	return id && id < tr->nnames ? tr->names[id] : dflt;
}

static void write_track(struct out *o, struct baton_trace *tr, unsigned i, uint64_t now)
{
	size_t n = 0;
	struct ev *v = snapshot(tr, i, &n);
	int os_tid = atomic_load(&tr->tracks[i].tid);
	if (!n || !os_tid) {
		free(v);
		return;
	}
	/* The shared track is written by the heartbeat and by VM threads
	 * releasing the VM: a tid no Linux thread has (they stay < 2^22). */
	int tid = i ? os_tid : HB_TID;
	char buf[160];
	head(o, "M", "__metadata", "thread_name", tid, tr->t0);
	if (i)
		snprintf(buf, sizeof buf, "VM thread %u", i);
	else
		snprintf(buf, sizeof buf, "heartbeat");
	fprintf(o->f, ",\"args\":{\"name\":");
	jstr(o->f, buf);
	fprintf(o->f, "}}");
	head(o, "M", "__metadata", "thread_sort_index", tid, tr->t0);
	fprintf(o->f, ",\"args\":{\"sort_index\":%u}}", i ? i : tr->ntracks);
	int top = TR_NONE, gc = 0;
	uint64_t last = 0;
	for (size_t j = 0; j < n; j++) {
		struct ev *e = &v[j];
		last = e->ts;
		switch (e->kind) {
		case TR_RUN: case TR_CALLOUT: case TR_WAIT: case TR_PARK: case TR_LOOP:
			if (top != TR_NONE) { /* never: END_MARK comes first */
				head(o, "E", top_cat(top), "", tid, e->ts);
				fputc('}', o->f);
			}
			top = (int)e->kind;
			if (e->kind == TR_RUN)
				snprintf(buf, sizeof buf, "%s", name_of(tr, e->name, "VM"));
			else if (e->kind == TR_CALLOUT)
				snprintf(buf, sizeof buf, "callout %s", name_of(tr, e->name, "?"));
			else
				snprintf(buf, sizeof buf, "%s",
					 e->kind == TR_WAIT ? "wait to own" :
					 e->kind == TR_PARK ? "parked" : "idle in event loop");
			head(o, "B", top_cat(top), buf, tid, e->ts);
			fputc('}', o->f);
			break;
		case TR_END_MARK:
			if (top == TR_NONE)
				break;
			while (gc > 0) { /* a GC span cannot outlive its owner's span */
				head(o, "E", "gc", "", tid, e->ts);
				fputc('}', o->f);
				gc--;
			}
			head(o, "E", top_cat(top), "", tid, e->ts);
			fputc('}', o->f);
			top = TR_NONE;
			break;
		case TR_GC_B:
			head(o, "B", "gc", e->name == 2 ? "full GC" : "scavenge", tid, e->ts);
			fprintf(o->f, ",\"args\":{\"bytes\":%llu}}", (unsigned long long)e->arg);
			gc++;
			break;
		case TR_GC_E:
			if (!gc)
				break;
			head(o, "E", "gc", "", tid, e->ts);
			fprintf(o->f, ",\"args\":{\"bytes\":%llu}}", (unsigned long long)e->arg);
			gc--;
			break;
		case TR_BEAT:
			head(o, "i", "heartbeat", "beat", tid, e->ts);
			fprintf(o->f, ",\"s\":\"t\",\"args\":{\"expirations\":%llu}}",
				(unsigned long long)e->arg);
			break;
		case TR_BLOCKED:
			snprintf(buf, sizeof buf, "blocked: %s", name_of(tr, e->name, "callout"));
			head(o, "i", "blocked", buf, tid, e->ts);
			fprintf(o->f, ",\"s\":\"p\",\"args\":{\"thread\":%llu}}",
				(unsigned long long)e->arg);
			break;
		case TR_ACTIVATE:
		case TR_CREATE:
			snprintf(buf, sizeof buf, "%s %llu",
				 e->kind == TR_ACTIVATE ? "activate thread" : "new VM thread",
				 (unsigned long long)e->arg);
			head(o, "i", e->kind == TR_ACTIVATE ? "activate" : "create", buf, tid, e->ts);
			fprintf(o->f, ",\"s\":\"t\",\"args\":{\"thread\":%llu}}",
				(unsigned long long)e->arg);
			break;
		case TR_GIVE:
			snprintf(buf, sizeof buf, "handoff to %llu",
				 (unsigned long long)(e->arg & 0xffff));
			/* the flow binds to the slice around it: on a VM thread the
			 * span it runs; the heartbeat's track has none, so there
			 * the marker lasts a microsecond */
			head(o, "X", "handoff", buf, tid, e->ts);
			fprintf(o->f, ",\"dur\":%d,\"args\":{\"to\":%llu,\"flow\":%llu}}", i ? 0 : 1,
				(unsigned long long)(e->arg & 0xffff), (unsigned long long)(e->arg >> 16));
			head(o, "s", "handoff", "handoff", tid, e->ts);
			fprintf(o->f, ",\"id\":%llu}", (unsigned long long)(e->arg >> 16));
			break;
		case TR_TAKE:
			head(o, "f", "handoff", "handoff", tid, e->ts);
			fprintf(o->f, ",\"bp\":\"e\",\"id\":%llu}", (unsigned long long)e->arg);
			break;
		case TR_IO_SUBMIT:
		case TR_IO_COMPLETE:
			head(o, "i", "io", e->kind == TR_IO_SUBMIT ? "io submit" : "io complete", tid,
			     e->ts);
			fprintf(o->f, ",\"s\":\"t\",\"args\":{\"n\":%llu}}", (unsigned long long)e->arg);
			break;
		default:
			break;
		}
	}
	/* what is still open ends at the flush */
	uint64_t end = now > last ? now : last;
	for (; gc > 0; gc--) {
		head(o, "E", "gc", "", tid, end);
		fputc('}', o->f);
	}
	if (top != TR_NONE) {
		head(o, "E", top_cat(top), "", tid, end);
		fputc('}', o->f);
	}
	free(v);
}

int baton_trace_flush(baton_vm *vm)
{
	struct baton_trace *tr = vm ? vm->tr : NULL;
	if (!tr)
		return 0;
	size_t plen = strlen(tr->path);
	char *tmp = malloc(plen + 8);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, plen + 8, "%s.tmp", tr->path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		int e = errno;
		fprintf(stderr, "baton: --trace %s: %s\n", tmp, strerror(e));
		free(tmp);
		return -e;
	}
	pthread_mutex_lock(&tr->lock);
	uint64_t now = kif_now_ns();
	struct out o = {.f = f, .first = 1, .pid = getpid(), .t0 = tr->t0};
	uint64_t dropped = 0;
	fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
	head(&o, "M", "__metadata", "process_name", 0, tr->t0);
	/* tid 0 would name the process's main thread; fix it up */
	fputs(",\"args\":{\"name\":\"baton\"}}", f);
	for (unsigned i = 1; i < tr->ntracks; i++) {
		write_track(&o, tr, i, now);
		dropped += atomic_load(&tr->tracks[i].dropped);
	}
	write_track(&o, tr, 0, now);
	dropped += atomic_load(&tr->tracks[0].dropped);
	fprintf(f, "\n],\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\",\"t0_ns\":%llu,"
		   "\"dropped_events\":%llu,\"handoffs\":%llu}}\n",
		(unsigned long long)tr->t0, (unsigned long long)dropped,
		(unsigned long long)atomic_load(&tr->flows));
	pthread_mutex_unlock(&tr->lock);
	int err = ferror(f);
	if (fclose(f) || err) {
		fprintf(stderr, "baton: --trace %s: write error\n", tmp);
		unlink(tmp);
		free(tmp);
		return -EIO;
	}
	if (rename(tmp, tr->path) < 0) {
		int e = errno;
		fprintf(stderr, "baton: --trace %s: %s\n", tr->path, strerror(e));
		unlink(tmp);
		free(tmp);
		return -e;
	}
	free(tmp);
	return 0;
}

void trace_close(baton_vm *vm)
{
	struct baton_trace *tr = vm->tr;
	if (!tr)
		return;
	baton_trace_flush(vm);
	atomic_store(&vm->tr, NULL);
	for (unsigned i = 0; i < tr->ntracks; i++) {
		struct chunk *c = atomic_load(&tr->tracks[i].head);
		while (c) {
			struct chunk *nx = atomic_load(&c->next);
			free(c);
			c = nx;
		}
	}
	for (unsigned i = 1; i < tr->nnames; i++)
		free(tr->names[i]);
	free(tr->names);
	free(tr->hash);
	free(tr->tracks);
	free(tr->path);
	pthread_mutex_destroy(&tr->lock);
	free(tr);
}
