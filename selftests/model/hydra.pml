// SPDX-License-Identifier: MIT
/*
 * selftests/model/hydra.pml: Promela model of Hydra's messages between two
 * heads (issue 12): the bounded inbox, its wake-up and the room protocol.
 *
 * Owns the cross-VM half of the model; own.pml checks one VM's ownership
 * protocol in full, and this model reuses a reduced copy of the parts of it
 * that a message touches (each head: one VM thread, the ownership word,
 * the pool, the futex wake word, idle_on_loop() with loop_sleeping and the
 * loop's kick; baton_idle()'s park path, own_park(), own_activate()). The
 * message's steps are those of vm/hydra (hy_post, hy_subscribe, hy_take,
 * hy_kick, hy_kick_all, hy_drain, hy_poll) and wake() of vm/core/core.c;
 * two of them are the proposed fixes of bugs this model found in them
 * (NO_UNDO_KICK, PARK_LOAD below). Documentation/core/model.md ("Hydra")
 * maps each step to the runtime and argues the abstractions. Checked by
 * run-model.sh.
 *
 * Two heads, 0 and 1. In each, one OS thread owns the VM and runs its
 * Smalltalk processes: a sender S that sends K messages to the other head
 * (and, with K2, a second sender S2 in head 0 that sends K2 more to head
 * 1) and a receiver R that does `VM receive` until it has them all. The
 * inbox holds at most CAP messages, so with both heads sending both
 * inboxes fill up and both senders wait for room while their receivers
 * keep taking. Memory is sequentially consistent (every shared word is
 * accessed by a seq_cst atomic: fetch_add, exchange, fetch_or, seq_cst
 * store and load).
 *
 * Properties: assertions (each message arrives once and in the order of
 * the pushes of its sender-recipient pair, the inbox never holds more than
 * CAP messages, the count word never exceeds CAP + 1); a monitor that,
 * when nothing can move any more, asserts that every message arrived and
 * the counts are back to 0 (a lost wake-up leaves both heads asleep with
 * messages undelivered: plain pan); and ltl all_delivered (pan -a -f).
 *
 * Switches (spin -DNAME):
 *   K=n             messages each way (default 2)
 *   CAP=n           inbox capacity (default 1)
 *   K2=n            head 0 has a second sender process S2, which sends n
 *                   more messages to head 1 (default 0: no S2)
 *   LOOP_ONLY, PARK_ONLY  heads idle only in the event loop, or only by
 *                   parking (default: either, chosen at each idle)
 *   CHECK_END       the end monitor (safety runs)
 *   REACH_BOTH_FULL a demonstration that must be rejected: asserts that
 *                   the two senders never wait for room at the same time
 * Negative controls (each must be rejected):
 *   EARLY_CHECK     idle_on_loop() looks at the interrupt flag before it
 *                   publishes loop_sleeping
 *   LATE_CLEAR      the recipient clears HY_MSG only after the receiver
 *                   found the inbox empty (take, then clear)
 *   NO_ROOM_RECHECK a sender that finds the inbox full subscribes for room
 *                   and waits, without posting once more
 *   NO_PARK_RECHECK baton_idle()'s park path as before Hydra: after
 *                   releasing the word it does not look at the interrupt
 *   WAKE_AS_CORE    wake() in baton_wake()'s order before Hydra: load the
 *                   owner, then raise the interrupt
 *   ROOM_ONE        (with K2) a room event signals the event Semaphore
 *                   once, resuming one of the waiting senders
 *   NO_UNDO_KICK    hy_post() as on main: giving back the slot of a failed
 *                   post does not tell the room subscribers (deadlocks
 *                   with CAP=1: hy_take's mark misses the take)
 *   PARK_LOAD       baton_idle()'s park path as on main: it loads the
 *                   interrupt instead of exchanging it (spins: LTL)
 *   NO_MARK         hy_take() tells subscribers at every take (passes)
 */

#ifndef K
#define K 2
#endif
#ifndef CAP
#define CAP 1
#endif
#ifndef K2
#define K2 0
#endif
#define TOTAL(h) (h == 1 -> K + K2 : K) /* messages head h receives */
#define SZ (CAP + 1) /* ring slots per inbox (the nodes in a list: <= CAP) */
#define MARK (CAP / 2) /* hy_take() tells room subscribers at or below it */

#define MSG 1   /* notify word bits: HY_MSG */
#define EVENT 2 /* HY_EVENT: room (or a head's end, not modelled) */

/* a Smalltalk process's state */
#define P_RUN 0   /* runnable: its next primitive may start */
#define P_WAIT 1  /* waits on its Semaphore */
#define P_DONE 2

