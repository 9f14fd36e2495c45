/*
 * fuzz_udpd_packet.c: libFuzzer harness for goip-udpd's datagram parser
 * (udpd/packet.c): packet_parse() on untrusted bytes, then what the
 * handlers do with the result (numbers, tokens, the USSD trim).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "goip.h"
#include "udpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 buf[PACKET_MAX + 2];
	struct packet	 pk;
	const char	*why, *r;
	int64_t		 v;
	int		 i;

	/* Longer than a datagram udp.c reads: refused as oversized. */
	if (size > PACKET_MAX + 1)
		size = PACKET_MAX + 1;
	memcpy(buf, data, size);
	if (packet_parse(buf, size, &pk, &why) == -1)
		return 0;
	for (i = 0; i < PF__MAX; i++)
		if (pk.f[i] != NULL && i != PF_MSG) {
			packet_int(pk.f[i], INT32_MIN, INT32_MAX, &v);
			packet_token_ok(pk.f[i]);
		}
	if (pk.f[PF_MSG] != NULL)
		util_utf8_valid(pk.f[PF_MSG], pk.msglen);
	for (i = 0; i < pk.nwords; i++)
		packet_int(pk.w[i], INT32_MIN, INT64_MAX, &v);
	if (pk.kind == PACKET_WORDS && pk.nwords > 1) {
		r = pk.rest + (pk.w[1] - pk.w[0]);
		packet_ussd_trim(r, pk.rest + pk.restlen - r);
	}
	return 0;
}
