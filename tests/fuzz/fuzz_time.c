/*
 * fuzz_time.c: libFuzzer harness for the small text parsers of lib/util.c:
 * RFC 3339 times (checked to round-trip), UTF-8 validation, log escaping.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 s[128], out[64], esc[512];
	int64_t	 ms, back;

	util_utf8_valid((const char *)data, size);
	log_escape(esc, sizeof(esc), (const char *)data, size);
	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (util_time_parse(s, &ms) == 0 &&
	    util_time_format(ms, out, sizeof(out)) == 0) {
		assert(util_time_parse(out, &back) == 0);
		assert(back == ms);
	}
	return 0;
}
