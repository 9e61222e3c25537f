// SPDX-License-Identifier: MIT
/*
 * vm/repl.c: the read-eval-print loop on a terminal. Owns the line editor
 * (libedit), the history file and the rule that says when typed lines
 * make a whole statement. Runs each statement as the VM's main program.
 * See Documentation/language.md ("The REPL").
 *
 * libedit's native API (histedit.h) is used rather than its readline
 * emulation: the emulation keeps its editor and history in globals, the
 * native API in objects we own, so nothing here outlives one REPL.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <poll.h>
#include <wchar.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/comp.h"
#include "vm/io/io.h"
#include "vm/repl.h"

#define HISTORY_SIZE 1000

struct repl {
	struct st_vm *vm;
	EditLine *el;
	History *hist;
	char *histfile; /* NULL: no history file */
	struct stmt_scan sc;
	int continued; /* the prompt is for a continuation line */
	int ctrl_c;    /* SIGINT is ours: Ctrl-C interrupts, it does not end the REPL */
};

/* Ctrl-C at the prompt only sets this (the line editor's read then fails
 * with EINTR): a flag of the process, as signal dispositions are. While a
 * statement runs, SIGINT goes to the VM's signal watch instead
 * (vio_sig_repl), which interrupts the statement's process. */
static volatile sig_atomic_t prompt_sigint;
/* ...and a byte on this pipe, which the line reader (read_char) polls with
 * the terminal: the SIGINT may be handled by any thread of the process
 * (libedit re-raises it with kill(0, SIGINT)), and then nothing
 * interrupts the main thread's read(). -1: no pipe (Ctrl-C then only
 * works when it lands on the reading thread). */
static int prompt_pipe[2] = {-1, -1};

static void on_prompt_sigint(int sig)
{
	(void)sig;
	prompt_sigint = 1;
	if (prompt_pipe[1] >= 0) {
		int e = errno;
		ssize_t w = write(prompt_pipe[1], "", 1); /* full: a byte is there already */
		(void)w;
		errno = e;
	}
}

/* libedit's character reader (EL_GETCFN): the terminal's next character,
 * decoded from the locale's multibyte encoding, or -1 with EINTR at a
 * Ctrl-C (el_gets then returns, and the loop sees prompt_sigint). */
