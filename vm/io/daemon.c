// SPDX-License-Identifier: MIT
/*
 * vm/io/daemon.c: what a Baton program needs to run as a daemon: the
 * listening sockets systemd passes (socket activation: LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES), notifications to systemd (NOTIFY_SOCKET),
 * stderr as the journal (JOURNAL_STREAM: a syslog priority prefix on every
 * line), and worker processes: a fresh VM of the same program started
 * with a listening socket passed the way systemd passes it, watched
 * through a pidfd. Plain system calls; OS errors answer -errno, bad
 * arguments fail the primitive. See Documentation/deploy.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/io/io_int.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

/* ---- stderr as the journal --------------------------------------------------------- */

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connects to
 * stdout/stderr. When fd 2 is that stream, every line written through the
 * C stderr (unhandled-error reports, traces, the VM's own messages, the
 * Smalltalk stderr stream) gets "<3>" (LOG_ERR) in front, so journald
 * files it at that priority. The stream state is the process's own, like
 * stderr itself: only whether the next byte starts a line.
 */
static int journal_at_bol = 1;

static ssize_t journal_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	size_t done = 0;
	while (done < n) {
		struct iovec iov[2];
		int k = 0;
		if (journal_at_bol) {
			iov[k++] = (struct iovec){.iov_base = (void *)"<3>", .iov_len = 3};
		}
		const char *nl = memchr(buf + done, '\n', n - done);
		size_t len = nl ? (size_t)(nl - (buf + done)) + 1 : n - done;
		iov[k++] = (struct iovec){.iov_base = (void *)(buf + done), .iov_len = len};
		size_t want = (journal_at_bol ? 3 : 0) + len;
		ssize_t w;
		do
			w = writev(2, iov, k);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			return done ? (ssize_t)done : -1;
		if ((size_t)w < want) {
			/* a short write on a stream socket: the rest byte by byte */
			size_t got = (size_t)w, skip = journal_at_bol ? 3 : 0;
			if (got < skip) {
				if (write(2, &"<3>"[got], skip - got) < 0)
					return done ? (ssize_t)done : -1;
				got = skip;
			}
			size_t body = got - skip;
			while (body < len) {
				ssize_t r = write(2, buf + done + body, len - body);
				if (r < 0 && errno != EINTR)
					return done ? (ssize_t)(done + body) : -1;
				if (r > 0)
					body += (size_t)r;
			}
		}
		journal_at_bol = nl != NULL;
		done += len;
	}
	return (ssize_t)n;
}

int vio_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void vio_setup_journal(void)
{
	if (!vio_stderr_is_journal())
		return;
	cookie_io_functions_t fns = {.write = journal_write};
	FILE *f = fopencookie(NULL, "w", fns);
	if (!f)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	fflush(stderr);
	stderr = f;
}

/* log: aString priority: 0..7 -> each line of aString on stderr as one
 * event: "<p>line" when stderr is the journal, the line as it is otherwise */
PRIM(logWrite)
{
	intptr_t prio;
	if (!prim_is_bytes(args[1]) || !int_arg(args[2], 0, 7, &prio))
		return PRIM_FAIL;
	st_out_flush(vm);
	fflush(stderr);
	size_t n = obj_byte_size(args[1]);
	char *s = malloc(n + 1);
	if (!s)
		return PRIM_OOM;
	memcpy(s, obj_bytes(args[1]), n);
	int journal = vio_stderr_is_journal();
	/* one write per line: "<p>" (journal only) + the line + "\n" */
	size_t i = 0;
	do {
		char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
		char pre[4] = {'<', (char)('0' + prio), '>', 0};
		struct iovec iov[3] = {{pre, journal ? 3 : 0}, {s + i, len}, {(void *)"\n", 1}};
		ssize_t w;
		do
			w = writev(2, iov, 3);
		while (w < 0 && errno == EINTR);
		i += len + 1;
	} while (i < n);
	free(s);
	args[0] = st_bool(vm, journal);
	return PRIM_OK;
}

/* ---- socket activation -------------------------------------------------------------- */

/*
 * listenFds -> an Array of {fd. name} for the sockets passed to this
 * process (LISTEN_PID is ours), fds 3.. (LISTEN_FDNAMES: colon-separated
 * names, 'unknown' when absent); empty otherwise. Like sd_listen_fds(1):
 * the three variables are unset once taken (a program this one starts
 * does not take them again) and the fds are made close-on-exec.
 */
