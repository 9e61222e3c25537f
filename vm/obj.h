// SPDX-License-Identifier: MIT
/*
 * vm/obj.h: the object format: tagged SmallIntegers, object headers, slots.
 * Owns the bit layout that the collector, the interpreter and the primitives
 * all read; nothing here allocates, collects or needs a VM.
 * See Documentation/vm/objects.md.
 */
#ifndef BATON_VM_OBJ_H
#define BATON_VM_OBJ_H

#include <stddef.h>
#include <stdint.h>

/*
 * An oop is either a SmallInteger or a pointer to an object header.
 *
 *   ...value (63 bits)...1   SmallInteger: value = (intptr_t)oop >> 1
 *   ...address.......000     object: 8-byte aligned address of its header
 *
 * Nothing else is ever stored in a pointer slot: nil, true and false are
 * ordinary objects (in old space), so the collector needs exactly one test,
 * obj_is_ptr(), to know whether a slot refers to an object. 0 is never a
 * valid oop; C code uses it for "none" and gc_alloc() for "failed".
 */
typedef uintptr_t oop;

#define OBJ_INT_MAX ((intptr_t)0x3fffffffffffffff) /* 2^62 - 1 */
#define OBJ_INT_MIN (-OBJ_INT_MAX - 1)

static inline int obj_is_int(oop o) { return (int)(o & 1); }
static inline int obj_is_ptr(oop o) { return !(o & 1); }
static inline intptr_t obj_int(oop o) { return (intptr_t)o >> 1; }
static inline oop obj_from_int(intptr_t v) { return ((uintptr_t)v << 1) | 1; }
static inline int obj_int_fits(intptr_t v)
{
	return v >= OBJ_INT_MIN && v <= OBJ_INT_MAX;
}

/*
 * The header: two 64-bit words in front of the body.
 *
 *   word 0: cls (32) | fmt (8) | flags (8) | age (8) | odd (8)
 *   word 1: hash (32) | slots (32)
 *
 * The body is [slots] 8-byte words. What they hold depends on [fmt]:
 * pointer formats hold oops in every slot (named instance variables first,
 * then indexed ones: the class knows how many are named); raw formats hold
 * no oops at all, so the collector copies them blindly.
 *
 * A forwarded object (OBJ_F_FWD, during a collection only) keeps word 0 and
 * stores its new address in word 1: read the size from the copy. This is why
 * every object, even one with no slots, has room for a forwarding pointer.
 */
struct obj_header {
	uint32_t cls;   /* class index: the VM's class table maps it to a class */
	uint8_t fmt;    /* OBJ_FMT_* */
	uint8_t flags;  /* OBJ_F_* */
	uint8_t age;    /* scavenges survived (the collector's to use) */
	uint8_t odd;    /* OBJ_FMT_BYTES: unused bytes in the last word, 0..7 */
	uint32_t hash;  /* identity hash; 0: not assigned yet (see obj_hash) */
	uint32_t slots; /* body size in 8-byte words */
};
#define OBJ_HDR_BYTES ((size_t)sizeof(struct obj_header))
_Static_assert(sizeof(struct obj_header) == 16, "header is two words");

/* Formats. Everything <= OBJ_FMT_IPTRS holds oops in all of its slots. */
#define OBJ_FMT_PTRS 0  /* named instance variables only */
#define OBJ_FMT_IPTRS 1 /* named + indexed oops (Array, MethodDictionary...) */
#define OBJ_FMT_WORDS 2 /* raw 64-bit words (Float, WordArray) */
#define OBJ_FMT_BYTES 3 /* raw bytes (String, Symbol, ByteArray, LargeInts) */
#define OBJ_FMT_COUNT 4

/*
 * Flag bits. MARK, FWD, REMEMBERED and TENURE are the collector's; PINNED
 * is set only through gc_pin()/gc_alloc_old() and read by everyone: a pinned
 * object never moves (it may still be freed once unreachable).
 */
#define OBJ_F_MARK 0x01       /* reached in the current full collection */
#define OBJ_F_FWD 0x02        /* copied: word 1 holds the new address */
#define OBJ_F_REMEMBERED 0x04 /* old object in the remembered set */
#define OBJ_F_PINNED 0x08     /* never moves */
#define OBJ_F_TENURE 0x10     /* young: promote at the next scavenge */
#define OBJ_F_GC1 0x20        /* the collector's: registered for finalization */
#define OBJ_F_GC2 0x40        /* the collector's: seen in a finalization pass */
#define OBJ_F_GC3 0x80        /* free for the collector */

static inline struct obj_header *obj_hdr(oop o) { return (struct obj_header *)o; }
static inline oop *obj_body(oop o) { return (oop *)(o + OBJ_HDR_BYTES); }
static inline uint8_t *obj_bytes(oop o) { return (uint8_t *)(o + OBJ_HDR_BYTES); }
static inline size_t obj_slots(oop o) { return obj_hdr(o)->slots; }
static inline unsigned obj_fmt(oop o) { return obj_hdr(o)->fmt; }
static inline uint32_t obj_cls(oop o) { return obj_hdr(o)->cls; }
static inline int obj_is_pinned(oop o) { return (obj_hdr(o)->flags & OBJ_F_PINNED) != 0; }

/* Total size in bytes of an object of [slots] body words. */
static inline size_t obj_size_for(size_t slots) { return OBJ_HDR_BYTES + slots * 8; }
static inline size_t obj_size(oop o) { return obj_size_for(obj_hdr(o)->slots); }

/* Bytes in a raw-bytes object; words for the others. */
static inline size_t obj_byte_size(oop o)
{
	return (size_t)obj_hdr(o)->slots * 8 - obj_hdr(o)->odd;
}

static inline int obj_has_ptrs(oop o) { return obj_hdr(o)->fmt <= OBJ_FMT_IPTRS; }

/*
 * The oop slots of [o]: a pointer object's are all of its slots; a raw
 * object has none. This is the only enumeration the collector needs.
 */
static inline size_t obj_ptr_slots(oop o, oop **first)
{
	*first = obj_body(o);
	return obj_has_ptrs(o) ? obj_hdr(o)->slots : 0;
}

/* Forwarding (collector only). */
static inline int obj_is_forwarded(oop o) { return (obj_hdr(o)->flags & OBJ_F_FWD) != 0; }
static inline oop obj_forward(oop o) { return *(oop *)(o + 8); }
static inline void obj_set_forward(oop o, oop to)
{
	obj_hdr(o)->flags |= OBJ_F_FWD;
	*(oop *)(o + 8) = to;
}

/* Header word 0 written in one store by the allocators. */
static inline void obj_init_header(oop o, uint32_t cls, unsigned fmt, size_t slots,
				   unsigned odd, unsigned flags)
{
	struct obj_header *h = obj_hdr(o);
	h->cls = cls;
	h->fmt = (uint8_t)fmt;
	h->flags = (uint8_t)flags;
	h->age = 0;
	h->odd = (uint8_t)odd;
	h->hash = 0;
	h->slots = (uint32_t)slots;
}

#endif /* BATON_VM_OBJ_H */
