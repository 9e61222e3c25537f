#!/bin/bash
# SPDX-License-Identifier: MIT
# selftests/pkg/run-pkg.sh: the package loader as installed, as TAP. Does a
# `make install DESTDIR=TMP PREFIX=/opt/baton` of the tree, then checks that the installed
# baton finds a package in its share/baton/packages, the order of the package path
# (program directory, BATON_PATH, installed), load-once, PackageNotFound's text naming
# every directory searched, a fileIn: syntax error reported as FILE:LINE:COL, and that
# `make uninstall` removes it all. What a .st test can say is in selftests/vm/pkg/.
# Usage: selftests/pkg/run-pkg.sh [BUILD_DIR]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
# shellcheck source=selftests/tap.sh
. "$root/selftests/tap.sh"

echo "TAP version 13"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-pkg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
TAP_ERR=$tmp/err

# The build variant of BUILD_DIR, so that make installs what was built (no rebuild).
vars=()
case $(basename "$build") in
build-fuzz*) echo "1..1"; skip install "fuzz build"; tap_totals; exit 4 ;;
build-san*) vars+=(SAN=1) ;;
build-tsan*) vars+=(TSAN=1) ;;
esac
case $(basename "$build") in *-debug) vars+=(DEBUG=1) ;; esac

dest=$tmp/dest prefix=/opt/baton
inst=$dest$prefix
pkgdir=$inst/share/baton/packages
bt=$inst/bin/baton
echo "1..14"

# ---- install
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" "${vars[@]}" \
	install DESTDIR="$dest" PREFIX="$prefix" >"$tmp/make.out" 2>"$TAP_ERR" && [ -x "$bt" ] && [ -d "$pkgdir" ]; then
	ok "make install puts bin/baton and share/baton/packages under DESTDIR/PREFIX"
else
	not_ok "make install puts bin/baton and share/baton/packages under DESTDIR/PREFIX" "$(tail -5 "$tmp/make.out")"
	tap_totals
	exit 1
fi
missing=
while IFS= read -r f; do
	[ -n "$f" ] || continue
	cmp -s "$root/st/packages/$f" "$pkgdir/$f" || missing="$missing $f"
done < <(cd "$root/st/packages" && find . -name '*.st' -type f | sed 's|^\./||')
if [ -z "$missing" ]; then ok "every st/packages/**/*.st is installed"
else not_ok "every st/packages/**/*.st is installed" "missing:$missing"; fi

# ---- fixtures: packages in the installed directory, on BATON_PATH, next to the program
mkdir -p "$tmp/prog" "$tmp/p1" "$tmp/p2" "$tmp/p2/PkgDir"
pkg() { printf "'%s' displayNl.\n" "$2" >"$1"; }
pkg "$pkgdir/PkgInst.st" "PkgInst from installed"
pkg "$pkgdir/PkgWhere.st" "PkgWhere from installed"
pkg "$tmp/p2/PkgWhere.st" "PkgWhere from p2"
pkg "$tmp/p1/PkgWhere.st" "PkgWhere from p1"
pkg "$tmp/p2/PkgNear.st" "PkgNear from p2"
pkg "$tmp/prog/PkgNear.st" "PkgNear from the program directory"
pkg "$tmp/p2/PkgDir/b.st" "PkgDir b"
pkg "$tmp/p2/PkgDir/a.st" "PkgDir a"
printf "| x |\nx := 1.\nx := (x + 2.\n" >"$tmp/bad.st"

# run NAME EXPECTED_OUT PROGRAM [ENV...]: the program (a file in prog/) run by the installed baton
run() {
	local name=$1 want=$2 src=$3
	shift 3
	printf '%s\n' "$src" >"$tmp/prog/main.st"
	local out
	out=$(cd "$tmp" && env -u BATON_PATH "$@" timeout 20 "$bt" prog/main.st 2>"$TAP_ERR")
	local rc=$?
	if [ "$out" = "$want" ] && [ $rc = 0 ]; then ok "$name"
	else not_ok "$name" "exit $rc" "expected:" "$want" "got:" "$out"; fi
}

