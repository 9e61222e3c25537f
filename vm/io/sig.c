// SPDX-License-Identifier: MIT
/*
 * vm/io/sig.c: Smalltalk's signal handlers (Smalltalk onSignal:do:, kill:
 * signal:, pid). Owns the VM's signal watch: which of SIGTERM, SIGINT,
 * SIGHUP, SIGUSR1, SIGUSR2 have a handler block, the descriptor the
 * signals arrive on, and the poll request on the VM's event loop that
 * wakes the VM when one does. Each signal read starts a new process that
 * runs its handler block.
 *
 * With io_uring the descriptor is a signalfd: a handled signal is blocked
 * in every thread of the process, so it stays pending for the signalfd.
 * The thread that installs the handler blocks it at once; every other
 * thread (VM threads, the FFI's, the heartbeat's, which blocks everything
 * anyway) blocks it the first time the signal lands on it: the kernel
 * runs block_and_resend() there, which adds the signal to the mask that
 * thread returns to and sends it to the process again. With the epoll
 * fallback (BATON_URING=0) it is the self-pipe trick: the handler writes
 * the signal number to a pipe, nothing is blocked. Removing the last
 * handler of a signal restores the disposition found before (main.c's
 * flush-and-die, or the default) and unblocks it in the calling thread,
 * which then takes the signal (the other threads may keep it blocked).
 * See Documentation/vm/signals.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <ucontext.h>
#include <unistd.h>

#include "vm/final.h"
#include "vm/io/io_int.h"

static const struct {
	const char *name;
	int sig;
} handled[] = {
	{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}, {"SIGHUP", SIGHUP},
	{"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
};
#define NHANDLED ((int)(sizeof handled / sizeof handled[0]))

/* kill:signal: knows more names than onSignal:do: handles */
static const struct {
	const char *name;
	int sig;
} known[] = {
	{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},   {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1},
	{"SIGUSR2", SIGUSR2}, {"SIGKILL", SIGKILL}, {"SIGQUIT", SIGQUIT}, {"SIGCONT", SIGCONT},
	{"SIGSTOP", SIGSTOP}, {"SIGCHLD", SIGCHLD}, {"SIGALRM", SIGALRM}, {"SIGPIPE", SIGPIPE},
	{"SIGABRT", SIGABRT}, {"SIGWINCH", SIGWINCH},
};

struct vsig {
	int fd;           /* signalfd, or the self-pipe's read end; -1: none yet */
	int wfd;          /* the self-pipe's write end, -1 */
	int pipe_mode;    /* the epoll fallback: self-pipe */
	int req;          /* the poll on [fd] (slot + 1), 0: none */
	int failed;       /* the watch failed (reported once) */
	int cint;         /* the REPL runs a statement: SIGINT interrupts it (no block needed) */
	uint8_t on[NHANDLED]; /* our sigaction is installed */
	sigset_t set;     /* the signals with a handler */
	oop blocks[NHANDLED]; /* handler blocks (roots), 0: none */
	int prio[NHANDLED];
	struct sigaction old[NHANDLED]; /* what was there before the handler */
	uint64_t received;
};

/*
 * The self-pipe's write end per signal number, + 1 (0: none). Signal
 * dispositions belong to the process, not to a VM, and a handler has no
 * argument to find a VM by: this table is the one place that knows. With
 * several VMs in a process the last to install a handler gets the signal.
 */
static int self_pipe[65];

static void write_to_pipe(int sig)
{
	int e = errno;
	int fd = __atomic_load_n(&self_pipe[sig], __ATOMIC_RELAXED) - 1;
	if (fd >= 0) {
		unsigned char b = (unsigned char)sig;
		(void)!write(fd, &b, 1);
	}
	errno = e;
}

/* The signalfd way: this thread blocks [sig] from now on (the mask the
 * kernel restores when the handler returns), and the signal goes back to
 * the process, for a thread that blocks it already: when all do, it waits
 * for the signalfd. */
static void block_and_resend(int sig, siginfo_t *si, void *ucv)
{
	(void)si;
	int e = errno;
	ucontext_t *uc = ucv;
	sigaddset(&uc->uc_sigmask, sig);
	kill(getpid(), sig);
	errno = e;
}

