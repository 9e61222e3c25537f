#!/bin/bash
# SPDX-License-Identifier: MIT
# selftests/gst/run-gst.sh: GNU Smalltalk's file formats where a .st test cannot say it,
# as TAP: `baton -r` output compared byte for byte (blank lines, quotes, the constructor
# form `Array new: 3 "<0>"` of gst's value printer, ` error: ` lines, exit at the end of
# the file), compile errors that cost one unit only (FILE:LINE:COL, exit 65 at the end),
# and FileStream fileIn: of a gst file. The .st tests are in selftests/vm/gst/.
# Usage: selftests/gst/run-gst.sh [BUILD_DIR]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
# shellcheck source=selftests/tap.sh
. "$root/selftests/tap.sh"
bt=$build/baton
echo "TAP version 13"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-gst.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
TAP_ERR=$tmp/err
echo "1..10"

# check NAME FILE EXPECTED-STATUS EXPECTED-OUTPUT-FILE [baton options...]: stdout and
# stderr together (as gst's suite runs it: 2>&1) must equal the expected bytes
check() {
	local name=$1 f=$2 want=$3 exp=$4
	shift 4
	(cd "$tmp" && timeout 30 "$bt" "$@" "$f" >"$tmp/out" 2>&1)
	local rc=$?
	if [[ $rc == "$want" ]] && cmp -s "$tmp/out" "$exp"; then
		ok "$name"
	else
		not_ok "$name" "status $rc (want $want)" "$(diff "$exp" "$tmp/out" | head -20)"
	fi
}

