// SPDX-License-Identifier: MIT
/*
 * evio_uring.c: the io_uring backend of the event-I/O loop (evio.h).
 *
 * Owns one ring per loop: every operation is one SQE whose user_data is its
 * record (struct evio_op), completions are read straight from the mapped
 * completion ring, and the loop's eventfd always has a read in flight so
 * that kif_evio_wake ends a wait; kif_evio_wake_from may instead post a
 * completion straight into another loop's ring (IORING_OP_MSG_RING). Opcodes
 * and set-up flags are checked at open (the probe, then the ring's own
 * opcode table); what is missing makes open fail (MSG_RING only turns its
 * use off), and evio.c falls back to epoll. See
 * Documentation/core/kernel-iface.md ("evio.h").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/evio_int.h"
#include "kernel-iface/uring.h"

#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7) /* Linux 5.18 */
#endif

/* user_data of the loop's own SQEs: never a record's address. */
#define UD_WAKE ((uint64_t)1)
#define UD_CANCEL ((uint64_t)2)
#define UD_MSGWAKE ((uint64_t)3) /* posted into this ring by another's MSG_RING */
#define UD_MSGSENT ((uint64_t)4) /* the MSG_RING SQE itself, on the sender */
#define UD_MSGSEEN ((uint64_t)5) /* a failed one, already handled at once */

struct ur {
	struct io_uring ring;
	/* Timeouts point at a timespec that the kernel copies when it takes
	 * the SQE (IORING_FEAT_SUBMIT_STABLE): one per SQ slot is enough. */
	struct __kernel_timespec *ts;
	uint64_t wake_val;  /* target of the eventfd read */
	int multishot_accept;
	int cqe_skip;        /* IOSQE_CQE_SKIP_SUCCESS (IORING_FEAT_CQE_SKIP) */
};

static const struct {
	int op;
	const char *name;
} needed[] = {
	{ IORING_OP_READ, "READ" },       { IORING_OP_WRITE, "WRITE" },
	{ IORING_OP_RECV, "RECV" },       { IORING_OP_SEND, "SEND" },
	{ IORING_OP_ACCEPT, "ACCEPT" },   { IORING_OP_CONNECT, "CONNECT" },
	{ IORING_OP_OPENAT, "OPENAT" },   { IORING_OP_CLOSE, "CLOSE" },
	{ IORING_OP_STATX, "STATX" },     { IORING_OP_FSYNC, "FSYNC" },
	{ IORING_OP_TIMEOUT, "TIMEOUT" }, { IORING_OP_POLL_ADD, "POLL_ADD" },
	{ IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
};

static struct ur *UR(struct kif_evio *ev)
{
	return ev->bp;
}

static int submit_now(struct kif_evio *ev)
{
	struct ur *u = UR(ev);
	if (io_uring_sq_ready(&u->ring) == 0)
		return 0;
	for (;;) {
		ev->st.waits++;
		int r = io_uring_submit(&u->ring);
		if (r != -EINTR)
			return r;
	}
}

/*
 * A free SQE. A full queue is flushed and the SQE taken again; only if the
 * kernel refuses new work (-EBUSY/-EAGAIN: completions must be harvested
 * first, on kernels that cannot buffer them) does this return NULL.
 */
static struct io_uring_sqe *sqe_get(struct kif_evio *ev)
{
	struct ur *u = UR(ev);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (sqe)
		return sqe;
	ev->st.flushes_full++;
	submit_now(ev);
	return io_uring_get_sqe(&u->ring);
}

static void arm_wake(struct kif_evio *ev)
{
	struct ur *u = UR(ev);
	struct io_uring_sqe *sqe = sqe_get(ev);
	/* No SQE even after a flush: arm again at the next sleep. */
	if (!sqe)
		return;
	io_uring_prep_read(sqe, ev->efd, &u->wake_val, sizeof u->wake_val, 0);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
	u->wake_val = 0;
}

static int probe_ops(struct io_uring *ring, int *multishot, int *msg_ring, char *why,
		     unsigned len)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	if (!p) {
		snprintf(why, len, "IORING_REGISTER_PROBE failed (kernel older than 5.6)");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (!io_uring_opcode_supported(p, needed[i].op)) {
			snprintf(why, len, "IORING_OP_%s unsupported", needed[i].name);
			io_uring_free_probe(p);
			return -EOPNOTSUPP;
		}
	}
	/* Multishot accept is a flag, not an opcode: the probe cannot see it.
	 * It came in 5.19 with IORING_OP_SOCKET, which the probe can see. */
	*multishot = io_uring_opcode_supported(p, IORING_OP_SOCKET);
	/* Optional: without it kif_evio_wake_from writes the eventfd. */
	*msg_ring = io_uring_opcode_supported(p, IORING_OP_MSG_RING);
	io_uring_free_probe(p);
	return 0;
}

