# SPDX-License-Identifier: MIT
# Makefile: the single, non-recursive GNU Make build of Baton (library, VM, tools, selftests).
# Owns build/ and its variants (build-san/, build-tsan/, build-debug/...) and nothing
# else. Sources are picked up by wildcard: adding a
# .c file under kernel-iface/, heartbeat/, vm/, tools/ or selftests/<area>/ never needs an
# edit here. See Documentation/build.md (and Documentation/testing.md for make check).
#
# Targets: all (default) check run bench fuzz install uninstall clean deps help
#
# Knobs (make VAR=value):
#   V=1            show full command lines instead of "  CC      file"
#   SAN=1          AddressSanitizer + UBSan build (-O1), into build-san/ instead of build/
#   TSAN=1         ThreadSanitizer build (-O1), into build-tsan/ (not with SAN=1)
#   DEBUG=1        defines BATON_DEBUG: B_ASSERT checks, baton_* argument checks,
#                  own_check() of I1-I7, ST_ROOT balance; appends -debug to the build
#                  directory (build-debug/, build-san-debug/...); combines with the others
#   FUZZ_SECONDS=60  make fuzz: seconds per libFuzzer target (make fuzz FUZZ_SECONDS=600)
#   CC=clang       the compiler (default gcc); GCC >= 12 and clang >= 14 are supported
#   CFLAGS=...     optimisation/debug flags only (default "-O2 -g", SAN=1: "-O1 -g");
#                  -std=gnu11, the warnings, -Werror, -fPIC etc. are always added
#   WERROR=0       do not add -Werror (for trying a newer compiler; CI keeps it on)
#   PREFIX=/usr/local  install prefix; LIBDIR, INCLUDEDIR, BINDIR derive from it
#   DESTDIR=       staging directory prepended to every installed path (packaging)
#   BENCH_FORMAT=table  make bench output: "table" or "tsv" (name<TAB>value<TAB>unit)
#   BENCH=io       make bench runs only these parts: core, vm, io, http, trace, hb, hydra (comma list; default all)
#   RUN_CMD=...    the command make run runs (default: the VM on examples/demo.st, or the
#                  C demo build/tools/demo until the VM exists)
#   TESTS=a b      make check runs only the selftest programs whose name contains a or b
#   BATON_TEST_TIMEOUT=600  make check: per-program timeout in seconds
#
# Runtime switches (environment of the programs; make check/run/bench pass them through):
#   BATON_URING=0        force the io_uring fallbacks (heartbeat: plain blocking read of the
#                        timerfd; kernel-iface/evio: the epoll backend)
#   BATON_TRACE=ftrace   also write every ownership handoff to the ftrace trace_marker
#   BATON_GC_STRESS=1    collect garbage on every allocation
#   BATON_NOFILE=N       the VM's soft descriptor limit (default: raised to the hard one)
#   BATON_TIMEOUT_SCALE=N  multiply every selftest's own timeout (SAN=1, TSAN=1 use 3)
#   BATON_TEST_JOBS=N    make check: programs run at once (default nproc)
#   BATON_STRESS_HANDOFF=1  hand the VM to another thread at every checkpoint

.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.DELETE_ON_ERROR:

VERSION := 0.1.0
SOMAJOR := 0

# "CC ?= gcc" would not work: make predefines CC=cc.
ifeq ($(origin CC),default)
CC := gcc
endif
AR ?= ar
PKG_CONFIG ?= pkg-config
INSTALL ?= install

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
BENCH_FORMAT ?= table
BENCH ?=
WERROR ?= 1

# ---- build variants (infra): SAN=1, TSAN=1, DEBUG=1, FUZZ=1 (make fuzz); each combination
# has its own directory: build, build-san, build-tsan, build-fuzz, build-debug, build-san-debug...
ifeq ($(SAN)$(TSAN),11)
$(error SAN=1 and TSAN=1 cannot be combined: ASan and TSan exclude each other)
endif
ifeq ($(FUZZ),1)
# make fuzz (see the fuzz block below): clang, libFuzzer coverage + ASan + UBSan.
ifeq ($(filter clang%,$(notdir $(CC))),)
override CC := clang
endif
B := build-fuzz
CFLAGS ?= -O1 -g
SAN_FLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined
else ifeq ($(SAN),1)
B := build-san
CFLAGS ?= -O1 -g
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(TSAN),1)
B := build-tsan
CFLAGS ?= -O1 -g
SAN_FLAGS := -fsanitize=thread
else
B := build
CFLAGS ?= -O2 -g
SAN_FLAGS :=
endif
ifeq ($(DEBUG),1)
B := $(B)-debug
DEBUG_FLAGS := -DBATON_DEBUG
else
DEBUG_FLAGS :=
endif
# ---- end of build variants