cat >"$tmp/r1.st" <<'EOF'
Object subclass: Foo [ printOn: aStream [ aStream nextPutAll: 'a custom print' ] ]
Eval [ 3 + 4 ]
Eval [ 'it''s' ]
Eval [ #(1 2 3) ]
Eval [ Foo new ]
Eval [ Foo ]
Eval [ Foo class ]
Eval [ $a ]
Eval [ (Character value: 7) ]
Eval [ 0.1 ]
Eval [ 1/0. 'not reached' ]
Eval [ nil foo ]
Eval [ x := 5. ^x * 2. 7 ]
Eval [ | y | y ]
'a plain statement prints no frame' displayNl.
Eval [ 1000000000000000000000 class ]
EOF
printf '%s\n' '' 'Execution begins...' 'returned value is 7' \
	'' 'Execution begins...' "returned value is 'it's'" \
	'' 'Execution begins...' 'returned value is Array new: 3 "<0>"' \
	'' 'Execution begins...' 'returned value is Foo new "<0>"' \
	'' 'Execution begins...' 'returned value is Foo' \
	'' 'Execution begins...' 'returned value is Foo class' \
	'' 'Execution begins...' 'returned value is $a' \
	'' 'Execution begins...' 'returned value is $<7>' \
	'' 'Execution begins...' 'returned value is 0.100000' \
	'' 'Execution begins...' ' error: The program attempted to divide a number by zero' 'returned value is nil' \
	'' 'Execution begins...' ' error: did not understand #foo' 'returned value is nil' \
	'' 'Execution begins...' 'returned value is 10' \
	'' 'Execution begins...' 'returned value is nil' \
	'a plain statement prints no frame' \
	'' 'Execution begins...' 'returned value is LargePositiveInteger' >"$tmp/r1.exp"
check "-r frames every Eval, prints values with gst's printer, errors as ' error: TEXT', exits 0 as gst -r" r1.st 0 "$tmp/r1.exp" -r

# -r ends at the end of the file as gst does: a process still waiting does not hold it
cat >"$tmp/r2.st" <<'EOF'
Eval [ [ Semaphore new wait ] fork. 'main' ]
EOF
printf '%s\n' '' 'Execution begins...' 'returned value is '"'main'" >"$tmp/r2.exp"
check "-r exits at the end of the file, without the waiting-process report" r2.st 0 "$tmp/r2.exp" -r

# a compile error costs its unit only; the others run; 65 at the end
cat >"$tmp/c1.st" <<'EOF'
Eval [ 'first' displayNl ]
Eval [ 3 + ]
Eval [ 'second' displayNl ]
Object subclass: Bar [ broken [ ^( ] ok [ ^1 ] ]
Object subclass: Baz [ fine [ ^'fine' ] ]
Eval [ Baz new fine displayNl ]
!Baz methodsFor: 'x'!
good
    ^'good'
!
bad
    ^1 +
!
alsoGood
    ^'also good'
! !
Eval [ Baz new good displayNl. Baz new alsoGood displayNl ]
EOF
printf '%s\n' 'first' 'c1.st:2:12: expression expected (found '"']'"')' 'second' \
	'c1.st:4:36: expression expected (found '"']'"')' 'fine' \
	'c1.st:13:1: expression expected (found end of input)' 'good' 'also good' >"$tmp/c1.exp"
check "a compile error is reported as FILE:LINE:COL and costs its unit only; exit 65" c1.st 65 "$tmp/c1.exp"

# an unhandled error ends its Eval only; exit 1
cat >"$tmp/e1.st" <<'EOF'
Eval [ 'a' displayNl. #() first. 'b' displayNl ]
Eval [ 'c' displayNl ]
EOF
(cd "$tmp" && timeout 30 "$bt" e1.st >"$tmp/out" 2>"$tmp/err")
rc=$?
if [[ $rc == 1 ]] && [[ $(cat "$tmp/out") == $'a\nc' ]] && grep -q 'at UndefinedObject>>executeStatements (e1.st:1)' "$tmp/err" &&
	! grep -q FileIn "$tmp/err"; then
	ok "an unhandled error in an Eval ends it only; its trace ends at the Eval; exit 1"
else
	not_ok "an unhandled error in an Eval ends it only; its trace ends at the Eval; exit 1" "status $rc" "$(cat "$tmp/out")"
fi

# FileStream fileIn: detects a gst file and runs it unit by unit
cat >"$tmp/lib.st" <<'EOF'
Object subclass: #Lib
    instanceVariableNames: ''
    classVariableNames: ''
    package: 'test'!

!Lib class methodsFor: 'x'!
answer
    ^42
! !
Eval [ 'lib loaded' displayNl ]
EOF
cat >"$tmp/f1.st" <<'EOF'
FileStream fileIn: 'lib.st'.
Lib answer printNl.
EOF
printf '%s\n' 'lib loaded' '42' >"$tmp/f1.exp"
check "FileStream fileIn: runs a chunk-format file unit by unit" f1.st 0 "$tmp/f1.exp"

# a file without Eval or chunks keeps the whole-file contract: one syntax error, nothing runs
printf "'x' displayNl.\n3 + .\n" >"$tmp/p1.st"
printf '%s\n' "p1.st:2:5: expression expected (found '.')" >"$tmp/p1.exp"
check "a plain file with a syntax error still runs nothing (exit 65)" p1.st 65 "$tmp/p1.exp"

# a class made by a message in one unit is there for the next (units compile in turn)
cat >"$tmp/u1.st" <<'EOF'
Eval [ Smalltalk at: #Made put: 3 ]
Eval [ (Made + 1) printNl ]
Object subclass: #Made2.
Made2 extend [ hello [ ^'hello' ] ]
Eval [ Made2 new hello displayNl ]
EOF
printf '%s\n' '4' 'hello' >"$tmp/u1.exp"
check "each unit compiles after the previous one ran" u1.st 0 "$tmp/u1.exp"

# a '!' in a comment or a string does not end a chunk; '!!' is one '!'
cat >"$tmp/k1.st" <<'EOF'
Object subclass: #K
    instanceVariableNames: ''
    classVariableNames: ''
    package: 'test'!
!K methodsFor: 'x'!
shout
    "a comment with a ! in it"
    ^'hey!!', '$!'
! !
Eval [ K new shout displayNl ]
EOF
printf '%s\n' 'hey!$!' >"$tmp/k1.exp"
check "chunks: '!' in comments and strings, '!!' undoubled" k1.st 0 "$tmp/k1.exp"

# -r exits 0 after a compile error too (gst -r's status); without -r it is 65
printf "Eval [ 'a' displayNl ]\nEval [ 3 + ]\nEval [ 'b' displayNl ]\n" >"$tmp/c2.st"
printf '%s\n' '' 'Execution begins...' 'a' "returned value is 'a'" "c2.st:2:12: expression expected (found ']')" \
	'' 'Execution begins...' 'b' "returned value is 'b'" >"$tmp/c2.exp"
check "-r goes on after a compile error, reported as FILE:LINE:COL, and exits 0" c2.st 0 "$tmp/c2.exp" -r

# -r on a file with no Eval at all still runs it unit by unit, silently
printf "'plain' displayNl.\n" >"$tmp/n1.st"
printf '%s\n' 'plain' >"$tmp/n1.exp"
check "-r on a file of plain statements prints only their output" n1.st 0 "$tmp/n1.exp" -r

tap_totals
[[ $fail == 0 ]]
