// SPDX-License-Identifier: MIT
/*
 * tools/st-test.c: runs the data-driven Smalltalk suite (selftests/vm) and prints TAP 13.
 * Owns the expectation comments of .st files ("expect: ..." and friends), running the
 * baton binary on each file in its own process group with a timeout, and comparing
 * stdout, stderr and the exit status. It must never link against the VM: it only
 * execs the binary it is given. Annotations: selftests/vm/README.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

// A child that floods its output must not make us eat all memory; past this we
// keep draining the pipe (so the child never blocks) but drop the bytes.
#define CAPTURE_MAX (16u << 20)
// Diagnostics shown per failing test: the first mismatches say enough.
#define MAX_DIAGS 8
#define STDERR_TAIL 12
// Quoted output lines are cut to this many bytes in diagnostics.
#define CLIP 200

struct buf {
	char *p;
	size_t n, cap;
	int truncated;
};

struct expect {
	int line;	// source line of the annotation
	char *text;
};

struct test {
	char *path;		// as found (printed in TAP lines)
	const char *name;	// what TAP prints; == path for files
	char *base;		// basename, for frame and diagnostic matching
	int nontest, skip_gc_stress;
	char *skip;		// skip reason, or NULL
	char *bad;		// first malformed annotation, or NULL
	struct expect *out;
	size_t nout;
	int *errs;		// lines of expected compile errors
	size_t nerrs;
	char *rt_msg;		// expected runtime error message
	int rt_line;
	struct expect *serr;	// expected stderr lines
	size_t nserr;
	struct expect *allow;	// stderr lines that may appear (timing-dependent warnings)
	size_t nallow;
	int exit_code, has_exit;
	char **args, **vmargs, **env;
	size_t nargs, nvmargs, nenv;
	struct buf in;
	int has_stdin;
	char **argv_override;	// built-in CLI checks run this instead of FILE ARGS
	// results
	int done, passed, skipped, timed_out;
	unsigned checked;
	double secs;
	struct buf report;
};

struct job {
	struct test *t;
	pid_t pid;
	int fd_out, fd_err, fd_in;
	size_t in_off;
	struct buf out, err;
	double start, deadline;
	int exited, status;
};

struct opts {
	int verbose, jobs, list, cli;
	double timeout;
	const char *baton;
	int gc_stress;
};

static struct opts opt = { .jobs = 2, .timeout = 10.0 };

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("st-test: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

// Grows an array of [elsz]-byte elements by one and answers the new slot.
static void *push(void *arrp, size_t *n, size_t elsz)
{
	void **arr = arrp;
	*arr = xrealloc(*arr, (*n + 1) * elsz);
	return (char *)*arr + (*n)++ * elsz;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n > CAPTURE_MAX) {
		b->truncated = 1;
		n = b->n < CAPTURE_MAX ? CAPTURE_MAX - b->n : 0;
	}
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof small) {
		buf_add(b, small, (size_t)n);
	} else if (n >= 0) {
		char *big = xrealloc(NULL, (size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, again);
		buf_add(b, big, (size_t)n);
		free(big);
	}
	va_end(again);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- annotations ---------------------------------------------------- */

static void bad(struct test *t, int line, const char *what)
{
	if (t->bad)
		return;
	char msg[256];
	snprintf(msg, sizeof msg, "line %d: %s", line, what);
	t->bad = xstrdup(msg);
}

// Splits [s] at blanks and appends the words to [vec].
static void split_words(const char *s, char ***vec, size_t *n)
{
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *e = s;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		if (e > s)
			*(char **)push(vec, n, sizeof(char *)) = xstrndup(s, (size_t)(e - s));
		s = e;
	}
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

