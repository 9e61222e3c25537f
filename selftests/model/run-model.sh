#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/model/run-model.sh: check the Promela models of the ownership protocol with spin
# (own.pml, the whole protocol; tso.pml, the fast paths under x86-TSO store buffers;
# hydra.pml, messages between two heads: the inbox, its wake-up and room).
# Owns BUILD_DIR/model/ (scratch: one directory per pan run, kept for the trails) and
# nothing else; never edits the tree. TAP 13 on stdout, one line per property plus the
# negative controls, which must be REJECTED. Exit 0 pass, 1 fail, 4 all skipped.
# See Documentation/core/model.md.
set -uo pipefail

usage() {
	cat <<EOF
usage: selftests/model/run-model.sh BUILD_DIR
Verifies selftests/model/own.pml, tso.pml and hydra.pml with spin, exhaustively, in BUILD_DIR/model/.
Environment: BATON_MODEL_JOBS (parallel pan runs, default 2),
BATON_MODEL_FORCE=1 (check again even if the verdicts of a passing run with the same
model, script, spin and compiler are in BUILD_DIR/model/),
BATON_MODEL_EXTRA=1 (also the demonstrations of Documentation/core/model.md
that are not part of make check: the heartbeat without the I5 grant; tso.pml without
store buffers and without membarrier),
SAN=1 (make check SAN=1): skipped, the model does not depend on the build.
EOF
	exit "${1:-1}"
}
case ${1:-} in -h | --help) usage 0 ;; "") usage 1 ;; esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$here/own.pml
tso=$here/tso.pml
hydra=$here/hydra.pml
jobs=${BATON_MODEL_JOBS:-2}
cc=$(command -v gcc || command -v cc || true)
# pan: bounded memory (MB), exact state storage (no bitstate, no compression: COLLAPSE
# halves the memory, under 600 MB a run here, but costs a third more time), a
# hash table of 2^23 slots and a DFS stack deeper than the deepest path (1.5e6 steps).
# -O1: pan runs as fast as with -O2 and compiles a second faster.
PAN_CC="-O1 -w -DMEMLIM=3072 -DNFAIR=3"
PAN_RUN="-m2000000 -w23"
SAFETY="-DSAFETY -DNOCLAIM"
LTL="-a -f"

