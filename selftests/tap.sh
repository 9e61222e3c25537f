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
# The kselftest totals line; the script's exit status follows from $fail.
tap_totals() { echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"; }
