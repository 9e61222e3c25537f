// SPDX-License-Identifier: MIT
/*
 * selftests/model/own.pml: Promela model of Baton's ownership protocol.
 *
 * Models vm/core/own.c (queue, pool, grants, idle, yield, handoff, attach,
 * detach, the BATON_BLOCKING hand-over, activation), the inline fast paths
 * of include/baton.h and the heartbeat policy of vm/core/core.c with the
 * tickless protocol of heartbeat/hb.c. Checked by run-model.sh; never
 * edits the C. Each step's C counterpart: Documentation/core/model.md.
 *
 * Atomicity: a Promela step holds one access to a word that other threads
 * read or write without vm->lock (owner, installed, the epoch, top_prio,
 * wake, the futex, the tickless state, the timer), plus lock-protected
 * accesses, which ride along with the lock acquire/release that bracket
 * them (Lipton's reduction). The few steps that merge more are listed,
 * with the reason each is sound, in model.md ("Atomicity"). Memory is
 * sequentially consistent here, and the fast path is the CAS one: tso.pml
 * checks both fast paths (membarrier and CAS) under x86-TSO.
 *
 * Compile-time switches (spin -DNAME):
 *   NT=2|3        VM threads: 1 is main (owns first), the others start
 *                 parked (creation = activating one); default 2
 *   NE=n          the callout epoch (hot.disowns) counts modulo n; default 2
 *   CHECK_MUTEX   property 1: assert mutual exclusion (and I2)
 *   CHECK_SAVE    property 4: assert the save/restore pairing (I4)
 *   NO_FOREIGN, NO_BLOCKING, NO_YIELD, NO_HANDOFF, NO_PHANTOM, NO_FOREVER,
 *   NO_LOOP       leave out the foreign thread, BATON_BLOCKING callouts,
 *                 yield, handoff, failed thread creation, callouts that
 *                 never return, idle in the event loop (smaller models,
 *                 for experiments)
 *   BROKEN_OWN    negative control: baton_own's CAS as a load then a store
 *   NO_I5_GRANT   negative control: beat() does not grant a free VM
 *   NO_RESUME     negative control: own_takeover() skips hb_resume()
 *   NO_KICK       negative control: acquire_queued() does not kick the
 *                 event loop of an owner asleep there
 */

#ifndef NT
#define NT 2
#endif
#ifndef NE
#define NE 2
#endif
#define F (NT + 1)  /* the foreign thread's index (baton_attach) */
#define PH (NT + 2) /* a created thread whose pthread_create fails */
#define N (NT + 3)  /* array size: indices 0..PH */

/* baton_thread.wake (vm/core/core.h); WAKE_QUIT (VM exit) is not modelled */
#define W_NONE 0
#define W_GRANTED 1
/* baton_thread.where (vm/core/core.h) */
#define T_FREE 0
#define T_OWNING 1
#define T_QUEUED 2
#define T_PARKED 3

/* ---- shared state --------------------------------------------------------- */

byte owner;     /* vm->hot.owner: THE ownership word, 0 or an index */
byte installed; /* vm->hot.installed */
byte epoch;     /* vm->hot.disowns, the callout epoch, modulo NE */
bit lk;         /* vm->lock */
byte q[N];      /* vm->waiters, best priority first, FIFO among equals */
byte qn;
byte top;       /* vm->top_prio + 1: 0 when nobody waits */
byte pool[N];   /* vm->parked, a LIFO stack */
byte pn;
bit prio[N];    /* hot.prio, two levels; reset to 0 when not queued */
bit wake[N];    /* baton_thread.wake, a futex word */
bit asleep[N];  /* in futex_wait on its wake word (kernel state) */
byte where[N];  /* baton_thread.where */
bit ph_used;    /* the table slot PH is claimed (thr_spawn_locked) */
bit tickless;   /* hb->state == TICKLESS */
bit tmr_on = 1; /* the timerfd is armed periodic (deadlines not modelled) */
/* idle_on_loop() (own.c): the owner keeps the word and sleeps in the event
 * loop. Completions, deadlines and baton_wake are not modelled: the loop's
 * wait ends only by a kick, so nothing else can rescue a queued waiter. */
