// SPDX-License-Identifier: MIT
/*
 * evio_int.h: what evio.c shares with its backends (evio_uring.c,
 * evio_epoll.c), and nothing else includes.
 *
 * Owns the loop object, the operation record and the backend table. An
 * operation record lives from the call that queues it to its last
 * completion; it carries everything needed to issue it again (EINTR, an
 * emulated multishot accept) and is found by tag for cancels.
 */
#ifndef KIF_EVIO_INT_H
#define KIF_EVIO_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel-iface/evio.h"

enum evio_kind {
	EV_READ, EV_WRITE, EV_RECV, EV_SEND, EV_ACCEPT, EV_CONNECT, EV_OPENAT,
	EV_CLOSE, EV_STATX, EV_FSYNC, EV_TIMEOUT, EV_POLL,
};

struct evio_op {
	uint64_t tag;
	uint8_t kind;      /* enum evio_kind */
	uint8_t multishot; /* accept: KIF_EVIO_MULTISHOT asked */
	uint8_t emulated;  /* io_uring: multishot accept done by re-arming */
	uint8_t cancelled; /* a cancel was asked: no re-arm, no second cancel */
	uint8_t state;     /* backend's: where the record is (epoll) */
	uint8_t started;   /* epoll connect: connect(2) was called */
	int fd;
	int flags;         /* recv/send/accept/openat/statx flags */
	unsigned len;      /* bytes; statx: mask; poll: events; fsync: how */
	int64_t off;       /* read/write offset or KIF_EVIO_CUR_POS */
	void *buf;         /* read/recv/statx target; accept: sockaddr */
	const void *cbuf;  /* write/send source; connect: sockaddr */
	const char *path;  /* openat/statx */
	socklen_t *addrlenp;
	socklen_t addrlen;
	unsigned mode;     /* openat */
	uint64_t abs_ns;   /* timeout */
	size_t heap;       /* epoll: index in the timer heap */
	struct evio_op *hnext;       /* tag hash chain */
	struct evio_op *next, *prev; /* backend lists; free list */
};

struct kif_evio;

struct evio_backend {
	const char *name;
	/* 0, or -errno with [why] filled when the backend cannot run here. */
	int (*open)(struct kif_evio *ev, char *why, unsigned why_len);
	void (*close)(struct kif_evio *ev);
	int (*queue)(struct kif_evio *ev, struct evio_op *op);
	void (*cancel)(struct kif_evio *ev, struct evio_op *op);
	int (*flush)(struct kif_evio *ev);
	int (*harvest)(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max);
	/* One kernel wait until a completion or [deadline] (0: do not
	 * sleep); 0 or -errno (never -EINTR). Wakes come through ev->efd. */
	int (*sleep)(struct kif_evio *ev, uint64_t deadline);
	void (*forget)(struct kif_evio *ev, int fd); /* may be NULL */
	/* Kick [dst] (asleep, of the same backend) from [ev], whose owner
	 * calls: 1 sent, 0 cannot (use the eventfd). May be NULL. */
	int (*msg_wake)(struct kif_evio *ev, struct kif_evio *dst);
};

extern const struct evio_backend kif_evio_uring_backend;
extern const struct evio_backend kif_evio_epoll_backend;

struct evio_chunk {
	struct evio_chunk *next;
	struct evio_op ops[];
};

struct kif_evio {
	const struct evio_backend *be;
	void *bp;            /* the backend's own state */
	unsigned entries;
	unsigned optflags;   /* KIF_EVIO_OPT_* */
	int efd;             /* eventfd for kif_evio_wake */
	atomic_int sleeping; /* the owner is in (or entering) a kernel wait */
	atomic_int wake_pending;
	atomic_ulong wakes;
	atomic_ulong msg_ring_wakes; /* kicks sent to this loop by MSG_RING */
	int msg_ring;        /* the backend can kick another loop (MSG_RING) */
	struct evio_op *free;
	struct evio_chunk *chunks;
	struct evio_op **buckets; /* tag hash, power-of-2 size */
	size_t nbuckets;
	struct kif_evio_stats st;
};

/* Fill one completion for the caller; retires [op] unless [more]. */
void kif_evio_deliver(struct kif_evio *ev, struct evio_op *op, int32_t res, int more,
		      struct kif_evio_cqe *out);
/* Retire an operation that gets no completion (loop closing). */
void kif_evio_retire(struct kif_evio *ev, struct evio_op *op);

#endif /* KIF_EVIO_INT_H */
