/*
 * Fuzz target: the .env parser (bl_config_load_file) and the validators of
 * every setting (bl_config_set), on a file holding arbitrary bytes.  The
 * input goes to a memfd, read back through /proc/self/fd like a real file.
 *
 * Properties: a load that fails leaves a usable configuration; every value
 * read back afterwards is one the validators accepted (re-setting it works).
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	int fd = memfd_create("fuzz-env", 0);
	if (fd < 0)
		return 0;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	bl_config *cfg = NULL;
	if (bl_config_new(&cfg) != BL_OK) {
		close(fd);
		return 0;
	}
	(void)bl_config_load_file(cfg, path);
	(void)bl_error_last();
	bl_config *copy = NULL;
	for (size_t i = 0; i < bl_config_count(); i++) {
		const char *k = bl_config_key(i);
		const char *v = bl_config_get(cfg, k);
		if (!v)
			abort(); /* every known setting always has a value */
		(void)bl__config_int(cfg, k);
		(void)bl_config_is_secret(k);
		(void)bl_config_describe(k);
	}
	if (bl_config_copy(&copy, cfg) == BL_OK) {
		for (size_t i = 0; i < bl_config_count(); i++) {
			const char *k = bl_config_key(i);
			if (bl_config_set(copy, k, bl_config_get(cfg, k)) != BL_OK) {
				fprintf(stderr, "fuzz_config: %s holds a value its validator refuses: %s\n",
					k, bl_error_last());
				abort();
			}
		}
		bl_config_free(copy);
	}
	/* the same bytes as one KEY=VALUE through bl_config_set */
	char *line = malloc(size + 1);
	if (line) {
		memcpy(line, data, size);
		line[size] = '\0';
		char *eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			(void)bl_config_set(cfg, line, eq + 1);
		}
		free(line);
	}
	bl_config_free(cfg);
	close(fd);
	return 0;
}
