// SPDX-License-Identifier: MIT
/*
 * selftests/gc/torture.c: random mutation against a shadow model.
 *
 * Description: a seeded random mutator allocates young, old and large
 * objects, stores and loads references through the write barrier, drops
 * roots, pins and unpins, hashes, and collects, while a shadow model
 * records what every object must hold. Every few hundred steps the object
 * graph reachable from the roots is compared with the model (ids,
 * references, identity, raw contents, hashes, pinned addresses) and the
 * heap is verified. Variants: default sizes, a tiny new space with
 * immediate tenuring, stress mode, and a heap limit that makes requests
 * fail (a failed request must change nothing). BATON_GC_SEED=n runs other
 * random sequences. Nodes are registered for finalization and unregistered
 * at random too: every queued object must be unreachable in the model (and
 * intact, with what it references), after a full collection every
 * unreachable registered node must be queued, and some queued ones are
 * resurrected into roots.
 */
#include <stdlib.h>

#include "selftests/harness.h"
#include "t_gc.h"

#define NROOTS 48
#define STEPS 60000
#define MAXID (STEPS + 1)
#define MAXSLOTS 9

struct shadow {
	int kind[MAXID];          /* 0 none, 1 node, 2 bytes */
	int nslots[MAXID];        /* node: slots including the id slot */
	size_t nbytes[MAXID];
	int ref[MAXID][MAXSLOTS]; /* node slot -> id, 0: nil */
	uint32_t hash[MAXID];
	oop pinned_at[MAXID];
	oop seen[MAXID];
	unsigned stamp[MAXID], epoch;
	uint8_t final[MAXID];      /* registered for finalization */
	unsigned rstamp[MAXID], repoch; /* reachable() */
	int work[MAXID];
	int roots[NROOTS];        /* root -> id, 0: nil */
	int next_id;
};

static uint64_t rng;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static size_t bytes_of(int id) { return (size_t)(id * 37 % 300); }

FIXTURE(torture)
{
	struct t_heap *th;
	oop roots[NROOTS];
	struct shadow *sh;
};

FIXTURE_VARIANT(torture)
{
	struct gc_sizes sizes;
	uint64_t seed;
	unsigned big; /* per mille of allocations that are 50..750 KB */
};

FIXTURE_VARIANT_ADD(torture, defaults) { .sizes = { 0 }, .seed = 1, .big = 10 };
FIXTURE_VARIANT_ADD(torture, tiny_new_space) {
	.sizes = { .new_size = 256 << 10, .tenure_age = 1 }, .seed = 2, .big = 10 };
FIXTURE_VARIANT_ADD(torture, old_survivors) {
	.sizes = { .new_size = 512 << 10, .tenure_age = 6 }, .seed = 3, .big = 10 };
FIXTURE_VARIANT_ADD(torture, stress) { .sizes = { .stress = 3 }, .seed = 4, .big = 2 };
FIXTURE_VARIANT_ADD(torture, heap_limit) {
	.sizes = { .heap_max = 4 << 20, .new_size = 1 << 20 }, .seed = 5, .big = 150 };

FIXTURE_SETUP(torture)
{
	self->th = t_heap(&variant->sizes);
	ASSERT_NE_NULL(self->th);
	self->sh = calloc(1, sizeof *self->sh);
	ASSERT_NE_NULL(self->sh);
	self->sh->next_id = 1;
	for (int i = 0; i < NROOTS; i++) {
		self->roots[i] = self->th->nil;
		T_ROOT(self->th, self->roots[i]);
	}
	/* BATON_GC_SEED=n explores other sequences; the default is fixed */
	const char *e = getenv("BATON_GC_SEED");
	rng = (variant->seed + (e ? strtoull(e, NULL, 0) * 16 : 0)) * 0x9e3779b97f4a7c15ull;
}

FIXTURE_TEARDOWN(torture)
{
	if (self->th)
		t_heap_free(self->th);
	free(self->sh);
}

struct item {
	oop o;
	int id;
};

