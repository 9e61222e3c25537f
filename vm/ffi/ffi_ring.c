// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi_ring.c: the FFI's #ring mode. A libc function that io_uring
 * can perform itself (read, write, pread, pwrite, recv, send, accept,
 * accept4, connect, open, openat, close, fsync, fdatasync, statx, poll of
 * one fd, nanosleep) is not called: its arguments become an operation on
 * the VM's event loop, queued and waited for through the SystemIO request
 * layer (vm/io/: the request, the PS_IOWAIT park, the completion, the
 * cancel of a terminated process), so only the calling process waits and
 * no OS thread blocks. The answer is what the C function would answer:
 * -1 with the process's lastErrno set for a failure. Owns the table of
 * supported functions and the translation of C arguments to operations.
 * See Documentation/vm/ffi.md ("The ring").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "vm/ffi/ffi_priv.h"
#include "vm/io/io_int.h"

/* What an argument must be: an integer, a buffer (#pointer or #bytes), a
 * buffer C only reads (#string too: it is copied anyway), or a path
 * (#string, #pointer or #bytes). An optional last argument (open's and
 * openat's mode) is marked by [nopt]. */
enum { A_INT = 'i', A_BUF = 'b', A_SRC = 'w', A_PATH = 's' };

enum ring_op {
	RO_READ, RO_WRITE, RO_PREAD, RO_PWRITE, RO_RECV, RO_SEND, RO_ACCEPT, RO_ACCEPT4,
	RO_CONNECT, RO_OPEN, RO_OPENAT, RO_CLOSE, RO_FSYNC, RO_FDATASYNC, RO_STATX, RO_POLL,
	RO_NANOSLEEP, RO_COUNT
};

static const struct {
	const char *name;
	const char *args; /* A_* per argument */
	int nopt;         /* trailing arguments that may be left out */
} ops[RO_COUNT] = {
	[RO_READ] = {"read", "ibi", 0},        [RO_WRITE] = {"write", "iwi", 0},
	[RO_PREAD] = {"pread", "ibii", 0},     [RO_PWRITE] = {"pwrite", "iwii", 0},
	[RO_RECV] = {"recv", "ibii", 0},       [RO_SEND] = {"send", "iwii", 0},
	[RO_ACCEPT] = {"accept", "ibb", 0},    [RO_ACCEPT4] = {"accept4", "ibbi", 0},
	[RO_CONNECT] = {"connect", "ibi", 0},  [RO_OPEN] = {"open", "sii", 1},
	[RO_OPENAT] = {"openat", "isii", 1},   [RO_CLOSE] = {"close", "i", 0},
	[RO_FSYNC] = {"fsync", "i", 0},        [RO_FDATASYNC] = {"fdatasync", "i", 0},
	[RO_STATX] = {"statx", "isiib", 0},    [RO_POLL] = {"poll", "bii", 0},
	[RO_NANOSLEEP] = {"nanosleep", "bb", 0},
};

#define SUPPORTED                                                                          \
	"read, write, pread, pwrite, recv, send, accept, accept4, connect, open, openat, "   \
	"close, fsync, fdatasync, statx, poll (one fd), nanosleep"

/* One operation moves at most this much (a read answers fewer, as C's may). */
#define XFER_MAX ((int64_t)1 << 30)

static int op_of(const char *name)
{
	for (int i = 0; i < RO_COUNT; i++)
		if (!strcmp(ops[i].name, name))
			return i;
	return -1;
}

static int kind_fits(int want, int kind)
{
	if (want == A_INT)
		return cf_kinds[kind].is_int;
	if (want == A_BUF)
		return kind == FK_POINTER || kind == FK_BYTES;
	return kind == FK_STRING || kind == FK_POINTER || kind == FK_BYTES; /* A_SRC, A_PATH */
}

/* The ring operation of [f], or -1 after cf_fail() saying why not. */
static int ring_op(struct st_vm *vm, const struct cf_fn *f)
{
	int op = op_of(f->name);
	if (op < 0)
		return cf_fail(vm, 0, "%s: not a function the ring can perform; these are: " SUPPORTED,
				f->name) - 1;
	const char *a = ops[op].args;
	int n = (int)strlen(a);
	if (f->nargs > n || f->nargs < n - ops[op].nopt)
		return cf_fail(vm, 0, "%s: through the ring: expected %d arguments, declared %d",
				f->name, n, f->nargs) - 1;
	for (int i = 0; i < f->nargs; i++)
		if (!kind_fits(a[i], f->kinds[i]))
			return cf_fail(vm, 0, "%s: through the ring: argument %d: expected %s, declared #%s",
					f->name, i + 1,
					a[i] == A_INT ? "an integer type"
					: a[i] == A_BUF ? "#pointer or #bytes"
							: "#pointer, #bytes or #string",
					cf_kinds[f->kinds[i]].name) - 1;
	if (!cf_kinds[f->rkind].is_int)
		return cf_fail(vm, 0, "%s: through the ring: the result must be an integer type, "
				      "declared #%s", f->name, cf_kinds[f->rkind].name) - 1;
	return op;
}

