#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/trace/run-trace.sh: the ownership timeline in make check. Runs the demo
# (examples/demo.st) under `baton --trace` and under `tools/trace-handoffs --timeline`,
# validates both files with tools/trace-timeline check (trace-event format, matched B/E,
# monotonic timestamps per track, flows) against the counters --stats printed (handoffs,
# blocked detections, callouts), draws the SVG (< 2 MB), checks Smalltalk traceFlush, the
# error for an unwritable file, bucketing of a long run, negative controls of the checker,
# and the bpftrace one-liners of Documentation/core/tracing.md when bpftrace can attach.
# Owns its temp directory and nothing else. TAP 13 on stdout. Exit 0 pass, 1 fail.
# See Documentation/core/tracing.md.
set -uo pipefail

case ${1:-} in
-h | --help)
	echo "usage: selftests/trace/run-trace.sh [BUILD_DIR]   (default: build)"
	exit 0
	;;
esac
build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $build in /*) ;; *) build=$PWD/$build ;; esac
baton=$build/baton
tl=$src/tools/trace-timeline
demo=$src/examples/demo.st
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-trace.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=selftests/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

echo "TAP version 13"
echo "1..17"

if [[ ! -x $baton ]]; then
	for i in $(seq 1 17); do skip "trace test $i" "$baton not built"; done
	tap_totals
	exit 0
fi

# ---------------------------------------------------------------- baton --trace on the demo

TAP_ERR=$tmp/demo.err
(cd "$tmp" && timeout 120 "$baton" --trace "$tmp/demo.json" "$demo" --stats >"$tmp/demo.out" 2>"$tmp/demo.err")
rc=$?
if ((rc == 0)) && [[ -s $tmp/demo.json ]]; then
	ok "baton --trace FILE demo.st writes FILE ($(wc -c <"$tmp/demo.json") bytes)"
else
	not_ok "baton --trace FILE demo.st writes FILE" "exit $rc"
fi

if out=$(python3 "$tl" check "$tmp/demo.json" --stats "$tmp/demo.err" 2>&1); then
	ok "the --trace file is valid trace-event JSON and matches --stats (handoffs, blocked, callouts)"
	sed 's/^/# /' <<<"$out"
else
	not_ok "the --trace file is valid trace-event JSON and matches --stats" "$out"
fi

# What the picture must show: the callout by name, the heartbeat finding it blocked, the VM
# handed to another thread and back, processes by name, GC spans as many as scavenges.
facts=$(python3 - "$tmp/demo.json" "$tmp/demo.err" <<'EOF'
import json, re, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
st = dict(re.findall(r"^\s+([a-z_.]+)\s+(\S+)\s*$", open(sys.argv[2]).read(), re.M))
names = {e.get("name") for e in ev}
bad = []
if "callout usleep" not in names: bad.append("no span 'callout usleep'")
if "blocked: usleep" not in names: bad.append("no instant 'blocked: usleep'")
for w in ("w1", "w2", "w3", "ticker", "producer"):
    if not any(str(n).startswith(w + " (#") for n in names): bad.append("no span of process " + w)
gc = sum(1 for e in ev if e.get("ph") == "B" and e.get("cat") == "gc")
want = int(st.get("gc.scavenges", -1)) + int(st.get("gc.full_gcs", 0))
if gc != want: bad.append("%d GC spans, --stats says %d collections" % (gc, want))
tids = {e["tid"] for e in ev if e.get("ph") == "B" and e.get("cat") == "own"}
if len(tids) < 2: bad.append("the VM ran on %d thread(s), not 2" % len(tids))
flows = {e["id"]: e["tid"] for e in ev if e.get("ph") == "s"}
back = [e for e in ev if e.get("ph") == "f" and e["tid"] != flows.get(e["id"])]
if not back: bad.append("no handoff arrow between two threads")
print("\n".join(bad) if bad else "ok: %d GC spans, %d threads ran the VM, %d handoff arrows" % (gc, len(tids), len(back)))
EOF
)
if [[ $facts == ok:* ]]; then
	ok "the demo's timeline shows the callout, its blocked detection, handoffs, processes, GC"
	echo "# $facts"
else
	not_ok "the demo's timeline shows the callout, its blocked detection, handoffs, processes, GC" "$facts"
fi

if out=$(python3 "$tl" svg "$tmp/demo.json" "$tmp/demo.svg" 2>&1) && [[ -s $tmp/demo.svg ]]; then
	size=$(wc -c <"$tmp/demo.svg")
	lanes=$(grep -c '>VM thread [0-9]*<' "$tmp/demo.svg")
	if ((size < 2 * 1024 * 1024)) && grep -q 'owns the VM' "$tmp/demo.svg" &&
		grep -q 'blocked: usleep' "$tmp/demo.svg" && grep -q 'marker-end' "$tmp/demo.svg" &&
		grep -q ' ms<' "$tmp/demo.svg" && ((lanes >= 2)) &&
		python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$tmp/demo.svg"; then
		ok "trace-timeline svg: well-formed, $size bytes (< 2 MB), $lanes VM thread lanes, legend, axis, blocked mark, arrows"
	else
		not_ok "trace-timeline svg: well-formed, < 2 MB, lanes, legend, axis, blocked mark, arrows" \
			"size $size, lanes $lanes"
	fi
else
	not_ok "trace-timeline svg draws the demo" "$out"
fi

# ---------------------------------------------------------------- more runs

TAP_ERR=$tmp/stress.err
BATON_STRESS_HANDOFF=1 timeout 120 "$baton" --trace "$tmp/stress.json" "$demo" --stats \
	>/dev/null 2>"$tmp/stress.err"
if out=$(python3 "$tl" check "$tmp/stress.json" --stats "$tmp/stress.err" 2>&1); then
	ok "BATON_STRESS_HANDOFF=1 (a handoff at every checkpoint): valid, counts match ($(grep -o 'handoffs=[0-9]*' <<<"$out" | head -n 1))"
else
	not_ok "BATON_STRESS_HANDOFF=1: valid, counts match" "$out"
fi

TAP_ERR=$tmp/flush.err
# (a process name with a quote, a backslash, a control character, UTF-8 and a byte that is not)
cat >"$tmp/flush.st" <<'EOF'
| r p |
p := [(Delay forMilliseconds: 1) wait] newProcess.
p name: 'q"\ ', (String with: (Character value: 1)), 'é', (String with: (Character value: 255)).
p resume.
r := Smalltalk traceFlush.
r printNl.
(Delay forMilliseconds: 5) wait.
EOF
out=$(timeout 60 "$baton" --trace "$tmp/flush.json" "$tmp/flush.st" 2>"$tmp/flush.err")
out2=$(timeout 60 "$baton" "$tmp/flush.st" 2>>"$tmp/flush.err")
if [[ $out == true && $out2 == false ]] && python3 "$tl" check "$tmp/flush.json" >/dev/null &&
	grep -q 'q\\"\\\\ \\u0001é\\ufffd (#' "$tmp/flush.json"; then
	ok "Smalltalk traceFlush answers true with --trace (the file stays valid, odd names escaped), false without"
else
	not_ok "Smalltalk traceFlush answers true with --trace, false without" "with: $out, without: $out2"
fi

# the file written by a flush mid-run is complete on its own
cat >"$tmp/mid.st" <<'EOF'
Smalltalk traceFlush.
(Smalltalk at: #Gate put: Semaphore new).
[(Smalltalk at: #Gate) signal] fork.
(Smalltalk at: #Gate) wait.
Smalltalk quit: 3
EOF
timeout 60 "$baton" --trace "$tmp/mid.json" "$tmp/mid.st" >/dev/null 2>"$tmp/flush.err"
rc=$?
if ((rc == 3)) && out=$(python3 "$tl" check "$tmp/mid.json" 2>&1); then
	ok "Smalltalk quit: writes the trace too (exit 3, file valid)"
else
	not_ok "Smalltalk quit: writes the trace too" "exit $rc" "${out:-}"
fi

TAP_ERR=
out=$(timeout 30 "$baton" --trace "$tmp/no/such/dir/x.json" "$tmp/flush.st" 2>&1)
rc=$?
if ((rc != 0)) && grep -q -- '--trace .*No such file or directory' <<<"$out"; then
	ok "an unwritable --trace file is a clear error (exit $rc), not a crash"
else
	not_ok "an unwritable --trace file is a clear error" "exit $rc" "$out"
fi

# the core alone (libbaton, no Smalltalk): BATON_TRACE=json:FILE in any embedder
TAP_ERR=$tmp/cdemo.err
if [[ -x $build/tools/demo ]]; then
	BATON_TRACE=json:$tmp/cdemo.json timeout 60 "$build/tools/demo" >"$tmp/cdemo.out" 2>"$tmp/cdemo.err"
	rc=$?
	out=$(python3 "$tl" check "$tmp/cdemo.json" 2>&1)
	crc=$?
	counters=$(grep -A1 '^counters:' "$tmp/cdemo.out")
	h=$(grep -o '[0-9]* handoffs' <<<"$counters" | head -n 1 | cut -d' ' -f1)
	b=$(grep -o '[0-9]* blocked detected' <<<"$counters" | head -n 1 | cut -d' ' -f1)
	if ((rc == 0 && crc == 0)) && [[ -n $h && -n $b ]] && grep -q "handoffs=$h .*blocked=$b " <<<"$out"; then
		ok "BATON_TRACE=json:FILE tools/demo (the core alone): valid, $h handoffs and $b blocked as its counters"
	else
		not_ok "BATON_TRACE=json:FILE tools/demo (the core alone): valid, counts as its counters" \
			"exit $rc, check exit $crc, demo: ${h:-?} handoffs ${b:-?} blocked" "$out"
	fi
else
	skip "BATON_TRACE=json:FILE tools/demo (the core alone)" "$build/tools/demo not built"
fi

# ---------------------------------------------------------------- the checker and the SVG

python3 - "$tmp/demo.json" "$tmp/broken.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
i = max(i for i, e in enumerate(ev) if e.get("ph") == "E")
del ev[i]                                    # a B without its E
j = next(i for i, e in enumerate(ev) if e.get("ph") == "B")
del ev[j]["ts"]                              # a missing field
json.dump(d, open(sys.argv[2], "w"))
EOF
out=$(python3 "$tl" check "$tmp/broken.json" 2>&1)
rc=$?
if ((rc == 1)) && grep -q 'never ends' <<<"$out" && grep -q "no 'ts'" <<<"$out"; then
	ok "negative control: check rejects an unmatched B and a missing ts"
else
	not_ok "negative control: check rejects an unmatched B and a missing ts" "exit $rc" "$out"
fi

python3 - "$tmp/demo.json" "$tmp/back.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ev = [e for e in d["traceEvents"] if e.get("ph") == "i" and e.get("cat") == "heartbeat"]
if len(ev) >= 2:
    ev[0]["ts"], ev[-1]["ts"] = ev[-1]["ts"], ev[0]["ts"]
json.dump(d, open(sys.argv[2], "w"))
EOF
sed 's/^\(  own.handoffs *\)[0-9]*/\1999999/' "$tmp/demo.err" >"$tmp/wrong.err"
out=$(python3 "$tl" check "$tmp/back.json" 2>&1)
rc=$?
out2=$(python3 "$tl" check "$tmp/demo.json" --stats "$tmp/wrong.err" 2>&1)
rc2=$?
if ((rc == 1)) && grep -q 'goes back' <<<"$out" && ((rc2 == 1)) && grep -q 'handoffs: the trace has' <<<"$out2"; then
	ok "negative control: check rejects time going back on a track, and counts unlike --stats"
