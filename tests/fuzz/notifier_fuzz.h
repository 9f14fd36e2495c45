/*
 * notifier_fuzz.h: what the notifier's libFuzzer harnesses share: the
 * globals main.c provides to the daemon (compliance-mode settings: no
 * configuration file, no database), and a driver that runs untrusted bytes
 * through a real connection: server_conn_new() on one end of a socket pair,
 * the bytes written to the other end while the event loop runs, then
 * everything closed and freed so that each input starts afresh and leaks
 * show.
 */
#ifndef NOTIFIER_FUZZ_H
#define NOTIFIER_FUZZ_H

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "goip.h"
#include "notifier.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct event_base	*notifier_base;
struct nconf		 nconf;

/* Ids count from 0 again for each input: the seeds can name sessions. */
static unsigned	fuzz_ids;

void
main_random_id(char *buf, size_t sz)
{
	snprintf(buf, sz, "%0*u", (int)sz - 1, fuzz_ids++);
}

int64_t
main_now_ms(void)
{
	return util_now_ms();
}

/* Set up the compliance-mode daemon once. */
static void __attribute__((__unused__))
fuzz_init(void)
{
	if (notifier_base != NULL)
		return;
	log_init("fuzz", 1, LOG_LEVEL_WARN);
	if ((notifier_base = event_base_new()) == NULL)
		abort();
	nconf.compliance = 1;
	nconf.socket_path = "/socket.io/";
	nconf.events_path = "/api/events";
	nconf.ping_interval = 300;
	nconf.ping_timeout = 200;
	nconf.connect_timeout = 1000;
	nconf.max_payload = 1000000;
}

/* Read and discard what the daemon wrote to FD. */
static void __attribute__((__unused__))
fuzz_drain(int fd)
{
	char	buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Send PREFIX and then DATA to a fresh connection, as a client would, and
 * run the loop until the daemon has handled them; then close everything.
 */
static void __attribute__((__unused__))
fuzz_connection(const char *prefix, const uint8_t *data, size_t size)
{
	int	sv[2], i;
	size_t	off = 0;
	ssize_t	n;

	fuzz_init();
	fuzz_ids = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	if (server_conn_new(sv[0], CONN_MAIN, "127.0.0.1") == NULL) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (prefix != NULL && write(sv[1], prefix, strlen(prefix)) !=
	    (ssize_t)strlen(prefix))
		abort();
	for (i = 0; i < 1000 && off < size; i++) {
		if ((n = write(sv[1], data + off, size - off)) > 0)
			off += n;
		event_base_loop(notifier_base, EVLOOP_NONBLOCK);
		fuzz_drain(sv[1]);
	}
	for (i = 0; i < 4; i++) {
		event_base_loop(notifier_base, EVLOOP_NONBLOCK);
		fuzz_drain(sv[1]);
	}
	shutdown(sv[1], SHUT_WR);
	for (i = 0; i < 4; i++) {
		event_base_loop(notifier_base, EVLOOP_NONBLOCK);
		fuzz_drain(sv[1]);
	}
	close(sv[1]);
	server_close_all();
	eio_close_all();
	for (i = 0; i < 4; i++)
		event_base_loop(notifier_base, EVLOOP_NONBLOCK);
	server_close_all();
}

#endif /* NOTIFIER_FUZZ_H */