# ---------------------------------------------------------------- the checks
# Idle in the event loop multiplies the full model's states beyond what make check can
# afford: the main builds leave it out (NO_LOOP) and the loop builds check it with the
# foreign thread, idle, yield and attach, but without BATON_BLOCKING hand-overs, handoff
# and failed creations (which do not touch the loop's words).
LOOP="-DNO_BLOCKING -DNO_HANDOFF -DNO_PHANTOM"
# A build: name|spin -D flags|pan compile flags[|model file, default own.pml]. Its runs go
# one after the other.
# The longest first: make check waits for the last one.
builds=(
"live|-DNT=2 -DNO_LOOP|"
"all3|-DNT=3 -DNO_FOREIGN -DNO_LOOP -DCHECK_MUTEX -DCHECK_SAVE|$SAFETY"
"excl|-DNT=2 -DNO_LOOP -DCHECK_MUTEX -DCHECK_SAVE|$SAFETY"
"live3|-DNT=3 -DNO_FOREIGN -DNO_LOOP|"
"loop|-DNT=2 $LOOP -DCHECK_MUTEX -DCHECK_SAVE|$SAFETY"
"loop-live|-DNT=2 $LOOP|"
"neg-own|-DNT=2 -DNO_LOOP -DBROKEN_OWN -DCHECK_MUTEX|$SAFETY"
"neg-resume|-DNT=2 -DNO_LOOP -DNO_RESUME|$SAFETY"
"neg-kick|-DNT=2 $LOOP -DNO_KICK|"
"tso-mb||$SAFETY|tso.pml"
"tso-cas|-DCAS|$SAFETY|tso.pml"
"neg-tso-mb|-DNO_MEMBARRIER|$SAFETY|tso.pml"
"neg-tso-grant|-DNO_BEAT_GRANT|$SAFETY|tso.pml"
"hydra|-DCHECK_END|$SAFETY|hydra.pml"
"hydra-cap2|-DCHECK_END -DK=3 -DCAP=2|$SAFETY|hydra.pml"
"hydra-live|||hydra.pml"
"hydra-two|-DCHECK_END -DK=1 -DK2=2|$SAFETY|hydra.pml"
"hydra-reach|-DCHECK_END -DREACH_BOTH_FULL|$SAFETY|hydra.pml"
"neg-hydra-early|-DCHECK_END -DEARLY_CHECK|$SAFETY|hydra.pml"
"neg-hydra-clear|-DCHECK_END -DLATE_CLEAR|$SAFETY|hydra.pml"
"neg-hydra-room|-DCHECK_END -DNO_ROOM_RECHECK|$SAFETY|hydra.pml"
"neg-hydra-park|-DCHECK_END -DNO_PARK_RECHECK|$SAFETY|hydra.pml"
"neg-hydra-wake|-DCHECK_END -DWAKE_AS_CORE|$SAFETY|hydra.pml"
"neg-hydra-one|-DCHECK_END -DK=1 -DK2=2 -DROOM_ONE|$SAFETY|hydra.pml"
"neg-hydra-mark|-DCHECK_END -DNO_UNDO_KICK|$SAFETY|hydra.pml"
"neg-hydra-spin|-DPARK_LOAD||hydra.pml"
)
# A run, in TAP order: name|build|pan run flags|expect|description[|shared run]. expect: ok
# (errors: 0 and the search complete) or the error pan must report (a negative control).
# A shared run is the name of an earlier run whose pan search also decides this line: one
# search of the 2-thread model checks mutual exclusion, save/restore (both assertions) and
# invalid end states at once, and any error it finds fails all three lines.
runs=(
"mutex|excl||ok|mutual exclusion: never two threads running VM code (2 VM threads + 1 foreign)"
"deadlock|excl||ok|no invalid end state (deadlock) (2 VM threads + 1 foreign)|mutex"
"stranded|live|$LTL|ok|no waiter asleep while the VM is free, weak fairness (2 VM threads + 1 foreign)"
"save|excl||ok|installed work is saved before another owner runs (2 VM threads + 1 foreign)|mutex"
"all3|all3||ok|3 VM threads: mutual exclusion, save/restore and no invalid end state"
"stranded3|live3|$LTL|ok|3 VM threads: no waiter asleep while the VM is free, weak fairness"
"loop|loop||ok|idle in the event loop: mutual exclusion, save/restore and no invalid end state"
"loop-live|loop-live|$LTL|ok|idle in the event loop: no waiter asleep while the VM is free or its owner sleeps in the loop, weak fairness"
"neg-own|neg-own|-E|assertion violated|negative control: own as a load then a store (no CAS) must break mutual exclusion"
"neg-resume|neg-resume||invalid end state|negative control: a takeover without hb_resume() must deadlock (I7)"
"neg-kick|neg-kick|$LTL|acceptance cycle|negative control: a queueing thread that does not kick the event loop must strand itself behind an owner asleep there"
"tso-mb|tso-mb||ok|x86-TSO, membarrier fast path: mutual exclusion and no lost wake-up (invalid end state)"
"tso-cas|tso-cas||ok|x86-TSO, CAS fast path: mutual exclusion and no lost wake-up (invalid end state)"
"neg-tso-mb|neg-tso-mb||assertion violated|negative control: a take-over that fences only itself (no membarrier) must break mutual exclusion under TSO"
"neg-tso-grant|neg-tso-grant||invalid end state|negative control: a heartbeat that does not give a waiter the VM of a callout that never returns must strand it under TSO"
"hydra|hydra||ok|Hydra, 2 heads sending 2 messages each way, inbox of 1: every message once and in order, inbox within capacity, all delivered when nothing can move"
"hydra-cap2|hydra-cap2||ok|Hydra, 2 heads sending 3 messages each way, inbox of 2: the same"
"hydra-live|hydra-live|$LTL|ok|Hydra, 2 messages each way, inbox of 1: eventually every message is delivered and both heads sleep for good, weak fairness"
"hydra-two|hydra-two||ok|Hydra, 2 senders in one head (1 and 2 messages) to a head that sends 1 back, inbox of 1: the same"
"hydra-reach|hydra-reach||assertion violated  !((rw[0]&&rw[1]))|Hydra: both senders do wait for room at the same time (the full-inboxes case is reached)"
"neg-hydra-early|neg-hydra-early||assertion violated delivered|negative control: a head that looks at the interrupt before publishing loop_sleeping must lose a message"
"neg-hydra-clear|neg-hydra-clear||assertion violated delivered|negative control: a recipient that clears the notify word after taking messages (not before) must lose a message"
"neg-hydra-room|neg-hydra-room||assertion violated delivered|negative control: a sender that waits for room without trying the count again after registering must deadlock both heads"
"neg-hydra-park|neg-hydra-park||assertion violated delivered|negative control: a head that parks (as baton_idle does today) without looking at the interrupt after releasing must lose a message"
"neg-hydra-wake|neg-hydra-wake||assertion violated delivered|negative control: a wake that loads the owner before raising the interrupt (baton_wake's order) must lose a message to a head going to park"
"neg-hydra-one|neg-hydra-one||assertion violated delivered|negative control: a room notification that resumes only one of two senders waiting for room must strand the other"
"neg-hydra-mark|neg-hydra-mark||assertion violated delivered|negative control: hy_take's room mark as on main (no undo that tells the subscribers) must deadlock two heads with inboxes of 1"
"neg-hydra-spin|neg-hydra-spin|$LTL|acceptance cycle|negative control: a park path that only loads the interrupt (as on main) must spin instead of sleeping"
)
if [[ ${BATON_MODEL_EXTRA:-0} == 1 ]]; then
	builds+=("neg-i5|-DNT=2 -DNO_I5_GRANT|")
	runs+=("neg-i5|neg-i5|$LTL|acceptance cycle|negative control: a heartbeat without the I5 grant must strand a waiter")
	builds+=("tso-sc|-DSC -DNO_MEMBARRIER|$SAFETY|tso.pml")
	runs+=("tso-sc|tso-sc||ok|demonstration: with sequential consistency the take-over needs no membarrier (the store buffers are the race)")