// "expect: TEXT" keeps TEXT verbatim (trailing blanks included): output lines
// may end in a blank. Other keywords are trimmed.
static void annotation(struct test *t, int line, const char *c, size_t len)
{
	char *s = xstrndup(c, len);
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	int multiline = strchr(p, '\n') != NULL;
	char *q = p + strlen(p);
	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	char *trimmed = xstrndup(p, (size_t)(q - p));

#define KEY(k) (strncmp(p, k, sizeof(k) - 1) == 0)
#define REST(k) (trimmed + sizeof(k) - 1)
	if (KEY("expect:")) {
		if (multiline) {
			bad(t, line, "expect: spans lines");
		} else {
			const char *text = p + 7;
			if (*text == ' ')
				text++;
			struct expect *e = push(&t->out, &t->nout, sizeof *e);
			e->line = line;
			e->text = xstrdup(text);
		}
	} else if (strcmp(trimmed, "expect error") == 0) {
		*(int *)push(&t->errs, &t->nerrs, sizeof(int)) = line;
	} else if (KEY("expect error line ")) {
		int n;
		if (parse_int(REST("expect error line "), &n) || n < 1)
			bad(t, line, "bad line number in expect error line");
		else
			*(int *)push(&t->errs, &t->nerrs, sizeof(int)) = n;
	} else if (KEY("expect runtime error: ")) {
		if (t->rt_msg)
			bad(t, line, "more than one expect runtime error");
		else {
			t->rt_msg = xstrdup(REST("expect runtime error: "));
			t->rt_line = line;
		}
	} else if (KEY("expect stderr: ")) {
		struct expect *e = push(&t->serr, &t->nserr, sizeof *e);
		e->line = line;
		e->text = xstrdup(REST("expect stderr: "));
	} else if (KEY("allow stderr: ")) {
		struct expect *e = push(&t->allow, &t->nallow, sizeof *e);
		e->line = line;
		e->text = xstrdup(REST("allow stderr: "));
	} else if (KEY("expect exit: ")) {
		if (t->has_exit || parse_int(REST("expect exit: "), &t->exit_code) || t->exit_code > 255)
			bad(t, line, "bad or repeated expect exit");
		t->has_exit = 1;
	} else if (KEY("expect")) {
		bad(t, line, "unknown expect annotation");
	} else if (KEY("args:")) {
		split_words(REST("args:"), &t->args, &t->nargs);
	} else if (KEY("vmargs:")) {
		split_words(REST("vmargs:"), &t->vmargs, &t->nvmargs);
	} else if (KEY("env: ")) {
		const char *kv = REST("env: ");
		if (!strchr(kv, '=') || *kv == '=')
			bad(t, line, "env: needs NAME=VALUE");
		else
			*(char **)push(&t->env, &t->nenv, sizeof(char *)) = xstrdup(kv);
	} else if (KEY("stdin: ") || strcmp(trimmed, "stdin:") == 0) {
		const char *text = p + 6;
		if (*text == ' ')
			text++;
		if (multiline)
			bad(t, line, "stdin: spans lines");
		buf_add(&t->in, text, strlen(text));
		buf_add(&t->in, "\n", 1);
		t->has_stdin = 1;
	} else if (KEY("skip: ")) {
		if (!t->skip)
			t->skip = xstrdup(REST("skip: "));
	} else if (strcmp(trimmed, "skip-gc-stress") == 0) {
		t->skip_gc_stress = 1;
	} else if (strcmp(trimmed, "nontest") == 0) {
		t->nontest = 1;
	}
#undef KEY
#undef REST
	free(trimmed);
	free(s);
}

// Walks the file with just enough of the Smalltalk lexer to find comments:
// '...' strings (with '' inside) and $c character literals may hold a double
// quote that does not open a comment. An unterminated comment or string runs
// to the end of the file; its annotations are ignored (compile-error tests put
// theirs on an earlier line).
static void scan(struct test *t, const char *s, size_t n)
{
	int line = 1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n') {
			line++;
		} else if (c == '$') {
			if (i + 1 < n && s[i + 1] == '\n')
				line++;
			i++;
		} else if (c == '\'') {
			for (i++; i < n; i++) {
				if (s[i] == '\n')
					line++;
				else if (s[i] == '\'' && !(i + 1 < n && s[i + 1] == '\''))
					break;
				else if (s[i] == '\'')
					i++;
			}
		} else if (c == '"') {
			size_t start = i + 1;
			int at = line;
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\n')
					line++;
			if (i < n)
				annotation(t, at, s + start, i - start);
		}
	}
}

static void check_consistency(struct test *t)
{
	if (t->nerrs && t->rt_msg)
		bad(t, t->rt_line, "a test may not expect both a compile error and a runtime error");
	if (t->nerrs && t->nout)
		bad(t, t->out[0].line, "a compile-error test runs nothing: no expect: lines");
}

static struct test *load(const char *path)
{
	struct test *t = xrealloc(NULL, sizeof *t);
	memset(t, 0, sizeof *t);
	t->path = xstrdup(path);
	t->name = t->path;
	const char *slash = strrchr(path, '/');
	t->base = xstrdup(slash ? slash + 1 : path);

