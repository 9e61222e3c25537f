// SPDX-License-Identifier: MIT
/*
 * baton/debug.h: B_ASSERT and B_UNREACHABLE, the checks of the debug build.
 *
 * Owns nothing but these macros; depends on nothing but libc, so every layer
 * (kernel-iface, heartbeat, vm/core, the rest of vm/, tools, tests) may
 * include it. make DEBUG=1 defines BATON_DEBUG: a failed B_ASSERT then prints
 * file, line, the condition and [msg] to stderr and aborts. Without it
 * B_ASSERT compiles to nothing, but its condition is still type-checked (in
 * an unevaluated sizeof), so a check cannot rot in the release build.
 * B_UNREACHABLE aborts in the debug build and is __builtin_unreachable()
 * otherwise. See Documentation/build.md.
 */
#ifndef BATON_DEBUG_H
#define BATON_DEBUG_H

#ifdef BATON_DEBUG
#include <stdio.h>
#include <stdlib.h>

#define B_ASSERT(cond, msg)                                                     \
	do {                                                                    \
		if (__builtin_expect(!(cond), 0)) {                             \
			fprintf(stderr, "%s:%d: %s: B_ASSERT(%s) failed: %s\n", \
				__FILE__, __LINE__, __func__, #cond, (msg));    \
			abort();                                                \
		}                                                               \
	} while (0)
#define B_UNREACHABLE()                                                        \
	do {                                                                    \
		fprintf(stderr, "%s:%d: %s: reached B_UNREACHABLE()\n",         \
			__FILE__, __LINE__, __func__);                          \
		abort();                                                        \
	} while (0)
#else
#define B_ASSERT(cond, msg) ((void)sizeof(!(cond)), (void)sizeof(msg))
#define B_UNREACHABLE() __builtin_unreachable()
#endif

#endif