/* ---- shared state, one variable per C word, [h] = head h ------------------ */

/* the ownership core of each head (own.pml, reduced: one VM thread) */
bit owner[2];     /* vm->hot.owner names the head's thread (1) or is 0 */
bit interrupt[2]; /* vm->hot.interrupt */
bit lsleep[2];    /* vm->loop_sleeping */
bit kick[2];      /* the loop's wake_pending / a MSG_RING CQE not yet reaped */
bit lasleep[2];   /* the owner is in the loop's kernel wait (kernel state) */
bit parked[2];    /* the thread is in vm->parked */
bit wake[2];      /* its futex word: WAKE_GRANTED (1) or WAKE_NONE */
bit asleep[2];    /* in futex_wait on it (kernel state) */

/* the inbox of each head (struct hydra_head) */
byte cnt[2];      /* count, fetch_add'ed by senders */
byte in_p[2];     /* nodes pushed: the exchange of tail done */
byte in_l[2];     /* nodes linked: prev->next stored (the consumer sees them) */
byte in_c[2];     /* nodes popped by the consumer */
byte buf[2 * SZ]; /* the message in node i of head h: buf[h * SZ + i % SZ] */
byte notify[2];   /* notify: MSG | EVENT */
bit want[2];      /* room_subs (only the other head can be on it) */

byte got[2];      /* messages received by head h's R (ghost) */
#ifdef REACH_BOTH_FULL
bit rw[2];        /* ghost: a sender of head h waits for room */
#define REACHED rw[h] = 1; assert(!(rw[0] && rw[1]));
#define RESUMED rw[h] = (rqn > 0);
#else
#define REACHED
#define RESUMED
#endif

#define RUNNABLE (sS[0] == P_RUN || sS[1] == P_RUN || sR == P_RUN)

/* hy_drain(): exchange the notify word with 0, then wake_all() the
 * Semaphores its bits name: every process waiting there resumes (no
 * excess signal is left: a primitive that waited only ever means "look
 * again"). ROOM_ONE: one signal, the first waiter. */
#ifdef ROOM_ONE
#define EVENT_SIGNAL                                                           \
	if                                                                     \
	:: rqn > 0 -> sS[rq[0]] = P_RUN; rq[0] = rq[1]; rq[1] = 0; rqn--      \
	:: else                                                                \
	fi
#else
#define EVENT_SIGNAL                                                           \
	if                                                                     \
	:: rqn > 0 -> sS[rq[0]] = P_RUN;                                       \
		if                                                             \
		:: rqn > 1 -> sS[rq[1]] = P_RUN                                \
		:: else                                                        \
		fi;                                                            \
		rq[0] = 0; rq[1] = 0; rqn = 0                                  \
	:: else                                                                \
	fi
#endif
#ifdef LATE_CLEAR
#define CLEARED (n & MSG) /* negative control: MSG stays, R clears it */
#else
#define CLEARED 0
#endif
#define DRAIN                                                                  \
	n = notify[h]; notify[h] = CLEARED;                                    \
	if                                                                     \
	:: (n & MSG) && sR == P_WAIT -> sR = P_RUN                             \
	:: else                                                                \
	fi;                                                                    \
	if                                                                     \
	:: n & EVENT -> EVENT_SIGNAL; RESUMED                                  \
	:: else                                                                \
	fi;                                                                    \
	n = 0

