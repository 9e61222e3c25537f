// SPDX-License-Identifier: MIT
/*
 * vm/hydra/inbox.c: a head's inbox, the one place where heads meet.
 *
 * Owns the queue discipline: any thread may post (multi-producer), only the
 * owner of the recipient's VM takes (single consumer). The queue is
 * Vyukov's intrusive MPSC list: a post is one exchange of the tail and one
 * store of the old tail's link, so a sender never waits for another and
 * never for the recipient. The bound is a separate counter, reserved before
 * the push and released after the take; a sender over the bound backs off
 * and waits for a room event (prim_hydra.c). See Documentation/vm/hydra.md.
 */
#include <stdlib.h>

#include "vm/hydra/hydra.h"

void hy_inbox_init(struct hydra_head *h)
{
	atomic_store_explicit(&h->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&h->tail, &h->stub, memory_order_relaxed);
	h->out = &h->stub;
	atomic_store_explicit(&h->count, 0, memory_order_relaxed);
}

static void push(struct hydra_head *h, struct hy_link *n)
{
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* acq_rel: our node's contents are published with the exchange, and
	 * the old tail's link below is ordered after it */
	struct hy_link *prev = atomic_exchange_explicit(&h->tail, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

int hy_post(struct hydra_head *to, struct hy_msg *m, baton_vm *from)
{
	/* the recipient's core is freed only once [senders] is back to 0
	 * after it said HY_ENDED (seq_cst both sides: one sees the other) */
	atomic_fetch_add(&to->senders, 1);
	if (atomic_load(&to->state) == HY_ENDED) {
		atomic_fetch_sub(&to->senders, 1);
		return -1;
	}
	if (atomic_fetch_add(&to->count, 1) >= to->cap) {
		/* Our reservation may have hidden room from the recipient's
		 * take (it saw the count above the mark and told nobody): if
		 * undoing it leaves room, we tell the waiting senders
		 * ourselves (selftests/model/hydra.pml checks this rule). Else two heads with inboxes of 1 that send
		 * to each other can both wait for ever (the model's deadlock). */
		long left = atomic_fetch_sub(&to->count, 1) - 1;
		if (left < to->cap && atomic_load(&to->room_subs))
			hy_kick_all(&to->room_subs, from);
		atomic_fetch_sub(&to->senders, 1);
		return 0;
	}
	push(to, &m->link);
	/* only the first message since the recipient last looked wakes it */
	if (!(atomic_fetch_or(&to->notify, HY_MSG) & HY_MSG)) {
		baton_vm *core = atomic_load(&to->core);
		if (core)
			baton_wake_from(core, from);
	}
	atomic_fetch_sub(&to->senders, 1);
	return 1;
}

/*
 * The consumer side of the queue. A producer between its exchange and its
 * link makes the queue look empty for a moment past [out]; that message is
 * not lost: its producer sets HY_MSG after linking, so the recipient looks
 * again.
 */
static struct hy_link *pop(struct hydra_head *h)
{
	struct hy_link *out = h->out;
	struct hy_link *next = atomic_load_explicit(&out->next, memory_order_acquire);
	if (out == &h->stub) {
		if (!next)
			return NULL;
		h->out = out = next;
		next = atomic_load_explicit(&out->next, memory_order_acquire);
	}
	if (next) {
		h->out = next;
		return out;
	}
	if (out != atomic_load_explicit(&h->tail, memory_order_acquire))
		return NULL; /* a producer is linking */
	push(h, &h->stub);
	next = atomic_load_explicit(&out->next, memory_order_acquire);
	if (next) {
		h->out = next;
		return out;
	}
	return NULL;
}

struct hy_msg *hy_take(struct hydra_head *h, baton_vm *from)
{
	struct hy_link *l = pop(h);
	if (!l)
		return NULL;
	long left = atomic_fetch_sub(&h->count, 1) - 1;
	/* Senders that found the inbox full registered before looking at
	 * [count] again; we released a slot, then look for them (seq_cst).
	 * They are told once the inbox is half empty, not at every slot:
	 * else a fast sender and a slow recipient wake each other for every
	 * message. A sender that registered when the inbox was full is
	 * told for sure: it stays full-ish until we take, and we take down
	 * to the mark before we stop finding messages. */
	if (left <= h->cap / 2 && atomic_load(&h->room_subs))
		hy_kick_all(&h->room_subs, from);
	return (struct hy_msg *)l;
}

void hy_inbox_drain(struct hydra_head *h)
{
	struct hy_link *l;
	while ((l = pop(h))) {
		hy_msg_free((struct hy_msg *)l);
	}
}