static int idx_of(int sig)
{
	for (int i = 0; i < NHANDLED; i++)
		if (handled[i].sig == sig)
			return i;
	return -1;
}

/* The signal number a Symbol or String names (in [tab]), or 0. */
static int sig_named(oop o, int only_handled)
{
	if (!prim_is_bytes(o))
		return 0;
	size_t n = obj_byte_size(o);
	const char *s = (const char *)obj_bytes(o);
	size_t nk = only_handled ? (size_t)NHANDLED : sizeof known / sizeof known[0];
	for (size_t i = 0; i < nk; i++) {
		const char *name = only_handled ? handled[i].name : known[i].name;
		if (strlen(name) == n && !memcmp(name, s, n))
			return only_handled ? handled[i].sig : known[i].sig;
	}
	return 0;
}

static struct vsig *vsig_get(struct st_vm *vm)
{
	struct vio *v = vio_get(vm);
	if (!v)
		return NULL;
	if (!v->sig) {
		if (baton_io_open(vm->core) < 0) /* the backend decides the way */
			return NULL;
		struct vsig *s = calloc(1, sizeof *s);
		if (!s)
			return NULL;
		s->fd = s->wfd = -1;
		sigemptyset(&s->set);
		s->pipe_mode = strcmp(baton_io_backend(vm->core), "uring") != 0;
		v->sig = s;
	}
	return v->sig;
}

/* Opens the descriptor the signals arrive on: 0 or -errno. */
static int open_fd(struct vsig *s)
{
	if (s->fd >= 0)
		return 0;
	if (s->pipe_mode) {
		int p[2];
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			return -errno;
		s->fd = p[0];
		s->wfd = p[1];
		return 0;
	}
	sigset_t none;
	sigemptyset(&none);
	s->fd = signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->fd < 0 ? -errno : 0;
}

/* Ctrl-C in the REPL: the statement's process is interrupted; when it has
 * ended but processes it forked still run, they all are (the REPL gets
 * its prompt back when none is left). */
static void interrupt_statement(struct st_vm *vm)
{
	if (vm->main_proc) {
		sched_interrupt(vm, vm->main_proc);
		return;
	}
	for (int h = 1; h < vm->nprocs; h++) {
		struct st_proc *p = vm->procs[h];
		if (p && !final_is_finalizer(vm, p))
			sched_interrupt(vm, p);
	}
}

/* Starts a new process running [sig]'s handler block (nothing if it was
 * removed meanwhile), or interrupts the REPL's statement. */
static void run_handler(struct st_vm *vm, struct vsig *s, int sig)
{
	int i = idx_of(sig);
	s->received++;
	if (i < 0)
		return;
	if (!s->blocks[i]) {
		if (sig == SIGINT && s->cint)
			interrupt_statement(vm);
		return;
	}
	struct st_proc *p = sched_new_proc(vm, s->blocks[i], 0, s->prio[i]);
	if (!p) {
		fprintf(stderr, "baton: no memory for the %s handler's process\n", handled[i].name);
		return;
	}
	sched_ready(vm, p, 0);
}

/* Reads what arrived and runs the handlers. May allocate. */
static void drain(struct st_vm *vm, struct vsig *s)
{
	if (s->fd < 0)
		return;
	for (;;) {
		if (s->pipe_mode) {
			unsigned char b[64];
			ssize_t n = read(s->fd, b, sizeof b);
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return;
			for (ssize_t k = 0; k < n; k++)
				run_handler(vm, s, b[k]);
		} else {
			struct signalfd_siginfo si[8];
			ssize_t n = read(s->fd, si, sizeof si);
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return;
			for (ssize_t k = 0; k < n / (ssize_t)sizeof si[0]; k++)
				run_handler(vm, s, (int)si[k].ssi_signo);
		}
	}
}

static int armed(struct vsig *s)
{
	for (int i = 0; i < NHANDLED; i++)
		if (s->on[i])
			return 1;
	return 0;
}