proctype head(byte h)
{
	byte o = 1 - h;  /* the other head */
	byte sS[2], sR = P_RUN; /* its processes: senders, the receiver */
	byte ns[2];      /* each sender's messages sent */
	byte rq[2], rqn; /* the senders waiting on the event Semaphore, in order */
	bit tries;       /* hydraSend: the post after subscribing */
	byte cs;         /* the sender running (0: S, 1: S2) */
	byte c, n;
	byte tgt;        /* the head hy_kick() wakes */
	byte bit_;       /* and the bit it sets */
	byte wret;       /* where hy_kick() returns: 1 send, 2 receive, 3 undo */

	sS[1] = (h == 0 && K2 > 0 -> P_RUN : P_DONE);
sched:	/* the owner runs processes: one primitive at a time */
	do
	:: interrupt[h] -> /* the interpreter's checkpoint: hy_poll(), */
		atomic {
			if
			:: notify[h] != 0 -> DRAIN
			:: else
			fi
		}
		interrupt[h] = 0 /* then baton_checkpoint() clears the flag */
	:: atomic { sS[0] == P_RUN -> cs = 0; goto send }
	:: atomic { sS[1] == P_RUN -> cs = 1; goto send }
	:: sR == P_RUN -> goto recv
	:: else -> goto idle
	od;

	/* ---- S, S2: hydraSend, head o send: a message ---- */
send:	/* hy_post(): reserve a slot, fetch_add on count */
	atomic {
		c = cnt[o]; cnt[o]++;
		assert(c <= CAP);
		if
		:: c >= CAP -> goto s_undo
		:: else -> c = 0; goto s_push
		fi
	}
s_undo:	/* full: give the slot back */
	atomic {
		c = cnt[o]; cnt[o]--;
#ifndef NO_UNDO_KICK
		/* proposed fix: an undo that leaves room tells the subscribers,
		 * whose own post may have failed on our transient slot */
		if
		:: c - 1 < CAP && want[o] -> want[o] = 0;
			c = 0; tgt = h; bit_ = EVENT; wret = 3; goto kick_
		:: else
		fi;
#endif
		c = 0
	}
s_undone:
	atomic {
		if
		:: tries -> tries = 0; goto s_wait /* failed after subscribing */
		:: else
		fi
	}
	want[o] = 1; /* hy_subscribe(&o->room_subs, us): a CAS push */
#ifdef NO_ROOM_RECHECK
	goto s_wait; /* negative control: wait without looking again */
#endif
	tries = 1;
	goto send;   /* look once more (Dekker with the take below) */
s_wait:	/* wait_on(event_sem); woken, the Smalltalk side sends again */
	atomic { sS[cs] = P_WAIT; rq[rqn] = cs; rqn++; REACHED cs = 0; goto sched }
s_push:	/* push(): the exchange of tail (the node holds the message) */
	atomic {
		tries = 0; /* the node holds the pair's sequence number */
		buf[o * SZ + in_p[o] % SZ] = in_p[o] + 1; in_p[o]++;
		assert(in_p[o] - in_c[o] <= CAP)
	}
	in_l[o]++; /* ... then the old tail's link: the consumer can see it */
	atomic { tgt = o; bit_ = MSG; wret = 1; goto kick_ } /* hy_kick(o, HY_MSG) */
s_next:
	atomic {
		ns[cs]++;
		if
		:: ns[cs] == (cs == 0 -> K : K2) -> sS[cs] = P_DONE
		:: else
		fi;
		cs = 0;
		goto sched
	}

	/* ---- R: hydraReceive, VM receive ---- */
recv:	/* hy_take(): pop (single consumer): empty unless a node is linked */
	atomic {
		if
		:: in_c[h] < in_l[h] ->
			assert(buf[h * SZ + in_c[h] % SZ] == got[h] + 1); /* once, in order */
			buf[h * SZ + in_c[h] % SZ] = 0;
			got[h]++; in_c[h]++
		:: else -> goto r_empty
		fi
	}
	atomic { c = cnt[h]; cnt[h]-- } /* left = fetch_sub(&count, 1) - 1 */
	atomic { /* at or below the mark, subscribers: hy_kick_all() */
		if
#ifdef NO_MARK
		:: want[h] -> want[h] = 0
#else
		:: c - 1 <= MARK && want[h] -> want[h] = 0
#endif
		:: else -> c = 0; goto r_next
		fi;
		c = 0; tgt = o; bit_ = EVENT; wret = 2; goto kick_ /* hy_kick(o, HY_EVENT) */
	}
r_next:
	atomic {
		if
		:: got[h] == TOTAL(h) -> sR = P_DONE
		:: else
		fi;
		goto sched
	}
r_empty:
#ifdef LATE_CLEAR
	notify[h] = notify[h] & EVENT; /* negative control: clear after taking */
#endif
	atomic { sR = P_WAIT; goto sched } /* wait_on(recv_sem); resumes at recv */

	/* ---- hy_kick(tgt, bit_): the bit; only if it was clear, the wake ---- */
kick_:
	atomic {
		n = notify[tgt]; notify[tgt] = notify[tgt] | bit_;
		if
		:: n & bit_ -> goto wk_ret /* it has not looked since the last kick */
		:: else
		fi
	}
	/* baton_wake_from(tgt): wake() in vm/core/core.c */
#ifdef WAKE_AS_CORE
	atomic { /* negative control: own_running() first, then the interrupt */
		if
		:: owner[tgt] -> goto wk_int
		:: else -> goto wk_act
		fi
	}
wk_int:
	interrupt[tgt] = 1;
	goto wk_kick;
#else
	interrupt[tgt] = 1; /* seq_cst, first: Dekker with idle_on_loop and the park */
	atomic {
		if
		:: owner[tgt] -> goto wk_kick /* own_running() */
		:: else -> goto wk_act
		fi
	}
#endif
wk_kick:	/* own_kick_loop_from(): MSG_RING into its ring, or the eventfd */
	atomic {
		if
		:: lsleep[tgt] -> kick[tgt] = 1; lasleep[tgt] = 0
		:: else
		fi;
		goto wk_ret
	}
wk_act:	/* own_activate(tgt) under its lock: pop a parked thread, claim, grant */
	atomic {
		if
		:: parked[tgt] && !owner[tgt] -> parked[tgt] = 0; owner[tgt] = 1; wake[tgt] = 1
		:: else -> /* nobody parked, or the claim fails: the flag stays up */
			assert(owner[tgt]); goto wk_ret
		fi
	}
	asleep[tgt] = 0; /* own_wake_granted(): the futex wake */
wk_ret:
	atomic {
		n = 0; tgt = 0; bit_ = 0;
		if
		:: wret == 1 -> wret = 0; goto s_next
		:: wret == 2 -> wret = 0; goto r_next
		:: wret == 3 -> wret = 0; goto s_undone
		fi
	}

	/* ---- nothing runnable: sched next(), then baton_idle() ---- */
idle:	/* the process switch: drain, and run what that made runnable */
	atomic {
		if
		:: notify[h] != 0 -> DRAIN
		:: else
		fi;
		if
		:: RUNNABLE -> goto sched
		:: else
		fi
	}
	if
#ifndef PARK_ONLY
	:: goto loop_idle
#endif
#ifndef LOOP_ONLY
	:: goto park_idle
#endif
	fi;

loop_idle:	/* idle_on_loop(): keeps the word */
#ifdef EARLY_CHECK
	atomic { /* negative control: the interrupt before loop_sleeping */
		if
		:: interrupt[h] -> interrupt[h] = 0; goto idle
		:: else
		fi
	}
	lsleep[h] = 1;
#else
	lsleep[h] = 1; /* atomic_store(&vm->loop_sleeping, 1) */
	atomic { /* atomic_exchange(&vm->hot.interrupt, 0) */
		if
		:: interrupt[h] -> interrupt[h] = 0; goto loop_woke
		:: else
		fi
	}
#endif
	atomic { /* io_idle_wait(): a pending kick ends it at once */
		if
		:: kick[h] -> kick[h] = 0; goto loop_woke
		:: else -> lasleep[h] = 1
		fi
	}
end_loop:	/* the kernel wait: here only a kick ends it */
	atomic { !lasleep[h] -> kick[h] = 0 }
loop_woke:
	lsleep[h] = 0;
	goto idle;

park_idle:	/* baton_idle() without the loop: push_parked() under the lock */
	atomic { parked[h] = 1; wake[h] = 0 }
	owner[h] = 0; /* release() */
#ifndef NO_PARK_RECHECK
	atomic { /* a wake that saw us still owning: take the VM back */
		if
#ifdef PARK_LOAD
		:: interrupt[h] /* atomic_load: the flag stays up */
#else
		:: interrupt[h] -> interrupt[h] = 0 /* atomic_exchange */
#endif
		:: else -> goto park
		fi
	}
	atomic { /* own_activate(vm) */
		if
		:: parked[h] && !owner[h] -> parked[h] = 0; owner[h] = 1; wake[h] = 1
		:: else
		fi
	}
#endif
park:	/* own_park(): sleep until the wake word changes */
	do
	:: atomic {
		if
		:: wake[h] -> wake[h] = 0; goto park_woke
		:: else -> asleep[h] = 1;
end_park:		!asleep[h]
		fi
	   }
	od;
park_woke:	/* own_takeover(): granted, we own the VM again */
	assert(owner[h] && !parked[h]);
	goto idle
}

#ifdef CHECK_END
/* Nothing can move any more: every message must have arrived. */
active proctype monitor()
{
	bit delivered;
	timeout ->
	delivered = (got[0] == TOTAL(0) && got[1] == TOTAL(1) && cnt[0] == 0 &&
		     cnt[1] == 0 && in_c[0] == TOTAL(0) && in_c[1] == TOTAL(1));
	assert(delivered)
}
#endif

/* Eventually every message has arrived and both heads sleep for good. */
ltl all_delivered { <> [] (got[0] == K && got[1] == K + K2 &&
			   (asleep[0] || lasleep[0]) && (asleep[1] || lasleep[1])) }

init
{
	atomic {
		owner[0] = 1; owner[1] = 1;
		run head(0);
		run head(1)
	}
}