bit lsleep;     /* vm->loop_sleeping */
bit kick;       /* the loop's wake_pending (+ its eventfd): a kick not yet taken */
bit lasleep;    /* the owner is in the loop's kernel wait (kernel state) */

/* ghosts, for the checks only */
#ifdef CHECK_MUTEX
byte incs;      /* threads between entering VM code and giving the VM away */
#define MUTEX_ENTER assert(incs == 0 && owner == me); incs++;
#define CS_EXIT assert(owner == me); incs--; /* and I2: only the owner gives */
#else
#define MUTEX_ENTER
#define CS_EXIT
#endif
#ifdef CHECK_SAVE
byte held;      /* whose work the interpreter holds (hooks save/restore) */
#define SAVE_ENTER assert(installed == me && held == me);
#define HELD(x) held = x;
#define HELD_IS(x) assert(held == x);
#else
#define SAVE_ENTER
#define HELD(x)
#define HELD_IS(x)
#endif
#if defined(CHECK_MUTEX) || defined(CHECK_SAVE)
#define ENTER_VM atomic { MUTEX_ENTER SAVE_ENTER skip };
#else
#define ENTER_VM
#endif
/* A thread that owns with nothing of its own installed (own_park: hooks->
 * run; attach: the C library's code) picks work to run. */
#define PICK_WORK HELD_IS(0) HELD(me)

/* ---- building blocks, used inside atomic/d_step --------------------------- */

inline set_top() { top = (qn > 0 -> prio[q[0]] + 1 : 0) }

/* enqueue(): after every waiter of the same or better priority. */
inline enqueue(t)
{
	i = qn;
	do
	:: i > 0 && prio[q[i - 1]] < prio[t] -> q[i] = q[i - 1]; i--
	:: else -> break
	od;
	q[i] = t; qn++; where[t] = T_QUEUED; set_top(); i = 0
}

/* Remove q[i] (i < qn), keeping the order; its prio is dead from now on. */
inline q_remove_at()
{
	prio[q[i]] = 0;
	do
	:: i + 1 < qn -> q[i] = q[i + 1]; i++
	:: else -> break
	od;
	qn--; q[qn] = 0; set_top(); i = 0
}

/* dequeue(): the head, or 0. */
inline dequeue(t)
{
	if
	:: qn > 0 -> t = q[0]; i = 0; q_remove_at()
	:: else -> t = 0
	fi
}

/* unlink_from(&vm->waiters, t) + set_top(). */
inline q_unlink(t)
{
	i = 0;
	do
	:: i < qn && q[i] != t -> i++
	:: else -> break
	od;
	if
	:: i < qn -> q_remove_at()
	:: else -> i = 0
	fi
}

inline push_parked(t) { wake[t] = W_NONE; where[t] = T_PARKED; pool[pn] = t; pn++ }

inline pop_parked(t)
{
	if
	:: pn > 0 -> pn--; t = pool[pn]; pool[pn] = 0
	:: else -> t = 0
	fi
}

/* unlink_from(&vm->parked, t) */
inline pool_unlink(t)
{
	i = 0;
	do
	:: i < pn && pool[i] != t -> i++
	:: else -> break
	od;
	if
	:: i < pn ->
		do
		:: i + 1 < pn -> pool[i] = pool[i + 1]; i++
		:: else -> break
		od;
		pn--; pool[pn] = 0
	:: else
	fi;
	i = 0
}

/* own_grant_locked(): the word already names t. */
inline grant(t) { where[t] = T_OWNING; wake[t] = W_GRANTED }

/* hand_to() up to the unlock: lk held, to off every list. */
inline hand_over()
{
	installed = 0; HELD(0)
	CS_EXIT owner = to;
	grant(to);
	push_parked(me)
}

