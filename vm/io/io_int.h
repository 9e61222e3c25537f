// SPDX-License-Identifier: MIT
/*
 * vm/io/io_int.h: what vm/io/'s files share: the request table, the
 * per-descriptor records (waiters, queued accepted connections), and the
 * helpers the primitives use to submit and park. Private to vm/io/.
 */
#ifndef BATON_VM_IO_INT_H
#define BATON_VM_IO_INT_H

#include <stdint.h>

#include "baton/io.h"
#include "vm/io/io.h"
#include "vm/prim.h"
#include "vm/sched.h"

enum vr_kind {
	VR_READ,        /* read into obj (pinned) or buf */
	VR_WRITE,       /* write from obj (pinned) or buf; loops over short writes */
	VR_RECV,        /* ring poll POLLIN, then recv(MSG_DONTWAIT): holds no buffer */
	VR_SEND,        /* send of what send(MSG_DONTWAIT) left; loops */
	VR_ACCEPT_MS,   /* the multishot accept of a listening fd (no process) */
	VR_ACCEPT_WAIT, /* a process waiting for a connection (not on the ring) */
	VR_CONNECT,
	VR_OPEN,
	VR_CLOSE,
	VR_STAT,        /* statx into buf */
	VR_FSYNC,
	VR_POLL,
	VR_RECVFROM,    /* ring poll, then recvfrom */
	VR_SENDTO,      /* ring poll POLLOUT, then sendto */
	VR_OUT,         /* a process waiting for the stdout chunk [len] (not on the ring) */
	VR_OUTW,        /* the ring write of stdout chunks (no process) */
	VR_RAW,         /* vio_raw: the result as an Integer */
	VR_RAW_FD,      /* vio_raw of an operation that opens a descriptor */
	VR_SIG,         /* the poll of the signal descriptor (vm/io/sig.c; no process) */
};

/* Tags: generation << 32 | slot; the timeout of a request sets TAG_TMO. */
#define TAG_TMO 0x80000000u
#define SLOT_MASK 0x7fffffffu

struct vreq {
	uint32_t gen;
	uint8_t used;
	uint8_t kind;
	uint8_t main_live;  /* its operation is on the ring (a completion will come) */
	uint8_t tmo_live;   /* its timeout is on the ring */
	uint8_t timed_out;  /* the timeout fired: the answer is -ETIMEDOUT */
	uint8_t closed;     /* close: of its fd came first: never touch fd again */
	uint8_t pinned;     /* obj is pinned by this request */
	uint8_t binary;
	uint8_t linked;     /* in its descriptor's list */
	int proc;           /* handle of the waiting process, 0: none */
	int fd;             /* -1: none */
	int fd_next;        /* next request on fd (slot + 1), 0: end */
	int free_next;
	oop obj;            /* target or source object (a root), 0: none */
	char *buf;          /* malloc'd: data, path, sockaddr, statx */
	size_t at;          /* obj's data starts at byte [at] (0-based) */
	size_t len;         /* bytes (to read, to write, recv max) */
	size_t done;        /* bytes written so far */
	size_t pre;         /* send: bytes sent before it was queued */
	unsigned len2;      /* pollers: the events they poll for */
	int64_t off;        /* file offset, BATON_IO_CUR_POS: the fd's own */
	uint64_t seq;       /* VR_OUT: the chunk sequence number it waits for */
};

/* A descriptor's record: the requests on it (for close: and for pollers
 * of a listening socket), and what its multishot accept queued. */
struct vfd {
	int head;          /* requests on fd (slot + 1), in arrival order */
	int ms;            /* its multishot accept (slot + 1), 0: none */
	int *q;            /* accepted descriptors nobody asked for yet */
	unsigned qh, qn, qcap;
	int err;           /* an accept error nobody took yet (-errno), 0 */
};

struct vpin {
	oop o;
	int n;
};

/* A chunk of stdout waiting for (or in) the ring. */
struct vchunk {
	struct vchunk *next;
	size_t len, off;
	uint64_t seq;
	char data[];
};

struct vio {
	struct vreq *r;
	int nr, cap;
	int free;          /* free slots (slot + 1), 0: none */
	struct vfd *fds;
	int nfds;
	struct vpin *pins;
	int npins, cappins;
	char *scratch;     /* recv's landing place before the String exists */
	size_t scap;
	/* stdout through the ring */
	struct vchunk *oq, *oq_tail; /* oq is in flight when out_live */
	int out_live;
	int out_waiters;    /* processes parked in flushOut (a hint: at least) */
	uint64_t out_seq, out_done; /* chunks queued / written */
	/* completions vio_out_drain met, for the next harvest */
	baton_io_cqe *later;
	int nlater, caplater;
	/* counters for --stats */
	uint64_t waits, finalized_fds, answered;
	struct vsig *sig;  /* the signal handlers (vm/io/sig.c), NULL: none yet */
};