fi

field() { local IFS='|'; local -a f; read -r -a f <<<"$1"; echo "${f[$2]:-}"; }

echo "TAP version 13"
if [[ -z $(command -v spin) || -z $cc || ${SAN:-0} == 1 ]]; then
	why="spin is not installed (apt-get install spin)"
	[[ -z $cc ]] && why="no C compiler to build pan"
	# The model does not depend on the build: the plain make check has checked it.
	[[ ${SAN:-0} == 1 ]] && why="SAN=1: the model does not depend on the build"
	echo "1..1"
	echo "ok 1 spin model of the ownership protocol # SKIP $why"
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0"
	exit 4
fi
mkdir -p "$1/model" || exit 1
work=$(cd "$1/model" && pwd) # absolute: the builds and runs cd around

# The verdicts depend on the model, this script, spin and the C compiler, never on the
# build: when none of them changed since a run that passed, its TAP is shown again rather
# than spending a minute of CPU to recompute it. A failed run is never reused.
key=$({ cat "$model" "$tso" "$hydra" "${BASH_SOURCE[0]}"; spin -V 2>&1; "$cc" --version 2>&1 | head -n 1
	echo "${BATON_MODEL_EXTRA:-0}"; } | sha256sum | cut -c1-16)
cache=$work/passed.$key
if [[ ${BATON_MODEL_FORCE:-0} != 1 && -s $cache ]]; then
	sed -n '1p' "$cache"
	echo "# verdicts of $(date -r "$cache" '+%F %T') reused: own.pml, tso.pml, hydra.pml, run-model.sh, spin and" \
		"$(basename "$cc") are unchanged (key $key; BATON_MODEL_FORCE=1 checks again)"
	sed -n '2,$p' "$cache"
	exit 0
fi
rm -f "$work"/passed.*
out=$work/tap.out
exec 3>&1 >"$out" # the TAP goes to $out, then to stdout at the end
echo "1..${#runs[@]}"
echo "# $(spin -V 2>&1 | head -n 1); pan built with $cc $PAN_CC; runs: pan $PAN_RUN"

