/*
 * fuzz_ws.c: libFuzzer harness for WebSocket input. The handshake part runs
 * the first line of the input through ws_accept_key() (the key check of
 * the opening handshake); the frame part sends a valid upgrade request to
 * the compliance mode's /socket.io/ and then the whole input as the
 * client's frames, read by wslay as ws.c uses it and handed to Engine.IO
 * and Socket.IO.
 */
#include "config.h"

#include "notifier_fuzz.h"

#define FUZZ_WS_UPGRADE \
	"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" \
	"Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
	"Sec-WebSocket-Version: 13\r\n\r\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	key[128], accept[32];
	size_t	n;

	for (n = 0; n < size && n < sizeof(key) - 1 && data[n] != '\n'; n++)
		key[n] = data[n] == '\0' ? ' ' : (char)data[n];
	key[n] = '\0';
	ws_accept_key(key, accept, sizeof(accept));
	fuzz_connection(FUZZ_WS_UPGRADE, data, size);
	return 0;
}
