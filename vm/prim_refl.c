// SPDX-License-Identifier: MIT
/*
 * vm/prim_refl.c: the primitives of GNU Smalltalk's reflection protocol
 * (st/kernel/57-GstReflect.st): reshaping a live class (its own instance
 * variables replaced; the instances of it and of its subclasses migrated,
 * the instance-variable operands of their methods renumbered), class
 * definition messages with a shape, asOop, becomeForward:, and the
 * Semaphore a process waits on.
 * See Documentation/language.md ("GNU Smalltalk compatibility").
 */
#include <stdlib.h>
#include <string.h>

#include "vm/bytecode.h"
#include "vm/comp.h"
#include "vm/prim.h"
#include "vm/refl.h"
#include "vm/sched.h"

static int is_stringish(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_STRING || obj_cls(o) == CI_SYMBOL);
}

/* ---- asOop, becomeForward:, the Semaphore of a process ---------------------- */

/*
 * Object>>asOop: the identity hash, which an object keeps for life. An
 * object that has none yet gets one above the range st_hash() gives out,
 * from a counter: those are unique among themselves.
 */
PRIM(reflAsOop)
{
	oop o = args[0];
	if (obj_is_int(o))
		return PRIM_OK;
	struct obj_header *h = obj_hdr(o);
	if (!h->hash) {
		vm->oop_serial++;
		h->hash = 0x40000000u | (vm->oop_serial & 0x3fffffffu);
	}
	args[0] = obj_from_int((intptr_t)h->hash);
	return PRIM_OK;
}

/* Object>>becomeForward: other. Classes and the constants are refused.
 * Answers the receiver as it was (gst prints it: objects.st). */
PRIM(reflBecomeForward)
{
	oop from = args[0], to = args[1];
	if (obj_is_int(from) || from == vm->nil || from == vm->true_ || from == vm->false_ ||
	    prim_is_class(vm, from) || from == to)
		return from == to ? PRIM_OK : PRIM_FAIL;
	/* gc_become_forward wants an old target: tenure a young one */
	if (obj_is_ptr(to) && gc_is_young(&vm->gc, to)) {
		ST_ROOT(vm, from);
		oop t = gc_pin(&vm->gc, &args[1]);
		ST_UNROOT(vm, 1);
		if (!t)
			return PRIM_OOM;
		gc_unpin(&vm->gc, t);
		to = t;
		from = args[0];
	}
	gc_become_forward(&vm->gc, from, to);
	st_flush_cache(vm);
	args[0] = from; /* as gst: the old object, which nothing else refers to now */
	return PRIM_OK;
}

/* An old copy of young [*ref] (gc_pin tenures it), unpinned again; 0 when
 * out of memory. *ref is updated. */
static oop tenured(struct st_vm *vm, oop *ref)
{
	if (!obj_is_ptr(*ref) || !gc_is_young(&vm->gc, *ref))
		return *ref;
	int was = obj_is_pinned(*ref);
	oop t = gc_pin(&vm->gc, ref);
	if (t && !was)
		gc_unpin(&vm->gc, t);
	return t;
}

/* Object>>become: other: every reference to the receiver now refers to
 * other and the other way round (three one-way forwards through a
 * placeholder). The same objects as becomeForward: are refused, on both
 * sides. */
PRIM(reflBecome)
{
	for (int i = 0; i < 2; i++) {
		oop o = args[i];
		if (obj_is_int(o) || o == vm->nil || o == vm->true_ || o == vm->false_ ||
		    prim_is_class(vm, o))
			return PRIM_FAIL;
	}
	if (args[0] == args[1])
		return PRIM_OK;
	if (!tenured(vm, &args[0]) || !tenured(vm, &args[1]))
		return PRIM_OOM;
	oop x = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, 0, 0, 0);
	if (!x)
		return PRIM_OOM;
	oop a = args[0], b = args[1];
	gc_become_forward(&vm->gc, a, x); /* args[0] is x now, args[1] still b */
	gc_become_forward(&vm->gc, b, a);
	gc_become_forward(&vm->gc, x, b);
	st_flush_cache(vm);
	return PRIM_OK; /* answers the receiver, which is now the other */
}