/* The save/restore half of own_takeover(); fromc is from_callout. */
inline take_installed(fromc)
{
	if
	:: installed != me ->
		if
		:: installed != 0 -> HELD_IS(installed) HELD(0) skip /* hooks->save() */
		:: else
		fi;
		installed = me;
		if
		:: fromc -> HELD_IS(0) HELD(me) skip /* hooks->restore() */
		:: else
		fi
	:: else
	fi
}

/* ---- steps, each ending in a goto to cont --------------------------------- */

/*
 * RELEASE_FREE(cont): "if (atomic_load(&vm->top_prio) >= 0)
 * own_release_free(vm)", then goto cont. Step 1: the top_prio load, then
 * (it may block there) vm->lock, the CAS and the dequeue/grant. Step 2: the
 * futex wake, after the unlock. (Macros, not inlines: they take labels.)
 */
#define RELEASE_FREE(cont)                                                     \
	atomic {                                                               \
		if                                                             \
		:: top == 0 -> goto cont                                       \
		:: else ->                                                     \
			!lk;                                                   \
			to = (qn > 0 -> q[0] : 0); /* CAS(0 -> vm->waiters) */ \
			if                                                     \
			:: to != 0 && owner == 0 ->                            \
				owner = to; dequeue(to); grant(to)             \
			:: else -> to = 0; goto cont                           \
			fi                                                     \
		fi                                                             \
	}                                                                      \
	atomic { asleep[to] = 0; to = 0; goto cont } /* own_wake_granted() */

/* RESUME(cont): hb_resume(), the end of own_takeover(): the R step of
 * hb.c's tickless protocol, an exchange, then arm_periodic() if it read
 * TICKLESS; then goto cont. */
#ifdef NO_RESUME
#define RESUME(cont) atomic { skip; goto cont } /* negative control: I7 broken */
#else
#define RESUME(cont)                                                           \
	atomic {                                                               \
		old = tickless; tickless = 0;                                  \
		if                                                             \
		:: old -> old = 0                                              \
		:: else -> goto cont                                           \
		fi                                                             \
	}                                                                      \
	atomic { tmr_on = 1; goto cont }
#endif

/* own_kick_loop(), after acquire_queued() queued: the load of
 * loop_sleeping, then kif_evio_wake(): set wake_pending; the eventfd write
 * ends the kernel wait of an owner asleep there. */
#if defined(NO_LOOP) || defined(NO_KICK)
#define KICK_LOOP
#else
#define KICK_LOOP                                                              \
	atomic {                                                               \
		if                                                             \
		:: lsleep -> kick = 1; lasleep = 0                             \
		:: else                                                        \
		fi                                                             \
	}
#endif

/*
 * ACQUIRE_QUEUED(fromc, granted, won): acquire_queued(). Queue at the
 * work's priority, then loop: granted? else retry the CAS (I5), else
 * futex_wait() (the load of wake, the CAS and the futex's own compare are
 * one step: model.md). Goes to granted (wake consumed, take_installed()
 * done) or to won (our own CAS, still queued).
 */
#define ACQUIRE_QUEUED(fromc, granted, won)                                    \
	atomic {                                                               \
		!lk -> wake[me] = W_NONE;                                      \
		if                                                             \
		:: prio[me] = 0                                                \
		:: prio[me] = 1                                                \
		fi;                                                            \
		enqueue(me)                                                    \
	}                                                                      \
	KICK_LOOP                                                              \
	do                                                                     \
	:: atomic {                                                            \
		if                                                             \
		:: wake[me] == W_GRANTED ->                                    \
			wake[me] = W_NONE; take_installed(fromc); goto granted \
		:: wake[me] != W_GRANTED && owner == 0 -> owner = me; goto won \
		:: else -> asleep[me] = 1; !asleep[me] /* no end label */      \
		fi                                                             \
	   }                                                                   \
	od

/* ---- VM threads and the foreign thread -------------------------------- */

