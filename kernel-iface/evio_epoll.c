// SPDX-License-Identifier: MIT
/*
 * evio_epoll.c: the epoll backend of the event-I/O loop (evio.h), for
 * kernels or sandboxes without a usable io_uring (BATON_URING=0 too).
 *
 * Owns one epoll instance per loop, a table of per-descriptor wait lists,
 * a heap of timeouts and an in-memory completion queue. An operation is
 * tried once when flushed (non-blocking); if the descriptor is not ready it
 * waits in that descriptor's list (FIFO, so reads and writes keep their
 * order) and epoll is asked, one-shot, for the readiness it needs. Regular
 * files and other descriptors epoll cannot watch are served by plain calls
 * when flushed, as is close. openat, statx and fsync can block for as long
 * as they like (a FIFO with no writer, a slow disk, NFS): they go to a pool
 * of at most two threads, which post their results back through the loop's
 * eventfd. Descriptors that are
 * not regular files are switched to O_NONBLOCK the first time the loop sees
 * them. See Documentation/core/kernel-iface.md ("evio.h").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/evio_int.h"

enum { ST_QUEUED = 1, ST_WAITING, ST_TIMER, ST_POOL };
#define POOL_MAX 2 /* threads for calls that may block (openat, statx, fsync) */
#define AGAIN INT_MIN /* attempt(): not ready, wait for the descriptor */
#define DIR_IN EPOLLIN
#define DIR_OUT EPOLLOUT

struct fdst {
	struct evio_op *head, *tail; /* operations waiting for readiness */
	uint32_t armed;              /* events asked of epoll, one-shot */
	uint8_t added;               /* in the epoll set (maybe disarmed) */
	uint8_t known;               /* kind looked at (fstat) */
	uint8_t plain;               /* regular file or unpollable: plain calls */
};

/*
 * The pool. Shared with its threads, so it outlives the loop while a
 * thread is still inside a system call (an openat of a FIFO nobody opens
 * may never return): the last one out frees it. [mu] guards everything.
 */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct evio_op *todo, *todo_tail; /* waiting for a thread */
	struct evio_op *done, *done_tail; /* finished, for the next harvest */
	int efd;      /* the loop's eventfd, -1 once the loop is closed */
	int threads;  /* started and not yet exited */
	int idle;     /* of which waiting for work */
	int refs;     /* the loop (1 while open) + threads */
};

struct ep {
	int epfd;
	struct pool *pool; /* NULL until the first blocking call */
	int no_pwait2;
	struct fdst *fds;
	size_t nfds;
	struct evio_op *qhead, *qtail; /* queued, not flushed yet */
	struct evio_op **heap;         /* timeouts, earliest first */
	size_t nheap, capheap;
	struct kif_evio_cqe *cq;       /* completions not harvested yet */
	size_t cqcap, cqhead, cqlen;
};

static struct ep *EP(struct kif_evio *ev)
{
	return ev->bp;
}

/* ---- completion queue ------------------------------------------------ */

static void post(struct kif_evio *ev, struct evio_op *op, int32_t res, int more)
{
	struct ep *e = EP(ev);
	if (e->cqlen == e->cqcap) {
		size_t cap = e->cqcap ? 2 * e->cqcap : 64;
		struct kif_evio_cqe *n = malloc(cap * sizeof *n);
		if (!n)
			abort(); /* nowhere to put a completion: it cannot be lost */
		for (size_t i = 0; i < e->cqlen; i++)
			n[i] = e->cq[(e->cqhead + i) % e->cqcap];
		free(e->cq);
		e->cq = n;
		e->cqcap = cap;
		e->cqhead = 0;
	}
	kif_evio_deliver(ev, op, res, more, &e->cq[(e->cqhead + e->cqlen) % e->cqcap]);
	e->cqlen++;
	/* Delivered to the queue, counted when harvested. */
	ev->st.completed--;
}

/* ---- timer heap ------------------------------------------------------ */

static void heap_set(struct ep *e, size_t i, struct evio_op *op)
{
	e->heap[i] = op;
	op->heap = i;
}

static void heap_up(struct ep *e, size_t i)
{
	struct evio_op *op = e->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (e->heap[p]->abs_ns <= op->abs_ns)
			break;
		heap_set(e, i, e->heap[p]);
		i = p;
	}
	heap_set(e, i, op);
}

