// SPDX-License-Identifier: MIT
/*
 * vm/io/prim_sys.c: the synchronous SystemIO primitives: socket set-up
 * (socket, bind, listen, options, shutdown), socket addresses as
 * ByteArrays (struct sockaddr_*), directory and path operations, errno
 * names and texts, the constants the Smalltalk side needs. Plain system
 * calls that never wait for a peer or a device; OS errors answer
 * -errno, bad arguments fail the primitive.
 * See Documentation/vm/io.md ("Inside the VM").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm/grow.h"
#include "vm/io/io_int.h"

static int answer_rc(oop *args, int rc) { return answer(args, rc < 0 ? -errno : rc); }

/* A C string of the byte object [o] into [buf]; 0 if it is none, holds a
 * NUL or does not fit. */
static int cstr_arg(oop o, char *buf, size_t cap)
{
	if (!prim_is_bytes(o))
		return 0;
	size_t n = obj_byte_size(o);
	if (n >= cap || memchr(obj_bytes(o), 0, n))
		return 0;
	memcpy(buf, obj_bytes(o), n);
	buf[n] = 0;
	return 1;
}

static int addr_arg(oop o)
{
	return prim_is_bytes(o) && obj_byte_size(o) >= 2 &&
	       obj_byte_size(o) <= sizeof(struct sockaddr_storage);
}

static int answer_bytes(struct st_vm *vm, oop *args, const void *p, size_t n)
{
	oop b = vio_bytes(vm, p, n, 1);
	if (!b)
		return PRIM_OOM;
	args[0] = b;
	return PRIM_OK;
}

/* ---- sockets ------------------------------------------------------------------- */

/* socket: domain type: t -> fd (CLOEXEC) | -errno */
PRIM(ioSocket)
{
	(void)vm;
	intptr_t d, t;
	if (!int_arg(args[1], 0, 0xffff, &d) || !int_arg(args[2], 0, 0xffff, &t))
		return PRIM_FAIL;
	return answer_rc(args, socket((int)d, (int)t | SOCK_CLOEXEC, 0));
}

PRIM(ioBind)
{
	(void)vm;
	int fd;
	if (!fd_arg(args[1], &fd) || !addr_arg(args[2]))
		return PRIM_FAIL;
	struct sockaddr_storage sa;
	memcpy(&sa, obj_bytes(args[2]), obj_byte_size(args[2]));
	return answer_rc(args, bind(fd, (struct sockaddr *)&sa, (socklen_t)obj_byte_size(args[2])));
}

PRIM(ioListen)
{
	(void)vm;
	int fd;
	intptr_t n;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 0, 0x7fffffff, &n))
		return PRIM_FAIL;
	return answer_rc(args, listen(fd, (int)n));
}

/* setOption: fd level: l name: n value: anInteger (or a Boolean) */
PRIM(ioSetOption)
{
	int fd;
	intptr_t l, n, v;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 0, 0xffff, &l) ||
	    !int_arg(args[3], 0, 0xffff, &n))
		return PRIM_FAIL;
	if (args[4] == vm->true_ || args[4] == vm->false_)
		v = args[4] == vm->true_;
	else if (!int_arg(args[4], INT32_MIN, INT32_MAX, &v))
		return PRIM_FAIL;
	int iv = (int)v;
	return answer_rc(args, setsockopt(fd, (int)l, (int)n, &iv, sizeof iv));
}

PRIM(ioShutdown)
{
	(void)vm;
	int fd;
	intptr_t h;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 0, 2, &h))
		return PRIM_FAIL;
	return answer_rc(args, shutdown(fd, (int)h));
}

static int sock_name(struct st_vm *vm, oop *args, int peer)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;
	int rc = peer ? getpeername(fd, (struct sockaddr *)&sa, &sl)
		      : getsockname(fd, (struct sockaddr *)&sa, &sl);
	if (rc < 0)
		return answer(args, -errno);
	return answer_bytes(vm, args, &sa, sl > sizeof sa ? sizeof sa : sl);
}

PRIM(ioLocalAddress) { return sock_name(vm, args, 0); }
PRIM(ioRemoteAddress) { return sock_name(vm, args, 1); }

/* address: host port: p -> a sockaddr for a numeric IPv4/IPv6 host, or nil */
PRIM(ioAddress)
{
	char h[INET6_ADDRSTRLEN + 16];
	intptr_t port;
	if (!int_arg(args[2], 0, 65535, &port))
		return PRIM_FAIL;
	if (!cstr_arg(args[1], h, sizeof h)) {
		if (!prim_is_bytes(args[1]))
			return PRIM_FAIL;
		args[0] = vm->nil; /* too long for a literal address */
		return PRIM_OK;
	}
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, h, &a4.sin_addr) == 1)
		return answer_bytes(vm, args, &a4, sizeof a4);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET6, h, &a6.sin6_addr) == 1)
		return answer_bytes(vm, args, &a6, sizeof a6);
	args[0] = vm->nil;
	return PRIM_OK;
}