/* The poll on the signal descriptor, unless there is one: 0 or -errno. */
static int watch(struct st_vm *vm, struct vsig *s)
{
	if (s->req)
		return 0;
	struct vreq *r = vio_new(vm, VR_SIG, s->fd);
	if (!r)
		return -ENOMEM;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), s->fd, POLLIN);
	if (vio_queued(vm, r, e) < 0) {
		vio_drop(vm, r);
		return e;
	}
	s->req = vio_slot(vm, r) + 1;
	return 0;
}

void vio_sig_done(struct st_vm *vm, struct vreq *r, int32_t res)
{
	struct vsig *s = vm->vio->sig;
	if (!s || s->req != vio_slot(vm, r) + 1) {
		vio_settle(vm, r);
		return;
	}
	s->req = 0;
	vio_settle(vm, r);
	if (res >= 0)
		drain(vm, s);
	if (!armed(s))
		return;
	/* ECANCELED: the thread that submitted it ended; poll again */
	int e = res >= 0 || res == -ECANCELED || res == -EINTR ? watch(vm, s) : res;
	if (e < 0 && !s->failed) {
		s->failed = 1;
		fprintf(stderr, "baton: signal handlers stop working: %s\n", strerror(-e));
	}
}

static int set_mask(struct vsig *s)
{
	if (s->pipe_mode)
		return 0;
	return signalfd(s->fd, &s->set, SFD_NONBLOCK | SFD_CLOEXEC) < 0 ? -errno : 0;
}

/* Takes the signal of [i] from the process's disposition: 0 or -errno. */
static int take(struct st_vm *vm, struct vsig *s, int i)
{
	int sig = handled[i].sig, e = open_fd(s);
	if (e < 0)
		return e;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaddset(&s->set, sig);
	if (s->pipe_mode) {
		__atomic_store_n(&self_pipe[sig], s->wfd + 1, __ATOMIC_RELAXED);
		sa.sa_handler = write_to_pipe;
	} else {
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		if ((e = set_mask(s)) < 0) {
			sigdelset(&s->set, sig);
			return e;
		}
		pthread_sigmask(SIG_BLOCK, &one, NULL);
		sa.sa_sigaction = block_and_resend;
		sa.sa_flags |= SA_SIGINFO;
	}
	sigaction(sig, &sa, &s->old[i]);
	s->on[i] = 1;
	return watch(vm, s);
}

/* Gives the signal of [i] back: what came before still runs its handler,
 * then the disposition found by take() is back. */
