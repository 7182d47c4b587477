/*
 * Standalone replay driver: runs every file given (or every file of every
 * directory given, in name order) through LLVMFuzzerTestOneInput once.  Built
 * with the normal compiler, so the checked-in corpus of each fuzz target is a
 * plain unit test (and runs under ASan+UBSan in the sanitizer build).  A
 * crash, a sanitizer report or a leak fails the test like any other.
 *
 * FUZZ_BUDGET_MS=N: an input that takes longer than N ms fails the run (the
 * time budget of targets whose subject is untrusted text, as libFuzzer's
 * -timeout).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "fuzz.h"

/* Optional, as in libFuzzer. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static long budget_ms; /* 0: none */

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz-driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		fprintf(stderr, "fuzz-driver: %s: cannot read\n", path);
		return -1;
	}
	/* an exact-size copy, so ASan sees reads past the input's end */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	long t0 = mono_ms();
	LLVMFuzzerTestOneInput(exact, len);
	long took = mono_ms() - t0;
	free(exact);
	if (budget_ms && took > budget_ms) {
		fprintf(stderr, "fuzz-driver: %s: took %ld ms, over the budget of %ld ms\n", path, took,
			budget_ms);
		return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, long *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "fuzz-driver: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* ., .., hidden files (.gitkeep) */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path))
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	const char *b = getenv("FUZZ_BUDGET_MS");
	budget_ms = b ? strtol(b, NULL, 10) : 0;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	long count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			fprintf(stderr, "fuzz-driver: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count))
				rc = 1;
		} else if (replay_file(argv[i])) {
			rc = 1;
		} else {
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "fuzz-driver: no inputs replayed (empty corpus?)\n");
		return 1;
	}
	printf("fuzz-driver: replayed %ld input(s)%s\n", count, rc ? " (some unreadable)" : "");
	return rc;
}
