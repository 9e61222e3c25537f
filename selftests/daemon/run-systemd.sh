#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# selftests/daemon/run-systemd.sh: Baton under systemd's conventions without a running
# systemd: socket activation through systemd-socket-activate (Debian's systemd package),
# sd_notify to a NOTIFY_SOCKET this script listens on (Python, AF_UNIX datagrams), and the
# journal's priority prefixes on stderr (JOURNAL_STREAM), HTTPServer's READY=1/STOPPING=1 and
# examples/http/hello.st socket-activated and asked with curl. Owns a temporary directory and
# the processes it starts. TAP 13 on stdout; exit 0 pass, 1 fail, 4 skipped. Every wait is
# bounded.
#
# Usage: selftests/daemon/run-systemd.sh [BUILD_DIR]
set -uo pipefail

build=${1:-build}
baton=$(cd "$(dirname "$build/baton")" 2>/dev/null && pwd)/baton
# shellcheck source=selftests/tap.sh
. "$(dirname "$0")/../tap.sh"
[[ -x $baton ]] || tap_skip_all systemd "baton not built"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-systemd.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "" PIPE

echo "TAP version 13"
TAP_ERR=$tmp/err
have_python=
command -v python3 >/dev/null 2>&1 && have_python=1
have_ssa=
command -v systemd-socket-activate >/dev/null 2>&1 && have_ssa=1

# free_port: a TCP port on 127.0.0.1 nobody listens on now (the kernel's pick)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# activate OUTFILE ARGS...: systemd-socket-activate ARGS in the background (stdout of the
# program to OUTFILE, stderr to $tmp/err), and waits (10 s at most) until it says it is
# listening; answers 1 if it did not.
activate() {
	local out=$1 line want=0 seen=0 a
	shift
	for a; do [[ $a == -l ]] && want=$((want + 1)); done
	rm -f "$tmp/ssa" && mkfifo "$tmp/ssa"
	systemd-socket-activate "$@" >"$out" 2>"$tmp/ssa" &
	ssa=$!
	pids+=("$ssa")
	exec 5<"$tmp/ssa"
	while ((seen < want)) && read -r -t 10 line <&5; do
		echo "$line" >>"$tmp/err"
		[[ $line == Listening* ]] && seen=$((seen + 1))
	done
	# the rest of its stderr (and the program's) goes on to the file
	cat <&5 >>"$tmp/err" &
	pids+=("$!")
	exec 5<&-
	((seen == want))
}
# finish PID: waits for PID (10 s at most), then answers its status in $rc
finish() { reap "$1" 10; }

# ---- 1. socket activation: the inherited socket, its name, the variables unset, serving
cat >"$tmp/act.st" <<'ST'
| s c |
s := ServerSocket inherited.
c := s first accept.
c nextPutAll: 'count=', s size printString,
    ' name=', s first fdName,
    ' byport=', ((ServerSocket inheritedForPort: s first port) == s first) printString,
    ' byname=', ((ServerSocket inheritedNamed: 'web') == s first) printString,
    ' env=', (Smalltalk getenv: 'LISTEN_FDS') printString,
    ' again=', (ServerSocket inherited == s) printString; nl; flush.
c close
ST
name="socket activation: ServerSocket inherited answers the passed socket (name, port), LISTEN_* unset, a client is served"
if [[ -z $have_ssa || -z $have_python ]]; then
	skip "$name" "systemd-socket-activate or python3 missing (Debian: systemd, python3)"
