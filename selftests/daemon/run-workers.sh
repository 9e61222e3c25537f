#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/daemon/run-workers.sh: WorkerPool (prefork): a server that binds once and starts
# two more VM processes sharing its listening socket; three distinct pids serve; a worker
# killed with SIGKILL comes back (a new pid serves); SIGTERM to the first VM ends them all.
# Owns a temporary directory and the processes it starts. TAP 13 on stdout; exit 0 pass,
# 1 fail, 4 skipped. Every wait is bounded.
#
# Usage: selftests/daemon/run-workers.sh [BUILD_DIR]
# Runs the three tests on two programs written here, each printing its port, then answering
# every connection with its pid: a plain socket server on WorkerPool, and an HTTPServer
# port: 0 workers: 3 (package HTTP) answering GET / with its pid as body.
set -uo pipefail

build=${1:-build}
baton=$(cd "$(dirname "$build/baton")" 2>/dev/null && pwd)/baton
# shellcheck source=selftests/tap.sh
. "$(dirname "$0")/../tap.sh"
[[ -x $baton ]] || tap_skip_all workers "baton not built"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-workers.XXXXXX")
pid=
kids=()
cleanup() {
	local p
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	for p in "${kids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "" PIPE

echo "TAP version 13"
TAP_ERR=$tmp/err
if ! command -v python3 >/dev/null 2>&1; then
	skip "workers" "python3 missing"
	tap_totals
	exit 4
fi

cat >"$tmp/pool.st" <<'ST'
| srv pool |
Smalltalk workerIndex isNil
    ifTrue: [
        srv := ServerSocket port: 0 host: '127.0.0.1'.
        pool := (WorkerPool on: srv workers: 3) start.
        (Smalltalk respondsTo: #onSignal:do:) ifTrue: [
            Smalltalk perform: #onSignal:do: with: #SIGTERM with: [pool stop. Smalltalk quit: 0]].
        srv port printNl.
        stdout flush]
    ifFalse: [
        srv := ServerSocket inherited first.
        (Smalltalk respondsTo: #onSignal:do:) ifTrue: [
            Smalltalk perform: #onSignal:do: with: #SIGTERM with: [Smalltalk quit: 0]]].
[true] whileTrue: [| c |
    c := srv accept.
    [| l | [(l := c nextLine) notNil and: [l notEmpty]] whileTrue.
     c nextPutAll: Smalltalk pid printString; nl; flush. c close] fork]
ST
cat >"$tmp/http.st" <<'ST'
| server |
PackageLoader fileInPackage: 'HTTP'.
server := HTTPServer port: 0 workers: 3.
server on: '/' do: [:req :resp | resp contentType: 'text/plain'; nextPutAll: Smalltalk pid printString].
Smalltalk workerIndex isNil
    ifTrue: [server startInBackground. server port printNl. stdout flush]
    ifFalse: [server start]
ST

# the client: pids.py PORT UNTIL SECONDS [KNOWN...]: connects again and again (GET / for
# an HTTP server, else reads a line) for at most SECONDS; UNTIL=distinct:N stops once N
# distinct pids answered, UNTIL=new stops once a pid not in KNOWN answers. Prints the pids
# seen (sorted) and exits 0, or exits 1 if the condition was not met in time.
cat >"$tmp/pids.py" <<'PY'
import socket, sys, time
port, until, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
known = set(sys.argv[4:])
seen = set()
end = time.monotonic() + secs
def one():
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        data += b
    c.close()
    body = data.split(b"\r\n\r\n", 1)[-1]
    return body.decode().strip()
while time.monotonic() < end:
    try:
        p = one()
    except OSError:
        continue
    if p:
        seen.add(p)
    if until.startswith("distinct:") and len(seen) >= int(until[9:]):
        break
    if until == "new" and seen - known:
        break
else:
    print(" ".join(sorted(seen)))
    sys.exit(1)
print(" ".join(sorted(seen)))
PY
# suite LABEL PROGRAM: the three tests on PROGRAM
suite() {
	local label=$1 prog=$2 port served src want victim new p name rc left
	local now=()
	: >"$tmp/err"
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$baton" "$prog" >"$tmp/fifo" 2>"$tmp/err" &
	pid=$!
	exec 3<"$tmp/fifo"
	port=
	read -r -t 10 port <&3
	# the worker processes: the first VM's children
	children() { pgrep -P "$pid" | sort; }

	# ---- 1. three distinct pids serve: the first VM and its two workers
	name="$label workers: 3: three distinct processes (the first VM and 2 workers) serve connections"
	if [[ -z $port ]]; then
		not_ok "$name" "the server printed no port within 10 s"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
		return
	fi
	served=$(timeout 30 python3 "$tmp/pids.py" "$port" distinct:3 20)
	src=$?
	mapfile -t kids < <(children)
	want=$(printf '%s\n' "$pid" "${kids[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
	if [[ $src == 0 && ${#kids[@]} == 2 && $served == "$want" ]]; then
		ok "$name"
	else
		not_ok "$name" "pids that served: '$served'; first VM and its children: '$want'"
	fi

	# ---- 2. a worker killed with SIGKILL comes back: a new pid serves, the first VM says so
	name="$label: a worker killed with SIGKILL is started again: a new pid serves, the kill is logged"
	if ((${#kids[@]} < 1)); then
		not_ok "$name" "no worker to kill"
	else
		victim=${kids[0]}
		kill -KILL "$victim"
		served=$(timeout 30 python3 "$tmp/pids.py" "$port" new 20 "$pid" "${kids[@]}")
		src=$?
		mapfile -t now < <(children)
		new=
		for p in "${now[@]}"; do [[ " ${kids[*]} " == *" $p "* ]] || new=$p; done
		kids+=("${now[@]}")
		if [[ $src == 0 && -n $new && " $served " == *" $new "* && ${#now[@]} == 2 ]] &&
			grep -q "worker .*(pid $victim) killed by signal 9" "$tmp/err"; then
			ok "$name"
		else
			not_ok "$name" "killed $victim; pids that served: '$served'; children now: '${now[*]}'"
		fi
	fi

	# ---- 3. SIGTERM to the first VM: it passes it on, every process exits, status 0
	name="$label: SIGTERM to the first VM: the workers get it, all exit, the first with status 0"
	if ! "$baton" -e "(Smalltalk respondsTo: #onSignal:do:) ifFalse: [Smalltalk quit: 1]" 2>/dev/null; then
		skip "$name" "Smalltalk onSignal:do: is not in this tree"
	else
		mapfile -t now < <(children)
		kill -TERM "$pid"
		rc=timeout
		if timeout 20 tail --pid="$pid" -f /dev/null; then
			wait "$pid"
			rc=$?
			pid=
		fi
		left=
		for p in "${now[@]}"; do
			timeout 10 tail --pid="$p" -f /dev/null || left+=" $p"
		done
		if [[ $rc == 0 && -z $left ]]; then
			ok "$name"
		else
			not_ok "$name" "first VM: status $rc (want 0); workers still running:${left:- none}"
		fi
	fi
	if [[ -n $pid ]]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	fi
	for p in "${kids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	kids=()
	exec 3<&-
}

suite "WorkerPool" "$tmp/pool.st"
suite "HTTPServer" "$tmp/http.st"

echo "1..$n"
tap_totals
((fail == 0))
