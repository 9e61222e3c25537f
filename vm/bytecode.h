// SPDX-License-Identifier: MIT
/*
 * vm/bytecode.h: the bytecode set of vm/opcodes.h as C: the opcode enum,
 * each opcode's length, name and stack effect, and the layout of each
 * superinstruction's sequence. The compiler (emitters, peephole, quicken(),
 * disassembler) and the interpreter (dispatch, superinstruction handlers)
 * both take them from here, so the list is the one definition.
 * See Documentation/vm/bytecodes.md.
 */
#ifndef BATON_VM_BYTECODE_H
#define BATON_VM_BYTECODE_H

#include <stdint.h>

/* The stack effect of SEND, SUPER and ARRAY: it is in the operand (op_effect()). */
#define OPE_VAR 100

/* A superinstruction's operand bytes and stack effect come from its sequence;
 * END_ pads the sequence to six instructions (a pseudo opcode of no bytes). */
#define SI_SEQ6_(P, a, b, c, d, e, f, ...) (P##a + P##b + P##c + P##d + P##e + P##f)
#define SI_SUM_(P, ...) SI_SEQ6_(P, __VA_ARGS__, END_, END_, END_, END_, END_)
#define SI_AS_OP_(n, c, first, ...) OP(n, OPLEN_##first - 1, SI_SUM_(OPEFF_, first, __VA_ARGS__), c)

enum op {
#define OP(n, b, e, c) OP_##n,
#define SI(n, c, ...) OP_##n,
#include "vm/opcodes.h"
#undef SI
#undef OP
	OP_COUNT
};
_Static_assert(OP_COUNT <= 256, "an opcode is one byte");

/* Lengths (opcode byte included) and effects as constants, for _Static_assert
 * and for the superinstructions' derived columns. */
enum {
	OPLEN_END_ = 0,
#define OP(n, b, e, c) OPLEN_##n = 1 + (b),
#define SI(...) SI_AS_OP_(__VA_ARGS__)
#include "vm/opcodes.h"
#undef SI
#undef OP
};
enum {
	OPEFF_END_ = 0,
#define OP(n, b, e, c) OPEFF_##n = (e),
#define SI(...) SI_AS_OP_(__VA_ARGS__)
#include "vm/opcodes.h"
#undef SI
#undef OP
};

__attribute__((unused)) static const uint8_t op_len[OP_COUNT] = {
#define OP(n, b, e, c) [OP_##n] = OPLEN_##n,
#define SI(n, c, ...) [OP_##n] = OPLEN_##n,
#include "vm/opcodes.h"
#undef SI
#undef OP
};
__attribute__((unused)) static const int8_t op_eff[OP_COUNT] = {
#define OP(n, b, e, c) [OP_##n] = OPEFF_##n,
#define SI(n, c, ...) [OP_##n] = OPEFF_##n,
#include "vm/opcodes.h"
#undef SI
#undef OP
};
__attribute__((unused)) static const char *const op_name[OP_COUNT] = {
#define OP(n, b, e, c) [OP_##n] = #n,
#define SI(n, c, ...) [OP_##n] = #n,
#include "vm/opcodes.h"
#undef SI
#undef OP
};

/* The stack effect of [op] whose first operand (u8 or u16) is [arg]. */
static inline int op_effect(int op, int arg)
{
	if (op_eff[op] != OPE_VAR)
		return op_eff[op];
	return op == OP_ARRAY ? 1 - arg : -arg; /* SEND, SUPER: arg is nargs */
}

/*
 * The layout of a superinstruction's sequence, for its handler. ip points
 * past the superinstruction's opcode byte; SI_OP(n, k) is the offset from ip
 * of the opcode byte of instruction k of the sequence (k = 1 is the second),
 * SI_ARG(n, k) that of its first operand byte, SI_END(n) that of the
 * instruction after the sequence (a jump at the end is relative to it).
 */
enum {
#define OP(n, b, e, c)
#define SI(n, c, ...) SI_LAYOUT_(n, __VA_ARGS__, END_, END_, END_, END_, END_)
#define SI_LAYOUT_(n, a, b, c, d, e, f, ...)                                            \
	SI_##n##_1 = OPLEN_##a - 1, SI_##n##_2 = SI_##n##_1 + OPLEN_##b,                 \
	SI_##n##_3 = SI_##n##_2 + OPLEN_##c, SI_##n##_4 = SI_##n##_3 + OPLEN_##d,        \
	SI_##n##_5 = SI_##n##_4 + OPLEN_##e, SI_##n##_END = SI_##n##_5 + OPLEN_##f,
#include "vm/opcodes.h"
#undef SI_LAYOUT_
#undef SI
#undef OP
};
#define SI_OP(n, k) (SI_##n##_##k)
#define SI_ARG(n, k) (SI_##n##_##k + 1)
#define SI_END(n) (SI_##n##_END)

/* What the handlers in vm/interp.c assume beyond those offsets. */
_Static_assert(OPLEN_PUSH_LOCAL == 2 && OPLEN_POP_LOCAL == 2 && OPLEN_PUSH_LOCAL2 == 3,
	       "local operands are one byte (i8) each");
_Static_assert(OPLEN_ADD_INT == 2 && OPLEN_LT_INT == 2 && OPLEN_PUSH_INT == 2,
	       "the literal of *_INT is one byte (i8)");
_Static_assert(OPLEN_JUMP_TRUE == 3 && OPLEN_JUMP_FALSE == 3, "a jump offset is i16");
_Static_assert(OPLEN_LE == OPLEN_GE && OPEFF_LE == OPEFF_GE,
	       "FOR_LOOP stands for LE or GE: one layout");
_Static_assert(OPLEN_PUSH_NIL == OPLEN_PUSH_TRUE && OPLEN_PUSH_NIL == OPLEN_PUSH_FALSE &&
		       OPEFF_PUSH_NIL == OPEFF_PUSH_TRUE && OPEFF_PUSH_NIL == OPEFF_PUSH_FALSE,
	       "ATPUT_LLC stands for PUSH_NIL, PUSH_TRUE or PUSH_FALSE: one layout");
_Static_assert(OPLEN_SEND0 == 4 && OPLEN_SUB_INT == OPLEN_ADD_INT,
	       "SELF_* and LOCAL_* continue in the handler of their second instruction");
/* The fused effects the compiler relies on (sequence sums, spelled out). */
_Static_assert(OPEFF_LT_JF == -2 && OPEFF_LT_INT_JF == -1 && OPEFF_FOR_LOOP == 0 &&
		       OPEFF_INC_LOCAL == 0 && OPEFF_AT_LL == 1 && OPEFF_ATPUT_POP == -3 &&
		       OPEFF_LL_LT_JF == 0 && OPEFF_RET_LOCAL == 0 && OPEFF_SELF_SEND0 == 1 &&
		       OPEFF_LOCAL_LT_INT_JF == 0,
	       "superinstruction effects are the sums of their sequences");

#endif /* BATON_VM_BYTECODE_H */
