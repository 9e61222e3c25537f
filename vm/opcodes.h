// SPDX-License-Identifier: MIT
/*
 * vm/opcodes.h: the bytecode set, one X-macro list. vm/bytecode.h turns it
 * into the opcode enum and the tables of lengths, names and stack effects;
 * the interpreter's dispatch table comes from it too.
 *
 * OP(name, operand bytes, stack effect, comment) is an instruction the
 * compiler emits. Operands follow the opcode byte: L = u16 literal index
 * (little endian), B = u8, S = i8, J = i16 jump offset relative to the next
 * instruction. The effect is the net change of the stack depth; OPE_VAR
 * marks the three whose effect is in their operand (SEND and SUPER pop
 * nargs, ARRAY pops count and pushes one): see op_effect() in bytecode.h.
 * A return counts -1 (it pops its value).
 *
 * SI(name, comment, first, rest of the sequence...) is a superinstruction:
 * the compiler's last pass (quicken() in vm/comp.c) writes it over the opcode
 * byte of [first], the rest of the sequence stays in place. Its operand bytes
 * are those of [first] and its stack effect is the sum of the sequence's; both
 * are derived here, not written. Its fast path does the whole sequence and
 * jumps past it, its slow path is [first]. The interpreter reads the operands
 * of the later instructions at the offsets vm/bytecode.h derives from the
 * sequence (SI_ARG(), SI_END()), with _Static_asserts on what it assumes.
 * Where a sequence has alternatives (LE or GE, PUSH_NIL or PUSH_TRUE or
 * PUSH_FALSE) the list names one; bytecode.h asserts the others have the
 * same length and effect.
 *
 * The order decides the opcode numbers, and the numbers matter in three
 * places: the compiler computes opcodes from ranges (OP_SEND0 + nargs,
 * OP_LT_JF + (op - OP_LT), OP_RET_NIL + (op - OP_PUSH_NIL), o >= OP_LT &&
 * o <= OP_NE ...; each such range has a _Static_assert next to its use),
 * superinstructions come after every instruction the compiler emits (so
 * vm/bytecode.h can derive them from the earlier entries), and the
 * interpreter's dispatch table is indexed by opcode, so the order decides
 * which handlers' addresses share a cache line: reordering needs a benchmark
 * run. Nothing persistent depends on the numbers (there is no image).
 * See Documentation/vm/bytecodes.md.
 */
