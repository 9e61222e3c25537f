// SPDX-License-Identifier: MIT
/*
 * vm/io/req.c: the request table of the SystemIO primitives. Owns the
 * life of a request: a slot (tag = generation << 32 | slot), the process
 * parked on it in PS_IOWAIT, its pinned object or C buffer, its optional
 * timeout, the completions that answer it (harvested without a system
 * call at process switches, interrupt checks and idle returns), the
 * cancellation of a killed process's request, and the per-descriptor
 * records: who waits on a descriptor (close: cancels them) and the
 * connections a multishot accept queued that nobody asked for yet.
 * See Documentation/vm/io.md ("Inside the VM").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/grow.h"
#include "vm/io/io_int.h"

/* ---- slots ---------------------------------------------------------------- */

struct vio *vio_get(struct st_vm *vm)
{
	if (!vm->vio)
		vm->vio = calloc(1, sizeof *vm->vio);
	return vm->vio;
}

struct vreq *vio_new(struct st_vm *vm, int kind, int fd)
{
	struct vio *v = vm->core ? vio_get(vm) : NULL; /* no loop without the core */
	if (!v)
		return NULL;
	int s;
	if (v->free) {
		s = v->free - 1;
		v->free = v->r[s].free_next;
	} else {
		if (v->nr == v->cap && !GROW(v->r, v->cap, (size_t)v->nr + 1, 64))
			return NULL;
		s = v->nr++;
		v->r[s].gen = 0;
	}
	struct vreq *r = &v->r[s];
	/* generations stay below 2^31: a tag never reaches the loop's own */
	uint32_t gen = r->gen >= 0x7fffffffu ? 1 : r->gen + 1;
	memset(r, 0, sizeof *r);
	r->gen = gen;
	r->used = 1;
	r->kind = (uint8_t)kind;
	r->fd = fd;
	r->off = BATON_IO_CUR_POS;
	return r;
}

static struct vreq *slot_req(struct st_vm *vm, int s1)
{
	return s1 ? &vm->vio->r[s1 - 1] : NULL;
}

void vio_drop(struct st_vm *vm, struct vreq *r)
{
	struct vio *v = vm->vio;
	r->used = 0;
	r->free_next = v->free;
	v->free = vio_slot(vm, r) + 1;
}

int vio_queued(struct st_vm *vm, struct vreq *r, int e)
{
	if (e < 0)
		return e;
	r->main_live = 1;
	vm->io_inflight++;
	vm->io_unflushed = 1;
	return 0;
}

/* ---- descriptors ---------------------------------------------------------- */

struct vfd *vio_fd(struct st_vm *vm, int fd, int make)
{
	struct vio *v = vio_get(vm);
	if (!v || fd < 0)
		return NULL;
	if (fd >= v->nfds) {
		if (!make)
			return NULL;
		size_t cap = (size_t)v->nfds;
		if (!GROW(v->fds, cap, (size_t)fd + 1, 64))
			return NULL;
		memset(v->fds + v->nfds, 0, (cap - (size_t)v->nfds) * sizeof *v->fds);
		v->nfds = (int)cap;
	}
	return &v->fds[fd];
}

int vio_link_fd(struct st_vm *vm, struct vreq *r)
{
	struct vfd *d = vio_fd(vm, r->fd, 1);
	if (!d)
		return 0;
	int *p = &d->head;
	while (*p)
		p = &slot_req(vm, *p)->fd_next;
	*p = vio_slot(vm, r) + 1;
	r->fd_next = 0;
	r->linked = 1;
	return 1;
}

static void unlink_fd(struct st_vm *vm, struct vreq *r)
{
	if (!r->linked)
		return;
	r->linked = 0;
	struct vfd *d = vio_fd(vm, r->fd, 0);
	if (!d)
		return;
	int me = vio_slot(vm, r) + 1;
	for (int *p = &d->head; *p; p = &slot_req(vm, *p)->fd_next)
		if (*p == me) {
			*p = r->fd_next;
			break;
		}
	r->fd_next = 0;
}

static int q_push(struct vfd *d, int fd)
{
	if (d->qn == d->qcap) {
		unsigned cap = d->qcap ? d->qcap * 2 : 8;
		int *q = malloc(cap * sizeof *q);
		if (!q)
			return 0;
		for (unsigned i = 0; i < d->qn; i++)
			q[i] = d->q[(d->qh + i) % d->qcap];
		free(d->q);
		d->q = q;
		d->qh = 0;
		d->qcap = cap;
	}
	d->q[(d->qh + d->qn++) % d->qcap] = fd;
	return 1;
}

