// SPDX-License-Identifier: MIT
/*
 * vm/core/io.c: the VM's event loop (include/baton/io.h).
 *
 * Owns the one kernel-iface/evio loop of a baton_vm: opening it on first
 * use with the VM's backend choice, and the owner-only wrappers the rest
 * of the VM submits and harvests through. The idle wait on the loop is the
 * protocol's, in own.c (own_park_io).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/io.h"
#include "kernel-iface/evio.h"
#include "kernel-iface/probes.h"
#include "vm/core/core.h"

int baton_io_open(baton_vm *vm)
{
	if (vm->io)
		return 0;
	if (vm->io_err)
		return vm->io_err;
	struct kif_evio_opts o = {
		.backend = vm->uring_off ? KIF_EVIO_EPOLL : KIF_EVIO_AUTO,
		.entries = 256,
	};
	int r = kif_evio_open(&vm->io, &o, vm->io_why, sizeof vm->io_why);
	if (r < 0) {
		vm->io = NULL;
		vm->io_err = r;
		return r;
	}
	/* io_uring's completions are in shared memory; epoll's must be asked for */
	vm->io_ask = strcmp(kif_evio_backend_name(vm->io), "uring") != 0;
	return 0;
}

const char *baton_io_backend(baton_vm *vm)
{
	return vm->io ? kif_evio_backend_name(vm->io) : "none";
}

const char *baton_io_fallback_reason(baton_vm *vm)
{
	return vm->io_why;
}

/* Every operation: the loop, opened if need be, or return its error. */
#define LOOP(vm)                                                               \
	do {                                                                   \
		if (!(vm)->io) {                                               \
			int e_ = baton_io_open(vm);                            \
			if (e_ < 0)                                            \
				return e_;                                     \
		}                                                              \
	} while (0)

int baton_io_read(baton_vm *vm, uint64_t tag, int fd, void *buf, unsigned len, int64_t off)
{
	LOOP(vm);
	return kif_evio_read(vm->io, tag, fd, buf, len, off);
}

int baton_io_write(baton_vm *vm, uint64_t tag, int fd, const void *buf, unsigned len,
		   int64_t off)
{
	LOOP(vm);
	return kif_evio_write(vm->io, tag, fd, buf, len, off);
}

int baton_io_recv(baton_vm *vm, uint64_t tag, int fd, void *buf, unsigned len, int flags)
{
	LOOP(vm);
	return kif_evio_recv(vm->io, tag, fd, buf, len, flags);
}

int baton_io_send(baton_vm *vm, uint64_t tag, int fd, const void *buf, unsigned len, int flags)
{
	LOOP(vm);
	return kif_evio_send(vm->io, tag, fd, buf, len, flags);
}

int baton_io_accept(baton_vm *vm, uint64_t tag, int fd, struct sockaddr *addr,
		    socklen_t *addrlen, int flags, unsigned how)
{
	LOOP(vm);
	return kif_evio_accept(vm->io, tag, fd, addr, addrlen, flags,
			       how & BATON_IO_MULTISHOT ? KIF_EVIO_MULTISHOT : 0);
}

int baton_io_connect(baton_vm *vm, uint64_t tag, int fd, const struct sockaddr *addr,
		     socklen_t addrlen)
{
	LOOP(vm);
	return kif_evio_connect(vm->io, tag, fd, addr, addrlen);
}

int baton_io_openat(baton_vm *vm, uint64_t tag, int dfd, const char *path, int flags,
		    mode_t mode)
{
	LOOP(vm);
	return kif_evio_openat(vm->io, tag, dfd, path, flags, mode);
}

int baton_io_close_fd(baton_vm *vm, uint64_t tag, int fd)
{
	LOOP(vm);
	return kif_evio_close_fd(vm->io, tag, fd);
}

void baton_io_forget_fd(baton_vm *vm, int fd)
{
	if (vm->io)
		kif_evio_forget_fd(vm->io, fd);
}

int baton_io_statx(baton_vm *vm, uint64_t tag, int dfd, const char *path, int flags,
		   unsigned mask, struct statx *out)
{
	LOOP(vm);
	return kif_evio_statx(vm->io, tag, dfd, path, flags, mask, out);
}

int baton_io_fsync(baton_vm *vm, uint64_t tag, int fd, unsigned how)
{
	LOOP(vm);
	return kif_evio_fsync(vm->io, tag, fd, how & BATON_IO_DATASYNC ? KIF_EVIO_DATASYNC : 0);
}

int baton_io_timeout(baton_vm *vm, uint64_t tag, uint64_t abs_ns)
{
	LOOP(vm);
	return kif_evio_timeout(vm->io, tag, abs_ns);
}

int baton_io_poll(baton_vm *vm, uint64_t tag, int fd, unsigned events)
{
	LOOP(vm);
	return kif_evio_poll(vm->io, tag, fd, events);
}

