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
 * message's steps are those of issue 12's design ("How a message travels":
 * count, push, notify, wake, drain, room). Documentation/core/model.md
 * ("Hydra") maps each step to the runtime and argues the abstractions.
 * Checked by run-model.sh.
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
 *   LATE_CLEAR      the recipient clears the notify word only after the
 *                   receiver found the inbox empty (drain, then clear)
 *   NO_ROOM_RECHECK a sender that finds the inbox full registers for room
 *                   and waits, without trying the count again
 *   NO_PARK_RECHECK baton_idle()'s park path as in vm/core today: after
 *                   releasing the word it does not look at the interrupt
 *   WAKE_AS_CORE    baton_wake_from() in baton_wake()'s order: load the
 *                   owner, then raise the interrupt
 *   ROOM_ONE        (with K2) a ROOM notification signals the room
 *                   Semaphore once, resuming one of the waiting senders
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

#define MSG 1  /* notify word bits */
#define ROOM 2

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
byte cnt[2];      /* the count, fetch_add'ed by senders */
byte in_p[2];     /* nodes pushed: the xchg on the tail done */
byte in_l[2];     /* nodes linked: prev->next stored (the consumer sees them) */
byte in_c[2];     /* nodes popped by the consumer */
byte buf[2 * SZ]; /* the message in node i of head h: buf[h * SZ + i % SZ] */
byte notify[2];   /* the notify word: MSG | ROOM */
bit want[2];      /* the want-room list (only the other head can be on it) */

byte got[2];      /* messages received by head h's R (ghost) */
#ifdef REACH_BOTH_FULL
bit rw[2];        /* ghost: head h's S waits for room */
#define REACHED rw[h] = 1; assert(!(rw[0] && rw[1]));
#define RESUMED rw[h] = (rqn > 0);
#else
#define REACHED
#define RESUMED
#endif

#define RUNNABLE (sS[0] == P_RUN || sS[1] == P_RUN || sR == P_RUN)

#define SENDING (sS[0] != P_DONE || sS[1] != P_DONE)

/* A ROOM notification resumes every process of the head waiting for room
 * (a Semaphore signal per waiter); ROOM_ONE: one signal (the first). */
#ifdef ROOM_ONE
#define ROOM_SIGNAL                                                            \
	if                                                                     \
	:: rqn > 0 -> sS[rq[0]] = P_RUN; rq[0] = rq[1]; rq[1] = 0; rqn--      \
	:: rqn == 0 && SENDING -> semRoom++                                    \
	:: else /* nobody will ever wait on it again: unobservable */          \
	fi
#else
#define ROOM_SIGNAL                                                            \
	if                                                                     \
	:: rqn > 0 -> sS[rq[0]] = P_RUN;                                       \
		if                                                             \
		:: rqn > 1 -> sS[rq[1]] = P_RUN                                \
		:: else                                                        \
		fi;                                                            \
		rq[0] = 0; rq[1] = 0; rqn = 0                                  \
	:: rqn == 0 && SENDING -> semRoom++                                    \
	:: else /* nobody will ever wait on it again: unobservable */          \
	fi
#endif

/* Drain (the owner, at a checkpoint or idle): exchange the notify word
 * with 0, then signal the Semaphores its bits name. A signal resumes the
 * process waiting on it, else counts an excess signal. */
#ifdef LATE_CLEAR
#define CLEARED (n & MSG) /* negative control: MSG stays, R clears it */
#else
#define CLEARED 0
#endif
#define DRAIN                                                                  \
	n = notify[h]; notify[h] = CLEARED;                                    \
	if                                                                     \
	:: (n & MSG) && sR == P_WAIT -> sR = P_RUN                             \
	:: (n & MSG) && sR == P_RUN -> semIn++                                 \
	:: else                                                                \
	fi;                                                                    \
	if                                                                     \
	:: n & ROOM -> ROOM_SIGNAL; RESUMED                                    \
	:: else                                                                \
	fi;                                                                    \
	n = 0

