// SPDX-License-Identifier: MIT
/*
 * vm/io/prim_io.c: the asynchronous SystemIO primitives (class side of
 * SystemIO, st/kernel/80-SystemIO.st). Each one either answers at once
 * (data already there, a bad descriptor) or queues its operation on the
 * VM's loop and parks the asking process (vm/io/req.c); only that process
 * waits. OS errors are answered as negative errno Integers; a primitive
 * fails (the Smalltalk method raises an Error) only for arguments of the
 * wrong class or range.
 * See Documentation/vm/io.md ("Inside the VM").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/io/io_int.h"

/* Transfers this big go straight into (or out of) the object, pinned;
 * smaller ones of young objects are copied (pinning a young object
 * costs a scavenge). */
#define PIN_MIN 65536
/* One operation moves at most this much (a read answers fewer). */
#define XFER_MAX ((intptr_t)1 << 30)

/* ---- arguments ------------------------------------------------------------- */

/* [o] is a byte object holding [at, at+n) (at 1-based). */
static int span_arg(oop o, oop at, oop n, size_t *a, size_t *len, int writable)
{
	intptr_t i, k;
	if (!prim_is_bytes(o) || (writable && obj_cls(o) == CI_SYMBOL))
		return 0;
	if (!int_arg(at, 1, INTPTR_MAX, &i) || !int_arg(n, 0, INTPTR_MAX, &k))
		return 0;
	if ((size_t)(i - 1) > obj_byte_size(o) || (size_t)k > obj_byte_size(o) - (size_t)(i - 1))
		return 0;
	*a = (size_t)(i - 1);
	*len = (size_t)k;
	return 1;
}

static int young(struct st_vm *vm, oop o)
{
	return (uintptr_t)o >= vm->gc.young_lo && (uintptr_t)o < vm->gc.young_hi;
}

/* A malloc'd NUL-terminated copy of the byte object [o]; NULL when it is
 * not one or holds a NUL (not a path). */
static char *path_arg(oop o)
{
	if (!prim_is_bytes(o))
		return NULL;
	size_t n = obj_byte_size(o);
	if (memchr(obj_bytes(o), 0, n))
		return NULL;
	return st_cstring(o);
}

/* ---- shared helpers ---------------------------------------------------------- */

char *vio_scratch(struct st_vm *vm, size_t n)
{
	struct vio *v = vio_get(vm);
	if (!v)
		return NULL;
	if (n > v->scap) {
		size_t cap = n < 65536 ? 65536 : n;
		char *b = malloc(cap);
		if (!b)
			return NULL;
		free(v->scratch);
		v->scratch = b;
		v->scap = cap;
	}
	return v->scratch;
}

/* A scratch buffer grown for one large receive is not kept. */
#define SCRATCH_KEEP (1u << 20)

oop vio_bytes(struct st_vm *vm, const char *s, size_t n, int binary)
{
	oop o = st_new_bytes(vm, binary ? CI_BYTEARRAY : CI_STRING, n);
	if (o && n)
		memcpy(obj_bytes(o), s, n);
	struct vio *v = vm->vio;
	if (v && s == v->scratch && v->scap > SCRATCH_KEEP) {
		free(v->scratch);
		v->scratch = NULL;
		v->scap = 0;
	}
	return o;
}

/* Gives up [r] before anything was queued. */
static int discard(struct st_vm *vm, struct vreq *r, int e, oop *args)
{
	vio_discard(vm, r);
	if (e == -ENOMEM)
		return PRIM_OOM;
	return answer(args, e);
}

/* Queues [r] (its operation just returned [e]) and parks the process. */
static int wait_on(struct st_vm *vm, struct vreq *r, int e, uint32_t tmo, int link, oop *args)
{
	if (vio_queued(vm, r, e) < 0)
		return discard(vm, r, e, args);
	if (link && !vio_link_fd(vm, r)) {
		/* the operation is on the ring: let it finish unseen */
		r->proc = 0;
		return PRIM_OOM;
	}
	return vio_park(vm, r, tmo);
}

/* [r]'s data: the object's bytes [at, at+len), pinned if large or old,
 * else copied ([copy_in]: a write's data) into a C buffer. 0: no memory. */
static int hold_data(struct st_vm *vm, struct vreq *r, oop *obj, size_t at, size_t len, int copy_in)
{
	r->obj = *obj;
	r->at = at;
	r->len = len;
	if (len >= PIN_MIN || !young(vm, r->obj))
		return vio_pin(vm, r, &r->obj);
	r->buf = malloc(len ? len : 1);
	if (!r->buf)
		return 0;
	if (copy_in) {
		memcpy(r->buf, obj_bytes(r->obj) + at, len);
		r->obj = 0; /* a write keeps only the copy */
	}
	return 1;
}