# pkg-config runs once, and only when a recipe needs it: after tools/deps has had its
# chance to install liburing-dev and libffi-dev, and never for make clean.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags liburing libffi libpcre2-8))$(PKG_CFLAGS)
URING_LIBS = $(eval URING_LIBS := $$(shell $(PKG_CONFIG) --libs liburing))$(URING_LIBS)
VM_PKG_LIBS = $(eval VM_PKG_LIBS := $$(shell $(PKG_CONFIG) --libs libffi libedit libpcre2-8))$(VM_PKG_LIBS)

WARN := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
BATON_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -pthread \
	       -fno-omit-frame-pointer $(SAN_FLAGS)
BATON_CPPFLAGS = -Iinclude -I. $(DEBUG_FLAGS) $(PKG_CFLAGS) $(CPPFLAGS)
BATON_LDFLAGS = -pthread $(SAN_FLAGS) $(LDFLAGS)
# What libbaton needs (and all baton.pc states), then what the Smalltalk VM adds
# (-lgmp: LargeInteger radix conversion and big products, vm/bigint.c).
CORE_LDLIBS = $(URING_LIBS) -lpthread $(LDLIBS)
BATON_LDLIBS = $(VM_PKG_LIBS) -lgmp -ldl -lm $(CORE_LDLIBS)
# Sanitizer runtimes leave symbols undefined in shared objects on purpose.
SO_DEFS := $(if $(SAN_FLAGS),,-Wl,-z,defs)
# Selftests and their dlopen()ed libraries export everything: tests look symbols up.
TEST_CFLAGS := -fvisibility=default

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

# ---------------------------------------------------------------- sources (by wildcard)

# libbaton, the embeddable ownership core: kernel-iface/, heartbeat/ and vm/core/ alone.
LIB_SRCS := $(sort $(wildcard kernel-iface/*.c heartbeat/*.c vm/core/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
# The Smalltalk VM (everything else under vm/): an internal static library that links the
# core like any other embedder, through include/baton.h.
VM_SRCS := $(sort $(filter-out vm/main.c,$(wildcard vm/*.c vm/gc/*.c vm/ffi/*.c vm/io/*.c vm/hydra/*.c)))
VM_OBJS := $(VM_SRCS:%.c=$(B)/obj/%.o)
MAIN_SRC := $(wildcard vm/main.c)
BTOOLS_SRCS := $(sort $(wildcard tools/lib/*.c))
BTOOLS_OBJS := $(BTOOLS_SRCS:%.c=$(B)/obj/%.o)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_PROGS := $(TOOL_SRCS:tools/%.c=$(B)/tools/%)
BENCH_IO_PROGS := $(patsubst bench/io/%.c,$(B)/bench/io/%,$(sort $(wildcard bench/io/*.c)))
ST_LIB_SRCS := $(sort $(wildcard selftests/lib/*.c))
ST_LIB_OBJS := $(ST_LIB_SRCS:%.c=$(B)/obj/%.o)
ST_ALL_SRCS := $(sort $(filter-out selftests/lib/%,$(wildcard selftests/*/*.c)))
ST_SO_SRCS := $(foreach f,$(ST_ALL_SRCS),$(if $(filter lib%,$(notdir $(f))),$(f)))
ST_SRCS := $(filter-out $(ST_SO_SRCS),$(ST_ALL_SRCS))
ST_PROGS := $(ST_SRCS:%.c=$(B)/%)
ST_SOS := $(ST_SO_SRCS:%.c=$(B)/%.so)
ST_OBJS := $(ST_ALL_SRCS:%.c=$(B)/obj/%.o) $(ST_LIB_OBJS)