/* Process>>primWaitingOn: the Semaphore the receiver waits on, or nil. */
PRIM(reflWaitingOn)
{
	struct st_proc *p = sched_proc_of(vm, args[0]);
	args[0] = p && p->state == PS_WAITING && p->waiting_on ? p->waiting_on : vm->nil;
	return PRIM_OK;
}

/* Process>>primResumeWaiting: a process waiting on a Semaphore leaves it and
 * becomes runnable (gst's resume); its wait returns. Answers whether it
 * waited. */
PRIM(reflResumeWaiting)
{
	struct st_proc *p = sched_proc_of(vm, args[0]);
	if (!p || p->state != PS_WAITING || p->ending) {
		args[0] = vm->false_;
		return PRIM_OK;
	}
	sched_unwait(vm, p);
	sched_ready(vm, p, 0);
	args[0] = vm->true_;
	return sched_preempts(vm, p) ? PRIM_SWITCH : PRIM_OK;
}

/* ---- class definition with a shape ----------------------------------------- */

/*
 * Behavior>>primSubclass: #Name instanceVariableNames: 'a b'
 * classVariableNames: 'C' shape: #byte (or nil: the superclass's). The
 * class is made by compiling a class item, as Behavior>>primSubclass:...
 * does (vm/prim.c).
 */
PRIM(reflMakeClass)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL ||
	    !is_stringish(args[2]) || !is_stringish(args[3]) ||
	    (args[4] != vm->nil && !is_stringish(args[4])))
		return PRIM_FAIL;
	char *name = st_cstring(args[1]), *iv = st_cstring(args[2]), *cv = st_cstring(args[3]);
	char *shape = args[4] != vm->nil ? st_cstring(args[4]) : NULL;
	char *sn = st_cstring(st_slot(args[0], CLS_NAME));
	size_t n = strlen(name) + 3 * strlen(iv) + 3 * strlen(cv) + strlen(sn) +
		   (shape ? strlen(shape) : 0) + 200;
	char *src = malloc(n);
	oop cls = 0;
	if (name && iv && cv && sn && src) {
		int k = snprintf(src, n, "%s subclass: %s [ ", sn, name);
		if (shape)
			k += snprintf(src + k, n - (size_t)k, "<shape: #%s> ", shape);
		k += snprintf(src + k, n - (size_t)k, "| %s | ", iv);
		char *save = NULL;
		for (char *t = strtok_r(cv, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save))
			k += snprintf(src + k, n - (size_t)k, "%s := nil. ", t);
		snprintf(src + k, n - (size_t)k, "]");
		char err[300];
		oop m = comp_file(vm, "(subclass:)", src, strlen(src), COMP_IMMEDIATE, err,
				  sizeof err);
		cls = m ? st_global(vm, name) : 0;
	}
	free(name);
	free(iv);
	free(cv);
	free(shape);
	free(sn);
	free(src);
	if (!cls || !prim_is_class(vm, cls))
		return PRIM_FAIL;
	args[0] = cls;
	return PRIM_OK;
}

/* ---- reshaping a live class ------------------------------------------------ */

/* [c] is [a] or inherits from it. */
static int is_under(struct st_vm *vm, oop c, oop a)
{
	for (; c && c != vm->nil; c = st_slot(c, CLS_SUPER))
		if (c == a)
			return 1;
	return 0;
}

static int same_name(oop a, oop b)
{
	return obj_byte_size(a) == obj_byte_size(b) &&
	       !memcmp(obj_bytes(a), obj_bytes(b), obj_byte_size(a));
}

/* The instance variables of [x], root class first, as (defining class,
 * name) pairs; [cls]'s own are [own] instead of its CLS_IVARS. */
struct layout {
	oop *def, *name;
	int n;
};