/* ---- files and descriptors ---------------------------------------------------------- */

/* read: fd into: buf at: start count: n offset: off */
PRIM(ioRead)
{
	int fd;
	size_t at, n;
	intptr_t off;
	if (!fd_arg(args[1], &fd) || !span_arg(args[2], args[3], args[4], &at, &n, 1) ||
	    !int_arg(args[5], -1, INTPTR_MAX, &off))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	if (n == 0)
		return answer(args, 0);
	if (n > (size_t)XFER_MAX)
		n = (size_t)XFER_MAX;
	struct vreq *r = vio_new(vm, VR_READ, fd);
	if (!r)
		return PRIM_OOM;
	if (!hold_data(vm, r, &args[2], at, n, 0))
		return discard(vm, r, -ENOMEM, args);
	r->off = off;
	int e = baton_io_read(vm->core, vio_tag(vm, r), fd, vio_data(r), (unsigned)n,
			      off < 0 ? BATON_IO_CUR_POS : off);
	return wait_on(vm, r, e, tmo, 1, args);
}

static int write_req(struct st_vm *vm, oop *args, int fd, oop *obj, size_t at, size_t n,
		     intptr_t off, uint32_t tmo)
{
	if (n == 0)
		return answer(args, 0);
	struct vreq *r = vio_new(vm, VR_WRITE, fd);
	if (!r)
		return PRIM_OOM;
	if (!hold_data(vm, r, obj, at, n, 1))
		return discard(vm, r, -ENOMEM, args);
	r->off = off;
	unsigned chunk = n > (size_t)XFER_MAX ? (unsigned)XFER_MAX : (unsigned)n;
	int e = baton_io_write(vm->core, vio_tag(vm, r), fd, vio_data(r), chunk,
			       off < 0 ? BATON_IO_CUR_POS : off);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* write: fd from: buf at: start count: n offset: off */
PRIM(ioWrite)
{
	int fd;
	size_t at, n;
	intptr_t off;
	if (!fd_arg(args[1], &fd) || !span_arg(args[2], args[3], args[4], &at, &n, 0) ||
	    !int_arg(args[5], -1, INTPTR_MAX, &off))
		return PRIM_FAIL;
	return write_req(vm, args, fd, &args[2], at, n, off, vio_take_tmo(vm));
}

/* open: path flags: f mode: m */
PRIM(ioOpen)
{
	intptr_t fl, mode;
	if (!int_arg(args[2], 0, 0x7fffffff, &fl) || !int_arg(args[3], 0, 07777, &mode))
		return PRIM_FAIL;
	char *path = path_arg(args[1]);
	if (!path)
		return prim_is_bytes(args[1]) && !memchr(obj_bytes(args[1]), 0, obj_byte_size(args[1]))
			       ? PRIM_OOM
			       : PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	struct vreq *r = vio_new(vm, VR_OPEN, -1);
	if (!r) {
		free(path);
		return PRIM_OOM;
	}
	r->buf = path;
	int e = baton_io_openat(vm->core, vio_tag(vm, r), AT_FDCWD, path, (int)fl | O_CLOEXEC,
				(mode_t)mode);
	return wait_on(vm, r, e, tmo, 0, args);
}

static int close_req(struct st_vm *vm, oop *args)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	vio_close_fd_requests(vm, fd);
	struct vreq *r = vio_new(vm, VR_CLOSE, fd);
	if (!r)
		return PRIM_OOM;
	int e = baton_io_close_fd(vm->core, vio_tag(vm, r), fd);
	return wait_on(vm, r, e, tmo, 0, args);
}

/* close: fd -- what still waits on fd gets -ECANCELED */
PRIM(ioClose) { return close_req(vm, args); }

/* closeFinalized: fd -- close: for a stream the collector found */
PRIM(ioCloseFinalized)
{
	int r = close_req(vm, args);
	if (r != PRIM_FAIL && vm->vio)
		vm->vio->finalized_fds++;
	return r;
}

static int stat_req(struct st_vm *vm, oop *args, int dfd, const char *path, int flags)
{
	uint32_t tmo = vio_take_tmo(vm);
	size_t pl = strlen(path);
	struct vreq *r = vio_new(vm, VR_STAT, dfd);
	if (!r)
		return PRIM_OOM;
	r->buf = malloc(sizeof(struct statx) + pl + 1);
	if (!r->buf)
		return discard(vm, r, -ENOMEM, args);
	char *p = r->buf + sizeof(struct statx);
	memcpy(p, path, pl + 1);
	int e = baton_io_statx(vm->core, vio_tag(vm, r), dfd, p, flags, STATX_BASIC_STATS,
			       (struct statx *)r->buf);
	return wait_on(vm, r, e, tmo, 0, args);
}

