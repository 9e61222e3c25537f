// SPDX-License-Identifier: MIT
/*
 * uring.c: io_uring probe and the repeated-read ring (kif_uring reader).
 *
 * Owns all liburing use. Returns -errno, never reports through errno, and
 * restores errno around liburing calls. SQEs for opcodes newer than the
 * installed headers are filled field by field. Nothing here knows about
 * heartbeats. See Documentation/core/kernel-iface.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel-iface/uring.h"

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12) /* Linux 6.0 */
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13) /* Linux 6.1 */
#endif

#define SYSCTL_PATH "/proc/sys/kernel/io_uring_disabled"
#define READ_TAG 0x6b6966u /* user_data of our reads */
#define BGID 0             /* the reader's provided-buffer group */

/* ---- probe ------------------------------------------------------------- */

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "unknown error";
}

static int unusable(struct kif_uring_caps *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int unusable(struct kif_uring_caps *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	c->usable = c->read_multishot = c->futex = 0;
	return err;
}

static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int setup_error(struct kif_uring_caps *c, const char *call, int e)
{
	switch (e) {
	case EPERM:
		if (c->sysctl == 1)
			return unusable(c, -e, "%s: EPERM (kernel.io_uring_disabled=1 "
					"and not in kernel.io_uring_group)", call);
		return unusable(c, -e, "%s: EPERM (refused, e.g. by a seccomp filter)", call);
	case ENOSYS:
		return unusable(c, -e, "%s: ENOSYS (no io_uring in this kernel, "
				"or hidden by a seccomp filter)", call);
	case ENOMEM:
		return unusable(c, -e, "%s: ENOMEM (RLIMIT_MEMLOCK too low?)", call);
	default:
		return unusable(c, -e, "%s: %s", call, ename(e));
	}
}

/* One NOP through the ring: catches filters that allow io_uring_setup
 * but not io_uring_enter. */
static int nop_round_trip(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	io_uring_prep_nop(sqe);
	int r = io_uring_submit_and_wait(ring, 1);
	if (r < 0)
		return r;
	r = io_uring_peek_cqe(ring, &cqe);
	if (r < 0)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r < 0 ? r : 0;
}

static int probe_ring(struct kif_uring_caps *c, struct io_uring *ring)
{
	int r = nop_round_trip(ring);
	if (r < 0)
		return setup_error(c, "io_uring_enter", -r);
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	if (!p)
		return unusable(c, -EOPNOTSUPP,
				"IORING_REGISTER_PROBE failed (kernel older than 5.6)");
	if (!io_uring_opcode_supported(p, IORING_OP_READ)) {
		io_uring_free_probe(p);
		return unusable(c, -EOPNOTSUPP,
				"IORING_OP_READ unsupported (needs Linux 5.6)");
	}
	c->usable = 1;
	c->read_multishot = io_uring_opcode_supported(p, IORING_OP_READ_MULTISHOT);
	c->futex = io_uring_opcode_supported(p, IORING_OP_FUTEX_WAIT) &&
		   io_uring_opcode_supported(p, IORING_OP_FUTEX_WAKE);
	io_uring_free_probe(p);
	return 0;
}

static int probe(struct kif_uring_caps *c, const char *sysctl_path)
{
	memset(c, 0, sizeof *c);
	const char *env = getenv("BATON_URING");
	c->sysctl = read_sysctl(sysctl_path);
	if (env && strcmp(env, "0") == 0)
		return unusable(c, -EPERM, "disabled by BATON_URING=0");
	if (c->sysctl == 2)
		return unusable(c, -EPERM, "disabled by sysctl kernel.io_uring_disabled=2");
	struct io_uring ring;
	int r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		return setup_error(c, "io_uring_setup", -r);
	r = probe_ring(c, &ring);
	io_uring_queue_exit(&ring);
	return r;
}

int kif_uring_probe_at(struct kif_uring_caps *caps, const char *sysctl_path)
{
	int saved = errno;
	int r = probe(caps, sysctl_path ? sysctl_path : SYSCTL_PATH);
	errno = saved;
	return r;
}

int kif_uring_probe(struct kif_uring_caps *caps)
{
	return kif_uring_probe_at(caps, NULL);
}

/* ---- reader ------------------------------------------------------------ */

struct kif_uring {
	struct io_uring ring;
	int fd;
	int multishot;
	int armed;                   /* a read is queued or in flight */
	struct io_uring_buf_ring *br; /* multishot: provided buffers */
	size_t br_size;
	unsigned nbufs;
	uint64_t single;             /* single-shot read target */
	struct kif_uring_stats st;
	uint64_t bufs[];             /* multishot: nbufs 8-byte buffers */
};

static int ring_init(struct io_uring *ring)
{
	/* Only the opening thread uses the ring: say so, and have completion
	 * work run when it waits rather than interrupting it (fewer context
	 * switches per beat). Kernels before 6.1 reject the flags. */
	int r = io_uring_queue_init(8, ring, IORING_SETUP_SINGLE_ISSUER |
						     IORING_SETUP_DEFER_TASKRUN);
	if (r == -EINVAL)
		r = io_uring_queue_init(8, ring, 0);
	return r;
}

static void give_buffer(struct kif_uring *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, &u->bufs[bid], sizeof u->bufs[0],
			      (unsigned short)bid,
			      io_uring_buf_ring_mask(u->nbufs), 0);
	io_uring_buf_ring_advance(u->br, 1);
}

