// SPDX-License-Identifier: MIT
/*
 * vm/hydra/prim_hydra.c: the primitives of class VM (st/kernel/89-VM.st)
 * and what a VM does when another head kicks it.
 *
 * Owns st_vm.hydra: this VM's record, the VM objects it made (one per
 * head it knows, so that VM current == VM current), and two Semaphores:
 * processes in VM receive wait on the first, processes waiting for room in
 * another head's inbox or for a head's end on the second. A primitive that
 * must wait makes the calling process wait there and answers 1; the
 * Smalltalk side then tries again, so a wake-up only ever means "look
 * again". A timed wait's timer answers true instead (sched_run_timers).
 */
#include <stdlib.h>
#include <string.h>

#include "baton/io.h"
#include "vm/hydra/hydra.h"
#include "vm/prim.h"
#include "vm/sched.h"

#define R_DONE 0  /* sent, taken */
#define R_AGAIN 1 /* the process waited and was woken: try again */
#define R_ENDED 2 /* the head has ended */
#define R_EMPTY 3 /* nothing now and no wait asked (timeout 0) */

static oop new_sem(struct st_vm *vm)
{
	oop cls = vm->classes[CI_SEMAPHORE];
	oop s = st_alloc_old(vm, CI_SEMAPHORE, OBJ_FMT_PTRS, (size_t)st_instsize(cls), 0, 0);
	if (s) {
		obj_body(s)[SEM_SIGNALS] = obj_from_int(0);
		obj_body(s)[SEM_FIRST] = vm->nil;
		obj_body(s)[SEM_LAST] = vm->nil;
	}
	return s;
}

static uint32_t class_index_of(struct st_vm *vm, const char *name)
{
	oop c = st_global(vm, name);
	return c == vm->nil || !obj_is_ptr(c) ? 0 : st_class_index(c);
}

/* This VM's Hydra state, made on first use; NULL: out of memory. */
static struct hydra_vm *setup(struct st_vm *vm)
{
	if (!hy_self(vm))
		return NULL;
	struct hydra_vm *x = vm->hydra;
	if (!x->vm_ci) {
		x->vm_ci = class_index_of(vm, "VM");
		x->dict_ci = class_index_of(vm, "Dictionary");
	}
	if (!x->recv_sem) {
		oop s = new_sem(vm);
		if (!s)
			return NULL;
		vm->hydra->recv_sem = s;
	}
	if (!x->dict_tag) {
		oop t = st_alloc_old(vm, CI_OBJECT, OBJ_FMT_PTRS, 0, 0, 0);
		if (!t)
			return NULL;
		vm->hydra->dict_tag = t;
	}
	if (!x->event_sem) {
		oop s = new_sem(vm);
		if (!s)
			return NULL;
		vm->hydra->event_sem = s;
	}
	vm->hy_notify = &x->self->notify;
	if (!x->loop_tried) {
		/*
		 * Where an idle head sleeps is where its program's work put
		 * it. Once its event loop is open (its I/O opens it), it
		 * sleeps in its ring, and another head wakes it with one
		 * IORING_OP_MSG_RING on the sender's ring. Before, it parks on
		 * its futex and a send wakes it with one FUTEX_WAKE. We do not
		 * open the loop for Hydra alone: a round trip between two
		 * sleeping heads took 7.0 us through the rings against 5.3 us
		 * through the futexes (a raw futex ping-pong: 5.0 us), see
		 * Documentation/vm/hydra-bench.md. BATON_HYDRA_RING=1 opens it
		 * all the same (tests, measurements).
		 */
		x->loop_tried = 1;
		const char *r = getenv("BATON_HYDRA_RING");
		if (r && !strcmp(r, "1"))
			baton_io_open(vm->core);
	}
	return x;
}

/* The VM object for [h] in this heap: the same one every time. 0: out of
 * memory. Its handle is the index in x->objs, so a forged one is caught. */