static void heap_down(struct ep *e, size_t i)
{
	struct evio_op *op = e->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= e->nheap)
			break;
		if (c + 1 < e->nheap && e->heap[c + 1]->abs_ns < e->heap[c]->abs_ns)
			c++;
		if (op->abs_ns <= e->heap[c]->abs_ns)
			break;
		heap_set(e, i, e->heap[c]);
		i = c;
	}
	heap_set(e, i, op);
}

static int heap_push(struct ep *e, struct evio_op *op)
{
	if (e->nheap == e->capheap) {
		size_t cap = e->capheap ? 2 * e->capheap : 16;
		struct evio_op **n = realloc(e->heap, cap * sizeof *n);
		if (!n)
			return -ENOMEM;
		e->heap = n;
		e->capheap = cap;
	}
	e->heap[e->nheap] = op;
	op->heap = e->nheap++;
	heap_up(e, op->heap);
	return 0;
}

static void heap_remove(struct ep *e, struct evio_op *op)
{
	size_t i = op->heap;
	struct evio_op *last = e->heap[--e->nheap];
	if (i == e->nheap)
		return;
	heap_set(e, i, last);
	heap_down(e, i);
	heap_up(e, last->heap);
}

static void expire_timers(struct kif_evio *ev)
{
	struct ep *e = EP(ev);
	if (e->nheap == 0)
		return;
	uint64_t now = kif_now_ns();
	while (e->nheap && e->heap[0]->abs_ns <= now) {
		struct evio_op *op = e->heap[0];
		heap_remove(e, op);
		post(ev, op, -ETIME, 0);
	}
}

/* ---- descriptors ----------------------------------------------------- */

static struct fdst *fdst(struct ep *e, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= e->nfds) {
		size_t n = e->nfds ? e->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct fdst *t = realloc(e->fds, n * sizeof *t);
		if (!t)
			return NULL;
		memset(t + e->nfds, 0, (n - e->nfds) * sizeof *t);
		e->fds = t;
		e->nfds = n;
	}
	return &e->fds[fd];
}

/* A descriptor number seen anew (opened, accepted, closed): forget what
 * was known about the old one. Its epoll entry went with its last close. */
static void forget(struct ep *e, int fd)
{
	if (fd >= 0 && (size_t)fd < e->nfds && !e->fds[fd].head)
		memset(&e->fds[fd], 0, sizeof e->fds[fd]);
}

static void learn(struct fdst *s, int fd)
{
	struct stat st;
	s->known = 1;
	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ||
				    S_ISDIR(st.st_mode))) {
		s->plain = 1;
		return;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static uint32_t op_dir(const struct evio_op *op)
{
	switch (op->kind) {
	case EV_READ:
	case EV_RECV:
	case EV_ACCEPT:
		return DIR_IN;
	case EV_WRITE:
	case EV_SEND:
	case EV_CONNECT:
		return DIR_OUT;
	case EV_POLL:
		return op->len & (POLLIN | POLLOUT | POLLPRI | POLLRDHUP);
	default:
		return 0;
	}
}

/* Ask epoll for what the waiting operations need (one-shot: an idle
 * descriptor stays in the set, disarmed, and costs nothing). */
static int rearm(struct ep *e, int fd, struct fdst *s)
{
	uint32_t want = 0;
	for (struct evio_op *op = s->head; op; op = op->next)
		want |= op_dir(op);
	if (want == 0 || want == s->armed)
		return 0;
	struct epoll_event ee = { .events = want | EPOLLONESHOT, .data.fd = fd };
	int r = s->added ? epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ee) : -1;
	if (!s->added || (r < 0 && errno == ENOENT)) {
		r = epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ee);
		if (r < 0 && errno == EEXIST)
			r = epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ee);
	}
	if (r < 0)
		return -errno;
	s->added = 1;
	s->armed = want;
	return 0;
}

/* ---- doing an operation ---------------------------------------------- */

#define RETRY(expr)                                                            \
	({                                                                     \
		long r_;                                                       \
		do                                                             \
			r_ = (long)(expr);                                     \
		while (r_ < 0 && errno == EINTR);                              \
		r_ < 0 ? -errno : r_;                                          \
	})

static int again(long r)
{
	return r == -EAGAIN || r == -EWOULDBLOCK;
}

/* The result, or AGAIN. Only called when the operation is at the head of
 * its direction, or the descriptor is plain. */