/* clang-format off */
#ifndef OP
#error "define OP(name, nbytes, effect, comment) before including vm/opcodes.h"
#endif
#ifndef SI
#error "define SI(name, comment, first, ...) before including vm/opcodes.h"
#endif
OP(PUSH_SELF,    0,  1, "push self")
OP(PUSH_NIL,     0,  1, "push nil")
OP(PUSH_TRUE,    0,  1, "push true")
OP(PUSH_FALSE,   0,  1, "push false")
OP(PUSH_INT,     1,  1, "S: push SmallInteger -128..127")
OP(PUSH_LOCAL,   1,  1, "S: push fp[S] (argument < 0, temporary >= FH_SIZE)")
OP(PUSH_LOCAL2,  2,  2, "S, S: push fp[S1] then fp[S2] (peephole)")
OP(STORE_LOCAL,  1,  0, "S: fp[S] := top")
OP(POP_LOCAL,    1, -1, "S: fp[S] := pop")
OP(PUSH_IVAR,    1,  1, "B: push instance variable B of self")
OP(STORE_IVAR,   1,  0, "B: ivar B := top (write barrier)")
OP(POP_IVAR,     1, -1, "B: ivar B := pop (write barrier)")
OP(PUSH_LIT,     2,  1, "L: push literal L")
OP(PUSH_GLOBAL,  2,  1, "L: push the value of binding literal L")
OP(STORE_GLOBAL, 2,  0, "L: binding L value := top")
OP(POP_GLOBAL,   2, -1, "L: binding L value := pop")
OP(PUSH_OUTER,   2,  1, "B depth, B index: push environment variable")
OP(STORE_OUTER,  2,  0, "B depth, B index: env var := top")
OP(POP_OUTER,    2, -1, "B depth, B index: env var := pop")
OP(POP,          0, -1, "drop top")
OP(DUP,          0,  1, "duplicate top")
OP(SEND,         3, OPE_VAR, "L selector, B nargs: send (pops args, replaces receiver)")
OP(SEND0,        3,  0, "L selector, B 0: SEND of a unary selector")
OP(SEND1,        3, -1, "L selector, B 1: SEND of a one-argument selector")
OP(SEND2,        3, -2, "L selector, B 2: SEND of a two-argument selector")
OP(SUPER,        3, OPE_VAR, "L selector, B nargs: send to super")
OP(ADD,          0, -1, "special send +")
OP(SUB,          0, -1, "special send -")
OP(LT,           0, -1, "special send <")
OP(GT,           0, -1, "special send >")
OP(LE,           0, -1, "special send <=")
OP(GE,           0, -1, "special send >=")
OP(EQ,           0, -1, "special send =")
OP(NE,           0, -1, "special send ~=")
OP(MUL,          0, -1, "special send *")
OP(DIV,          0, -1, "special send /")
OP(MOD,          0, -1, "special send \\\\")
OP(IDIV,         0, -1, "special send //")
OP(BITAND,       0, -1, "special send bitAnd:")
OP(BITOR,        0, -1, "special send bitOr:")
OP(BITSHIFT,     0, -1, "special send bitShift:")
OP(AT,           0, -1, "special send at:")
OP(ATPUT,        0, -2, "special send at:put:")
OP(SIZE,         0,  0, "special send size")
OP(VALUE,        0,  0, "special send value")
OP(VALUE1,       0, -1, "special send value:")
OP(ISNIL,        0,  0, "isNil (not a send)")
OP(NOTNIL,       0,  0, "notNil (not a send)")
OP(CLASS,        0,  0, "special send class")
OP(IDENT,        0, -1, "== (not a send)")
OP(ADD_INT,      1,  0, "S: top + S (PUSH_INT; ADD fused)")
OP(SUB_INT,      1,  0, "S: top - S (PUSH_INT; SUB fused)")
OP(LT_INT,       1,  0, "S: top < S (PUSH_INT; LT fused)")
OP(GT_INT,       1,  0, "S: top > S")
OP(LE_INT,       1,  0, "S: top <= S")
OP(GE_INT,       1,  0, "S: top >= S")
OP(EQ_INT,       1,  0, "S: top = S")
OP(JUMP,         2,  0, "J: jump (backward jumps poll interrupts)")
OP(JUMP_TRUE,    2, -1, "J: pop, jump if true")
OP(JUMP_FALSE,   2, -1, "J: pop, jump if false")
OP(RETURN,       0, -1, "return top to the caller (local return in a block)")
OP(RETURN_SELF,  0,  0, "return self (quicken() also writes it over PUSH_SELF; RETURN)")
OP(NLR,          0, -1, "block ^: return top from the home method")
OP(CLOSURE,      2,  1, "L: push a BlockClosure on compiled block L")
OP(MAKE_ENV,     1,  0, "B: this activation's environment with B slots")
OP(ARRAY,        2, OPE_VAR, "L(count): pop count values into a new Array")
OP(DECL,         2,  0, "L: install the class declaration record L")
OP(PUSH_CONTEXT, 0,  1, "push thisContext (a context, made now)")