else
	not_ok "negative control: check rejects time going back, and counts unlike --stats" \
		"exit $rc: $out" "exit $rc2: $out2"
fi

# a long run: 400000 spans on 8 threads must still give a picture under 2 MB
python3 - "$tmp/long.json" <<'EOF'
import json, sys
ev = []
for t in range(1, 9):
    ev.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": t, "args": {"name": "VM thread %d" % t}})
    ts = 0.0
    for k in range(50000):
        cat = ("own", "callout", "park", "wait")[(k + t) % 4]
        ev.append({"ph": "B", "cat": cat, "name": cat, "pid": 1, "tid": t, "ts": ts})
        ts += 1.5 + (k % 7)
        ev.append({"ph": "E", "cat": cat, "name": "", "pid": 1, "tid": t, "ts": ts})
json.dump({"traceEvents": ev}, open(sys.argv[1], "w"))
EOF
if out=$(python3 "$tl" svg "$tmp/long.json" "$tmp/long.svg" 2>&1); then
	size=$(wc -c <"$tmp/long.svg")
	if ((size < 2 * 1024 * 1024)); then
		ok "a long run (400000 spans) is bucketed: SVG of $size bytes (< 2 MB)"
	else
		not_ok "a long run is bucketed under 2 MB" "$size bytes"
	fi
