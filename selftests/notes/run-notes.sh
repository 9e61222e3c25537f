#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/notes/run-notes.sh: examples/notes/notes.st (the JSON API over SQLite on
# HTTPServer) against Python's http.client (selftests/notes/client.py) and curl on
# loopback: create, list, get, delete, bad input, and other requests answered in
# milliseconds while one request's query waits 2 s for a lock the client holds. Owns a
# temporary directory and the baton process it starts. TAP 13 on stdout; exit 0 pass,
# 1 fail, 4 skipped. Every wait is bounded.
#
# Usage: selftests/notes/run-notes.sh [BUILD_DIR]
set -uo pipefail

build=${1:-${BATON_BUILD_DIR:-build}}
baton=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
echo "TAP version 13"
# shellcheck source=selftests/tap.sh
. "$here/../tap.sh"
finish() {
	echo "1..$n"
	tap_totals
	((fail)) && exit 1
	((pass)) || exit 4
	exit 0
}
if [[ ! -x $baton ]]; then
	skip notes "baton not built"
	finish
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import sqlite3' 2>/dev/null; then
	skip notes "python3 with sqlite3 missing"
	finish
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-notes.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
TAP_ERR=$tmp/err

mkfifo "$tmp/fifo"
"$baton" "$root/examples/notes/notes.st" 0 "$tmp/notes.db" >"$tmp/fifo" 2>"$tmp/err" &
pid=$!
exec 3<"$tmp/fifo"
port=
read -r -t 20 port <&3
if [[ -z $port ]]; then
	not_ok "examples/notes/notes.st listens and prints its port" "no port within 20 s"
	finish
fi
ok "examples/notes/notes.st listens and prints its port"

name="curl: POST /notes answers 201 and the note as JSON"
if ! command -v curl >/dev/null 2>&1; then
	skip "$name" "curl missing"
else
	got=$(curl -s --max-time 10 -w ' %{http_code}' -d '{"text":"from curl"}' "http://127.0.0.1:$port/notes")
	if [[ $got == '{"created":"'*'","id":'*',"text":"from curl"} 201' ]]; then ok "$name"; else not_ok "$name" "got: $got"; fi
	name="curl: DELETE /notes/ID answers 204"
	id=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' <<<"$got")
	st=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$port/notes/$id")
	if [[ $st == 204 ]]; then ok "$name"; else not_ok "$name" "status $st for id '$id'"; fi
fi

while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) rest=${line#FAIL } && not_ok "${rest%% :: *}" "${rest#* :: }" ;;
	*) not_ok "client.py output" "$line" ;;
	esac
done < <(timeout 120 python3 "$here/client.py" "$port" "$tmp/notes.db" 2>&1)

name="the server is still running and wrote nothing to stderr"
if kill -0 "$pid" 2>/dev/null && [[ ! -s $tmp/err ]]; then ok "$name"; else not_ok "$name"; fi
kill -TERM "$pid" 2>/dev/null
timeout 20 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
exec 3<&-
finish
