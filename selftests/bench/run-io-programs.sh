#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/bench/run-io-programs.sh: the io benchmarks' own programs (bench/io/) in make check,
# so that what only make bench runs cannot rot unseen. Builds them with $CC into a temp
# directory, checks that the C epoll, C liburing (and, where `go` exists, Go) echo servers
# echo every byte for the load generator, that the load generator's idle mode holds its
# connections until stdin ends, that the accept loop, the C read loop and CPython's line loop
# count right; negative controls: a server that echoes the wrong bytes, and one that closes,
# must make the load generator fail. Owns its temp directory; never edits the tree.
# TAP 13 on stdout. Exit 0 pass, 1 fail. See Documentation/vm/io-bench.md.
set -uo pipefail

case ${1:-} in
-h | --help)
	echo "usage: selftests/bench/run-io-programs.sh [BUILD_DIR]"
	exit 0
	;;
esac
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
io=$src/bench/io
cc=${CC:-gcc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-bench-io.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

echo "TAP version 13"
echo "1..10"

# ---------------------------------------------------------------- build

uring_libs=$(pkg-config --libs liburing 2>/dev/null || echo -luring)
bad=()
for f in "$io"/*.c; do
	b=$(basename "$f" .c)
	"$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$tmp/$b" "$f" $uring_libs \
		>"$tmp/cc-$b.log" 2>&1 || bad+=("$b.c: $(head -n 3 "$tmp/cc-$b.log")")
done
if ((${#bad[@]} == 0)); then
	ok "bench/io/*.c build warning-free with $cc"
else
	not_ok "bench/io/*.c build warning-free with $cc" "${bad[@]}"
fi
lg=$tmp/loadgen

# ---------------------------------------------------------------- servers

# start NAME CMD...: runs a server, reads its port (the first stdout line, 10 s at most)
# into $port and its pid into $spid. Answers 1 when it printed no port.
start() {
	local name=$1
	shift
	exec {sfd}< <(exec "$@" 2>"$tmp/$name.err")
	spid=$!
	pids+=("$spid")
	port=
	read -r -t 10 port <&"$sfd"
	[[ $port =~ ^[0-9]+$ ]]
}
stop() { kill -9 "$spid" 2>/dev/null; exec {sfd}<&-; }

# echo_checks NAME: 20 connections and 1 connection through the running server.
echo_checks() {
	local name=$1 out1 out2
	if out1=$("$lg" -p "$port" -c 20 -d 0.3 2>&1) && [[ $out1 == "rt_per_s "* ]] &&
		out2=$("$lg" -p "$port" -c 1 -d 0.2 2>&1) && grep -q '^rt_us_median [0-9]' <<<"$out2"; then
		ok "$name echoes every byte to 20 connections and to 1 (median round trip)"
	else
		not_ok "$name echoes every byte to 20 connections and to 1 (median round trip)" \
			"${out1:-} ${out2:-}" "$(head -n 3 "$tmp/$name.err")"
	fi
}

if start epoll "$tmp/echo_epoll" 0; then
	echo_checks echo_epoll
	if out=$("$tmp/accept_loop" -p "$port" -d 0.3 -a 4 2>&1) && [[ $out =~ ^accept_per_s\ [0-9] ]]; then
		ok "accept_loop: connect, one echo, close, in a loop, from 4 source addresses"
	else
		not_ok "accept_loop: connect, one echo, close, in a loop, from 4 source addresses" "$out"
	fi
	# idle mode: ready once every connection made its round trip; exits when stdin ends
	coproc LG { exec "$lg" -p "$port" -c 50 -a 3 -m idle -d 30 2>&1; }
	pids+=("$LG_PID")
	lout=${LG[0]} lin=${LG[1]}
	first= rest=
	read -r -t 15 first <&"$lout"
	exec {lin}>&-
	read -r -t 10 rest <&"$lout"
	rc=$? # 1: the end of its output (it exited); > 128: still running after 10 s
	if [[ $first == "ready 50" ]] && ((rc == 1)); then
		ok "loadgen -m idle: ready 50, then exits when its stdin ends"
	else
		not_ok "loadgen -m idle: ready 50, then exits when its stdin ends" \
			"first line: '$first', then: '$rest' (read status $rc)"
	fi
	stop
else
	not_ok "echo_epoll prints its port" "$(head -n 3 "$tmp/epoll.err")"
	skip "accept_loop against echo_epoll" "no server"
	skip "loadgen -m idle" "no server"
fi

if start uring "$tmp/echo_uring" 0; then
	echo_checks echo_uring
	stop
elif grep -qiE 'not permitted|not implemented|function not' "$tmp/uring.err"; then
	skip "echo_uring echoes every byte" "io_uring unusable here: $(head -n 1 "$tmp/uring.err")"
else
	not_ok "echo_uring prints its port" "$(head -n 3 "$tmp/uring.err")"
fi

if ! command -v go >/dev/null 2>&1; then
	skip "echo.go echoes every byte" "no go (golang-go is a make bench dependency)"
elif ! (cd "$io" && GOCACHE=$tmp/go/cache GOPATH=$tmp/go/path GOPROXY=off GOFLAGS= \
	GO111MODULE=off GOTOOLCHAIN=local go build -o "$tmp/echo-go" echo.go) >"$tmp/go.log" 2>&1; then
	not_ok "echo.go builds offline" "$(head -n 5 "$tmp/go.log")"
elif start go "$tmp/echo-go" 0; then
	echo_checks echo-go
	stop
else
	not_ok "echo-go prints its port" "$(head -n 3 "$tmp/go.err")"
fi

# ---------------------------------------------------------------- negative controls

# A server that answers every read with as many 'Z's: the load generator must refuse it.
cat >"$tmp/wrong.py" <<'EOF'
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    while True:
        d = c.recv(64)
        if not d or sys.argv[1] == "close":
            c.close(); return
        c.sendall(b"Z" * len(d))
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
for mode in wrong close; do
	case $mode in
	wrong) desc="negative control: a server echoing the wrong bytes fails loadgen (wrong echo)" want="wrong echo" ;;
	close) desc="negative control: a server that closes fails loadgen (server closed)" want="server closed" ;;
	esac
	if start "neg-$mode" python3 "$tmp/wrong.py" "$mode"; then
		out=$("$lg" -p "$port" -c 3 -d 0.2 2>&1)
		rc=$?
		if ((rc != 0)) && grep -q "$want" <<<"$out"; then
			ok "$desc"
		else
			not_ok "$desc" "status $rc, output: $out"
		fi
		stop
	else
		not_ok "$desc" "the python3 server printed no port: $(head -n 3 "$tmp/neg-$mode.err")"
	fi
done

# ---------------------------------------------------------------- files

head -c $((3 * 1048576 + 5)) /dev/zero >"$tmp/data"
out=$("$tmp/file_read" "$tmp/data" 2>&1)
if grep -qx "bytes $((3 * 1048576 + 5))" <<<"$out" && grep -q '^mb_s [0-9]' <<<"$out"; then
	ok "file_read reads a 3 MB + 5 file to its end in 1 MB chunks"
else
	not_ok "file_read reads a 3 MB + 5 file to its end in 1 MB chunks" "$out"
fi
printf 'one\ntwo\r\n\nfour\n' >"$tmp/text"
out=$(python3 "$io/lines.py" "$tmp/text" 2>&1)
if grep -qx 'lines 4' <<<"$out" && grep -q '^lines_per_s [0-9]' <<<"$out"; then
	ok "lines.py counts 4 lines (an empty one and a CR LF among them)"
else
	not_ok "lines.py counts 4 lines (an empty one and a CR LF among them)" "$out"
fi

tap_totals
((fail == 0))