static int read_char(EditLine *el, wchar_t *wc)
{
	(void)el;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	for (;;) {
		struct pollfd p[2] = {{.fd = fileno(stdin), .events = POLLIN},
				      {.fd = prompt_pipe[0], .events = POLLIN}};
		if (poll(p, prompt_pipe[0] >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return -1;
		if (prompt_sigint) {
			char b[16];
			while (prompt_pipe[0] >= 0 && read(prompt_pipe[0], b, sizeof b) > 0)
				;
			errno = EINTR;
			return -1;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char c;
		ssize_t n = read(fileno(stdin), &c, 1);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		size_t r = mbrtowc(wc, &c, 1, &st);
		if (r == (size_t)-2)
			continue; /* more bytes of this character to come */
		if (r == (size_t)-1)
			*wc = (unsigned char)c; /* not the locale's encoding: the byte */
		return 1;
	}
}

/* Advances [sc] over one typed line. A character literal ($x) is skipped whole
 * so that $( or $' open nothing; the doubled quote inside a string ('')
 * closes and reopens it, which leaves the state as it should be. */
void stmt_scan_line(struct stmt_scan *sc, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (sc->quote) {
			if (c == sc->quote)
				sc->quote = 0;
			continue;
		}
		switch (c) {
		case '\'':
		case '"':
			sc->quote = c;
			break;
		case '$':
			i++; /* the character itself, whatever it is */
			break;
		case '(': case '[': case '{':
			sc->depth++;
			break;
		case ')': case ']': case '}':
			sc->depth--;
			break;
		default:
			break;
		}
	}
}

int stmt_complete(const struct stmt_scan *sc)
{
	return !sc->quote && sc->depth <= 0;
}

static char *prompt(EditLine *el)
{
	struct repl *r = NULL;
	el_get(el, EL_CLIENTDATA, &r);
	return r && r->continued ? "  > " : "st> ";
}

/* $BATON_HISTORY names the file (empty: no history); otherwise
 * ~/.baton_history, with ~ from $HOME or, failing that, the password
 * database. */
static char *history_path(void)
{
	const char *f = getenv("BATON_HISTORY");
	if (f)
		return *f ? strdup(f) : NULL;
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	size_t n = strlen(home) + sizeof "/.baton_history";
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.baton_history", home);
	return p;
}

static int repl_open(struct repl *r, struct st_vm *vm)
{
	HistEvent ev;
	memset(r, 0, sizeof *r);
	r->vm = vm;
	r->el = el_init("baton", stdin, stdout, stderr);
	r->hist = history_init();
	if (!r->el || !r->hist)
		return -1;
	history(r->hist, &ev, H_SETSIZE, HISTORY_SIZE);
	history(r->hist, &ev, H_SETUNIQUE, 1);
	r->histfile = history_path();
	if (r->histfile)
		history(r->hist, &ev, H_LOAD, r->histfile); /* a missing file is no error */
	el_set(r->el, EL_CLIENTDATA, r);
	el_set(r->el, EL_PROMPT, prompt);
	el_set(r->el, EL_EDITOR, "emacs");
	el_set(r->el, EL_HIST, history, r->hist);
	el_set(r->el, EL_SIGNAL, 1); /* restore the tty if a signal ends us mid-line */
	if (prompt_pipe[0] < 0 && pipe2(prompt_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		prompt_pipe[0] = prompt_pipe[1] = -1;
	el_set(r->el, EL_GETCFN, read_char);
	el_source(r->el, NULL);      /* ~/.editrc, as every libedit program reads */
	return 0;
}

static void repl_close(struct repl *r)
{
	if (r->el)
		el_end(r->el);
	if (r->hist)
		history_end(r->hist);
	free(r->histfile);
}

/* Remembers one typed line, and writes the history file at once, so that
 * a REPL killed by a signal still keeps what was typed before. */
static void remember(struct repl *r, const char *line, int len)
{
	HistEvent ev;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return;
	char *copy = strndup(line, (size_t)len);
	if (!copy)
		return;
	history(r->hist, &ev, H_ENTER, copy);
	free(copy);
	if (r->histfile && history(r->hist, &ev, H_SAVE, r->histfile) < 0 && errno)
		fprintf(stderr, "baton: cannot write history to %s: %s\n", r->histfile,
			strerror(errno));
}

/* A statement that is one expression is run as "(stmt) printNl", so its
 * value is shown, as GNU Smalltalk does; anything else (statements,
 * temporaries, class definitions) does not compile that way and runs as
 * typed. 0 when it is not a single expression. */
static oop echo_form(struct st_vm *vm, const char *text, size_t n)
{
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (!n || n > 65536)
		return 0;
	char *src = malloc(n + 16), err[256];
	if (!src)
		return 0;
	int len = snprintf(src, n + 16, "(%.*s) printNl", (int)n, text);
	oop m = comp_file(vm, "stdin", src, (size_t)len, COMP_REPL, err, sizeof err);
	free(src);
	return m;
}

static void eval(struct repl *r, const char *text, size_t n, void (*run)(struct st_vm *, oop))
{
	char err[512];
	oop m = echo_form(r->vm, text, n);
	if (!m)
		m = comp_file(r->vm, "stdin", text, n, COMP_REPL, err, sizeof err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	if (r->ctrl_c)
		vio_sig_repl(r->vm, 1);
	run(r->vm, m);
	if (r->ctrl_c)
		vio_sig_repl(r->vm, 0);
	st_out_flush(r->vm);
}

/* Appends [n] bytes to the statement being typed. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

void repl_run(struct st_vm *vm, void (*run)(struct st_vm *, oop))
{
	struct repl r;
	char *stmt = NULL;
	size_t len = 0, cap = 0;

	if (repl_open(&r, vm) < 0) {
		fputs("baton: cannot start the line editor\n", stderr);
		repl_close(&r);
		return;
	}
	vm->interactive = 1;
	/* Ctrl-C: not the end (main.c's flush-and-die), unless SIGINT was
	 * ignored when we started (then it stays ignored) */
	struct sigaction old_int, sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_prompt_sigint;
	sigemptyset(&sa.sa_mask);
	r.ctrl_c = sigaction(SIGINT, NULL, &old_int) == 0 && old_int.sa_handler != SIG_IGN &&
		   sigaction(SIGINT, &sa, NULL) == 0;
	for (;;) {
		int n;
		r.continued = len > 0;
		prompt_sigint = 0;
		const char *line = el_gets(r.el, &n);
		if (prompt_sigint) {
			/* Ctrl-C: what was typed is dropped, a new prompt */
			prompt_sigint = 0;
			len = 0;
			r.sc = (struct stmt_scan){0};
			fputc('\n', stdout);
			fflush(stdout);
			continue;
		}
		if (!line || n <= 0)
			break; /* Ctrl-D, or the terminal went away */
		if (!r.continued && strspn(line, " \t\n") == (size_t)n)
			continue;
		remember(&r, line, n);
		if (append(&stmt, &len, &cap, line, (size_t)n) < 0) {
			fputs("baton: out of memory\n", stderr);
			break;
		}
		stmt_scan_line(&r.sc, line, (size_t)n);
		if (!stmt_complete(&r.sc))
			continue;
		eval(&r, stmt, len, run);
		len = 0;
		r.sc = (struct stmt_scan){0};
		if (vm->quit)
			break;
	}
	free(stmt);
	repl_close(&r);
	if (r.ctrl_c)
		sigaction(SIGINT, &old_int, NULL);
	fputc('\n', stdout);
}