else
	not_ok "a long run is bucketed under 2 MB" "$out"
fi

# ---------------------------------------------------------------- perf: --timeline

# (read once: grep -q would close the pipe early, and pipefail would then see readelf fail)
notes=$(readelf -n "$baton" 2>/dev/null)
why=
if [[ $(id -u) != 0 ]]; then
	why="needs root (uprobe events)"
elif ! command -v perf >/dev/null 2>&1; then
	why="no perf (Debian: linux-perf)"
elif ! command -v readelf >/dev/null 2>&1; then
	why="no readelf (binutils)"
elif ! grep -q 'Name: proc_switch' <<<"$notes"; then
	why="$baton has no USDT probes (no <sys/sdt.h> at build time)"
fi
TAP_ERR=$tmp/th.err
if [[ -n $why ]]; then
	skip "trace-handoffs --timeline on the demo: valid, handoffs as --stats" "$why"
	skip "trace-handoffs --svg draws it under 2 MB" "$why"
else
	timeout 180 "$src/tools/trace-handoffs" --timeline "$tmp/perf.json" --svg "$tmp/perf.svg" \
		"$baton" "$demo" --stats >"$tmp/th.out" 2>"$tmp/th.err"
	rc=$?
	if grep -q 'perf record failed\|cannot add uprobe\|cannot mount' "$tmp/th.err"; then
		skip "trace-handoffs --timeline on the demo: valid, handoffs as --stats" \
			"perf cannot attach here: $(grep -m1 'perf record failed\|cannot' "$tmp/th.err")"
		skip "trace-handoffs --svg draws it under 2 MB" "perf cannot attach here"
	else
		if ((rc == 0)) && out=$(python3 "$tl" check "$tmp/perf.json" 2>&1) &&
			h=$(grep -o 'handoffs=[0-9]*' <<<"$out" | head -n 1 | cut -d= -f2) &&
			[[ $h == $(awk '$1 == "own.handoffs" { print $2 }' "$tmp/th.err") ]] &&
			[[ $(grep -o 'blocked=[0-9]*' <<<"$out" | cut -d= -f2) == $(awk '$1 == "own.blocked" { print $2 }' "$tmp/th.err") ]] &&
			[[ $(grep -o 'callouts=[0-9]*' <<<"$out" | cut -d= -f2) == $(awk '$1 == "own.disowns" { print $2 }' "$tmp/th.err") ]]; then
			ok "trace-handoffs --timeline on the demo: valid, handoffs ($h), blocked and callouts as --stats"
		else
			not_ok "trace-handoffs --timeline on the demo: valid, handoffs as --stats" "exit $rc" "${out:-}"
		fi
		if [[ -s $tmp/perf.svg ]] && (($(wc -c <"$tmp/perf.svg") < 2 * 1024 * 1024)); then
			ok "trace-handoffs --svg draws it under 2 MB ($(wc -c <"$tmp/perf.svg") bytes)"
		else
			not_ok "trace-handoffs --svg draws it under 2 MB"
		fi
	fi