static int attempt(struct kif_evio *ev, struct evio_op *op, int plain)
{
	struct ep *e = EP(ev);
	long r;
	switch (op->kind) {
	case EV_READ:
		r = op->off == KIF_EVIO_CUR_POS ? RETRY(read(op->fd, op->buf, op->len)) :
			RETRY(pread(op->fd, op->buf, op->len, op->off));
		return !plain && again(r) ? AGAIN : (int)r;
	case EV_WRITE:
		r = op->off == KIF_EVIO_CUR_POS ? RETRY(write(op->fd, op->cbuf, op->len)) :
			RETRY(pwrite(op->fd, op->cbuf, op->len, op->off));
		return !plain && again(r) ? AGAIN : (int)r;
	case EV_RECV:
		r = RETRY(recv(op->fd, op->buf, op->len, op->flags | MSG_DONTWAIT));
		return again(r) ? AGAIN : (int)r;
	case EV_SEND:
		r = RETRY(send(op->fd, op->cbuf, op->len, op->flags | MSG_DONTWAIT));
		return again(r) ? AGAIN : (int)r;
	case EV_ACCEPT:
		r = RETRY(accept4(op->fd, op->buf, op->addrlenp, op->flags));
		if (r >= 0)
			forget(e, (int)r);
		return again(r) ? AGAIN : (int)r;
	case EV_CONNECT:
		if (op->started) {
			int err = 0;
			socklen_t l = sizeof err;
			if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
				return -errno;
			return -err;
		}
		op->started = 1;
		r = connect(op->fd, op->cbuf, op->addrlen) < 0 ? -errno : 0;
		/* EINTR: the connection goes on in the background, as with
		 * EINPROGRESS; its outcome is read when it is writable. */
		return r == -EINPROGRESS || r == -EINTR || r == -EAGAIN ? AGAIN : (int)r;
	case EV_OPENAT:
		r = RETRY(openat(op->fd, op->path, op->flags, (mode_t)op->mode));
		if (r >= 0)
			forget(e, (int)r);
		return (int)r;
	case EV_STATX:
		return (int)RETRY(statx(op->fd, op->path, op->flags, op->len, op->buf));
	case EV_FSYNC:
		return (int)RETRY(op->len & KIF_EVIO_DATASYNC ? fdatasync(op->fd) : fsync(op->fd));
	case EV_POLL: {
		/* Plain descriptors are always ready, as poll(2) says. */
		struct pollfd p = { .fd = op->fd, .events = (short)op->len };
		r = RETRY(poll(&p, 1, 0));
		if (r < 0)
			return (int)r;
		return r == 0 ? AGAIN : p.revents;
	}
	default:
		return -EINVAL;
	}
}

static void unlink_waiting(struct fdst *s, struct evio_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		s->head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		s->tail = op->prev;
	op->next = op->prev = NULL;
}

static void add_waiting(struct fdst *s, struct evio_op *op)
{
	op->state = ST_WAITING;
	op->next = NULL;
	op->prev = s->tail;
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
}

static int waits_in_dir(const struct fdst *s, uint32_t dir)
{
	for (const struct evio_op *op = s->head; op; op = op->next)
		if (op->kind != EV_POLL && (op_dir(op) & dir))
			return 1;
	return 0;
}

/* A multishot accept goes on until the queue is empty or an error. */
static int finish(struct kif_evio *ev, struct evio_op *op, int res)
{
	if (op->kind == EV_ACCEPT && op->multishot && res >= 0) {
		post(ev, op, res, 1);
		return 1; /* still wanted: try again */
	}
	post(ev, op, res, 0);
	return 0;
}

static void do_close(struct kif_evio *ev, struct evio_op *op)
{
	struct ep *e = EP(ev);
	struct fdst *s = (size_t)op->fd < e->nfds ? &e->fds[op->fd] : NULL;
	/* Operations still waiting on it would never complete: the epoll
	 * entry goes with the descriptor. */
	while (s && s->head) {
		struct evio_op *w = s->head;
		unlink_waiting(s, w);
		post(ev, w, -ECANCELED, 0);
	}
	if (s && s->added)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, op->fd, NULL);
	/* close(2) is not retried after EINTR: the descriptor is gone. */
	int r = close(op->fd) < 0 ? -errno : 0;
	if (r == -EINTR)
		r = 0;
	forget(e, op->fd);
	post(ev, op, r, 0);
}

/* ---- the pool for calls that may block ----------------------------------- */

static void pool_unref_locked(struct pool *p)
{
	if (--p->refs == 0) {
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return;
	}
	pthread_mutex_unlock(&p->mu);
}

