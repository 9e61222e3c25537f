// SPDX-License-Identifier: MIT
/*
 * trace.h: lines written to the ftrace ring buffer through trace_marker.
 *
 * Owns Baton's access to tracefs. No global state: the caller keeps the fd
 * (one per VM). See Documentation/core/tracing.md.
 */
#ifndef KIF_TRACE_H
#define KIF_TRACE_H

/* Opens trace_marker for writing: /sys/kernel/tracing first, then the
 * older /sys/kernel/debug/tracing. Returns the fd, or -errno of the last
 * attempt (-ENOENT: tracefs is not mounted; -EACCES: not permitted). */
int kif_trace_open(void);

/* Writes one formatted line (a newline is added if missing; longer than
 * KIF_TRACE_MAX bytes is truncated). Returns the bytes written or -errno. */
int kif_trace_printf(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void kif_trace_close(int fd);

#define KIF_TRACE_MAX 256

#endif /* KIF_TRACE_H */