# Empty groups (no tools/lib/ yet, no library sources yet) simply drop out of link lines.
BATON_A := $(if $(LIB_OBJS),$(B)/libbaton.a)
BATON_SO := $(if $(LIB_OBJS),$(B)/libbaton.so)
BATONVM_A := $(if $(VM_OBJS),$(B)/libbatonvm.a)
BTOOLS_A := $(if $(BTOOLS_OBJS),$(B)/libbtools.a)
BATON_BIN := $(if $(MAIN_SRC),$(B)/baton)

ALL_OBJS := $(LIB_OBJS) $(VM_OBJS) $(MAIN_SRC:%.c=$(B)/obj/%.o) $(BTOOLS_OBJS) \
	    $(TOOL_SRCS:%.c=$(B)/obj/%.o) $(ST_OBJS)

# ---------------------------------------------------------------- top-level targets

.PHONY: all lib tools selftests check run bench bench-deps install uninstall clean deps help FORCE
.PHONY: pictures

all: deps lib $(BATON_BIN) tools selftests

lib: $(BATON_A) $(BATON_SO) $(BATONVM_A)
tools: $(TOOL_PROGS)
selftests: $(ST_PROGS) $(ST_SOS)

# tools/deps exits at once when everything is installed; as root it apt-get installs
# what is missing, otherwise it prints the apt-get line and stops the build.
deps:
	$(Q)CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' bash tools/deps