/* superinstructions: SI(name, comment, the sequence it stands for) */
SI(LT_JF,   "LT; JUMP_FALSE (no Boolean pushed)", LT, JUMP_FALSE)
SI(GT_JF,   "GT; JUMP_FALSE", GT, JUMP_FALSE)
SI(LE_JF,   "LE; JUMP_FALSE", LE, JUMP_FALSE)
SI(GE_JF,   "GE; JUMP_FALSE", GE, JUMP_FALSE)
SI(EQ_JF,   "EQ; JUMP_FALSE", EQ, JUMP_FALSE)
SI(NE_JF,   "NE; JUMP_FALSE", NE, JUMP_FALSE)
SI(LT_JT,   "LT; JUMP_TRUE", LT, JUMP_TRUE)
SI(GT_JT,   "GT; JUMP_TRUE", GT, JUMP_TRUE)
SI(LE_JT,   "LE; JUMP_TRUE", LE, JUMP_TRUE)
SI(GE_JT,   "GE; JUMP_TRUE", GE, JUMP_TRUE)
SI(EQ_JT,   "EQ; JUMP_TRUE", EQ, JUMP_TRUE)
SI(NE_JT,   "NE; JUMP_TRUE", NE, JUMP_TRUE)
SI(LT_INT_JF, "LT_INT; JUMP_FALSE", LT_INT, JUMP_FALSE)
SI(GT_INT_JF, "GT_INT; JUMP_FALSE", GT_INT, JUMP_FALSE)
SI(LE_INT_JF, "LE_INT; JUMP_FALSE", LE_INT, JUMP_FALSE)
SI(GE_INT_JF, "GE_INT; JUMP_FALSE", GE_INT, JUMP_FALSE)
SI(EQ_INT_JF, "EQ_INT; JUMP_FALSE", EQ_INT, JUMP_FALSE)
SI(LT_INT_JT, "LT_INT; JUMP_TRUE", LT_INT, JUMP_TRUE)
SI(GT_INT_JT, "GT_INT; JUMP_TRUE", GT_INT, JUMP_TRUE)
SI(LE_INT_JT, "LE_INT; JUMP_TRUE", LE_INT, JUMP_TRUE)
SI(GE_INT_JT, "GE_INT; JUMP_TRUE", GE_INT, JUMP_TRUE)
SI(EQ_INT_JT, "EQ_INT; JUMP_TRUE", EQ_INT, JUMP_TRUE)
SI(INC_LOCAL, "PUSH_LOCAL a; ADD_INT k; POP_LOCAL a", PUSH_LOCAL, ADD_INT, POP_LOCAL)
SI(FOR_LOOP,  "INC_LOCAL a k; PUSH_LOCAL2 a b; LE (k > 0) or GE; JUMP_TRUE back",
      PUSH_LOCAL, ADD_INT, POP_LOCAL, PUSH_LOCAL2, LE, JUMP_TRUE)
SI(ADD_LL_POP, "PUSH_LOCAL2 a b; ADD; POP_LOCAL c", PUSH_LOCAL2, ADD, POP_LOCAL)
SI(SUB_LL_POP, "PUSH_LOCAL2 a b; SUB; POP_LOCAL c", PUSH_LOCAL2, SUB, POP_LOCAL)
SI(AT_LL,      "PUSH_LOCAL2 a i; AT", PUSH_LOCAL2, AT)
SI(ATPUT_POP,  "ATPUT; POP", ATPUT, POP)
SI(ATPUT_LLC,  "PUSH_LOCAL2 a i; PUSH_NIL, PUSH_TRUE or PUSH_FALSE; ATPUT; POP",
      PUSH_LOCAL2, PUSH_NIL, ATPUT, POP)
