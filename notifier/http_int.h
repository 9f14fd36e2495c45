/*
 * http_int.h: what http.c (parsing, dispatch, answers) and http_trust.c
 * (who may ask) share about the request being read, and nobody else
 * needs.
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include <http_parser.h>

/* The request headers the notifier keeps (http.c's table, http_hdrs). */
enum http_hdr {
	HDR_NONE,
	HDR_ORIGIN,
	HDR_HOST,
	HDR_WSKEY,
	HDR_WSVER,
	HDR_SECRET,
	HDR_XFF
};

/* What the parser keeps of the request being read. */
struct http_req {
	http_parser	 parser;
	char		 url[NOTIFIER_URL_MAX + 1];
	size_t		 urllen;
	size_t		 hdrbytes;
	char		 field[32];
	size_t		 fieldlen;
	int		 hdr;		/* header being read */
	char		 origin[256];
	char		 host[256];
	char		 wskey[64];
	char		 wsver[8];
	char		 secret[256];	/* X-Goip-Proxy-Secret */
	int		 seen;		/* bit per enum http_hdr seen */
	char		 xff[64];	/* last X-Forwarded-For hop */
	int		 xffbad;	/* that hop did not fit */
};

/* http_trust.c */
void		 http_trust_xff_add(struct http_req *, const char *, size_t);
void		 http_trust_client(struct conn *);
int		 http_trust_check(struct conn *);
int		 http_trust_cors_ok(struct conn *);
int		 http_trust_cors_add(struct conn *, struct evbuffer *);

#endif /* HTTP_INT_H */