/* pathAddress: aString -> a sockaddr_un, or nil when the path is too long */
PRIM(ioPathAddress)
{
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	if (!prim_is_bytes(args[1]) || memchr(obj_bytes(args[1]), 0, obj_byte_size(args[1])))
		return PRIM_FAIL;
	size_t n = obj_byte_size(args[1]);
	if (n == 0 || n >= sizeof u.sun_path) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	memcpy(u.sun_path, obj_bytes(args[1]), n);
	return answer_bytes(vm, args, &u, offsetof(struct sockaddr_un, sun_path) + n + 1);
}

PRIM(ioAnyAddress6)
{
	intptr_t port;
	if (!int_arg(args[1], 0, 65535, &port))
		return PRIM_FAIL;
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				  .sin6_addr = IN6ADDR_ANY_INIT};
	return answer_bytes(vm, args, &a6, sizeof a6);
}

PRIM(ioAnyAddress4)
{
	intptr_t port;
	if (!int_arg(args[1], 0, 65535, &port))
		return PRIM_FAIL;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY)};
	return answer_bytes(vm, args, &a4, sizeof a4);
}

/* The sockaddr in [o] copied into [sa] (zero-filled); its family, or -1. */
static int sockaddr_of(oop o, struct sockaddr_storage *sa, size_t *len)
{
	if (!addr_arg(o))
		return -1;
	memset(sa, 0, sizeof *sa);
	*len = obj_byte_size(o);
	memcpy(sa, obj_bytes(o), *len);
	return sa->ss_family;
}

/* hostOf: addrBytes -> '127.0.0.1', '::1' (an IPv4-mapped IPv6 address
 * as IPv4), a Unix socket's path; nil for another family */
PRIM(ioHostOf)
{
	struct sockaddr_storage sa;
	size_t len;
	char h[INET6_ADDRSTRLEN];
	int fam = sockaddr_of(args[1], &sa, &len);
	if (fam < 0)
		return PRIM_FAIL;
	const char *s = NULL;
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		s = inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, h, sizeof h);
	} else if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct in6_addr *a = &((struct sockaddr_in6 *)&sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			s = inet_ntop(AF_INET, &a->s6_addr[12], h, sizeof h);
		else
			s = inet_ntop(AF_INET6, a, h, sizeof h);
	} else if (fam == AF_UNIX) {
		struct sockaddr_un *u = (struct sockaddr_un *)&sa;
		size_t max = len > offsetof(struct sockaddr_un, sun_path)
				     ? len - offsetof(struct sockaddr_un, sun_path)
				     : 0;
		oop str = st_new_string(vm, u->sun_path, strnlen(u->sun_path, max));
		if (!str)
			return PRIM_OOM;
		args[0] = str;
		return PRIM_OK;
	}
	if (!s) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	oop str = prim_string(vm, s);
	if (!str)
		return PRIM_OOM;
	args[0] = str;
	return PRIM_OK;
}

/* portOf: addrBytes -> the port, nil for a family without ports */
PRIM(ioPortOf)
{
	struct sockaddr_storage sa;
	size_t len;
	int fam = sockaddr_of(args[1], &sa, &len);
	if (fam < 0)
		return PRIM_FAIL;
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in))
		return answer(args, ntohs(((struct sockaddr_in *)&sa)->sin_port));
	if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return answer(args, ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
	args[0] = vm->nil;
	return PRIM_OK;
}

PRIM(ioIsatty)
{
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	args[0] = st_bool(vm, isatty(fd));
	return PRIM_OK;
}

/* ---- paths ---------------------------------------------------------------------- */

#define PATH_CAP 4096

PRIM(ioUnlink)
{
	(void)vm;
	char p[PATH_CAP];
	if (!cstr_arg(args[1], p, sizeof p))
		return PRIM_FAIL;
	return answer_rc(args, unlink(p));
}

PRIM(ioRmdir)
{
	(void)vm;
	char p[PATH_CAP];
	if (!cstr_arg(args[1], p, sizeof p))
		return PRIM_FAIL;
	return answer_rc(args, rmdir(p));
}

PRIM(ioMkdir)
{
	(void)vm;
	char p[PATH_CAP];
	intptr_t m;
	if (!cstr_arg(args[1], p, sizeof p) || !int_arg(args[2], 0, 07777, &m))
		return PRIM_FAIL;
	return answer_rc(args, mkdir(p, (mode_t)m));
}

PRIM(ioRename)
{
	(void)vm;
	char a[PATH_CAP], b[PATH_CAP];
	if (!cstr_arg(args[1], a, sizeof a) || !cstr_arg(args[2], b, sizeof b))
		return PRIM_FAIL;
	return answer_rc(args, rename(a, b));
}

