// SPDX-License-Identifier: MIT
/*
 * vm/hydra/hydra.h: Hydra inside the VM -- several VMs ("heads") in one
 * process, each non-concurrent inside, talking by copied messages.
 *
 * A head's record (struct hydra_head) is shared by every VM that knows the
 * head and outlives the head's own st_vm: it holds the inbox (a lock-free
 * multi-producer, single-consumer queue), the notify word other heads set
 * to wake it, and the exit status. Nothing here is ever locked: a sender
 * touches the recipient only through atomics and baton_wake_from(), and
 * never holds two VMs. See Documentation/vm/hydra.md.
 */
#ifndef BATON_VM_HYDRA_H
#define BATON_VM_HYDRA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "baton.h"
#include "vm/st.h"

/* Notify word bits: what a head should look at when it next checks. */
#define HY_MSG 1u   /* its inbox received a message */
#define HY_EVENT 2u /* room in an inbox it waits for, or a head it waits for ended */
#define HY_TERM 4u  /* asked to end (head terminate) */

/* Head states. */
#define HY_STARTING 0
#define HY_RUNNING 1
#define HY_ENDED 2

#define HY_DEPTH 64           /* nesting of a message, at most */
#define HY_INBOX_DEFAULT 65536

/* Exit statuses beyond the program's own. */
#define HY_STATUS_TERMINATED 143 /* 128 + SIGTERM, as a shell reports it */

/* A link of the inbox (Vyukov's intrusive MPSC queue) and of the
 * subscription stacks. */
struct hy_link {
	struct hy_link *_Atomic next;
};

/* One message in flight: one allocation, the link first. */
struct hy_msg {
	struct hy_link link;
	struct hydra_head *from; /* a reference (NULL: sent from C) */
	uint32_t len;
	unsigned char data[];
};

/* A head that waits for an event of another (room in its inbox, its end). */
struct hy_sub {
	struct hy_sub *next;
	struct hydra_head *who; /* a reference */
};

/* The heads one first VM (or one embedder) started, directly or not. */
struct hydra_group {
	atomic_int refs;
	atomic_int next_id;
	atomic_int running;          /* heads running, the first VM included */
	struct hydra_head *_Atomic all; /* every head, newest first (a reference each) */
	struct hydra_head *first;    /* the first VM's record (not a reference) */
};

struct hydra_head {
	atomic_int refs;
	int id;
	struct hydra_group *grp;     /* a reference */
	struct hydra_head *parent;   /* a reference, or NULL */
	struct hydra_head *next_all; /* the group's list */

	/* the inbox: producers exchange [tail]; the owner pops at [out] */
	struct hy_link *_Atomic tail;
	struct hy_link *out;
	struct hy_link stub;
	atomic_long count;           /* messages pushed and not yet taken */
	long cap;

	atomic_uint notify;          /* HY_* */
	struct hy_sub *_Atomic room_subs; /* heads waiting for room here */
	struct hy_sub *_Atomic exit_subs; /* heads waiting for our end */

	atomic_int state;            /* HY_STARTING... */
	atomic_int finishing;        /* its main program is over: it is ending */
	atomic_int term_asked;       /* hy_terminate was called */
	atomic_int senders;          /* threads inside a wake of [core] */
	baton_vm *_Atomic core;      /* while running: the head's core */
	atomic_int status;
	atomic_uint done;            /* futex word: 1 once ended */

	/* what the head runs (spawned heads; NULL for the first VM) */
	char *file;
	char **argv;
	int argc;
	unsigned max_threads;
};

/* The per-VM side (st_vm.hydra): this VM's record, the VM objects it made
 * (one per head, so that identity holds), its two Semaphores. */
struct hydra_vm {
	struct hydra_head *self;
	oop recv_sem;  /* processes in VM receive */
	oop event_sem; /* processes waiting for room or for a head's end */
	struct {
		struct hydra_head *h; /* a reference */
		oop obj;
	} *objs;
	size_t nobjs, capobjs;
	/* a message the fast receive took but could not answer (its
	 * Dictionaries need the Smalltalk side): the next receive's; roots */
	oop pending, pending_from;
	oop dict_tag;  /* an Object: the first element of a Dictionary's Array */
	uint32_t vm_ci;   /* class index of VM (0: not looked up yet) */
	uint32_t dict_ci; /* class index of Dictionary */
	int loop_tried;   /* the event loop was opened (or could not be) */
	char prefix[32];  /* "head N: " before its error reports, "" for the first */
};