proctype thread(byte me)
{
	byte to, i;
	bit old;

	if
	:: me == 1 -> goto running /* baton_enter(): main owns from the start */
	:: me == F -> goto detached
	:: else -> goto park       /* created threads: parked in the pool */
	fi;

running:	/* runs VM code: the owner only, with its own work installed */
	ENTER_VM
choose:
	if
	:: atomic { /* baton_disown(vm, t, prio, 0): bookkeeping, release store */
#ifdef NO_FOREIGN_CALLOUT
		me != F ->
#endif
		epoch = (epoch + 1) % NE; CS_EXIT owner = 0; goto in_callout
	   }
#ifndef NO_BLOCKING
	:: atomic { /* baton_disown(.., BATON_BLOCKING): baton__disown_slow() */
		me != F && !lk ->
		epoch = (epoch + 1) % NE; /* before the lock in C: model.md */
		dequeue(to);
		if
		:: to == 0 -> pop_parked(to)
		:: else
		fi;
		if
		:: to != 0 -> CS_EXIT owner = to; grant(to); goto blocking_wake
		:: to == 0 -> CS_EXIT owner = 0; goto in_callout /* thr_spawn_locked(): max */
#ifndef NO_PHANTOM
		:: to == 0 && !ph_used -> /* a slot; thr_start() will fail */
			ph_used = 1; CS_EXIT owner = PH; goto spawn_failed
#endif
		fi
	   }
#endif
	:: atomic { /* baton_idle() */
		me != F && !lk ->
		dequeue(to);
		if
		:: to != 0 -> hand_over(); goto handed
		:: else -> push_parked(me); goto idle_release
		fi
	   }
#ifndef NO_LOOP
	:: me != F -> goto loop_idle /* baton_idle() with the event loop open */
#endif
#ifndef NO_YIELD
	:: atomic { /* baton_yield(); with top_prio < 0 it returns at once: no-op */
		me != F && top != 0 ->
		!lk;
		dequeue(to);
		if
		:: to != 0 -> hand_over(); goto handed
		:: else -> goto choose
		fi
	   }
#endif
#ifndef NO_HANDOFF
	:: atomic { /* baton_handoff(vm, me, to) */
		me != F && !lk ->
		if
		:: me != 1 -> to = 1
		:: me != 2 -> to = 2
#if NT >= 3
		:: me != 3 -> to = 3
#endif
		:: to = F
		fi;
		if
		:: where[to] == T_QUEUED -> q_unlink(to); hand_over(); goto handed
		:: where[to] == T_PARKED -> pool_unlink(to); hand_over(); goto handed
		:: else -> to = 0; goto choose /* -1: still ours */
		fi
	   }
#endif
	:: atomic { /* baton_detach(); thr_free() moved under this lock: model.md */
		me == F && !lk ->
		where[me] = T_FREE;
		dequeue(to);
		if
		:: to != 0 ->
			installed = 0; HELD(0) CS_EXIT owner = to; grant(to);
			goto detach_wake
		:: else -> goto detach_release
		fi
	   }
	fi;

in_callout:	/* the C call returns (then baton_own()), or never does */
	if
#ifdef BROKEN_OWN
	:: old = (owner == 0); /* a load ... */
	   atomic {
		if
		:: old -> old = 0; owner = me; /* ... then a store */
			if
			:: installed == me -> goto running
			:: else -> goto own_takeover
			fi
		:: else -> goto own_queue
		fi
	   }
#else
	:: atomic { /* the CAS; only if it succeeded, the installed check */
		if
		:: owner == 0 -> owner = me;
			if
			:: installed == me -> goto running /* the fast path */
			:: else -> goto own_takeover       /* own_slow, seen == 0 */
			fi
		:: else -> goto own_queue
		fi
	   }
#endif
#ifndef NO_FOREVER
	:: true ->
end_blocked:	false
#endif
	fi;

#ifndef NO_LOOP
loop_idle:	/* idle_on_loop(): a waiter gets the VM; else sleep in the loop */
	atomic {
		!lk -> dequeue(to);
		if
		:: to != 0 -> hand_over(); goto handed
		:: else
		fi
	}
	lsleep = 1; /* atomic_store(&vm->loop_sleeping, 1), seq_cst */
	if /* atomic_load(&vm->top_prio) */
	:: top != 0 -> goto loop_woke
	:: else
	fi;
	atomic { /* kif_evio_wait(): a kick already pending ends it at once */
		if
		:: kick -> kick = 0; goto loop_woke
		:: else -> lasleep = 1
		fi
	}
end_loop:	/* the kernel wait: only a kick ends it here */
	atomic { !lasleep -> kick = 0 }
loop_woke:
	lsleep = 0;
	RESUME(loop_check)
loop_check:	/* someone queued: round again, and hand it over */
	if
	:: top != 0 -> goto loop_idle
	:: else -> goto choose /* BATON_RUN: still the owner, work unchanged */
	fi;
#endif

own_queue:	/* baton__own_slow(), seen != 0 */
	ACQUIRE_QUEUED(1, own_resume, own_won);
own_won:
	atomic { !lk -> q_unlink(me); where[me] = T_OWNING; goto own_takeover }
own_takeover:
	atomic { take_installed(1); goto own_resume }
own_resume:
	RESUME(running)

blocking_wake:
	atomic { asleep[to] = 0; to = 0; goto in_callout }

spawn_failed:	/* thr_start(): pthread_create failed; give the word back */
	owner = 0;
	atomic { !lk -> ph_used = 0 } /* thr_free() */
	RELEASE_FREE(in_callout)

idle_release:	/* release(): then the Dekker pair with acquire_queued */
	atomic { installed = 0; HELD(0) CS_EXIT owner = 0 }
	RELEASE_FREE(park)

handed:	/* hand_to(), after the unlock */
	atomic { asleep[to] = 0; to = 0 }
park:	/* own_park(): sleep until the wake word changes */
	do
	:: atomic {
		if
		:: wake[me] == W_GRANTED ->
			wake[me] = W_NONE; take_installed(0); PICK_WORK goto park_resume
		:: else -> asleep[me] = 1;
end_parked:		!asleep[me]
		fi
	   }
	od;
park_resume:
	RESUME(running)

	/* ---- the foreign thread ---- */
detach_wake:
	atomic { asleep[to] = 0; to = 0; goto detached }
detach_release:	/* release() */
	atomic { installed = 0; HELD(0) CS_EXIT owner = 0 }
	RELEASE_FREE(detached)
detached:
end_detached:
	if
#ifndef NO_FOREIGN
	:: atomic { /* baton_attach(vm, prio): thr_alloc(), then one CAS: model.md */
		!lk -> where[me] = T_OWNING; wake[me] = W_NONE;
		if
		:: owner == 0 -> owner = me; goto attach_takeover
		:: else -> goto attach_queue
		fi
	   }
#endif
	:: goto done /* the C library's thread never calls in again */
	fi;
attach_queue:
	ACQUIRE_QUEUED(0, attach_granted, attach_won);
attach_won:
	atomic { !lk -> q_unlink(me); where[me] = T_OWNING; goto attach_takeover }
attach_takeover:
	atomic { take_installed(0); PICK_WORK goto attach_resume }
attach_granted:
	atomic { PICK_WORK goto attach_resume }
attach_resume:
	RESUME(running)
done:
	skip
}

