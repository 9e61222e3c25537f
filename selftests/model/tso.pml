// SPDX-License-Identifier: MIT
/*
 * selftests/model/tso.pml: the fast paths of baton_own() under x86-TSO.
 *
 * Owns the weak-memory half of the model (own.pml is sequentially
 * consistent and covers the whole protocol). Here every thread's plain
 * stores go to its own FIFO store buffer, which a separate process drains
 * to memory one entry at a time, nondeterministically; a load reads the
 * newest entry for its address in the thread's own buffer, else memory.
 * A locked instruction (CAS, exchange, a seq_cst store, the mutex's lock
 * and unlock) or mfence first waits for the thread's buffer to drain;
 * membarrier(PRIVATE_EXPEDITED) drains every thread's buffer. Checked by
 * run-model.sh; Documentation/core/model.md ("x86-TSO") maps each step to
 * the C and argues the abstractions.
 *
 * Two VM threads (1 owns first, 2 starts parked) make K callouts each and
 * then idle (thread 2's last callout may also never return); the heartbeat (3) grants a free VM to a waiter (I5) and takes
 * a callout's VM for a parked thread or a waiter, as often as it likes.
 * Mutual exclusion: an assertion when a thread enters VM code. No lost
 * wake-up: the heartbeat stops only when both threads are parked (or gone
 * for good in a callout) and nobody waits, and it
 * waits (does not spin) while it has nothing to do, so a thread left asleep
 * with nobody to wake it is an invalid end state (a deadlock).
 *
 * Switches (spin -DNAME):
 *   CAS           the CAS fast path (BATON_MEMBARRIER=0); default: membarrier
 *   NO_MEMBARRIER negative control: the take-over fences only itself
 *                 (mfence) instead of membarrier(): must break mutual exclusion
 *   NO_BEAT_GRANT negative control: the heartbeat does not give a free VM
 *                 (or one whose owner is out) to a waiter (I5): must strand it
 *   SC            no store buffers (sequential consistency): with
 *                 NO_MEMBARRIER, shows that the buffers are what breaks it
 *   K=n           callouts per thread (default 2)
 */

#ifndef K
#define K 2
#endif
#define NP 4   /* processes with a store buffer: 1, 2, the heartbeat 3 */
#define BUF 3  /* store buffer entries per thread */

/* addresses in mem[] */
#define OWNER 0     /* vm->hot.owner */
#define OUT(t) (t)  /* t->hot.out (t = 1, 2) */
#define TAKEN(t) (2 + (t)) /* t->hot.taken */
#define WAKE(t) (4 + (t))  /* t->wake */
#define INST 7      /* vm->hot.installed */
#define TOP 8       /* vm->top_prio + 1 */
#define DEFER(t) (8 + (t)) /* t->hot.defer */
#define NA 11

byte mem[NA];
byte ba[NP * BUF]; /* store buffers: address, value; bn entries each */
byte bv[NP * BUF];
byte bn[NP];
bit lk;            /* vm->lock (its fields below ride with it) */
byte qh;           /* the waiter queue: with two threads, at most one */
byte pool[2];      /* parked threads, a LIFO stack */
byte pn;
byte incs;         /* ghost: threads running VM code */
bit gone;          /* ghost: thread 2 is in a callout that never returns */
#ifdef CAS
bit mb = 0;
#else
bit mb = 1;
#endif

/* ---- memory ------------------------------------------------------------ */

/* A plain store: into the buffer (blocks while it is full). */
inline st(a, v)
{
#ifdef SC
	mem[a] = v
#else
	atomic {
		bn[me] < BUF;
		ba[me * BUF + bn[me]] = a; bv[me * BUF + bn[me]] = v; bn[me]++
	}
#endif
}

/* A plain load: store forwarding from the own buffer, else memory. */
inline ld(a, r)
{
	d_step {
		r = mem[a];
		j = 0;
		do
		:: j < bn[me] -> if :: ba[me * BUF + j] == a -> r = bv[me * BUF + j] :: else fi; j++
		:: else -> break
		od;
		j = 0
	}
}