	FILE *f = fopen(path, "rb");
	if (!f) {
		bad(t, 0, strerror(errno));
		return t;
	}
	struct buf b = { 0 };
	char chunk[8192];
	size_t r;
	while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, r);
	fclose(f);
	scan(t, b.p ? b.p : "", b.n);
	free(b.p);
	check_consistency(t);
	return t;
}

/* ---- finding files --------------------------------------------------- */

struct paths {
	char **v;
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_st(const char *name)
{
	size_t l = strlen(name);
	return l > 3 && strcmp(name + l - 3, ".st") == 0;
}

static void walk(const char *path, struct paths *out, int top)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (top)
			die("%s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (top || is_st(path))
			*(char **)push(&out->v, &out->n, sizeof(char *)) = xstrdup(path);
		return;
	}
	DIR *d = opendir(path);
	if (!d)
		die("%s: %s", path, strerror(errno));
	struct paths kids = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		char *p = xrealloc(NULL, l);
		snprintf(p, l, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
		*(char **)push(&kids.v, &kids.n, sizeof(char *)) = p;
	}
	closedir(d);
	// Sorted so that the TAP numbering is the same on every machine.
	qsort(kids.v, kids.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < kids.n; i++) {
		struct stat ks;
		if (stat(kids.v[i], &ks) == 0 && (S_ISDIR(ks.st_mode) || is_st(kids.v[i])))
			walk(kids.v[i], out, 0);
		free(kids.v[i]);
	}
	free(kids.v);
}

/* ---- running --------------------------------------------------------- */

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static char **build_argv(struct test *t)
{
	char **argv = NULL;
	size_t n = 0;
	*(char **)push(&argv, &n, sizeof(char *)) = (char *)opt.baton;
	if (t->argv_override) {
		for (char **a = t->argv_override; *a; a++)
			*(char **)push(&argv, &n, sizeof(char *)) = *a;
	} else {
		for (size_t i = 0; i < t->nvmargs; i++)
			*(char **)push(&argv, &n, sizeof(char *)) = t->vmargs[i];
		*(char **)push(&argv, &n, sizeof(char *)) = t->path;
		for (size_t i = 0; i < t->nargs; i++)
			*(char **)push(&argv, &n, sizeof(char *)) = t->args[i];
	}
	*(char **)push(&argv, &n, sizeof(char *)) = NULL;
	return argv;
}

// Runs in the forked child: own process group (so a timeout kills the VM's
// helper threads and anything it spawned), pipes on 0/1/2, default SIGPIPE
// (ignored dispositions survive exec and the VM must see the normal one).
static void child(struct test *t, int in_fd, int out_fd, int err_fd)
{
	setpgid(0, 0);
	if (in_fd < 0)
		in_fd = open("/dev/null", O_RDONLY);
	dup2(in_fd, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	signal(SIGPIPE, SIG_DFL);
	for (size_t i = 0; i < t->nenv; i++)
		putenv(t->env[i]);
	char **argv = build_argv(t);
	if (strchr(opt.baton, '/'))
		execv(opt.baton, argv);
	else
		execvp(opt.baton, argv);
	dprintf(2, "st-test: cannot run %s: %s\n", opt.baton, strerror(errno));
	_exit(127);
}

static void start(struct job *j, struct test *t)
{
	int po[2], pe[2], pi[2] = { -1, -1 };
	memset(j, 0, sizeof *j);
	j->t = t;
	// O_CLOEXEC: a child must not inherit the pipes of the jobs running beside it,
	// or their stdin would never see EOF.
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || (t->has_stdin && pipe2(pi, O_CLOEXEC)))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		child(t, pi[0], po[1], pe[1]);
	setpgid(pid, pid);	// both sides set it: no race with an early kill
	close(po[1]);
	close(pe[1]);
	if (pi[0] >= 0)
		close(pi[0]);
	j->pid = pid;
	j->fd_out = po[0];
	j->fd_err = pe[0];
	j->fd_in = pi[1];
	set_nonblock(j->fd_out);
	set_nonblock(j->fd_err);
	if (j->fd_in >= 0)
		set_nonblock(j->fd_in);
	j->start = now();
	j->deadline = j->start + opt.timeout;
}

static void drain(int *fd, struct buf *b)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = read(*fd, chunk, sizeof chunk);
		if (r > 0) {
			buf_add(b, chunk, (size_t)r);
			continue;
		}
		if (r < 0 && (errno == EINTR))
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