/* stat: path -> {type. size. mode. mtimeSeconds} (links are followed) */
PRIM(ioStat)
{
	char *path = path_arg(args[1]);
	if (!path)
		return PRIM_FAIL;
	int r = stat_req(vm, args, AT_FDCWD, path, 0);
	free(path);
	return r;
}

/* fstat: fd */
PRIM(ioFstat)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	return stat_req(vm, args, fd, "", AT_EMPTY_PATH);
}

/* fsync: fd */
PRIM(ioFsync)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	struct vreq *r = vio_new(vm, VR_FSYNC, fd);
	if (!r)
		return PRIM_OOM;
	int e = baton_io_fsync(vm->core, vio_tag(vm, r), fd, 0);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* poll: fd events: mask -> revents; a listening socket with queued
 * connections is POLLIN-ready */
PRIM(ioPoll)
{
	int fd;
	intptr_t ev;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 0, 0xffff, &ev))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	if ((ev & POLLIN) && vio_accept_ready(vm, fd))
		return answer(args, POLLIN);
	struct vreq *r = vio_new(vm, VR_POLL, fd);
	if (!r)
		return PRIM_OOM;
	r->len2 = (unsigned)ev;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), fd, (unsigned)ev);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* ---- sockets -------------------------------------------------------------------------- */

static int poll_req(struct st_vm *vm, oop *args, int kind, int fd, unsigned ev, uint32_t tmo,
		    struct vreq **out)
{
	struct vreq *r = vio_new(vm, kind, fd);
	*out = r;
	if (!r)
		return -ENOMEM;
	r->len2 = ev;
	(void)args;
	(void)tmo;
	return 0;
}

/* recv (or read, for what is not a socket) without waiting: bytes, or
 * -errno (-EAGAIN: nothing there yet). */
static ssize_t try_recv(int fd, char *buf, size_t n, int *notsock)
{
	for (;;) {
		ssize_t k = *notsock ? read(fd, buf, n) : recv(fd, buf, n, MSG_DONTWAIT);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno == ENOTSOCK && !*notsock) {
			*notsock = 1;
			return -EAGAIN; /* poll first: read() could block */
		}
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

/* recv: fd max: n binary: aBoolean -> a String (ByteArray) of 1..n bytes,
 * empty at end of stream, or -errno. Nothing is held while it waits. */
PRIM(ioRecv)
{
	int fd;
	intptr_t n;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 1, XFER_MAX, &n) ||
	    (args[3] != vm->true_ && args[3] != vm->false_))
		return PRIM_FAIL;
	int bin = args[3] == vm->true_;
	uint32_t tmo = vio_take_tmo(vm);
	char *buf = vio_scratch(vm, (size_t)n);
	if (!buf)
		return PRIM_OOM;
	int notsock = 0;
	ssize_t k = try_recv(fd, buf, (size_t)n, &notsock);
	if (k >= 0) {
		oop s = vio_bytes(vm, buf, (size_t)k, bin);
		if (!s)
			return PRIM_OOM;
		args[0] = s;
		return PRIM_OK;
	}
	if (k != -EAGAIN)
		return answer(args, k);
	struct vreq *r;
	if (poll_req(vm, args, VR_RECV, fd, POLLIN, tmo, &r) < 0)
		return PRIM_OOM;
	r->len = (size_t)n;
	r->binary = (uint8_t)bin;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), fd, POLLIN);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* send: fd from: buf at: start count: n -> n | -errno */
