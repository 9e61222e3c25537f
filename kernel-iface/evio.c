// SPDX-License-Identifier: MIT
/*
 * evio.c: the backend-independent half of the event-I/O loop.
 *
 * Owns the choice of backend, argument checks, the operation records (a
 * pool and a hash by tag, for cancels), the wait loop around the backends'
 * single kernel waits (deadline, wake-ups, EINTR) and the cross-thread
 * wake (and its cross-loop variant, kif_evio_wake_from). Everything touching a kernel I/O API is in evio_uring.c or
 * evio_epoll.c. See Documentation/core/kernel-iface.md ("evio.h").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/evio_int.h"
#include "kernel-iface/sys.h"

#define CHUNK_OPS 256

/* ---- operation records ---------------------------------------------- */

static size_t bucket_of(const struct kif_evio *ev, uint64_t tag)
{
	/* Fibonacci hashing: tags are often pointers or small counters. */
	return (size_t)((tag * 0x9e3779b97f4a7c15ull) >> 32) & (ev->nbuckets - 1);
}

static void rehash(struct kif_evio *ev)
{
	size_t n = ev->nbuckets * 2;
	struct evio_op **b = calloc(n, sizeof *b);
	if (!b)
		return; /* keep the old table: longer chains, still correct */
	struct evio_op **old = ev->buckets;
	size_t oldn = ev->nbuckets;
	ev->buckets = b;
	ev->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		for (struct evio_op *op = old[i], *nx; op; op = nx) {
			nx = op->hnext;
			size_t k = bucket_of(ev, op->tag);
			op->hnext = b[k];
			b[k] = op;
		}
	}
	free(old);
}

static struct evio_op *op_new(struct kif_evio *ev, uint64_t tag, int kind)
{
	if (!ev->free) {
		struct evio_chunk *c = malloc(sizeof *c + CHUNK_OPS * sizeof c->ops[0]);
		if (!c)
			return NULL;
		c->next = ev->chunks;
		ev->chunks = c;
		for (int i = CHUNK_OPS - 1; i >= 0; i--) {
			c->ops[i].next = ev->free;
			ev->free = &c->ops[i];
		}
	}
	struct evio_op *op = ev->free;
	ev->free = op->next;
	memset(op, 0, sizeof *op);
	op->tag = tag;
	op->kind = (uint8_t)kind;
	op->fd = -1;
	if (ev->st.pending + 1 > ev->nbuckets)
		rehash(ev);
	size_t k = bucket_of(ev, tag);
	op->hnext = ev->buckets[k];
	ev->buckets[k] = op;
	ev->st.pending++;
	return op;
}

void kif_evio_retire(struct kif_evio *ev, struct evio_op *op)
{
	struct evio_op **p = &ev->buckets[bucket_of(ev, op->tag)];
	while (*p && *p != op)
		p = &(*p)->hnext;
	if (*p)
		*p = op->hnext;
	op->next = ev->free;
	ev->free = op;
	ev->st.pending--;
}

void kif_evio_deliver(struct kif_evio *ev, struct evio_op *op, int32_t res, int more,
		      struct kif_evio_cqe *out)
{
	out->tag = op->tag;
	out->res = res;
	out->flags = more ? KIF_EVIO_MORE : 0;
	ev->st.completed++;
	if (!more)
		kif_evio_retire(ev, op);
}

/* ---- open and close -------------------------------------------------- */

static int env_says_no_uring(void)
{
	const char *e = getenv("BATON_URING");
	return e && strcmp(e, "0") == 0;
}

static int try_backend(struct kif_evio *ev, const struct evio_backend *be, char *why,
		       unsigned why_len)
{
	ev->be = be;
	return be->open(ev, why, why_len);
}

