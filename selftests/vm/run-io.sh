#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/vm/run-io.sh: issue 8's I/O where a .st file cannot take part alone: Baton
# servers driven by clients in other processes (selftests/vm/io/clients.py, curl), stdin on
# a pipe that stays open, the VM's liveness seen from outside, and the EMFILE fault under a
# lowered descriptor limit. Owns a temporary directory and the baton processes it starts.
# TAP 13 on stdout; exit 0 pass, 1 fail, 4 skipped (kselftest). Every wait is bounded.
#
# Usage: selftests/vm/run-io.sh [BUILD_DIR]
# Environment: BATON_IO_CONNS (concurrent echo clients, default 1000), BATON_IO_EMFILE
# ("ATTEMPTS LIMIT", default "20000 10000": the issue's accept attempts against a soft limit).
set -uo pipefail

build=${1:-build}
baton=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
clients=$here/io/clients.py
# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
[[ -x $baton ]] || tap_skip_all io "baton not built"
conns=${BATON_IO_CONNS:-1000}
read -r emfile_attempts emfile_limit <<<"${BATON_IO_EMFILE:-20000 10000}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-io.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# a baton that died early must not take the script with it when it writes to its stdin
trap "" PIPE

echo "TAP version 13"
TAP_ERR=$tmp/err
have_python=
command -v python3 >/dev/null 2>&1 && have_python=1

# start_server PROGRAM [PREFIX...]: runs baton on PROGRAM in the background (PREFIX, e.g. a
# shell that lowers a limit, before it), stdout on a fifo read through fd 3, and reads the
# first line (the port) within 10 s into $port.
start_server() {
	local prog=$1
	shift
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$@" "$baton" "$prog" >"$tmp/fifo" 2>"$tmp/err" &
	pid=$!
	exec 3<"$tmp/fifo"
	port=
	read -r -t 10 port <&3
}
# stop_server: ends the server started last (SIGTERM, then its status), and keeps the rest
# of its stdout in $tmp/out.
stop_server() {
	kill -TERM "$pid" 2>/dev/null
	timeout 10 cat <&3 >"$tmp/out"
	wait "$pid"
	rc=$?
	pid=
	exec 3<&-
}

# server_st FILE BODY: a program that listens on 127.0.0.1 at a port the kernel picks,
# prints the port, and serves each connection c in a process of its own with BODY (a
# SocketError ends that connection only).
server_st() {
	cat >"$1" <<ST
| srv |
srv := ServerSocket port: 0 host: '127.0.0.1'.
srv port printNl.
stdout flush.
[true] whileTrue: [| c |
    c := srv accept.
    [[$2]
        on: SocketError do: [:e | nil].
     c close] fork]
ST
}

# ---- 1. an echo server, one process per connection, against $conns concurrent clients
server_st "$tmp/echo.st" '| b | c binary.
        [(b := c nextAvailable: 65536) isEmpty] whileFalse: [c nextPutAll: b; flush]'
name="echo server, one process per connection: $conns concurrent Python clients, every byte checked"
if [[ -z $have_python ]]; then
	skip "$name" "python3 missing"
else
	start_server "$tmp/echo.st"
	if [[ -z $port ]]; then
		not_ok "$name" "the server printed no port within 10 s"
		stop_server
	else
		res=$(timeout 120 python3 "$clients" echo "$port" "$conns" 2>&1)
		crc=$?
		stop_server
		if [[ $crc == 0 && $res == ok* ]]; then ok "$name"; else not_ok "$name" "client: $res (status $crc)"; fi
	fi
fi

# ---- 2. an HTTP/1.0 server answered by curl
server_st "$tmp/http.st" "$(cat <<'ST'
| l path | path := (c nextLine subStrings: ' ') at: 2.
        [(l := c nextLine) notNil and: [l notEmpty]] whileTrue.
        c nextPutAll: 'HTTP/1.0 200 OK'; nextPut: Character cr; nl;
          nextPutAll: 'Content-Type: text/plain'; nextPut: Character cr; nl;
          nextPutAll: 'Content-Length: '; print: path size + 6; nextPut: Character cr; nl;
          nextPut: Character cr; nl;
          nextPutAll: 'hello '; nextPutAll: path
ST
)"
name="HTTP/1.0 server: 20 requests by curl answered"
if ! command -v curl >/dev/null 2>&1; then
	skip "$name" "curl missing"
