# SPDX-License-Identifier: MIT
"""selftests/http/clients.py: the raw-socket and http.client side of
run-http.sh. `python3 clients.py CASE PORT` runs one case against the test
server (selftests/http/server.st) and prints "ok" or what went wrong; every
socket operation has a timeout, so a case never hangs."""
import http.client
import socket
import sys
import time

HOST = "127.0.0.1"


def conn(port, timeout=10):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """reads HTTP/1.1 responses off a raw socket"""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("latin-1")

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def response(self, head=False):
        status = self.line()
        headers = {}
        while True:
            l = self.line()
            if not l:
                break
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        body = b"" if head else self.take(n)
        return int(status.split()[1]), headers, body.decode("latin-1")

    def closed(self, secs):
        """true when the peer closes within secs (bytes before it are dropped)"""
        self.s.settimeout(secs)
        try:
            while self.s.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def req(method, target, headers=(), body=b"", version="HTTP/1.1"):
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    if version == "HTTP/1.1" and not any(k.lower() == "host" for k, _ in headers):
        h = "Host: test\r\n" + h
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        h += "Content-Length: %d\r\n" % len(body)
    return ("%s %s %s\r\n%s\r\n" % (method, target, version, h)).encode() + body


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def case_keepalive(port):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    for i in range(5):
        c.request("GET", "/hello")
        r = c.getresponse()
        b = r.read()
        expect(r.status == 200 and b == b"Hello, world!", "request %d: %s %r" % (i, r.status, b))
        expect(r.getheader("Connection") is None, "Connection header on a keep-alive answer")
    first = c.sock
    c.request("POST", "/echo", body=b"x" * 5000)
    r = c.getresponse()
    expect(r.read() == b"x" * 5000, "echo of 5000 bytes")
    expect(c.sock is first, "http.client had to reconnect")


def case_pipeline(port):
    s = conn(port)
    s.sendall(req("GET", "/info?a=1") + req("POST", "/echo", body=b"second") +
              req("HEAD", "/hello") + req("GET", "/info?a=4"))
    r = Reader(s)
    got = [r.response(), r.response(), r.response(head=True), r.response()]
    bodies = [g[2] for g in got]
    expect(bodies[0].startswith("path=/info a=1 "), "1st: %r" % bodies[0])
    expect(bodies[1] == "second", "2nd: %r" % bodies[1])
    expect(got[2][0] == 200 and got[2][1]["content-length"] == "13" and bodies[2] == "", "3rd (HEAD): %r" % (got[2],))
    expect(bodies[3].startswith("path=/info a=4 "), "4th: %r" % bodies[3])


def case_chunked(port):
    s = conn(port)
    body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
    s.sendall(req("POST", "/echo", [("Transfer-Encoding", "chunked")], body))
    st, h, b = Reader(s).response()
    expect(st == 200 and b == "hello, world", "%s %r" % (st, b))
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    c.request("PUT", "/echo", body=iter([b"a" * 3000, b"b" * 4000]), encode_chunked=True)
    r = c.getresponse()
    d = r.read()
    expect(r.status == 200 and d == b"a" * 3000 + b"b" * 4000 and r.getheader("X-Method") == "PUT",
           "http.client chunked: %s %d bytes" % (r.status, len(d)))


def case_continue(port):
    s = conn(port)
    s.sendall(req("POST", "/echo", [("Content-Length", "4"), ("Expect", "100-continue")]))
    r = Reader(s)
    l = r.line()
    expect(l == "HTTP/1.1 100 Continue", "interim: %r" % l)
    expect(r.line() == "", "no empty line after 100 Continue")
    s.sendall(b"body")
    st, h, b = r.response()
    expect(st == 200 and b == "body", "%s %r" % (st, b))
    s.sendall(req("POST", "/echo", [("Content-Length", "200000"), ("Expect", "100-continue")]))
    st, h, b = r.response()
    expect(st == 413, "over maxBodySize with Expect: %s (want 413 without 100)" % st)


def case_head(port):
    s = conn(port)
    s.sendall(req("HEAD", "/hello") + req("GET", "/hello"))
    r = Reader(s)
    st, h, b = r.response(head=True)
    expect(st == 200 and h.get("content-length") == "13", "HEAD: %s %r" % (st, h))
    st, h, b = r.response()
    expect(b == "Hello, world!", "GET after HEAD: %r (a HEAD answer had a body?)" % b)