static int buffers_init(struct kif_uring *u)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	u->br_size = (u->nbufs * sizeof(struct io_uring_buf) + page - 1) & ~(page - 1);
	void *p = mmap(NULL, u->br_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	u->br = p;
	io_uring_buf_ring_init(u->br);
	struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)p,
					.ring_entries = u->nbufs,
					.bgid = BGID };
	int r = io_uring_register_buf_ring(&u->ring, &reg, 0); /* Linux 5.19 */
	if (r < 0) {
		munmap(p, u->br_size);
		u->br = NULL;
		return r;
	}
	for (unsigned i = 0; i < u->nbufs; i++)
		give_buffer(u, i);
	return 0;
}

/* Queue the next read. It reaches the kernel with the next wait. */
static void arm(struct kif_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	/* The SQ has 8 slots and we never queue more than one read; if that
	 * ever failed, reader_wait() would arm again before sleeping. */
	if (!sqe)
		return;
	memset(sqe, 0, sizeof *sqe);
	if (u->multishot) {
		/* Hand-filled for liburing 2.3 (no prep helper): no address
		 * and no length, the kernel picks a buffer from group BGID. */
		sqe->opcode = IORING_OP_READ_MULTISHOT;
		sqe->flags = IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	} else {
		sqe->opcode = IORING_OP_READ;
		sqe->addr = (uintptr_t)&u->single;
		sqe->len = sizeof u->single;
	}
	sqe->fd = u->fd;
	sqe->off = 0; /* timerfds are not seekable: ignored */
	sqe->user_data = READ_TAG;
	u->armed = 1;
	u->st.arms++;
}

static unsigned pow2_at_least(unsigned n)
{
	unsigned p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static int reader_open(struct kif_uring **out, int fd,
		       const struct kif_uring_reader_opts *o)
{
	int ms = o && (o->flags & KIF_URING_MULTISHOT);
	unsigned nbufs = ms ? pow2_at_least(o->nbufs ? o->nbufs : 8) : 0;
	if (nbufs > 256)
		return -EINVAL;
	struct kif_uring *u = calloc(1, sizeof *u + nbufs * sizeof u->bufs[0]);
	if (!u)
		return -ENOMEM;
	u->fd = fd;
	u->multishot = ms;
	u->nbufs = nbufs;
	int r = ring_init(&u->ring);
	if (r < 0) {
		free(u);
		return r;
	}
	if (ms && (r = buffers_init(u)) < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return r;
	}
	arm(u);
	*out = u;
	return 0;
}

int kif_uring_reader_open(struct kif_uring **out, int fd,
			  const struct kif_uring_reader_opts *opts)
{
	int saved = errno;
	int r = reader_open(out, fd, opts);
	errno = saved;
	return r;
}

/*
 * One completion: 1 with *value, 0 to keep waiting (re-armed after the
 * multishot read ended for want of buffers), or -errno.
 */
static int consume(struct kif_uring *u, struct io_uring_cqe *cqe, uint64_t *value)
{
	int res = cqe->res;
	unsigned flags = cqe->flags;
	int ours = cqe->user_data == READ_TAG;
	io_uring_cqe_seen(&u->ring, cqe);
	u->st.cqes++;
	if (!ours)
		return 0;
	if (!u->multishot || !(flags & IORING_CQE_F_MORE)) {
		/* The read is over: queue the next one now, so that it is
		 * submitted by the wait that follows. */
		u->armed = 0;
		arm(u);
	}
	if (res < 0) {
		/* Errors carry no data; should one carry a buffer, keep it in
		 * the ring, or the group would drain into -ENOBUFS forever. */
		if (u->multishot && (flags & IORING_CQE_F_BUFFER) &&
		    (flags >> IORING_CQE_BUFFER_SHIFT) < u->nbufs)
			give_buffer(u, flags >> IORING_CQE_BUFFER_SHIFT);
		/* Ran out of buffers (we were slow), or a spurious retry:
		 * nothing was read, the re-armed read will catch up. */
		if (res == -ENOBUFS || res == -EAGAIN || res == -EINTR)
			return 0;
		return res;
	}
	if (u->multishot) {
		if (!(flags & IORING_CQE_F_BUFFER))
			return -EIO;
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		if (bid >= u->nbufs)
			return -EIO;
		*value = u->bufs[bid];
		give_buffer(u, bid); /* hand it back at once */
	} else {
		*value = u->single;
	}
	return res == (int)sizeof(uint64_t) ? 1 : -EIO;
}

static int reader_wait(struct kif_uring *u, uint64_t *value)
{
	for (;;) {
		struct io_uring_cqe *cqe = NULL;
		if (io_uring_peek_cqe(&u->ring, &cqe) == 0 && cqe) {
			int r = consume(u, cqe, value);
			if (r != 0)
				return r < 0 ? r : 0;
			continue;
		}
		/* Submit whatever is queued and sleep for a completion, in
		 * one io_uring_enter. */
		if (!u->armed)
			arm(u);
		u->st.enters++;
		int r = io_uring_submit_and_wait(&u->ring, 1);
		if (r < 0)
			return r;
	}
}

int kif_uring_reader_wait(struct kif_uring *u, uint64_t *value)
{
	int saved = errno;
	int r = reader_wait(u, value);
	errno = saved;
	return r;
}

void kif_uring_reader_close(struct kif_uring *u)
{
	if (!u)
		return;
	int saved = errno;
	io_uring_queue_exit(&u->ring); /* cancels the read, drops buffers */
	if (u->br)
		munmap(u->br, u->br_size);
	free(u);
	errno = saved;
}

void kif_uring_reader_stats(const struct kif_uring *u, struct kif_uring_stats *out)
{
	*out = u->st;
}
