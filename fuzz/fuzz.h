/*
 * Shared by the fuzz targets: the libFuzzer entry point and a splitter for
 * inputs made of several NUL-separated parts.
 */
#ifndef BL_FUZZ_H
#define BL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split data[0..size) at NUL bytes into at most `max` malloc'd,
 * NUL-terminated strings (missing parts are NULL); returns how many. */
static inline size_t fz_split(const uint8_t *data, size_t size, char **parts, size_t max)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i < max; i++)
		parts[i] = NULL;
	for (size_t i = 0; i <= size && n < max; i++) {
		if (i == size || data[i] == '\0') {
			size_t len = i - start;
			char *s = malloc(len + 1);
			if (!s)
				break;
			memcpy(s, data + start, len);
			s[len] = '\0';
			parts[n++] = s;
			start = i + 1;
		}
	}
	return n;
}

static inline void fz_free(char **parts, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		free(parts[i]);
		parts[i] = NULL;
	}
}

#endif