static int layout_of(struct st_vm *vm, oop x, oop cls, oop own, oop super, struct layout *l)
{
	oop chain[256];
	int depth = 0;
	for (oop c = x; c != vm->nil && depth < 256;) {
		chain[depth++] = c;
		c = c == cls ? super : st_slot(c, CLS_SUPER);
	}
	int total = 0;
	for (int i = 0; i < depth; i++) {
		oop iv = chain[i] == cls ? own : st_slot(chain[i], CLS_IVARS);
		total += iv == vm->nil ? 0 : (int)obj_slots(iv);
	}
	l->def = malloc(sizeof(oop) * (size_t)(total + 1));
	l->name = malloc(sizeof(oop) * (size_t)(total + 1));
	l->n = 0;
	if (!l->def || !l->name)
		return 0;
	for (int i = depth - 1; i >= 0; i--) {
		oop iv = chain[i] == cls ? own : st_slot(chain[i], CLS_IVARS);
		for (size_t j = 0; iv != vm->nil && j < obj_slots(iv); j++) {
			l->def[l->n] = chain[i];
			l->name[l->n++] = obj_body(iv)[j];
		}
	}
	return 1;
}

/* Per affected class: its old and new layouts and the map between them. */
struct reshaped {
	oop cls;
	uint32_t index;
	int nold, nnew;
	int *old_to_new; /* -1: removed */
	int *new_to_old; /* -1: added */
	int *code_map;   /* for methods: old_to_new, or for a removed variable
			  * the new one of the same name, as a recompilation
			  * would bind it; -1: none */
};

struct rs_census {
	struct st_vm *vm;
	uint8_t *affected; /* by class index */
	uint32_t nclasses;
	size_t n;
	oop arr; /* 0: count only */
};

static void rs_visit(oop o, void *ud)
{
	struct rs_census *k = ud;
	uint32_t ci = obj_cls(o);
	if (ci < k->nclasses && k->affected[ci] && !(obj_hdr(o)->flags & OBJ_F_FWD)) {
		if (k->arr && k->n < obj_slots(k->arr))
			st_put(k->vm, k->arr, k->n, o);
		k->n++;
	}
}

/* Renumbers the instance-variable operands of method [m] and of the blocks
 * in it; answers 0 if it uses a variable that no longer exists. */
static int renumber(struct st_vm *vm, oop m, const struct reshaped *r, int apply)
{
	int ok = 1;
	oop bytes = st_slot(m, CM_BYTES);
	if (obj_is_ptr(bytes) && obj_fmt(bytes) == OBJ_FMT_BYTES) {
		uint8_t *b = obj_bytes(bytes);
		size_t len = obj_byte_size(bytes);
		for (size_t pc = 0; pc < len;) {
			int op = b[pc];
			if (op >= OP_COUNT || !op_len[op])
				break;
			if ((op == OP_PUSH_IVAR || op == OP_STORE_IVAR || op == OP_POP_IVAR ||
			     op == OP_RET_IVAR) &&
			    pc + 1 < len) {
				int i = b[pc + 1];
				int j = i < r->nold ? r->code_map[i] : i;
				if (j < 0 || j > 255)
					ok = 0;
				else if (apply)
					b[pc + 1] = (uint8_t)j;
			}
			pc += op_len[op];
		}
	}
	oop lits = st_slot(m, CM_LITS);
	for (size_t i = 0; obj_is_ptr(lits) && obj_has_ptrs(lits) && i < obj_slots(lits); i++) {
		oop l = obj_body(lits)[i];
		if (obj_is_ptr(l) && obj_cls(l) == CI_METHOD &&
		    (obj_int(st_slot(l, CM_HEADER)) & CMH_BLOCK))
			ok &= renumber(vm, l, r, apply);
	}
	return ok;
}

/* The methods of a class that use a removed variable are dropped from its
 * MethodDictionary (gst: they no longer compile); the others are renumbered
 * afterwards (renumber_all), with those not installed yet (a class body's
 * methods wait in its declaration record until the DECL bytecode runs). */