# Binaries of renamed or deleted tests would otherwise still run: the runner runs every
# executable in $(B)/selftests/*/, so remove the executables this tree no longer builds.
check: all
	$(Q)for f in $(B)/selftests/*/*; do \
		[ -f "$$f" ] && [ -x "$$f" ] || continue; \
		case " $(ST_PROGS) $(ST_SOS) " in *" $$f "*) ;; \
		*) echo "  RM      $$f (no source any more)"; rm -f "$$f" ;; esac; \
	done
	$(Q)SAN='$(SAN)' TSAN='$(TSAN)' BATON_TIMEOUT_SCALE='$(or $(BATON_TIMEOUT_SCALE),$(if $(SAN_FLAGS),3,1))' \
		bash tools/run-selftests $(B) $(TESTS)

ifneq ($(and $(MAIN_SRC),$(wildcard examples/demo.st)),)
RUN_CMD ?= $(B)/baton examples/demo.st --stats
else
RUN_CMD ?= $(B)/tools/demo
endif

run: deps lib $(BATON_BIN) tools
	$(RUN_CMD)

bench: deps bench-deps lib $(BATON_BIN) tools $(ST_SOS) $(BENCH_IO_PROGS) $(B)/bench/io/echo-go \
		$(B)/bench/http/hello-go $(B)/bench/hydra/chan-go $(if $(BATON_BIN),$(B)/baton-notrace)
	$(Q)test -x $(B)/tools/bench || { echo "make bench: no tools/bench.c to build" >&2; exit 1; }
	BENCH_FORMAT='$(BENCH_FORMAT)' BENCH='$(BENCH)' $(B)/tools/bench

# The README's picture: make run's demo under --trace, drawn by tools/trace-timeline.
pictures: deps lib $(BATON_BIN)
	$(B)/baton --trace $(B)/demo-trace.json examples/demo.st --stats
	python3 tools/trace-timeline svg $(B)/demo-trace.json Documentation/pictures/demo-timeline.svg \
		--title 'make run: examples/demo.st (baton --trace, tools/trace-timeline svg)'

# What only make bench needs (golang-go for the Go reference server): not for make check.
bench-deps:
	$(Q)CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' DEPS_BENCH=1 bash tools/deps

# The io benchmarks' own programs (bench/io/): reference servers, load generator, read
# loop. Plain C against libc and liburing, built only by make bench.
$(B)/bench/io/%: bench/io/%.c $(B)/.flags | deps
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(PKG_CFLAGS) -o $@ $< $(URING_LIBS)

# The Go references of the bench rows (bench/io/echo.go, bench/http/hello.go,
# bench/hydra/chan.go): Debian's golang-go, offline, caches inside the build directory. A
# failed build is reported and leaves no binary: those rows then say n/a.
# $(call go_build,DIR,SOURCE,ROWS) builds $@ from DIR/SOURCE.
define go_build
	$(call msg,GO,$<)
	@mkdir -p $(@D)
	$(Q)cd $(1) && GOCACHE='$(abspath $(B))/go/cache' GOPATH='$(abspath $(B))/go/path' \
		GOPROXY=off GOFLAGS= GO111MODULE=off GOTOOLCHAIN=local \
		go build -o '$(abspath $@)' $(2) || \
		{ echo "make bench: go build failed: the Go $(3) say n/a" >&2; rm -f '$(abspath $@)'; }
endef

$(B)/bench/io/echo-go: bench/io/echo.go
	$(call go_build,bench/io,echo.go,rows)

$(B)/bench/http/hello-go: bench/http/hello.go
	$(call go_build,bench/http,hello.go,http rows)

$(B)/bench/hydra/chan-go: bench/hydra/chan.go
	$(call go_build,bench/hydra,chan.go,hydra row)

clean:
	$(call msg,CLEAN,build build-san build-tsan build-fuzz build-*debug)
	$(Q)rm -rf build build-san build-tsan build-fuzz build-debug build-san-debug build-tsan-debug build-fuzz-debug

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' Makefile

# ---------------------------------------------------------------- build rules

# Rebuild everything when the compiler or the flags change (make CC=clang after make):
# the stamp is rewritten only when its content differs, so its mtime is the last change.
FLAGS_SIG = $(CC) | $(BATON_CPPFLAGS) | $(BATON_CFLAGS) | $(BATON_LDFLAGS) | $(BATON_LDLIBS)
$(B)/.flags: FORCE | deps
	@mkdir -p $(@D)
	@echo '$(FLAGS_SIG)' | cmp -s - $@ || echo '$(FLAGS_SIG)' > $@

$(B)/obj/%.o: %.c $(B)/.flags | deps
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_CPPFLAGS) $(BATON_CFLAGS) $(OBJ_XCFLAGS) -MMD -MP -c -o $@ $<

$(ST_OBJS): OBJ_XCFLAGS := $(TEST_CFLAGS)

# The class library (st/kernel/*.st) is compiled into the VM as C strings, generated into
# the build directory; boot.c includes it through -I$(B)/gen.
KERNEL_ST := $(sort $(wildcard st/kernel/*.st))
$(B)/gen/kernel.inc: tools/embed-kernel $(KERNEL_ST)
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q)sh tools/embed-kernel $@ $(KERNEL_ST)
$(B)/obj/vm/boot.o: $(B)/gen/kernel.inc
$(B)/obj/vm/boot.o: OBJ_XCFLAGS := -I$(B)/gen

$(B)/libbaton.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The real file is libbaton.so (soname libbaton.so.0, as installed); the .so.0 link lets
# programs linked against it run from the build tree with LD_LIBRARY_PATH=build.
$(B)/libbaton.so: $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(BATON_LDFLAGS) -shared $(SO_DEFS) -Wl,-soname,libbaton.so.$(SOMAJOR) \
		-o $@ $^ $(CORE_LDLIBS)
	@ln -sf libbaton.so $(B)/libbaton.so.$(SOMAJOR)

$(B)/libbatonvm.a: $(VM_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/libbtools.a: $(BTOOLS_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/baton: $(B)/obj/vm/main.o $(BATONVM_A) $(BATON_A)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BATON_LDFLAGS) -o $@ $^ $(BATON_LDLIBS)

$(TOOL_PROGS): $(B)/tools/%: $(B)/obj/tools/%.o $(BTOOLS_A) $(BATONVM_A) $(BATON_A)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_LDFLAGS) -o $@ $^ $(BATON_LDLIBS)

$(ST_PROGS): $(B)/%: $(B)/obj/%.o $(ST_LIB_OBJS) $(BTOOLS_A) $(BATONVM_A) $(BATON_A)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_LDFLAGS) -rdynamic -o $@ $^ $(BATON_LDLIBS)

# Test libraries (selftests/<area>/lib*.c) are dlopen()ed by tests, never run.
$(ST_SOS): $(B)/%.so: $(B)/obj/%.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_LDFLAGS) -shared -o $@ $^ -lpthread

# make bench only: the VM with its --trace hooks compiled out (-DBATON_NO_TRACE), the
# reference of the trace.off_overhead_pct row (Documentation/core/tracing.md).
NOTRACE_OBJS := $(patsubst %.c,$(B)/obj-notrace/%.o,$(LIB_SRCS) $(VM_SRCS) $(MAIN_SRC))
$(B)/obj-notrace/%.o: %.c $(B)/.flags | deps
	$(call msg,CC,$< (BATON_NO_TRACE))
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_CPPFLAGS) $(BATON_CFLAGS) -DBATON_NO_TRACE $(OBJ_XCFLAGS) -c -o $@ $<
$(B)/obj-notrace/vm/boot.o: $(B)/gen/kernel.inc
$(B)/obj-notrace/vm/boot.o: OBJ_XCFLAGS := -I$(B)/gen
$(B)/baton-notrace: $(NOTRACE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BATON_LDFLAGS) -o $@ $^ $(BATON_LDLIBS)

-include $(ALL_OBJS:.o=.d)

# ---------------------------------------------------------------- install

PC_SED = -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	 -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

# Regenerated whenever PREFIX & co. change, like the flags stamp.
$(B)/baton.pc: baton.pc.in FORCE
	@mkdir -p $(@D)
	@sed $(PC_SED) baton.pc.in > $@.tmp && { cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@; }

HEADERS := $(wildcard include/baton.h)
SUBHEADERS := $(wildcard include/baton/*.h)
# tools/trace-handoffs is a script, or a C tool built into $(B)/tools/.
TRACE_TOOL := $(firstword $(wildcard tools/trace-handoffs) \
	      $(if $(wildcard tools/trace-handoffs.c),$(B)/tools/trace-handoffs))
D := $(DESTDIR)
# The packages (st/packages/**/*.st): baton finds them at run time as
# EXE/../share/baton/packages, so their place follows PREFIX (with BINDIR=PREFIX/bin).
PKGDIR := $(PREFIX)/share/baton/packages
PKG_FILES := $(sort $(shell find st/packages -name '*.st' -type f 2>/dev/null))

