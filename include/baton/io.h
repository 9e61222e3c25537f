// SPDX-License-Identifier: MIT
/*
 * include/baton/io.h: the VM's event loop, part of the public API.
 *
 * Owns the interface of the one I/O loop each baton_vm has: operations are
 * queued with a caller-chosen 64-bit tag and come back as completions that
 * the VM's owner harvests. Underneath is kernel-iface/evio (io_uring, or
 * epoll and non-blocking descriptors where io_uring is unusable); these
 * functions only add the VM: the loop is opened on first use, and an idle
 * VM (baton_idle) sleeps in the loop's wait instead of a futex, so that it
 * wakes at the first of a completion, its timer deadline, or a thread that
 * wants the VM. Only the thread that owns the VM may call them.
 * See Documentation/core/kernel-iface.md ("evio.h") and
 * Documentation/core/protocol.md ("Idle on the ring").
 */
#ifndef BATON_IO_H
#define BATON_IO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "baton.h"

struct statx;

typedef struct baton_io_cqe {
	uint64_t tag;
	int32_t res;    /* -errno, or a count / fd / events mask (>= 0) */
	uint32_t flags; /* BATON_IO_MORE */
} baton_io_cqe;

#define BATON_IO_MORE 0x1u      /* a multishot request goes on */
#define BATON_IO_MULTISHOT 0x1u /* baton_io_accept [how] */
#define BATON_IO_DATASYNC 0x1u  /* baton_io_fsync [how] */
#define BATON_IO_CUR_POS (-1)   /* read/write at the descriptor's position */
/* Tags from here up are the loop's own: submitting one gives -EINVAL. */
#define BATON_IO_TAG_RESERVED 0xffffffffffffff00ull

struct baton_io_stats {
	uint64_t submitted, completed, pending, waits, wakes, flushes_full, reissued,
		cq_overflows;
	uint64_t idle_waits; /* times an idle VM slept in the loop */
	uint64_t msg_ring_wakes; /* of [wakes]' kind, sent by another VM's loop as
				  * one IORING_OP_MSG_RING (baton_wake_from) */
};

/* Opens the loop if it is not yet (every operation does it too): 0 or -errno.
 * The backend follows baton_config.uring and BATON_URING=0. */
BATON_API int baton_io_open(baton_vm *vm);
/* "uring", "epoll", or "none" before the loop is opened. */
BATON_API const char *baton_io_backend(baton_vm *vm);
/* Why io_uring was not used ("" when it was, or not tried yet). */
BATON_API const char *baton_io_fallback_reason(baton_vm *vm);

/* Operations: 0 (queued) or -errno (nothing queued). As kernel-iface/evio.h. */
BATON_API int baton_io_read(baton_vm *vm, uint64_t tag, int fd, void *buf, unsigned len,
			    int64_t off);
BATON_API int baton_io_write(baton_vm *vm, uint64_t tag, int fd, const void *buf, unsigned len,
			     int64_t off);
BATON_API int baton_io_recv(baton_vm *vm, uint64_t tag, int fd, void *buf, unsigned len,
			    int flags);
BATON_API int baton_io_send(baton_vm *vm, uint64_t tag, int fd, const void *buf, unsigned len,
			    int flags);
BATON_API int baton_io_accept(baton_vm *vm, uint64_t tag, int fd, struct sockaddr *addr,
			      socklen_t *addrlen, int flags, unsigned how);
BATON_API int baton_io_connect(baton_vm *vm, uint64_t tag, int fd, const struct sockaddr *addr,
			       socklen_t addrlen);
BATON_API int baton_io_openat(baton_vm *vm, uint64_t tag, int dfd, const char *path, int flags,
			      mode_t mode);
BATON_API int baton_io_close_fd(baton_vm *vm, uint64_t tag, int fd);
BATON_API void baton_io_forget_fd(baton_vm *vm, int fd);
BATON_API int baton_io_statx(baton_vm *vm, uint64_t tag, int dfd, const char *path, int flags,
			     unsigned mask, struct statx *out);
BATON_API int baton_io_fsync(baton_vm *vm, uint64_t tag, int fd, unsigned how);
BATON_API int baton_io_timeout(baton_vm *vm, uint64_t tag, uint64_t abs_ns);
BATON_API int baton_io_poll(baton_vm *vm, uint64_t tag, int fd, unsigned events);
BATON_API int baton_io_cancel(baton_vm *vm, uint64_t tag);
BATON_API int baton_io_flush(baton_vm *vm);

/* Completions already known, without a system call: how many (<= max). */
BATON_API int baton_io_harvest(baton_vm *vm, baton_io_cqe *out, unsigned max);
/* Asks the kernel, without sleeping, what is ready, for a backend whose
 * harvest cannot see it alone (epoll: one epoll_wait with no timeout);
 * with io_uring nothing (the completion ring is shared memory). For a
 * busy owner's periodic check; answers how many completions wait. */
BATON_API int baton_io_check(baton_vm *vm);
/* Nonzero when operations are queued or in flight. */
BATON_API int baton_io_pending(baton_vm *vm);
BATON_API void baton_io_stats(baton_vm *vm, struct baton_io_stats *out);

#endif /* BATON_IO_H */
