#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/layers/run-layers.sh: the layering check in make check. Runs tools/check-layers
# on the tree, then on scratch copies with one bad include each (negative controls: each must
# be reported with its file and line), and checks that BUILD_DIR/libbaton.so, the embeddable
# core, needs neither libffi nor libdl and exports only baton_* symbols (with a scratch
# library that breaks both rules as its negative control). Owns its temp directory and
# nothing else; never edits the tree. TAP 13 on stdout. Exit 0 pass, 1 fail.
# See Documentation/build.md ("Layers").
set -uo pipefail

case ${1:-} in
-h | --help)
	echo "usage: selftests/layers/run-layers.sh [BUILD_DIR]   (default: build)"
	exit 0
	;;
esac
build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
check=$src/tools/check-layers
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

echo "TAP version 13"
echo "1..10"

# ---------------------------------------------------------------- the tree itself

if out=$(python3 "$check" "$src" 2>&1); then
	ok "the tree keeps its layers (tools/check-layers)"
else
	not_ok "the tree keeps its layers (tools/check-layers)" "$out"
fi

# ---------------------------------------------------------------- negative controls

# A scratch copy of the layered folders; [file] gets [line] appended, and check-layers must
# name file:N (N: the appended line) in its report and fail.
scratch=0
bad_include() {
	local desc=$1 file=$2 line=$3 want_file=${4:-$2} want_line=${5:-}
	scratch=$((scratch + 1))
	local t=$tmp/tree$scratch
	mkdir -p "$t"
	cp -R "$src/include" "$src/kernel-iface" "$src/heartbeat" "$src/vm" "$t/" || {
		not_ok "$desc" "cannot copy the tree"
		return
	}
	printf '%s\n' "$line" >>"$t/$file"
	[[ -z $want_line ]] && want_line=$(wc -l <"$t/$file")
	local out rc
	out=$(python3 "$check" "$t" 2>&1)
	rc=$?
	if ((rc == 1)) && grep -q "^$want_file:$want_line: " <<<"$out"; then
		ok "$desc"
		echo "# reported: $(grep -m1 "^$want_file:$want_line: " <<<"$out")"
	else
		not_ok "$desc" "expected exit 1 and a line starting with $want_file:$want_line:" \
			"got exit $rc:" "$out"
	fi
}

bad_include "negative control: kernel-iface including the VM is reported" \
	kernel-iface/clock.h '#include "vm/st.h"'
bad_include "negative control: heartbeat including vm/core is reported" \
	heartbeat/hb.h '#include "vm/core/core.h"'
bad_include "negative control: vm/core including the Smalltalk VM is reported" \
	vm/core/own.c '#include "vm/sched.h"'
bad_include "negative control: the rest of vm/ including kernel-iface is reported" \
	vm/sched.c '#include "kernel-iface/clock.h"'
bad_include "negative control: vm/gc including st.h is reported" \
	vm/gc/gc_new.c '#include "vm/st.h"'
# vm/obj.h may be included by the collector, so an st.h behind it is reported where the
# collector includes it (vm/gc/gc.h, at its line of #include "vm/obj.h").
objline=$(grep -n '#include "vm/obj.h"' "$src/vm/gc/gc.h" | head -n 1 | cut -d: -f1)
if [[ -n $objline ]]; then
	bad_include "negative control: st.h reached by vm/gc through vm/obj.h is reported" \
		vm/obj.h '#include "vm/st.h"' vm/gc/gc.h "$objline"
else
	skip "negative control: st.h reached by vm/gc through vm/obj.h is reported" \
		"vm/gc/gc.h does not include vm/obj.h"
fi

# ---------------------------------------------------------------- libbaton.so

# What a shared library needs and exports that the core may not: NEEDED libffi or libdl, a
# defined dynamic symbol not named baton_*. Prints one line per problem.
elf_problems() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E '^lib(ffi|dl)\.' |
		sed 's/^/needs /'
	nm -D --defined-only "$1" | awk '$3 != "" && $3 !~ /^baton_/ { print "exports " $3 }'
}

so=$build/libbaton.so
if ! command -v readelf >/dev/null || ! command -v nm >/dev/null; then
	skip "libbaton.so needs neither libffi nor libdl" "no readelf/nm (binutils)"
	skip "libbaton.so exports only baton_* symbols" "no readelf/nm (binutils)"
elif [[ ! -f $so ]]; then
	skip "libbaton.so needs neither libffi nor libdl" "$so not built"
	skip "libbaton.so exports only baton_* symbols" "$so not built"
else
	p=$(elf_problems "$so")
	if ! grep -q '^needs' <<<"$p"; then
		ok "libbaton.so needs neither libffi nor libdl"
	else
		not_ok "libbaton.so needs neither libffi nor libdl" "$(grep '^needs' <<<"$p")"
	fi
	nexp=$(nm -D --defined-only "$so" | awk '$3 ~ /^baton_/' | wc -l)
	if ! grep -q '^exports' <<<"$p" && ((nexp > 0)); then
		ok "libbaton.so exports only baton_* symbols ($nexp of them)"
	else
		not_ok "libbaton.so exports only baton_* symbols" "baton_* exported: $nexp" \
			"$(grep '^exports' <<<"$p" | head -n 20)"
	fi
fi

# The negative control of the ELF check: a library linked with libffi that exports foo.
# (Not -ldl: since glibc 2.34 libdl is empty and the linker drops it.)
cc=${CC:-cc}
command -v "$cc" >/dev/null || cc=gcc
if ! command -v readelf >/dev/null || ! command -v nm >/dev/null; then
	skip "negative control: a library needing libffi and exporting foo is reported" "no binutils"
elif ! printf 'int foo(void) { return 0; }\nint baton_x(void) { return 1; }\n' >"$tmp/bad.c" ||
	! "$cc" -shared -fPIC -o "$tmp/libbad.so" "$tmp/bad.c" -Wl,--no-as-needed -lffi 2>"$tmp/cc.log"; then
	skip "negative control: a library needing libffi and exporting foo is reported" \
		"cannot build it with $cc: $(head -n 1 "$tmp/cc.log")"
else
	p=$(elf_problems "$tmp/libbad.so")
	if grep -q '^needs libffi\.' <<<"$p" && grep -qx 'exports foo' <<<"$p" &&
		! grep -q 'baton_x' <<<"$p"; then
		ok "negative control: a library needing libffi and exporting foo is reported"
	else
		not_ok "negative control: a library needing libffi and exporting foo is reported" \
			"problems found: ${p:-none}"
	fi
fi

tap_totals
((fail == 0))
