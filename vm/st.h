// SPDX-License-Identifier: MIT
/*
 * vm/st.h: the per-VM struct (struct st_vm) and the layouts the C side of
 * the VM shares with the Smalltalk class library: class indices, fixed
 * instance variable offsets, frame layout, process records.
 * All VM state hangs off struct st_vm; there is no mutable global.
 * See Documentation/vm/objects.md and Documentation/vm/interpreter.md.
 */
#ifndef BATON_VM_ST_H
#define BATON_VM_ST_H

#include <stdint.h>
#include <stdio.h>

#include "baton.h"
#include "baton/debug.h"
#include "vm/gc/gc.h"
#include "vm/obj.h"

struct sched_wait;
struct sched_thr;
struct cf_state;
struct vio;

#define st_likely(x) __builtin_expect(!!(x), 1)
#define st_unlikely(x) __builtin_expect(!!(x), 0)
/* --trace is on (vm->tracing). BATON_NO_TRACE compiles the hooks out: the
 * reference build of make bench's trace.off_overhead_pct. */
#ifdef BATON_NO_TRACE
#define ST_TRACING(vm) ((void)(vm), 0)
#else
#define ST_TRACING(vm) st_unlikely((vm)->tracing)
#endif

/*
 * Well-known classes: fixed indices into the class table, so C code can
 * allocate instances without a lookup. A class's metaclass has its own index
 * (every class object is the only instance of its metaclass). Index 0 is
 * never used.
 */
#define ST_CLASSES(X)                                                          \
	X(OBJECT, "Object")                                                    \
	X(MAGNITUDE, "Magnitude")                                              \
	X(NUMBER, "Number")                                                    \
	X(INTEGER, "Integer")                                                  \
	X(COLLECTION, "Collection")                                            \
	X(SEQCOLL, "SequenceableCollection")                                   \
	X(ARRAYED, "ArrayedCollection")                                        \
	X(UNDEFINED, "UndefinedObject")                                        \
	X(BOOLEAN, "Boolean")                                                  \
	X(TRUE, "True")                                                        \
	X(FALSE, "False")                                                      \
	X(SMALLINT, "SmallInteger")                                            \
	X(LARGEPOS, "LargePositiveInteger")                                    \
	X(LARGENEG, "LargeNegativeInteger")                                    \
	X(FLOAT, "FloatD")     /* every float the VM makes (gst's FloatD) */  \
	X(FLOATBASE, "Float")  /* abstract: FloatD, FloatE, FloatQ below it */ \
	X(FLOATE, "FloatE")    /* a double kept rounded to C float */         \
	X(FLOATQ, "FloatQ")    /* gst's long double, held as a double */      \
	X(FRACTION, "Fraction")                                                \
	X(CHARACTER, "Character")                                              \
	X(STRING, "String")                                                    \
	X(SYMBOL, "Symbol")                                                    \
	X(ARRAY, "Array")                                                      \
	X(BYTEARRAY, "ByteArray")                                              \
	X(ASSOCIATION, "Association")                                          \
	X(METHOD, "CompiledMethod")                                            \
	X(BLOCK, "BlockClosure")                                               \
	X(METHODDICT, "MethodDictionary")                                      \
	X(CLASS, "Class")                                                      \
	X(METACLASS, "Metaclass")                                              \
	X(BEHAVIOR, "Behavior")                                                \
	X(PROCESS, "Process")                                                  \
	X(SEMAPHORE, "Semaphore")                                              \
	X(MESSAGE, "Message")                                                  \
	X(SCHEDULER, "ProcessorScheduler")                                     \
	X(SYSDICT, "SystemDictionary")                                         \
	X(TRANSCRIPT, "TextCollector")                                         \
	X(EXTADDR, "ExternalAddress")                                          \
	X(CONTEXT, "ContextPart")                                              \
	X(METHODCTX, "MethodContext")                                          \
	X(BLOCKCTX, "BlockContext")

enum {
	CI_NONE = 0,
#define X(n, s) CI_##n,
	ST_CLASSES(X)
#undef X
	CI_FIXED /* first free index */
};

/* ---- fixed instance variable layouts (st/kernel must agree) ------------ */

