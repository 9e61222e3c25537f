// SPDX-License-Identifier: MIT
/*
 * membarrier.h: the process-wide asymmetric fence, membarrier(2)
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED, and its one-time registration.
 *
 * Owns every membarrier(2) call in Baton. The rare side of an asymmetric
 * Dekker pair calls kif_membarrier(): when it returns, every thread of the
 * process has executed a full memory barrier (or a context switch, which is
 * one) since the call began, so the frequent side needs only a compiler
 * barrier. See Documentation/core/kernel-iface.md and
 * Documentation/core/protocol.md ("the membarrier fast path").
 */
#ifndef KIF_MEMBARRIER_H
#define KIF_MEMBARRIER_H

#include <sys/syscall.h>
#include <unistd.h>

#include "kernel-iface/sys.h"

#define KIF_MB_QUERY 0                   /* MEMBARRIER_CMD_QUERY */
#define KIF_MB_PRIVATE_EXPEDITED (1 << 3) /* Linux 4.14 */
#define KIF_MB_REGISTER_PRIVATE_EXPEDITED (1 << 4)

static inline long kif__membarrier(int cmd)
{
#ifdef SYS_membarrier
	return KIF_CALL(syscall(SYS_membarrier, cmd, 0u, 0));
#else
	(void)cmd;
	return -ENOSYS;
#endif
}

/*
 * Probes and registers the process for kif_membarrier(): 0 if it can be
 * used, else -errno: -ENOSYS (no membarrier, or blocked by a seccomp filter
 * that answers ENOSYS), -EPERM (seccomp), -EINVAL (a kernel before 4.14,
 * which lacks the expedited command). Registering again is harmless, so
 * every VM probes for itself.
 */
static inline int kif_membarrier_register(void)
{
	long q = kif__membarrier(KIF_MB_QUERY);
	if (q < 0)
		return (int)q;
	if (!(q & KIF_MB_PRIVATE_EXPEDITED) || !(q & KIF_MB_REGISTER_PRIVATE_EXPEDITED))
		return -EINVAL;
	long r = kif__membarrier(KIF_MB_REGISTER_PRIVATE_EXPEDITED);
	return r < 0 ? (int)r : 0;
}

/* A full memory barrier on every running thread of the process (after
 * kif_membarrier_register() succeeded): 0, or -errno. */
static inline int kif_membarrier(void)
{
	long r = kif__membarrier(KIF_MB_PRIVATE_EXPEDITED);
	return r < 0 ? (int)r : 0;
}

#endif /* KIF_MEMBARRIER_H */