install: lib $(BATON_BIN) $(filter $(B)/%,$(TRACE_TOOL)) $(B)/baton.pc
	$(call msg,INSTALL,$(D)$(PREFIX))
	$(Q)$(INSTALL) -d '$(D)$(LIBDIR)/pkgconfig' '$(D)$(INCLUDEDIR)' '$(D)$(BINDIR)'
	$(Q)$(INSTALL) -m 644 $(B)/libbaton.a '$(D)$(LIBDIR)/libbaton.a'
	$(Q)$(INSTALL) -m 755 $(B)/libbaton.so '$(D)$(LIBDIR)/libbaton.so.$(VERSION)'
	$(Q)ln -sf libbaton.so.$(VERSION) '$(D)$(LIBDIR)/libbaton.so.$(SOMAJOR)'
	$(Q)ln -sf libbaton.so.$(SOMAJOR) '$(D)$(LIBDIR)/libbaton.so'
	$(Q)$(INSTALL) -m 644 $(B)/baton.pc '$(D)$(LIBDIR)/pkgconfig/baton.pc'
ifneq ($(HEADERS),)
	$(Q)$(INSTALL) -m 644 $(HEADERS) '$(D)$(INCLUDEDIR)/'
endif
ifneq ($(SUBHEADERS),)
	$(Q)$(INSTALL) -d '$(D)$(INCLUDEDIR)/baton'
	$(Q)$(INSTALL) -m 644 $(SUBHEADERS) '$(D)$(INCLUDEDIR)/baton/'
endif
ifneq ($(BATON_BIN),)
	$(Q)$(INSTALL) -m 755 $(B)/baton '$(D)$(BINDIR)/baton'
endif
ifneq ($(TRACE_TOOL),)
	$(Q)$(INSTALL) -m 755 $(TRACE_TOOL) '$(D)$(BINDIR)/baton-trace-handoffs'
endif
	$(Q)$(INSTALL) -d '$(D)$(PKGDIR)'
	$(Q)for f in $(PKG_FILES); do \
		$(INSTALL) -D -m 644 "$$f" '$(D)$(PKGDIR)'/"$${f#st/packages/}" || exit 1; done

