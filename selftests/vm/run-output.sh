#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/vm/run-output.sh: no output is lost. Runs BUILD_DIR/baton where the shell must
# take part: fatal signals sent from outside (kill -INT/-TERM once a marker line appears on
# a pipe), crashes (SIGSEGV, SIGABRT), a callout blocking the only VM thread, an idle VM, stdout on
# /dev/full and stdout closed. Owns a temporary directory and nothing else. TAP 13 on
# stdout; exit 0 pass, 1 fail, 4 skipped (kselftest). See Documentation/language.md
# ("Output").
#
# Usage: selftests/vm/run-output.sh [BUILD_DIR]
set -uo pipefail

build=${1:-build}
baton=$build/baton
# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
[[ -x $baton ]] || tap_skip_all output "baton not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-output.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# Background jobs of a shell without job control start with SIGINT ignored, and baton
# keeps an ignored SIGINT ignored: job control gives them the default.
set -m
ulimit -c 0 # the crash tests must not leave cores behind

echo "TAP version 13"
TAP_ERR=$tmp/err

# check NAME WANT_STATUS WANT_STDOUT: compares the last run's status and $tmp/out.
check() {
	local got
	got=$(cat "$tmp/out")
	if [[ $rc == "$2" && $got == "$3" ]]; then
		ok "$1"
	else
		not_ok "$1" "status: expected $2, got $rc" "stdout: expected '$3'" "stdout: got '$got'"
	fi
}

# A program that has printed "pending" (buffered, not yet written), then tells the script
# it is ready on stderr through an unthreaded FFI write(2) (not a callout, so nothing is
# flushed), then computes forever.
cat >"$tmp/spin.st" <<'EOF'
| libc write |
libc := ExternalLibrary open: 'libc.so.6'.
write := (libc function: 'write' returns: #int64 arguments: #(#int32 #string #uint64)) unthreaded.
'pending' displayNl.
write callWith: 2 with: 'ready' , (String with: Character lf) with: 6.
[true] whileTrue: [3 + 4]
EOF

# run_until_ready PROGRAM [VMARGS...]: starts baton in the background, stdout to $tmp/out,
# and waits (at most 10 s) for its first stderr line.
run_until_ready() {
	local prog=$1 line=
	shift
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$baton" "$@" "$prog" >"$tmp/out" 2>"$tmp/fifo" &
	pid=$!
	exec 3<"$tmp/fifo"
	read -r -t 10 line <&3
	ready=$line
}
finish_run() {
	wait "$pid"
	rc=$?
	pid=
	cat <&3 >"$tmp/err"
	exec 3<&-
}

for sig in INT TERM; do
	run_until_ready "$tmp/spin.st"
	if [[ $ready != ready ]]; then
		kill -KILL "$pid"
		finish_run
		not_ok "SIG$sig: buffered output written before the signal ends baton" \
			"no 'ready' line on stderr within 10 s (got '$ready')"
		continue
	fi
	kill -"$sig" "$pid"
	finish_run
	check "SIG$sig: buffered output written before the signal ends baton" \
		$((128 + $(kill -l "$sig"))) pending
done

# Crashes, raised synchronously by the program itself (no marker needed).
for sig in SEGV ABRT; do
	num=$(kill -l "$sig")
	cat >"$tmp/crash.st" <<EOF
| raise |
raise := ((ExternalLibrary open: 'libc.so.6') function: 'raise' returns: #int32 arguments: #(#int32)) unthreaded.
'pending' displayNl.
raise callWith: $num.
'not reached' displayNl.
EOF
	"$baton" "$tmp/crash.st" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	want=$((128 + num))
	# make SAN=1: baton passes the crash on to the sanitizer's handler, which reports it
	# and exits 1 (after the output was written: that is what is checked)
	grep -q 'Sanitizer:DEADLYSIGNAL' "$tmp/err" && want=1
	check "SIG$sig (a crash): buffered output written, status stays the signal's" \
		"$want" pending
done

# first_line_while_waiting NAME EXPECTED PROGRAM [VMARGS...]: runs baton with stdout on a
# fifo and passes when its first stdout line, read (at most 10 s) while baton still waits,
# is EXPECTED; then ends baton with SIGTERM.
first_line_while_waiting() {
	local name=$1 want=$2 prog=$3 line=
	shift 3
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$baton" "$@" "$prog" >"$tmp/fifo" 2>"$tmp/err" &
	pid=$!
	exec 3<"$tmp/fifo"
	read -r -t 10 line <&3
	kill -TERM "$pid"
	wait "$pid"
	pid=
	exec 3<&-
	if [[ $line == "$want" ]]; then
		ok "$name"
	else
		not_ok "$name" "stdout: expected '$want' within 10 s, got '$line'"
	fi
}

# The only VM thread blocks in a callout: what was printed before it is written now (the
# script sees it while baton still sleeps), not when the callout returns.
cat >"$tmp/block.st" <<'EOF'
'before the callout' displayNl.
Smalltalk blockingSleep: 60000.
'not reached' displayNl.
EOF
first_line_while_waiting "output written while every VM thread is in a callout (--max-threads 1)" \
	"before the callout" "$tmp/block.st" --max-threads 1

# The VM goes idle (every process waits on a Delay): what was printed is written now.
cat >"$tmp/idle.st" <<'EOF'
'before going idle' displayNl.
(Delay forSeconds: 60) wait.
'not reached' displayNl.
EOF
first_line_while_waiting "output written when the VM goes idle" "before going idle" "$tmp/idle.st"

# Write errors: reported once on stderr, status 74 (EX_IOERR).
err_check() {
	local name=$1 want=$2 got
	got=$(cat "$tmp/err")
	if [[ $rc == 74 && $got == "$want" ]]; then
		ok "$name"
	else
		not_ok "$name" "status: expected 74, got $rc" "stderr: expected '$want'" "stderr: got '$got'"
	fi
}
prog="1 to: 3 do: [:i | i printNl]. (String new: 100000) displayNl. 'end' displayNl"
"$baton" -e "$prog" >/dev/full 2>"$tmp/err"
rc=$?
err_check "stdout on /dev/full: the error is reported once, status 74" \
	"baton: error writing to stdout: No space left on device"
"$baton" -e "$prog" >&- 2>"$tmp/err"
rc=$?
err_check "stdout closed: the error is reported once, status 74" \
	"baton: error writing to stdout: Bad file descriptor"
"$baton" -e "3 + 4" >&- 2>"$tmp/err"
rc=$?
if [[ $rc == 0 && ! -s $tmp/err ]]; then
	ok "stdout closed, nothing printed: status 0, no error"
else
	not_ok "stdout closed, nothing printed: status 0, no error" "status: $rc"
fi

echo "1..$n"
tap_totals
((fail == 0))