def case_headers(port):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    c.request("GET", "/hello")
    r = c.getresponse()
    r.read()
    d = r.getheader("Date") or ""
    expect(r.getheader("Server", "").startswith("Baton"), "Server: %r" % r.getheader("Server"))
    expect(d.endswith(" GMT") and len(d) == 29, "Date: %r" % d)
    from email.utils import parsedate_to_datetime
    expect(abs(parsedate_to_datetime(d).timestamp() - time.time()) < 120, "Date is not now: %r" % d)


def case_431(port):
    s = conn(port)
    s.sendall(req("GET", "/hello", [("X-Big", "y" * 70000)]))
    r = Reader(s)
    st, h, b = r.response()
    expect(st == 431, "70 KB header: %s" % st)
    expect(r.closed(5), "connection left open after 431")
    s = conn(port)
    s.sendall(b"GET /" + b"z" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, b = Reader(s).response()
    expect(st == 431, "70 KB request line: %s" % st)
    # many small headers adding up
    s = conn(port)
    s.sendall(req("GET", "/hello", [("X-H%d" % i, "v" * 60) for i in range(1200)]))
    st, h, b = Reader(s).response()
    expect(st == 431, "1200 headers: %s" % st)


def case_413(port):
    s = conn(port)
    s.sendall(req("POST", "/echo", [("Content-Length", "200000")]))
    r = Reader(s)
    st, h, b = r.response()
    expect(st == 413, "Content-Length 200000: %s" % st)
    expect(r.closed(5), "connection left open after 413")
    s = conn(port)
    s.sendall(req("POST", "/echo", [("Transfer-Encoding", "chunked")]) + (b"8000\r\n" + b"c" * 0x8000 + b"\r\n") * 4)
    st, h, b = Reader(s).response()
    expect(st == 413, "chunked body of 128 KB: %s" % st)
    s = conn(port)
    s.sendall(req("POST", "/echo", body=b"q" * 100000))
    st, h, b = Reader(s).response()
    expect(st == 200 and len(b) == 100000, "body of exactly maxBodySize: %s %d" % (st, len(b)))


def case_400(port):
    bad = [b"GARBAGE\r\n\r\n", b"GET /x HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n",
           b"GET /x HTTP/1.1\r\n\r\n", b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12x\r\n\r\n",
           b"GET x HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /x FTP/1.0\r\n\r\n",
           b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           b"GET /x HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n"]
    for b in bad:
        s = conn(port)
        s.sendall(b)
        r = Reader(s)
        st, h, body = r.response()
        expect(st == 400, "%r: %s (want 400)" % (b[:40], st))
        expect(h.get("connection") == "close", "%r: no Connection: close" % b[:40])
        expect(r.closed(5), "%r: connection left open" % b[:40])


def case_slowloris(port, header_ms):
    s = conn(port)
    t0 = time.time()
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: a\r\n")
    r = Reader(s)
    # keep trickling a header byte every 100 ms: the deadline is for the whole head
    s.settimeout(0.1)
    end = t0 + header_ms / 1000 * 10 + 5
    closed = False
    while time.time() < end:
        try:
            if s.recv(65536) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
        try:
            s.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    expect(closed, "a head trickled byte by byte was not closed")
    expect(time.time() - t0 >= header_ms / 1000 * 0.5, "closed long before the header timeout")
    # a fresh connection that sends nothing is closed too
    s = conn(port)
    expect(Reader(s).closed(header_ms / 1000 * 10 + 5), "a silent connection was not closed")


def case_idle(port, idle_ms):
    s = conn(port)
    s.sendall(req("GET", "/hello"))
    r = Reader(s)
    st, h, b = r.response()
    expect(st == 200, "status %s" % st)
    t0 = time.time()
    expect(r.closed(idle_ms / 1000 * 10 + 5), "an idle keep-alive connection was not closed")
    expect(time.time() - t0 >= idle_ms / 1000 * 0.5, "closed long before the idle timeout")


def case_http10(port):
    s = conn(port)
    s.sendall(req("GET", "/hello", version="HTTP/1.0"))
    r = Reader(s)
    st, h, b = r.response()
    expect(st == 200 and h.get("connection") == "close", "1.0: %s %r" % (st, h))
    expect(r.closed(5), "HTTP/1.0 without keep-alive left open")
    s = conn(port)
    s.sendall(req("GET", "/hello", [("Connection", "keep-alive")], version="HTTP/1.0") * 2)
    r = Reader(s)
    for i in range(2):
        st, h, b = r.response()
        expect(st == 200 and h.get("connection") == "keep-alive", "1.0 keep-alive %d: %r" % (i, h))
    s = conn(port)
    s.sendall(req("GET", "/hello", [("Connection", "close")]))
    r = Reader(s)
    st, h, b = r.response()
    expect(h.get("connection") == "close" and r.closed(5), "1.1 with Connection: close")


def case_routes(port):
    def get(method, path):
        c = http.client.HTTPConnection(HOST, port, timeout=10)
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Allow"), r.read().decode()
    checks = [
        (("GET", "/files/a/b.txt"), (200, None, "files /files/a/b.txt")),
        (("GET", "/files/"), (200, None, "files /files/")),
        (("GET", "/files/deep/x"), (200, None, "deep /files/deep/x")),
        (("GET", "/files"), (404, None, None)),
        (("GET", "/hello/more"), (404, None, None)),
        (("GET", "/nowhere"), (404, None, None)),
        (("GET", "/thing"), (200, None, "got thing")),
        (("POST", "/thing"), (201, None, "made thing")),
        (("DELETE", "/thing"), (405, "GET, HEAD, POST", None)),
        (("GET", "/info?a=x%20y&b=1+2%2B3"), (200, None, None)),
    ]
    for (m, p), (st, allow, body) in checks:
        g = get(m, p)
        expect(g[0] == st, "%s %s: status %s (want %s)" % (m, p, g[0], st))
        expect(allow is None or g[1] == allow, "%s %s: Allow %r (want %r)" % (m, p, g[1], allow))
        expect(body is None or g[2] == body, "%s %s: body %r (want %r)" % (m, p, g[2], body))
    g = get("GET", "/info?a=x%20y&b=1+2%2B3")[2]
    expect(g.startswith("path=/info a=x y b=1 2+3 x-test=nil absent=nil remote=127.0.0.1"), "query: %r" % g)
    s = conn(port)
    s.sendall(req("GET", "/info", [("X-Test", "Mixed Case")]))
    st, h, b = Reader(s).response()
    expect("x-test=Mixed Case" in b, "headerAt: case-insensitive: %r" % b)


def case_500(port):
    for i in range(3):
        c = http.client.HTTPConnection(HOST, port, timeout=10)
        c.request("GET", "/boom")
        r = c.getresponse()
        b = r.read()
        expect(r.status == 500 and b"half" not in b, "boom %d: %s %r" % (i, r.status, b))
        c.request("GET", "/hello")
        r = c.getresponse()
        expect(r.status == 200 and r.read() == b"Hello, world!", "after a 500 on the same connection: %s" % r.status)


def case_stop(port):
    slow = conn(port)
    slow.sendall(req("GET", "/slow?ms=1000"))
    idle = conn(port)
    idle.sendall(req("GET", "/hello"))
    ir = Reader(idle)
    expect(ir.response()[0] == 200, "idle connection's first answer")
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    c.request("GET", "/stop?afterSlow")
    r = c.getresponse()
    expect(r.read() == b"stopping", "stop answer")
    expect(ir.closed(5), "an idle keep-alive connection was not closed by stop")
    st, h, b = Reader(slow).response()
    expect(st == 200 and b == "slow done" and h.get("connection") == "close",
           "request in flight during stop: %s %r %r" % (st, b, h))
    end = time.time() + 10
    refused = False
    while time.time() < end and not refused:
        try:
            x = conn(port, 2)
            x.sendall(req("GET", "/hello"))
            refused = Reader(x).closed(2)
        except (ConnectionRefusedError, ConnectionResetError):
            refused = True
    expect(refused, "still accepting after stop")


def main():
    case, port = sys.argv[1], int(sys.argv[2])
    args = [int(a) for a in sys.argv[3:]]
    try:
        globals()["case_" + case](port, *args)
    except AssertionError as e:
        print("FAIL", e)
        return 1
    except Exception as e:
        print("FAIL %s: %s" % (type(e).__name__, e))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
