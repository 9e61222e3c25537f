#!/bin/sh
# SPDX-License-Identifier: MIT
# selftests/vm/run-st.sh: runs the data-driven Smalltalk suite with BUILD_DIR/baton, as TAP.
# Owns nothing but the invocation: the checking is tools/st-test's, the annotations are
# described in selftests/vm/README.md. Exit: 0 passed, 1 a failure, 4 skipped (kselftest).
#
# Usage: selftests/vm/run-st.sh [BUILD_DIR] [ST-TEST OPTIONS] [FILE_OR_DIR...]
#   BUILD_DIR defaults to build; FILE_OR_DIR (relative to the top of the tree) defaults to
#   the whole of selftests/vm.
#   Options go to st-test: -v, -j N, --timeout S. BATON_GC_STRESS=1 selects the GC stress lane.
set -eu

build=${1:-build}
[ $# -gt 0 ] && shift
case $build in
/*) ;;
*) build=$(pwd)/$build ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)

skip() {
	printf 'TAP version 13\n1..1\nok 1 st-suite # SKIP %s\n' "$1"
	printf '# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n'
	exit 4
}

[ -x "$build/baton" ] || skip "baton not built"

# The Makefile builds st-test; when it has not (a partial build), build it here:
# it is one file with no dependency beyond libc.
st="$build/tools/st-test"
src="$root/tools/st-test.c"
if [ ! -x "$st" ] || [ -n "$(find "$src" -newer "$st")" ]; then
	mkdir -p "$build/tools"
	${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$st" "$src" ||
		{ echo "run-st.sh: cannot build $st" >&2; exit 1; }
fi

opts=
paths=
while [ $# -gt 0 ]; do
	case $1 in
	-j | --timeout) opts="$opts $1 $2"; shift 2 ;;
	-*) opts="$opts $1"; shift ;;
	*) paths="$paths $1"; shift ;;
	esac
done

# The FFI tests (selftests/vm/ffi) call into the C test library the Makefile builds.
BATON_FFI_TESTLIB=$build/selftests/ffi/libffitest.so
export BATON_FFI_TESTLIB

# Relative paths in the TAP lines: run from the top of the tree.
cd "$root"
# shellcheck disable=SC2086 # opts and paths are word lists on purpose
exec "$st" --cli $opts "$build/baton" ${paths:-selftests/vm}