static int drop_unbound(struct st_vm *vm, const struct reshaped *r)
{
	oop d = st_slot(r->cls, CLS_MDICT);
	size_t cap = (obj_slots(d) - 1) / 2;
	int drop = 0;
	for (size_t i = 0; i < cap; i++) {
		oop k = obj_body(d)[1 + 2 * i];
		if (k != vm->nil && !renumber(vm, obj_body(d)[2 + 2 * i], r, 0))
			drop++;
	}
	if (!drop)
		return 1;
	/* a fresh dictionary without them */
	oop nd = st_alloc_old(vm, CI_METHODDICT, OBJ_FMT_IPTRS, obj_slots(d), 0, 0);
	if (!nd)
		return 0;
	obj_body(nd)[0] = obj_from_int(0);
	oop old = st_slot(r->cls, CLS_MDICT);
	ST_ROOT(vm, old);
	st_put(vm, r->cls, CLS_MDICT, nd);
	for (size_t i = 0; i < cap; i++) {
		oop k = obj_body(old)[1 + 2 * i];
		if (k == vm->nil || !renumber(vm, obj_body(old)[2 + 2 * i], r, 0))
			continue;
		st_install(vm, r->cls, k, obj_body(old)[2 + 2 * i]);
	}
	ST_UNROOT(vm, 1);
	return 1;
}

struct rn_walk {
	struct st_vm *vm;
	struct reshaped *rs;
	int nrs;
};

/* gc_each_object: every method (not block) of an affected class. */
static void rn_visit(oop o, void *ud)
{
	struct rn_walk *w = ud;
	if (obj_cls(o) != CI_METHOD || (obj_hdr(o)->flags & OBJ_F_FWD) ||
	    obj_slots(o) < CM_SIZE || (obj_int(st_slot(o, CM_HEADER)) & CMH_BLOCK))
		return;
	oop c = st_slot(o, CM_CLASS);
	for (int i = 0; i < w->nrs; i++)
		if (w->rs[i].cls == c) {
			if (renumber(w->vm, o, &w->rs[i], 0))
				renumber(w->vm, o, &w->rs[i], 1);
			return;
		}
}

/*
 * Behavior>>primReshape: names superclass: aClassOrNil: [cls]'s own instance
 * variables become [names] (an Array of Strings, already checked to be
 * identifiers) and its superclass [super] (nil: unchanged; a class whose
 * shape was its old superclass's takes the new one's, when it has no
 * instances). Every class under [cls] gets the new layout; a variable keeps its value when
 * the class that defines it still has a variable of that name. Instances
 * (class objects, for a metaclass) are reallocated in old space with the
 * new layout and every reference moves to them (gc_become_forward).
 */
PRIM(reflReshape)
{
	return refl_reshape(vm, args[0], args[1], args[2]); /* answers the receiver */
}