static void feed(struct job *j)
{
	struct buf *in = &j->t->in;
	while (j->in_off < in->n) {
		ssize_t w = write(j->fd_in, in->p + j->in_off, in->n - j->in_off);
		if (w > 0) {
			j->in_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;	// EPIPE: the program did not read it all; that is its business
	}
	close(j->fd_in);
	j->fd_in = -1;
}

// Notices the child's exit without reaping it first: while it is a zombie its
// process group id cannot be reused, so killing the group is safe.
static void poll_exit(struct job *j)
{
	if (j->exited)
		return;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
		return;
	kill(-j->pid, SIGKILL);	// stragglers holding our pipes
	while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR)
		;
	j->exited = 1;
}

/* ---- checking -------------------------------------------------------- */

struct lines {
	char **v;
	size_t n;
	int unterminated;	// last line had no newline
};

static struct lines split_lines(const struct buf *b)
{
	struct lines l = { 0 };
	const char *p = b->p ? b->p : "";
	const char *end = p + b->n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		*(char **)push(&l.v, &l.n, sizeof(char *)) = xstrndup(p, (size_t)(e - p));
		if (!nl)
			l.unterminated = 1;
		p = nl ? nl + 1 : end;
	}
	return l;
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

struct verdict {
	struct test *t;
	int fails;
};

static void fail(struct verdict *v, const char *fmt, ...)
{
	if (v->fails++ >= MAX_DIAGS)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_printf(&v->t->report, "# %s\n", msg);	// newline kept even if msg was cut
}

// Copies [s] into [dst] (CLIP + 4 bytes), cut with "..." when too long.
static const char *clip(char *dst, const char *s)
{
	size_t n = strlen(s);
	if (n <= CLIP)
		return s;
	memcpy(dst, s, CLIP);
	memcpy(dst + CLIP, "...", 4);
	return dst;
}

static int indented(const char *s)
{
	return *s == '\t' || *s == ' ';
}

// "FILE:LINE:COL: message" where FILE ends with the test's basename: answers
// LINE, or 0 when [s] is not such a diagnostic.
static int diag_line(const char *s, const char *base)
{
	for (const char *p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
		const char *q = p + 1;
		int ln = 0, digits = 0;
		while (*q >= '0' && *q <= '9' && ln < 100000000)
			ln = ln * 10 + (*q++ - '0'), digits++;
		if (!digits || *q != ':')
			continue;
		const char *c = q + 1;
		while (*c >= '0' && *c <= '9')
			c++;
		if (c == q + 1 || *c != ':')
			continue;
		size_t bl = strlen(base), fl = (size_t)(p - s);
		if (fl >= bl && memcmp(p - bl, base, bl) == 0 && (fl == bl || p[-(long)bl - 1] == '/'))
			return ln;
	}
	return 0;
}

// A frame line "\tat Class>>sel (FILE:LINE)": does it name [base]:[line]?
static int frame_names(const char *s, const char *base, int line)
{
	const char *open = strrchr(s, '(');
	if (!open)
		return 0;
	const char *close = strchr(open, ')');
	const char *colon = close ? memrchr(open, ':', (size_t)(close - open)) : NULL;
	if (!colon)
		return 0;
	int n;
	char *num = xstrndup(colon + 1, (size_t)(close - colon - 1));
	int ok = parse_int(num, &n) == 0 && n == line;
	free(num);
	size_t bl = strlen(base), fl = (size_t)(colon - open - 1);
	return ok && fl >= bl && memcmp(colon - bl, base, bl) == 0 && (fl == bl || colon[-(long)bl - 1] == '/');
}

// Marks the stack-trace lines that follow line [i] as accounted for.
static size_t take_trace(struct lines *e, char *used, size_t i)
{
	size_t k = i + 1;
	while (k < e->n && indented(e->v[k]))
		used[k++] = 1;
	return k;
}

static void check_stdout(struct verdict *v, struct lines *o)
{
	struct test *t = v->t;
	char c1[CLIP + 4], c2[CLIP + 4];
	size_t n = o->n < t->nout ? o->n : t->nout;
	for (size_t i = 0; i < n; i++)
		if (strcmp(o->v[i], t->out[i].text) != 0)
			fail(v, "stdout line %zu: expected '%s' (line %d), got '%s'", i + 1,
			     clip(c1, t->out[i].text), t->out[i].line, clip(c2, o->v[i]));
	for (size_t i = n; i < t->nout; i++)
		fail(v, "stdout ended: missing '%s' (line %d)", clip(c1, t->out[i].text), t->out[i].line);
	for (size_t i = n; i < o->n; i++)
		fail(v, "stdout line %zu: unexpected '%s'", i + 1, clip(c1, o->v[i]));
	t->checked += (unsigned)t->nout;
}