/* Behavior, Class, Metaclass. */
enum {
	CLS_SUPER,   /* superclass or nil */
	CLS_MDICT,   /* MethodDictionary */
	CLS_FORMAT,  /* SmallInteger: OBJ_FMT | indexed << 8 | ninstvars << 16 */
	CLS_INDEX,   /* SmallInteger: this class's index in the class table */
	CLS_NAME,    /* Symbol (Class) or nil (Metaclass) */
	CLS_IVARS,   /* Array of Strings: instance variable names, own only */
	CLS_POOL,    /* Array of Associations: class variables (Class) */
	CLS_THIS,    /* Metaclass: its sole instance; Class: category */
	CLS_FIXED    /* class-side instance variables follow */
};
#define CLS_FMT_INDEXED 0x100
/* OBJ_FMT_WORDS classes of a gst shape with narrower elements (bits 9..11):
 * basicAt:put: refuses values outside the range (vm/prim.c). */
#define CLS_FMT_KIND_SHIFT 9
#define CLS_FMT_KIND_MASK (7 << CLS_FMT_KIND_SHIFT)
enum { CLS_KIND_NONE, CLS_KIND_INT, CLS_KIND_UINT, CLS_KIND_SHORT, CLS_KIND_USHORT, CLS_KIND_INT8 };

/* CompiledMethod (also used for the code of a block). */
enum {
	CM_BYTES,    /* ByteArray, old and pinned: ip points into it */
	CM_LITS,     /* Array, old and pinned */
	CM_SELECTOR, /* Symbol */
	CM_CLASS,    /* the class it is installed in */
	CM_HEADER,   /* SmallInteger, see CMH_* */
	CM_OUTER,    /* blocks: the enclosing CompiledMethod; methods: nil */
	CM_FILE,     /* String: source file */
	CM_LINES,    /* ByteArray: pairs (pc u16, line u16), little endian */
	CM_SIZE
};
/* CM_HEADER bit fields. */
#define CMH_NARGS(h) ((h) & 0xff)
#define CMH_NTEMPS(h) (((h) >> 8) & 0xff)   /* temps beyond the args */
#define CMH_PRIM(h) (((h) >> 16) & 0xfff)
#define CMH_ENV(h) (((h) >> 28) & 0xff)     /* slots of the own environment */
#define CMH_STACK(h) (((h) >> 36) & 0xffff) /* max operand stack depth */
#define CMH_BLOCK ((intptr_t)1 << 52)        /* code of a block */
#define CMH_HIDDEN ((intptr_t)1 << 53)       /* left out of stack traces */
#define CMH_DOIT ((intptr_t)1 << 54)         /* executeStatements */
#define CMH_UNIT ((intptr_t)1 << 55)         /* the doit of a unit (vm/filein.c): traces end there */

/* BlockClosure. */
enum { BC_CODE, BC_RECEIVER, BC_OUTER, BC_SIZE };
/* Association (and every binding a method refers to). */
enum { ASSOC_KEY, ASSOC_VALUE, ASSOC_SIZE };
/* Message. */
/* [startingClass]: where the lookup began (a doesNotUnderstand:'s), or nil. */
enum { MSG_SELECTOR, MSG_ARGS, MSG_CLASS, MSG_SIZE };
/* Process: the C record (struct st_proc) is found through [handle].
 * [reportGuard]: Smalltalk's, see Process>>reportGuard:. [exitSemaphore]:
 * nil, or a Semaphore the VM signals for every waiter, and leaves open,
 * when the process ends (Processor waitForAny: on a Process). */
enum { PROC_HANDLE, PROC_PRIORITY, PROC_NAME, PROC_GUARD, PROC_EXIT, PROC_EVALBASE, PROC_SIZE };
/* Semaphore: waiters are linked in C through their handles. */
enum { SEM_SIGNALS, SEM_FIRST, SEM_LAST, SEM_SIZE };
/* Fraction. */
enum { FRAC_NUM, FRAC_DEN, FRAC_SIZE };
/* Character: the code point. */
enum { CHAR_VALUE, CHAR_SIZE };
/* MethodContext, BlockContext (vm/ctx.c): a frame named by its process, its
 * index in that process's stack and the serial stamped into its flags when
 * the context was made; method and receiver are copied, so they outlive the
 * frame. */
enum { CTX_PROCESS, CTX_FRAME, CTX_SERIAL, CTX_METHOD, CTX_RECEIVER, CTX_SIZE };