static int evio_open(struct kif_evio **out, const struct kif_evio_opts *o, char *why,
		     unsigned why_len)
{
	struct kif_evio_opts def = { 0 };
	char scratch[128];
	if (!o)
		o = &def;
	if (!why || why_len == 0) {
		why = scratch;
		why_len = sizeof scratch;
	}
	why[0] = '\0';
	unsigned entries = o->entries ? o->entries : 256;
	if (entries > 4096 || (entries & (entries - 1)) || o->backend < KIF_EVIO_AUTO ||
	    o->backend > KIF_EVIO_EPOLL)
		return -EINVAL;
	struct kif_evio *ev = calloc(1, sizeof *ev);
	if (!ev)
		return -ENOMEM;
	ev->entries = entries;
	ev->optflags = o->flags;
	ev->nbuckets = 64;
	ev->buckets = calloc(ev->nbuckets, sizeof *ev->buckets);
	ev->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = ev->efd < 0 ? -errno : 0;
	if (r == 0 && !ev->buckets)
		r = -ENOMEM;
	if (r == 0) {
		if (o->backend == KIF_EVIO_EPOLL) {
			r = try_backend(ev, &kif_evio_epoll_backend, why, why_len);
		} else if (o->backend == KIF_EVIO_AUTO && env_says_no_uring()) {
			snprintf(why, why_len, "disabled by BATON_URING=0");
			r = try_backend(ev, &kif_evio_epoll_backend, why, why_len);
		} else {
			r = try_backend(ev, &kif_evio_uring_backend, why, why_len);
			if (r < 0 && o->backend == KIF_EVIO_AUTO)
				r = try_backend(ev, &kif_evio_epoll_backend, NULL, 0);
		}
	}
	if (r < 0) {
		if (ev->efd >= 0)
			close(ev->efd);
		free(ev->buckets);
		free(ev);
		return r;
	}
	*out = ev;
	return 0;
}

int kif_evio_open(struct kif_evio **out, const struct kif_evio_opts *opts, char *why,
		  unsigned why_len)
{
	int saved = errno;
	int r = evio_open(out, opts, why, why_len);
	errno = saved;
	return r;
}