PRIM(listenFds)
{
	const char *spid = getenv("LISTEN_PID"), *sfds = getenv("LISTEN_FDS");
	const char *snames = getenv("LISTEN_FDNAMES");
	long n = 0;
	if (spid && sfds) {
		char *e;
		errno = 0;
		long pid = strtol(spid, &e, 10);
		if (!errno && !*e && pid == (long)getpid()) {
			n = strtol(sfds, &e, 10);
			if (errno || *e || n < 0 || n > 4096)
				n = 0;
		}
	}
	char *names = snames ? strdup(snames) : NULL;
	if (spid && sfds && n >= 0) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	oop arr = st_new_array(vm, (size_t)n);
	if (!arr) {
		free(names);
		return PRIM_OOM;
	}
	ST_ROOT(vm, arr);
	char *cur = names;
	int ok = 1;
	for (long i = 0; i < n && ok; i++) {
		int fd = 3 + (int)i;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		const char *name = "unknown";
		if (cur) {
			char *c = strchr(cur, ':');
			if (c)
				*c = 0;
			if (*cur)
				name = cur;
			cur = c ? c + 1 : NULL;
		}
		oop pair = st_new_array(vm, 2);
		if (!pair) {
			ok = 0;
			break;
		}
		ST_ROOT(vm, pair);
		st_put(vm, pair, 0, obj_from_int(fd));
		oop str = prim_string(vm, name);
		if (str)
			st_put(vm, pair, 1, str);
		else
			ok = 0;
		st_put(vm, arr, (size_t)i, pair);
		ST_UNROOT(vm, 1);
	}
	ST_UNROOT(vm, 1);
	free(names);
	if (!ok)
		return PRIM_OOM;
	args[0] = arr;
	return PRIM_OK;
}

/* ---- sd_notify ---------------------------------------------------------------------- */

/* notify: aString -> 1 sent to NOTIFY_SOCKET, 0 when it is unset, or
 * -errno. An abstract socket's name starts with '@'. */
PRIM(sdNotify)
{
	(void)vm;
	if (!prim_is_bytes(args[1]))
		return PRIM_FAIL;
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return answer(args, 0);
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	size_t pl = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || pl >= sizeof u.sun_path)
		return answer(args, -EINVAL);
	memcpy(u.sun_path, path, pl);
	if (path[0] == '@')
		u.sun_path[0] = 0;
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + (path[0] == '/'));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return answer(args, -errno);
	ssize_t w = sendto(fd, obj_bytes(args[1]), obj_byte_size(args[1]), MSG_NOSIGNAL,
			   (struct sockaddr *)&u, sl);
	int e = errno;
	close(fd);
	return answer(args, w < 0 ? -e : 1);
}

/* ---- worker processes ---------------------------------------------------------------- */

static int env_skip(const char *e)
{
	static const char *const drop[] = {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
					   "NOTIFY_SOCKET=", "BATON_WORKER="};
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		if (!strncmp(e, drop[i], strlen(drop[i])))
			return 1;
	return 0;
}

/* Async-signal-safe decimal into [p] (room for 20 digits + NUL). */
static void put_dec(char *p, long v)
{
	char t[24];
	int k = 0;
	do
		t[k++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (k)
		*p++ = t[--k];
	*p = 0;
}

/*
 * spawnWorker: listenFd index: i name: aString -> {pid. pidfd}, or -errno.
 * Starts this process's executable (/proc/self/exe) with its argv; in the child the
 * listening socket is fd 3 and LISTEN_FDS=1, LISTEN_PID=its pid,
 * LISTEN_FDNAMES=aString, BATON_WORKER=i (NOTIFY_SOCKET removed: only the
 * parent talks to systemd); the signal mask is empty and every signal has
 * its default action; the worker gets SIGTERM when its parent dies
 * (PR_SET_PDEATHSIG: the VM's threads live as long as the VM). The child runs only async-signal-safe calls between
 * fork and execve. The pidfd is close-on-exec; it polls readable once the
 * worker has ended (reap it with reapWorker:).
 */
PRIM(spawnWorker)
{
	int lfd;
	intptr_t idx;
	char name[64];
	if (!fd_arg(args[1], &lfd) || !int_arg(args[2], 0, 1000000, &idx) ||
	    !prim_is_bytes(args[3]) || obj_byte_size(args[3]) >= sizeof name ||
	    memchr(obj_bytes(args[3]), 0, obj_byte_size(args[3])) ||
	    memchr(obj_bytes(args[3]), ':', obj_byte_size(args[3])))
		return PRIM_FAIL;
	memcpy(name, obj_bytes(args[3]), obj_byte_size(args[3]));
	name[obj_byte_size(args[3])] = 0;
	if (!vm->argv_all)
		return answer(args, -ENOEXEC);
	if (fcntl(lfd, F_GETFD) < 0)
		return answer(args, -errno);

	size_t ne = 0;
	for (char **e = environ; e && *e; e++)
		ne++;
	char **envp = calloc(ne + 5, sizeof *envp);
	char *pidvar = malloc(sizeof "LISTEN_PID=" + 24);
	char *namevar = malloc(sizeof "LISTEN_FDNAMES=" + sizeof name);
	char *workvar = malloc(sizeof "BATON_WORKER=" + 24);
	if (!envp || !pidvar || !namevar || !workvar) {
		free(envp), free(pidvar), free(namevar), free(workvar);
		return PRIM_OOM;
	}
	size_t k = 0;
	for (char **e = environ; e && *e; e++)
		if (!env_skip(*e))
			envp[k++] = *e;
	strcpy(pidvar, "LISTEN_PID=");
	strcpy(namevar, "LISTEN_FDNAMES=");
	strcat(namevar, name);
	strcpy(workvar, "BATON_WORKER=");
	put_dec(workvar + strlen(workvar), (long)idx);
	envp[k++] = (char *)"LISTEN_FDS=1";
	envp[k++] = pidvar;
	envp[k++] = namevar;
	envp[k++] = workvar;
	envp[k] = NULL;
	size_t pidoff = strlen(pidvar);
	pid_t parent = getpid();

	/* the executable by its name, so that the worker's comm is "baton"
	 * like its parent's (ps, pgrep); /proc/self/exe itself when the file
	 * was replaced meanwhile (an upgrade: the old one runs on) */
	char exe[4096];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *suffix = " (deleted)";
	size_t sl = strlen(suffix);
	if (el <= 0 || (size_t)el >= sizeof exe - 1 ||
	    ((size_t)el > sl && !memcmp(exe + el - sl, suffix, sl)))
		el = 0;
	exe[el] = 0;
	const char *path = el ? exe : "/proc/self/exe";

	st_out_flush(vm); /* the child must not write the parent's buffered output */
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigemptyset(&dfl.sa_mask);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* a worker does not outlive its parent (killed, crashed): it
		 * gets SIGTERM and drains like under stop */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(127);
		if (lfd == 3) {
			fcntl(3, F_SETFD, 0);
		} else if (dup2(lfd, 3) < 0) {
			_exit(127);
		}
		put_dec(pidvar + pidoff, (long)getpid());
		execve(path, vm->argv_all, envp);
		_exit(127);
	}
	int e = errno;
	free(envp), free(pidvar), free(namevar), free(workvar);
	if (pid < 0)
		return answer(args, -e);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return answer(args, -e);
	}
	oop arr = st_new_array(vm, 2);
	if (!arr) {
		/* the worker runs on; its pidfd is lost with it: stop it */
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
		close(pfd);
		return PRIM_OOM;
	}
	st_put(vm, arr, 0, obj_from_int(pid));
	st_put(vm, arr, 1, obj_from_int(pfd));
	args[0] = arr;
	return PRIM_OK;
}