/*
 * Frames live on the process stack (an array of oops, slot 0 unused). A
 * send leaves the receiver and the arguments on the caller's stack; the
 * callee's frame header follows them, then its temporaries and operand
 * stack. fp points at the header:
 *
 *   fp[-nargs-1]  receiver (a block frame: the BlockClosure)
 *   fp[-nargs..-1] arguments
 *   fp[FH_*]      header
 *   fp[FH_SIZE..] temporaries, then the operand stack up to sp
 *
 * Every slot is an oop (saved ips and fps are SmallIntegers), so the
 * collector scans stacks without knowing frames.
 */
enum {
	FH_METHOD,    /* CompiledMethod */
	FH_RECV,      /* self */
	FH_CALLER_FP, /* SmallInteger: distance in slots down to the caller's fp, 0: none */
	FH_CALLER_IP, /* SmallInteger: the caller's raw ip pointer (bytecode is pinned) */
	FH_CLOSURE,   /* BlockClosure or nil */
	FH_ENV,       /* current environment (captured variables) or nil */
	FH_FLAGS,     /* SmallInteger: nargs | FF_* << 8 | context serial << FH_SERIAL_SHIFT */
	FH_SIZE
};
/* A frame gets a serial (unique in the VM, never 0) only when a context is
 * made for it; a push writes 0 there, so a context of a returned frame no
 * longer matches whatever frame sits at its index now. */
#define FH_SERIAL_SHIFT 16
#define FF_HANDLER 0x1  /* on:do: activation */
#define FF_ENSURE 0x2   /* ensure: activation */
#define FF_CURTAIL 0x4  /* ifCurtailed: activation */
#define FF_DONE 0x8     /* its unwind block has run */
#define FF_DISABLED 0x10 /* handler inactive (its handler block runs) */
#define FF_SIGNAL 0x20  /* Exception>>signal running a handler block */
#define FF_BASE 0x40    /* bottom frame of a process */

/* An environment (Array): slot 0 is the outer environment. */
#define ENV_OUTER 0

/* ---- processes ---------------------------------------------------------- */

enum proc_state {
	PS_NEW,       /* created, never resumed */
	PS_RUNNABLE,  /* in a run queue */
	PS_RUNNING,   /* the active process */
	PS_WAITING,   /* on a semaphore */
	PS_SUSPENDED, /* suspended */
	PS_CALLOUT,   /* its thread is in a blocked callout */
	PS_IOWAIT,    /* waits for a SystemIO request (vm/io/) */
	PS_DEAD
};

struct st_proc {
	oop self;             /* the Process object */
	oop *stack;           /* malloc'd; slot 0 unused */
	size_t cap;           /* slots */
	oop *sp, *fp;         /* saved registers (valid unless running) */
	uint8_t *ip;          /* into pinned bytecodes: stable across GCs */
	int prio;
	enum proc_state state;
	int handle;           /* index in vm->procs */
	struct st_proc *next, *prev; /* run queue links */
	int next_waiter;      /* semaphore wait list: handle, 0: end */
	oop waiting_on;       /* Semaphore or 0 */
	int timed_out;        /* Semaphore>>wait: expired */
	uint64_t timer_at;    /* wait: deadline (ns), 0: none */
	int is_main;          /* the main program */
	int ovf;              /* stack overflow signalled: reserve in use */
	int ending;           /* terminate runs its unwind blocks: never runs again */
	/* Thread affinity: the baton_thread this process must run on (the
	 * main thread for forkOnMainThread, the calling thread for a
	 * callback's process), or NULL: any VM thread. */
	void *bound;
	struct sched_wait *wait_rec; /* a callback's process: its C caller */
	void *cb_inv;         /* a callback's process: its invocation (vm/ffi/ffi.h) */
	char *err;            /* malloc'd text of the last FFI error, or NULL */
	int last_errno;       /* errno after its last FFI call (ExternalFunction lastErrno) */
	oop err_obj;          /* the object that error names, 0: none (a root) */
	int io_req;           /* its SystemIO request (vm/io/): slot + 1, 0: none */
	uint32_t io_tmo;      /* SystemIO timeout: for its next request, ms + 1; 0: none */
	int intr;             /* interrupted (sched_interrupt): signals Interrupted when it runs next */
	uint32_t trace_name;  /* --trace: its name's id (baton_trace_name), 0: not yet */
	oop trace_src;        /* the name object that id was made from (compared only) */
};

