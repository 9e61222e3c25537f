#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/ownership/run-stats.sh: `baton --stats` reports which fast path of baton_own()
# runs (own.fast_path: membarrier|cas) and counts the membarrier path's take-overs: a
# threaded FFI call blocked across beats while another process is ready must be taken
# over. Default and BATON_MEMBARRIER=0. Owns a temporary directory. TAP 13 on stdout;
# exit 0 pass, 1 fail, 4 skipped. Documentation/core/protocol.md.
#
# Usage: selftests/ownership/run-stats.sh [BUILD_DIR]
set -uo pipefail

build=${1:-build}
baton=$build/baton
lib=$build/selftests/ffi/libffitest.so
echo "TAP version 13"
# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
if [[ ! -x $baton || ! -r $lib ]]; then
	echo "1..1"
	skip "own.fast_path in --stats" "baton or the FFI test library not built"
	tap_totals
	exit 4
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-own-stats.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TAP_ERR=$tmp/err
cat >"$tmp/blocked.st" <<'ST'
| lib sleep done |
lib := ExternalLibrary open: (Smalltalk getenv: 'BATON_FFI_TESTLIB').
sleep := lib function: 'ft_sleep_ms' returns: #uint32 arguments: #(#uint32).
done := Semaphore new.
[ 1 to: 1000 do: [:i | Processor yield]. done signal ] fork.
(sleep callWith: 50) printNl.
done wait.
ST
stat() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/err"; }
echo "1..2"
for mode in default 0; do
	name="--stats (BATON_MEMBARRIER=$mode): own.fast_path, and a blocked callout taken over"
	if [[ $mode == 0 ]]; then
		BATON_MEMBARRIER=0 BATON_FFI_TESTLIB="$lib" timeout 20 "$baton" --stats "$tmp/blocked.st" \
			>"$tmp/out" 2>"$tmp/err"
	else
		env -u BATON_MEMBARRIER BATON_FFI_TESTLIB="$lib" timeout 20 "$baton" --stats \
			"$tmp/blocked.st" >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
	path=$(stat own.fast_path) takeovers=$(stat own.takeovers) blocked=$(stat own.blocked)
	good=0
	if [[ $rc == 0 && $(cat "$tmp/out") == 50 && ${blocked:-0} -ge 1 ]]; then
		if [[ $mode == 0 ]]; then
			[[ $path == cas && $takeovers == 0 ]] && good=1
		else
			# membarrier unless this kernel (or a seccomp filter) refuses it
			[[ ($path == membarrier && ${takeovers:-0} -ge 1) || $path == cas ]] && good=1
		fi
	fi
	if ((good)); then
		ok "$name ($path, $takeovers take-overs)"
	else
		not_ok "$name" "status $rc, stdout '$(head -c 100 "$tmp/out")', own.fast_path '$path'," \
			"own.takeovers '$takeovers', own.blocked '$blocked'"
	fi
done
tap_totals
((fail == 0))