static int q_pop(struct vfd *d)
{
	int fd = d->q[d->qh];
	d->qh = (d->qh + 1) % d->qcap;
	d->qn--;
	return fd;
}

int vio_accept_queued(struct st_vm *vm, int fd)
{
	struct vfd *d = vio_fd(vm, fd, 0);
	if (!d)
		return 0;
	if (d->qn)
		return q_pop(d);
	if (d->err) {
		int e = d->err;
		d->err = 0;
		return e;
	}
	return 0;
}

int vio_accept_ready(struct st_vm *vm, int fd)
{
	struct vfd *d = vio_fd(vm, fd, 0);
	return d && (d->qn || d->err);
}

/* ---- pins ------------------------------------------------------------------- */

int vio_pin(struct st_vm *vm, struct vreq *r, oop *ref)
{
	struct vio *v = vm->vio;
	oop o = *ref;
	if (gc_is_pinned(o)) {
		for (int i = 0; i < v->npins; i++)
			if (v->pins[i].o == o) {
				v->pins[i].n++;
				r->pinned = 1;
				return 1;
			}
		return 1; /* somebody else's pin (the program's): not ours to end */
	}
	if (!GROW(v->pins, v->cappins, (size_t)v->npins + 1, 8))
		return 0;
	if (!gc_pin(&vm->gc, ref))
		return 0;
	v->pins[v->npins].o = *ref;
	v->pins[v->npins].n = 1;
	v->npins++;
	r->pinned = 1;
	return 1;
}

static void unpin(struct st_vm *vm, oop o)
{
	struct vio *v = vm->vio;
	for (int i = 0; i < v->npins; i++)
		if (v->pins[i].o == o) {
			if (--v->pins[i].n == 0) {
				gc_unpin(&vm->gc, o);
				v->pins[i] = v->pins[--v->npins];
			}
			return;
		}
}

/* ---- the end of a request ------------------------------------------------------ */

/* What [r] holds, once the kernel is done with it. */
static void release(struct st_vm *vm, struct vreq *r)
{
	unlink_fd(vm, r);
	if (r->pinned)
		unpin(vm, r->obj);
	r->pinned = 0;
	r->obj = 0;
	free(r->buf);
	r->buf = NULL;
}

/* Frees what it can: the resources once neither a process nor the kernel
 * needs them, the slot once no completion can come for it. */
static void settle(struct st_vm *vm, struct vreq *r)
{
	if (r->main_live || r->proc)
		return;
	release(vm, r);
	if (!r->tmo_live)
		vio_drop(vm, r);
}

void vio_discard(struct st_vm *vm, struct vreq *r)
{
	release(vm, r);
	vio_drop(vm, r);
}

void vio_settle(struct st_vm *vm, struct vreq *r) { settle(vm, r); }

static void cancel(struct st_vm *vm, uint64_t tag)
{
	baton_io_cancel(vm->core, tag);
	vm->io_unflushed = 1;
}

void vio_answer(struct st_vm *vm, struct vreq *r, oop val)
{
	int me = vio_slot(vm, r) + 1;
	struct st_proc *p = r->proc ? vm->procs[r->proc] : NULL;
	if (p && p->io_req == me) {
		if (val)
			*p->sp = val;
		p->io_req = 0;
		vm->io_waiting--;
		if (p->state == PS_IOWAIT)
			sched_ready(vm, p, 0);
	}
	r->proc = 0;
	vm->vio->answered++;
	if (r->tmo_live)
		cancel(vm, vio_tag(vm, r) | TAG_TMO);
}

static void answer_int(struct st_vm *vm, struct vreq *r, intptr_t v)
{
	vio_answer(vm, r, obj_from_int(v));
}

uint32_t vio_take_tmo(struct st_vm *vm)
{
	struct st_proc *p = vm->active;
	if (!p)
		return 0;
	uint32_t t = p->io_tmo;
	p->io_tmo = 0;
	return t;
}

int vio_park(struct st_vm *vm, struct vreq *r, uint32_t tmo)
{
	struct st_proc *p = vm->active;
	r->proc = p->handle;
	p->io_req = vio_slot(vm, r) + 1;
	p->state = PS_IOWAIT;
	vm->io_waiting++;
	vm->vio->waits++;
	if (tmo) {
		uint64_t at = baton_now_ns() + (uint64_t)(tmo - 1) * 1000000u;
		if (baton_io_timeout(vm->core, vio_tag(vm, r) | TAG_TMO, at) == 0) {
			r->tmo_live = 1;
			vm->io_inflight++;
			vm->io_unflushed = 1;
		}
	}
	return PRIM_SWITCH;
}