else
	: >"$tmp/err"
	port=$(free_port)
	if ! activate "$tmp/out" -l "127.0.0.1:$port" --fdname=web "$baton" "$tmp/act.st"; then
		not_ok "$name" "systemd-socket-activate did not listen within 10 s"
	else
		got=$(timeout 10 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print(c.makefile().readline().strip())' "$port" 2>&1)
		finish "$ssa"
		want="count=1 name=web byport=true byname=true env=nil again=true"
		if [[ $got == "$want" && $rc == 0 ]]; then ok "$name"; else not_ok "$name" "got '$got' (status $rc)" "want '$want'"; fi
	fi
fi

# ---- 2. two sockets, LISTEN_FDNAMES in order
cat >"$tmp/two.st" <<'ST'
| s c |
s := ServerSocket inherited.
c := (ServerSocket inheritedNamed: 'admin') accept.
c nextPutAll: (s collect: [:e | e fdName]) printString, ' ',
    ((s at: 2) port = (ServerSocket inheritedNamed: 'admin') port) printString; nl; flush.
c close
ST
name="socket activation: two sockets, fds 3 and 4, named from LISTEN_FDNAMES in order"
if [[ -z $have_ssa || -z $have_python ]]; then
	skip "$name" "systemd-socket-activate or python3 missing (Debian: systemd, python3)"
else
	: >"$tmp/err"
	p1=$(free_port)
	p2=$(free_port)
	if ! activate "$tmp/out" -l "127.0.0.1:$p1" -l "127.0.0.1:$p2" --fdname=web:admin "$baton" "$tmp/two.st"; then
		not_ok "$name" "systemd-socket-activate did not listen within 10 s"
	else
		got=$(timeout 10 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print(c.makefile().readline().strip())' "$p2" 2>&1)
		finish "$ssa"
		want="('web' 'admin' ) true"
		if [[ $got == "$want" && $rc == 0 ]]; then ok "$name"; else not_ok "$name" "got '$got' (status $rc)" "want '$want'"; fi
	fi
fi

# ---- 3. LISTEN_PID of another process: nothing is taken
name="LISTEN_PID of another process: ServerSocket inherited is empty, the variables are unset"
got=$(LISTEN_FDS=1 LISTEN_PID=1 LISTEN_FDNAMES=x timeout 10 "$baton" -e \
	"ServerSocket inherited size printNl. (Smalltalk getenv: 'LISTEN_PID') printNl" 2>"$tmp/err")
if [[ $got == $'0\nnil' ]]; then ok "$name"; else not_ok "$name" "got '$got'"; fi

# ---- 4, 5. sd_notify: READY=1 and STOPPING=1 on a socket of ours (a path and an abstract name)
cat >"$tmp/notify.py" <<'PY'
import socket, subprocess, sys
addr, baton, prog = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(10)
env = {"NOTIFY_SOCKET": addr, "PATH": "/usr/bin:/bin"}
p = subprocess.Popen([baton, prog], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
msgs = [s.recv(4096).decode(), s.recv(4096).decode()]
out = p.communicate(timeout=10)[0].decode().strip()
print(" ".join(msgs), "|", out, "|", p.returncode)
PY
cat >"$tmp/notify.st" <<'ST'
| a |
a := Smalltalk notifySystemd: 'READY=1'.
Smalltalk notifySystemd: 'STOPPING=1'.
a printNl
ST
for form in path abstract; do
	name="sd_notify ($form NOTIFY_SOCKET): the listener gets READY=1 then STOPPING=1"
	if [[ -z $have_python ]]; then
		skip "$name" "python3 missing"
		continue
	fi
	if [[ $form == path ]]; then addr=$tmp/notify.sock; else addr=@baton-test-notify-$$; fi
	got=$(timeout 20 python3 "$tmp/notify.py" "$addr" "$baton" "$tmp/notify.st" 2>&1)
	want="READY=1 STOPPING=1 | true | 0"
	if [[ $got == "$want" ]]; then ok "$name"; else not_ok "$name" "got '$got'" "want '$want'"; fi
done

# ---- 6. NOTIFY_SOCKET unset: nothing sent, no error
name="sd_notify without NOTIFY_SOCKET: answers false, no error"
got=$(env -u NOTIFY_SOCKET timeout 10 "$baton" -e "(Smalltalk notifySystemd: 'READY=1') printNl" 2>&1)
if [[ $got == false ]]; then ok "$name"; else not_ok "$name" "got '$got'"; fi

# ---- 7, 8. the journal: priority prefixes when stderr is JOURNAL_STREAM, none otherwise
cat >"$tmp/log.st" <<'ST'
Smalltalk log: 'a note' level: #info.
Smalltalk log: 'two
lines' level: #warning.
[1/0] fork.
Processor yield.
stderr nextPutAll: 'plain'; nl; flush.
ST
name="JOURNAL_STREAM is stderr: every line has its priority prefix (reports <3>, log:level: its own)"
: >"$tmp/j.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/j.err") timeout 10 "$baton" "$tmp/log.st" 2>>"$tmp/j.err" >/dev/null
bad=$(grep -cv '^<[0-7]>' "$tmp/j.err")
if [[ $bad == 0 ]] && grep -qx '<6>a note' "$tmp/j.err" && grep -qx '<4>two' "$tmp/j.err" &&
	grep -qx '<4>lines' "$tmp/j.err" && grep -qx '<3>ZeroDivide: .*' "$tmp/j.err" &&
	grep -qx $'<3>\tat .*' "$tmp/j.err" && grep -qx '<3>plain' "$tmp/j.err"; then
	ok "$name"
else
	not_ok "$name" "stderr:" "$(cat "$tmp/j.err")"
fi
name="JOURNAL_STREAM names another file: no prefixes"
: >"$tmp/j.err"
: >"$tmp/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/other") timeout 10 "$baton" "$tmp/log.st" 2>>"$tmp/j.err" >/dev/null
if ! grep -q '^<[0-7]>' "$tmp/j.err" && grep -qx 'a note' "$tmp/j.err" && grep -qx 'ZeroDivide: .*' "$tmp/j.err"; then
	ok "$name"
else
	not_ok "$name" "stderr:" "$(cat "$tmp/j.err")"
fi

# ---- 9, 10. examples/http/hello.st socket-activated: READY=1, curl served, SIGTERM drains
cat >"$tmp/hello.py" <<'PY'
import os, signal, socket, subprocess, sys, time
baton, hello, port, sock, drain = sys.argv[1:6]
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.bind(sock)
n.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=sock, PORT=port)
err = open(os.path.join(os.path.dirname(sock), "hello.err"), "w")
# systemd-socket-activate passes on only the variables named by -E
p = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:" + port, "--fdname=http",
                      "-E", "NOTIFY_SOCKET", "-E", "PORT",
                      baton, hello], env=env, stdout=err, stderr=err)
