#!/bin/sh
# SPDX-License-Identifier: MIT
# selftests/repl/run-repl.sh: the REPL on a pseudo-terminal (repl_pty.py), as TAP.
# Usage: selftests/repl/run-repl.sh [BUILD_DIR]
exec python3 "$(dirname "$0")/repl_pty.py" "${1:-build}"
