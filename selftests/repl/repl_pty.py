#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# selftests/repl/repl_pty.py: drives `baton` (no file, on a terminal) through a
# pseudo-terminal as a person would, and prints TAP: a one-expression line shows its
# value, line editing (Ctrl-A, Ctrl-D over a character, arrows), a statement continued
# while brackets, strings or comments are open, history kept across sessions in
# $BATON_HISTORY / ~/.baton_history and recalled with the up arrow, Ctrl-D ending the
# REPL with status 0, Ctrl-C interrupting a running statement (Interrupted and its trace,
# the REPL goes on) and giving a new prompt at the prompt. Each wait is bounded and says
# what did not appear.
# Usage: repl_pty.py BUILD_DIR
import os
import pty
import select
import sys
import tempfile
import termios
import time

WAIT_S = 15 * int(os.environ.get("BATON_TIMEOUT_SCALE", "1") or 1)
UP, LEFT = "\x1b[A", "\x1b[D"
CTRL_A, CTRL_C, CTRL_D, CTRL_E = "\x01", "\x03", "\x04", "\x05"


class Repl:
    """One baton REPL on a pty, with everything it printed kept in .out."""

    def __init__(self, baton, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(baton, [baton], env)
        self.out = ""

    def read_until(self, text, what):
        end = time.monotonic() + WAIT_S
        while text not in self.out:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what}: {text!r} did not appear within {WAIT_S} s; "
                                     f"the terminal shows {self.out[-300:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"{what}: the REPL ended before {text!r} appeared; "
                                         f"it showed {self.out[-300:]!r}")
                self.out += data.decode("utf-8", "replace")
        # Consume up to the match so that the next wait looks at new output only.
        self.out = self.out[self.out.index(text) + len(text):]

    def send(self, keys):
        """Types [keys] once the line editor has the terminal. libedit prints its prompt
        before it leaves canonical mode; keys typed before that would be cooked by the
        tty (echoed as ^A, delivered only at Return). On Linux the master side reports
        the terminal's modes, so wait there until ICANON is off."""
        end = time.monotonic() + WAIT_S
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > end:
                raise AssertionError(f"the line editor did not take the terminal within {WAIT_S} s")
            select.select([], [], [], 0.001)
        os.write(self.fd, keys.encode())

    def type_raw(self, keys):
        """Types [keys] at once, whatever mode the terminal is in (a statement is
        running: the tty is cooked, and ^C becomes SIGINT)."""
        os.write(self.fd, keys.encode())

    def finish(self):
        """Ctrl-D on an empty line, once the prompt is up; answers the exit status."""
        self.read_until("st> ", "the prompt before Ctrl-D")
        self.send(CTRL_D)
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(st)
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"Ctrl-D did not end the REPL within {WAIT_S} s")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    baton = os.path.abspath(os.path.join(build, "baton"))
    if not os.access(baton, os.X_OK):
        print("TAP version 13\n1..1\nok 1 repl # SKIP baton not built")
        print("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0")
        return 4
    home = tempfile.mkdtemp(prefix="baton-repl-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "TERM": "xterm"}
    hist = os.path.join(home, ".baton_history")

    def session(keys_and_waits):
        r = Repl(baton, env)
        r.read_until("st> ", "first prompt")
        for keys, want, what in keys_and_waits:
            r.send(keys)
            if want:
                r.read_until(want, what)
        return r.finish()

    tests = []

    def test(name):
        def reg(f):
            tests.append((name, f))
            return f
        return reg

    @test("a one-expression line shows its value")
    def _():
        assert session([("3 + 4\r", "7\r\n", "value of 3 + 4")]) == 0

    @test("statements run as typed and print what they print")
    def _():
        assert session([("| x | x := 6. (x * 7) printNl\r", "42\r\n", "printNl output")]) == 0

    @test("line editing: Ctrl-A, deleting a character, moving left")
    def _():
        # "x3 + 4": go to the start, delete the x; then end, left twice, insert 1 -> 3 + 14
        keys = "x3 + 4" + CTRL_A + CTRL_D + CTRL_E + LEFT + "1\r"
        assert session([(keys, "17\r\n", "value of the edited line 3 + 14")]) == 0

    @test("a statement continues while a bracket is open")
    def _():
        assert session([("#(1 2\r", "  > ", "continuation prompt"),
                        ("3 4) size\r", "4\r\n", "size of the continued literal")]) == 0

    @test("a statement continues inside a string and a comment, not for $( or $'")
    def _():
        assert session([("'ab\r", "  > ", "continuation inside a string"),
                        ("cd' size\r", "5\r\n", "size of a two-line string"),
                        ("\"a comment\r", "  > ", "continuation inside a comment"),
                        ("ends\" $( value\r", "40\r\n", "value of $( after a comment"),
                        ("$' value\r", "39\r\n", "value of $' on one line")]) == 0

    @test("history is written to ~/.baton_history")
    def _():
        session([("100 factorial printString size\r", "158\r\n", "digits of 100!")])
        # libedit writes each entry vis(3)-encoded: a blank is \\040.
        with open(hist, encoding="utf-8", errors="replace") as f:
            text = f.read().replace("\\040", " ")
        assert "100 factorial printString size" in text, f"history file lacks the line: {text!r}"

    @test("the up arrow recalls a line typed in an earlier session")
    def _():
        assert session([(UP + "\r", "158\r\n", "the recalled line's value")]) == 0

    @test("a compile error is reported and the REPL goes on")
    def _():
        assert session([("3 +\r", "st> ", "prompt after the error"),
                        ("2 + 2\r", "4\r\n", "value after the error")]) == 0

    @test("Smalltalk quit: ends the REPL with its status")
    def _():
        r = Repl(baton, env)
        r.read_until("st> ", "first prompt")
        r.send("Smalltalk quit: 3\r")
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            pid, st = os.waitpid(r.pid, os.WNOHANG)
            if pid:
                assert os.waitstatus_to_exitcode(st) == 3, f"status {st}"
                return
            select.select([r.fd], [], [], 0.2)
            try:
                os.read(r.fd, 4096)
            except OSError:
                pass
        os.kill(r.pid, 9)
        raise AssertionError("Smalltalk quit: 3 did not end the REPL")

    def interrupted(statement, what, extra_env=None):
        r = Repl(baton, dict(env, **(extra_env or {})))
        r.read_until("st> ", "first prompt")
        r.send("'started' displayNl. Transcript flush. " + statement + "\r")
        r.read_until("started\r\n", "the statement's first output")
        r.type_raw(CTRL_C)
        r.read_until("Interrupted: interrupted", f"the Interrupted report of {what}")
        r.read_until("st> ", f"the prompt after interrupting {what}")
        r.send("3 + 4\r")
        r.read_until("7\r\n", f"a value after interrupting {what}")
        return r.finish()

    @test("Ctrl-C interrupts [true] whileTrue: Interrupted with its trace, the REPL goes on")
    def _():
        assert interrupted("[true] whileTrue", "a busy loop") == 0

    @test("Ctrl-C interrupts a statement waiting (a Delay) and one in a send-heavy loop")
    def _():
        assert interrupted("(Delay forSeconds: 60) wait", "a Delay") == 0
        assert interrupted("[true] whileTrue: [3 printString size]", "a loop of sends") == 0

    @test("Ctrl-C interrupts a statement with the epoll fallback too (BATON_URING=0)")
    def _():
        assert interrupted("[true] whileTrue", "a busy loop", {"BATON_URING": "0"}) == 0

    @test("Ctrl-C at the prompt drops the line and gives a new prompt")
    def _():
        r = Repl(baton, env)
        r.read_until("st> ", "first prompt")
        r.send("1 + ")
        r.send(CTRL_C)
        r.read_until("st> ", "the prompt after Ctrl-C")
        r.send(CTRL_C)
        r.read_until("st> ", "the prompt after a second Ctrl-C")
        r.send("3 + 4\r")
        r.read_until("7\r\n", "a value after Ctrl-C at the prompt")
        assert r.finish() == 0

    print("TAP version 13")
    print(f"1..{len(tests)}")
    npass = nfail = 0
    for i, (name, f) in enumerate(tests, 1):
        try:
            f()
            print(f"ok {i} {name}")
            npass += 1
        except AssertionError as e:
            print(f"not ok {i} {name}")
            print(f"# {e}")
            nfail += 1
    print(f"# Totals: pass:{npass} fail:{nfail} xfail:0 xpass:0 skip:0 error:0")
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