void kif_evio_close(struct kif_evio *ev)
{
	if (!ev)
		return;
	int saved = errno;
	ev->be->close(ev);
	for (struct evio_chunk *c = ev->chunks, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(ev->buckets);
	close(ev->efd);
	free(ev);
	errno = saved;
}

const char *kif_evio_backend_name(const struct kif_evio *ev)
{
	return ev->be->name;
}

/* ---- operations ------------------------------------------------------ */

static int submit(struct kif_evio *ev, struct evio_op *op)
{
	int saved = errno;
	int r = ev->be->queue(ev, op);
	errno = saved;
	if (r < 0)
		kif_evio_retire(ev, op);
	else
		ev->st.submitted++;
	return r;
}

#define NEW_OP(kind)                                                           \
	if (tag >= KIF_EVIO_TAG_RESERVED)                                      \
		return -EINVAL;                                                \
	struct evio_op *op = op_new(ev, tag, (kind));                          \
	if (!op)                                                               \
		return -ENOMEM

int kif_evio_read(struct kif_evio *ev, uint64_t tag, int fd, void *buf, unsigned len,
		  int64_t off)
{
	if (off < KIF_EVIO_CUR_POS || len > INT32_MAX)
		return -EINVAL;
	NEW_OP(EV_READ);
	op->fd = fd;
	op->buf = buf;
	op->len = len;
	op->off = off;
	return submit(ev, op);
}

int kif_evio_write(struct kif_evio *ev, uint64_t tag, int fd, const void *buf,
		   unsigned len, int64_t off)
{
	if (off < KIF_EVIO_CUR_POS || len > INT32_MAX)
		return -EINVAL;
	NEW_OP(EV_WRITE);
	op->fd = fd;
	op->cbuf = buf;
	op->len = len;
	op->off = off;
	return submit(ev, op);
}

int kif_evio_recv(struct kif_evio *ev, uint64_t tag, int fd, void *buf, unsigned len,
		  int flags)
{
	if (len > INT32_MAX)
		return -EINVAL;
	NEW_OP(EV_RECV);
	op->fd = fd;
	op->buf = buf;
	op->len = len;
	op->flags = flags;
	return submit(ev, op);
}

int kif_evio_send(struct kif_evio *ev, uint64_t tag, int fd, const void *buf,
		  unsigned len, int flags)
{
	if (len > INT32_MAX)
		return -EINVAL;
	NEW_OP(EV_SEND);
	op->fd = fd;
	op->cbuf = buf;
	op->len = len;
	op->flags = flags | MSG_NOSIGNAL;
	return submit(ev, op);
}

int kif_evio_accept(struct kif_evio *ev, uint64_t tag, int fd, struct sockaddr *addr,
		    socklen_t *addrlen, int flags, unsigned how)
{
	if ((how & ~KIF_EVIO_MULTISHOT) || (!addr != !addrlen) ||
	    ((how & KIF_EVIO_MULTISHOT) && addr))
		return -EINVAL;
	NEW_OP(EV_ACCEPT);
	op->fd = fd;
	op->buf = addr;
	op->addrlenp = addrlen;
	op->flags = flags;
	op->multishot = (how & KIF_EVIO_MULTISHOT) != 0;
	return submit(ev, op);
}

int kif_evio_connect(struct kif_evio *ev, uint64_t tag, int fd,
		     const struct sockaddr *addr, socklen_t addrlen)
{
	if (!addr)
		return -EINVAL;
	NEW_OP(EV_CONNECT);
	op->fd = fd;
	op->cbuf = addr;
	op->addrlen = addrlen;
	return submit(ev, op);
}

int kif_evio_openat(struct kif_evio *ev, uint64_t tag, int dfd, const char *path,
		    int flags, mode_t mode)
{
	if (!path)
		return -EINVAL;
	NEW_OP(EV_OPENAT);
	op->fd = dfd;
	op->path = path;
	op->flags = flags;
	op->mode = mode;
	return submit(ev, op);
}

int kif_evio_close_fd(struct kif_evio *ev, uint64_t tag, int fd)
{
	if (fd < 0)
		return -EBADF;
	NEW_OP(EV_CLOSE);
	op->fd = fd;
	return submit(ev, op);
}

int kif_evio_statx(struct kif_evio *ev, uint64_t tag, int dfd, const char *path,
		   int flags, unsigned mask, struct statx *out)
{
	if (!path || !out)
		return -EINVAL;
	NEW_OP(EV_STATX);
	op->fd = dfd;
	op->path = path;
	op->flags = flags;
	op->len = mask;
	op->buf = out;
	return submit(ev, op);
}

int kif_evio_fsync(struct kif_evio *ev, uint64_t tag, int fd, unsigned how)
{
	if (how & ~KIF_EVIO_DATASYNC)
		return -EINVAL;
	NEW_OP(EV_FSYNC);
	op->fd = fd;
	op->len = how;
	return submit(ev, op);
}

int kif_evio_timeout(struct kif_evio *ev, uint64_t tag, uint64_t abs_ns)
{
	NEW_OP(EV_TIMEOUT);
	op->abs_ns = abs_ns;
	return submit(ev, op);
}

int kif_evio_poll(struct kif_evio *ev, uint64_t tag, int fd, unsigned events)
{
	if (events == 0 || events > 0xffff)
		return -EINVAL;
	NEW_OP(EV_POLL);
	op->fd = fd;
	op->len = events;
	return submit(ev, op);
}

int kif_evio_cancel(struct kif_evio *ev, uint64_t tag)
{
	if (tag >= KIF_EVIO_TAG_RESERVED)
		return -EINVAL;
	int saved = errno, n = 0;
	/* The backend may retire the record at once (epoll completes a
	 * cancelled operation immediately), changing the chain: search again
	 * from its head after each cancel. Tags are meant to be unique, so
	 * this is one pass in practice. */
	for (;;) {
		struct evio_op *op = ev->buckets[bucket_of(ev, tag)];
		while (op && (op->tag != tag || op->cancelled))
			op = op->hnext;
		if (!op)
			break;
		op->cancelled = 1;
		n++;
		ev->be->cancel(ev, op);
	}
	errno = saved;
	return n;
}

void kif_evio_forget_fd(struct kif_evio *ev, int fd)
{
	int saved = errno;
	if (ev->be->forget)
		ev->be->forget(ev, fd);
	errno = saved;
}

int kif_evio_flush(struct kif_evio *ev)
{
	int saved = errno;
	int r = ev->be->flush(ev);
	errno = saved;
	return r;
}

/* ---- completions and waiting ----------------------------------------- */

int kif_evio_harvest(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max)
{
	if (max == 0)
		return 0;
	int saved = errno;
	int r = ev->be->harvest(ev, out, max);
	errno = saved;
	return r;
}

/* The owner consumes a pending wake; the eventfd itself is drained by the
 * backend whenever it reports it readable. */
static int take_wake(struct kif_evio *ev)
{
	return atomic_exchange(&ev->wake_pending, 0);
}

static int evio_wait(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max,
		     uint64_t deadline)
{
	if (max == 0)
		return -EINVAL;
	int r = ev->be->flush(ev);
	if (r < 0 && r != -EBUSY)
		return r;
	for (int asked = 0;; ) {
		int n = ev->be->harvest(ev, out, max);
		if (n != 0)
			return n;
		if (take_wake(ev))
			return 0;
		if (deadline != KIF_EVIO_FOREVER && kif_now_ns() >= deadline) {
			if (asked)
				return -ETIME;
			/* Past the deadline: one look at what is ready, no sleep. */
			asked = 1;
			r = ev->be->sleep(ev, 0);
			if (r < 0)
				return r;
			continue;
		}
		/* Dekker with kif_evio_wake: publish "asleep", then look for a
		 * wake; the waker sets the wake, then looks for "asleep". One
		 * of the two sees the other (sequentially consistent atomics). */
		atomic_store(&ev->sleeping, 1);
		if (take_wake(ev)) {
			atomic_store(&ev->sleeping, 0);
			return 0;
		}
		r = ev->be->sleep(ev, deadline);
		atomic_store(&ev->sleeping, 0);
		if (r < 0)
			return r;
		/* The kernel was asked until the deadline: if it has passed,
		 * there is no need to ask once more. */
		asked = 1;
	}
}

int kif_evio_wait(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max,
		  uint64_t deadline)
{
	int saved = errno;
	int r = evio_wait(ev, out, max, deadline);
	errno = saved;
	return r;
}

/* The owner of [ev] is asleep or about to be, and nobody kicked it yet:
 * write the eventfd. */
static int kick_efd(struct kif_evio *ev)
{
	uint64_t one = 1;
	long r = KIF_CALL(write(ev->efd, &one, sizeof one));
	/* EAGAIN: the counter is full, so the eventfd is readable anyway. */
	if (r < 0 && r != -EAGAIN)
		return (int)r;
	atomic_fetch_add(&ev->wakes, 1);
	return 0;
}

int kif_evio_wake(struct kif_evio *ev)
{
	if (atomic_exchange(&ev->wake_pending, 1))
		return 0; /* a wake is already on its way */
	if (!atomic_load(&ev->sleeping))
		return 0; /* the owner will see wake_pending before sleeping */
	return kick_efd(ev);
}

int kif_evio_wake_from(struct kif_evio *dst, struct kif_evio *src)
{
	if (!src || src == dst || !src->msg_ring || !dst->msg_ring || src->be != dst->be)
		return kif_evio_wake(dst);
	/* The same Dekker pair as kif_evio_wake: only the kick differs. */
	if (atomic_exchange(&dst->wake_pending, 1))
		return 0;
	if (!atomic_load(&dst->sleeping))
		return 0;
	int saved = errno;
	int sent = src->be->msg_wake(src, dst);
	errno = saved;
	if (!sent)
		return kick_efd(dst);
	atomic_fetch_add(&dst->msg_ring_wakes, 1);
	return 0;
}

int kif_evio_has_msg_ring(const struct kif_evio *ev)
{
	return ev->msg_ring;
}

void kif_evio_stats(const struct kif_evio *ev, struct kif_evio_stats *out)
{
	*out = ev->st;
	out->wakes = atomic_load(&((struct kif_evio *)ev)->wakes);
	out->msg_ring_wakes = atomic_load(&((struct kif_evio *)ev)->msg_ring_wakes);
}
