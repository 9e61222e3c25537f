// SPDX-License-Identifier: MIT
/*
 * evio.h: event-driven I/O, one interface over two kernel APIs.
 *
 * Owns the interface of the per-VM I/O loop (struct kif_evio): operations
 * are queued with a caller-chosen 64-bit tag, sent to the kernel in batches
 * (kif_evio_flush, or the next wait), and come back as completions (tag,
 * result, flags). Two backends implement it, one per kernel API, chosen when
 * the loop is opened: evio_uring.c (io_uring, through liburing) and
 * evio_epoll.c (epoll and non-blocking descriptors). Like Redis's ae.h.
 * Conventions of kernel-iface: -errno, errno left alone, no global state.
 * See Documentation/core/kernel-iface.md ("evio.h").
 */
#ifndef KIF_EVIO_H
#define KIF_EVIO_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

struct statx; /* <sys/stat.h> with _GNU_SOURCE, or <linux/stat.h> */
struct kif_evio;

/* A deadline that never comes (kif_evio_wait). */
#define KIF_EVIO_FOREVER UINT64_MAX

/* Tags from here up are the loop's own: submitting one gives -EINVAL. */
#define KIF_EVIO_TAG_RESERVED 0xffffffffffffff00ull

enum kif_evio_backend {
	KIF_EVIO_AUTO = 0,  /* io_uring when usable and BATON_URING is not 0 */
	KIF_EVIO_URING = 1, /* io_uring or fail (-EOPNOTSUPP & co.) */
	KIF_EVIO_EPOLL = 2, /* epoll, whatever io_uring could do */
};

struct kif_evio_opts {
	int backend;      /* enum kif_evio_backend */
	unsigned entries; /* submission queue size, 0: 256 (power of 2, <= 4096) */
	unsigned flags;   /* KIF_EVIO_OPT_* */
};
/* io_uring: behave as if the kernel had no multishot accept (tests of
 * the emulation that old kernels get). */
#define KIF_EVIO_OPT_NO_MULTISHOT 0x1u
/* io_uring: behave as if the kernel had no IORING_OP_MSG_RING, so that
 * kif_evio_wake_from from this loop always writes the eventfd (tests). */
#define KIF_EVIO_OPT_NO_MSG_RING 0x2u
/* io_uring, tests of kif_evio_wake_from's other paths: behave as if the
 * kernel had no IOSQE_CQE_SKIP_SUCCESS (this loop then gets, and swallows,
 * a completion for each MSG_RING it sends); send MSG_RING wakes the kernel
 * refuses (a flag it rejects), so that the eventfd takes over. */
#define KIF_EVIO_OPT_NO_CQE_SKIP 0x4u
#define KIF_EVIO_OPT_MSG_RING_REFUSED 0x8u

/*
 * Opens a loop. Any thread may call the other functions, but only one at a
 * time (the VM's owner): the loop is not locked. The exception is
 * kif_evio_wake, which any thread may call at any time. With [opts] NULL:
 * KIF_EVIO_AUTO, 256 entries. [why] (may be NULL, >= 128 bytes) receives why
 * io_uring was not used when the loop fell back to epoll.
 */
int kif_evio_open(struct kif_evio **out, const struct kif_evio_opts *opts, char *why,
		  unsigned why_len);
/* Closes the loop. Operations still pending are cancelled without
 * completions; descriptors stay open (they are the caller's). On io_uring
 * the kernel finishes that cancelling on its own time: memory of pending
 * operations that is reused at once should be cancelled and its
 * completions harvested first. */
void kif_evio_close(struct kif_evio *ev);
/* "uring" or "epoll" (for --stats io.backend). */
const char *kif_evio_backend_name(const struct kif_evio *ev);

/* ---- operations: each returns 0 (queued) or -errno (nothing queued) ---- */

/* Whence for read and write: the descriptor's own position (as read(2)). */
#define KIF_EVIO_CUR_POS (-1)

int kif_evio_read(struct kif_evio *ev, uint64_t tag, int fd, void *buf, unsigned len,
		  int64_t off);
int kif_evio_write(struct kif_evio *ev, uint64_t tag, int fd, const void *buf,
		   unsigned len, int64_t off);
int kif_evio_recv(struct kif_evio *ev, uint64_t tag, int fd, void *buf, unsigned len,
		  int flags);
/* MSG_NOSIGNAL is always added: a reset peer gives -EPIPE, never SIGPIPE. */
int kif_evio_send(struct kif_evio *ev, uint64_t tag, int fd, const void *buf,
		  unsigned len, int flags);

/* Multishot accept: one request, one completion per connection, each
 * flagged KIF_EVIO_MORE, until one without (an error, or cancelled). */
#define KIF_EVIO_MULTISHOT 0x1u
/* [flags]: accept4 flags (SOCK_NONBLOCK, SOCK_CLOEXEC); [how]: 0 or
 * KIF_EVIO_MULTISHOT (then [addr] and [addrlen] must be NULL). */
int kif_evio_accept(struct kif_evio *ev, uint64_t tag, int fd, struct sockaddr *addr,
		    socklen_t *addrlen, int flags, unsigned how);
int kif_evio_connect(struct kif_evio *ev, uint64_t tag, int fd,
		     const struct sockaddr *addr, socklen_t addrlen);
int kif_evio_openat(struct kif_evio *ev, uint64_t tag, int dfd, const char *path,
		    int flags, mode_t mode);
