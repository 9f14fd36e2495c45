/*
 * fcgi_hello.c: the "hello world" of bench/ingest: a FastCGI responder
 * (libfcgi) that answers every request with a fixed 12-byte body.  Behind
 * the same lighttpd and with the same process count as goip-cgi it is the
 * ceiling of the path before any SQLite or notifier work.  Built by "make
 * bench" (and "make check"); lighttpd spawns it (bench/ingest/run.sh).
 */
#include <fcgiapp.h>

static const char hello_reply[] = "Status: 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 12\r\n"
    "\r\n"
    "hello world\n";

int
main(void)
{
	FCGX_Request	req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(hello_reply, sizeof(hello_reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
