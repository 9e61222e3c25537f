# SPDX-License-Identifier: MIT
# selftests/tap.sh: the TAP 13 helpers of the shell-driven selftests (run-*.sh), sourced,
# never run. Owns the counters n, pass, fail, skip and the three verdicts; a script sets
# TAP_ERR to a file whose tail not_ok adds to a failure's diagnostics (a program's stderr).
# See Documentation/testing.md.

n=0 pass=0 fail=0 skip=0
TAP_ERR=

ok() { n=$((n + 1)) pass=$((pass + 1)); echo "ok $n $1"; }
skip() { n=$((n + 1)) skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }
# not_ok NAME [LINE...]: each LINE (which may hold several lines) as a "# " diagnostic.
not_ok() {
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
	if [[ -n $TAP_ERR && -s $TAP_ERR ]]; then
		sed 's/^/# stderr: /' "$TAP_ERR" | tail -n 20
	fi
	return 0
}
# tap_skip_all NAME REASON: the whole script skips (it has not printed its header yet): one
# skipped test, the totals, exit status 4 (kselftest's skip).
tap_skip_all() {
	printf 'TAP version 13\n1..1\nok 1 %s # SKIP %s\n' "$1" "$2"
	printf '# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n'
	exit 4
}
# reap PID SECS: waits at most SECS seconds for the child PID to end; its exit status in
# $rc, or rc=timeout when it had to be killed.
reap() {
	if timeout "$2" tail --pid="$1" -f /dev/null; then
		wait "$1"
		rc=$?
	else
		rc=timeout
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
	fi
	return 0
}
# The kselftest totals line; the script's exit status follows from $fail.
tap_totals() { echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"; }