struct vio *vio_get(struct st_vm *vm);
struct vreq *vio_new(struct st_vm *vm, int kind, int fd);
static inline int vio_slot(struct st_vm *vm, struct vreq *r) { return (int)(r - vm->vio->r); }
static inline uint64_t vio_tag(struct st_vm *vm, struct vreq *r)
{
	return (uint64_t)r->gen << 32 | (uint32_t)vio_slot(vm, r);
}
/* After a baton_io_* call returned [e]: 0 when queued (counted). */
int vio_queued(struct st_vm *vm, struct vreq *r, int e);
/* The active process waits for [r] (with a timeout: [tmo] ms + 1, 0:
 * none): PRIM_SWITCH. */
int vio_park(struct st_vm *vm, struct vreq *r, uint32_t tmo);
/* Frees the slot of [r] (nothing on the ring). */
void vio_drop(struct st_vm *vm, struct vreq *r);
/* Frees what [r] holds, and its slot, once nobody needs them. */
void vio_settle(struct st_vm *vm, struct vreq *r);
/* Frees [r] and what it holds (nothing on the ring). */
void vio_discard(struct st_vm *vm, struct vreq *r);
/* Links [r] into its descriptor's list. 0: no memory. */
int vio_link_fd(struct st_vm *vm, struct vreq *r);
struct vfd *vio_fd(struct st_vm *vm, int fd, int make);
/* Pins *[ref] for [r]: 0 when the heap is full. */
int vio_pin(struct st_vm *vm, struct vreq *r, oop *ref);
/* Where [r]'s transfer goes on: its C buffer, or its pinned object. */
static inline uint8_t *vio_data(struct vreq *r)
{
	return (r->buf ? (uint8_t *)r->buf : obj_bytes(r->obj) + r->at) + r->done;
}
/* Requests that poll first, then make the call themselves. */
static inline int vio_is_poller(const struct vreq *r)
{
	return r->kind == VR_RECV || r->kind == VR_RECVFROM || r->kind == VR_SENDTO;
}
/* The scratch buffer, at least [n] bytes; NULL: no memory. */
char *vio_scratch(struct st_vm *vm, size_t n);
/* A String (ByteArray if [binary]) of [n] bytes from [s]; 0: no memory. */
oop vio_bytes(struct st_vm *vm, const char *s, size_t n, int binary);
/* Takes the active process's pending timeout (ms + 1, 0: none). */
uint32_t vio_take_tmo(struct st_vm *vm);
/* Answers [v] to [r]'s process and makes it runnable. */
void vio_answer(struct st_vm *vm, struct vreq *r, oop v);
/* The completion of one of [r]'s operations (a slot, generation matched). */
void vio_complete(struct st_vm *vm, struct vreq *r, int32_t res, int more);
/* close: cancels and unlinks what waits on [fd], drops queued connections. */
void vio_close_fd_requests(struct st_vm *vm, int fd);
/* recv/recvfrom/sendto retried after their poll: 0 with *[out] the
 * answer, -EAGAIN to poll again, or -errno. May allocate. */
int vio_retry(struct st_vm *vm, struct vreq *r, oop *out);
/* Submits [r]'s operation again (the rest of a write, a poll). */
int vio_resubmit(struct st_vm *vm, struct vreq *r);
/* accept: a connection a multishot accept queued (fd > 0), a queued
 * error (< 0), or 0: none. */
int vio_accept_queued(struct st_vm *vm, int fd);
int vio_accept_ready(struct st_vm *vm, int fd);
/* Starts the multishot accept of [fd]: 0 or -errno. */
int vio_start_accept(struct st_vm *vm, int fd);
/* One completion: its request's handler (or nothing, for a late one). */
void vio_dispatch(struct st_vm *vm, const baton_io_cqe *c);
/* The ring write of a stdout chunk completed. */
void vio_out_done(struct st_vm *vm, struct vreq *r, int32_t res);

/* vm/io/sig.c: the signal poll completed; the handler blocks (roots); the
 * end (after the loop is closed); --stats rows */
void vio_sig_done(struct st_vm *vm, struct vreq *r, int32_t res);
void vio_sig_roots(struct st_vm *vm, gc_visit_fn visit, void *ud);
void vio_sig_free(struct st_vm *vm);
void vio_sig_stats(struct st_vm *vm, FILE *f);

/* ---- the primitives' argument checks and answers ---- */

/* [o] is a SmallInteger in [lo, hi]: into *out. */
static inline int int_arg(oop o, intptr_t lo, intptr_t hi, intptr_t *out)
{
	if (!obj_is_int(o) || obj_int(o) < lo || obj_int(o) > hi)
		return 0;
	*out = obj_int(o);
	return 1;
}

static inline int fd_arg(oop o, int *fd)
{
	intptr_t v;
	if (!int_arg(o, 0, 0x7fffffff, &v))
		return 0;
	*fd = (int)v;
	return 1;
}

/* The primitive answers the Integer [v]. */
static inline int answer(oop *args, intptr_t v)
{
	args[0] = obj_from_int(v);
	return PRIM_OK;
}

#endif /* BATON_VM_IO_INT_H */
