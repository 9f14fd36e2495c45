/*
 * fuzz_sio.c: libFuzzer harness for Socket.IO packet decoding: sio_parse()
 * of the header, sio_valid_data() of the JSON data, and sio_event_name()
 * on the event arrays that pass, as compliance mode's events run them (the
 * application's events are matched by app.c on the parsed JSON).
 */
#include "config.h"

#include <stdlib.h>

#include "notifier_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_packet	 p;
	char			*copy, name[64];
	const char		*rest;
	size_t			 restlen, i, sum = 0;

	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (sio_parse(copy, size, &p) == 0 && sio_valid_data(&p) &&
	    (p.type == SIO_EVENT || p.type == SIO_BINARY_EVENT) &&
	    sio_event_name(p.data, p.datalen, name, sizeof(name), &rest,
	    &restlen) == 0) {
		for (i = 0; i < restlen; i++)
			sum += (unsigned char)rest[i];
		sum += strlen(name);
	}
	free(copy);
	return sum == (size_t)-1;
}