/* A pending timer: signal [sem] at [at], or time out [proc]'s wait. */
struct st_timer {
	uint64_t at;
	oop sem;              /* root */
	int proc;             /* handle for Semaphore>>wait: timeouts, else 0 */
};

#define ST_PRIO_MAX 80
#define ST_MCACHE 4096
#define ST_MAX_ROOTS 1024

struct st_mcache {
	uint32_t cls;
	oop sel;
	oop meth;
};

/* Special selectors the interpreter sends by itself. */
#define ST_SPECIAL_SELECTORS(X)                                                \
	X(PLUS, "+", 1) X(MINUS, "-", 1) X(LT, "<", 1) X(GT, ">", 1)          \
	X(LE, "<=", 1) X(GE, ">=", 1) X(EQ, "=", 1) X(NE, "~=", 1)            \
	X(TIMES, "*", 1) X(DIVIDE, "/", 1) X(MOD, "\\\\", 1)                  \
	X(IDIV, "//", 1) X(BITAND, "bitAnd:", 1) X(BITOR, "bitOr:", 1)        \
	X(BITSHIFT, "bitShift:", 1) X(AT, "at:", 1) X(ATPUT, "at:put:", 2)    \
	X(SIZE, "size", 0) X(VALUE, "value", 0) X(VALUE1, "value:", 1)        \
	X(ISNIL, "isNil", 0) X(NOTNIL, "notNil", 0) X(CLASS, "class", 0)      \
	X(IDENT, "==", 1)

enum {
#define X(n, s, a) SS_##n,
	ST_SPECIAL_SELECTORS(X)
#undef X
	SS_COUNT
};

/* Other symbols and objects the C side needs. */
#define ST_SYMBOLS(X)                                                          \
	X(DNU, "doesNotUnderstand:")                                           \
	X(MUSTBEBOOL, "mustBeBoolean")                                         \
	X(CANNOTRETURN, "cannotReturn:")                                       \
	X(UNWIND, "unwindTo:value:")                                           \
	X(PRIMFAILED, "primitiveFailed:")                                      \
	X(OOM, "signalOutOfMemory")                                            \
	X(STACKOVF, "signalStackOverflow")                                     \
	X(RUNFRAME, "runDoit:")                                                \
	X(EXECSTMTS, "executeStatements")                                      \
	X(TERMINATE, "terminate")                                              \
	X(NEW, "new")                                                          \
	X(PRINTSTRING, "printString")                                          \
	X(UNHANDLED, "unhandledErrorIn:")                                      \
	X(INTERRUPT, "signalInterrupt")

enum {
#define X(n, s) SY_##n,
	ST_SYMBOLS(X)
#undef X
	SY_COUNT
};

struct st_vm {
	struct gc_heap gc; /* first: the collector's hot fields */
	oop nil, true_, false_;
	oop smalltalk;     /* the SystemDictionary instance */
	oop processor;     /* the ProcessorScheduler instance */
	oop transcript;
	oop chars[256];    /* Character value: 0..255 */
	oop special_sels[SS_COUNT];
	oop syms[SY_COUNT];

	/* class table: roots */
	oop *classes;
	uint32_t nclasses, classcap;

	/* symbol table: open addressing on the string hash; roots */
	oop *symtab;
	size_t symcap, symcount;

	/* globals: open addressing on the symbol; Associations; roots */
	oop *globals;
	size_t globcap, globcount;

	/* global method cache; flushed at every GC */
	struct st_mcache mcache[ST_MCACHE];

	/* C roots (C locals holding oops across allocations) */
	oop *roots[ST_MAX_ROOTS];
	unsigned nroots;

	/* identity hashes */
	uint32_t hash_seed;

	/* processes */
	struct st_proc **procs; /* by handle; [0] unused */
	int nprocs, proccap;
	int *freeh;             /* handles free for reuse (a stack: fork is O(1));
				 * as many slots as procs */
	int nfree;
	struct st_proc *active; /* running on the owning thread, or NULL */
	struct st_proc *runq[ST_PRIO_MAX + 1], *runq_tail[ST_PRIO_MAX + 1];
	uint64_t runmask[2];
	struct st_proc *main_proc;
	int main_failed;        /* unhandled error in the main program */
	int nlive;              /* processes not dead */
	struct st_timer *timers; /* sorted by [at] */
	int ntimers, timercap;
	int in_callout;         /* processes set aside in blocked callouts */
	uint64_t switches;      /* process switches */
	uint64_t processes_created;