/* [op] is a copy taken under the lock: the loop may free the original
 * while the call blocks. */
static long pool_call(const struct evio_op *op)
{
	switch (op->kind) {
	case EV_OPENAT:
		return RETRY(openat(op->fd, op->path, op->flags, (mode_t)op->mode));
	case EV_STATX:
		return RETRY(statx(op->fd, op->path, op->flags, op->len, op->buf));
	default: /* EV_FSYNC */
		return RETRY(op->len & KIF_EVIO_DATASYNC ? fdatasync(op->fd) : fsync(op->fd));
	}
}

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && p->efd >= 0) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->mu);
			p->idle--;
		}
		struct evio_op *op = p->todo;
		if (!op)
			break; /* the loop is closed */
		p->todo = op->next;
		if (!p->todo)
			p->todo_tail = NULL;
		struct evio_op call = *op;
		pthread_mutex_unlock(&p->mu);
		long r = pool_call(&call);
		pthread_mutex_lock(&p->mu);
		if (p->efd < 0) {
			/* The loop is gone and [op] with it: only the
			 * descriptor is left to give back. */
			if (call.kind == EV_OPENAT && r >= 0)
				close((int)r);
			continue;
		}
		op->off = r; /* the result, until harvested */
		op->next = NULL;
		if (p->done_tail)
			p->done_tail->next = op;
		else
			__atomic_store_n(&p->done, op, __ATOMIC_RELAXED);
		p->done_tail = op;
		uint64_t one = 1;
		/* Ends the owner's epoll_wait; EAGAIN: it is readable anyway. */
		(void)!write(p->efd, &one, sizeof one);
	}
	p->threads--;
	pool_unref_locked(p);
	return NULL;
}

/* Hands [op] to the pool; a thread is started if none is free. */
static int pool_put(struct kif_evio *ev, struct evio_op *op)
{
	struct ep *e = EP(ev);
	if (!e->pool) {
		struct pool *p = calloc(1, sizeof *p);
		if (!p)
			return -ENOMEM;
		pthread_mutex_init(&p->mu, NULL);
		pthread_cond_init(&p->cv, NULL);
		p->efd = ev->efd;
		p->refs = 1;
		e->pool = p;
	}
	struct pool *p = e->pool;
	pthread_mutex_lock(&p->mu);
	if (!p->idle && p->threads < POOL_MAX) {
		pthread_t th;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&a, 64 * 1024);
		if (pthread_create(&th, &a, pool_main, p) == 0) {
			p->threads++;
			p->refs++;
		}
		pthread_attr_destroy(&a);
		if (!p->threads) {
			pthread_mutex_unlock(&p->mu);
			return -EAGAIN;
		}
	}
	op->state = ST_POOL;
	op->next = NULL;
	if (p->todo_tail)
		p->todo_tail->next = op;
	else
		p->todo = op;
	p->todo_tail = op;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* What the pool finished goes to the completion queue (the owner). */