int refl_reshape(struct st_vm *vm, oop cls, oop names, oop super)
{
	if (!prim_is_class(vm, cls) || !obj_is_ptr(names) || obj_cls(names) != CI_ARRAY)
		return PRIM_FAIL;
	if (super == vm->nil)
		super = st_slot(cls, CLS_SUPER);
	else if (!prim_is_class(vm, super) || is_under(vm, super, cls) ||
		 obj_cls(cls) == CI_METACLASS || obj_cls(super) == CI_METACLASS ||
		 st_instsize(vm->classes[obj_cls(super)]) != st_instsize(vm->classes[obj_cls(cls)]))
		return PRIM_FAIL; /* a cycle, a metaclass, or class-side variables that differ */
	for (size_t i = 0; i < obj_slots(names); i++)
		if (!is_stringish(obj_body(names)[i]))
			return PRIM_FAIL;
	ST_ROOT(vm, cls);
	ST_ROOT(vm, names);
	ST_ROOT(vm, super);
	int rc = PRIM_FAIL;
	uint32_t nc = vm->nclasses;
	/* (rs entries are only filled for classes under cls) */
	struct reshaped *rs = calloc(nc, sizeof *rs);
	uint8_t *affected = calloc(nc, 1);
	int nrs = 0;
	oop arr = 0, narr = 0;
	ST_ROOT(vm, arr);
	ST_ROOT(vm, narr);
	if (!rs || !affected)
		goto out;
	oop oldown = st_slot(cls, CLS_IVARS);
	for (uint32_t i = 1; i < nc; i++) {
		oop x = vm->classes[i];
		if (!x || x == vm->nil || !prim_is_class(vm, x) || !is_under(vm, x, cls))
			continue;
		/* the VM makes instances of its well-known classes at fixed sizes
		 * (Process's follow the class: vm/sched.c) */
		if (obj_cls(x) != CI_METACLASS && i < CI_FIXED && i != CI_PROCESS)
			goto out;
		struct layout lo, ln;
		int okl = layout_of(vm, x, cls, oldown, st_slot(cls, CLS_SUPER), &lo) &&
			  layout_of(vm, x, cls, names, super, &ln);
		struct reshaped *r = &rs[nrs];
		r->cls = x;
		r->index = i;
		r->nold = lo.n;
		r->nnew = ln.n;
		r->old_to_new = malloc(sizeof(int) * (size_t)(lo.n + 1));
		r->new_to_old = malloc(sizeof(int) * (size_t)(ln.n + 1));
		r->code_map = malloc(sizeof(int) * (size_t)(lo.n + 1));
		if (okl && r->old_to_new && r->new_to_old && r->code_map) {
			nrs++;
			affected[i] = 1;
			for (int a = 0; a < lo.n; a++)
				r->old_to_new[a] = -1;
			for (int b = 0; b < ln.n; b++) {
				r->new_to_old[b] = -1;
				for (int a = 0; a < lo.n; a++)
					if (lo.def[a] == ln.def[b] && r->old_to_new[a] < 0 &&
					    same_name(lo.name[a], ln.name[b])) {
						r->new_to_old[b] = a;
						r->old_to_new[a] = b;
						break;
					}
			}
			/* a variable that moved to another class keeps its value too */
			for (int b = 0; b < ln.n; b++)
				for (int a = 0; r->new_to_old[b] < 0 && a < lo.n; a++)
					if (r->old_to_new[a] < 0 && same_name(lo.name[a], ln.name[b])) {
						r->new_to_old[b] = a;
						r->old_to_new[a] = b;
					}
			for (int a = 0; a < lo.n; a++) {
				r->code_map[a] = r->old_to_new[a];
				for (int b = ln.n - 1; r->code_map[a] < 0 && b >= 0; b--)
					if (same_name(lo.name[a], ln.name[b]))
						r->code_map[a] = b;
			}
		}
		free(lo.def);
		free(lo.name);
		free(ln.def);
		free(ln.name);
		if (!affected[i]) {
			free(r->old_to_new);
			free(r->new_to_old);
			free(r->code_map);
			goto out;
		}
		intptr_t f = obj_int(st_slot(x, CLS_FORMAT));
		if ((f & 0xff) > OBJ_FMT_IPTRS && r->nnew) {
			rc = PRIM_FAIL; /* raw objects have no named variables */
			goto out;
		}
	}
	/* the instances, counted then gathered (no allocation in between) */
	gc_full(&vm->gc);
	struct rs_census k = { vm, affected, nc, 0, 0 };
	gc_each_object(&vm->gc, rs_visit, &k);
	arr = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, k.n, 0, 0);
	if (!arr) {
		rc = PRIM_OOM;
		goto out;
	}
	k.arr = arr;
	k.n = 0;
	gc_each_object(&vm->gc, rs_visit, &k);
	/* the shape: inherited from the superclass, unless the class has its own */
	intptr_t fbits = obj_int(st_slot(cls, CLS_FORMAT)) & 0x1ff, nbits = fbits;
	oop osup = st_slot(cls, CLS_SUPER); /* nil: a root, or a Behavior new */
	if (super != vm->nil &&
	    (osup == vm->nil || (obj_int(st_slot(osup, CLS_FORMAT)) & 0x1ff) == fbits))
		nbits = obj_int(st_slot(super, CLS_FORMAT)) & 0x1ff;
	if (nbits != fbits) {
		for (size_t j = 0; j < obj_slots(arr); j++) {
			oop o = obj_body(arr)[j];
			if (obj_is_ptr(o) && obj_cls(o) < nc &&
			    (obj_int(st_slot(vm->classes[obj_cls(o)], CLS_FORMAT)) & 0x1ff) == fbits)
				goto out; /* instances of another shape: refused */
		}
	}
	/* the new layout: methods, names, formats */
	for (int i = 0; i < nrs; i++)
		if (!drop_unbound(vm, &rs[i])) {
			rc = PRIM_OOM;
			goto out;
		}
	struct rn_walk w = { vm, rs, nrs };
	gc_each_object(&vm->gc, rn_visit, &w);
	st_put(vm, cls, CLS_IVARS, names);
	if (super != st_slot(cls, CLS_SUPER)) {
		st_put(vm, cls, CLS_SUPER, super);
		st_put(vm, vm->classes[obj_cls(cls)], CLS_SUPER, vm->classes[obj_cls(super)]);
	}
	for (int i = 0; i < nrs; i++) {
		intptr_t f = obj_int(st_slot(rs[i].cls, CLS_FORMAT));
		if ((f & 0x1ff) == fbits)
			f = (f & ~(intptr_t)0x1ff) | nbits;
		obj_body(rs[i].cls)[CLS_FORMAT] = obj_from_int((f & 0xffff) | (intptr_t)rs[i].nnew << 16);
	}
	/* the instances: the new objects first (kept in [narr]: a collection
	 * may move them), then every reference moves in one walk */
	narr = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, obj_slots(arr), 0, 0);
	if (!narr) {
		rc = PRIM_OOM;
		goto out;
	}
	for (size_t j = 0; j < obj_slots(arr); j++) {
		oop o = obj_body(arr)[j];
		if (!obj_is_ptr(o) || o == vm->nil)
			continue;
		uint32_t ci = obj_cls(o);
		struct reshaped *r = NULL;
		for (int i = 0; i < nrs; i++)
			if (rs[i].index == ci)
				r = &rs[i];
		if (!r)
			continue;
		size_t extra = obj_slots(o) > (size_t)r->nold ? obj_slots(o) - (size_t)r->nold : 0;
		unsigned fmt = obj_fmt(o), pinned = obj_hdr(o)->flags & OBJ_F_PINNED;
		oop no = st_alloc_old(vm, ci, fmt, (size_t)r->nnew + extra, 0, pinned);
		if (!no) {
			rc = PRIM_OOM;
			goto out;
		}
		o = obj_body(arr)[j];
		for (int b = 0; b < r->nnew; b++)
			st_put(vm, no, (size_t)b,
			       r->new_to_old[b] >= 0 ? obj_body(o)[r->new_to_old[b]] : vm->nil);
		for (size_t e = 0; e < extra; e++)
			st_put(vm, no, (size_t)r->nnew + e, obj_body(o)[(size_t)r->nold + e]);
		obj_hdr(no)->hash = obj_hdr(o)->hash;
		st_put(vm, narr, j, no);
	}
	size_t np = 0;
	struct gc_bec_pair *pairs = malloc(sizeof *pairs * (obj_slots(arr) + 1));
	if (!pairs) {
		rc = PRIM_OOM;
		goto out;
	}
	for (size_t j = 0; j < obj_slots(arr); j++)
		if (obj_body(narr)[j] != vm->nil) {
			pairs[np].from = obj_body(arr)[j];
			pairs[np++].to = obj_body(narr)[j];
		}
	gc_become_forward_many(&vm->gc, pairs, np);
	free(pairs);
	st_flush_cache(vm);
	rc = PRIM_OK;
out:
	for (int i = 0; i < nrs; i++) {
		free(rs[i].old_to_new);
		free(rs[i].new_to_old);
		free(rs[i].code_map);
	}
	free(rs);
	free(affected);
	ST_UNROOT(vm, 5);
	return rc;
}

/* ---- Behavior>>instanceCount ----------------------------------------------- */

struct count_census {
	uint32_t index;
	size_t n;
};

static void count_visit(oop o, void *ud)
{
	struct count_census *k = ud;
	if (obj_cls(o) == k->index && !(obj_hdr(o)->flags & OBJ_F_FWD))
		k->n++;
}

/* The live instances of exactly the receiver (a full collection first). */
PRIM(reflInstanceCount)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	struct count_census k = { st_class_index(args[0]), 0 };
	gc_full(&vm->gc);
	gc_each_object(&vm->gc, count_visit, &k);
	args[0] = obj_from_int((intptr_t)k.n);
	return PRIM_OK;
}