	/* the ownership core */
	baton_vm *core;
	baton_thread *main_thread;
	baton_thread *cur_thread; /* the thread owning the VM now */
	unsigned max_threads;   /* the core's max_threads (thread indices) */
	/* Thread affinity and callbacks (vm/sched.c): runnable processes
	 * bound to a thread; the innermost callback the owning thread waits
	 * for; the thread a bound process wants the VM handed to; per thread
	 * index, what sched.c keeps (struct sched_thr). */
	int nbound_ready;
	struct sched_wait *cur_wait;
	baton_thread *want;
	struct sched_thr *thr;
	int cb_active;          /* callbacks now running, foreign or nested */
	int ended;              /* main() is ending the process (atomic) */
	struct cf_state *ffi;  /* the FFI's tables (vm/ffi/ffi.h), made on first use */
	struct rx_cache *rx;    /* compiled regular expressions (vm/prim_regex.c), made on first use */
	oop final_sem;          /* the finalizer process's Semaphore (vm/final.c), 0: none yet; a root */
	/* main.c's --stats printer, for exits that cannot return to main() */
	void (*print_stats)(struct st_vm *vm);
	uint32_t exc_index;     /* class index of Exception (traces) */
	int64_t ctx_serial;     /* the last frame serial given out (vm/ctx.c) */
	int mcache_used;
	uint32_t oop_serial;    /* the last asOop serial given out (vm/prim_refl.c) */
	int quit;               /* Smalltalk quit: requested */
	int quit_code;
	int regression;         /* baton -r: gst's regression-test output */
	int preempt_equal;      /* Processor preemptEqual: (gst's rule, set by baton -r) */
	struct st_proc *yielded; /* under it: parked by a yield to a lower priority */
	int yield_fresh;        /* the next pick is that yield's own */
	int unit_status;        /* a file run unit by unit: 65 or 1 at the end, 0 */
	struct filein **fileins; /* readers of files run unit by unit (vm/filein.c) */
	int nfileins;

	const char *argv0;
	char **argv_all;         /* main()'s argv, NULL-terminated: a worker re-runs it (vm/io/daemon.c) */
	const char *prog_file;   /* the FILE.st run, or NULL (-e, stdin, REPL) */
	char **args;
	int nargs;
	int stats;
	int tracing;            /* baton --trace: the core records a timeline */
	int switched_to;        /* handle of the last process switch's target (probe proc_switch) */
	uint64_t start_ns;

	/* output buffer shared by Transcript, printNl, displayNl */
	char *out;
	size_t outlen, outcap;
	size_t outoff;          /* bytes of out[] written by a flush in progress */
	int interactive;
	int out_closed;         /* stdout was closed at start-up (fd 1 is /dev/null) */
	int out_errno;          /* first write error on stdout (reported once), 0: none */

	/* SystemIO requests (vm/io/): the table, made on first use; loop
	 * completions still to come (harvest when nonzero); submissions not
	 * yet sent to the kernel; processes in PS_IOWAIT (keep the VM alive) */
	struct vio *vio;
	unsigned io_inflight;
	unsigned io_unflushed;
	int io_waiting;

	/* interpreter counters */
	uint64_t sends, bytecodes;

	/* Hydra (vm/hydra/): this VM as a head, made on first use; its notify
	 * word, which hy_poll() reads (NULL: nobody can kick this VM); what
	 * its error reports start with ("head N: "); how a VM that cannot
	 * return to its runner ends (NULL: _exit, the process ends) */
	struct hydra_vm *hydra;
	_Atomic unsigned *hy_notify;
	const char *err_prefix;
	void (*exit_now)(struct st_vm *vm, int status);
};

/* ---- C roots ------------------------------------------------------------ */

/* Registers a C variable holding an oop for the duration of a block of C
 * code that may allocate: the collector updates it in place. Every ST_ROOT
 * is undone by an ST_UNROOT before the code returns: debug builds check
 * that no ST_UNROOT drops more than was registered, and that a primitive
 * leaves the root stack as deep as it found it (ST_ROOTS_BALANCED). */
