// SPDX-License-Identifier: MIT
/*
 * vm/prims.h: the list of generic primitives, one X-macro entry each:
 * P(name) is implemented as prim_name() in vm/prim*.c and used from
 * st/kernel as <primitive: name>. Numbers follow list order, so the
 * order is part of nothing persistent (there is no image).
 * See Documentation/vm/interpreter.md.
 */
/* clang-format off */
#ifndef P
#error "define P(name) before including vm/prims.h"
#endif
/* objects (vm/prim.c) */
P(basicNew) P(basicNewSize) P(basicSize) P(basicAt) P(basicAtPut) P(instVarAt)
P(instVarAtPut) P(identityHash) P(shallowCopy) P(identical) P(classOf)
P(replaceFrom) P(respondsTo) P(instSize) P(pin) P(unpin) P(isPinned)
P(becomeForward) P(makeClass)
/* classes */
P(className) P(selectors) P(includesSelector) P(compileMethod) P(lookupSelector)
P(classFormat) P(instVarNames) P(classVarAt)
/* strings and symbols */
P(stringEq) P(stringCompare) P(stringHash) P(asSymbol) P(symbolAsString)
P(stringIndexOf) P(stringAsNumber) P(symbolNumArgs) P(stringFromBytes)
/* characters */
P(charValue) P(charFromValue)
/* system */
P(outString) P(errString) P(flushOut) P(quit) P(globalAt) P(globalAtPut)
P(globalIncludes) P(globalBindingOf) P(garbageCollect) P(scavenge) P(vmStats)
P(arguments) P(blockingSleep) P(nanoClock) P(milliClock) P(wallClock) P(getenv)
P(readLine)
/* numbers (vm/prim_num.c) */
P(intAdd) P(intSub) P(intMul) P(intLess) P(intGreater) P(intLessEq) P(intGreaterEq)
P(intEq) P(intNe) P(intQuo) P(intRem) P(intDiv) P(intMod) P(intDivide) P(intAnd) P(intOr)
P(intXor) P(intShift) P(intAsFloat) P(intPrintBase) P(intHighBit) P(intHash)
P(intNegated) P(intSqrt)
P(floatAdd) P(floatSub) P(floatMul) P(floatDiv) P(floatLess) P(floatGreater)
P(floatLessEq) P(floatGreaterEq) P(floatEq) P(floatNe) P(floatTruncated)
P(floatPrint) P(floatSqrt) P(floatSin) P(floatCos) P(floatTan) P(floatArcTan)
P(floatLn) P(floatExp) P(floatFloor) P(floatCeiling) P(floatFractionPart)
P(floatHash) P(floatRaisedTo) P(floatIsNaN) P(floatIsInf) P(floatRound)
P(floatInfinity) P(floatNaN) P(floatEpsilon) P(floatMax) P(floatMin)
P(floatNegated) P(floatAbs)
/* processes and exceptions (vm/prim_proc.c) */
P(procFork) P(procResume) P(procSuspend) P(procTerminate) P(procYield)
P(procActive) P(procPriority) P(procSetPriority) P(procState) P(procNewFor)
P(semSignal) P(semWait) P(semWaitTimeout) P(semInit) P(timerSignal)
P(nextUnwindBlock) P(printTrace)
P(procMainFailed) P(procIsMain) P(procWaitingCount) P(procOsThread) P(procForkMain)
/* contexts (vm/ctx.c) */
P(ctxParent) P(ctxIsDead) P(ctxLine) P(ctxAt) P(ctxMark) P(ctxNextHandler) P(unwoundHere)
/* the unhandled-error report (vm/prim_report.c) */
P(basicPrintString) P(excReportHeader) P(excReportLine)
P(semSize) P(procStop)
/* the FFI (vm/ffi/prim_ffi.c) */
P(ffiOpen) P(ffiDefine) P(ffiCall) P(ffiCallArgs) P(ffiLastError)
P(ffiCbNew) P(ffiCbAddress) P(ffiCbPriority) P(ffiCbFree) P(ffiCbArgs) P(ffiCbReturn)
P(eaNull) P(eaAllocate) P(eaFree) P(eaPlus) P(eaAddress) P(eaFreed) P(eaPeek) P(eaPoke)
