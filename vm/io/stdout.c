// SPDX-License-Identifier: MIT
/*
 * vm/io/stdout.c: the shared stdout buffer (vm/out.c) written through the
 * ring. flushOut from a process cuts the buffer into a chunk, queues it
 * behind the chunks still being written (one write in flight on fd 1, so
 * the order holds) and parks only that process until its chunk is out.
 * A synchronous flush (vm/out.c: stderr output, a callout, the exit) first
 * waits until the ring has written them; going idle queues the buffer
 * behind them instead (the idle wait completes them), and the VM does not
 * end while chunks are left. See Documentation/vm/io.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/grow.h"
#include "vm/io/io_int.h"

/* The buffer's unwritten bytes become a chunk at the end of the queue. */
static int cut(struct st_vm *vm, struct vio *v)
{
	size_t n = vm->outlen - vm->outoff;
	if (!n)
		return 1;
	struct vchunk *c = malloc(sizeof *c + n);
	if (!c)
		return 0;
	memcpy(c->data, vm->out + vm->outoff, n);
	c->next = NULL;
	c->len = n;
	c->off = 0;
	c->seq = ++v->out_seq;
	vm->outlen = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* see vm/out.c */
	vm->outoff = 0;
	if (v->oq_tail)
		v->oq_tail->next = c;
	else
		v->oq = c;
	v->oq_tail = c;
	return 1;
}

static void fail(struct st_vm *vm, int err);

/* Starts the write of the first chunk unless one is in flight. */
static void kick(struct st_vm *vm, struct vio *v)
{
	if (v->out_live || !v->oq)
		return;
	struct vreq *r = vio_new(vm, VR_OUTW, 1);
	if (!r) {
		fail(vm, ENOMEM);
		return;
	}
	struct vchunk *c = v->oq;
	size_t n = c->len - c->off;
	int e = baton_io_write(vm->core, vio_tag(vm, r), 1, c->data + c->off,
			       n > (1u << 30) ? 1u << 30 : (unsigned)n, BATON_IO_CUR_POS);
	if (vio_queued(vm, r, e) < 0) {
		vio_drop(vm, r);
		fail(vm, -e);
		return;
	}
	v->out_live = 1;
}

/* Answers the processes whose chunks are written. */
static void wake(struct st_vm *vm, struct vio *v)
{
	if (!v->out_waiters)
		return;
	int left = 0;
	for (int i = 0; i < v->nr; i++) {
		struct vreq *r = &v->r[i];
		if (!r->used || r->kind != VR_OUT || !r->proc)
			continue;
		if (r->seq <= v->out_done) {
			vio_answer(vm, r, 0);
			vio_settle(vm, r);
		} else {
			left++;
		}
	}
	v->out_waiters = left;
}

/* A write error: reported once (as vm/out.c does), the output dropped. */
static void fail(struct st_vm *vm, int err)
{
	struct vio *v = vm->vio;
	if (!vm->out_errno) {
		vm->out_errno = err;
		fprintf(stderr, "baton: error writing to stdout: %s\n", strerror(err));
		fflush(stderr);
	}
	for (struct vchunk *c = v->oq, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	v->oq = v->oq_tail = NULL;
	v->out_done = v->out_seq;
	wake(vm, v);
}

void vio_out_done(struct st_vm *vm, struct vreq *r, int32_t res)
{
	struct vio *v = vm->vio;
	v->out_live = 0;
	vio_drop(vm, r);
	if (res <= 0) {
		fail(vm, res == 0 ? EIO : -res);
		return;
	}
	struct vchunk *c = v->oq;
	c->off += (size_t)res;
	if (c->off == c->len) {
		v->out_done = c->seq;
		v->oq = c->next;
		if (!v->oq)
			v->oq_tail = NULL;
		free(c);
		wake(vm, v);
	}
	kick(vm, v);
}

int vio_out_flush(struct st_vm *vm, oop *args)
{
	(void)args;
	struct vio *v = vm->core && vm->active && !vm->out_closed && !vm->out_errno ? vio_get(vm) : NULL;
	if (!v || baton_io_open(vm->core) < 0) {
		st_out_flush(vm);
		return PRIM_OK;
	}
	if (!cut(vm, v))
		return PRIM_OOM;
	if (v->out_done == v->out_seq)
		return PRIM_OK;
	kick(vm, v);
	if (v->out_done == v->out_seq)
		return PRIM_OK; /* failed at once */
	struct vreq *r = vio_new(vm, VR_OUT, -1);
	if (!r)
		return PRIM_OOM;
	r->seq = v->out_seq;
	v->out_waiters++;
	return vio_park(vm, r, vio_take_tmo(vm));
}

int vio_out_queue(struct st_vm *vm)
{
	struct vio *v = vm->vio;
	if (!v || !v->oq)
		return 0;
	if (!cut(vm, v)) {
		vio_out_drain(vm); /* no memory for a chunk: write in order, now */
		return 0;
	}
	kick(vm, v);
	return 1;
}

/* Is [c] the completion of the stdout write in flight? */
static int is_out_write(struct st_vm *vm, const baton_io_cqe *c)
{
	struct vio *v = vm->vio;
	uint32_t s = (uint32_t)c->tag & SLOT_MASK;
	if (((uint32_t)c->tag & TAG_TMO) || s >= (uint32_t)v->nr)
		return 0;
	struct vreq *r = &v->r[s];
	return r->used && r->kind == VR_OUTW && r->gen == (uint32_t)(c->tag >> 32);
}

void vio_out_drain(struct st_vm *vm)
{
	struct vio *v = vm->vio;
	while (v && v->oq) {
		kick(vm, v);
		if (!v->out_live)
			return; /* failed: reported, the queue dropped */
		vio_flush(vm);
		baton_io_check(vm->core); /* epoll: what the kernel has done */
		baton_io_cqe c[16];
		int n = baton_io_harvest(vm->core, c, 16);
		for (int i = 0; i < n; i++) {
			if (is_out_write(vm, &c[i])) {
				vio_dispatch(vm, &c[i]);
			} else if (v->nlater < v->caplater ||
				   GROW(v->later, v->caplater, (size_t)v->nlater + 1, 16)) {
				v->later[v->nlater++] = c[i];
			} else {
				vio_dispatch(vm, &c[i]); /* no memory to wait: now */
			}
		}
		if (n <= 0) {
			/* the write waits for room (a full pipe) or for the kernel */
			struct pollfd p = {.fd = 1, .events = POLLOUT};
			poll(&p, 1, 1);
		}
	}
}

int vio_out_pending(struct st_vm *vm) { return vm->vio && vm->vio->oq; }