void vio_kill(struct st_vm *vm, struct st_proc *p)
{
	if (!p->io_req || !vm->vio)
		return;
	struct vreq *r = slot_req(vm, p->io_req);
	p->io_req = 0;
	if (r->proc != p->handle)
		return;
	r->proc = 0;
	vm->io_waiting--;
	if (r->main_live)
		cancel(vm, vio_tag(vm, r));
	if (r->tmo_live)
		cancel(vm, vio_tag(vm, r) | TAG_TMO);
	settle(vm, r);
}

/* ---- accept: one multishot request per listening descriptor ------------------------ */

static struct vreq *first_waiter(struct st_vm *vm, struct vfd *d, int kind)
{
	for (int s = d->head; s; s = slot_req(vm, s)->fd_next) {
		struct vreq *w = slot_req(vm, s);
		if (w->kind == kind && w->proc)
			return w;
	}
	return NULL;
}

int vio_start_accept(struct st_vm *vm, int fd)
{
	struct vreq *m = vio_new(vm, VR_ACCEPT_MS, fd);
	if (!m)
		return -ENOMEM;
	int e = baton_io_accept(vm->core, vio_tag(vm, m), fd, NULL, NULL, SOCK_CLOEXEC,
				BATON_IO_MULTISHOT);
	if (vio_queued(vm, m, e) < 0) {
		vio_drop(vm, m);
		return e;
	}
	vio_fd(vm, fd, 0)->ms = vio_slot(vm, m) + 1;
	return 0;
}

/* A connection is queued: pollers of the listening socket are ready. */
static void wake_pollers(struct st_vm *vm, struct vfd *d)
{
	for (int s = d->head; s;) {
		struct vreq *w = slot_req(vm, s);
		s = w->fd_next;
		if (w->kind == VR_POLL && w->proc && (w->len2 & POLLIN)) {
			answer_int(vm, w, POLLIN);
			if (w->main_live)
				cancel(vm, vio_tag(vm, w));
			settle(vm, w);
		}
	}
}

static void accept_done(struct st_vm *vm, struct vreq *m, int32_t res, int more)
{
	int fd = m->fd, me = vio_slot(vm, m) + 1;
	struct vfd *d = vio_fd(vm, fd, 0);
	if (!d || d->ms != me) {
		/* cancelled by close: (or the table lost it): nobody will take it */
		if (res >= 0)
			close(res);
		settle(vm, m);
		return;
	}
	struct vreq *w = first_waiter(vm, d, VR_ACCEPT_WAIT);
	if (w) {
		unlink_fd(vm, w);
		answer_int(vm, w, res);
		settle(vm, w);
	} else if (res >= 0) {
		if (!q_push(d, res))
			close(res); /* no memory: the client sees a reset */
		else
			wake_pollers(vm, d);
	} else if (res != -ECANCELED) {
		d->err = res;
		wake_pollers(vm, d);
	}
	if (more)
		return;
	d->ms = 0;
	settle(vm, m);
	/* the multishot ended (an error, or no multishot in this kernel):
	 * whoever still waits needs a new one */
	if (first_waiter(vm, d, VR_ACCEPT_WAIT)) {
		int e = vio_start_accept(vm, fd);
		d = vio_fd(vm, fd, 0);
		while (e < 0 && (w = first_waiter(vm, d, VR_ACCEPT_WAIT))) {
			unlink_fd(vm, w);
			answer_int(vm, w, e);
			settle(vm, w);
		}
	}
}

/* ---- close: ---------------------------------------------------------------------- */

void vio_close_fd_requests(struct st_vm *vm, int fd)
{
	struct vfd *d = vio_fd(vm, fd, 0);
	if (!d)
		return;
	if (d->ms) {
		struct vreq *m = slot_req(vm, d->ms);
		d->ms = 0;
		if (m->main_live)
			cancel(vm, vio_tag(vm, m));
	}
	while (d->qn)
		close(q_pop(d));
	d->err = 0;
	int s = d->head;
	d->head = 0;
	while (s) {
		struct vreq *r = slot_req(vm, s);
		s = r->fd_next;
		r->fd_next = 0;
		r->linked = 0;
		r->closed = 1;
		if (r->main_live) {
			cancel(vm, vio_tag(vm, r));
		} else if (r->proc) {
			answer_int(vm, r, -ECANCELED);
			settle(vm, r);
		}
	}
}