/* Compares one object with the model of [id] and queues its referents. */
static int check_one(struct t_heap *th, struct shadow *sh, oop o, int id, struct item *stack,
		     size_t *n, char *why, size_t len)
{
	if (id == 0) {
		if (o != th->nil)
			return snprintf(why, len, "expected nil"), 0;
		return 1;
	}
	if (!o || !obj_is_ptr(o) || o == th->nil)
		return snprintf(why, len, "id %d: not an object", id), 0;
	if (sh->stamp[id] == sh->epoch) {
		if (sh->seen[id] != o)
			return snprintf(why, len, "id %d: two copies", id), 0;
		return 1;
	}
	sh->stamp[id] = sh->epoch;
	sh->seen[id] = o;
	if (sh->hash[id] && obj_hdr(o)->hash != sh->hash[id])
		return snprintf(why, len, "id %d: hash changed", id), 0;
	if (sh->pinned_at[id] && (sh->pinned_at[id] != o || !gc_is_pinned(o)))
		return snprintf(why, len, "id %d: pinned object moved", id), 0;
	if (sh->kind[id] == 2) {
		if (!t_bytes_ok(o, sh->nbytes[id], (unsigned)id))
			return snprintf(why, len, "id %d: bytes differ", id), 0;
		return 1;
	}
	if (obj_fmt(o) != OBJ_FMT_IPTRS || (int)obj_slots(o) != sh->nslots[id] || t_id(o) != id)
		return snprintf(why, len, "id %d: wrong node (id %ld)", id, (long)t_id(o)), 0;
	for (int k = 1; k < sh->nslots[id]; k++)
		stack[(*n)++] = (struct item){ obj_body(o)[k], sh->ref[id][k] };
	return 1;
}

/* Compares the graph below [o] with the model, iteratively (graphs get
 * deep); 0 on a mismatch, described in [why]. */
static int check_graph(struct t_heap *th, struct shadow *sh, oop o, int id, char *why, size_t len)
{
	static struct item stack[MAXID * MAXSLOTS];
	size_t n = 0;
	stack[n++] = (struct item){ o, id };
	while (n) {
		struct item it = stack[--n];
		if (!check_one(th, sh, it.o, it.id, stack, &n, why, len))
			return 0;
	}
	return 1;
}

/* Marks the ids reachable from the model's roots, and from the [nq]
 * objects [q], with rstamp == repoch. */
static void reachable(struct shadow *sh, const oop *q, size_t nq)
{
	int n = 0;
	sh->repoch++;
	for (size_t r = 0; r < NROOTS + nq; r++) {
		int id = r < NROOTS ? sh->roots[r] : (int)t_id(q[r - NROOTS]);
		if (id && sh->rstamp[id] != sh->repoch) {
			sh->rstamp[id] = sh->repoch;
			sh->work[n++] = id;
		}
	}
	while (n) {
		int id = sh->work[--n];
		if (sh->kind[id] != 1)
			continue;
		for (int k = 1; k < sh->nslots[id]; k++) {
			int x = sh->ref[id][k];
			if (x && sh->rstamp[x] != sh->repoch) {
				sh->rstamp[x] = sh->repoch;
				sh->work[n++] = x;
			}
		}
	}
}

/*
 * Takes every queued object: each was registered and is unreachable in the
 * model, and is intact with what it references; [all]: (right after a
 * full collection) every unreachable registered node is among them, or is
 * reachable from one of them (queued objects are roots: a registered
 * object they reference waits for a later collection). Some are
 * resurrected into roots afterwards. 0 on a mismatch, in [why].
 */
static int take_ready(struct t_heap *th, oop *roots, struct shadow *sh, int all, char *why,
		      size_t len)
{
	static oop got[MAXID];
	size_t n = 0, want = 0;
	oop o;
	reachable(sh, NULL, 0);
	sh->epoch++;
	while ((o = gc_final_take(&th->gc))) {
		int id = obj_is_ptr(o) && obj_fmt(o) == OBJ_FMT_IPTRS ? (int)t_id(o) : -1;
		if (id <= 0 || id >= sh->next_id || sh->kind[id] != 1 || !sh->final[id])
			return snprintf(why, len, "queued object %d was not registered", id), 0;
		if (sh->rstamp[id] == sh->repoch)
			return snprintf(why, len, "queued object %d is reachable", id), 0;
		if (!check_graph(th, sh, o, id, why, len))
			return 0;
		sh->final[id] = 0;
		got[n++] = o;
	}
	if (all)
		reachable(sh, got, n);
	if (all)
		for (int id = 1; id < sh->next_id; id++)
			want += sh->final[id] && sh->rstamp[id] != sh->repoch;
	if (want)
		return snprintf(why, len, "%zu unreachable registered objects not queued", want), 0;
	for (size_t i = 0; i < n; i++)
		if (rnd(3) == 0) {
			int r = (int)rnd(NROOTS);
			roots[r] = got[i];
			sh->roots[r] = (int)t_id(got[i]);
		}
	return 1;
}

