#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/bench/run-hydra-programs.sh: the hydra rows' programs (bench/hydra/, issue 12) and
# their harness in make check, at tiny sizes, so that what only make bench runs cannot rot
# unseen: the Go channel stream (where `go` exists) counts every message, stamp.st's clock is
# the system's CLOCK_MONOTONIC, fibproc.st computes benchFib; with the Hydra runtime (class
# VM) spawn.st, fib.st, pingpong.st, stream.st and rss.st run and print what the harness
# reads; and `tools/bench` with BENCH=hydra BENCH_HYDRA_QUICK=1 prints every row, each a
# number or n/a with its reason, the references always numbers. Owns its temp directory;
# never edits the tree. TAP 13 on stdout. Exit 0 pass, 1 fail.
# See Documentation/vm/hydra-bench.md.
set -uo pipefail

case ${1:-} in
-h | --help)
	echo "usage: selftests/bench/run-hydra-programs.sh [BUILD_DIR]"
	exit 0
	;;
esac
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bdir=$(cd "${1:-$src/build}" 2>/dev/null && pwd) || bdir=$src/build
baton=$bdir/baton
hy=bench/hydra

# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

[[ -x $baton ]] || tap_skip_all "bench/hydra programs" "no $baton (run make first)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-bench-hydra.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 1 # the programs and the harness name bench/hydra/ from the tree's top
TAP_ERR=$tmp/err

echo "TAP version 13"
echo "1..9"

# run SECS CMD...: stdout in $out, stderr in $TAP_ERR, status in $rc (124: timed out).
run() {
	local secs=$1
	shift
	out=$(timeout "$secs" "$@" 2>"$TAP_ERR" </dev/null)
	rc=$?
}

# ---------------------------------------------------------------- references

if ! command -v go >/dev/null 2>&1; then
	skip "chan.go streams 1,000 16-byte strings" "no go (golang-go is a make bench dependency)"
elif ! (cd "$hy" && GOCACHE=$tmp/go/cache GOPATH=$tmp/go/path GOPROXY=off GOFLAGS='' \
	GO111MODULE=off GOTOOLCHAIN=local go build -o "$tmp/chan-go" chan.go) >"$tmp/go.log" 2>&1; then
	not_ok "chan.go builds offline" "$(head -n 5 "$tmp/go.log")"
else
	run 60 "$tmp/chan-go" 1000
	if ((rc == 0)) && grep -qx 'msgs 1000' <<<"$out" && grep -q '^msgs_per_s [1-9][0-9]*$' <<<"$out" &&
		grep -q '^msgs_per_s_fresh [1-9][0-9]*$' <<<"$out"; then
		ok "chan.go streams 1,000 16-byte strings, both ways of making them"
	else
		not_ok "chan.go streams 1,000 16-byte strings, both ways of making them" "status $rc" "$out"
	fi
fi

# stamp.st's reading lies between two CLOCK_MONOTONIC readings taken around its process.
t0=$(python3 -c 'import time; print(time.monotonic_ns())')
run 60 "$baton" "$hy/stamp.st"
t1=$(python3 -c 'import time; print(time.monotonic_ns())')
stamp=$(sed -n 's/^stamp_ns \([0-9][0-9]*\)$/\1/p' <<<"$out")
if ((rc == 0)) && [[ -n $stamp ]] && ((t0 <= stamp && stamp <= t1)); then
	ok "stamp.st prints CLOCK_MONOTONIC (between the readings before and after its process)"
else
	not_ok "stamp.st prints CLOCK_MONOTONIC (between the readings before and after its process)" \
		"status $rc, before $t0, after $t1, output: $out"
fi

run 120 "$baton" "$hy/fibproc.st" 15 2
if ((rc == 0)) && (($(grep -c '^fib_ms [0-9.e-]*$' <<<"$out") == 2)) && grep -qx 'fib_sends 1973' <<<"$out"; then
	ok "fibproc.st 15 2: two timings and benchFib 15 = 1973"
else
	not_ok "fibproc.st 15 2: two timings and benchFib 15 = 1973" "status $rc" "$out"
fi

# ---------------------------------------------------------------- the heads' programs

run 60 "$baton" -e 'stdout print: (Smalltalk includesKey: #VM); nl'
if [[ $out == true ]]; then
	norun=
else
	norun="no Hydra runtime in this baton (no class VM, issue 12)"
fi

