#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# selftests/vm/io/clients.py: the clients, written in another language, that
# selftests/vm/run-io.sh points at Baton servers (issue 8). Owns nothing but its sockets.
#   clients.py echo PORT CONNS     CONNS concurrent connections, each sends distinct
#                                  random payloads in several writes and checks every
#                                  byte echoed back
#   clients.py emfile PORT CONNS   CONNS connections one after another (send b"x", wait
#                                  for b"y", reset), then one more that must be served
#   clients.py line PORT TEXT      one connection: send TEXT and a LF, print the reply line
#   clients.py tty BATON PROGRAM   runs BATON PROGRAM with stdin on a terminal (a pty) and
#                                  types two lines and Ctrl-D, each after the program has
#                                  answered the one before
# Prints one line saying what went wrong, or "ok ..."; exit 0 only when all is well.
import asyncio
import os
import resource
import socket
import struct
import sys

TIMEOUT = float(os.environ.get("BATON_IO_CLIENT_TIMEOUT", "60"))


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def one_echo(port, i, stats):
    rnd = os.urandom(4)
    nwrites = 2 + rnd[0] % 4
    chunks = [os.urandom(1 + int.from_bytes(os.urandom(2), "little") % 6000)
              for _ in range(nwrites)]
    # distinct: every payload starts with its connection number
    chunks[0] = b"%d:" % i + chunks[0]
    want = b"".join(chunks)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for c in chunks:
            writer.write(c)
            await writer.drain()
        got = await reader.readexactly(len(want))
    finally:
        writer.close()
    if got != want:
        k = next(j for j in range(len(want)) if got[j] != want[j])
        raise AssertionError("connection %d: byte %d of %d differs" % (i, k, len(want)))
    stats["bytes"] += len(want)


async def echo(port, conns):
    stats = {"bytes": 0}
    tasks = [one_echo(port, i, stats) for i in range(conns)]
    res = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT)
    bad = [r for r in res if isinstance(r, BaseException)]
    if bad:
        print("%d of %d connections failed; first: %r" % (len(bad), conns, bad[0]))
        return 1
    print("ok %d connections, %d bytes echoed and checked" % (conns, stats["bytes"]))
    return 0


def x_then_y(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        s.sendall(b"x")
        r = s.recv(1)
        if r != b"y":
            raise AssertionError("expected b'y', got %r" % r)
    finally:
        # reset instead of FIN: 20,000 connections leave no TIME_WAIT behind
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def emfile(port, conns):
    for i in range(conns):
        try:
            x_then_y(port)
        except Exception as e:
            print("connection %d of %d: %r" % (i + 1, conns, e))
            return 1
    try:
        x_then_y(port)
    except Exception as e:
        print("the server no longer serves after %d connections: %r" % (conns, e))
        return 1
    print("ok %d connections served, and one more" % conns)
    return 0


def line(port, text):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(text.encode() + b"\n")
        f = s.makefile("rb")
        print(f.readline().decode().rstrip("\n"))
    return 0


def tty(baton, prog):
    import pty
    import select
    import subprocess
    master, slave = pty.openpty()
    p = subprocess.Popen([baton, prog], stdin=slave, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.close(slave)
    buf = b""

    def line():
        nonlocal buf
        while b"\n" not in buf:
            r, _, _ = select.select([p.stdout], [], [], 10)
            if not r:
                raise AssertionError("no line from baton within 10 s (so far %r)" % buf)
            b = os.read(p.stdout.fileno(), 4096)
            if not b:
                raise AssertionError("baton's stdout ended (so far %r)" % buf)
            buf += b
        l, buf = buf.split(b"\n", 1)
        return l.decode()

    def expect(want):
        got = line()
        if got != want:
            raise AssertionError("expected %r, got %r" % (want, got))

    try:
        expect("another process runs")
        os.write(master, b"one\n")
        expect("got one")
        os.write(master, b"two\n")
        expect("got two")
        os.write(master, b"\x04")
        expect("end")
        rc = p.wait(timeout=10)
        if rc != 0:
            raise AssertionError("status %d, stderr %r" % (rc, p.stderr.read()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    print("ok a terminal's lines read as typed, Ctrl-D ends the input")
    return 0


def main():
    raise_nofile()
    if sys.argv[1] == "tty":
        return tty(sys.argv[2], sys.argv[3])
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "echo":
        return asyncio.run(echo(port, int(sys.argv[3])))
    if cmd == "emfile":
        return emfile(port, int(sys.argv[3]))
    if cmd == "line":
        return line(port, sys.argv[3])
    print("unknown command " + cmd)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:
        print("client error: %r" % e)
        sys.exit(1)
