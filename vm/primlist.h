// SPDX-License-Identifier: MIT
/*
 * vm/primlist.h: the list of generic primitives, one X-macro entry each:
 * PRIM_ENTRY(name) is implemented as prim_name() in vm/prim*.c and used from
 * st/kernel as <primitive: name>. Numbers follow list order, so the
 * order is part of nothing persistent (there is no image).
 * See Documentation/vm/interpreter.md.
 */
/* clang-format off */
#ifndef PRIM_ENTRY
#error "define PRIM_ENTRY(name) before including vm/primlist.h"
#endif
/* objects (vm/prim.c) */
PRIM_ENTRY(basicNew) PRIM_ENTRY(basicNewSize) PRIM_ENTRY(basicSize) PRIM_ENTRY(basicAt)
PRIM_ENTRY(basicAtPut) PRIM_ENTRY(instVarAt) PRIM_ENTRY(instVarAtPut) PRIM_ENTRY(identityHash)
PRIM_ENTRY(shallowCopy) PRIM_ENTRY(identical) PRIM_ENTRY(classOf) PRIM_ENTRY(replaceFrom)
PRIM_ENTRY(respondsTo) PRIM_ENTRY(instSize) PRIM_ENTRY(pin) PRIM_ENTRY(unpin)
PRIM_ENTRY(isPinned) PRIM_ENTRY(becomeForward) PRIM_ENTRY(makeClass)
/* classes */
PRIM_ENTRY(className) PRIM_ENTRY(selectors) PRIM_ENTRY(includesSelector)
PRIM_ENTRY(compileMethod) PRIM_ENTRY(lookupSelector) PRIM_ENTRY(classFormat)
PRIM_ENTRY(instVarNames) PRIM_ENTRY(classVarAt)
/* strings and symbols */
PRIM_ENTRY(stringEq) PRIM_ENTRY(stringCompare) PRIM_ENTRY(stringHash) PRIM_ENTRY(asSymbol)
PRIM_ENTRY(symbolAsString) PRIM_ENTRY(stringIndexOf) PRIM_ENTRY(stringAsNumber)
PRIM_ENTRY(symbolNumArgs) PRIM_ENTRY(stringFromBytes) PRIM_ENTRY(bytesLine) PRIM_ENTRY(bytesNewForFill)
/* characters */
PRIM_ENTRY(charValue) PRIM_ENTRY(charFromValue)
/* system */
PRIM_ENTRY(outString) PRIM_ENTRY(errString) PRIM_ENTRY(flushOut) PRIM_ENTRY(quit)
PRIM_ENTRY(globalAt) PRIM_ENTRY(globalAtPut) PRIM_ENTRY(globalIncludes)
PRIM_ENTRY(globalBindingOf) PRIM_ENTRY(garbageCollect) PRIM_ENTRY(scavenge) PRIM_ENTRY(vmStats)
PRIM_ENTRY(arguments) PRIM_ENTRY(blockingSleep) PRIM_ENTRY(nanoClock) PRIM_ENTRY(milliClock)
PRIM_ENTRY(wallClock) PRIM_ENTRY(getenv) PRIM_ENTRY(readLine) PRIM_ENTRY(monoClock)
/* finalization (vm/final.c) */
PRIM_ENTRY(finalAdd) PRIM_ENTRY(finalRemove) PRIM_ENTRY(finalNext) PRIM_ENTRY(finalSem)
PRIM_ENTRY(finalSemSet)
/* numbers (vm/prim_num.c) */
PRIM_ENTRY(intAdd) PRIM_ENTRY(intSub) PRIM_ENTRY(intMul) PRIM_ENTRY(intLess)
PRIM_ENTRY(intGreater) PRIM_ENTRY(intLessEq) PRIM_ENTRY(intGreaterEq) PRIM_ENTRY(intEq)
PRIM_ENTRY(intNe) PRIM_ENTRY(intQuo) PRIM_ENTRY(intRem) PRIM_ENTRY(intDiv) PRIM_ENTRY(intMod)
PRIM_ENTRY(intDivide) PRIM_ENTRY(intAnd) PRIM_ENTRY(intOr) PRIM_ENTRY(intXor)
PRIM_ENTRY(intShift) PRIM_ENTRY(intAsFloat) PRIM_ENTRY(intPrintBase) PRIM_ENTRY(intHighBit)
PRIM_ENTRY(intHash) PRIM_ENTRY(intNegated) PRIM_ENTRY(intSqrt) PRIM_ENTRY(floatAdd)
PRIM_ENTRY(floatSub) PRIM_ENTRY(floatMul) PRIM_ENTRY(floatDiv) PRIM_ENTRY(floatLess)
PRIM_ENTRY(floatGreater) PRIM_ENTRY(floatLessEq) PRIM_ENTRY(floatGreaterEq) PRIM_ENTRY(floatEq)
PRIM_ENTRY(floatNe) PRIM_ENTRY(floatTruncated) PRIM_ENTRY(floatPrint) PRIM_ENTRY(floatSqrt)
PRIM_ENTRY(floatSin) PRIM_ENTRY(floatCos) PRIM_ENTRY(floatTan) PRIM_ENTRY(floatArcTan)
PRIM_ENTRY(floatLn) PRIM_ENTRY(floatExp) PRIM_ENTRY(floatFloor) PRIM_ENTRY(floatCeiling)
PRIM_ENTRY(floatFractionPart) PRIM_ENTRY(floatHash) PRIM_ENTRY(floatRaisedTo)
PRIM_ENTRY(floatIsNaN) PRIM_ENTRY(floatIsInf) PRIM_ENTRY(floatRound) PRIM_ENTRY(floatInfinity)
PRIM_ENTRY(floatNaN) PRIM_ENTRY(floatEpsilon) PRIM_ENTRY(floatMax) PRIM_ENTRY(floatMin)
PRIM_ENTRY(floatNegated) PRIM_ENTRY(floatAbs)
/* processes and exceptions (vm/prim_proc.c) */
PRIM_ENTRY(procFork) PRIM_ENTRY(procResume) PRIM_ENTRY(procSuspend) PRIM_ENTRY(procTerminate)
PRIM_ENTRY(procYield) PRIM_ENTRY(procActive) PRIM_ENTRY(procPriority)
PRIM_ENTRY(procSetPriority) PRIM_ENTRY(procState) PRIM_ENTRY(procNewFor) PRIM_ENTRY(semSignal)
PRIM_ENTRY(semWait) PRIM_ENTRY(semWaitTimeout) PRIM_ENTRY(semInit) PRIM_ENTRY(timerSignal)
PRIM_ENTRY(nextUnwindBlock) PRIM_ENTRY(printTrace) PRIM_ENTRY(procMainFailed)
PRIM_ENTRY(procIsMain) PRIM_ENTRY(procWaitingCount) PRIM_ENTRY(procOsThread)
PRIM_ENTRY(procForkMain)
PRIM_ENTRY(procPreemptEqual)
/* contexts (vm/ctx.c) */
PRIM_ENTRY(ctxParent) PRIM_ENTRY(ctxIsDead) PRIM_ENTRY(ctxLine) PRIM_ENTRY(ctxAt)
PRIM_ENTRY(ctxMark) PRIM_ENTRY(ctxNextHandler) PRIM_ENTRY(unwoundHere)
/* the unhandled-error report (vm/prim_report.c) */
PRIM_ENTRY(basicPrintString) PRIM_ENTRY(excReportHeader) PRIM_ENTRY(excReportLine)
PRIM_ENTRY(semSize) PRIM_ENTRY(procStop)
/* the FFI (vm/ffi/prim_ffi.c) */
PRIM_ENTRY(ffiOpen) PRIM_ENTRY(ffiDefine) PRIM_ENTRY(ffiCall) PRIM_ENTRY(ffiCallArgs)
PRIM_ENTRY(ffiLastError) PRIM_ENTRY(ffiCbNew) PRIM_ENTRY(ffiCbAddress) PRIM_ENTRY(ffiCbPriority)
PRIM_ENTRY(ffiCbFree) PRIM_ENTRY(ffiCbArgs) PRIM_ENTRY(ffiCbReturn) PRIM_ENTRY(eaNull)
PRIM_ENTRY(eaAllocate) PRIM_ENTRY(eaFree) PRIM_ENTRY(eaPlus) PRIM_ENTRY(eaAddress)
PRIM_ENTRY(eaFreed) PRIM_ENTRY(eaPeek) PRIM_ENTRY(eaPoke) PRIM_ENTRY(ffiLastErrno)
PRIM_ENTRY(ffiRingCheck) PRIM_ENTRY(ffiRing) PRIM_ENTRY(ffiRingDone)
/* SystemIO (vm/io/prim_io.c: asynchronous; vm/io/prim_sys.c: synchronous) */
PRIM_ENTRY(ioRead) PRIM_ENTRY(ioWrite) PRIM_ENTRY(ioRecv) PRIM_ENTRY(ioSend) PRIM_ENTRY(ioAccept)
PRIM_ENTRY(ioConnect) PRIM_ENTRY(ioOpen) PRIM_ENTRY(ioClose) PRIM_ENTRY(ioCloseFinalized)
PRIM_ENTRY(ioStat) PRIM_ENTRY(ioFstat) PRIM_ENTRY(ioFsync) PRIM_ENTRY(ioPoll)
PRIM_ENTRY(ioRecvFrom) PRIM_ENTRY(ioSendTo) PRIM_ENTRY(ioResolve) PRIM_ENTRY(ioTimeout)
PRIM_ENTRY(ioSocket) PRIM_ENTRY(ioBind) PRIM_ENTRY(ioListen) PRIM_ENTRY(ioSetOption)
PRIM_ENTRY(ioShutdown) PRIM_ENTRY(ioLocalAddress) PRIM_ENTRY(ioRemoteAddress)
PRIM_ENTRY(ioAddress) PRIM_ENTRY(ioPathAddress) PRIM_ENTRY(ioAnyAddress6)
PRIM_ENTRY(ioAnyAddress4) PRIM_ENTRY(ioHostOf) PRIM_ENTRY(ioPortOf) PRIM_ENTRY(ioUnlink)
PRIM_ENTRY(ioRmdir) PRIM_ENTRY(ioMkdir) PRIM_ENTRY(ioRename) PRIM_ENTRY(ioTruncate)
PRIM_ENTRY(ioEntries) PRIM_ENTRY(ioErrorString) PRIM_ENTRY(ioErrno) PRIM_ENTRY(ioConstant)
PRIM_ENTRY(ioIsatty)
/* running as a daemon (vm/io/daemon.c) */
PRIM_ENTRY(listenFds) PRIM_ENTRY(sdNotify) PRIM_ENTRY(logWrite)
PRIM_ENTRY(spawnWorker) PRIM_ENTRY(reapWorker) PRIM_ENTRY(signalWorker) PRIM_ENTRY(acceptNow)
/* packages and fileIn: (vm/prim_pkg.c) */
PRIM_ENTRY(pkgCompile) PRIM_ENTRY(pkgProgramDir) PRIM_ENTRY(pkgSystemDirs)
/* signals (vm/io/sig.c) */
PRIM_ENTRY(sigHandle) PRIM_ENTRY(sigKill) PRIM_ENTRY(sigPid) PRIM_ENTRY(sigNames)
PRIM_ENTRY(procInterrupt)
/* JSON (vm/prim_json.c; st/packages/JSON.st) */
PRIM_ENTRY(jsonParse) PRIM_ENTRY(jsonQuote)
/* protocol parsing: copies of byte ranges (vm/prim_bytes.c) */
PRIM_ENTRY(bytesLowerCopy) PRIM_ENTRY(bytesTrimCopy)
/* --trace (vm/prim.c) */
PRIM_ENTRY(traceFlush)
/* Hydra: heads and their messages (vm/hydra/prim_hydra.c) */
PRIM_ENTRY(hydraSpawn) PRIM_ENTRY(hydraCurrent) PRIM_ENTRY(hydraParent) PRIM_ENTRY(hydraSend)
PRIM_ENTRY(hydraReceive) PRIM_ENTRY(hydraWait) PRIM_ENTRY(hydraTerminate)
PRIM_ENTRY(hydraIsRunning) PRIM_ENTRY(hydraInboxSize) PRIM_ENTRY(hydraReceiveNow)
PRIM_ENTRY(hydraSendNow) PRIM_ENTRY(hydraDictTag) PRIM_ENTRY(hydraReceiveWait)
/* files run unit by unit, gst's regression mode (vm/filein.c) */
PRIM_ENTRY(fiOpen) PRIM_ENTRY(fiNext) PRIM_ENTRY(fiClose) PRIM_ENTRY(fiIsUnitwise)
PRIM_ENTRY(fiRegression) PRIM_ENTRY(fiPrintValue) PRIM_ENTRY(fiSetStatus)
/* dates and time zones (vm/prim_date.c; st/kernel/25-Date.st) */
PRIM_ENTRY(dateUtcClock) PRIM_ENTRY(dateBias) PRIM_ENTRY(dateZoneName)
/* regular expressions (vm/prim_regex.c; st/kernel/22-GstString.st) */
PRIM_ENTRY(regexSearch)
/* class change of an instance, case-insensitive String comparison (vm/prim_str.c) */
PRIM_ENTRY(changeClass) PRIM_ENTRY(stringCompareNoCase)
/* GNU Smalltalk's FloatD/FloatE/FloatQ (vm/prim_float.c) */
PRIM_ENTRY(floatAsClass) PRIM_ENTRY(floatExponent) PRIM_ENTRY(floatTimesTwoPower)
PRIM_ENTRY(floatFromBytes) PRIM_ENTRY(floatClassInfo) PRIM_ENTRY(floatClassLimit)
PRIM_ENTRY(floatPrintGst) PRIM_ENTRY(floatRegressionString) PRIM_ENTRY(floatStep) PRIM_ENTRY(floatSignBit)
PRIM_ENTRY(floatArcSin) PRIM_ENTRY(floatArcCos)
/* weak objects (vm/prim_coll.c) */
PRIM_ENTRY(objMakeWeak) PRIM_ENTRY(objIsWeak)
/* GNU Smalltalk reflection: reshaping classes, asOop, becomeForward: (vm/prim_refl.c) */
PRIM_ENTRY(reflAsOop) PRIM_ENTRY(reflBecomeForward) PRIM_ENTRY(reflWaitingOn)
PRIM_ENTRY(reflMakeClass) PRIM_ENTRY(reflReshape) PRIM_ENTRY(reflInstanceCount)
PRIM_ENTRY(reflResumeWaiting) PRIM_ENTRY(reflBecome)
/* lightweight classes: Behavior new, become: between classes (vm/prim_objects.c) */
PRIM_ENTRY(objectsNewBehavior) PRIM_ENTRY(objectsBecomeClass)