static int ur_open(struct kif_evio *ev, char *why, unsigned why_len)
{
	struct kif_uring_caps caps;
	int r = kif_uring_probe(&caps);
	if (r < 0) {
		snprintf(why, why_len, "%s", caps.why);
		return r;
	}
	struct ur *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	/* Not SINGLE_ISSUER/DEFER_TASKRUN: the VM moves between threads, and
	 * those flags tie submissions and completion work to one thread.
	 * SUBMIT_ALL: one bad SQE must not hold back the rest of a batch. */
	struct io_uring_params p = { .flags = IORING_SETUP_SUBMIT_ALL };
	r = io_uring_queue_init_params(ev->entries, &u->ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof p);
		r = io_uring_queue_init_params(ev->entries, &u->ring, &p);
	}
	if (r < 0) {
		snprintf(why, why_len, "io_uring_setup: %s", strerror(-r));
		free(u);
		return r;
	}
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_SUBMIT_STABLE)) {
		snprintf(why, why_len, "no IORING_FEAT_NODROP/SUBMIT_STABLE (needs Linux 5.5)");
		r = -EOPNOTSUPP;
		goto fail;
	}
	r = probe_ops(&u->ring, &u->multishot_accept, &ev->msg_ring, why, why_len);
	if (r < 0)
		goto fail;
	if (ev->optflags & KIF_EVIO_OPT_NO_MULTISHOT)
		u->multishot_accept = 0;
	if (ev->optflags & KIF_EVIO_OPT_NO_MSG_RING)
		ev->msg_ring = 0;
	u->cqe_skip = (p.features & IORING_FEAT_CQE_SKIP) != 0 &&
		      !(ev->optflags & KIF_EVIO_OPT_NO_CQE_SKIP);
	u->ts = calloc(u->ring.sq.ring_entries, sizeof *u->ts);
	if (!u->ts) {
		r = -ENOMEM;
		goto fail;
	}
	ev->bp = u;
	arm_wake(ev);
	return 0;
fail:
	io_uring_queue_exit(&u->ring);
	free(u);
	return r;
}

static void ur_close(struct kif_evio *ev)
{
	struct ur *u = UR(ev);
	/* Tearing the ring down cancels whatever is in flight; the records
	 * go with the pool. */
	io_uring_queue_exit(&u->ring);
	free(u->ts);
	free(u);
}