/* ---- completions ------------------------------------------------------------------ */

static void stat_answer(struct st_vm *vm, struct vreq *r)
{
	struct statx *x = (struct statx *)r->buf;
	const char *type;
	switch (x->stx_mode & S_IFMT) {
	case S_IFREG: type = "file"; break;
	case S_IFDIR: type = "directory"; break;
	case S_IFLNK: type = "link"; break;
	default: type = "other"; break;
	}
	oop sym = st_symbol_c(vm, type);
	ST_ROOT(vm, sym);
	oop a = sym ? st_new_array(vm, 4) : 0;
	ST_UNROOT(vm, 1);
	if (!a) {
		answer_int(vm, r, -ENOMEM);
		return;
	}
	x = (struct statx *)r->buf;
	st_put(vm, a, 0, sym);
	st_put(vm, a, 1, obj_from_int((intptr_t)x->stx_size));
	st_put(vm, a, 2, obj_from_int((intptr_t)(x->stx_mode & 07777)));
	st_put(vm, a, 3, obj_from_int((intptr_t)x->stx_mtime.tv_sec));
	vio_answer(vm, r, a);
}

/* Sends the rest of a write or send. 0, or -errno (nothing queued). */
static int resubmit(struct st_vm *vm, struct vreq *r)
{
	uint64_t tag = vio_tag(vm, r);
	size_t n = r->len - r->done;
	unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
	int e;
	switch (r->kind) {
	case VR_WRITE:
		e = baton_io_write(vm->core, tag, r->fd, vio_data(r), chunk,
				   r->off < 0 ? BATON_IO_CUR_POS : r->off + (int64_t)r->done);
		break;
	case VR_SEND:
		e = baton_io_send(vm->core, tag, r->fd, vio_data(r), chunk, 0);
		break;
	default: /* the pollers */
		e = baton_io_poll(vm->core, tag, r->fd, (unsigned)r->len2);
		break;
	}
	return vio_queued(vm, r, e);
}

int vio_resubmit(struct st_vm *vm, struct vreq *r) { return resubmit(vm, r); }

void vio_complete(struct st_vm *vm, struct vreq *r, int32_t res, int more)
{
	if (!more)
		r->main_live = 0;
	if (r->kind == VR_ACCEPT_MS) {
		accept_done(vm, r, res, more);
		return;
	}
	if (r->kind == VR_OUTW) {
		vio_out_done(vm, r, res);
		return;
	}
	if (r->kind == VR_SIG) {
		vio_sig_done(vm, r, res);
		return;
	}
	if (!r->proc) {
		/* its process is gone (or was answered already): only clean up */
		if ((r->kind == VR_OPEN || r->kind == VR_RAW_FD) && res >= 0)
			close(res);
		settle(vm, r);
		return;
	}
	if (r->timed_out && (res == -ECANCELED || (res >= 0 && vio_is_poller(r)))) {
		/* cancelled by its timeout (a poll that fired meanwhile too);
		 * what completed anyway keeps its own answer */
		answer_int(vm, r, -ETIMEDOUT);
		settle(vm, r);
		return;
	}
	if (res < 0) {
		answer_int(vm, r, res);
		settle(vm, r);
		return;
	}
	switch (r->kind) {
	case VR_READ:
		if (res > 0 && r->buf)
			memcpy(obj_bytes(r->obj) + r->at, r->buf, (size_t)res);
		answer_int(vm, r, res);
		break;
	case VR_WRITE:
	case VR_SEND:
		r->done += (size_t)res;
		if (r->done < r->len) {
			int e = res == 0 ? -EIO : r->closed ? -ECANCELED : r->timed_out ? -ETIMEDOUT : resubmit(vm, r);
			if (e == 0)
				return;
			answer_int(vm, r, e);
			break;
		}
		answer_int(vm, r, (intptr_t)(r->pre + r->len));
		break;
	case VR_RECV:
	case VR_RECVFROM:
	case VR_SENDTO: {
		if (r->closed) {
			answer_int(vm, r, -ECANCELED);
			break;
		}
		oop out = 0;
		int e = vio_retry(vm, r, &out);
		if (e == -EAGAIN) {
			e = resubmit(vm, r);
			if (e == 0)
				return;
		}
		if (e < 0)
			answer_int(vm, r, e);
		else
			vio_answer(vm, r, out);
		break;
	}
	case VR_STAT:
		stat_answer(vm, r);
		break;
	default: /* connect, open, close, fsync, poll */
		answer_int(vm, r, res);
		break;
	}
	settle(vm, r);
}