static void give_back(struct st_vm *vm, struct vsig *s, int i)
{
	int sig = handled[i].sig;
	drain(vm, s);
	s->on[i] = 0;
	sigaction(sig, &s->old[i], NULL);
	sigdelset(&s->set, sig);
	if (s->pipe_mode) {
		__atomic_store_n(&self_pipe[sig], 0, __ATOMIC_RELAXED);
	} else {
		set_mask(s);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	if (!armed(s) && s->req) {
		baton_io_cancel(vm->core, vio_tag(vm, &vm->vio->r[s->req - 1]));
		vm->io_unflushed = 1;
	}
}

/* Takes or gives back the signal of [i] as its handlers want. */
static int sync_sig(struct st_vm *vm, struct vsig *s, int i)
{
	int want = s->blocks[i] || (handled[i].sig == SIGINT && s->cint);
	if (want && !s->on[i])
		return take(vm, s, i);
	if (!want && s->on[i])
		give_back(vm, s, i);
	return 0;
}

/* Smalltalk primSignal: name handler: aBlockOrNil priority: p -> 0, or
 * -errno; fails for an unknown name, a block with arguments, a bad
 * priority. */
PRIM(sigHandle)
{
	int sig = sig_named(args[1], 1);
	oop b = args[2];
	intptr_t prio;
	if (!sig || !int_arg(args[3], 1, ST_PRIO_MAX, &prio))
		return PRIM_FAIL;
	if (vm->exit_now) {
		/* a head of Hydra: the process's signals go to its first VM */
		args[0] = obj_from_int(-EPERM);
		return PRIM_OK;
	}
	if (b != vm->nil && (!obj_is_ptr(b) || obj_cls(b) != CI_BLOCK ||
			     CMH_NARGS(obj_int(obj_body(obj_body(b)[BC_CODE])[CM_HEADER])) != 0))
		return PRIM_FAIL;
	struct vsig *s = vsig_get(vm);
	if (!s)
		return PRIM_OOM;
	int i = idx_of(sig);
	if (b == vm->nil) {
		if (s->blocks[i])
			drain(vm, s); /* what came before the removal has its handler */
		s->blocks[i] = 0;
	} else {
		s->blocks[i] = b;
		s->prio[i] = (int)prio;
	}
	int e = sync_sig(vm, s, i);
	if (e < 0 && b != vm->nil) {
		s->blocks[i] = 0;
		sync_sig(vm, s, i);
	}
	return answer(args, e);
}

/* Smalltalk primKill: pid signal: nameOrNumber -> 0 or -errno */
PRIM(sigKill)
{
	(void)vm;
	intptr_t pid, num = -1;
	if (!int_arg(args[1], -0x7fffffff, 0x7fffffff, &pid))
		return PRIM_FAIL;
	int sig = sig_named(args[2], 0);
	if (!sig && !int_arg(args[2], 0, 64, &num))
		return PRIM_FAIL;
	if (!sig)
		sig = (int)num;
	return answer(args, kill((pid_t)pid, sig) < 0 ? -errno : 0);
}

/* Process>>interrupt */
PRIM(procInterrupt)
{
	struct st_proc *p = sched_proc_of(vm, args[0]);
	if (p)
		sched_interrupt(vm, p);
	return PRIM_OK;
}

PRIM(sigPid) { (void)vm; return answer(args, getpid()); }

/* Smalltalk primSignalNames: the names onSignal:do: takes */
PRIM(sigNames)
{
	oop a = st_new_array(vm, NHANDLED);
	if (!a)
		return PRIM_OOM;
	ST_ROOT(vm, a);
	for (int i = 0; i < NHANDLED; i++) {
		oop y = st_symbol_c(vm, handled[i].name);
		if (!y) {
			ST_UNROOT(vm, 1);
			return PRIM_OOM;
		}
		st_put(vm, a, (size_t)i, y);
	}
	ST_UNROOT(vm, 1);
	args[0] = a;
	return PRIM_OK;
}

int vio_sig_keeps_alive(struct st_vm *vm)
{
	struct vsig *s = vm->vio ? vm->vio->sig : NULL;
	int any = 0;
	for (int i = 0; s && i < NHANDLED; i++)
		any |= s->blocks[i] != 0;
	return any && !s->failed && sched_count_waiting(vm) > 0;
}

void vio_sig_repl(struct st_vm *vm, int on)
{
	struct vsig *s = vsig_get(vm);
	if (!s || !vm->core)
		return;
	s->cint = on;
	if (sync_sig(vm, s, idx_of(SIGINT)) < 0) {
		s->cint = 0;
		sync_sig(vm, s, idx_of(SIGINT));
	}
}

void vio_sig_child_reset(void)
{
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < NHANDLED; i++) {
		sigaddset(&set, handled[i].sig);
		signal(handled[i].sig, SIG_DFL);
	}
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void vio_sig_roots(struct st_vm *vm, gc_visit_fn visit, void *ud)
{
	struct vsig *s = vm->vio ? vm->vio->sig : NULL;
	if (!s)
		return;
	for (int i = 0; i < NHANDLED; i++)
		if (s->blocks[i])
			visit(&s->blocks[i], ud);
}

void vio_sig_free(struct st_vm *vm)
{
	struct vsig *s = vm->vio ? vm->vio->sig : NULL;
	if (!s)
		return;
	for (int i = 0; i < NHANDLED; i++)
		if (s->on[i]) {
			int sig = handled[i].sig;
			sigaction(sig, &s->old[i], NULL);
			if (s->pipe_mode)
				__atomic_store_n(&self_pipe[sig], 0, __ATOMIC_RELAXED);
		}
	if (s->fd >= 0)
		close(s->fd);
	if (s->wfd >= 0)
		close(s->wfd);
	free(s);
	vm->vio->sig = NULL;
}

void vio_sig_stats(struct st_vm *vm, FILE *f)
{
	struct vsig *s = vm->vio ? vm->vio->sig : NULL;
	fprintf(f, "  io.signals          %llu\n", (unsigned long long)(s ? s->received : 0));
}