else
	start_server "$tmp/http.st"
	bad=
	if [[ -z $port ]]; then
		bad="the server printed no port within 10 s"
	else
		for i in $(seq 1 20); do
			got=$(curl -s --max-time 10 "http://127.0.0.1:$port/page$i")
			[[ $got == "hello /page$i" ]] || { bad="request $i: got '$got'"; break; }
		done
	fi
	stop_server
	if [[ -z $bad ]]; then ok "$name"; else not_ok "$name" "$bad"; fi
fi

# ---- 3. liveness: the main program ends, a forked process waits in accept: the VM stays
cat >"$tmp/live.st" <<'ST'
| srv |
srv := ServerSocket port: 0 host: '127.0.0.1'.
[| c | c := srv accept. c nextPutAll: 'served ', c nextLine; nl; flush. c close. srv close] fork.
srv port printNl.
stdout flush.
ST
name="a VM whose only process waits in accept does not exit; it serves, then exits 0"
if [[ -z $have_python ]]; then
	skip "$name" "python3 missing"
else
	start_server "$tmp/live.st"
	if [[ -z $port ]]; then
		not_ok "$name" "the server printed no port within 10 s"
		stop_server
	else
		res=$(timeout 20 python3 "$clients" line "$port" ping 2>&1)
		timeout 10 cat <&3 >"$tmp/out"
		reap "$pid" 10
		pid=
		exec 3<&-
		if [[ $res == "served ping" && $rc == 0 && ! -s $tmp/err ]]; then
			ok "$name"
		else
			not_ok "$name" "client got '$res' (want 'served ping'); status $rc (want 0)"
		fi
	fi
fi

# ---- 4. liveness: nothing pending (sockets and streams closed): the VM exits at once
cat >"$tmp/dead.st" <<'ST'
| srv |
srv := ServerSocket port: 0 host: '127.0.0.1'.
[(Socket remote: '127.0.0.1' port: srv port) close] fork.
srv accept close.
srv close.
'done' displayNl.
ST
name="a VM with no I/O pending exits with status 0"
timeout 10 "$baton" "$tmp/dead.st" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc == 0 && $(cat "$tmp/out") == done && ! -s $tmp/err ]]; then
	ok "$name"
else
	not_ok "$name" "status $rc (124: still running after 10 s), stdout '$(cat "$tmp/out")'"
fi

# ---- 5. stdin on a pipe that stays open: only the reading process waits
cat >"$tmp/stdin.st" <<'ST'
| line |
[ 'another process runs' displayNl. stdout flush ] fork.
line := stdin nextLine.
('read ', line) displayNl.
ST
name="reading stdin (an open pipe) waits in the reading process only"
rm -f "$tmp/in" "$tmp/fifo" && mkfifo "$tmp/in" "$tmp/fifo"
"$baton" "$tmp/stdin.st" <"$tmp/in" >"$tmp/fifo" 2>"$tmp/err" &
pid=$!
exec 4>"$tmp/in"
exec 3<"$tmp/fifo"
first=
read -r -t 10 first <&3
echo "typed late" >&4
exec 4>&-
second=
read -r -t 10 second <&3
timeout 10 tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
pid=
exec 3<&-
if [[ $first == "another process runs" && $second == "read typed late" && $rc == 0 ]]; then
	ok "$name"
else
	not_ok "$name" "first line '$first' (want 'another process runs')" \
		"second line '$second' (want 'read typed late')" "status $rc"
fi

# ---- 5b. stdin on a regular file: the atEnd/nextLine idiom reads every line
cat >"$tmp/lines.st" <<'ST'
| n last |
n := 0.
[stdin atEnd] whileFalse: [last := stdin nextLine. n := n + 1].
n printNl.
last displayNl.
ST
name="stdin on a regular file: [stdin atEnd] whileFalse: [stdin nextLine] reads all 20,000 lines"
seq 1 20000 | sed 's/$/ some text on the line/' >"$tmp/lines.txt"
timeout 20 "$baton" "$tmp/lines.st" <"$tmp/lines.txt" >"$tmp/out" 2>"$tmp/err"
rc=$?
want=$(printf '20000\n20000 some text on the line')
if [[ $rc == 0 && $(cat "$tmp/out") == "$want" ]]; then
	ok "$name"
else
	not_ok "$name" "status $rc, stdout '$(head -c 200 "$tmp/out")'"
fi

# ---- 5c. stdin on a terminal: lines as they are typed, Ctrl-D is the end
cat >"$tmp/tty.st" <<'ST'
[ 'another process runs' displayNl. stdout flush ] fork.
[stdin atEnd] whileFalse: [('got ', stdin nextLine) displayNl. stdout flush].
'end' displayNl.
ST
name="stdin on a terminal: each line read as it is typed, other processes run, Ctrl-D ends it"
if [[ -z $have_python ]]; then
	skip "$name" "python3 missing"