PRIM(ioTruncate)
{
	(void)vm;
	int fd;
	intptr_t n;
	if (!fd_arg(args[1], &fd) || !int_arg(args[2], 0, INTPTR_MAX, &n))
		return PRIM_FAIL;
	return answer_rc(args, ftruncate(fd, (off_t)n));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* entries: path -> the names in the directory, sorted, without . and .. */
PRIM(ioEntries)
{
	char p[PATH_CAP];
	if (!cstr_arg(args[1], p, sizeof p))
		return PRIM_FAIL;
	DIR *d = opendir(p);
	if (!d)
		return answer(args, -errno);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *s = strdup(e->d_name);
		if (!s || (n == cap && !GROW(names, cap, n + 1, 16))) {
			free(s);
			err = ENOMEM;
			break;
		}
		names[n++] = s;
	}
	closedir(d);
	oop arr = err ? 0 : st_new_array(vm, n);
	if (arr) {
		if (n > 1) /* names is NULL for an empty directory */
			qsort(names, n, sizeof *names, by_name);
		ST_ROOT(vm, arr);
		for (size_t i = 0; i < n && arr; i++) {
			oop s = prim_string(vm, names[i]);
			if (s)
				st_put(vm, arr, i, s);
			else
				arr = 0;
		}
		ST_UNROOT(vm, 1);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!arr)
		return PRIM_OOM;
	args[0] = arr;
	return PRIM_OK;
}

/* ---- errors and constants --------------------------------------------------------------- */

/* errorString: anErrno -> its text; EAI codes (-10000 + code) too */
PRIM(ioErrorString)
{
	intptr_t e;
	if (!int_arg(args[1], INT32_MIN, INT32_MAX, &e))
		return PRIM_FAIL;
	const char *s = e < -10000 ? gai_strerror((int)(e + 10000)) : strerror((int)(e < 0 ? -e : e));
	oop str = prim_string(vm, s);
	if (!str)
		return PRIM_OOM;
	args[0] = str;
	return PRIM_OK;
}

struct named {
	const char *name;
	int value;
};

#define N(x) {#x, x},
static const struct named errnos[] = {
	N(EPERM) N(ENOENT) N(EINTR) N(EIO) N(ENXIO) N(EBADF) N(EAGAIN) N(ENOMEM) N(EACCES)
	N(EEXIST) N(EXDEV) N(ENODEV) N(ENOTDIR) N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE)
	N(EFBIG) N(ENOSPC) N(ESPIPE) N(EROFS) N(EPIPE) N(ENAMETOOLONG) N(ENOSYS) N(ENOTEMPTY)
	N(ELOOP) N(ETIME) N(EPROTO) N(ENOTSOCK) N(EDESTADDRREQ) N(EMSGSIZE) N(EOPNOTSUPP)
	N(EAFNOSUPPORT) N(EADDRINUSE) N(EADDRNOTAVAIL) N(ENETDOWN) N(ENETUNREACH)
	N(ECONNABORTED) N(ECONNRESET) N(ENOBUFS) N(EISCONN) N(ENOTCONN) N(ETIMEDOUT)
	N(ECONNREFUSED) N(EHOSTUNREACH) N(EALREADY) N(EINPROGRESS) N(ECANCELED)
	N(EWOULDBLOCK)
};

static const struct named constants[] = {
	N(AF_UNSPEC) N(AF_INET) N(AF_INET6) N(AF_UNIX) N(SOCK_STREAM) N(SOCK_DGRAM)
	N(SOL_SOCKET) N(SO_REUSEADDR) N(SO_REUSEPORT) N(SO_KEEPALIVE) N(SO_RCVBUF) N(SO_SNDBUF)
	N(SO_BROADCAST) N(SO_ERROR) N(IPPROTO_TCP) N(IPPROTO_UDP) N(TCP_NODELAY) N(IPPROTO_IPV6)
	N(IPV6_V6ONLY) N(O_RDONLY) N(O_WRONLY) N(O_RDWR) N(O_CREAT) N(O_TRUNC) N(O_APPEND)
	N(O_EXCL) N(O_DIRECTORY) N(O_NOFOLLOW) N(O_NONBLOCK) N(SHUT_RD) N(SHUT_WR) N(SHUT_RDWR)
	N(POLLIN) N(POLLPRI) N(POLLOUT) N(POLLERR) N(POLLHUP) N(POLLNVAL) N(POLLRDHUP)
	N(SOMAXCONN)
	/* getaddrinfo's codes, as such (resolve: answers -10000 + the code) */
	N(EAI_NONAME) N(EAI_AGAIN) N(EAI_FAIL) N(EAI_FAMILY) N(EAI_SERVICE) N(EAI_MEMORY)
	N(EAI_SYSTEM) N(EAI_NODATA) N(EAI_ADDRFAMILY)
};
#undef N

static int lookup(oop sym, const struct named *t, size_t n, int *out)
{
	if (!prim_is_bytes(sym))
		return 0;
	size_t len = obj_byte_size(sym);
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !memcmp(t[i].name, obj_bytes(sym), len)) {
			*out = t[i].value;
			return 1;
		}
	return 0;
}

/* errno: #ENOENT -> its number (fails for a name it does not know) */
PRIM(ioErrno)
{
	(void)vm;
	int v;
	if (!lookup(args[1], errnos, sizeof errnos / sizeof errnos[0], &v))
		return PRIM_FAIL;
	return answer(args, v);
}

/* constant: #AF_INET -> its number */
PRIM(ioConstant)
{
	(void)vm;
	int v;
	if (!lookup(args[1], constants, sizeof constants / sizeof constants[0], &v))
		return PRIM_FAIL;
	return answer(args, v);
}