static void check_stderr(struct verdict *v, struct lines *e)
{
	struct test *t = v->t;
	char c1[CLIP + 4];
	char *used = xrealloc(NULL, e->n + 1);
	memset(used, 0, e->n + 1);

	if (t->nerrs) {
		int first = 1;
		for (size_t i = 0; i < e->n; i++) {
			int ln = diag_line(e->v[i], t->base);
			if (!ln)
				continue;
			used[i] = 1;
			int expected = 0;
			for (size_t k = 0; k < t->nerrs; k++)
				expected |= t->errs[k] == ln;
			// Later diagnostics may be error-recovery fallout: only the first must be ours.
			if (first && !expected)
				fail(v, "first compile error reported on line %d, not an expected line", ln);
			first = 0;
		}
		for (size_t k = 0; k < t->nerrs; k++) {
			int seen = 0;
			for (size_t i = 0; i < e->n; i++)
				seen |= diag_line(e->v[i], t->base) == t->errs[k];
			if (!seen)
				fail(v, "expected a compile error on line %d (FILE:%d:COL: ...)", t->errs[k], t->errs[k]);
		}
		t->checked += (unsigned)t->nerrs;
	}

	for (size_t k = 0; k < t->nserr; k++) {
		size_t i;
		for (i = 0; i < e->n; i++)
			if (!used[i] && strcmp(e->v[i], t->serr[k].text) == 0)
				break;
		if (i == e->n) {
			fail(v, "stderr: missing line '%s' (line %d)", t->serr[k].text, t->serr[k].line);
			continue;
		}
		used[i] = 1;
		take_trace(e, used, i);
	}
	t->checked += (unsigned)t->nserr;
	// Allowed lines are consumed wherever they are; their absence is fine.
	for (size_t k = 0; k < t->nallow; k++)
		for (size_t i = 0; i < e->n; i++)
			if (!used[i] && strcmp(e->v[i], t->allow[k].text) == 0)
				used[i] = 1;

	if (t->rt_msg) {
		size_t i;
		for (i = 0; i < e->n && used[i]; i++)
			;
		if (i == e->n) {
			fail(v, "expected runtime error '%s' (line %d), stderr has none", t->rt_msg, t->rt_line);
		} else if (strcmp(e->v[i], t->rt_msg) != 0) {
			fail(v, "runtime error: expected '%s' (line %d), got '%s'", t->rt_msg, t->rt_line,
			     clip(c1, e->v[i]));
			used[i] = 1;	// said once is enough
			take_trace(e, used, i);
		} else {
			used[i] = 1;
			size_t end = take_trace(e, used, i);
			int named = 0;
			for (size_t k = i + 1; k < end; k++)
				named |= frame_names(e->v[k], t->base, t->rt_line);
			if (!named)
				fail(v, "runtime error: no stack frame names %s:%d", t->base, t->rt_line);
		}
		t->checked += 2;
	}

	for (size_t i = 0; i < e->n; i++)
		if (!used[i])
			fail(v, "stderr: unexpected '%s'", clip(c1, e->v[i]));
	free(used);
}

static int expected_exit(const struct test *t)
{
	if (t->has_exit)
		return t->exit_code;
	if (t->nerrs)
		return EX_DATAERR;
	return t->rt_msg ? 1 : 0;
}

static void tail(struct test *t, const char *what, struct lines *l, size_t max)
{
	if (!l->n || !max)
		return;
	char c[CLIP + 4];
	size_t from = l->n > max ? l->n - max : 0;
	buf_printf(&t->report, "# --- %s%s ---\n", what, from ? " (tail)" : "");
	for (size_t i = from; i < l->n; i++)
		buf_printf(&t->report, "#   %s\n", clip(c, l->v[i]));
}

static void cmdline(struct test *t)
{
	char **argv = build_argv(t);
	buf_printf(&t->report, "# cmd:");
	for (size_t i = 0; i < t->nenv; i++)
		buf_printf(&t->report, " %s", t->env[i]);
	for (char **a = argv; *a; a++)
		buf_printf(&t->report, " %s", *a);
	if (t->has_stdin)
		buf_printf(&t->report, " < (%zu bytes of stdin)", t->in.n);
	buf_printf(&t->report, "\n");
	free(argv);
}