/* Pop the oldest entry of thread p's buffer into memory. */
inline drain1(p)
{
	mem[ba[p * BUF]] = bv[p * BUF];
	j = 1;
	do
	:: j < bn[p] -> ba[p * BUF + j - 1] = ba[p * BUF + j]; bv[p * BUF + j - 1] = bv[p * BUF + j]; j++
	:: else -> break
	od;
	bn[p]--; ba[p * BUF + bn[p]] = 0; bv[p * BUF + bn[p]] = 0; j = 0
}

/* mfence, and the wait that precedes every locked instruction. */
inline fence() { bn[me] == 0 }

/* membarrier(PRIVATE_EXPEDITED): a full barrier in every thread. */
inline membarrier()
{
#ifdef NO_MEMBARRIER
	fence()
#else
	d_step {
		do
		:: bn[1] > 0 -> drain1(1)
		:: bn[2] > 0 -> drain1(2)
		:: bn[3] > 0 -> drain1(3)
		:: else -> break
		od
	}
#endif
}

inline lock() { atomic { fence(); !lk -> lk = 1 } }
inline unlock() { atomic { fence(); lk = 0 } }
/* The futex wait until granted: the kernel reads memory. */
inline wait_granted() { mem[WAKE(me)] == 1 }

/* ---- the protocol (vm/core/own.c) -------------------------------------- */

/*
 * own_claim_locked(to): a CAS of the free word, or (membarrier) the
 * take-over of the thread the word names if it is out: own_steal_locked().
 * got = 1 if the word now names [to]. vm->lock held.
 */
inline claim(to)
{
	atomic { fence(); w = mem[OWNER]; if :: w == 0 -> mem[OWNER] = to; got = 1 :: else -> got = 0 fi }
	if
	:: !got && mb && w != to ->
		ld(OUT(w), seq);
		if
		:: seq != 0 ->
			st(TAKEN(w), 1);
			membarrier();
			ld(OUT(w), r);
			if  /* back, but it saw taken and waits for the lock: ours too */
			:: r != seq -> ld(DEFER(w), r); r = (r == 1 -> seq : 0)
			:: else
			fi;
			if
			:: r == seq -> st(OWNER, to); got = 1   /* a release store: plain */
			:: else -> st(TAKEN(w), 0)
			fi
		:: else
		fi
	:: else
	fi
}

/* own_grant_locked(to): the word already names it. */
inline grant(to) { st(WAKE(to), 1) }

/* own_takeover(): installed names another thread: save it, install us. */
inline takeover()
{
	ld(INST, r);
	if :: r != me -> st(INST, me) :: else fi
}

proctype vmthread(byte me)
{
	byte k, r, w, seq, j, to;
	bit got;
	if
	:: me == 1 -> goto owning
	:: else -> goto parked
	fi;
owning:
	atomic { assert(incs == 0); incs++ };  /* VM code */
	atomic { incs-- };
	if
	:: k < K -> k++;
		/* baton_disown() */
		if
		:: mb -> st(OUT(me), k)
		:: else -> st(OWNER, 0)   /* a release store: plain */
		fi;
		/* the callout: any number of other steps; thread 2's last one
		 * may never return (it blocks for good) */
		if
		:: me == 2 && k == K -> gone = 1;
end_forever:		false
		:: true
		fi;
		/* baton_own() */
		if
		:: mb ->
			st(OUT(me), 0);
			ld(TAKEN(me), r);     /* after a compiler barrier only */
			if
			:: r == 0 -> goto owning
			:: else
			fi;
			/* baton__own_slow() */
			st(DEFER(me), 1);
			lock(); st(DEFER(me), 0); st(TAKEN(me), 0); ld(OWNER, w); unlock();
			if
			:: w == me -> goto owning /* the take-over gave up */
			:: else
			fi
		:: else ->
			atomic { fence(); w = mem[OWNER]; if :: w == 0 -> mem[OWNER] = me; got = 1 :: else -> got = 0 fi };
			if
			:: got ->
				ld(INST, r);
				if
				:: r == me -> goto owning
				:: else -> takeover(); goto owning
				fi
			:: else
			fi
		fi;
		goto queue
	:: else
	fi;
	/* baton_idle(): hand the VM to the waiter, or park and release */
	lock();
	if
	:: qh != 0 ->
		to = qh; qh = 0; atomic { fence(); mem[TOP] = 0 };
		st(INST, 0); st(OWNER, to); grant(to);
		pool[pn] = me; pn++; st(WAKE(me), 0);
		unlock();
		goto parked
	:: else
	fi;
	pool[pn] = me; pn++; st(WAKE(me), 0);
	unlock();
	st(INST, 0);
	atomic { fence(); mem[OWNER] = 0 }     /* seq_cst store: an exchange */
	ld(TOP, r);
	if
	:: r != 0 ->                            /* own_release_free() */
		lock();
		if
		:: qh != 0 ->
			claim(qh);
			if
			:: got -> to = qh; qh = 0; atomic { fence(); mem[TOP] = 0 }; grant(to)
			:: else
			fi
		:: else
		fi;
		unlock()
	:: else
	fi;
parked:
end_parked:
	wait_granted();
	takeover();
	goto owning;

queue:  /* acquire_queued() */
	lock();
	claim(me);
	if
	:: got -> unlock(); takeover(); goto owning
	:: else
	fi;
	st(WAKE(me), 0); qh = me; atomic { fence(); mem[TOP] = 1 };
	unlock();
	do
	:: ld(WAKE(me), r); if :: r == 1 -> break :: else fi;
		lock();
		ld(WAKE(me), r);
		if
		:: r == 0 -> claim(me);
			if :: got -> qh = 0; atomic { fence(); mem[TOP] = 0 } :: else fi
		:: else -> got = 0
		fi;
		unlock();
		if
		:: got -> break
		:: else -> wait_granted(); break
		fi
	od;
	takeover();
	goto owning
}

