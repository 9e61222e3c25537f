// SPDX-License-Identifier: MIT
/*
 * lock.h: a three-state futex mutex (Drepper, "Futexes Are Tricky", 2011).
 *
 * Owns struct kif_mutex. For short critical sections between VM threads
 * (the ownership core's wanting queue): uncontended lock and unlock are one
 * atomic each, no syscall. Not recursive, not robust, no priority
 * inheritance. See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_LOCK_H
#define KIF_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "kernel-iface/futex.h"

/* word: 0 free, 1 locked, 2 locked and someone may sleep on it. */
struct kif_mutex {
	_Atomic uint32_t word;
};
#define KIF_MUTEX_INIT { 0 }

/* Returns 1 if the lock was taken, 0 if it is held. */
static inline int kif_trylock(struct kif_mutex *m)
{
	uint32_t c = 0;
	return atomic_compare_exchange_strong_explicit(
		&m->word, &c, 1, memory_order_acquire, memory_order_relaxed);
}

static inline void kif__lock_slow(struct kif_mutex *m, uint32_t c)
{
	/* Move to 2 before sleeping, so that whoever unlocks knows to wake
	 * someone. Once in 2 we never go back to 1: we cannot know whether
	 * other sleepers remain, and a spare wake-up is cheaper than a lost
	 * one. The exchange that reads 0 is the one that takes the lock. */
	if (c != 2)
		c = atomic_exchange_explicit(&m->word, 2, memory_order_acquire);
	while (c != 0) {
		(void)kif_futex_wait(&m->word, 2, -1); /* any return: retry */
		c = atomic_exchange_explicit(&m->word, 2, memory_order_acquire);
	}
}

static inline void kif_lock(struct kif_mutex *m)
{
	uint32_t c = 0;
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &m->word, &c, 1, memory_order_acquire,
				     memory_order_relaxed),
			     1))
		return;
	kif__lock_slow(m, c);
}

static inline void kif_unlock(struct kif_mutex *m)
{
	/* Only state 2 can have sleepers: wake one, which will set 2 again
	 * when it takes the lock, and so pass the duty on. */
	if (atomic_exchange_explicit(&m->word, 0, memory_order_release) == 2)
		(void)kif_futex_wake(&m->word, 1);
}

#endif /* KIF_LOCK_H */