/* ---- the heartbeat ---------------------------------------------------------- */

/*
 * beat() is one step up to what it decides (model.md: its loads merged; all
 * it does on them is CAS-guarded or re-checked by still_idle()), though it
 * may block on vm->lock in the middle, as in C. Then the futex wake of a
 * grant, the thr_start() failure path, and heartbeat/hb.c's tickless
 * protocol, whose steps all stay separate.
 */
proctype heartbeat()
{
	byte suspect; /* vm->hb_suspect: only the heartbeat touches it */
	byte p, to, i;
	bit old, periodic = 1;

end_wait:	/* hb.c run(): ops->wait() returns a timerfd expiration; beat() */
	do
	:: atomic {
		tmr_on;
		assert(!tickless); /* so tick() after a beat() is a no-op */
		if
		:: lsleep && top == 0 -> suspect = 0; goto go_tickless /* rule 0 */
		:: else
		fi;
		if
		:: owner != 0 -> suspect = 0; periodic = 1 /* busy: interrupt = 1 */
		:: else ->
#ifndef NO_I5_GRANT
			if
			:: top != 0 -> /* I5: own_release_free() */
				!lk;
				if
				:: qn > 0 && owner == 0 ->
					p = q[0]; owner = p; dequeue(p); grant(p);
					goto hb_wake
				:: else
				fi
			:: else
			fi;
#endif
			if
			:: installed != 0 && suspect != epoch + 1 -> /* watch_callout() */
				suspect = epoch + 1; periodic = 1
			:: installed != 0 && suspect == epoch + 1 -> /* blocked */
				suspect = 0;
				!lk; /* own_activate(vm, "blocked") */
				pop_parked(p);
				if
				:: p != 0 && owner == 0 -> owner = p; grant(p); goto hb_wake
				:: p != 0 && owner != 0 -> push_parked(p); p = 0; periodic = 1
				:: p == 0 -> periodic = 1 /* thr_spawn_locked(): max */
#ifndef NO_PHANTOM
				:: p == 0 && !ph_used && owner == 0 -> /* thr_start() will fail */
					owner = PH; ph_used = 1; goto hb_spawn_failed
#endif
				fi
			:: installed == 0 -> suspect = 0; goto go_tickless /* no deadline */
			fi
		fi
	   }
	od;
hb_wake:
	atomic { asleep[p] = 0; p = 0; periodic = 1; goto end_wait }
hb_spawn_failed:	/* thr_start(): give the word back */
	atomic { periodic = 1; owner = 0 }
	atomic { !lk -> ph_used = 0 }
	RELEASE_FREE(end_wait)

go_tickless:	/* hb.c go_tickless(), steps 1-4 */
	tickless = 1;
	if /* still_idle(): separate loads, in idle_now()'s order */
	:: top != 0 -> goto tick
	:: else
	fi;
	if
	:: lsleep -> goto hb_off /* asleep in the loop, which keeps its own deadline */
	:: else
	fi;
	if
	:: owner != 0 -> goto tick
	:: else
	fi;
	if
	:: installed != 0 -> goto tick
	:: else
	fi;
hb_off:
	tmr_on = 0; /* kif_timerfd_disarm() */
	atomic {
		if
		:: !tickless -> tmr_on = 1; periodic = 1
		:: else -> periodic = 0
		fi;
		goto end_wait
	}
tick:	/* hb.c tick(): the exchange, and arm_periodic() (model.md) */
	atomic {
		old = tickless; tickless = 0;
		if
		:: old && !periodic -> tmr_on = 1
		:: else
		fi;
		old = 0; periodic = 1;
		goto end_wait
	}
}

/* ---- property 3: no waiter asleep while the VM is free -------------------- */

#define ASLEEP_Q(t) (where[t] == T_QUEUED && asleep[t])
#if NT >= 3
#define SOME_WAITER_ASLEEP (ASLEEP_Q(1) || ASLEEP_Q(2) || ASLEEP_Q(3) || ASLEEP_Q(F))
#else
#define SOME_WAITER_ASLEEP (ASLEEP_Q(1) || ASLEEP_Q(2) || ASLEEP_Q(F))
#endif
/* ... or while its owner sleeps in the event loop, which only a kick ends */
#define STRANDED ((owner == 0 || lasleep) && SOME_WAITER_ASLEEP)

ltl no_stranded_waiter { [] (STRANDED -> <> !STRANDED) }

init
{
	byte k;
	atomic {
		owner = 1; installed = 1; where[1] = T_OWNING; HELD(1)
		k = 2;
		do
		:: k <= NT -> pool[pn] = k; pn++; where[k] = T_PARKED; k++
		:: else -> break
		od;
		k = 1;
		do
		:: k <= F -> run thread(k); k++
		:: else -> break
		od;
		run heartbeat();
		k = 0
	}
}