static void verdict(struct job *j, int number)
{
	struct test *t = j->t;
	struct verdict v = { .t = t };
	struct buf diags = { 0 };
	struct buf keep = t->report;	// diagnostics are collected first, the TAP line goes before them
	t->report = diags;
	t->secs = now() - j->start;

	struct lines o = split_lines(&j->out), e = split_lines(&j->err);
	if (t->timed_out) {
		fail(&v, "timed out after %.0f s (process group killed)", opt.timeout);
	} else if (WIFSIGNALED(j->status)) {
		fail(&v, "killed by signal %d (%s)", WTERMSIG(j->status), strsignal(WTERMSIG(j->status)));
	} else {
		int code = WEXITSTATUS(j->status), want = expected_exit(t);
		if (code != want)
			fail(&v, "exit status: expected %d, got %d", want, code);
		t->checked++;
		check_stdout(&v, &o);
		check_stderr(&v, &e);
	}
	if (j->out.truncated || j->err.truncated)
		fail(&v, "output truncated at %u bytes", CAPTURE_MAX);
	if (v.fails > MAX_DIAGS)
		buf_printf(&t->report, "# ... %d more mismatches\n", v.fails - MAX_DIAGS);
	t->passed = v.fails == 0;
	if (!t->passed || opt.verbose) {
		if (!t->passed && o.unterminated)
			buf_printf(&t->report, "# (stdout does not end with a newline)\n");
		// The mismatches above already quote stdout; -v shows all of it.
		tail(t, "stdout", &o, opt.verbose ? (size_t)-1 : 0);
		tail(t, "stderr", &e, opt.verbose ? (size_t)-1 : STDERR_TAIL);
	}
	if (!t->passed || opt.verbose) {
		cmdline(t);
		buf_printf(&t->report, "# time: %.2f s\n", t->secs);
	}
	diags = t->report;
	t->report = keep;
	buf_printf(&t->report, "%sok %d %s%s\n", t->passed ? "" : "not ", number, t->name,
		   t->timed_out ? " # TIMEOUT" : "");
	if (diags.n)
		buf_add(&t->report, diags.p, diags.n);
	free(diags.p);
	free_lines(&o);
	free_lines(&e);
	free(j->out.p);
	free(j->err.p);
	t->done = 1;
}

/* ---- scheduling ------------------------------------------------------ */

static const char *skip_reason(const struct test *t)
{
	if (t->skip)
		return t->skip;
	if (t->skip_gc_stress && opt.gc_stress)
		return "gc-stress";
	return NULL;
}

static void finish_early(struct test *t, int number)
{
	const char *why = skip_reason(t);
	if (t->bad) {
		buf_printf(&t->report, "not ok %d %s\n# bad annotation: %s\n", number, t->name, t->bad);
	} else {
		t->skipped = 1;
		buf_printf(&t->report, "ok %d %s # SKIP %s\n", number, t->name, why);
	}
	t->done = 1;
}