static void pool_reap(struct kif_evio *ev)
{
	struct ep *e = EP(ev);
	struct pool *p = e->pool;
	/* Most harvests find nothing: look before taking the lock (a racy
	 * look is fine: what it misses comes with the eventfd's wake-up). */
	if (!p || !__atomic_load_n(&p->done, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&p->mu);
	struct evio_op *op = p->done;
	__atomic_store_n(&p->done, NULL, __ATOMIC_RELAXED);
	p->done_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	for (struct evio_op *nx; op; op = nx) {
		nx = op->next;
		int32_t r = (int32_t)op->off;
		op->state = 0;
		if (op->kind == EV_OPENAT && r >= 0)
			forget(e, r);
		post(ev, op, r, 0);
	}
}

/* Cancels [op] if no thread has taken it yet (1); else it completes with
 * its own result (0). */
static int pool_cancel(struct kif_evio *ev, struct evio_op *op)
{
	struct pool *p = EP(ev)->pool;
	pthread_mutex_lock(&p->mu);
	struct evio_op **pp = &p->todo, *prev = NULL;
	while (*pp && *pp != op) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	int found = *pp == op;
	if (found) {
		*pp = op->next;
		if (p->todo_tail == op)
			p->todo_tail = prev;
	}
	pthread_mutex_unlock(&p->mu);
	return found;
}

static void pool_close(struct ep *e)
{
	struct pool *p = e->pool;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->efd = -1;
	p->todo = p->todo_tail = NULL;
	pthread_cond_broadcast(&p->cv);
	pool_unref_locked(p);
}

/* Flush one queued operation. */
static void start(struct kif_evio *ev, struct evio_op *op)
{
	struct ep *e = EP(ev);
	int r;
	switch (op->kind) {
	case EV_TIMEOUT:
		op->state = ST_TIMER;
		if (heap_push(e, op) < 0)
			post(ev, op, -ENOMEM, 0);
		return;
	case EV_CLOSE:
		do_close(ev, op);
		return;
	case EV_OPENAT:
	case EV_STATX:
	case EV_FSYNC:
		if (pool_put(ev, op) < 0) /* no thread: a plain call after all */
			post(ev, op, attempt(ev, op, 1), 0);
		return;
	default:
		break;
	}
	struct fdst *s = fdst(e, op->fd);
	if (!s) {
		post(ev, op, op->fd < 0 ? -EBADF : -ENOMEM, 0);
		return;
	}
	if (!s->known)
		learn(s, op->fd);
	if (s->plain) {
		while ((r = attempt(ev, op, 1)) != AGAIN && finish(ev, op, r))
			;
		if (r == AGAIN) /* a plain descriptor that is not ready (poll) */
			post(ev, op, op->kind == EV_POLL ? 0 : -EAGAIN, 0);
		return;
	}
	/* Behind an operation of the same direction: keep the order. */
	if (op->kind == EV_POLL || !waits_in_dir(s, op_dir(op))) {
		while ((r = attempt(ev, op, 0)) != AGAIN) {
			if (!finish(ev, op, r))
				return;
		}
	}
	add_waiting(s, op);
	r = rearm(e, op->fd, s);
	if (r == -EPERM) {
		/* Not pollable (e.g. /dev/null): it never blocks, so serve it
		 * and everything after it by plain calls. */
		s->plain = 1;
		unlink_waiting(s, op);
		while ((r = attempt(ev, op, 1)) != AGAIN && finish(ev, op, r))
			;
		if (r == AGAIN)
			post(ev, op, -EAGAIN, 0);
	} else if (r < 0) {
		unlink_waiting(s, op);
		post(ev, op, r, 0);
	}
}

/* epoll said [events] for [fd]: run the waiting operations it unblocks, in
 * order, each direction until its first one that is still not ready. */
static void ready(struct kif_evio *ev, int fd, uint32_t events)
{
	struct ep *e = EP(ev);
	struct fdst *s = &e->fds[fd];
	s->armed = 0; /* one-shot: the event disarmed it */
	int err = (events & (EPOLLERR | EPOLLHUP)) != 0;
	int in_blocked = !(events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) && !err;
	int out_blocked = !(events & EPOLLOUT) && !err;
	for (struct evio_op *op = s->head, *nx; op; op = nx) {
		nx = op->next;
		if (op->kind == EV_POLL) {
			uint32_t got = events & (op->len | EPOLLERR | EPOLLHUP);
			if (got) {
				unlink_waiting(s, op);
				post(ev, op, (int32_t)got, 0);
			}
			continue;
		}
		uint32_t d = op_dir(op);
		int *blocked = d == DIR_IN ? &in_blocked : &out_blocked;
		if (*blocked)
			continue;
		for (;;) {
			int r = attempt(ev, op, 0);
			if (r == AGAIN) {
				*blocked = 1;
				break;
			}
			if (op->kind == EV_ACCEPT && op->multishot && r >= 0) {
				post(ev, op, r, 1);
				continue;
			}
			/* Unlink first: the last completion retires the record. */
			unlink_waiting(s, op);
			post(ev, op, r, 0);
			break;
		}
	}
	int r = rearm(e, fd, s);
	if (r < 0) {
		while (s->head) {
			struct evio_op *w = s->head;
			unlink_waiting(s, w);
			post(ev, w, r, 0);
		}
	}
}

/* ---- backend interface ----------------------------------------------- */

static int ep_open(struct kif_evio *ev, char *why, unsigned why_len)
{
	struct ep *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		int r = -errno;
		if (why)
			snprintf(why, why_len, "epoll_create1: %s", strerror(-r));
		free(e);
		return r;
	}
	/* The wake eventfd is level-triggered and drained when seen. */
	struct epoll_event ee = { .events = EPOLLIN, .data.fd = ev->efd };
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, ev->efd, &ee) < 0) {
		int r = -errno;
		close(e->epfd);
		free(e);
		return r;
	}
	ev->bp = e;
	return 0;
}