oop hy_vm_obj(struct st_vm *vm, struct hydra_head *h)
{
	struct hydra_vm *x = vm->hydra;
	for (size_t i = 0; i < x->nobjs; i++)
		if (x->objs[i].h == h)
			return x->objs[i].obj;
	if (x->nobjs == x->capobjs) {
		size_t cap = x->capobjs ? x->capobjs * 2 : 8;
		void *n = realloc(x->objs, cap * sizeof *x->objs);
		if (!n)
			return 0;
		x->objs = n;
		x->capobjs = cap;
	}
	oop cls = vm->classes[x->vm_ci];
	oop o = st_alloc_old(vm, x->vm_ci, OBJ_FMT_PTRS, (size_t)st_instsize(cls), 0, 0);
	if (!o)
		return 0;
	obj_body(o)[0] = obj_from_int((intptr_t)x->nobjs);
	obj_body(o)[1] = obj_from_int(h->id);
	hy_ref(h);
	x->objs[x->nobjs].h = h;
	x->objs[x->nobjs].obj = o;
	x->nobjs++;
	return o;
}

/* The head a VM object stands for, or NULL. */
struct hydra_head *hy_head_of(struct st_vm *vm, oop o)
{
	struct hydra_vm *x = vm->hydra;
	if (!obj_is_ptr(o) || obj_cls(o) != x->vm_ci || obj_slots(o) < 2)
		return NULL;
	oop hd = obj_body(o)[0];
	if (!obj_is_int(hd) || obj_int(hd) < 0 || (size_t)obj_int(hd) >= x->nobjs)
		return NULL;
	return x->objs[obj_int(hd)].h;
}

/* Makes the active process wait on [sem], [ms] at most (nil: no limit). */
static int wait_on(struct st_vm *vm, oop *args, oop sem, oop ms)
{
	args[0] = obj_from_int(R_AGAIN);
	uint64_t at = obj_is_int(ms) ? baton_now_ns() + (uint64_t)obj_int(ms) * 1000000u : 0;
	return sched_wait_until(vm, vm->active, sem, at);
}

static int answer(oop *args, oop v)
{
	args[0] = v;
	return PRIM_OK;
}

static int ok_ms(oop ms, oop nil)
{
	return ms == nil || (obj_is_int(ms) && obj_int(ms) >= 0);
}

/* VM class >> spawn: file arguments: anArray inbox: n (0: the default) */
PRIM(hydraSpawn)
{
	oop file = args[1], argv = args[2], cap = args[3];
	if (!obj_is_ptr(file) || (obj_cls(file) != CI_STRING && obj_cls(file) != CI_SYMBOL) ||
	    !obj_is_ptr(argv) || obj_cls(argv) != CI_ARRAY || !obj_is_int(cap) || obj_int(cap) < 0)
		return PRIM_FAIL;
	size_t argc = obj_slots(argv);
	for (size_t i = 0; i < argc; i++) {
		oop a = obj_body(argv)[i];
		if (!obj_is_ptr(a) || (obj_cls(a) != CI_STRING && obj_cls(a) != CI_SYMBOL))
			return PRIM_FAIL;
	}
	struct hydra_vm *x = setup(vm);
	if (!x || !x->vm_ci)
		return PRIM_OOM;
	char *f = st_cstring(args[1]);
	char **av = calloc(argc + 1, sizeof *av);
	int ok = f && av;
	for (size_t i = 0; ok && i < argc; i++)
		ok = (av[i] = st_cstring(obj_body(args[2])[i])) != NULL;
	struct hydra_head *h = NULL;
	if (ok)
		h = hy_spawn(x->self->grp, x->self, f, (int)argc, av, (long)obj_int(args[3]),
			     vm->max_threads);
	for (size_t i = 0; av && i < argc; i++)
		free(av[i]);
	free(av);
	free(f);
	if (!h)
		return PRIM_OOM;
	oop o = hy_vm_obj(vm, h);
	hy_unref(h);
	return o ? answer(args, o) : PRIM_OOM;
}