run "the installed baton finds an installed package" "PkgInst from installed" \
	"PackageLoader fileInPackage: 'PkgInst'."
run "the package path is program directory, BATON_PATH in order, installed directory" \
	"$(printf '%s\n' prog "$tmp/p1" "$tmp/p2" "$pkgdir")" \
	"PackageLoader packagePath do: [:d | d displayNl]." BATON_PATH="$tmp/p1:$tmp/p2"
run "the first BATON_PATH directory wins over the second and the installed one" "PkgWhere from p1" \
	"PackageLoader fileInPackage: 'PkgWhere'." BATON_PATH="$tmp/p1:$tmp/p2"
run "BATON_PATH's order is followed (p2 first)" "PkgWhere from p2" \
	"PackageLoader fileInPackage: 'PkgWhere'." BATON_PATH="$tmp/p2:$tmp/p1"
run "BATON_PATH wins over the installed directory" "PkgWhere from p2" \
	"PackageLoader fileInPackage: 'PkgWhere'." BATON_PATH="$tmp/p2"
run "the program's directory wins over BATON_PATH" "PkgNear from the program directory" \
	"PackageLoader fileInPackage: 'PkgNear'." BATON_PATH="$tmp/p2"
run "a package directory loads its .st files in name order" "$(printf 'PkgDir a\nPkgDir b')" \
	"PackageLoader fileInPackage: 'PkgDir'." BATON_PATH="$tmp/p2"
run "a package loads once" "$(printf 'PkgInst from installed\ntrue\nfalse\nfalse')" \
	"(PackageLoader fileInPackage: 'PkgInst') printNl.
(PackageLoader fileInPackage: 'PkgInst') printNl.
(PackageLoader fileInPackage: 'PkgInst') printNl."

# expect_err NAME WANT_FIRST_STDERR_LINE PROGRAM [ENV...]: an unhandled error, exit status 1
expect_err() {
	local name=$1 want=$2 src=$3
	shift 3
	printf '%s\n' "$src" >"$tmp/prog/main.st"
	(cd "$tmp" && env -u BATON_PATH "$@" timeout 20 "$bt" prog/main.st >/dev/null 2>"$tmp/stderr")
	local rc=$? got
	got=$(head -1 "$tmp/stderr")
	if [ "$got" = "$want" ] && [ $rc = 1 ] && grep -q "(prog/main.st:1)" "$tmp/stderr"; then ok "$name"
	else not_ok "$name" "exit $rc" "expected: $want" "got:" "$(cat "$tmp/stderr")"; fi
}
expect_err "PackageNotFound names the package and every directory searched" \
	"PackageNotFound: package Nope not found (searched: prog, $tmp/p1, $tmp/nowhere, $pkgdir)" \
	"PackageLoader fileInPackage: 'Nope'." BATON_PATH="$tmp/p1:$tmp/nowhere"
expect_err "fileIn: of a file with a syntax error reports FILE:LINE:COL" \
	"SyntaxError: bad.st:3:12: ')' expected (found '.')" \
	"FileStream fileIn: 'bad.st'."
run "a fileIn: syntax error is caught with on:do:" "$(printf 'bad.st:3:12: %s\nafter' "')' expected (found '.')")" \
	"[FileStream fileIn: 'bad.st'] on: SyntaxError do: [:e | e messageText displayNl].
'after' displayNl."

# ---- uninstall
rm -f "$pkgdir"/Pkg*.st
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$root" "${vars[@]}" \
	uninstall DESTDIR="$dest" PREFIX="$prefix" >"$tmp/make.out" 2>"$TAP_ERR" &&
	[ ! -e "$bt" ] && [ ! -e "$inst/share/baton" ]; then
	ok "make uninstall removes baton and the packages"
else
	not_ok "make uninstall removes baton and the packages" "$(find "$inst")"
fi
tap_totals
[ "$fail" = 0 ]