static void ep_close(struct kif_evio *ev)
{
	struct ep *e = EP(ev);
	pool_close(e);
	close(e->epfd);
	free(e->fds);
	free(e->heap);
	free(e->cq);
	free(e);
}

static int ep_queue(struct kif_evio *ev, struct evio_op *op)
{
	struct ep *e = EP(ev);
	op->state = ST_QUEUED;
	op->next = NULL;
	op->prev = e->qtail;
	if (e->qtail)
		e->qtail->next = op;
	else
		e->qhead = op;
	e->qtail = op;
	return 0;
}

static void ep_cancel(struct kif_evio *ev, struct evio_op *op)
{
	struct ep *e = EP(ev);
	switch (op->state) {
	case ST_QUEUED:
		if (op->prev)
			op->prev->next = op->next;
		else
			e->qhead = op->next;
		if (op->next)
			op->next->prev = op->prev;
		else
			e->qtail = op->prev;
		break;
	case ST_WAITING:
		unlink_waiting(&e->fds[op->fd], op);
		/* The descriptor may stay armed for it: a spurious event is
		 * harmless (nothing waits, nothing is re-armed). */
		break;
	case ST_TIMER:
		heap_remove(e, op);
		break;
	case ST_POOL:
		if (!pool_cancel(ev, op))
			return; /* in a thread's system call: its own result comes */
		break;
	default:
		return;
	}
	post(ev, op, -ECANCELED, 0);
}

static int ep_flush(struct kif_evio *ev)
{
	struct ep *e = EP(ev);
	int n = 0;
	while (e->qhead) {
		struct evio_op *op = e->qhead;
		e->qhead = op->next;
		if (e->qhead)
			e->qhead->prev = NULL;
		else
			e->qtail = NULL;
		op->next = op->prev = NULL;
		op->state = 0;
		start(ev, op);
		n++;
	}
	return n;
}

static int ep_harvest(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max)
{
	struct ep *e = EP(ev);
	expire_timers(ev);
	pool_reap(ev);
	unsigned n = 0;
	while (n < max && e->cqlen) {
		out[n++] = e->cq[e->cqhead];
		e->cqhead = (e->cqhead + 1) % e->cqcap;
		e->cqlen--;
	}
	ev->st.completed += n;
	return (int)n;
}

static int ep_sleep(struct kif_evio *ev, uint64_t deadline)
{
	struct ep *e = EP(ev);
	if (e->nheap && e->heap[0]->abs_ns < deadline)
		deadline = e->heap[0]->abs_ns;
	uint64_t now = kif_now_ns();
	uint64_t rel = deadline == KIF_EVIO_FOREVER ? 0 : deadline > now ? deadline - now : 0;
	struct epoll_event evs[64];
	int n;
	ev->st.waits++;
	if (deadline == KIF_EVIO_FOREVER) {
		n = epoll_wait(e->epfd, evs, 64, -1);
	} else if (!e->no_pwait2) {
		/* Nanoseconds (Linux 5.11): no rounding to milliseconds. */
		struct timespec ts = { .tv_sec = (time_t)(rel / 1000000000u),
				       .tv_nsec = (long)(rel % 1000000000u) };
		n = epoll_pwait2(e->epfd, evs, 64, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			e->no_pwait2 = 1;
			return 0; /* evio_wait() comes back at once */
		}
	} else {
		/* Round up: waking early would only cost another wait. */
		uint64_t ms = (rel + 999999) / 1000000;
		n = epoll_wait(e->epfd, evs, 64, ms > INT_MAX ? INT_MAX : (int)ms);
	}
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd == ev->efd) {
			uint64_t v;
			while (read(ev->efd, &v, sizeof v) < 0 && errno == EINTR)
				;
			continue;
		}
		if ((size_t)fd < e->nfds)
			ready(ev, fd, evs[i].events);
	}
	return 0;
}

static void ep_forget(struct kif_evio *ev, int fd)
{
	struct ep *e = EP(ev);
	if (fd >= 0 && (size_t)fd < e->nfds && e->fds[fd].added && !e->fds[fd].head)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT/EBADF: gone already */
	forget(e, fd);
}

const struct evio_backend kif_evio_epoll_backend = {
	.name = "epoll",
	.open = ep_open,
	.close = ep_close,
	.queue = ep_queue,
	.cancel = ep_cancel,
	.flush = ep_flush,
	.harvest = ep_harvest,
	.sleep = ep_sleep,
	.forget = ep_forget,
};
