// SPDX-License-Identifier: MIT
/*
 * probes.h: USDT probes of provider "baton" (perf, bpftrace, SystemTap).
 *
 * Owns the KIF_PROBE* macros. A probe is a nop instruction plus an ELF note
 * (.note.stapsdt) naming it and its argument locations: zero cost when
 * nobody listens, because no semaphore is used. Without <sys/sdt.h> the
 * macros compile to nothing. See Documentation/core/tracing.md.
 */
#ifndef KIF_PROBES_H
#define KIF_PROBES_H

#if !defined(BATON_NO_PROBES) && defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define KIF_HAVE_PROBES 1
#endif
#endif

#ifdef KIF_HAVE_PROBES
#define KIF_PROBE(name) STAP_PROBE(baton, name)
#define KIF_PROBE1(name, a) STAP_PROBE1(baton, name, a)
#define KIF_PROBE2(name, a, b) STAP_PROBE2(baton, name, a, b)
#define KIF_PROBE3(name, a, b, c) STAP_PROBE3(baton, name, a, b, c)
#define KIF_PROBE4(name, a, b, c, d) STAP_PROBE4(baton, name, a, b, c, d)
#else
/* Arguments are still evaluated (and so "used") when probes are off. */
#define KIF_HAVE_PROBES 0
#define KIF_PROBE(name) ((void)0)
#define KIF_PROBE1(name, a) ((void)(a))
#define KIF_PROBE2(name, a, b) ((void)(a), (void)(b))
#define KIF_PROBE3(name, a, b, c) ((void)(a), (void)(b), (void)(c))
#define KIF_PROBE4(name, a, b, c, d) ((void)(a), (void)(b), (void)(c), (void)(d))
#endif

#endif /* KIF_PROBES_H */