def done(msg, rc):
    print(msg)
    if p.poll() is None:
        p.kill()
        p.wait()
    sys.exit(rc)
# systemd-socket-activate execs the program at the first connection: the curls start it
def curl(*a):
    return subprocess.run(["curl", "-s", "--max-time", "10", *a], capture_output=True,
                          text=True).stdout
hello_out = curl("http://127.0.0.1:%s/hello" % port)
try:
    ready = n.recv(4096).decode()
except OSError as e:
    done("no READY=1: %s; /hello answered %r" % (e, hello_out), 1)
echo_out = curl("--data-binary", "ping pong", "http://127.0.0.1:%s/echo" % port)
if (ready, hello_out, echo_out) != ("READY=1", "Hello, world!", "ping pong"):
    done("got %r %r %r" % (ready, hello_out, echo_out), 1)
if drain != "1":
    done("served", 0)
p.send_signal(signal.SIGTERM)
try:
    stopping = n.recv(4096).decode()
    rc = p.wait(timeout=20)
except Exception as e:
    done("after SIGTERM: %s" % e, 1)
done("stopped %s %d" % (stopping, rc), 0 if (stopping, rc) == ("STOPPING=1", 0) else 1)
PY
drain=0
"$baton" -e "(Smalltalk respondsTo: #onSignal:do:) ifFalse: [Smalltalk quit: 1]" 2>/dev/null && drain=1
name="examples/http/hello.st socket-activated: READY=1 on NOTIFY_SOCKET, curl gets /hello and /echo"
name2="examples/http/hello.st socket-activated: SIGTERM drains, STOPPING=1, status 0"
if [[ -z $have_ssa || -z $have_python ]] || ! command -v curl >/dev/null 2>&1; then
	skip "$name" "systemd-socket-activate, python3 or curl missing"
	skip "$name2" "systemd-socket-activate, python3 or curl missing"
else
	port=$(free_port)
	got=$(cd "$here/../.." && timeout 60 python3 "$tmp/hello.py" "$baton" examples/http/hello.st "$port" "$tmp/hello.sock" "$drain" 2>&1)
	hrc=$?
	cp "$tmp/hello.err" "$tmp/err" 2>/dev/null
	if [[ $hrc == 0 ]]; then ok "$name"; elif [[ $got == stopped* || $got == "after SIGTERM"* ]]; then ok "$name"; else not_ok "$name" "$got"; fi
	if [[ $drain == 0 ]]; then
		skip "$name2" "Smalltalk onSignal:do: is not in this tree"
	elif [[ $hrc == 0 ]]; then
		ok "$name2"
	else
		not_ok "$name2" "$got"
	fi
fi

# ---- 11. HTTPServer: READY=1 once listening, STOPPING=1 when stop begins, then it ends
cat >"$tmp/stop.st" <<'ST'
| server |
PackageLoader fileInPackage: 'HTTP'.
server := HTTPServer port: 0.
server on: '/stop' do: [:req :resp | resp nextPutAll: 'bye'. [server stop] fork].
server startInBackground.
server port printNl.
stdout flush
ST
cat >"$tmp/stop.py" <<'PY'
import os, socket, subprocess, sys, urllib.request
baton, prog, sock = sys.argv[1:4]
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.bind(sock)
n.settimeout(10)
p = subprocess.Popen([baton, prog], env=dict(os.environ, NOTIFY_SOCKET=sock),
                     stdout=subprocess.PIPE, text=True)
try:
    port = p.stdout.readline().strip()
    ready = n.recv(4096).decode()
    body = urllib.request.urlopen("http://127.0.0.1:%s/stop" % port, timeout=10).read().decode()
    stopping = n.recv(4096).decode()
    rc = p.wait(timeout=20)
except Exception as e:
    p.kill()
    print("failed: %r" % e)
    sys.exit(1)
print(ready, body, stopping, rc)
PY
name="HTTPServer under NOTIFY_SOCKET: READY=1 when listening, STOPPING=1 at stop, then the VM ends with 0"
if [[ -z $have_python ]]; then
	skip "$name" "python3 missing"
else
	got=$(cd "$here/../.." && timeout 60 python3 "$tmp/stop.py" "$baton" "$tmp/stop.st" "$tmp/stop.sock" 2>"$tmp/err")
	if [[ $got == "READY=1 bye STOPPING=1 0" ]]; then ok "$name"; else not_ok "$name" "got '$got'"; fi
fi

echo "1..$n"
tap_totals
((fail == 0))