/* ExternalFunction>>primRingCheck: can the receiver go through the ring? */
PRIM(ffiRingCheck)
{
	int mode;
	const struct cf_fn *f = cf_fn_of(vm, args[0], &mode);
	if (!f)
		return cf_fail(vm, args[0], "ExternalFunction: %O is not a defined function");
	return ring_op(vm, f) < 0 ? PRIM_FAIL : PRIM_OK;
}

/* ---- arguments ---------------------------------------------------------------- */

/* A call's arguments as C sees them; a #bytes buffer is its object. */
struct rargs {
	union cf_val v[CF_MAX_ARGS];
	oop obj[CF_MAX_ARGS]; /* #bytes argument, else 0 */
	int n;
};

static int bad_arg(struct st_vm *vm, const struct cf_fn *f, int i, oop o)
{
	char exp[96];
	cf_expected(f->kinds[i], exp, sizeof exp);
	return cf_fail(vm, o, "%s: argument %d: expected %s, got %O", f->name, i + 1, exp);
}

static int is_bytes(oop o)
{
	return obj_is_ptr(o) && obj_fmt(o) == OBJ_FMT_BYTES &&
	       (obj_cls(o) == CI_BYTEARRAY || obj_cls(o) == CI_STRING);
}

static int convert(struct st_vm *vm, const struct cf_fn *f, oop arr, struct rargs *ra)
{
	if (!obj_is_ptr(arr) || obj_cls(arr) != CI_ARRAY)
		return cf_fail(vm, arr, "%s: callWithArguments: expected an Array, got %O", f->name);
	int n = (int)obj_slots(arr);
	if (n != f->nargs)
		return cf_fail(vm, 0, "%s: expected %d argument%s, got %d", f->name, f->nargs,
				f->nargs == 1 ? "" : "s", n);
	ra->n = n;
	for (int i = 0; i < n; i++) {
		oop o = obj_body(arr)[i];
		int k = f->kinds[i];
		ra->obj[i] = 0;
		if (k == FK_BYTES || k == FK_STRING) {
			if (k == FK_BYTES ? !is_bytes(o)
					  : !(obj_is_ptr(o) && (obj_cls(o) == CI_STRING ||
								obj_cls(o) == CI_SYMBOL)))
				return bad_arg(vm, f, i, o);
			ra->obj[i] = o;
		} else if (!cf_to_c(vm, k, o, &ra->v[i])) {
			return bad_arg(vm, f, i, o);
		}
	}
	return 1;
}

static int64_t ival(const struct cf_fn *f, const struct rargs *ra, int i)
{
	return cf_kinds[f->kinds[i]].min < 0 ? ra->v[i].i64 : (int64_t)ra->v[i].u64;
}

/* A buffer argument of at least [need] bytes: its memory now (an object's
 * moves with the next collection), or NULL after cf_fail() / for a null
 * pointer when [null_ok]. */
static int buf_arg(struct st_vm *vm, const struct cf_fn *f, const struct rargs *ra, int i,
		   size_t need, int null_ok, void **out)
{
	oop o = ra->obj[i];
	if (o) {
		if (obj_byte_size(o) < need)
			return cf_fail(vm, o, "%s: argument %d: %zu bytes needed, got %O", f->name, i + 1,
					need);
		*out = obj_bytes(o);
		return 1;
	}
	*out = ra->v[i].p;
	if (!*out && !null_ok)
		return cf_fail(vm, 0, "%s: argument %d: a null pointer", f->name, i + 1);
	return 1;
}

/* A malloc'd copy of the path argument [i]; NULL after cf_fail() or when
 * out of memory ([*oom]). */
