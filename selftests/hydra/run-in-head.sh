#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/hydra/run-in-head.sh: "the threaded FFI, callbacks from foreign threads, I/O and
# processes all work inside every head" (issue 12), checked with the programs that test
# them in the first VM: every selftests/vm/{ffi,io,proc}/*.st program that needs no
# command-line options, environment or stdin is run twice, by baton itself and as a head spawned by
# a first VM that only waits for it, and both runs must print the same stdout and end with
# the same status. Owns a temporary directory. TAP 13; exit 0 pass, 1 fail, 4 skipped.
#
# Usage: selftests/hydra/run-in-head.sh [BUILD_DIR]
# Environment: BATON_IN_HEAD_JOBS (parallel programs, default 2).
set -uo pipefail

build=${1:-build}
baton=$(cd "$(dirname "$build/baton")" 2>/dev/null && pwd)/baton
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=selftests/tap.sh
. "$here/../tap.sh"
[[ -x $baton ]] || tap_skip_all in-head "baton not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-in-head.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export BATON_FFI_TESTLIB=$(cd "$build" && pwd)/selftests/ffi/libffitest.so

# The first VM: spawns the program as a head and ends with the head's status.
cat > "$tmp/runner.st" <<'ST'
Smalltalk quit: (VM spawn: (Smalltalk arguments at: 1)) wait
ST

# one PROGRAM: "ok" or a diagnostic on stdout (run by xargs, in parallel)
one() {
	local f=$1 d o1 o2 r1 r2
	d=$(mktemp -d "$tmp/p.XXXXXX")
	(cd "$root" && timeout 60 "$baton" "$f" > "$d/direct" 2> /dev/null); r1=$?
	(cd "$root" && timeout 60 "$baton" "$tmp/runner.st" "$f" > "$d/head" 2> /dev/null); r2=$?
	if [[ $r1 == "$r2" ]] && cmp -s "$d/direct" "$d/head"; then
		echo "ok $f"
	else
		echo "differ $f: status $r1 alone, $r2 in a head; stdout diff:"
		diff "$d/direct" "$d/head" | head -n 10 | sed 's/^/    /'
	fi
	rm -rf "$d"
}
export -f one
export tmp root baton

echo "TAP version 13"
progs=()
for f in "$root"/selftests/vm/{ffi,io,proc}/*.st; do
	# options, environment and stdin are the runner's to give: those programs stay out
	grep -q '^"vmargs:\|^"stdin:\|^"args:\|^"env:' "$f" && continue
	# A program that compares a thread id with getpid() checks that it runs on the process's
	# first thread (forkOnMainThread, the main program): a head's first thread is its own
	grep -q "'getpid'" "$f" && continue
	progs+=("${f#"$root"/}")
done
out=$tmp/results
printf '%s\n' "${progs[@]}" | xargs -P "${BATON_IN_HEAD_JOBS:-2}" -I{} bash -c 'one "$@"' _ {} > "$out"
bad=$(grep -c -v '^ok ' "$out")
total=${#progs[@]}
good=$(grep -c '^ok ' "$out")
if (( total > 0 && good == total )); then
	ok "$total programs of selftests/vm/{ffi,io,proc}: the same stdout and status alone and in a head"
else
	not_ok "$good of $total programs behave the same in a head" "$(grep -v '^ok ' "$out" | head -n 40)"
fi
# The runner itself must notice a difference (negative control): a program that prints the
# head's id differs in a head.
printf 'VM current id printNl.\n' > "$tmp/id.st"
(cd "$root" && one "$tmp/id.st") | grep -q '^differ' &&
	ok "negative control: a program that prints VM current id differs in a head" ||
	not_ok "negative control: the comparison did not see VM current id differ"
echo "1..$n"
tap_totals
(( fail == 0 ))
