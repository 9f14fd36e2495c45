/*
 * fuzz_cgi_path.c: libFuzzer harness for goip-cgi's path and query
 * decoding: REQUEST_URI decoding (router_decode), the route after the
 * mount point with the refusal of a second "api" segment (router_route),
 * and query parameters (request_query). The input up to its first NUL is
 * the path; what follows is the query string. Checks that what is
 * accepted keeps the invariants the handlers rely on.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "cgi.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The parameters the handlers ask for, and buffers as small as theirs. */
static const char *const fuzz_names[] = { "limit", "before", "since",
    "deviceId", "direction", "q", "" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request	 req;
	char		*in, full[1024], route[1024], val[65];
	char		*envp[1] = { NULL };
	const char	*query;
	size_t		 i, len;
	int		 rc;

	if ((in = malloc(size + 2)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	in[size + 1] = '\0';
	len = strlen(in);
	query = len < size ? in + len + 1 : in + size;

	if (router_decode(in, full, sizeof(full)) == 0) {
		assert(strlen(full) < sizeof(full));
		if (router_route(full, route, sizeof(route)) == 0) {
			len = strlen(route);
			assert(len < sizeof(route));
			assert(len == 0 || route[len - 1] != '/');
			assert(!router_nested(route));
			assert(strstr(route, "/api/") == NULL);
			assert(strncmp(route, "api/", 4) != 0);
		}
	}

	memset(&req, 0, sizeof(req));
	req.envp = envp;
	req.query = query;
	for (i = 0; i < sizeof(fuzz_names) / sizeof(fuzz_names[0]); i++) {
		memset(val, 'Z', sizeof(val));
		rc = request_query(&req, fuzz_names[i], val, sizeof(val));
		assert(rc >= -1 && rc <= 1);
		if (rc == 1)
			assert(strlen(val) < sizeof(val));
	}
	free(in);
	return 0;
}