static void tmo_done(struct st_vm *vm, struct vreq *r, int32_t res)
{
	r->tmo_live = 0;
	if (res == -ETIME && r->proc) {
		r->timed_out = 1;
		if (r->main_live) {
			cancel(vm, vio_tag(vm, r));
		} else {
			/* waits that are not on the ring end here */
			unlink_fd(vm, r);
			answer_int(vm, r, -ETIMEDOUT);
		}
	}
	settle(vm, r);
}

void vio_dispatch(struct st_vm *vm, const baton_io_cqe *c)
{
	int more = (c->flags & BATON_IO_MORE) != 0;
	if (!more && vm->io_inflight)
		vm->io_inflight--;
	uint32_t s = (uint32_t)c->tag & SLOT_MASK;
	struct vio *v = vm->vio;
	if (s >= (uint32_t)v->nr)
		return;
	struct vreq *r = &v->r[s];
	if (!r->used || r->gen != (uint32_t)(c->tag >> 32))
		return; /* a late completion of an ended request */
	if ((uint32_t)c->tag & TAG_TMO)
		tmo_done(vm, r, c->res);
	else
		vio_complete(vm, r, c->res, more);
}

int vio_harvest(struct st_vm *vm)
{
	baton_io_cqe c[64];
	int total = 0;
	struct vio *v = vm->vio;
	if (!v)
		return 0;
	/* what vio_out_drain set aside came first */
	for (int i = 0; i < v->nlater; i++)
		vio_dispatch(vm, &v->later[i]);
	total = v->nlater;
	v->nlater = 0;
	for (;;) {
		int n = baton_io_harvest(vm->core, c, 64);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			vio_dispatch(vm, &c[i]);
		total += n;
		if (n < 64)
			break;
	}
	return total;
}

void vio_tick(struct st_vm *vm)
{
	if (vm->io_unflushed)
		vio_flush(vm);
	if (vm->io_inflight) {
		baton_io_check(vm->core);
		vio_harvest(vm);
	}
}

void vio_flush(struct st_vm *vm)
{
	vm->io_unflushed = 0;
	baton_io_flush(vm->core);
}

/* ---- roots, stats, the end ------------------------------------------------------------ */

void vio_roots(struct st_vm *vm, gc_visit_fn visit, void *ud)
{
	struct vio *v = vm->vio;
	if (!v)
		return;
	for (int i = 0; i < v->nr; i++)
		if (v->r[i].used && v->r[i].obj)
			visit(&v->r[i].obj, ud);
	/* pinned objects never move; their requests hold them */
	vio_sig_roots(vm, visit, ud);
}

void vio_print_stats(struct st_vm *vm, FILE *f)
{
	struct baton_io_stats s;
	struct vio *v = vm->vio;
	baton_io_stats(vm->core, &s);
	fprintf(f,
		"  io.backend          %s\n"
		"  io.submitted        %llu\n"
		"  io.completed        %llu\n"
		"  io.waits            %llu\n"
		"  io.pending          %llu\n"
		"  io.finalized_fds    %llu\n"
		"  io.wakes            %llu\n"
		"  io.msg_ring_wakes   %llu\n",
		baton_io_backend(vm->core), (unsigned long long)s.submitted,
		(unsigned long long)s.completed, (unsigned long long)(v ? v->waits : 0),
		(unsigned long long)s.pending, (unsigned long long)(v ? v->finalized_fds : 0),
		(unsigned long long)s.wakes, (unsigned long long)s.msg_ring_wakes);
	vio_sig_stats(vm, f);
}

void vio_free(struct st_vm *vm)
{
	struct vio *v = vm->vio;
	if (!v)
		return;
	/* the loop is closed: the kernel has dropped what was pending */
	vio_sig_free(vm);
	for (int i = 0; i < v->nr; i++)
		if (v->r[i].used)
			free(v->r[i].buf);
	for (int i = 0; i < v->nfds; i++) {
		while (v->fds[i].qn)
			close(q_pop(&v->fds[i]));
		free(v->fds[i].q);
	}
	for (struct vchunk *c = v->oq, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(v->later);
	free(v->fds);
	free(v->r);
	free(v->pins);
	free(v->scratch);
	free(v);
	vm->vio = NULL;
}