uninstall:
	$(call msg,UNINSTALL,$(D)$(PREFIX))
	$(Q)rm -f '$(D)$(LIBDIR)/libbaton.a' '$(D)$(LIBDIR)/libbaton.so' \
		'$(D)$(LIBDIR)/libbaton.so.$(SOMAJOR)' '$(D)$(LIBDIR)/libbaton.so.$(VERSION)' \
		'$(D)$(LIBDIR)/pkgconfig/baton.pc' '$(D)$(INCLUDEDIR)/baton.h' \
		'$(D)$(BINDIR)/baton' '$(D)$(BINDIR)/baton-trace-handoffs'
	$(Q)rm -rf '$(D)$(INCLUDEDIR)/baton'
	$(Q)for f in $(PKG_FILES); do rm -f '$(D)$(PKGDIR)'/"$${f#st/packages/}"; done
	$(Q)if [ -d '$(D)$(PKGDIR)' ]; then find '$(D)$(PKGDIR)' -depth -type d -empty -delete; fi
	$(Q)rmdir '$(D)$(PREFIX)/share/baton' 2>/dev/null || true

# ---------------------------------------------------------------- fuzz (make fuzz)
# The libFuzzer targets are selftests/fuzz/fuzz_NAME.c. make check builds each as an
# ordinary selftest whose main() replays selftests/fuzz/NAME/ (the regression inputs).
# make fuzz rebuilds the VM with clang into build-fuzz/ (FUZZ=1: tools/deps then
# installs clang), links each target with -fsanitize=fuzzer (-DBATON_LIBFUZZER drops its
# main) and runs it FUZZ_SECONDS seconds on build-fuzz/corpus/NAME/, seeded with the
# regression inputs, selftests/vm/**/*.st and st/kernel/*.st. A finding is written to
# build-fuzz/fuzz/artifacts/ and make fuzz fails; fix it and copy the input to
# selftests/fuzz/NAME/. See Documentation/testing.md (Fuzzing).
FUZZ_SECONDS ?= 60
FUZZ_NAMES := $(patsubst selftests/fuzz/fuzz_%.c,%,$(wildcard selftests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(B)/fuzz/%)
FUZZ_OPTS := -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1

.PHONY: fuzz fuzz-run
fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-run

ifeq ($(FUZZ),1)
$(FUZZ_NAMES:%=$(B)/obj/selftests/fuzz/fuzz_%.o): OBJ_XCFLAGS := $(TEST_CFLAGS) -DBATON_LIBFUZZER

$(FUZZ_BINS): $(B)/fuzz/%: $(B)/obj/selftests/fuzz/fuzz_%.o $(BATONVM_A) $(BATON_A)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BATON_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(BATON_LDLIBS)

fuzz-run: deps lib $(FUZZ_BINS)
	$(Q)ok=0 bad=0; for t in $(FUZZ_NAMES); do \
		c=$(B)/corpus/$$t; mkdir -p $$c $(B)/fuzz/artifacts; \
		cp -f selftests/fuzz/$$t/* $$c/ 2>/dev/null; \
		if [ $$t = compile ]; then \
			for f in $$(find selftests/vm st/kernel -name '*.st'); do \
				cp -f $$f $$c/seed-$$(echo $$f | tr / _); done; fi; \
		echo "  FUZZ    $$t for $(FUZZ_SECONDS) s (corpus $$c)"; \
		BATON_SRC_DIR=$(CURDIR) $(B)/fuzz/$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(B)/fuzz/artifacts/$$t- $$c > $(B)/fuzz/$$t.log 2>&1 && \
			ok=$$((ok + 1)) || { \
			bad=$$((bad + 1)); echo "  FAIL    $$t: see $(B)/fuzz/$$t.log and $(B)/fuzz/artifacts/"; \
			grep -m5 -E 'ERROR|SUMMARY|fuzz:|Test unit written' $(B)/fuzz/$$t.log; }; \
		grep -E '^(stat::number_of_executed_units|#[0-9]+ *DONE)' $(B)/fuzz/$$t.log | sed 's/^/  /'; \
	done; echo "$$ok passed, $$bad failed, 0 skipped"; [ $$bad = 0 ]
endif