static oop new_object(struct t_heap *th, struct shadow *sh, int *idp, unsigned big)
{
	int id = sh->next_id;
	unsigned what = rnd(100);
	int is_big = rnd(1000) < big;
	oop o;
	if (what < 15 || is_big) {
		sh->kind[id] = 2;
		sh->nbytes[id] = is_big ? 50000 + 2357 * (size_t)rnd(300) : bytes_of(id);
		size_t slots = (sh->nbytes[id] + 7) / 8;
		unsigned odd = (unsigned)(slots * 8 - sh->nbytes[id]);
		o = what < 8 ? gc_alloc(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, slots, odd)
			     : gc_alloc_old(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, slots, odd, 0);
		if (o)
			for (size_t i = 0; i < sh->nbytes[id]; i++)
				obj_bytes(o)[i] = (uint8_t)(id + i * 7);
	} else {
		sh->kind[id] = 1;
		sh->nslots[id] = 1 + (int)rnd(MAXSLOTS - 1);
		o = what < 75 ? t_node(th, id, (size_t)sh->nslots[id])
			      : t_old_node(th, id, (size_t)sh->nslots[id], 0);
	}
	if (!o) {
		sh->kind[id] = 0; /* failed: nothing changed, the id is unused */
		return 0;
	}
	sh->next_id++;
	*idp = id;
	return o;
}

static int step(struct t_heap *th, oop *roots, struct shadow *sh, unsigned big, char *why,
		size_t len)
{
	unsigned op = rnd(1000), r = rnd(NROOTS), s = rnd(NROOTS);
	int id = sh->roots[r];
	if (op < 300) {
		int nid;
		oop o = new_object(th, sh, &nid, big);
		if (o) {
			roots[r] = o;
			sh->roots[r] = nid;
		}
	} else if (op < 600) {
		/* roots[r].k := roots[s] */
		if (sh->kind[id] != 1 || sh->nslots[id] < 2)
			return 1;
		int k = 1 + (int)rnd((unsigned)sh->nslots[id] - 1);
		gc_store(&th->gc, roots[r], (size_t)k, roots[s]);
		sh->ref[id][k] = sh->roots[s];
	} else if (op < 800) {
		/* roots[s] := roots[r].k */
		if (sh->kind[id] != 1 || sh->nslots[id] < 2)
			return 1;
		int k = 1 + (int)rnd((unsigned)sh->nslots[id] - 1);
		roots[s] = obj_body(roots[r])[k];
		sh->roots[s] = sh->ref[id][k];
	} else if (op < 900) {
		roots[r] = th->nil;
		sh->roots[r] = 0;
	} else if (op < 930) {
		if (!id)
			return 1;
		if (sh->pinned_at[id]) {
			gc_unpin(&th->gc, roots[r]);
			sh->pinned_at[id] = 0;
		} else if (gc_pin(&th->gc, &roots[r])) {
			sh->pinned_at[id] = roots[r];
		}
	} else if (op < 950) {
		if (id && !sh->hash[id])
			sh->hash[id] = t_hash(th, roots[r]);
	} else if (op < 970) {
		if (!id || sh->kind[id] != 1)
			return 1;
		int e = sh->final[id] ? gc_final_remove(&th->gc, roots[r])
				      : gc_final_add(&th->gc, roots[r]);
		if (e != 1)
			return snprintf(why, len, "add/remove of %d answered %d", id, e), 0;
		sh->final[id] ^= 1;
	} else if (op < 975) {
		return take_ready(th, roots, sh, 0, why, len);
	} else if (op < 995) {
		gc_scavenge(&th->gc);
	} else {
		gc_full(&th->gc);
		return take_ready(th, roots, sh, 1, why, len);
	}
	return 1;
}

TEST_F_TIMEOUT(torture, random_mutation_matches_the_model, 120)
{
	struct t_heap *th = self->th;
	struct shadow *sh = self->sh;
	char why[200];
	for (int i = 1; i <= STEPS; i++) {
		ASSERT_TRUE(step(th, self->roots, sh, variant->big, why, sizeof why))
			TH_LOG("step %d: %s", i, why);
		if (i % 500 && i != STEPS)
			continue;
		sh->epoch++;
		for (int r = 0; r < NROOTS; r++)
			ASSERT_TRUE(check_graph(th, sh, self->roots[r], sh->roots[r], why, sizeof why))
				TH_LOG("step %d, root %d: %s", i, r, why);
		T_VERIFY(th);
	}
	struct gc_stats st = t_stats(th);
	ASSERT_LT(0u, st.scavenges);
	ASSERT_LT(0u, st.full_gcs);
	ASSERT_LT(0u, st.pins);
	ASSERT_LT(0u, st.finalized);
	TH_LOG("%d objects, %llu scavenges, %llu full, %llu failures, %llu finalized",
	       sh->next_id - 1, (unsigned long long)st.scavenges, (unsigned long long)st.full_gcs,
	       (unsigned long long)st.alloc_failures, (unsigned long long)st.finalized);
}

TEST_HARNESS_MAIN
