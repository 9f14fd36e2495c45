/*
 * fcgi_hello.c: the "hello world" of bench/ingest: a FastCGI responder
 * (libfcgi) that answers every request with a fixed 12-byte body.  Behind
 * the same lighttpd and with the same process count as goip-cgi it is the
 * ceiling of the path before any SQLite or notifier work.  Built by "make
 * bench" (and "make check"); lighttpd spawns it (bench/ingest/run.sh).
 */
#include <stdio.h>

#include <fcgiapp.h>

#define HELLO_BODY	"hello world\n"

int
main(void)
{
	FCGX_Request	req;
	char		reply[128];
	int		len;

	len = snprintf(reply, sizeof(reply), "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	    sizeof(HELLO_BODY) - 1, HELLO_BODY);
	if (len < 0 || (size_t)len >= sizeof(reply))
		return 1;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, len, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