PRIM(ioSend)
{
	int fd;
	size_t at, n;
	if (!fd_arg(args[1], &fd) || !span_arg(args[2], args[3], args[4], &at, &n, 0))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	size_t done = 0;
	int err = 0;
	while (done < n) {
		ssize_t k = send(fd, obj_bytes(args[2]) + at + done, n - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		done += (size_t)k;
	}
	if (done == n)
		return answer(args, (intptr_t)n);
	if (err == ENOTSOCK)
		return write_req(vm, args, fd, &args[2], at, n, -1, tmo);
	if (err != EAGAIN && err != EWOULDBLOCK)
		return answer(args, -err);
	struct vreq *r = vio_new(vm, VR_SEND, fd);
	if (!r)
		return PRIM_OOM;
	if (!hold_data(vm, r, &args[2], at + done, n - done, 1))
		return discard(vm, r, -ENOMEM, args);
	r->pre = done;
	size_t rest = n - done;
	unsigned chunk = rest > (size_t)XFER_MAX ? (unsigned)XFER_MAX : (unsigned)rest;
	int e = baton_io_send(vm->core, vio_tag(vm, r), fd, vio_data(r), chunk, 0);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* accept: fd -> a new descriptor (CLOEXEC) | -errno */
PRIM(ioAccept)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	if (!vio_fd(vm, fd, 1))
		return PRIM_OOM;
	int q = vio_accept_queued(vm, fd);
	if (q)
		return answer(args, q);
	if (!vio_fd(vm, fd, 0)->ms) {
		int e = vio_start_accept(vm, fd);
		if (e < 0)
			return e == -ENOMEM ? PRIM_OOM : answer(args, e);
	}
	struct vreq *r = vio_new(vm, VR_ACCEPT_WAIT, fd);
	if (!r || !vio_link_fd(vm, r)) {
		if (r)
			vio_discard(vm, r);
		return PRIM_OOM;
	}
	return vio_park(vm, r, tmo);
}

/* connect: fd address: aByteArray (a sockaddr) -> 0 | -errno */
PRIM(ioConnect)
{
	int fd;
	if (!fd_arg(args[1], &fd) || !prim_is_bytes(args[2]) || obj_byte_size(args[2]) < 2 ||
	    obj_byte_size(args[2]) > sizeof(struct sockaddr_storage))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	size_t n = obj_byte_size(args[2]);
	struct vreq *r = vio_new(vm, VR_CONNECT, fd);
	if (!r)
		return PRIM_OOM;
	r->buf = malloc(sizeof(struct sockaddr_storage));
	if (!r->buf)
		return discard(vm, r, -ENOMEM, args);
	memcpy(r->buf, obj_bytes(args[2]), n);
	int e = baton_io_connect(vm->core, vio_tag(vm, r), fd, (struct sockaddr *)r->buf,
				 (socklen_t)n);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* {data. address} of one datagram (into *[out]); 0 or -errno. */
static int datagram(struct st_vm *vm, int fd, size_t n, oop *out)
{
	char *buf = vio_scratch(vm, n);
	if (!buf)
		return -ENOMEM;
	struct sockaddr_storage sa;
	socklen_t sl;
	ssize_t k;
	do {
		sl = sizeof sa;
		k = recvfrom(fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	oop a = st_new_array(vm, 2);
	ST_ROOT(vm, a);
	oop d = a ? vio_bytes(vm, buf, (size_t)k, 1) : 0;
	if (d)
		st_put(vm, a, 0, d);
	oop ad = d ? vio_bytes(vm, (char *)&sa, sl > sizeof sa ? sizeof sa : sl, 1) : 0;
	if (ad)
		st_put(vm, a, 1, ad);
	ST_UNROOT(vm, 1);
	if (!ad)
		return -ENOMEM;
	*out = a;
	return 0;
}

/* recvFrom: fd max: n -> {aByteArray. addressBytes} | -errno */
PRIM(ioRecvFrom)
{
	int fd;
	intptr_t n;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 1, 1 << 20, &n))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	oop a = 0;
	int k = datagram(vm, fd, (size_t)n, &a);
	if (k == -ENOMEM)
		return PRIM_OOM;
	if (k == 0) {
		args[0] = a;
		return PRIM_OK;
	}
	if (k != -EAGAIN)
		return answer(args, k);
	struct vreq *r;
	if (poll_req(vm, args, VR_RECVFROM, fd, POLLIN, tmo, &r) < 0)
		return PRIM_OOM;
	r->len = (size_t)n;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), fd, POLLIN);
	return wait_on(vm, r, e, tmo, 1, args);
}

/* sendto without waiting: bytes or -errno (-EAGAIN). */
static intptr_t try_sendto(int fd, const void *p, size_t n, const void *a, socklen_t al)
{
	for (;;) {
		ssize_t k = sendto(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, a, al);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

/* sendTo: fd from: buf count: n address: addrBytes -> bytes | -errno */
PRIM(ioSendTo)
{
	int fd;
	size_t at, n;
	oop one = obj_from_int(1);
	if (!fd_arg(args[1], &fd) || !span_arg(args[2], one, args[3], &at, &n, 0) ||
	    !prim_is_bytes(args[4]) || obj_byte_size(args[4]) < 2 ||
	    obj_byte_size(args[4]) > sizeof(struct sockaddr_storage))
		return PRIM_FAIL;
	uint32_t tmo = vio_take_tmo(vm);
	socklen_t al = (socklen_t)obj_byte_size(args[4]);
	intptr_t k = try_sendto(fd, obj_bytes(args[2]), n, obj_bytes(args[4]), al);
	if (k != -EAGAIN)
		return answer(args, k);
	struct vreq *r;
	if (poll_req(vm, args, VR_SENDTO, fd, POLLOUT, tmo, &r) < 0)
		return PRIM_OOM;
	/* the datagram, then its address */
	r->buf = malloc(n + al);
	if (!r->buf)
		return discard(vm, r, -ENOMEM, args);
	memcpy(r->buf, obj_bytes(args[2]), n);
	memcpy(r->buf + n, obj_bytes(args[4]), al);
	r->len = n;
	r->at = al;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), fd, POLLOUT);
	return wait_on(vm, r, e, tmo, 1, args);
}