/* VM class >> current */
PRIM(hydraCurrent)
{
	struct hydra_vm *x = setup(vm);
	if (!x || !x->vm_ci)
		return PRIM_OOM;
	oop o = hy_vm_obj(vm, x->self);
	return o ? answer(args, o) : PRIM_OOM;
}

/* VM class >> parent */
PRIM(hydraParent)
{
	struct hydra_vm *x = setup(vm);
	if (!x || !x->vm_ci)
		return PRIM_OOM;
	if (!x->self->parent)
		return answer(args, vm->nil);
	oop o = hy_vm_obj(vm, x->self->parent);
	return o ? answer(args, o) : PRIM_OOM;
}

/* aVM primSend: message timeout: ms -- 0 sent, 1 waited (again), true
 * timed out, 2 ended, 3 full (ms = 0), a String: why it cannot be sent */
PRIM(hydraSend)
{
	struct hydra_vm *x = setup(vm);
	if (!x || !x->vm_ci)
		return PRIM_OOM;
	struct hydra_head *to = hy_head_of(vm, args[0]);
	if (!to || !ok_ms(args[2], vm->nil) || !vm->active)
		return PRIM_FAIL;
	char why[256];
	struct hy_msg *m = hy_encode(vm, args[1], why, sizeof why);
	if (!m) {
		oop s = prim_string(vm, why);
		return s ? answer(args, s) : PRIM_OOM;
	}
	hy_ref(x->self);
	m->from = x->self;
	for (int tries = 0;; tries++) {
		int r = hy_post(to, m, vm->core);
		if (r == 1)
			return answer(args, obj_from_int(R_DONE));
		if (r < 0 || tries == 1 || args[2] == obj_from_int(0))
			break;
		/* full: ask to be told of room, then look once more (the
		 * recipient frees a slot, then looks for subscribers) */
		if (hy_subscribe(&to->room_subs, x->self) < 0)
			break;
	}
	hy_msg_free(m);
	if (atomic_load(&to->state) == HY_ENDED)
		return answer(args, obj_from_int(R_ENDED));
	if (args[2] == obj_from_int(0))
		return answer(args, obj_from_int(R_EMPTY));
	return wait_on(vm, args, x->event_sem, args[2]);
}

/* Takes the next message and rebuilds it in this heap: 1 with it in
 * *[msg], its sender's VM in *[from] (nil: sent from C; nil too unless
 * [with_from] or the message has Dictionaries), whether Dictionaries
 * need rebuilding in *[dicts]; 0: none; -1: out of memory (the message
 * is lost: the heap is full). */
static int take(struct st_vm *vm, struct hydra_vm *x, int with_from, oop *msg, oop *from,
		int *dicts)
{
	struct hy_msg *m = hy_take(x->self, vm->core);
	if (!m)
		return 0;
	*dicts = 0;
	oop o = hy_decode(vm, m, &x->dict_tag, dicts);
	oop f = vm->nil;
	if (o && m->from && (with_from || *dicts)) {
		ST_ROOT(vm, o);
		f = hy_vm_obj(vm, m->from);
		ST_UNROOT(vm, 1);
	}
	hy_msg_free(m);
	if (!o || !f)
		return -1;
	*msg = o;
	*from = f;
	return 1;
}

/* VM class primReceiveInto: box timeout: ms -- 0 taken (box:
 * message, sender or nil, whether Dictionaries need rebuilding), 1 waited,
 * true timed out, 3 empty (ms = 0) */
