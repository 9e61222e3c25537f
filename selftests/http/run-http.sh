#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/http/run-http.sh: the HTTP package (st/packages/HTTP) against real clients: curl
# and Python's http.client and raw sockets (selftests/http/clients.py) driving
# selftests/http/server.st, one case per status and limit of issue 9 section 2. Owns a
# temporary directory and the baton process it starts. TAP 13 on stdout; exit 0 pass,
# 1 fail, 4 skipped (kselftest). Every wait is bounded; the server's timeouts are shortened
# through its environment so that no case waits seconds. BATON_URING=0 runs it on epoll.
#
# Usage: selftests/http/run-http.sh [BUILD_DIR]
set -uo pipefail

build=${1:-${BATON_BUILD_DIR:-build}}
baton=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
clients=$here/clients.py
# shellcheck source=selftests/tap.sh
. "$(dirname "$0")/../tap.sh"
[[ -x $baton ]] || tap_skip_all http "baton not built"
export HTTP_HEADER_MS=400 HTTP_IDLE_MS=600
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-http.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "" PIPE

echo "TAP version 13"
TAP_ERR=$tmp/err

# start_server: runs server.st in the background, stdout on a fifo read through fd 3, and
# reads its first line (the port) within 20 s into $port.
start_server() {
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	"$baton" "$here/server.st" >"$tmp/fifo" 2>"$tmp/err" &
	pid=$!
	exec 3<"$tmp/fifo"
	port=
	read -r -t 20 port <&3
}
# end_server: waits (at most 20 s) for the server to end by itself, else kills it; its
# status in $rc, the rest of its stdout in $tmp/out.
end_server() {
	timeout 20 cat <&3 >"$tmp/out"
	reap "$pid" 20
	pid=
	exec 3<&-
}

if ! command -v python3 >/dev/null 2>&1; then
	skip "http server" "python3 missing"
	echo "1..$n"
	tap_totals
	exit 4
fi

start_server
if [[ -z $port ]]; then
	not_ok "the server prints its port" "no port within 20 s"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	pid=
	echo "1..$n"
	tap_totals
	exit 1
fi
ok "the server (PackageLoader fileInPackage: 'HTTP') listens and prints its port"

# ---- curl
name="curl: GET /hello is 200 with Content-Type, Content-Length, Date and Server"
if ! command -v curl >/dev/null 2>&1; then
	skip "$name" "curl missing"
else
	got=$(curl -s -i --max-time 10 "http://127.0.0.1:$port/hello" | tr -d '\r')
	if [[ $got == "HTTP/1.1 200 OK"* && $got == *$'\nContent-Type: text/plain\n'* &&
		$got == *$'\nContent-Length: 13\n'* && $got == *$'\nDate: '*' GMT'* &&
		$got == *$'\nServer: Baton'* && $got == *$'\n\nHello, world!' ]]; then
		ok "$name"
	else
		not_ok "$name" "got: $got"
	fi
	# the test server's maxBodySize is 100000: curl's body is refused with 413
	head -c 3000000 /dev/zero | tr '\0' b >"$tmp/big"
	st=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' --data-binary "@$tmp/big" "http://127.0.0.1:$port/echo")
	if [[ $st == 413 ]]; then ok "curl: a 3 MB POST over maxBodySize is 413"; else not_ok "curl: a 3 MB POST over maxBodySize is 413" "status $st"; fi
	{ seq 1 20000 2>/dev/null; } | head -c 90000 >"$tmp/small"
	curl -s --max-time 20 -H 'Expect: 100-continue' --data-binary "@$tmp/small" "http://127.0.0.1:$port/echo" -o "$tmp/got"
	name="curl: a 90 KB POST with Expect: 100-continue is echoed back byte for byte"
	if cmp -s "$tmp/small" "$tmp/got"; then ok "$name"; else not_ok "$name" "echo differs ($(wc -c <"$tmp/got") bytes)"; fi
	name="curl: two URLs on one connection (keep-alive)"
	got=$(curl -s -v --max-time 10 "http://127.0.0.1:$port/hello" "http://127.0.0.1:$port/hello" 2>&1)
	if [[ $got == *"Re-using existing connection"* && $(grep -c 'Hello, world!' <<<"$got") == 2 ]]; then
		ok "$name"
	else
		not_ok "$name" "$(tail -n 5 <<<"$got")"
	fi
fi

# ---- Python cases
case_py() {
	local name=$1
	shift
	local res
	res=$(timeout 60 python3 "$clients" "$@" 2>&1)
	if [[ $res == ok ]]; then ok "$name"; else not_ok "$name" "$res"; fi
}
case_py "keep-alive: 6 requests on one http.client connection" keepalive "$port"
case_py "pipelining: 4 requests in one send answered in order (one HEAD)" pipeline "$port"
case_py "chunked request bodies (raw with extension and trailer; http.client encode_chunked)" chunked "$port"
case_py "Expect: 100-continue: 100 Continue, then the answer; over maxBodySize: 413 at once" continue "$port"
case_py "HEAD: Content-Length of the GET, no body" head "$port"
case_py "Date (now, IMF-fixdate) and Server headers" headers "$port"
case_py "request line or headers over 64 KB: 431 and close" 431 "$port"
case_py "body over maxBodySize (Content-Length or chunked): 413 and close; exactly the limit: 200" 413 "$port"
case_py "malformed requests (8 kinds): 400, Connection: close, closed" 400 "$port"
case_py "slowloris: a head trickled in past headerTimeout is closed; a silent connection too" slowloris "$port" "$HTTP_HEADER_MS"
case_py "an idle keep-alive connection is closed after idleTimeout" idle "$port" "$HTTP_IDLE_MS"
case_py "HTTP/1.0 closes unless keep-alive is asked; Connection: close on 1.1" http10 "$port"
case_py "routing: exact, prefix (longest wins), 404, on:method:do: and 405 with Allow; query, headerAt:, remoteAddress" routes "$port"
case_py "an error in a handler answers 500 and the server keeps serving (same connection too)" 500 "$port"
name="the handler's error is reported on stderr"
if grep -q 'HTTPServer: error in the handler of GET /boom' "$tmp/err" && grep -q 'doesNotUnderstand: #noSuchMessage' "$tmp/err"; then
	ok "$name"
else
	not_ok "$name" "stderr: $(head -c 300 "$tmp/err")"
fi
case_py "stop: the request in flight finishes, idle connections close, no more accepts" stop "$port"
end_server
name="after stop, start returns and the VM exits 0"
if [[ $rc == 0 && $(cat "$tmp/out") == stopped ]]; then
	ok "$name"
else
	not_ok "$name" "status $rc, stdout '$(cat "$tmp/out")'"
fi

echo "1..$n"
tap_totals
((fail == 0))
