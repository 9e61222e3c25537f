// SPDX-License-Identifier: MIT
/*
 * sys.h: turn a libc system-call wrapper's "-1 and errno" into "-errno".
 *
 * Owns KIF_CALL, used by every other kernel-iface header so that no kif_
 * function reports through errno or leaves it changed. Only kernel-iface/
 * includes this. See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_SYS_H
#define KIF_SYS_H

#include <errno.h>

/*
 * Evaluates [expr] (a libc call returning < 0 and setting errno on failure)
 * and yields its result as a long, or -errno. errno is restored afterwards:
 * the caller's errno is never an output of kernel-iface, and restoring it
 * means a kif_ call in the middle of someone's errno handling is harmless.
 */
#define KIF_CALL(expr)                                                         \
	({                                                                     \
		int kif__saved = errno;                                        \
		long kif__r = (long)(expr);                                    \
		if (kif__r < 0)                                                \
			kif__r = -(long)errno;                                 \
		errno = kif__saved;                                            \
		kif__r;                                                        \
	})

#endif /* KIF_SYS_H */