int baton_io_cancel(baton_vm *vm, uint64_t tag)
{
	return vm->io ? kif_evio_cancel(vm->io, tag) : 0;
}

/* --trace: what the loop sent and delivered since the last look, as I/O
 * events on the owner's track (they add up to io.submitted/io.completed:
 * waits and full queues submit too). */
static void io_trace(baton_vm *vm)
{
	struct kif_evio_stats s;
	kif_evio_stats(vm->io, &s);
	if (s.submitted != vm->tr_io_sub)
		TRACE_IO(vm, 0, s.submitted - vm->tr_io_sub);
	if (s.completed != vm->tr_io_comp)
		TRACE_IO(vm, 1, s.completed - vm->tr_io_comp);
	vm->tr_io_sub = s.submitted;
	vm->tr_io_comp = s.completed;
}
#define IO_TRACE(vm)                                                           \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			io_trace(vm);                                          \
	} while (0)

int baton_io_flush(baton_vm *vm)
{
	int n = vm->io ? kif_evio_flush(vm->io) : 0;
	if (n > 0) {
		KIF_PROBE1(io_submit, n);
		IO_TRACE(vm);
	}
	return n;
}

/* kif_evio's completions in the public shape (the same layout). */
static void convert(baton_io_cqe *c, int n)
{
	for (int i = 0; i < n; i++)
		c[i].flags = c[i].flags & KIF_EVIO_MORE ? BATON_IO_MORE : 0;
}

int baton_io_harvest(baton_vm *vm, baton_io_cqe *out, unsigned max)
{
	_Static_assert(sizeof(baton_io_cqe) == sizeof(struct kif_evio_cqe),
		       "baton_io_cqe mirrors kif_evio_cqe");
	if (!vm->io)
		return 0;
	unsigned k = 0;
	/* what an idle wait took first: they are older */
	while (k < max && vm->stash_head < vm->nstash)
		out[k++] = vm->stash[vm->stash_head++];
	if (vm->stash_head == vm->nstash)
		vm->stash_head = vm->nstash = 0;
	if (k == max) {
		KIF_PROBE1(io_complete, k);
		IO_TRACE(vm);
		return (int)k;
	}
	int n = kif_evio_harvest(vm->io, (struct kif_evio_cqe *)out + k, max - k);
	if (n < 0)
		return k ? (int)k : n;
	convert(out + k, n);
	if (k + (unsigned)n) {
		KIF_PROBE1(io_complete, k + (unsigned)n);
		IO_TRACE(vm);
	}
	return (int)k + n;
}

#define STASH 64

int io_idle_wait(baton_vm *vm, uint64_t deadline)
{
	if (vm->stash_head < vm->nstash)
		return (int)(vm->nstash - vm->stash_head);
	if (!vm->stash) {
		vm->stash = malloc(STASH * sizeof *vm->stash);
		if (!vm->stash)
			return -ENOMEM;
	}
	vm->stash_head = vm->nstash = 0;
	int n = kif_evio_wait(vm->io, (struct kif_evio_cqe *)vm->stash, STASH,
			      deadline ? deadline : KIF_EVIO_FOREVER);
	if (n > 0) {
		convert(vm->stash, n);
		vm->nstash = (unsigned)n;
	}
	IO_TRACE(vm);
	return n;
}

void io_close(baton_vm *vm)
{
	if (vm->io)
		kif_evio_close(vm->io);
	vm->io = NULL;
	free(vm->stash);
	vm->stash = NULL;
}

void own_kick_loop(baton_vm *vm)
{
	if (atomic_load(&vm->loop_sleeping))
		kif_evio_wake(vm->io);
}

void own_kick_loop_from(baton_vm *vm, baton_vm *from)
{
	if (atomic_load(&vm->loop_sleeping))
		kif_evio_wake_from(vm->io, from->io);
}

int baton_io_check(baton_vm *vm)
{
	if (!vm->io || !vm->io_ask)
		return 0;
	int n = io_idle_wait(vm, 1); /* a deadline in the past: no sleep */
	return n > 0 ? n : 0;
}

int baton_io_pending(baton_vm *vm)
{
	if (!vm->io)
		return 0;
	struct kif_evio_stats s;
	kif_evio_stats(vm->io, &s);
	return s.pending > 0 || vm->stash_head < vm->nstash;
}

void baton_io_stats(baton_vm *vm, struct baton_io_stats *out)
{
	memset(out, 0, sizeof *out);
	if (vm->io) {
		struct kif_evio_stats s;
		kif_evio_stats(vm->io, &s);
		out->submitted = s.submitted;
		out->completed = s.completed;
		out->pending = s.pending;
		out->waits = s.waits;
		out->wakes = s.wakes;
		out->flushes_full = s.flushes_full;
		out->reissued = s.reissued;
		out->cq_overflows = s.cq_overflows;
		out->msg_ring_wakes = s.msg_ring_wakes;
	}
	out->idle_waits = atomic_load_explicit(&vm->io_idle_waits, memory_order_relaxed);
}
