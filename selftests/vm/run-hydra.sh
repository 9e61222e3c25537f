#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/vm/run-hydra.sh: issue 12's torture test and the head checks a .st file cannot make alone.
# The torture test (selftests/vm/hydra/torture/main.st and head.st): 4 heads with small random inboxes
# send 1,000,000 messages all-to-all, random sizes; every message must arrive exactly once, in order per
# sender-recipient pair. It runs with the heads asleep in io_uring rings (BATON_HYDRA_RING=1: MSG_RING
# wake-ups), in epoll loops (BATON_URING=0 BATON_HYDRA_RING=1: eventfd wake-ups) and parked on their
# futexes (the default for heads that do no I/O),
# plus two negative controls (a dropped and a duplicated message must make the check fail).
# Then: an unhandled error in a head has every stderr line prefixed with 'head N: '.
# Owns a temporary directory and the baton processes it starts. TAP 13 on stdout; exit 0 pass, 1 fail,
# 4 skipped (kselftest). Every wait is bounded.
#
# Usage: selftests/vm/run-hydra.sh [BUILD_DIR]
# Environment: BATON_HYDRA_TORTURE (messages in all, default 1000000; 200000 when SAN=1, which says so in
# its TAP line), BATON_HYDRA_SEED (default: a new one each run, printed in the TAP line to replay it),
# BATON_HYDRA_TORTURE_SECS (the bound on one torture run, default 180 s; a plain build takes about 15 s, SAN=1 about 10 s for its 200,000).
set -uo pipefail

build=${1:-build}
baton=$build/baton
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
[[ -x $baton ]] || tap_skip_all hydra "baton not built"
case $baton in /*) ;; *) baton=$PWD/$baton ;; esac
# The Smalltalk programs spawn their heads by paths relative to the top of the tree.
cd "$root" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-hydra.XXXXXX")
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# Without the runtime (a build before issue 12) there is nothing to torture.
echo 'VM current id printNl' >"$tmp/probe.st"
if [[ $(timeout 10 "$baton" "$tmp/probe.st" 2>/dev/null) != 1 ]]; then
	rm -rf "$tmp"
	tap_skip_all hydra "this baton has no class VM (issue 12's runtime)"
fi
echo "TAP version 13"
TAP_ERR=$tmp/err

total=${BATON_HYDRA_TORTURE:-}
note=
if [[ -z $total ]]; then
	total=1000000
	if [[ ${SAN:-} == 1 ]]; then
		total=200000
		note=" (SAN=1: 200,000 instead of 1,000,000, the sanitizers make it about 5 times slower)"
	fi
fi
seed=${BATON_HYDRA_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000000))}
secs=${BATON_HYDRA_TORTURE_SECS:-180}

# torture RING MESSAGES CHECK_MODE: runs torture/main.st in the background, RING uring
# (BATON_HYDRA_RING=1), epoll (the same with BATON_URING=0) or futex (neither), bounded; status in
# $rc, stdout in $tmp/out, stderr in $tmp/err.
torture() {
	local ring=$1 count=$2 mode=$3 e=(-u BATON_URING -u BATON_HYDRA_RING)
	[[ $ring == uring ]] && e=(-u BATON_URING BATON_HYDRA_RING=1)
	[[ $ring == epoll ]] && e=(BATON_URING=0 BATON_HYDRA_RING=1)
	# The heads' inboxes hold 1 to 8 messages (torture/main.st); the first VM's, which relays when
	# the heads cannot name each other, 1 to 16.
	env "${e[@]}" BATON_HYDRA_INBOX=$((seed % 16 + 1)) "$baton" --stats selftests/vm/hydra/torture/main.st "$count" "$seed" "$mode" \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	reap "$pid" "$secs"
	pid=
}
verdict() { grep '^torture: ' "$tmp/out" | head -n 1; }
# --stats of the first VM: the event loop its heads wake it on (uring: MSG_RING). Under
# BATON_URING=0 a VM opens no loop for Hydra (none): it parks on its futex, woken there.
iostat() { awk -v k="${1:-io.backend}" '$1 == k { print $2; exit }' "$tmp/err"; }

# ---- 1, 2, 3. the torture test in the three ways a head sleeps
for ring in uring epoll futex; do
	how="BATON_HYDRA_RING=1"
	[[ $ring == epoll ]] && how="BATON_URING=0 BATON_HYDRA_RING=1"
	[[ $ring == futex ]] && how="parked heads, no loop"
	name="torture ($ring ring, $how): 4 heads, $total messages all-to-all, random sizes and full inboxes, each arrives once and in order$note"
	torture "$ring" "$total" ok
	v=$(verdict)
	# Without a way to name another head (a VM is not a message kind), the heads send through the
	# first VM, which forwards: the TAP line says so.
	[[ $v == *"relayed by the first VM"* ]] && name="$name (relayed by the first VM: a VM cannot be sent in a message)"
	be=$(iostat) mr=$(iostat io.msg_ring_wakes)
	# the first VM slept where the mode says, and was woken that way at least once
	case $ring in
	uring) want=$([[ $be == uring && ${mr:-0} -gt 0 ]] && echo 1) ;;
	epoll) want=$([[ $be == epoll && ${mr:-0} == 0 ]] && echo 1) ;;
	futex) want=$([[ $be == none ]] && echo 1) ;;
	esac
	if [[ $rc == 0 && $v == "torture: ok"* && -n $want ]]; then
		ok "$name"
		echo "# $v; first VM's inbox $((seed % 16 + 1)), io.backend $be, io.msg_ring_wakes ${mr:-?}"
	else
		not_ok "$name" "status $rc, io.backend '$be', seed $seed (BATON_HYDRA_SEED=$seed replays it)" "$(head -n 8 "$tmp/out")"
	fi
done

# ---- 4, 5. negative controls: the checker sees a message that was lost or duplicated
for mode in drop dup; do
	name="torture negative control ($mode: head 1 $([[ $mode == drop ]] && echo skips || echo repeats) one message to head 2): the check fails"
	torture uring 2400 "$mode"
	v=$(verdict)
	if [[ $rc == 1 && $v == "torture: FAIL"* ]]; then
		ok "$name"
	else
		not_ok "$name" "status $rc, verdict '$v' (expected 'torture: FAIL ...' and status 1)"
	fi
done

# ---- 6. an unhandled error in a head: every line of its report starts with 'head N: '
cat >"$tmp/err.st" <<'ST'
| h |
h := VM spawn: 'selftests/vm/hydra/heads/fail.st'.
h wait printNl.
'first VM goes on' displayNl.
ST
name="an unhandled error in head 2: every stderr line of its report starts with 'head 2: ', the first VM goes on"
timeout 20 "$baton" "$tmp/err.st" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc == 0 && $(cat "$tmp/out") == $'1\nfirst VM goes on' ]] &&
	grep -qx 'head 2: Error: boom in a head' "$tmp/err" && ! grep -qv '^head 2: ' "$tmp/err"; then
	ok "$name"
else
	not_ok "$name" "status $rc, stdout: $(head -c 200 "$tmp/out")"
fi

echo "1..$n"
tap_totals
((fail == 0))