static int ur_queue(struct kif_evio *ev, struct evio_op *op)
{
	struct ur *u = UR(ev);
	struct io_uring_sqe *sqe = sqe_get(ev);
	if (!sqe)
		return -EBUSY;
	uint64_t off = op->off == KIF_EVIO_CUR_POS ? (uint64_t)-1 : (uint64_t)op->off;
	switch (op->kind) {
	case EV_READ:
		io_uring_prep_read(sqe, op->fd, op->buf, op->len, off);
		break;
	case EV_WRITE:
		io_uring_prep_write(sqe, op->fd, op->cbuf, op->len, off);
		break;
	case EV_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, op->len, op->flags);
		break;
	case EV_SEND:
		io_uring_prep_send(sqe, op->fd, op->cbuf, op->len, op->flags);
		break;
	case EV_ACCEPT:
		if (op->multishot && u->multishot_accept) {
			io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL, op->flags);
		} else {
			/* No multishot in this kernel: one accept at a time,
			 * issued again after each connection (see harvest). */
			op->emulated = op->multishot;
			io_uring_prep_accept(sqe, op->fd, op->buf, op->addrlenp, op->flags);
		}
		break;
	case EV_CONNECT:
		/* Issued again after the kernel cancelled it (see harvest):
		 * the connection is under way, so wait for it to finish. */
		if (op->started)
			io_uring_prep_poll_add(sqe, op->fd, POLLOUT);
		else
			io_uring_prep_connect(sqe, op->fd, op->cbuf, op->addrlen);
		break;
	case EV_OPENAT:
		io_uring_prep_openat(sqe, op->fd, op->path, op->flags, op->mode);
		break;
	case EV_CLOSE:
		io_uring_prep_close(sqe, op->fd);
		break;
	case EV_STATX:
		io_uring_prep_statx(sqe, op->fd, op->path, op->flags, op->len, op->buf);
		break;
	case EV_FSYNC:
		io_uring_prep_fsync(sqe, op->fd, op->len & KIF_EVIO_DATASYNC ?
						   IORING_FSYNC_DATASYNC : 0);
		break;
	case EV_TIMEOUT: {
		struct __kernel_timespec *ts = &u->ts[sqe - u->ring.sq.sqes];
		ts->tv_sec = (long long)(op->abs_ns / 1000000000u);
		ts->tv_nsec = (long long)(op->abs_ns % 1000000000u);
		io_uring_prep_timeout(sqe, ts, 0, IORING_TIMEOUT_ABS);
		break;
	}
	case EV_POLL:
		io_uring_prep_poll_add(sqe, op->fd, op->len);
		break;
	default:
		/* The SQE is taken: make it a harmless no-op of ours. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		return -EINVAL;
	}
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static void ur_cancel(struct kif_evio *ev, struct evio_op *op)
{
	struct io_uring_sqe *sqe = sqe_get(ev);
	/* Only when the kernel refuses new work: the operation then simply
	 * completes on its own; the emulated accept stops re-arming anyway. */
	if (!sqe)
		return;
	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data64(sqe, UD_CANCEL);
}

static int ur_flush(struct kif_evio *ev)
{
	return submit_now(ev);
}

/* The end of a connection attempt that was issued again as a poll. */
static int connect_outcome(int fd)
{
	int err = 0;
	socklen_t l = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -errno;
	return -err;
}

static int ur_harvest(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max)
{
	struct ur *u = UR(ev);
	unsigned n = 0;
	for (int flushed = 0;; flushed = 1) {
		unsigned head, seen = 0;
		struct io_uring_cqe *cqe;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			if (n == max)
				break;
			seen++;
			uint64_t ud = cqe->user_data;
			int32_t res = cqe->res;
			int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
			if (ud == UD_WAKE) {
				arm_wake(ev);
				continue;
			}
			if (ud == UD_CANCEL || ud == LIBURING_UDATA_TIMEOUT ||
			    ud == UD_MSGWAKE || ud == UD_MSGSEEN)
				continue; /* UD_MSGWAKE: wake_pending has the wake */
			if (ud == UD_MSGSENT) {
				/* With IOSQE_CQE_SKIP_SUCCESS only failures come;
				 * this one came too late to fall back (the kernel
				 * ran it after the submitting call returned). */
				if (res < 0)
					ev->st.msg_ring_failed++;
				continue;
			}
			struct evio_op *op = (struct evio_op *)(uintptr_t)ud;
			/*
			 * EINTR never surfaces: issue the operation again. Nor
			 * does a cancel nobody asked for: the kernel cancels a
			 * thread's requests when that thread exits, and the VM
			 * moves between threads. Issue it again from this one.
			 */
			if ((res == -EINTR || res == -ECANCELED) && !op->cancelled) {
				if (op->kind == EV_CONNECT)
					op->started = 1;
				if (ur_queue(ev, op) == 0) {
					ev->st.reissued++;
					continue;
				}
			}
			if (op->kind == EV_CONNECT && op->started && res >= 0)
				res = connect_outcome(op->fd);
			if (op->emulated && res >= 0 && !op->cancelled &&
			    ur_queue(ev, op) == 0)
				more = 1;
			kif_evio_deliver(ev, op, res, more, &out[n++]);
		}
		io_uring_cq_advance(&u->ring, seen);
		if (n || flushed)
			return (int)n;
		/* Completions the ring had no room for wait in the kernel
		 * (IORING_FEAT_NODROP) until an enter flushes them: only then
		 * does harvesting cost a system call. */
		if (!(IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW))
			return 0;
		ev->st.waits++;
		ev->st.cq_overflows++;
		io_uring_get_events(&u->ring);
	}
}