# heads NAME EXPECT CMD...: the program must end with status 0 and print lines matching
# every extended regular expression of EXPECT (one per line).
heads() {
	local name=$1 expect=$2 re bad=
	shift 2
	if [[ -n $norun ]]; then
		skip "$name" "$norun"
		return
	fi
	run 120 "$@"
	while read -r re; do
		grep -Eqx "$re" <<<"$out" || bad+=" '$re'"
	done <<<"$expect"
	if ((rc == 0)) && [[ -z $bad ]]; then
		ok "$name"
	else
		not_ok "$name" "status $rc, missing:$bad" "$out"
	fi
}

num='[0-9][0-9.e-]*'
if [[ -n $norun ]]; then
	skip "spawn.st 3: three spawns, one spawn_ms line each" "$norun"
else
	run 120 "$baton" "$hy/spawn.st" 3 "$src/$hy"
	if ((rc == 0)) && (($(grep -Ecx "spawn_ms $num" <<<"$out") == 3)); then
		ok "spawn.st 3: three spawns, one spawn_ms line each"
	else
		not_ok "spawn.st 3: three spawns, one spawn_ms line each" "status $rc" "$out"
	fi
fi
heads "fib.st 15 2: both heads answer benchFib 15, one and two at once, timed" \
	"$(printf 'fib1_ms %s\nfib2_ms %s\nfib_sends 1973' "$num" "$num")" \
	"$baton" "$hy/fib.st" 15 2 "$src/$hy"
heads "pingpong.st 50: every round trip comes back right" \
	"$(printf 'rtt_us %s\nround_trips 50' "$num")" "$baton" "$hy/pingpong.st" 50 "$src/$hy"
heads "stream.st 1000: every 16-byte String arrives" \
	"$(printf 'msgs_per_s [1-9][0-9]*\nmsgs 1000')" "$baton" "$hy/stream.st" 1000 "$src/$hy"
if [[ -n $norun ]]; then
	skip "rss.st: ready 0, 1, 2 on each stdin line, then the heads end" "$norun"
else
	out=$(printf '\n\n\n' | timeout 120 "$baton" "$hy/rss.st" "$src/$hy" 2>"$TAP_ERR")
	rc=$?
	if ((rc == 0)) && [[ $out == $'ready 0\nready 1\nready 2\nheads 2' ]]; then
		ok "rss.st: ready 0, 1, 2 on each stdin line, then the heads end"
	else
		not_ok "rss.st: ready 0, 1, 2 on each stdin line, then the heads end" "status $rc" "$out"
	fi
fi

# ---------------------------------------------------------------- the harness

rows=(hydra.spawn_ms ref.hydra_process_start_ms hydra.parallel_speedup_2 ref.hydra_process_speedup_2
	hydra.msg_rtt_us ref.hydra_futex_rtt_us hydra.msgs_per_s ref.hydra_go_chan_msgs_per_s
	hydra.head_rss_kb ref.hydra_process_rss_kb)
if [[ ! -x $bdir/tools/bench ]]; then
	not_ok "tools/bench BENCH=hydra prints every row" "no $bdir/tools/bench"
else
	out=$(BENCH=hydra BENCH_HYDRA_QUICK=1 BENCH_FORMAT=tsv timeout 300 "$bdir/tools/bench" 2>"$TAP_ERR")
	rc=$?
	bad=()
	for r in "${rows[@]}"; do
		line=$(grep "^$r	" <<<"$out")
		v=$(cut -f2 <<<"$line")
		if [[ $v == n/a ]]; then
			# n/a needs its reason; only Go (not built by make check) and, without the
			# runtime, the heads' rows may lack a number
			if ! grep -q "^# $r: not measured: ." <<<"$out"; then
				bad+=("$r: n/a without a reason")
			elif [[ $r == ref.hydra_go_chan_msgs_per_s ]]; then
				:
			elif [[ $r == ref.* || -z $norun ]]; then
				bad+=("$r: $(grep "^# $r:" <<<"$out")")
			fi
		elif ! [[ $v =~ ^-?[0-9][0-9.e+-]*$ ]]; then
			bad+=("$r: no row or no value: '$line'")
		fi
	done
	if ((rc == 0)) && ((${#bad[@]} == 0)); then
		ok "tools/bench BENCH=hydra BENCH_HYDRA_QUICK=1: every row, a number or n/a with its reason"
	else
		not_ok "tools/bench BENCH=hydra BENCH_HYDRA_QUICK=1: every row, a number or n/a with its reason" \
			"status $rc" "${bad[@]}" "$out"
	fi
fi

tap_totals
((fail == 0))
