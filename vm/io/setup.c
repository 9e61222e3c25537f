// SPDX-License-Identifier: MIT
/*
 * vm/io/setup.c: what the process needs before it does I/O for a server:
 * the descriptor limit, SIGPIPE, stderr as the journal (vm/io/daemon.c). See Documentation/vm/io.md.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "vm/io/io.h"

/*
 * A server holds one descriptor per connection, so the soft limit is
 * raised to the hard one (BATON_NOFILE=N sets it to N instead: tests of
 * EMFILE). A peer that resets a connection must give EPIPE, not kill the
 * VM: SIGPIPE is ignored (sends add MSG_NOSIGNAL, but a write(2) to a
 * pipe has no such flag).
 */
void vio_setup_process(void)
{
	struct rlimit rl;
	const char *n = getenv("BATON_NOFILE");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (n && *n) {
			rlim_t v = (rlim_t)strtoull(n, NULL, 10);
			rl.rlim_cur = v < rl.rlim_max ? v : rl.rlim_max;
		} else {
			rl.rlim_cur = rl.rlim_max;
		}
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	vio_setup_journal();
}