fi

# without perf (PERF names a missing program): the fallback to the VM's own recorder
TAP_ERR=$tmp/fb.err
PERF=/nonexistent/perf timeout 120 "$src/tools/trace-handoffs" --timeline "$tmp/fb.json" \
	--svg "$tmp/fb.svg" "$baton" "$demo" >/dev/null 2>"$tmp/fb.err"
rc=$?
if ((rc == 0)) && grep -q 'falling back to the VM.s recorder: BATON_TRACE=json:' "$tmp/fb.err" &&
	python3 "$tl" check "$tmp/fb.json" >/dev/null && [[ -s $tmp/fb.svg ]]; then
	ok "trace-handoffs --timeline without perf falls back to BATON_TRACE=json: and says so"
else
	not_ok "trace-handoffs --timeline without perf falls back to BATON_TRACE=json:" "exit $rc"
fi

# ---------------------------------------------------------------- bpftrace one-liners

# The one-liners of Documentation/core/tracing.md ("bpftrace one-liners"), run on the demo.
TAP_ERR=$tmp/bt.err
bt_why=
if ! command -v bpftrace >/dev/null 2>&1; then
	bt_why="no bpftrace (Debian: bpftrace)"
elif [[ $(id -u) != 0 ]]; then
	bt_why="bpftrace needs root"