proctype head(byte h)
{
	byte o = 1 - h;  /* the other head */
	byte sS[2], sR = P_RUN; /* its processes: senders, the receiver */
	byte ns[2];      /* each sender's messages sent */
	byte semIn, semRoom; /* excess signals of the inbox and room Semaphores */
	byte rq[2], rqn; /* the senders waiting on the room Semaphore, in order */
	bit reg[2];      /* a sender registered for room, tries the count again */
	byte cs;         /* the sender running (0: S, 1: S2) */
	byte c, n;
	byte wret;       /* where baton_wake_from() returns: 1 send, 2 receive */

	sS[1] = (h == 0 && K2 > 0 -> P_RUN : P_DONE);
sched:	/* the owner runs processes: one primitive at a time */
	do
	:: interrupt[h] -> /* a checkpoint: baton_checkpoint() clears the flag, */
		interrupt[h] = 0;
		atomic { /* then the drain looks at the notify word */
			if
			:: notify[h] != 0 -> DRAIN
			:: else
			fi
		}
	:: atomic { sS[0] == P_RUN -> cs = 0; goto send }
	:: atomic { sS[1] == P_RUN -> cs = 1; goto send }
	:: sR == P_RUN -> goto recv
	:: else -> goto idle
	od;

	/* ---- S, S2: head o send: a message ---- */
send:	/* 2. capacity: fetch_add on the recipient's count */
	atomic {
		c = cnt[o]; cnt[o]++;
		assert(c <= CAP);
		if
		:: c >= CAP -> c = 0; goto s_undo
		:: else -> c = 0; goto s_push
		fi
	}
s_undo:	/* over capacity: undo */
	cnt[o]--;
#ifdef NO_ROOM_RECHECK
	want[o] = 1; /* register in o's want-room list */
#else
	atomic {
		if
		:: reg[cs] -> reg[cs] = 0; goto s_wait /* tried again after registering */
		:: else
		fi
	}
	want[o] = 1; /* register in o's want-room list ... */
	reg[cs] = 1;
	goto send    /* ... then try the count again (Dekker with r_room) */
#endif
s_wait:	/* roomSemaphore wait */
	atomic {
		if
		:: semRoom > 0 -> semRoom--; goto send
		:: else -> sS[cs] = P_WAIT; rq[rqn] = cs; rqn++; REACHED
			cs = 0; goto sched /* resumes at send */
		fi
	}
s_push:	/* 3. push: the xchg on the tail (the node holds the message) */
	atomic {
		reg[cs] = 0; /* the node holds the pair's sequence number */
		buf[o * SZ + in_p[o] % SZ] = in_p[o] + 1; in_p[o]++;
		assert(in_p[o] - in_c[o] <= CAP)
	}
	in_l[o]++; /* ... then the link: the consumer can see it */
	/* 4. notify: MSG into the word; wake only on its 0 -> nonzero change */
	atomic {
		n = notify[o]; notify[o] = notify[o] | MSG;
		if
		:: n == 0 -> wret = 1; goto wake_from
		:: else -> goto s_next
		fi
	}
s_next:
	atomic {
		n = 0; wret = 0; ns[cs]++;
		if
		:: ns[cs] == (cs == 0 -> K : K2) -> sS[cs] = P_DONE
		:: else
		fi;
		cs = 0;
		goto sched
	}

	/* ---- R: VM receive ---- */
recv:	/* 5. pop (single consumer): empty unless a node is linked */
	atomic {
		if
		:: in_c[h] < in_l[h] ->
			assert(buf[h * SZ + in_c[h] % SZ] == got[h] + 1); /* once, in order */
			buf[h * SZ + in_c[h] % SZ] = 0;
			got[h]++; in_c[h]++
		:: else -> goto r_empty
		fi
	}
	cnt[h]--;
	atomic { /* senders wait for room? take the list, notify them */
		if
		:: want[h] -> want[h] = 0
		:: else -> goto r_next
		fi
	}
	atomic {
		n = notify[o]; notify[o] = notify[o] | ROOM;
		if
		:: n == 0 -> wret = 2; goto wake_from
		:: else -> goto r_next
		fi
	}
r_next:
	atomic {
		n = 0; wret = 0;
		if
		:: got[h] == TOTAL(h) -> sR = P_DONE
		:: else
		fi;
		goto sched
	}
r_empty:
#ifdef LATE_CLEAR
	notify[h] = notify[h] & ROOM; /* negative control: clear after draining */
#endif
r_wait:	/* inboxSemaphore wait */
	atomic {
		if
		:: semIn > 0 -> semIn--; goto recv
		:: else -> sR = P_WAIT; goto sched /* resumes at recv */
		fi
	}

	/* ---- baton_wake_from(o): the interrupt, then a kick or an activation ---- */
wake_from:
#ifdef WAKE_AS_CORE
	atomic { /* negative control: own_running() first, as baton_wake() */
		if
		:: owner[o] -> goto wk_int
		:: else -> goto wk_act
		fi
	}
wk_int:
	interrupt[o] = 1;
	goto wk_kick;
#else
	interrupt[o] = 1; /* seq_cst: Dekker with idle_on_loop and the park */
	atomic {
		if
		:: owner[o] -> goto wk_kick /* own_running() */
		:: else -> goto wk_act
		fi
	}
#endif
wk_kick:	/* own_kick_loop(): MSG_RING into its ring, or the eventfd write */
	atomic {
		if
		:: lsleep[o] -> kick[o] = 1; lasleep[o] = 0
		:: else
		fi;
		goto wk_ret
	}
wk_act:	/* own_activate(o) under o's lock: pop a parked thread, claim, grant */
	atomic {
		if
		:: parked[o] && !owner[o] -> parked[o] = 0; owner[o] = 1; wake[o] = 1
		:: else -> /* nobody parked, or the claim fails: raise the flag */
			assert(owner[o]); interrupt[o] = 1; goto wk_ret
		fi
	}
	asleep[o] = 0; /* own_wake_granted(): the futex wake */
wk_ret:
	atomic {
		if
		:: wret == 1 -> goto s_next
		:: wret == 2 -> goto r_next
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
		:: interrupt[h] -> interrupt[h] = 0
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

ltl all_delivered { <> (got[0] == K && got[1] == K + K2) }

init
{
	atomic {
		owner[0] = 1; owner[1] = 1;
		run head(0);
		run head(1)
	}
}