#define ST_ROOT(vm, var)                                                       \
	((vm)->nroots < ST_MAX_ROOTS ? (void)((vm)->roots[(vm)->nroots++] = &(var)) \
				     : st_roots_overflow())
#define ST_UNROOT(vm, n)                                                       \
	({                                                                     \
		B_ASSERT((vm)->nroots >= (unsigned)(n),                        \
			 "ST_UNROOT of more roots than ST_ROOT registered");   \
		(vm)->nroots -= (n);                                           \
	})
#define ST_ROOTS_BALANCED(vm, depth, what)                                     \
	B_ASSERT((vm)->nroots == (depth), what " left ST_ROOT and ST_UNROOT unbalanced")

/* ---- helpers shared by the VM's modules --------------------------------- */

static inline oop st_class_of(struct st_vm *vm, oop o)
{
	return obj_is_int(o) ? vm->classes[CI_SMALLINT] : vm->classes[obj_cls(o)];
}
static inline uint32_t st_cls_index(oop o)
{
	return obj_is_int(o) ? CI_SMALLINT : obj_cls(o);
}
static inline oop st_bool(struct st_vm *vm, int b) { return b ? vm->true_ : vm->false_; }
static inline oop st_slot(oop o, size_t i) { return obj_body(o)[i]; }
static inline void st_put(struct st_vm *vm, oop o, size_t i, oop v)
{
	gc_store(&vm->gc, o, i, v);
}

/* vm/boot.c */
void st_roots_overflow(void) __attribute__((noreturn));
struct st_vm *st_new(void);
int st_boot(struct st_vm *vm);
void st_free(struct st_vm *vm);
oop st_alloc(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd);
oop st_alloc_old(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd,
		 unsigned flags);
oop st_new_array(struct st_vm *vm, size_t n);
oop st_new_string(struct st_vm *vm, const char *s, size_t n);
oop st_new_bytes(struct st_vm *vm, uint32_t cls, size_t n);
oop st_new_float(struct st_vm *vm, double d);
oop st_new_assoc(struct st_vm *vm, oop k, oop v);
oop st_symbol(struct st_vm *vm, const char *s, size_t n);
oop st_symbol_c(struct st_vm *vm, const char *s);
oop st_lookup_symbol(struct st_vm *vm, const char *s, size_t n);
oop st_global_binding(struct st_vm *vm, oop sym, int create);
oop st_global(struct st_vm *vm, const char *name);
void st_set_global(struct st_vm *vm, oop sym, oop val);
uint32_t st_hash(struct st_vm *vm, oop o);
oop st_char(struct st_vm *vm, uint32_t cp);
int st_is_kind_of(struct st_vm *vm, oop o, uint32_t ci);
oop st_class_named(struct st_vm *vm, const char *name);
uint32_t st_class_index(oop cls);
oop st_new_class(struct st_vm *vm, oop super, oop name, unsigned fmt, int indexed,
		 int ninst, uint32_t want_index);
oop st_lookup(struct st_vm *vm, oop cls, oop sel);
oop st_resize_class(struct st_vm *vm, oop cls);
void st_install(struct st_vm *vm, oop cls, oop sel, oop meth);
/* Installs a class declaration record (the DECL bytecode; vm/comp.c makes them). */
void st_install_decl(struct st_vm *vm, oop rec);
void st_flush_cache(struct st_vm *vm);
int st_instsize(oop cls);
int st_string_eq(oop s, const char *c);
char *st_cstring(oop s); /* malloc'd copy of a String/Symbol */
void rx_free(struct st_vm *vm); /* vm/prim_regex.c: the regex cache */

/* vm/roots.c: the heap's roots callback (gc_roots_fn); [owner] is the VM.
 * Set up a VM's heap with gc_init(&vm->gc, sizes, vm_roots, vm). */
void vm_roots(void *owner, gc_visit_fn visit, void *ud);

/* vm/out.c: the stdout buffer */
void st_out(struct st_vm *vm, const char *s, size_t n);
void st_out_flush(struct st_vm *vm);
/* From a fatal signal's handler: writes what is buffered (write(2) only). */
void st_out_flush_signal(struct st_vm *vm);
/* The exit status: [code], or EX_IOERR (74) after a write error on stdout. */
int st_out_status(struct st_vm *vm, int code);
void st_err(struct st_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* BATON_VM_ST_H */