SI(ATPUT_LLL,  "PUSH_LOCAL2 a i; PUSH_LOCAL v; ATPUT; POP", PUSH_LOCAL2, PUSH_LOCAL, ATPUT, POP)
SI(LL_LT_JF, "PUSH_LOCAL2 a b; LT; JUMP_FALSE", PUSH_LOCAL2, LT, JUMP_FALSE)
SI(LL_GT_JF, "PUSH_LOCAL2 a b; GT; JUMP_FALSE", PUSH_LOCAL2, GT, JUMP_FALSE)
SI(LL_LE_JF, "PUSH_LOCAL2 a b; LE; JUMP_FALSE", PUSH_LOCAL2, LE, JUMP_FALSE)
SI(LL_GE_JF, "PUSH_LOCAL2 a b; GE; JUMP_FALSE", PUSH_LOCAL2, GE, JUMP_FALSE)
SI(LL_EQ_JF, "PUSH_LOCAL2 a b; EQ; JUMP_FALSE", PUSH_LOCAL2, EQ, JUMP_FALSE)
SI(LL_NE_JF, "PUSH_LOCAL2 a b; NE; JUMP_FALSE", PUSH_LOCAL2, NE, JUMP_FALSE)
SI(LL_LT_JT, "PUSH_LOCAL2 a b; LT; JUMP_TRUE", PUSH_LOCAL2, LT, JUMP_TRUE)
SI(LL_GT_JT, "PUSH_LOCAL2 a b; GT; JUMP_TRUE", PUSH_LOCAL2, GT, JUMP_TRUE)
SI(LL_LE_JT, "PUSH_LOCAL2 a b; LE; JUMP_TRUE", PUSH_LOCAL2, LE, JUMP_TRUE)
SI(LL_GE_JT, "PUSH_LOCAL2 a b; GE; JUMP_TRUE", PUSH_LOCAL2, GE, JUMP_TRUE)
SI(LL_EQ_JT, "PUSH_LOCAL2 a b; EQ; JUMP_TRUE", PUSH_LOCAL2, EQ, JUMP_TRUE)
SI(LL_NE_JT, "PUSH_LOCAL2 a b; NE; JUMP_TRUE", PUSH_LOCAL2, NE, JUMP_TRUE)
SI(RET_LOCAL, "PUSH_LOCAL; RETURN", PUSH_LOCAL, RETURN)
SI(RET_IVAR,  "PUSH_IVAR; RETURN", PUSH_IVAR, RETURN)
SI(RET_INT,   "PUSH_INT; RETURN", PUSH_INT, RETURN)
SI(RET_NIL,   "PUSH_NIL; RETURN", PUSH_NIL, RETURN)
SI(RET_TRUE,  "PUSH_TRUE; RETURN", PUSH_TRUE, RETURN)
SI(RET_FALSE, "PUSH_FALSE; RETURN", PUSH_FALSE, RETURN)
SI(SELF_SEND0,     "PUSH_SELF; SEND0", PUSH_SELF, SEND0)
SI(SELF_ADD_INT,   "PUSH_SELF; ADD_INT", PUSH_SELF, ADD_INT)
SI(SELF_SUB_INT,   "PUSH_SELF; SUB_INT", PUSH_SELF, SUB_INT)
SI(SELF_LT_INT_JF, "PUSH_SELF; LT_INT; JUMP_FALSE", PUSH_SELF, LT_INT, JUMP_FALSE)
SI(SELF_EQ_INT_JF, "PUSH_SELF; EQ_INT; JUMP_FALSE", PUSH_SELF, EQ_INT, JUMP_FALSE)
SI(LOCAL_SEND0,     "PUSH_LOCAL; SEND0", PUSH_LOCAL, SEND0)
SI(LOCAL_ADD_INT,   "PUSH_LOCAL; ADD_INT", PUSH_LOCAL, ADD_INT)
SI(LOCAL_SUB_INT,   "PUSH_LOCAL; SUB_INT", PUSH_LOCAL, SUB_INT)
SI(LOCAL_LT_INT_JF, "PUSH_LOCAL; LT_INT; JUMP_FALSE", PUSH_LOCAL, LT_INT, JUMP_FALSE)
SI(LOCAL_EQ_INT_JF, "PUSH_LOCAL; EQ_INT; JUMP_FALSE", PUSH_LOCAL, EQ_INT, JUMP_FALSE)
