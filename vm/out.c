// SPDX-License-Identifier: MIT
/*
 * vm/out.c: the one stdout buffer behind Transcript, printNl and displayNl,
 * flushed at exit, when the VM goes idle and before anything goes to
 * stderr (so the two streams interleave in program order).
 * See Documentation/vm/interpreter.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm/st.h"

void st_out_flush(struct st_vm *vm)
{
	size_t off = 0;
	while (off < vm->outlen) {
		ssize_t w = write(1, vm->out + off, vm->outlen - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* stdout closed: drop the output */
		}
		off += (size_t)w;
	}
	vm->outlen = 0;
}

void st_out(struct st_vm *vm, const char *s, size_t n)
{
	if (vm->outlen + n > vm->outcap)
		st_out_flush(vm);
	if (n > vm->outcap) {
		vm->outlen = 0;
		while (n) {
			ssize_t w = write(1, s, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return;
			}
			s += w;
			n -= (size_t)w;
		}
		return;
	}
	memcpy(vm->out + vm->outlen, s, n);
	vm->outlen += n;
	if (vm->interactive && memchr(s, '\n', n))
		st_out_flush(vm);
}

void st_err(struct st_vm *vm, const char *fmt, ...)
{
	st_out_flush(vm);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}