PRIM(hydraReceive)
{
	struct hydra_vm *x = setup(vm);
	if (!x)
		return PRIM_OOM;
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_ARRAY || obj_slots(args[1]) < 3 ||
	    !ok_ms(args[2], vm->nil) || !vm->active)
		return PRIM_FAIL;
	if (x->pending) {
		st_put(vm, args[1], 0, x->pending);
		st_put(vm, args[1], 1, x->pending_from);
		st_put(vm, args[1], 2, vm->true_);
		x->pending = x->pending_from = 0;
		return answer(args, obj_from_int(R_DONE));
	}
	int dicts;
	oop msg, from;
	int r = take(vm, x, 1, &msg, &from, &dicts);
	if (r == 0) {
		if (args[2] == obj_from_int(0))
			return answer(args, obj_from_int(R_EMPTY));
		return wait_on(vm, args, x->recv_sem, args[2]);
	}
	if (r < 0)
		return PRIM_OOM;
	st_put(vm, args[1], 0, msg);
	st_put(vm, args[1], 1, from);
	st_put(vm, args[1], 2, st_bool(vm, dicts));
	return answer(args, obj_from_int(R_DONE));
}

/* VM class >> receive, the common case in one step: the next message if
 * there is one and it needs no rebuilding; else the primitive fails and
 * the Smalltalk side takes the general path (a message taken here that
 * has Dictionaries waits for it in x->pending). */
static int receive_now(struct st_vm *vm, oop *args, int wait)
{
	struct hydra_vm *x = setup(vm);
	if (!x || x->pending || !vm->active)
		return PRIM_FAIL;
	int dicts;
	oop msg, from;
	int r = take(vm, x, 0, &msg, &from, &dicts);
	if (r == 0) {
		if (!wait)
			return PRIM_FAIL;
		r = wait_on(vm, args, x->recv_sem, vm->nil);
		args[0] = x->dict_tag; /* "woken: look again" (never a message) */
		return r;
	}
	if (r < 0)
		return PRIM_OOM;
	if (dicts) {
		x->pending = msg;
		x->pending_from = from;
		return PRIM_FAIL;
	}
	return answer(args, msg);
}

PRIM(hydraReceiveNow) { return receive_now(vm, args, 0); }

/* VM class >> primReceiveWaiting: the same, but with no message the
 * process waits for one and answers VM dictTag (look again). */
PRIM(hydraReceiveWait) { return receive_now(vm, args, 1); }

/* aVM send: message, the common case in one step: answers the message
 * once it is in the inbox; else the primitive fails, and the Smalltalk
 * side takes the general path (errors, a full inbox). */
PRIM(hydraSendNow)
{
	struct hydra_vm *x = setup(vm);
	if (!x || !x->vm_ci)
		return PRIM_FAIL;
	struct hydra_head *to = hy_head_of(vm, args[0]);
	if (!to)
		return PRIM_FAIL;
	char why[256];
	struct hy_msg *m = hy_encode(vm, args[1], why, sizeof why);
	if (!m)
		return PRIM_FAIL;
	hy_ref(x->self);
	m->from = x->self;
	if (hy_post(to, m, vm->core) == 1)
		return answer(args, args[1]);
	hy_msg_free(m);
	return PRIM_FAIL;
}

/* aVM primWait -- the exit status, or 1 negated: waited, look again */
PRIM(hydraWait)
{
	struct hydra_vm *x = setup(vm);
	if (!x)
		return PRIM_OOM;
	struct hydra_head *h = hy_head_of(vm, args[0]);
	if (!h || !vm->active)
		return PRIM_FAIL;
	if (h == x->self)
		return PRIM_FAIL; /* a VM waiting for itself: the Smalltalk side says so */
	if (!atomic_load(&h->done) && hy_subscribe(&h->exit_subs, x->self) < 0)
		return PRIM_OOM;
	if (atomic_load(&h->done))
		return answer(args, obj_from_int(atomic_load(&h->status)));
	int r = wait_on(vm, args, x->event_sem, vm->nil);
	args[0] = obj_from_int(-1);
	return r;
}