elif ! grep -q 'Name: gc_begin' <<<"$notes"; then
	bt_why="$baton has no USDT probes"
elif ! timeout 60 bpftrace -q -e "usdt:$baton:baton:beat { @n = count(); } END { print(@n); clear(@n); }" \
	-c "$baton -e '1 printNl'" >"$tmp/bt.out" 2>"$tmp/bt.err"; then
	bt_why="bpftrace cannot attach here: $(grep -v '^$' "$tmp/bt.err" | head -n 1)"
fi
if [[ -n $bt_why ]]; then
	skip "bpftrace one-liners: handoffs, re-own latency, blocked callouts by function, GC pauses" "$bt_why"
	skip "bpftrace one-liners count as --stats does" "$bt_why"
else
	# handoffs, blocked callouts, GC pauses; the latency histogram prints when any slow own
	prog="usdt:$baton:baton:handoff { @handoffs = count(); }
usdt:$baton:baton:own_slow_end { @reown_us = hist(arg1 / 1000); }
usdt:$baton:baton:callout { @fn[arg0] = str(arg1); }
usdt:$baton:baton:blocked { @blocked[@fn[arg0]] = count(); }
usdt:$baton:baton:gc_begin { @gc0[tid] = nsecs; }
usdt:$baton:baton:gc_end /@gc0[tid]/ { @gc_pause_us[arg0 ? \"full\" : \"scavenge\"] = hist((nsecs - @gc0[tid]) / 1000); delete(@gc0[tid]); @gcs = count(); }"
	timeout 120 bpftrace -q -e "$prog" -c "$baton $demo --stats" >"$tmp/bt.out" 2>"$tmp/bt.err"
	rc=$?
	if ((rc == 0)) && grep -q '@handoffs:' "$tmp/bt.out" && grep -q '@gc_pause_us\[scavenge\]' "$tmp/bt.out" &&
		grep -q '^@blocked\[usleep\]: ' "$tmp/bt.out" && grep -q '^@reown_us:' "$tmp/bt.out"; then
		ok "bpftrace one-liners: handoffs, re-own latency, blocked callouts by function, GC pauses"
	else
		not_ok "bpftrace one-liners run on the demo" "exit $rc" "$(head -n 20 "$tmp/bt.out")"
	fi
	h=$(awk '/^@handoffs:/ { print $2 }' "$tmp/bt.out")
	g=$(awk '/^@gcs:/ { print $2 }' "$tmp/bt.out")
	sh=$(awk '$1 == "own.handoffs" { print $2 }' "$tmp/bt.err")
	sg=$(awk '$1 == "gc.scavenges" { print $2 }' "$tmp/bt.err")
	if [[ -n $h && $h == "$sh" && -n $g && $g == "$sg" ]]; then
		ok "bpftrace one-liners count as --stats does (handoffs $h, scavenges $g)"
	else
		not_ok "bpftrace one-liners count as --stats does" "bpftrace: handoffs ${h:-?} gcs ${g:-?}" \
			"--stats: handoffs ${sh:-?} scavenges ${sg:-?}"
	fi
fi

tap_totals
((fail == 0))
