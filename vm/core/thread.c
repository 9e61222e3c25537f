// SPDX-License-Identifier: MIT
/*
 * vm/core/thread.c: the VM's thread table and the threads the core creates.
 *
 * Every VM thread (main, created, foreign) has a slot with a small index,
 * stable for the thread's life; the ownership word holds that index. Slots
 * of detached foreign threads are reused; their memory lives until the VM
 * is freed, so a late futex wake never touches freed memory.
 * See Documentation/core/protocol.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/probes.h"
#include "vm/core/core.h"

static baton_thread *claim_locked(baton_vm *vm, int foreign)
{
	for (unsigned i = 1; i <= vm->max; i++) {
		baton_thread *t = vm->table[i];
		if (t && t->where != T_FREE)
			continue;
		if (!t) {
			t = aligned_alloc(64, (sizeof *t + 63) & ~(size_t)63);
			if (!t)
				return NULL;
			memset(t, 0, sizeof *t);
			t->hot.index = i;
			t->vm = vm;
			vm->table[i] = t;
		}
		t->where = T_OWNING;
		t->foreign = foreign;
		t->created = 0;
		t->data = NULL;
		t->next = NULL;
		atomic_store(&t->wake, WAKE_NONE);
		atomic_store(&t->hot.out, 0);
		atomic_store(&t->hot.taken, 0);
		atomic_store(&t->hot.defer, 0);
		unsigned n = atomic_fetch_add(&vm->nthreads, 1) + 1;
		if (n > atomic_load(&vm->peak))
			atomic_store(&vm->peak, n);
		return t;
	}
	return NULL;
}

baton_thread *thr_alloc(baton_vm *vm, int foreign)
{
	pthread_mutex_lock(&vm->lock);
	baton_thread *t = claim_locked(vm, foreign);
	pthread_mutex_unlock(&vm->lock);
	return t;
}

void thr_free_locked(baton_vm *vm, baton_thread *t)
{
	t->where = T_FREE;
	atomic_fetch_sub(&vm->nthreads, 1);
}

void thr_free(baton_vm *vm, baton_thread *t)
{
	pthread_mutex_lock(&vm->lock);
	thr_free_locked(vm, t);
	pthread_mutex_unlock(&vm->lock);
}

/* A slot for a thread the core is about to create, or NULL at the
 * maximum (counted, and said once: the VM goes on with what it has). */
baton_thread *thr_spawn_locked(baton_vm *vm)
{
	baton_thread *t = NULL;
	if (atomic_load(&vm->nthreads) < vm->max)
		t = claim_locked(vm, 0);
	if (!t) {
		count(vm, max_hits);
		core_warn_once(vm, &vm->warned_max,
			       "baton: %u VM threads (the maximum) are busy; "
			       "blocked callouts now wait for one to return\n",
			       vm->max);
		return NULL;
	}
	t->created = 1;
	return t;
}

static void *thread_main(void *arg)
{
	baton_thread *t = arg;
	baton_vm *vm = t->vm;
	char name[16];
	snprintf(name, sizeof name, "baton-vm%u", t->hot.index);
	pthread_setname_np(pthread_self(), name);
	t->tid = kif_gettid();
	own_takeover(vm, t, 0);
	if (vm->hooks.run)
		vm->hooks.run(vm, t, vm->ud);
	else
		while (baton_idle(vm, t) == BATON_RUN)
			;
	return NULL;
}

/* The ownership word already names [t]. Start it; if that fails, give
 * the word back on its behalf (it never ran), forget it and answer -1. */
int thr_start(baton_vm *vm, baton_thread *t)
{
	int err = vm->before_spawn ? vm->before_spawn(vm->spawn_ud) : 0;
	if (!err)
		err = pthread_create(&t->pth, NULL, thread_main, t);
	if (!err) {
		count(vm, creations);
		KIF_PROBE1(create, t->hot.index);
		TRACE_EV(vm, NULL, TR_CREATE, t->hot.index);
		return 0;
	}
	count(vm, creation_failures);
	core_warn_once(vm, &vm->warned_spawn,
		       "baton: cannot create a VM thread (%s); going on with %u\n",
		       strerror(err > 0 ? err : EAGAIN), atomic_load(&vm->nthreads) - 1);
	atomic_store(&vm->hot.owner, 0);
	thr_free(vm, t);
	if (atomic_load(&vm->top_prio) >= 0)
		own_release_free(vm);
	return -1;
}

/* At VM exit: wake every parked thread with WAKE_QUIT and join those the
 * core created. The caller (main) owns the VM; nothing is in a callout. */
void thr_join_all(baton_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	for (baton_thread *t = vm->parked; t; t = t->next) {
		atomic_store(&t->wake, WAKE_QUIT);
		own_wake_granted(t);
	}
	vm->parked = NULL;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 1; i <= vm->max; i++) {
		baton_thread *t = vm->table[i];
		if (t && t->created && t->where != T_FREE)
			pthread_join(t->pth, NULL);
	}
}