now_ms() { local t=${EPOCHREALTIME/./}; echo $((${t#0} / 1000)); }

# Build one model in $work/BUILD, then do its runs in $work/RUN: each leaves pan.log (or
# the failing step's log), ms (its time) and, after an error, own.pml.trail.
do_build() {
	local b=$1 defs=$2 ccdefs=$3 mf=${4:-own.pml} d=$work/$1 t0 r name
	rm -rf "$d" && mkdir -p "$d" && cd "$d" || return
	cp "$here/$mf" "$mf"
	t0=$(now_ms)
	# shellcheck disable=SC2086 # the flag lists are meant to split
	if ! spin $defs -a "$mf" >build.log 2>&1 ||
		! "$cc" $PAN_CC $ccdefs -o pan pan.c >>build.log 2>&1; then
		rm -f pan
	fi
	echo $(($(now_ms) - t0)) >ms
	for r in "${runs[@]}"; do
		[[ $(field "$r" 1) == "$b" && -z $(field "$r" 5) ]] || continue
		name=$(field "$r" 0)
		mkdir -p "$work/$name.run" || continue
		cd "$work/$name.run" || continue
		rm -f pan.log ./*.pml.trail
		cp "$d/$mf" .
		t0=$(now_ms)
		if [[ -x $d/pan ]]; then
			# shellcheck disable=SC2046,SC2086 # so are these
			timeout 300 "$d/pan" $PAN_RUN $(field "$r" 2) >pan.log 2>&1
			echo "pan exit status $?" >>pan.log
		else
			cp "$d/build.log" pan.log
		fi
		echo $(($(now_ms) - t0)) >ms
	done
}

# At most $jobs builds (and their runs) at once: 2 cores are shared.
running=0
for bl in "${builds[@]}"; do
	if ((running >= jobs)); then
		wait -n
		running=$((running - 1))
	fi
	do_build "$(field "$bl" 0)" "$(field "$bl" 1)" "$(field "$bl" 2)" "$(field "$bl" 3)" &
	running=$((running + 1))
done
wait

# ---------------------------------------------------------------- verdicts

pass=0 fail=0
for i in "${!runs[@]}"; do
	r=${runs[$i]}
	name=$(field "$r" 0) build=$(field "$r" 1) pflags=$(field "$r" 2)
	expect=$(field "$r" 3) desc=$(field "$r" 4)
	defs= mf=own.pml
	for bl in "${builds[@]}"; do
		[[ $(field "$bl" 0) == "$build" ]] && defs=$(field "$bl" 1) mf=$(field "$bl" 3)
	done
	mf=${mf:-own.pml}
	shared=$(field "$r" 5)
	d=$work/${shared:-$name}.run log=$work/${shared:-$name}.run/pan.log
	ms=$(cat "$d/ms" 2>/dev/null || echo 0)
	errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' "$log" 2>/dev/null | tail -n 1)
	stored=$(sed -nE 's/^ *([0-9.e+]+) states, stored.*/\1/p' "$log" 2>/dev/null | tail -n 1)
	trans=$(sed -nE 's/^ *([0-9.e+]+) transitions.*/\1/p' "$log" 2>/dev/null | tail -n 1)
	depth=$(sed -nE 's/.*depth reached ([0-9]+).*/\1/p' "$log" 2>/dev/null | tail -n 1)
	mem=$(sed -nE 's/^ *([0-9.]+)\s+total actual memory usage.*/\1/p' "$log" 2>/dev/null | tail -n 1)
	found=$(grep -m 1 -E '^pan:[0-9]+: ' "$log" 2>/dev/null | sed -E 's/ \(at depth [0-9]+\)//')
	incomplete=$(grep -m 1 -E 'max search depth too small|reached -DMEMLIM bound|out of memory' "$log" 2>/dev/null)
	replay="cd $d && spin $defs -t -p $mf"
	ok=0 why=
	if [[ -z $errors ]]; then
		why="pan did not finish (see $log)"
	elif [[ $expect == ok ]]; then
		if ((errors != 0)); then
			why="$found"
		elif [[ -n $incomplete ]]; then
			why="search incomplete: $incomplete"
		else
			ok=1
		fi
	elif ((errors == 0)); then
		why="the broken model was NOT rejected: the check cannot fail"
	elif [[ $found != *"$expect"* ]]; then
		why="rejected, but for another reason: $found"
	else
		ok=1
	fi
	[[ -n $shared ]] && echo "# $name: decided by the search of $shared" ||
	echo "# $name: ${stored:-?} states stored, ${trans:-?} transitions, depth ${depth:-?}," \
		"${mem:-?} MB, $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (spin $defs; pan${pflags:+ $pflags})"
	if [[ $expect != ok && -n $found ]]; then
		echo "# $name: spin says \"${found#pan:1: }\", as it must; trail: $replay"
	fi
	if ((ok)); then
		echo "ok $((i + 1)) $desc"
		pass=$((pass + 1))
	else
		echo "not ok $((i + 1)) $desc"
		echo "# $name: $why"
		[[ -f $d/$mf.trail ]] && echo "# $name: replay: $replay"
		tail -n 25 "$log" 2>/dev/null | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
done

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
exec 1>&3 3>&-
cat "$out"
((fail == 0)) && mv -f "$out" "$cache"
((fail == 0))
