#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/signals/run-signals.sh: Smalltalk onSignal:do: with real signals sent from
# outside by kill(1), in both event-loop backends (io_uring: signalfd; BATON_URING=0:
# epoll and the self-pipe). Every wait is bounded and waits for a line the program prints
# (never a sleep). Owns a temporary directory and nothing else. TAP 13 on stdout; exit 0
# pass, 1 fail, 4 skipped. What a program can do to itself is in selftests/vm/signals/.
# See Documentation/vm/signals.md.
#
# Usage: selftests/signals/run-signals.sh [BUILD_DIR]
set -uo pipefail

build=${1:-build}
baton=$build/baton
# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
[[ -x $baton ]] || tap_skip_all signals "baton not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-signals.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# Background jobs of a shell without job control start with SIGINT ignored.
set -m

echo "TAP version 13"
TAP_ERR=$tmp/err

# start PROGRAM: baton in the background (environment: $backend), stdout on a fifo read
# through fd 3, stdin on a fifo written through fd 4.
start() {
	rm -f "$tmp/out" "$tmp/in" && mkfifo "$tmp/out" "$tmp/in"
	env "$backend" "$baton" "$1" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 4>"$tmp/in" 3<"$tmp/out"
	got=
}
# expect_line WANT: the next stdout line (waiting 10 s at most) is WANT; else 1.
expect_line() {
	local line=
	read -r -t 10 line <&3
	got="$got$line|"
	[[ $line == "$1" ]]
}
# finish: waits for baton; rc is its status.
finish() {
	exec 4>&-
	wait "$pid"
	rc=$?
	pid=
	exec 3<&-
}
abort() {
	kill -KILL "$pid" 2>/dev/null
	finish
}
# verdict NAME WANT_STATUS: after finish
verdict() {
	if [[ $rc == "$2" ]]; then ok "$1"; else not_ok "$1" "status: expected $2, got $rc" "stdout: $got"; fi
}

cat >"$tmp/term.st" <<'EOF'
Smalltalk onSignal: #SIGTERM do: ['SIGTERM handler' displayNl. Smalltalk quit: 7].
'ready' displayNl. Transcript flush.
Semaphore new wait.
EOF

cat >"$tmp/all.st" <<'EOF'
#(#SIGINT #SIGHUP #SIGUSR1 #SIGUSR2) do: [:s |
    Smalltalk onSignal: s do: [:name | name displayNl. Transcript flush]].
Smalltalk onSignal: #SIGTERM do: ['bye' displayNl. Smalltalk quit: 0].
'ready' displayNl. Transcript flush.
Semaphore new wait.
EOF

# the VM waits in I/O (stdin on a pipe), not on a Semaphore
cat >"$tmp/io.st" <<'EOF'
Smalltalk onSignal: #SIGUSR1 do: ['usr1 while reading' displayNl. Transcript flush].
'ready' displayNl. Transcript flush.
stdin nextLine displayNl.
EOF

# no handler for SIGTERM (one for SIGUSR1): SIGTERM ends baton as before
cat >"$tmp/default.st" <<'EOF'
Smalltalk onSignal: #SIGUSR1 do: ['usr1' displayNl. Transcript flush].
'ready' displayNl. Transcript flush.
Semaphore new wait.
EOF

# a handler that ran, then was removed: SIGTERM ends baton again
cat >"$tmp/removed.st" <<'EOF'
| sem |
sem := Semaphore new.
Smalltalk onSignal: #SIGTERM do: ['handled once' displayNl. sem signal].
Smalltalk onSignal: #SIGUSR2 do: ['kept' displayNl. Transcript flush].
'ready' displayNl. Transcript flush.
sem wait.
Smalltalk onSignal: #SIGTERM do: nil.
'removed' displayNl. Transcript flush.
Semaphore new wait.
EOF

# several VM threads (blocking callouts hand the VM from thread to thread): every signal
# still reaches the handler, whichever thread the kernel picks
cat >"$tmp/threads.st" <<'EOF'
| sem |
sem := Semaphore new.
Smalltalk onSignal: #SIGUSR1 do: ['usr1' displayNl. Transcript flush. sem signal].
[[true] whileTrue: [Smalltalk blockingSleep: 30]] fork.
[[true] whileTrue: [Smalltalk blockingSleep: 20]] fork.
(Delay forMilliseconds: 100) wait.
'ready' displayNl. Transcript flush.
5 timesRepeat: [sem wait].
'done' displayNl.
Smalltalk quit: 0.
EOF

for backend in BATON_URING=1 BATON_URING=0; do
	b=$([[ $backend == BATON_URING=0 ]] && echo epoll || echo io_uring)

	name="$b: a SIGTERM handler runs and ends the program (quit: 7)"
	start "$tmp/term.st"
	if expect_line ready && kill -TERM "$pid" && expect_line "SIGTERM handler"; then
		finish
		verdict "$name" 7
	else
		abort
		not_ok "$name" "stdout: $got"
	fi

	name="$b: SIGINT, SIGHUP, SIGUSR1, SIGUSR2 each run their handler, every time"
	start "$tmp/all.st"
	okay=1
	expect_line ready || okay=0
	for s in INT HUP USR1 USR2 USR1 INT; do
		((okay)) || break
		kill -"$s" "$pid"
		expect_line "SIG$s" || okay=0
	done
	if ((okay)) && kill -TERM "$pid" && expect_line bye; then
		finish
		verdict "$name" 0
	else
		abort
		not_ok "$name" "stdout: $got"
	fi

	name="$b: a signal wakes a VM waiting in I/O; the read goes on"
	start "$tmp/io.st"
	if expect_line ready && kill -USR1 "$pid" && expect_line "usr1 while reading" &&
		echo "the line" >&4 && expect_line "the line"; then
		finish
		verdict "$name" 0
	else
		abort
		not_ok "$name" "stdout: $got"
	fi

	name="$b: without a SIGTERM handler, SIGTERM ends baton (status 143)"
	start "$tmp/default.st"
	if expect_line ready && kill -USR1 "$pid" && expect_line usr1; then
		kill -TERM "$pid"
		finish
		verdict "$name" 143
	else
		abort
		not_ok "$name" "stdout: $got"
	fi

	name="$b: onSignal: #SIGTERM do: nil gives SIGTERM its default action back"
	start "$tmp/removed.st"
	if expect_line ready && kill -TERM "$pid" && expect_line "handled once" &&
		expect_line removed && kill -USR2 "$pid" && expect_line kept; then
		kill -TERM "$pid"
		finish
		verdict "$name" 143
	else
		abort
		not_ok "$name" "stdout: $got"
	fi

	name="$b: with several VM threads in blocking callouts, every signal runs the handler"
	start "$tmp/threads.st"
	okay=1
	expect_line ready || okay=0
	for i in 1 2 3 4 5; do
		((okay)) || break
		kill -USR1 "$pid"
		expect_line usr1 || okay=0
	done
	if ((okay)) && expect_line done; then
		finish
		verdict "$name" 0
	else
		abort
		not_ok "$name" "stdout: $got"
	fi
done

echo "1..$n"
tap_totals
[[ $fail == 0 ]]
