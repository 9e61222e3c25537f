// SPDX-License-Identifier: MIT
/*
 * vm/out.c: the one stdout buffer behind Transcript, printNl and displayNl,
 * flushed at exit, when the VM goes idle, before a callout (its thread may
 * block in C while no other thread owns the VM), before anything goes to
 * stderr (so the two streams interleave in program order), and from a
 * fatal signal's handler (st_out_flush_signal). A write error is reported
 * once on stderr and makes the exit status EX_IOERR; the output is dropped.
 * See Documentation/vm/interpreter.md.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vm/io/io.h"
#include "vm/st.h"

/* The signal handler may run between any two instructions: it writes
 * out[outoff, outlen), so both advance only after the bytes they cover
 * are written (to the buffer or to fd 1). */
#define SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static void write_failed(struct st_vm *vm, int err)
{
	vm->out_errno = err;
	fprintf(stderr, "baton: error writing to stdout: %s\n", strerror(err));
	fflush(stderr);
}

/* Writes [s, s+n) to stdout; 0 on a write error (then reported). The
 * buffer's write offset follows when [s] is the buffer. */
static int put(struct st_vm *vm, const char *s, size_t n, int buffered)
{
	if (vm->out_errno)
		return 0;
	if (vm->out_closed && n) {
		write_failed(vm, EBADF);
		return 0;
	}
	while (n) {
		ssize_t w = write(1, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* a non-blocking stdout: wait until it takes more */
				struct pollfd pfd = {.fd = 1, .events = POLLOUT};
				poll(&pfd, 1, -1);
				continue;
			}
			write_failed(vm, errno);
			return 0;
		}
		s += w;
		n -= (size_t)w;
		if (buffered) {
			vm->outoff += (size_t)w;
			SIGNAL_FENCE();
		}
	}
	return 1;
}

void st_out_flush(struct st_vm *vm)
{
	/* ring writes of earlier output first: nothing overtakes them */
	if (vm->vio)
		vio_out_drain(vm);
	if (vm->outoff < vm->outlen)
		put(vm, vm->out + vm->outoff, vm->outlen - vm->outoff, 1);
	vm->outlen = 0; /* first: the handler then writes nothing */
	SIGNAL_FENCE();
	vm->outoff = 0;
}

void st_out(struct st_vm *vm, const char *s, size_t n)
{
	if (vm->outlen + n > vm->outcap)
		st_out_flush(vm);
	if (n > vm->outcap) {
		put(vm, s, n, 0);
		return;
	}
	memcpy(vm->out + vm->outlen, s, n);
	SIGNAL_FENCE();
	vm->outlen += n;
	if (vm->interactive && memchr(s, '\n', n))
		st_out_flush(vm);
}

/* From a handler of a fatal signal: async-signal-safe (write(2) only),
 * and without touching the buffer's state, which the interrupted code
 * may be in the middle of changing. */
void st_out_flush_signal(struct st_vm *vm)
{
	size_t off = vm->outoff, len = vm->outlen;
	if (vm->out_closed || vm->out_errno)
		return;
	while (off < len) {
		ssize_t w = write(1, vm->out + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)w;
	}
}

int st_out_status(struct st_vm *vm, int code) { return vm->out_errno ? EX_IOERR : code; }

void st_err(struct st_vm *vm, const char *fmt, ...)
{
	st_out_flush(vm);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}