static void run_all(struct test **tests, size_t n)
{
	struct job *jobs = xrealloc(NULL, sizeof *jobs * (size_t)opt.jobs);
	int *busy = xrealloc(NULL, sizeof *busy * (size_t)opt.jobs);
	memset(busy, 0, sizeof *busy * (size_t)opt.jobs);
	size_t next = 0, printed = 0;
	int running = 0;

	while (printed < n) {
		while (running < opt.jobs && next < n) {
			struct test *t = tests[next++];
			if (t->bad || skip_reason(t)) {
				finish_early(t, (int)next);
				continue;
			}
			int slot = 0;
			while (busy[slot])
				slot++;
			start(&jobs[slot], t);
			busy[slot] = (int)next;	// TAP number, never 0
			running++;
		}
		// Results go out in file order, whatever order the jobs finish in.
		while (printed < n && tests[printed]->done) {
			fputs(tests[printed]->report.p, stdout);
			fflush(stdout);
			printed++;
		}
		if (!running)
			continue;

		struct pollfd pfd[3 * 64];
		struct job *owner[3 * 64];
		nfds_t np = 0;
		double t_now = now(), wait_s = 0.05;
		for (int s = 0; s < opt.jobs; s++) {
			if (!busy[s])
				continue;
			struct job *j = &jobs[s];
			int fds[3] = { j->fd_out, j->fd_err, j->fd_in };
			for (int k = 0; k < 3; k++) {
				if (fds[k] < 0 || np >= sizeof pfd / sizeof pfd[0])
					continue;
				pfd[np] = (struct pollfd){ .fd = fds[k], .events = k == 2 ? POLLOUT : POLLIN };
				owner[np++] = j;
			}
			if (j->deadline - t_now < wait_s)
				wait_s = j->deadline - t_now;
		}
		// The 50 ms cap is for noticing exits of children whose pipes are held
		// open by something else; EOF on the pipes wakes us sooner.
		int ms = wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0;
		if (poll(pfd, np, ms) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (nfds_t k = 0; k < np; k++) {
			struct job *j = owner[k];
			if (!pfd[k].revents)
				continue;
			if (pfd[k].fd == j->fd_out)
				drain(&j->fd_out, &j->out);
			else if (pfd[k].fd == j->fd_err)
				drain(&j->fd_err, &j->err);
			else if (pfd[k].fd == j->fd_in)
				feed(j);
		}
		t_now = now();
		for (int s = 0; s < opt.jobs; s++) {
			if (!busy[s])
				continue;
			struct job *j = &jobs[s];
			if (!j->exited && t_now >= j->deadline && !j->t->timed_out) {
				j->t->timed_out = 1;
				kill(-j->pid, SIGKILL);
			}
			poll_exit(j);
			if (j->exited && j->fd_in >= 0) {
				close(j->fd_in);
				j->fd_in = -1;
			}
			if (j->exited && j->fd_out < 0 && j->fd_err < 0) {
				verdict(j, busy[s]);
				busy[s] = 0;
				running--;
			}
		}
	}
	free(jobs);
	free(busy);
}

/* ---- built-in command-line checks ------------------------------------ */

// What a .st file cannot express: how baton treats its own command line.
static struct test *cli_test(const char *name, const char *const *argv, int code)
{
	struct test *t = xrealloc(NULL, sizeof *t);
	memset(t, 0, sizeof *t);
	t->path = xstrdup(name);
	t->name = t->path;
	t->base = xstrdup(name);
	size_t n = 0;
	for (; argv[n]; n++)
		;
	t->argv_override = xrealloc(NULL, (n + 1) * sizeof(char *));
	for (size_t i = 0; i <= n; i++)
		t->argv_override[i] = argv[i] ? xstrdup(argv[i]) : NULL;
	t->exit_code = code;
	t->has_exit = 1;
	return t;
}

static void add_cli_tests(struct test ***tests, size_t *n)
{
	static const char missing[] = "/nonexistent-st-test-dir/missing.st";
	static const char *const a1[] = { missing, NULL };
	struct test *t = cli_test("cli/missing_file_exits_66", a1, EX_NOINPUT);
	struct expect *e = push(&t->serr, &t->nserr, sizeof *e);
	e->line = 0;
	e->text = xstrdup("baton: cannot open '/nonexistent-st-test-dir/missing.st': No such file or directory");
	*(struct test **)push(tests, n, sizeof(struct test *)) = t;

	static const char *const a2[] = { "-e", "(3 + 4) printNl. 'done' displayNl", NULL };
	t = cli_test("cli/eval_option_runs_statements", a2, 0);
	e = push(&t->out, &t->nout, sizeof *e);
	e->line = 0;
	e->text = xstrdup("7");
	e = push(&t->out, &t->nout, sizeof *e);
	e->line = 0;
	e->text = xstrdup("done");
	*(struct test **)push(tests, n, sizeof(struct test *)) = t;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

// Everything is freed so that a sanitizer build of the tool (SAN=1) reports
// real leaks only.
static void free_test(struct test *t)
{
	for (size_t i = 0; i < t->nout; i++)
		free(t->out[i].text);
	for (size_t i = 0; i < t->nserr; i++)
		free(t->serr[i].text);
	for (size_t i = 0; i < t->nallow; i++)
		free(t->allow[i].text);
	free(t->allow);
	free(t->out);
	free(t->serr);
	free(t->errs);
	free_strv(t->args, t->nargs);
	free_strv(t->vmargs, t->nvmargs);
	free_strv(t->env, t->nenv);
	if (t->argv_override) {
		size_t n = 0;
		while (t->argv_override[n])
			n++;
		free_strv(t->argv_override, n);
	}
	free(t->in.p);
	free(t->report.p);
	free(t->rt_msg);
	free(t->skip);
	free(t->bad);
	free(t->base);
	free(t->path);
	free(t);
}

/* ---- main ------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: st-test [-v] [-j N] [--timeout S] [--cli] BATON_BINARY FILE_OR_DIR...\n"
	      "       st-test -l FILE_OR_DIR...\n"
	      "Runs each .st file with BATON_BINARY and checks its expectation comments\n"
	      "(selftests/vm/README.md); prints TAP 13. Exit: 0 all passed, 1 a failure,\n"
	      "4 everything skipped, 2 usage error.\n"
	      "  -v           show command, time and full output of every test\n"
	      "  -j N         run N files at once (default 2); results stay in file order\n"
	      "  --timeout S  per-file timeout in seconds (default $BATON_ST_TIMEOUT or 10)\n"
	      "  --cli        also check baton's command line (missing file -> 66, -e)\n"
	      "  -l           list the test files and their skip reasons, run nothing\n"
	      "BATON_GC_STRESS set (not 0): files marked \"skip-gc-stress\" are skipped.\n",
	      stderr);
	exit(2);
}

static double parse_secs(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > 0))
		die("bad timeout '%s'", s);
	return v;
}

int main(int argc, char **argv)
{
	const char *env = getenv("BATON_ST_TIMEOUT");
	if (env && *env)
		opt.timeout = parse_secs(env);
	env = getenv("BATON_GC_STRESS");
	opt.gc_stress = env && *env && strcmp(env, "0") != 0;

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			opt.verbose = 1;
		else if (strcmp(argv[i], "-l") == 0)
			opt.list = 1;
		else if (strcmp(argv[i], "--cli") == 0)
			opt.cli = 1;
		else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], &opt.jobs) || opt.jobs < 1 || opt.jobs > 64)
				die("-j wants 1..64");
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			opt.timeout = parse_secs(argv[++i]);
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			usage();
	}
	if (!opt.list) {
		if (i >= argc)
			usage();
		opt.baton = argv[i++];
	}
	if (i >= argc && !(opt.cli && !opt.list))
		usage();

	int status = 0;
	struct paths files = { 0 };
	for (; i < argc; i++)
		walk(argv[i], &files, 1);

	struct test **tests = NULL;
	size_t n = 0;
	for (size_t k = 0; k < files.n; k++) {
		struct test *t = load(files.v[k]);
		if (t->nontest)
			free_test(t);	// helpers other tests use: never run on their own
		else
			*(struct test **)push(&tests, &n, sizeof(struct test *)) = t;
	}
	free_strv(files.v, files.n);

	if (opt.list) {
		for (size_t k = 0; k < n; k++) {
			const char *why = skip_reason(tests[k]);
			printf("%s%s%s%s%s\n", tests[k]->path, why ? "  # SKIP " : "", why ? why : "",
			       tests[k]->bad ? "  # BAD " : "", tests[k]->bad ? tests[k]->bad : "");
		}
		goto out;
	}
	if (opt.cli)
		add_cli_tests(&tests, &n);

	signal(SIGPIPE, SIG_IGN);	// a child that exits without reading its stdin
	printf("TAP version 13\n1..%zu\n", n);
	fflush(stdout);
	double t0 = now();
	run_all(tests, n);

	unsigned pass = 0, failn = 0, skip = 0, checked = 0;
	for (size_t k = 0; k < n; k++) {
		checked += tests[k]->checked;
		if (tests[k]->skipped)
			skip++;
		else if (tests[k]->passed)
			pass++;
		else
			failn++;
	}
	// Skips by reason, then failures and timeouts apart, as liburing's runner does.
	for (size_t k = 0; k < n; k++) {
		const char *why = tests[k]->skipped ? skip_reason(tests[k]) : NULL;
		int first = 1;
		for (size_t m = 0; why && m < k; m++)
			if (tests[m]->skipped && strcmp(skip_reason(tests[m]), why) == 0)
				first = 0;
		if (!why || !first)
			continue;
		unsigned count = 0;
		for (size_t m = k; m < n; m++)
			count += tests[m]->skipped && strcmp(skip_reason(tests[m]), why) == 0;
		printf("# skipped (%s): %u\n", why, count);
	}
	for (int pass_timeouts = 0; pass_timeouts < 2; pass_timeouts++)
		for (size_t k = 0; k < n; k++)
			if (!tests[k]->skipped && !tests[k]->passed && tests[k]->timed_out == pass_timeouts)
				printf("# %s: %s\n", pass_timeouts ? "timed out" : "failed", tests[k]->name);
	printf("# expectations checked: %u\n", checked);
	printf("# time: %.1f s (-j %d, timeout %.0f s%s)\n", now() - t0, opt.jobs, opt.timeout,
	       opt.gc_stress ? ", gc stress" : "");
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n", pass, failn, skip);
	status = failn ? 1 : pass == 0 && skip > 0 ? 4 : 0;
out:
	fflush(stdout);
	for (size_t k = 0; k < n; k++)
		free_test(tests[k]);
	free(tests);
	return status;
}