/* reapWorker: pidfd -> nil while it runs; once it ended {#exited. code} or
 * {#signaled. signo}, and the pidfd is closed; -errno on an error */
PRIM(reapWorker)
{
	int pfd;
	if (!fd_arg(args[1], &pfd))
		return PRIM_FAIL;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid((idtype_t)P_PIDFD, (id_t)pfd, &si, WEXITED | WNOHANG) < 0)
		return answer(args, -errno);
	if (si.si_pid == 0) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	close(pfd);
	oop arr = st_new_array(vm, 2);
	if (!arr)
		return PRIM_OOM;
	ST_ROOT(vm, arr);
	oop kind = st_symbol_c(vm, si.si_code == CLD_EXITED ? "exited" : "signaled");
	ST_UNROOT(vm, 1);
	if (!kind)
		return PRIM_OOM;
	st_put(vm, arr, 0, kind);
	st_put(vm, arr, 1, obj_from_int(si.si_status));
	args[0] = arr;
	return PRIM_OK;
}

/* signalWorker: pidfd signal: #SIGTERM -> 0 or -errno */
PRIM(signalWorker)
{
	(void)vm;
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL}, {"SIGINT", SIGINT},
		    {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
		    {"SIGQUIT", SIGQUIT}};
	int pfd, sig = 0;
	if (!fd_arg(args[1], &pfd) || !prim_is_bytes(args[2]))
		return PRIM_FAIL;
	size_t n = obj_byte_size(args[2]);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (strlen(sigs[i].name) == n && !memcmp(sigs[i].name, obj_bytes(args[2]), n))
			sig = sigs[i].sig;
	if (!sig)
		return PRIM_FAIL;
	long r = syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
	return answer(args, r < 0 ? -errno : 0);
}

/*
 * acceptNow: fd -> a connection's fd (close-on-exec), -EAGAIN when none is
 * waiting, or -errno. For a listening socket several processes share
 * (prefork): each accepts only when it polled readable, so the kernel's
 * wake-ups of all pollers spread the connections over the processes,
 * where a multishot accept would let the first one take every connection.
 * The socket is made non-blocking (its file description is shared: the
 * others use this primitive too).
 */
PRIM(acceptNow)
{
	(void)vm;
	int fd;
	if (!fd_arg(args[1], &fd))
		return PRIM_FAIL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return answer(args, -errno);
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return answer(args, -errno);
	int c;
	do
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	while (c < 0 && errno == EINTR);
	if (c < 0)
		return answer(args, errno == EWOULDBLOCK ? -EAGAIN : -errno);
	return answer(args, c);
}