/* ---- records (head.c) ---- */
void hy_ref(struct hydra_head *h);
void hy_unref(struct hydra_head *h);
/* A group whose heads get ids from [first_id] on (the first VM is 1); the
 * caller holds its one reference. */
struct hydra_group *hy_group_new(int first_id);
/* This VM's record, made on first use (the first VM's starts a group). */
struct hydra_head *hy_self(struct st_vm *vm);
/* A new head running [file]; NULL with errno. */
struct hydra_head *hy_spawn(struct hydra_group *grp, struct hydra_head *parent,
			    const char *file, int argc, char *const argv[], long cap,
			    unsigned max_threads);
/* Sets [bit] in [h]'s notify word and wakes it if the bit was clear.
 * [from]: the caller's own core (it owns it), or NULL. */
void hy_kick(struct hydra_head *h, unsigned bit, baton_vm *from);
/* Registers [who] for [h]'s end or room: subscription stacks. */
int hy_subscribe(struct hy_sub *_Atomic *list, struct hydra_head *who);
void hy_kick_all(struct hy_sub *_Atomic *list, baton_vm *from);
void hy_terminate(struct hydra_head *h, baton_vm *from);
/* Waits until [h] ended (a futex); [ns] < 0: forever. 0 when ended. */
int hy_join(struct hydra_head *h, int64_t ns);
/* The first VM is ending: asks the running heads to end and waits a
 * little for them. Answers how many were running. */
int hy_end_group(struct st_vm *vm);
/* The first VM is gone: the group drops its references to the heads. */
void hy_release_group(struct st_vm *vm);
/* [vm] ends with [status]: its record says so, sends are refused, the
 * heads that wait for it are told. Idempotent. */
void hy_vm_end(struct st_vm *vm, int status);
/* st_vm.exit_now of a spawned head (see sched_exit_now). */
void hy_exit_now(struct st_vm *vm, int status) __attribute__((noreturn));

/* ---- the inbox (inbox.c) ---- */
void hy_inbox_init(struct hydra_head *h);
/* Pushes [m] if there is room: 1; full: 0; ended: -1. Wakes [to]. */
int hy_post(struct hydra_head *to, struct hy_msg *m, baton_vm *from);
/* The owner of [h]'s VM takes the oldest message, or NULL. */
struct hy_msg *hy_take(struct hydra_head *h, baton_vm *from);
void hy_inbox_drain(struct hydra_head *h); /* frees what is left */

/* ---- messages (msg.c) ---- */
/* Serializes [o] into a new hy_msg. NULL with [why] set (a class refused,
 * too deep, out of memory). */
struct hy_msg *hy_encode(struct st_vm *vm, oop o, char *why, size_t n);
/* Rebuilds the message in [vm]'s heap; 0: out of memory. *[dicts] tells
 * whether Dictionaries came as tagged Arrays (the Smalltalk side rebuilds
 * them: {tag. k1. v1. ...}); [tag] is a root slot. */
oop hy_decode(struct st_vm *vm, const struct hy_msg *m, oop *tag, int *dicts);
struct hy_msg *hy_msg_string(const char *s, size_t n);
/* Frees a message that will not be (or was) rebuilt: drops the references
 * it holds (its sender, the heads of the VMs in it). */
void hy_msg_free(struct hy_msg *m);
/* prim_hydra.c: the VM object of [h] in this heap (0: out of memory); the
 * head a VM object stands for (NULL: not one) */
oop hy_vm_obj(struct st_vm *vm, struct hydra_head *h);
struct hydra_head *hy_head_of(struct st_vm *vm, oop o);

/* ---- the VM's checks (prim_hydra.c) ---- */
void hy_drain(struct st_vm *vm);
/* At checkpoints, process switches and idle wake-ups: one load. */
static inline void hy_poll(struct st_vm *vm)
{
	if (st_unlikely(vm->hy_notify != NULL) &&
	    atomic_load_explicit(vm->hy_notify, memory_order_relaxed))
		hy_drain(vm);
}
int hy_keeps_alive(struct st_vm *vm);
void hy_roots(struct st_vm *vm, void (*visit)(oop *slot, void *ud), void *ud);
void hy_free_vm(struct st_vm *vm);

#endif /* BATON_VM_HYDRA_H */
