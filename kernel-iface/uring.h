// SPDX-License-Identifier: MIT
/*
 * uring.h: io_uring run-time probe, and a ring that reads a file (a timerfd)
 * over and over.
 *
 * Owns every io_uring call in Baton (through liburing, kept out of this
 * header). Opcodes newer than the installed headers are defined here and
 * their SQEs filled by hand; whether the running kernel has them is only
 * known from kif_uring_probe(). See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_URING_H
#define KIF_URING_H

#include <stdint.h>

/* Opcodes after liburing 2.3's headers (enum io_uring_op, uapi). */
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49 /* Linux 6.7 */
#endif
#ifndef IORING_OP_WAITID
#define IORING_OP_WAITID 50 /* Linux 6.7 */
#endif
#ifndef IORING_OP_FUTEX_WAIT
#define IORING_OP_FUTEX_WAIT 51 /* Linux 6.7 */
#endif
#ifndef IORING_OP_FUTEX_WAKE
#define IORING_OP_FUTEX_WAKE 52 /* Linux 6.7 */
#endif
#ifndef IORING_OP_FUTEX_WAITV
#define IORING_OP_FUTEX_WAITV 53 /* Linux 6.7 */
#endif

struct kif_uring_caps {
	int usable;         /* rings can be set up, entered, and READ works */
	int read_multishot; /* IORING_OP_READ_MULTISHOT + provided buffer rings */
	int futex;          /* IORING_OP_FUTEX_WAIT and IORING_OP_FUTEX_WAKE */
	int sysctl;         /* kernel.io_uring_disabled, -1 if unreadable */
	char why[128];      /* !usable: the reason, for logs and skips */
};

/*
 * Decides whether io_uring can be used here, in this order: the environment
 * (BATON_URING=0 forces "no"), sysctl kernel.io_uring_disabled (2: no; 1:
 * only for members of kernel.io_uring_group), then a real 4-entry ring with
 * a NOP round trip (catching EPERM/ENOSYS from seccomp, ENOMEM from
 * RLIMIT_MEMLOCK on old kernels), then the opcode probe. Returns 0 when
 * usable, else the negative errno behind caps->why (-EPERM when refused by
 * configuration, -EOPNOTSUPP when IORING_OP_READ is missing). Thread-safe;
 * costs a few system calls: call once at start-up.
 */
int kif_uring_probe(struct kif_uring_caps *caps);
/* Same, reading the sysctl from [sysctl_path] instead (tests). */
int kif_uring_probe_at(struct kif_uring_caps *caps, const char *sysctl_path);

/*
 * A reader: a private ring with one read of [fd] always in flight, giving
 * back 8-byte values (timerfd expiration counts) one at a time. Single-shot
 * mode queues the next read right after each completion, so that it goes
 * to the kernel in the same io_uring_enter that waits. Multishot mode
 * (caps.read_multishot) arms one IORING_OP_READ_MULTISHOT with a ring of
 * provided buffers: each value then costs one io_uring_enter and no
 * submission, and the read is re-armed when the kernel ends it (no
 * IORING_CQE_F_MORE: out of buffers, or an error).
 *
 * [fd] should be non-blocking (KIF_TFD_NONBLOCK). The reader belongs to the
 * thread that opens it: only that thread may wait on it or close it (the
 * ring is set up single-issuer, with task work deferred to that thread's
 * waits, where the kernel supports it).
 */
struct kif_uring;

#define KIF_URING_MULTISHOT 0x1u
struct kif_uring_reader_opts {
	unsigned flags; /* KIF_URING_MULTISHOT */
	unsigned nbufs; /* provided buffers (multishot): 0 = 8; power of 2, <= 256 */
};
int kif_uring_reader_open(struct kif_uring **out, int fd,
			  const struct kif_uring_reader_opts *opts);
/* Waits for the next value. 0 and *value, or -errno (-EINTR: a signal
 * interrupted the wait; call again, nothing is lost). */
int kif_uring_reader_wait(struct kif_uring *u, uint64_t *value);
void kif_uring_reader_close(struct kif_uring *u);

struct kif_uring_stats {
	uint64_t enters; /* io_uring_enter calls made by reader_wait */
	uint64_t cqes;   /* completions consumed */
	uint64_t arms;   /* read SQEs queued (multishot: 1 + re-arms) */
};
void kif_uring_reader_stats(const struct kif_uring *u, struct kif_uring_stats *out);

#endif /* KIF_URING_H */
