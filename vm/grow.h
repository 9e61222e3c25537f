/* SPDX-License-Identifier: MIT */
/*
 * vm/grow.h: the one growth rule for the VM's hand-kept arrays. Depends on nothing of
 * ours, so the collector (vm/gc/) and the FFI use it as well as the interpreter.
 *
 * An array grows by doubling from a first size, so that n appends cost O(n). The
 * capacity is counted in elements, whatever integer type the owner keeps it in.
 */
#ifndef BATON_VM_GROW_H
#define BATON_VM_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* The capacity after [cap] that holds [need] elements of [elsz] bytes: [first], then
 * doubling. 0 on overflow. For arrays that are not realloc()ed (arena vectors, hash
 * tables that are rebuilt). */
static inline size_t grow_cap(size_t cap, size_t need, size_t elsz, size_t first)
{
	size_t n = cap ? cap : (first ? first : 1);

	while (n < need) {
		if (n > SIZE_MAX / 2)
			return 0;
		n *= 2;
	}
	return n > SIZE_MAX / elsz ? 0 : n;
}

/* The new buffer for [need] elements of [elsz] bytes, [*cap] updated; [p] itself when
 * it is large enough already. NULL when out of memory or on overflow: [p] and [*cap]
 * are then left as they were, so the caller can report the failure and go on. */
static inline void *grow_buf(void *p, size_t *cap, size_t need, size_t elsz, size_t first)
{
	if (need <= *cap && p)
		return p;
	size_t n = grow_cap(*cap, need, elsz, first);
	if (!n)
		return NULL;
	void *q = realloc(p, n * elsz);
	if (q)
		*cap = n;
	return q;
}

/* Makes room for [need] elements in the array [arr] whose capacity is the lvalue [cap];
 * [first] is the size of the first allocation. True on success; on failure [arr] and
 * [cap] are unchanged. New slots are not initialised. */
#define GROW(arr, cap, need, first)                                                   \
	__extension__({                                                               \
		size_t grow_c_ = (size_t)(cap);                                       \
		void *grow_q_ = grow_buf((arr), &grow_c_, (size_t)(need),             \
					 sizeof *(arr), (first));                     \
		if (grow_q_) {                                                        \
			(arr) = grow_q_;                                              \
			(cap) = grow_c_;                                              \
		}                                                                     \
		grow_q_ != NULL;                                                      \
	})

#endif