else
	res=$(timeout 60 python3 "$clients" tty "$baton" "$tmp/tty.st" 2>&1)
	crc=$?
	if [[ $crc == 0 && $res == ok* ]]; then ok "$name"; else not_ok "$name" "$res (status $crc)"; fi
fi

# ---- 6b. at start-up the soft RLIMIT_NOFILE is raised to the hard limit
cat >"$tmp/rlimit.st" <<'ST'
| getrlimit r |
getrlimit := (ExternalLibrary open: 'libc.so.6') function: 'getrlimit' returns: #int32 arguments: #(#int32 #bytes).
r := ByteArray new: 16.
getrlimit callWith: 7 with: r.
((r copyFrom: 1 to: 8) = (r copyFrom: 9 to: 16)) printNl.
ST
name="started with a soft descriptor limit of 256, the VM runs with soft = hard"
hard=$(ulimit -H -n)
if [[ $hard == unlimited || $hard -le 256 ]]; then
	skip "$name" "hard limit $hard"
else
	out=$(ulimit -S -n 256 && timeout 10 "$baton" "$tmp/rlimit.st" 2>"$tmp/err")
	if [[ $out == true ]]; then ok "$name"; else not_ok "$name" "stdout '$out' (want true)"; fi
fi

# ---- 6. EMFILE: accepts against a lowered descriptor limit; the server keeps serving
cat >"$tmp/emfile.st" <<'ST'
| srv held |
srv := ServerSocket port: 0 host: '127.0.0.1'.
srv port printNl.
stdout flush.
held := OrderedCollection new.
[true] whileTrue: [
    [| c | c := srv accept. c next. c nextPut: $y; flush. held add: c]
        on: SocketError do: [:e |
            ('accept failed: errno ', e errno printString, ' holding ', held size printString) displayNl.
            stdout flush.
            held do: [:s | s close].
            held := OrderedCollection new]]
ST
name="$emfile_attempts accepts against a soft limit of $emfile_limit descriptors: SocketError (EMFILE) in the accepting process, the server keeps serving"
if [[ -z $have_python ]]; then
	skip "$name" "python3 missing"
else
	start_server "$tmp/emfile.st" bash -c 'ulimit -n "$0" && exec "$@"' "$emfile_limit"
	if [[ -z $port ]]; then
		not_ok "$name" "the server printed no port within 10 s"
		stop_server
	else
		res=$(timeout 300 python3 "$clients" emfile "$port" "$emfile_attempts" 2>&1)
		crc=$?
		stop_server
		errs=$(grep -c '^accept failed: ' "$tmp/out")
		others=$(grep '^accept failed: ' "$tmp/out" | grep -vc '^accept failed: errno 24 ')
		if [[ $crc == 0 && $res == ok* && $errs -ge 1 && $others == 0 ]]; then
			ok "$name"
		else
			not_ok "$name" "client: $res (status $crc)" "server: $errs failed accepts, $others of them not EMFILE" \
				"server stdout: $(head -c 400 "$tmp/out")"
		fi
	fi
fi

# ---- 7. --stats: io.backend names the backend (epoll under BATON_URING=0) and
# io.finalized_fds counts the streams the collector closed
cat >"$tmp/stats.st" <<'ST'
| tmp path |
tmp := Smalltalk getenv: 'TMPDIR'. (tmp isNil or: [tmp isEmpty]) ifTrue: [tmp := '/tmp'].
path := tmp, '/baton-io-stats-', Time nanosecondClock printString.
(File name: path) contents: 'x'.
5 timesRepeat: [FileStream open: path mode: #read].
Smalltalk garbageCollect.
Smalltalk finalizePending.
(File name: path) remove.
ST
stat() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/err"; }
for mode in default 0; do
	name="--stats (BATON_URING=$mode): io.backend, and io.finalized_fds counts 5 streams collected without close"
	if [[ $mode == 0 ]]; then
		BATON_URING=0 timeout 10 "$baton" --stats "$tmp/stats.st" >"$tmp/out" 2>"$tmp/err"
	else
		timeout 10 "$baton" --stats "$tmp/stats.st" >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
	backend=$(stat io.backend)
	fin=$(stat io.finalized_fds)
	want_backend='^(uring|epoll)$'
	[[ $mode == 0 ]] && want_backend='^epoll$'
	if [[ $rc == 0 && $backend =~ $want_backend && $fin == 5 ]]; then
		ok "$name"
	else
		not_ok "$name" "status $rc, io.backend '$backend', io.finalized_fds '$fin'"
	fi
done

echo "1..$n"
tap_totals
((fail == 0))
