/*
 * Fuzz target: the PII scrubber (bl_pii_scrub, and bl__pii_scrub_buf into a
 * small buffer as the error module uses it) on arbitrary text, as it runs on
 * request paths and previews.  Each input is also scrubbed repeated up to
 * 256 KiB: a scan that is not linear shows as a timeout (the replay test
 * runs with a time budget per input; libFuzzer with -timeout).
 *
 * Checks beyond "no crash": the output is terminated, a small buffer is
 * never overrun and gets a prefix of the whole result, nothing grows more
 * than the documented 2 ×.
 */
#include "fuzz.h"
#include "internal.h"

#define BIG (256u << 10)

static void check(const char *in)
{
	char *out = NULL;
	if (bl_pii_scrub(in, &out) != BL_OK)
		abort();
	if (strlen(out) > 2 * strlen(in))
		abort();
	char small[40];
	size_t n = bl__pii_scrub_buf(in, small, sizeof small);
	if (n >= sizeof small || small[n] != '\0' || strncmp(small, out, n))
		abort();
	bl_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	size_t len = strlen(in);
	check(in);
	if (len > 0) {
		char *big = malloc(BIG + 1);
		if (big) {
			for (size_t i = 0; i < BIG; i++)
				big[i] = in[i % len];
			big[BIG] = '\0';
			check(big);
			free(big);
		}
	}
	free(in);
	return 0;
}