/*
 * The heartbeat's beat() as far as it takes or grants the VM: when nobody
 * runs VM code (the word is 0, or names a thread out in a callout), grant
 * the VM to the waiter (I5), or take the callout's VM for a parked thread
 * (own_activate). It steps only while there is something to do (read from
 * memory: a beat can come at any time, so when it comes does not matter),
 * and stops when both threads are parked.
 */
proctype heartbeat()
{
	byte me = 3;
	byte r, w, seq, j, to, p, ins;
	bit got;
	do
	:: atomic { pn + gone == 2 && qh == 0 && !lk -> break }
#ifdef NO_BEAT_GRANT
	:: atomic { mem[OWNER] != 0 && mb && mem[OUT(mem[OWNER])] != 0 && pn > 0 ||
		    mem[OWNER] == 0 && mem[INST] != 0 && pn > 0 -> skip };
#else
	:: atomic { mem[OWNER] != 0 && mb && mem[OUT(mem[OWNER])] != 0 && (pn > 0 || qh != 0) ||
		    mem[OWNER] == 0 && (mem[TOP] != 0 || mem[INST] != 0 && pn > 0) -> skip };
#endif
		ld(OWNER, w); ld(INST, ins);
		if
		:: w != 0 && mb -> ld(OUT(w), r)
		:: else -> r = 0
		fi;
		if
		:: w == 0 || r != 0 ->
			lock();
			if
#ifndef NO_BEAT_GRANT
			:: qh != 0 ->   /* own_release_free */
				claim(qh);
				if
				:: got -> to = qh; qh = 0; atomic { fence(); mem[TOP] = 0 }; grant(to)
				:: else
				fi
#endif
			:: qh == 0 && pn > 0 && (w != 0 || ins != 0) ->  /* own_activate: a parked thread */
				pn--; p = pool[pn]; pool[pn] = 0;
				claim(p);
				if
				:: got -> grant(p)
				:: else -> pool[pn] = p; pn++
				fi
			:: else
			fi;
			unlock()
		:: else
		fi
	od
}

/* The store buffers drain in the background, oldest entry first. */
proctype drainer()
{
	byte j;
end_drain:
	do
	:: atomic { bn[1] > 0 -> drain1(1) }
	:: atomic { bn[2] > 0 -> drain1(2) }
	:: atomic { bn[3] > 0 -> drain1(3) }
	od
}

init
{
	atomic {
		mem[OWNER] = 1; mem[INST] = 1;
		pool[0] = 2; pn = 1;
		run vmthread(1); run vmthread(2); run heartbeat(); run drainer()
	}
}
