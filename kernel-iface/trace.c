// SPDX-License-Identifier: MIT
/*
 * trace.c: ftrace trace_marker writer.
 *
 * Owns opening and writing trace_marker; one write(2) per line, which the
 * kernel records atomically as one event. See Documentation/core/tracing.md.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "kernel-iface/sys.h"
#include "kernel-iface/trace.h"

static const char *const paths[] = {
	"/sys/kernel/tracing/trace_marker",
	"/sys/kernel/debug/tracing/trace_marker",
};

int kif_trace_open(void)
{
	long r = -ENOENT;
	for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		r = KIF_CALL(open(paths[i], O_WRONLY | O_CLOEXEC));
		if (r >= 0)
			return (int)r;
	}
	return (int)r;
}

int kif_trace_printf(int fd, const char *fmt, ...)
{
	char buf[KIF_TRACE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2; /* truncated by vsnprintf */
	if (n == 0 || buf[n - 1] != '\n')
		buf[n++] = '\n';
	return (int)KIF_CALL(write(fd, buf, (size_t)n));
}

void kif_trace_close(int fd)
{
	if (fd >= 0)
		(void)KIF_CALL(close(fd));
}