int vio_retry(struct st_vm *vm, struct vreq *r, oop *out)
{
	switch (r->kind) {
	case VR_RECV: {
		char *buf = vio_scratch(vm, r->len);
		if (!buf)
			return -ENOMEM;
		int notsock = 0;
		ssize_t k = try_recv(r->fd, buf, r->len, &notsock);
		if (k == -EAGAIN && notsock) {
			k = try_recv(r->fd, buf, r->len, &notsock);
		}
		if (k < 0)
			return (int)k;
		oop s = vio_bytes(vm, buf, (size_t)k, r->binary);
		if (!s)
			return -ENOMEM;
		*out = s;
		return 0;
	}
	case VR_RECVFROM:
		return datagram(vm, r->fd, r->len, out);
	default: { /* VR_SENDTO */
		intptr_t k = try_sendto(r->fd, r->buf, r->len, r->buf + r->len, (socklen_t)r->at);
		if (k < 0)
			return (int)k;
		*out = obj_from_int(k);
		return 0;
	}
	}
}

/* resolve: host port: p -> Array of sockaddr ByteArrays | -10000 + EAI code.
 * getaddrinfo runs as a blocking callout: only the asking process waits. */
PRIM(ioResolve)
{
	intptr_t port;
	if (!int_arg(args[2], 0, 65535, &port))
		return PRIM_FAIL;
	char *host = path_arg(args[1]);
	if (!host)
		return PRIM_FAIL;
	(void)vio_take_tmo(vm);
	char ps[16];
	snprintf(ps, sizeof ps, "%d", (int)port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc;
	if (vm->core && vm->cur_thread && vm->active) {
		struct sched_callout c;
		sched_callout_begin(vm, &c, BATON_BLOCKING, "getaddrinfo");
		rc = getaddrinfo(host, ps, &hints, &res);
		sched_callout_end(vm, &c);
	} else {
		rc = getaddrinfo(host, ps, &hints, &res);
	}
	free(host);
	if (rc != 0)
		return answer(args, -10000 + rc);
	size_t n = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
			n++;
	oop arr = st_new_array(vm, n);
	ST_ROOT(vm, arr);
	size_t i = 0;
	for (struct addrinfo *a = res; a && arr; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		oop b = vio_bytes(vm, (const char *)a->ai_addr, a->ai_addrlen, 1);
		if (!b)
			arr = 0;
		else
			st_put(vm, arr, i++, b);
	}
	ST_UNROOT(vm, 1);
	freeaddrinfo(res);
	if (!arr)
		return PRIM_OOM;
	args[0] = arr;
	return PRIM_OK;
}

int vio_raw(struct st_vm *vm, oop *args, vio_submit_fn submit, void *ud, void *buf, oop *obj,
	    int closes_fd)
{
	uint32_t tmo = vio_take_tmo(vm);
	struct vreq *r = vio_new(vm, closes_fd ? VR_RAW_FD : VR_RAW, -1);
	if (!r) {
		free(buf);
		return PRIM_OOM;
	}
	r->buf = buf;
	if (obj && *obj) {
		r->obj = *obj;
		if (!vio_pin(vm, r, &r->obj))
			return discard(vm, r, -ENOMEM, args);
		*obj = r->obj;
	}
	int e = submit(vm, vio_tag(vm, r), r->obj, ud);
	return wait_on(vm, r, e, tmo, 0, args);
}

/* timeout: msOrNil -- for the active process's next async primitive */
PRIM(ioTimeout)
{
	intptr_t ms = 0;
	if (args[1] != vm->nil && !int_arg(args[1], 0, 0x7ffffffe, &ms))
		return PRIM_FAIL;
	if (!vm->active)
		return PRIM_FAIL;
	vm->active->io_tmo = args[1] == vm->nil ? 0 : (uint32_t)ms + 1;
	return PRIM_OK;
}