static char *path_arg(struct st_vm *vm, const struct cf_fn *f, const struct rargs *ra, int i,
		      int *oom)
{
	oop o = ra->obj[i];
	const char *s;
	size_t n;
	if (o) {
		s = (const char *)obj_bytes(o);
		n = obj_byte_size(o);
		const char *z = memchr(s, 0, n);
		if (z)
			n = (size_t)(z - s); /* a NUL-terminated ByteArray */
	} else {
		s = ra->v[i].p;
		if (!s) {
			cf_fail(vm, 0, "%s: argument %d: a null pointer", f->name, i + 1);
			return NULL;
		}
		n = strlen(s);
	}
	char *p = malloc(n + 1);
	if (!p) {
		*oom = 1;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* ---- the call ------------------------------------------------------------------- */

static int clamp(int64_t n) { return n < 0 ? -1 : n > XFER_MAX ? (int)XFER_MAX : (int)n; }

/* Queues [r] (its operation answered [e]) and parks the process. */
static int wait_on(struct st_vm *vm, struct vreq *r, int e, uint32_t tmo, oop *args)
{
	if (vio_queued(vm, r, e) < 0) {
		vio_discard(vm, r);
		return e == -ENOMEM ? PRIM_OOM : answer(args, e);
	}
	return vio_park(vm, r, tmo);
}

/* A transfer: read/pread/recv land in a C buffer copied into the object
 * when they complete (VR_READ), or straight in C memory; write/pwrite/send
 * go from a copy, or from C memory. Short transfers are answered as such. */
static int transfer(struct st_vm *vm, const struct cf_fn *f, int op, struct rargs *ra,
		    uint32_t tmo, oop *args)
{
	int fd = (int)ival(f, ra, 0);
	int len = clamp(ival(f, ra, 2));
	int in = op == RO_READ || op == RO_PREAD || op == RO_RECV;
	void *mem;
	if (len < 0)
		return answer(args, -EINVAL);
	if (!buf_arg(vm, f, ra, 1, (size_t)len, len == 0, &mem))
		return PRIM_FAIL;
	struct vreq *r = vio_new(vm, in ? VR_READ : VR_CONNECT, fd);
	if (!r)
		return PRIM_OOM;
	if (ra->obj[1]) {
		r->buf = malloc(len ? (size_t)len : 1);
		if (!r->buf) {
			vio_discard(vm, r);
			return PRIM_OOM;
		}
		if (in)
			r->obj = ra->obj[1]; /* a root until the data is copied in */
		else
			memcpy(r->buf, mem, (size_t)len);
		mem = r->buf;
	}
	uint64_t tag = vio_tag(vm, r);
	int64_t x = ra->n > 3 ? ival(f, ra, 3) : 0;
	int e;
	switch (op) {
	case RO_READ: e = baton_io_read(vm->core, tag, fd, mem, (unsigned)len, BATON_IO_CUR_POS); break;
	case RO_WRITE: e = baton_io_write(vm->core, tag, fd, mem, (unsigned)len, BATON_IO_CUR_POS); break;
	case RO_PREAD:
	case RO_PWRITE:
		if (x < 0) {
			vio_discard(vm, r);
			return answer(args, -EINVAL);
		}
		e = op == RO_PREAD ? baton_io_read(vm->core, tag, fd, mem, (unsigned)len, x)
				   : baton_io_write(vm->core, tag, fd, mem, (unsigned)len, x);
		break;
	case RO_RECV: e = baton_io_recv(vm->core, tag, fd, mem, (unsigned)len, (int)x); break;
	default: e = baton_io_send(vm->core, tag, fd, mem, (unsigned)len, (int)x | MSG_NOSIGNAL); break;
	}
	return wait_on(vm, r, e, tmo, args);
}

static int open_file(struct st_vm *vm, const struct cf_fn *f, int op, struct rargs *ra,
		     uint32_t tmo, oop *args)
{
	int at = op == RO_OPENAT, oom = 0;
	char *path = path_arg(vm, f, ra, at, &oom);
	if (!path)
		return oom ? PRIM_OOM : PRIM_FAIL;
	int dfd = at ? (int)ival(f, ra, 0) : AT_FDCWD;
	int flags = (int)ival(f, ra, at + 1);
	mode_t mode = ra->n > at + 2 ? (mode_t)ival(f, ra, at + 2) : 0;
	struct vreq *r = vio_new(vm, VR_OPEN, -1); /* a descriptor nobody takes is closed */
	if (!r) {
		free(path);
		return PRIM_OOM;
	}
	r->buf = path;
	return wait_on(vm, r, baton_io_openat(vm->core, vio_tag(vm, r), dfd, path, flags, mode), tmo,
		       args);
}

static int stat_file(struct st_vm *vm, const struct cf_fn *f, struct rargs *ra, uint32_t tmo,
		     oop *args)
{
	int oom = 0;
	void *out;
	if (!buf_arg(vm, f, ra, 4, sizeof(struct statx), 0, &out))
		return PRIM_FAIL;
	char *path = path_arg(vm, f, ra, 1, &oom);
	if (!path)
		return oom ? PRIM_OOM : PRIM_FAIL;
	struct vreq *r = vio_new(vm, VR_CONNECT, -1);
	if (!r) {
		free(path);
		return PRIM_OOM;
	}
	r->buf = path;
	if (ra->obj[4]) {
		/* the kernel writes the object itself: it must not move */
		r->obj = ra->obj[4];
		if (!vio_pin(vm, r, &r->obj)) {
			vio_discard(vm, r);
			return PRIM_OOM;
		}
		out = obj_bytes(r->obj);
	}
	int e = baton_io_statx(vm->core, vio_tag(vm, r), (int)ival(f, ra, 0), path,
			       (int)ival(f, ra, 2), (unsigned)ival(f, ra, 3), out);
	return wait_on(vm, r, e, tmo, args);
}

static int poll_fd(struct st_vm *vm, const struct cf_fn *f, struct rargs *ra, oop *args)
{
	struct pollfd *p;
	if (ival(f, ra, 1) != 1)
		return cf_fail(vm, 0, "poll: through the ring: nfds: expected 1, got %lld",
				(long long)ival(f, ra, 1));
	if (!buf_arg(vm, f, ra, 0, sizeof *p, 0, (void **)&p))
		return PRIM_FAIL;
	int64_t ms = ival(f, ra, 2);
	struct pollfd q = { .fd = p->fd, .events = p->events };
	if (ms == 0 || q.fd < 0) {
		/* no waiting: the plain call (a negative fd is ignored by poll) */
		int n = q.fd < 0 ? 0 : poll(&q, 1, 0);
		return answer(args, n < 0 ? -errno : n == 0 ? -ETIMEDOUT : q.revents);
	}
	struct vreq *r = vio_new(vm, VR_CONNECT, q.fd);
	if (!r)
		return PRIM_OOM;
	uint32_t tmo = ms < 0 ? 0 : ms >= 0x7fffffff ? 0x7fffffff : (uint32_t)ms + 1;
	int e = baton_io_poll(vm->core, vio_tag(vm, r), q.fd, (unsigned)(uint16_t)q.events);
	return wait_on(vm, r, e, tmo, args);
}

static int sleep_for(struct st_vm *vm, const struct cf_fn *f, struct rargs *ra, oop *args)
{
	struct timespec *ts;
	if (!buf_arg(vm, f, ra, 0, sizeof *ts, 0, (void **)&ts))
		return PRIM_FAIL;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return answer(args, -EINVAL);
	uint64_t ns = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
	struct vreq *r = vio_new(vm, VR_CONNECT, -1);
	if (!r)
		return PRIM_OOM;
	int e = baton_io_timeout(vm->core, vio_tag(vm, r), baton_now_ns() + ns);
	return wait_on(vm, r, e, 0, args);
}

/* ExternalFunction>>primRing: anArray — queues the operation and parks
 * the process; it resumes with the raw result (>= 0, or -errno), which
 * primRingDone:arguments: turns into C's answer. */
PRIM(ffiRing)
{
	int mode;
	const struct cf_fn *f = cf_fn_of(vm, args[0], &mode);
	if (!f)
		return cf_fail(vm, args[0], "ExternalFunction: %O is not a defined function");
	int op = ring_op(vm, f);
	if (op < 0)
		return PRIM_FAIL;
	struct rargs ra;
	if (!convert(vm, f, args[1], &ra))
		return PRIM_FAIL;
	/* SystemIO timeout: applies to the next asynchronous call: this one */
	uint32_t tmo = vio_take_tmo(vm);
	/* the first argument is a descriptor for the rest: accept, connect,
	 * close, fsync, fdatasync */
	int fd = ops[op].args[0] == A_INT ? (int)ival(f, &ra, 0) : -1;
	struct vreq *r;
	switch (op) {
	case RO_READ: case RO_WRITE: case RO_PREAD: case RO_PWRITE: case RO_RECV: case RO_SEND:
		return transfer(vm, f, op, &ra, tmo, args);
	case RO_OPEN: case RO_OPENAT:
		return open_file(vm, f, op, &ra, tmo, args);
	case RO_STATX:
		return stat_file(vm, f, &ra, tmo, args);
	case RO_POLL:
		return poll_fd(vm, f, &ra, args);
	case RO_NANOSLEEP:
		return sleep_for(vm, f, &ra, args);
	case RO_ACCEPT: case RO_ACCEPT4: {
		/* the peer's address is filled in afterwards (getpeername in
		 * primRingDone): nothing of the caller's is held meanwhile */
		int fl = op == RO_ACCEPT4 ? (int)ival(f, &ra, 3) : 0;
		if (!(r = vio_new(vm, VR_OPEN, fd)))
			return PRIM_OOM;
		return wait_on(vm, r, baton_io_accept(vm->core, vio_tag(vm, r), fd, NULL, NULL, fl, 0),
			       tmo, args);
	}
	case RO_CONNECT: {
		int64_t len = ival(f, &ra, 2);
		void *a;
		if (len < 0 || len > (int64_t)sizeof(struct sockaddr_storage))
			return answer(args, -EINVAL);
		if (!buf_arg(vm, f, &ra, 1, (size_t)len, 0, &a))
			return PRIM_FAIL;
		if (!(r = vio_new(vm, VR_CONNECT, fd)))
			return PRIM_OOM;
		if (!(r->buf = malloc(len ? (size_t)len : 1))) {
			vio_discard(vm, r);
			return PRIM_OOM;
		}
		memcpy(r->buf, a, (size_t)len);
		return wait_on(vm, r, baton_io_connect(vm->core, vio_tag(vm, r), fd,
						       (struct sockaddr *)r->buf, (socklen_t)len),
			       tmo, args);
	}
	case RO_CLOSE:
		/* as SystemIO close: does: what SystemIO still has on fd (waiters,
		 * a multishot accept, queued connections) ends with it */
		vio_close_fd_requests(vm, fd);
		if (!(r = vio_new(vm, VR_CONNECT, fd)))
			return PRIM_OOM;
		return wait_on(vm, r, baton_io_close_fd(vm->core, vio_tag(vm, r), fd), tmo, args);
	default: /* fsync, fdatasync */
		if (!(r = vio_new(vm, VR_CONNECT, fd)))
			return PRIM_OOM;
		return wait_on(vm, r,
			       baton_io_fsync(vm->core, vio_tag(vm, r), fd,
					      op == RO_FDATASYNC ? BATON_IO_DATASYNC : 0),
			       tmo, args);
	}
}

/* accept: the peer's address into addr/addrlen when C gave them (NULL
 * pointers: not wanted; an addrlen object too small to hold a socklen_t is
 * left alone). */
static void peer(const struct rargs *ra, int fd)
{
	void *a = ra->obj[1] ? obj_bytes(ra->obj[1]) : ra->v[1].p;
	void *l = ra->obj[2] ? obj_bytes(ra->obj[2]) : ra->v[2].p;
	if (!a || !l || (ra->obj[2] && obj_byte_size(ra->obj[2]) < sizeof(socklen_t)))
		return;
	socklen_t n;
	memcpy(&n, l, sizeof n);
	if (ra->obj[1] && n > obj_byte_size(ra->obj[1]))
		n = (socklen_t)obj_byte_size(ra->obj[1]);
	if (getpeername(fd, (struct sockaddr *)a, &n) < 0)
		n = 0;
	memcpy(l, &n, sizeof n);
}

/* ExternalFunction>>primRingDone: result arguments: anArray — C's answer
 * from the raw result, and the process's lastErrno. */
PRIM(ffiRingDone)
{
	int mode;
	const struct cf_fn *f = cf_fn_of(vm, args[0], &mode);
	if (!f || !obj_is_int(args[1]))
		return PRIM_FAIL;
	int op = ring_op(vm, f);
	if (op < 0)
		return PRIM_FAIL;
	struct rargs ra;
	if (!convert(vm, f, args[2], &ra))
		return PRIM_FAIL;
	int64_t res = obj_int(args[1]);
	if (op == RO_POLL) {
		struct pollfd *p;
		if (!buf_arg(vm, f, &ra, 0, sizeof *p, 0, (void **)&p))
			return PRIM_FAIL;
		if (res == -ETIMEDOUT || res >= 0) {
			p->revents = res > 0 ? (short)res : 0;
			res = res > 0;
		}
	} else if (op == RO_NANOSLEEP && res == -ETIME) {
		res = 0;
	} else if ((op == RO_ACCEPT || op == RO_ACCEPT4) && res >= 0) {
		peer(&ra, (int)res);
	}
	vm->active->last_errno = res < 0 ? (int)-res : 0;
	union cf_val v;
	v.i64 = res < 0 ? -1 : res;
	oop o = cf_from_c(vm, f->rkind, &v);
	if (!o)
		return PRIM_OOM;
	args[0] = o;
	return PRIM_OK;
}