/*
 * kif_evio_wake_from: post a completion tagged UD_MSGWAKE into [dst]'s ring,
 * which ends its wait, with one IORING_OP_MSG_RING (IORING_MSG_DATA) sent at
 * once on ours. (IORING_MSG_RING_CQE_SKIP would skip dst's completion, the
 * wake itself; IOSQE_CQE_SKIP_SUCCESS skips ours.) Answers 1 when the kernel
 * took it and did not refuse it on the spot, 0 when the caller must write
 * dst's eventfd instead.
 */
static int ur_msg_wake(struct kif_evio *ev, struct kif_evio *dst)
{
	struct ur *u = UR(ev);
	struct io_uring_sqe *sqe = sqe_get(ev);
	if (!sqe)
		return 0;
	/* By hand: liburing 2.3's helper predates the flags field's name. */
	memset(sqe, 0, sizeof *sqe);
	sqe->opcode = IORING_OP_MSG_RING;
	sqe->fd = UR(dst)->ring.ring_fd;
	sqe->addr = IORING_MSG_DATA; /* the command: post a completion */
	sqe->len = 0;                /* its res */
	sqe->off = UD_MSGWAKE;       /* its user_data */
	sqe->user_data = UD_MSGSENT;
	if (u->cqe_skip)
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	/* Tests: a flag that IORING_MSG_DATA refuses (-EINVAL). */
	if (ev->optflags & KIF_EVIO_OPT_MSG_RING_REFUSED)
		sqe->msg_ring_flags = IORING_MSG_RING_CQE_SKIP;
	unsigned tail0 = io_uring_smp_load_acquire(u->ring.cq.ktail);
	submit_now(ev);
	if (io_uring_sq_ready(&u->ring) > 0) {
		/* The kernel took nothing, or not up to ours (the last one):
		 * make it a no-op of ours rather than a late MSG_RING to a
		 * ring fd that may be closed and reused by then. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		return 0;
	}
	/* Run inline (the usual case), a refusal is already in our ring,
	 * among what this submission posted: take it over here. Unless our
	 * completion ring is full (its owner has not harvested): a refusal
	 * then waits in the kernel, out of sight, so kick with the eventfd
	 * as well (the MSG_RING's completion, if any, is swallowed). */
	if (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		return 0;
	unsigned tail1 = io_uring_smp_load_acquire(u->ring.cq.ktail);
	for (unsigned i = tail0; i != tail1; i++) {
		struct io_uring_cqe *c = &u->ring.cq.cqes[i & u->ring.cq.ring_mask];
		if (c->user_data == UD_MSGSENT && c->res < 0) {
			c->user_data = UD_MSGSEEN; /* harvest swallows it */
			ev->st.msg_ring_failed++;
			return 0;
		}
	}
	return 1;
}

static int ur_sleep(struct kif_evio *ev, uint64_t deadline)
{
	struct ur *u = UR(ev);
	struct io_uring_cqe *cqe;
	int r;
	if (deadline == 0) {
		r = submit_now(ev);
		if (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) {
			ev->st.waits++;
			io_uring_get_events(&u->ring);
		}
		return r < 0 && r != -EBUSY && r != -EAGAIN ? r : 0;
	}
	ev->st.waits++;
	if (deadline == KIF_EVIO_FOREVER) {
		r = io_uring_submit_and_wait(&u->ring, 1);
	} else {
		uint64_t now = kif_now_ns();
		uint64_t rel = deadline > now ? deadline - now : 0;
		struct __kernel_timespec ts = { .tv_sec = (long long)(rel / 1000000000u),
						.tv_nsec = (long long)(rel % 1000000000u) };
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	}
	/* -ETIME: the deadline; -EINTR: a signal; -EBUSY: harvest first.
	 * evio_wait() looks at the clock and the ring itself. */
	if (r == -ETIME || r == -EINTR || r == -EBUSY || r == -EAGAIN)
		return 0;
	return r < 0 ? r : 0;
}

const struct evio_backend kif_evio_uring_backend = {
	.name = "uring",
	.open = ur_open,
	.close = ur_close,
	.queue = ur_queue,
	.cancel = ur_cancel,
	.flush = ur_flush,
	.harvest = ur_harvest,
	.sleep = ur_sleep,
	.msg_wake = ur_msg_wake,
};
