// SPDX-License-Identifier: MIT
/*
 * probes.c: selftests of the KIF_PROBE macros: the probes are present in
 * the binary's .note.stapsdt, under provider "baton", without semaphores.
 *
 * (That perf sees them and counts hits is tested by running
 * tools/trace-handoffs; see Documentation/core/tracing.md.)
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-iface/probes.h"
#include "selftests/harness.h"

struct t_note {
	char provider[32], name[32], args[128];
	uint64_t semaphore;
};

/* Reads the SDT notes of /proc/self/exe into [out]. Returns the count. */
static int t_sdt_notes(struct t_note *out, int max)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	Elf64_Ehdr eh;
	int n = 0;
	if (!f || fread(&eh, sizeof eh, 1, f) != 1)
		goto out;
	Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof *sh);
	fseek(f, (long)eh.e_shoff, SEEK_SET);
	if (fread(sh, sizeof *sh, eh.e_shnum, f) != eh.e_shnum)
		goto free_sh;
	char *names = malloc(sh[eh.e_shstrndx].sh_size);
	fseek(f, (long)sh[eh.e_shstrndx].sh_offset, SEEK_SET);
	if (fread(names, 1, sh[eh.e_shstrndx].sh_size, f) != sh[eh.e_shstrndx].sh_size)
		goto free_names;
	for (int i = 0; i < eh.e_shnum; i++) {
		if (strcmp(names + sh[i].sh_name, ".note.stapsdt"))
			continue;
		unsigned char *d = malloc(sh[i].sh_size);
		fseek(f, (long)sh[i].sh_offset, SEEK_SET);
		if (fread(d, 1, sh[i].sh_size, f) != sh[i].sh_size) {
			free(d);
			break;
		}
		for (size_t off = 0; off + sizeof(Elf64_Nhdr) <= sh[i].sh_size && n < max;) {
			Elf64_Nhdr *nh = (Elf64_Nhdr *)(d + off);
			unsigned char *desc = d + off + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == 3) { /* NT_STAPSDT: pc, base, semaphore, strings */
				const char *s = (const char *)desc + 24;
				memcpy(&out[n].semaphore, desc + 16, 8);
				snprintf(out[n].provider, sizeof out[n].provider, "%s", s);
				s += strlen(s) + 1;
				snprintf(out[n].name, sizeof out[n].name, "%s", s);
				s += strlen(s) + 1;
				snprintf(out[n].args, sizeof out[n].args, "%s", s);
				n++;
			}
			off += sizeof *nh + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
		}
		free(d);
	}
free_names:
	free(names);
free_sh:
	free(sh);
out:
	if (f)
		fclose(f);
	return n;
}

static __attribute__((noinline)) void t_fire(uint64_t a, uint32_t b)
{
	KIF_PROBE(t_selftest0);
	KIF_PROBE2(t_selftest2, a, b);
	KIF_PROBE4(t_selftest4, a, b, a + 1, b + 1);
}

TEST(probes_are_in_the_binary_without_semaphores)
{
	if (!KIF_HAVE_PROBES)
		SKIP(return, "built without <sys/sdt.h>: probes compile to nothing");
	t_fire(1, 2);
	struct t_note notes[64];
	int n = t_sdt_notes(notes, 64), seen = 0;
	for (int i = 0; i < n; i++) {
		if (strncmp(notes[i].name, "t_selftest", 10))
			continue;
		seen++;
		EXPECT_STREQ("baton", notes[i].provider);
		EXPECT_EQ(0, notes[i].semaphore); /* zero cost: nothing to check */
		TH_LOG("%s:%s args \"%s\"", notes[i].provider, notes[i].name, notes[i].args);
		int nargs = notes[i].args[0] ? 1 : 0;
		for (const char *p = notes[i].args; *p; p++)
			nargs += *p == ' ';
		EXPECT_EQ(notes[i].name[10] - '0', nargs);
	}
	ASSERT_EQ(3, seen);
}

TEST_HARNESS_MAIN