/* Closes [fd]; use it (not close(2)) for descriptors the loop has seen,
 * after cancelling what still waits on them (io_uring keeps a request on a
 * closed descriptor alive; epoll completes it with -ECANCELED). */
int kif_evio_close_fd(struct kif_evio *ev, uint64_t tag, int fd);
/* The caller closed (or will reuse) [fd] by other means: forget what the
 * loop knows about it (epoll: its registration and kind). Nothing may
 * still wait on it. */
void kif_evio_forget_fd(struct kif_evio *ev, int fd);
int kif_evio_statx(struct kif_evio *ev, uint64_t tag, int dfd, const char *path,
		   int flags, unsigned mask, struct statx *out);
#define KIF_EVIO_DATASYNC 0x1u
int kif_evio_fsync(struct kif_evio *ev, uint64_t tag, int fd, unsigned how);
/* Completes with -ETIME at [abs_ns] (CLOCK_MONOTONIC), or -ECANCELED. */
int kif_evio_timeout(struct kif_evio *ev, uint64_t tag, uint64_t abs_ns);
/* Completes with the ready events (POLLIN, POLLOUT, POLLERR, POLLHUP...)
 * once one of [events] (or an error or hang-up) holds for [fd]. */
int kif_evio_poll(struct kif_evio *ev, uint64_t tag, int fd, unsigned events);
/*
 * Cancels every pending operation with [tag]: each completes with
 * -ECANCELED, unless it completed first (then with its own result). The
 * cancel itself has no completion. Returns how many operations it asked to
 * cancel (0: none with that tag).
 */
int kif_evio_cancel(struct kif_evio *ev, uint64_t tag);

/* Sends what is queued to the kernel. Returns how many entries went (the
 * loop's own included), or -errno. Queuing never fails for a full queue: it flushes and goes on. */
int kif_evio_flush(struct kif_evio *ev);

/* ---- completions ---- */

#define KIF_EVIO_MORE 0x1u /* the request goes on (multishot): more will come */

struct kif_evio_cqe {
	uint64_t tag;
	int32_t res;    /* -errno, or a count / fd / events mask (>= 0) */
	uint32_t flags; /* KIF_EVIO_MORE */
};

/*
 * Up to [max] completions that are already known, without a system call
 * (io_uring: read from the completion ring; epoll: what earlier flushes and
 * waits found, and expired timeouts). Returns how many.
 */
int kif_evio_harvest(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max);

/*
 * Flushes, then returns up to [max] completions, waiting for the first one
 * if there are none yet. The wait ends at the first of: a completion, the
 * [deadline] (CLOCK_MONOTONIC ns; KIF_EVIO_FOREVER: none; 0 or past: do not
 * sleep, only ask the kernel what is ready) or kif_evio_wake. Returns how
 * many completions (> 0), 0 when woken with none, -ETIME at the deadline
 * with none, or -errno. Signals never end it (no -EINTR).
 */
int kif_evio_wait(struct kif_evio *ev, struct kif_evio_cqe *out, unsigned max,
		  uint64_t deadline);

/*
 * Ends the loop's current or next kif_evio_wait (which returns 0 if it has
 * no completions). Any thread, any time; async-signal-safe. Costs one
 * write(2) on an eventfd only when the loop is asleep or about to be.
 */
int kif_evio_wake(struct kif_evio *ev);

/*
 * kif_evio_wake(dst), sent from the loop [src] of the calling thread: same
 * contract (a pending wake costs nothing; only a loop asleep or about to be
 * is kicked), but when both loops are io_uring and the kernel has
 * IORING_OP_MSG_RING (Linux 5.18; probed at open), the kick is one MSG_RING
 * SQE submitted on src's ring that posts a completion with a reserved tag
 * into dst's ring, instead of the eventfd write. dst swallows it as a wake;
 * src gets no completion (IOSQE_CQE_SKIP_SUCCESS) or swallows its own. The
 * caller must be src's owner (it submits on src's ring: it also sends what
 * src had queued); [src] NULL or an epoll loop: kif_evio_wake(dst). A MSG_RING
 * that fails at once falls back to the eventfd. Not async-signal-safe.
 */
int kif_evio_wake_from(struct kif_evio *dst, struct kif_evio *src);
/* Nonzero when kif_evio_wake_from from [ev] can use IORING_OP_MSG_RING
 * (io_uring loop, kernel support, not KIF_EVIO_OPT_NO_MSG_RING). */
int kif_evio_has_msg_ring(const struct kif_evio *ev);

struct kif_evio_stats {
	uint64_t submitted; /* operations handed to the kernel */
	uint64_t completed; /* completions delivered to the caller */
	uint64_t pending;   /* operations queued or in flight now */
	uint64_t waits;     /* system calls made to wait or to submit */
	uint64_t wakes;     /* kif_evio_wake calls that wrote the eventfd */
	uint64_t flushes_full; /* flushes forced by a full submission queue */
	uint64_t reissued;     /* io_uring: issued again after -EINTR, or after
				* the kernel cancelled it (its submitter exited) */
	uint64_t cq_overflows; /* io_uring: completions waited in the kernel
				* for room in the ring (and were fetched) */
	uint64_t msg_ring_wakes;  /* wakes of this loop sent by another loop as an
				   * IORING_OP_MSG_RING (kif_evio_wake_from) */
	uint64_t msg_ring_failed; /* MSG_RING wakes sent from this loop that the
				   * kernel refused (those seen at once went
				   * through the eventfd instead) */
};
void kif_evio_stats(const struct kif_evio *ev, struct kif_evio_stats *out);

#endif /* KIF_EVIO_H */