/* VM class >> dictTag: the mark of a Dictionary on its way (msg.c) */
PRIM(hydraDictTag)
{
	struct hydra_vm *x = setup(vm);
	return x ? answer(args, x->dict_tag) : PRIM_OOM;
}

/* aVM primTerminate */
PRIM(hydraTerminate)
{
	struct hydra_vm *x = setup(vm);
	if (!x)
		return PRIM_OOM;
	struct hydra_head *h = hy_head_of(vm, args[0]);
	if (!h)
		return PRIM_FAIL;
	if (h == x->self) {
		vm->quit = 1;
		vm->quit_code = HY_STATUS_TERMINATED;
		return PRIM_QUIT;
	}
	hy_terminate(h, vm->core);
	return PRIM_OK;
}

/* aVM primIsRunning */
PRIM(hydraIsRunning)
{
	if (!setup(vm))
		return PRIM_OOM;
	struct hydra_head *h = hy_head_of(vm, args[0]);
	if (!h)
		return PRIM_FAIL;
	return answer(args, st_bool(vm, !atomic_load(&h->done)));
}

/* aVM primInboxSize: messages waiting in its inbox now */
PRIM(hydraInboxSize)
{
	if (!setup(vm))
		return PRIM_OOM;
	struct hydra_head *h = hy_head_of(vm, args[0]);
	if (!h)
		return PRIM_FAIL;
	return answer(args, obj_from_int(atomic_load(&h->count)));
}

/* ---- kicks ------------------------------------------------------------------------- */

static void wake_all(struct st_vm *vm, oop sem)
{
	while (obj_is_int(obj_body(sem)[SEM_FIRST]))
		sched_signal(vm, sem);
}

void hy_drain(struct st_vm *vm)
{
	struct hydra_vm *x = vm->hydra;
	unsigned bits = atomic_exchange(vm->hy_notify, 0);
	if (!x)
		return;
	if ((bits & HY_MSG) && x->recv_sem)
		wake_all(vm, x->recv_sem);
	if ((bits & HY_EVENT) && x->event_sem)
		wake_all(vm, x->event_sem);
	if ((bits & HY_TERM) && !vm->quit) {
		vm->quit = 1;
		vm->quit_code = HY_STATUS_TERMINATED;
	}
}

static int has_waiters(oop sem)
{
	return sem && obj_is_int(obj_body(sem)[SEM_FIRST]);
}

int hy_keeps_alive(struct st_vm *vm)
{
	struct hydra_vm *x = vm->hydra;
	if (!x || !x->self)
		return 0;
	if (vm->hy_notify && atomic_load(vm->hy_notify))
		return 1; /* a kick not looked at yet */
	if (!has_waiters(x->recv_sem) && !has_waiters(x->event_sem))
		return 0;
	/* someone may still send, make room or end */
	return atomic_load(&x->self->grp->running) > 1 || atomic_load(&x->self->count) > 0;
}

void hy_roots(struct st_vm *vm, void (*visit)(oop *slot, void *ud), void *ud)
{
	struct hydra_vm *x = vm->hydra;
	if (!x)
		return;
	if (x->recv_sem)
		visit(&x->recv_sem, ud);
	if (x->event_sem)
		visit(&x->event_sem, ud);
	if (x->dict_tag)
		visit(&x->dict_tag, ud);
	if (x->pending) {
		visit(&x->pending, ud);
		visit(&x->pending_from, ud);
	}
	for (size_t i = 0; i < x->nobjs; i++)
		visit(&x->objs[i].obj, ud);
}

void hy_free_vm(struct st_vm *vm)
{
	struct hydra_vm *x = vm->hydra;
	if (!x)
		return;
	for (size_t i = 0; i < x->nobjs; i++)
		hy_unref(x->objs[i].h);
	free(x->objs);
	if (x->self)
		hy_unref(x->self);
	free(x);
	vm->hydra = NULL;
	vm->hy_notify = NULL;
}
