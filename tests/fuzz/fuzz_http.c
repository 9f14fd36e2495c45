/*
 * fuzz_http.c: libFuzzer harness for the notifier's HTTP side: the input is
 * what a client sends on one connection (requests, bodies, pipelining),
 * handled by the real http.c (libhttp-parser callbacks, bounds, dispatch)
 * and, behind it, Engine.IO polling and Socket.IO in compliance mode.
 */
#include "config.h"

#include "notifier_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_connection(NULL, data, size);
	return 0;
}
