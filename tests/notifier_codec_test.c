/*
 * notifier_codec_test.c: the pure parts of goip-notifier: the Engine.IO
 * payload codec and handshake, the Socket.IO packet codec, the WebSocket
 * handshake key and frame header, base64, event frames, query strings.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <event2/buffer.h>

#include "goip.h"
#include "notifier.h"

/* What main.c provides to the daemon. */
struct event_base	*notifier_base;
struct nconf		 nconf;

void
main_random_id(char *buf, size_t sz)
{
	memset(buf, 'A', sz - 1);
	buf[sz - 1] = '\0';
}

int64_t
main_now_ms(void)
{
	return 0;
}

struct collect {
	int	 n;
	int	 binary[8];
	char	 text[8][32];
	size_t	 len[8];
};

static int
collect_cb(void *arg, int binary, const char *p, size_t len)
{
	struct collect	*c = arg;

	if (c->n >= 8 || len >= sizeof(c->text[0]))
		return -1;
	c->binary[c->n] = binary;
	memcpy(c->text[c->n], p, len);
	c->text[c->n][len] = '\0';
	c->len[c->n] = len;
	c->n++;
	return 0;
}

ATF_TC(eio_decode_payload__several);
ATF_TC_HEAD(eio_decode_payload__several, tc)
{
	atf_tc_set_md_var(tc, "descr", "A polling payload splits at 0x1e "
	    "and decodes base64 binary packets");
}
ATF_TC_BODY(eio_decode_payload__several, tc)
{
	struct collect	 c;
	const char	*p = "4hello\x1e" "bAQIDBA==\x1e" "2";

	memset(&c, 0, sizeof(c));
	ATF_REQUIRE_EQ(eio_decode_payload(p, strlen(p), collect_cb, &c), 0);
	ATF_REQUIRE_EQ(c.n, 3);
	ATF_CHECK_STREQ(c.text[0], "4hello");
	ATF_CHECK_EQ(c.binary[0], 0);
	ATF_CHECK_EQ(c.binary[1], 1);
	ATF_CHECK_EQ(c.len[1], 4);
	ATF_CHECK(memcmp(c.text[1], "\1\2\3\4", 4) == 0);
	ATF_CHECK_STREQ(c.text[2], "2");
}

ATF_TC(eio_decode_payload__invalid);
ATF_TC_HEAD(eio_decode_payload__invalid, tc)
{
	atf_tc_set_md_var(tc, "descr", "Empty payloads, empty packets and "
	    "bad base64 are refused");
}
ATF_TC_BODY(eio_decode_payload__invalid, tc)
{
	struct collect	c;

	memset(&c, 0, sizeof(c));
	ATF_CHECK_EQ(eio_decode_payload("", 0, collect_cb, &c), -1);
	ATF_CHECK_EQ(eio_decode_payload("4a\x1e", 3, collect_cb, &c), -1);
	ATF_CHECK_EQ(eio_decode_payload("\x1e" "4a", 3, collect_cb, &c), -1);
	ATF_CHECK_EQ(eio_decode_payload("b!!!", 4, collect_cb, &c), -1);
}

ATF_TC(eio_decode_payload__no_body);
ATF_TC_HEAD(eio_decode_payload__no_body, tc)
{
	atf_tc_set_md_var(tc, "descr", "A polling POST without a body (no "
	    "buffer at all) is refused without pointer arithmetic on NULL "
	    "(found by fuzz_http; UBSan reports it in a sanitizer build)");
}
ATF_TC_BODY(eio_decode_payload__no_body, tc)
{
	struct collect	c;

	memset(&c, 0, sizeof(c));
	ATF_CHECK_EQ(eio_decode_payload(NULL, 0, collect_cb, &c), -1);
	ATF_CHECK_EQ(c.n, 0);
}

ATF_TC(eio_handshake_json__fields);
ATF_TC_HEAD(eio_handshake_json__fields, tc)
{
	atf_tc_set_md_var(tc, "descr", "The open packet carries sid, "
	    "upgrades, pingInterval, pingTimeout and maxPayload");
}
ATF_TC_BODY(eio_handshake_json__fields, tc)
{
	char	buf[256];

	nconf.ping_interval = 300;
	nconf.ping_timeout = 200;
	nconf.max_payload = 1000000;
	ATF_REQUIRE(eio_handshake_json(buf, sizeof(buf), "abc", 1) > 0);
	ATF_CHECK_STREQ(buf, "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],"
	    "\"pingInterval\":300,\"pingTimeout\":200,\"maxPayload\":1000000}");
	ATF_REQUIRE(eio_handshake_json(buf, sizeof(buf), "abc", 0) > 0);
	ATF_CHECK(strstr(buf, "\"upgrades\":[]") != NULL);
	ATF_CHECK_EQ(eio_handshake_json(buf, 10, "abc", 0), -1);
}

ATF_TC(sio_parse__event);
ATF_TC_HEAD(sio_parse__event, tc)
{
	atf_tc_set_md_var(tc, "descr", "An EVENT with namespace and ack id");
}
ATF_TC_BODY(sio_parse__event, tc)
{
	struct sio_packet	 p;
	const char		*s = "2/custom,12[\"a\",1]";

	ATF_REQUIRE_EQ(sio_parse(s, strlen(s), &p), 0);
	ATF_CHECK_EQ(p.type, SIO_EVENT);
	ATF_CHECK_EQ(p.nsplen, 7);
	ATF_CHECK(memcmp(p.nsp, "/custom", 7) == 0);
	ATF_CHECK_EQ(p.id, 12);
	ATF_CHECK_EQ(p.datalen, 7);
	ATF_CHECK(sio_valid_data(&p));
}

ATF_TC(sio_parse__binary);
ATF_TC_HEAD(sio_parse__binary, tc)
{
	atf_tc_set_md_var(tc, "descr", "A BINARY_EVENT with attachments "
	    "and a namespace without its comma");
}
ATF_TC_BODY(sio_parse__binary, tc)
{
	struct sio_packet	 p;
	const char		*s = "52-789[\"m\",{\"_placeholder\":true,"
	    "\"num\":0}]";

	ATF_REQUIRE_EQ(sio_parse(s, strlen(s), &p), 0);
	ATF_CHECK_EQ(p.type, SIO_BINARY_EVENT);
	ATF_CHECK_EQ(p.attachments, 2);
	ATF_CHECK_EQ(p.id, 789);
	ATF_CHECK(sio_valid_data(&p));

	ATF_REQUIRE_EQ(sio_parse("0/custom", 8, &p), 0);
	ATF_CHECK_EQ(p.type, SIO_CONNECT);
	ATF_CHECK_EQ(p.nsplen, 7);
	ATF_CHECK(p.data == NULL);
	ATF_CHECK(sio_valid_data(&p));
}

ATF_TC(sio_parse__invalid);
ATF_TC_HEAD(sio_parse__invalid, tc)
{
	atf_tc_set_md_var(tc, "descr", "Unknown types, bad attachments and "
	    "data of the wrong shape are refused");
}
ATF_TC_BODY(sio_parse__invalid, tc)
{
	struct sio_packet	p;

	ATF_CHECK_EQ(sio_parse("abc", 3, &p), -1);
	ATF_CHECK_EQ(sio_parse("", 0, &p), -1);
	ATF_CHECK_EQ(sio_parse("7", 1, &p), -1);
	ATF_CHECK_EQ(sio_parse("5[\"a\"]", 6, &p), -1);
	ATF_CHECK_EQ(sio_parse("51[\"a\"]", 7, &p), -1);
	ATF_REQUIRE_EQ(sio_parse("2{}", 3, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("2abc[\"a\"]", 9, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("2[]", 3, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("2[1]", 4, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("0[]", 3, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("1{}", 3, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("4{}", 3, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
	ATF_REQUIRE_EQ(sio_parse("2[\"a\"] x", 8, &p), 0);
	ATF_CHECK(!sio_valid_data(&p));
}

ATF_TC(sio_event_name__split);
ATF_TC_HEAD(sio_event_name__split, tc)
{
	atf_tc_set_md_var(tc, "descr", "The event name and the text of the "
	    "other arguments are split without re-encoding");
}
ATF_TC_BODY(sio_event_name__split, tc)
{
	char		 name[16];
	const char	*rest, *s = "[\"message\",1,\"2\",{\"3\":[true]}]";
	size_t		 restlen;

	ATF_REQUIRE_EQ(sio_event_name(s, strlen(s), name, sizeof(name),
	    &rest, &restlen), 0);
	ATF_CHECK_STREQ(name, "message");
	ATF_CHECK_EQ(restlen, strlen("1,\"2\",{\"3\":[true]}]"));
	ATF_CHECK(memcmp(rest, "1,\"2\",{\"3\":[true]}]", restlen) == 0);

	ATF_REQUIRE_EQ(sio_event_name("[\"x\"]", 5, name, sizeof(name),
	    &rest, &restlen), 0);
	ATF_CHECK_STREQ(name, "x");
	ATF_CHECK_EQ(restlen, 1);
	ATF_CHECK_EQ(rest[0], ']');
	ATF_CHECK_EQ(sio_event_name("[\"much-too-long-a-name\"]", 24, name,
	    sizeof(name), &rest, &restlen), -1);
}

ATF_TC(ws_accept_key__rfc6455);
ATF_TC_HEAD(ws_accept_key__rfc6455, tc)
{
	atf_tc_set_md_var(tc, "descr", "The example of RFC 6455 section 1.3, "
	    "and malformed keys");
}
ATF_TC_BODY(ws_accept_key__rfc6455, tc)
{
	char	buf[32];

	ATF_REQUIRE_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", buf,
	    sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ATF_CHECK_EQ(ws_accept_key("", buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25j", buf,
	    sizeof(buf)), -1);
	ATF_CHECK_EQ(ws_accept_key("!!!!!!!!!!!!!!!!!!!!!!==", buf,
	    sizeof(buf)), -1);
	ATF_CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", buf, 10), -1);
}

ATF_TC(ws_frame_header__lengths);
ATF_TC_HEAD(ws_frame_header__lengths, tc)
{
	atf_tc_set_md_var(tc, "descr", "7-bit, 16-bit and 64-bit payload "
	    "lengths");
}
ATF_TC_BODY(ws_frame_header__lengths, tc)
{
	unsigned char	h[10];

	ATF_CHECK_EQ(ws_frame_header(h, 1, 5), 2);
	ATF_CHECK(h[0] == 0x81 && h[1] == 5);
	ATF_CHECK_EQ(ws_frame_header(h, 2, 126), 4);
	ATF_CHECK(h[0] == 0x82 && h[1] == 126 && h[2] == 0 && h[3] == 126);
	ATF_CHECK_EQ(ws_frame_header(h, 2, 65535), 4);
	ATF_CHECK(h[2] == 0xff && h[3] == 0xff);
	ATF_CHECK_EQ(ws_frame_header(h, 1, 65536), 10);
	ATF_CHECK(h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0);
}

ATF_TC(frame_new__ws_header);
ATF_TC_HEAD(frame_new__ws_header, tc)
{
	atf_tc_set_md_var(tc, "descr", "A frame carries the header of its "
	    "WebSocket frame right before its payload, for text, binary and "
	    "16-bit lengths");
}
ATF_TC_BODY(frame_new__ws_header, tc)
{
	struct frame	*f;
	char		 big[300];
	const unsigned char *w;

	f = frame_new(0, "4hello", 6);
	ATF_REQUIRE(f != NULL);
	w = (const unsigned char *)f->data - f->wslen;
	ATF_CHECK_EQ(f->wslen, 2);
	ATF_CHECK(w[0] == 0x81 && w[1] == 6);
	ATF_CHECK(memcmp(w + 2, "4hello", 6) == 0);
	frame_unref(f);
	f = frame_new(1, "\1\2\3", 3);
	ATF_REQUIRE(f != NULL);
	w = (const unsigned char *)f->data - f->wslen;
	ATF_CHECK(f->wslen == 2 && w[0] == 0x82 && w[1] == 3);
	frame_unref(f);
	memset(big, 'x', sizeof(big));
	f = frame_printf("4%.*s", (int)sizeof(big), big);
	ATF_REQUIRE(f != NULL);
	ATF_CHECK_EQ(f->len, sizeof(big) + 1);
	w = (const unsigned char *)f->data - f->wslen;
	ATF_CHECK(f->wslen == 4 && w[0] == 0x81 && w[1] == 126 &&
	    w[2] == 1 && w[3] == 45);
	ATF_CHECK(w[4] == '4' && w[5] == 'x');
	frame_unref(f);
}

ATF_TC(frame_cost__allocation);
ATF_TC_HEAD(frame_cost__allocation, tc)
{
	atf_tc_set_md_var(tc, "descr", "A frame costs its allocation as "
	    "glibc rounds it (8-byte header, 16-byte steps, 32 at least), "
	    "not its payload: a 1-byte pong costs far more than a byte");
}
ATF_TC_BODY(frame_cost__allocation, tc)
{
	struct frame	*f;

	ATF_CHECK_EQ(frame_alloc_cost(0), 32);
	ATF_CHECK_EQ(frame_alloc_cost(24), 32);
	ATF_CHECK_EQ(frame_alloc_cost(25), 48);
	ATF_CHECK_EQ(frame_alloc_cost(40), 48);
	ATF_CHECK_EQ(frame_alloc_cost(41), 64);
	f = frame_new(0, "3", 1);
	ATF_REQUIRE(f != NULL);
	ATF_CHECK(frame_cost(f) >= sizeof(*f) + 2);
	ATF_CHECK(frame_cost(f) <= sizeof(*f) + 2 + 8 + 15);
	ATF_CHECK_EQ(frame_cost(f) % 16, 0);
	frame_unref(f);
}

ATF_TC(frame_base64__roundtrip);
ATF_TC_HEAD(frame_base64__roundtrip, tc)
{
	atf_tc_set_md_var(tc, "descr", "Base64 of binary packets round-trips");
}
ATF_TC_BODY(frame_base64__roundtrip, tc)
{
	struct evbuffer	*b = evbuffer_new();
	char		*out;
	size_t		 n;

	ATF_REQUIRE(b != NULL);
	ATF_REQUIRE_EQ(frame_base64("\1\2\3\4", 4, b), 0);
	ATF_CHECK_EQ(evbuffer_get_length(b), 8);
	ATF_CHECK(memcmp(evbuffer_pullup(b, -1), "AQIDBA==", 8) == 0);
	ATF_REQUIRE_EQ(frame_unbase64("AQIDBA==", 8, &out, &n), 0);
	ATF_CHECK_EQ(n, 4);
	ATF_CHECK(memcmp(out, "\1\2\3\4", 4) == 0);
	free(out);
	evbuffer_free(b);
}

ATF_TC(ingest_event_frame__eventid);
ATF_TC_HEAD(ingest_event_frame__eventid, tc)
{
	atf_tc_set_md_var(tc, "descr", "An event is serialized once, with "
	    "eventId added and the recovery offset as last argument");
}
ATF_TC_BODY(ingest_event_frame__eventid, tc)
{
	struct frame	*f;

	f = ingest_event_frame(42, "sms-received", "{\"id\":7}", 8);
	ATF_REQUIRE(f != NULL);
	ATF_CHECK_STREQ(f->data,
	    "42[\"sms-received\",{\"eventId\":42,\"id\":7},\"42\"]");
	ATF_CHECK_EQ(f->event_id, 42);
	frame_unref(f);
	f = ingest_event_frame(3, "x", "{}", 2);
	ATF_REQUIRE(f != NULL);
	ATF_CHECK_STREQ(f->data, "42[\"x\",{\"eventId\":3},\"3\"]");
	frame_unref(f);
}

ATF_TC(http_query_get__decode);
ATF_TC_HEAD(http_query_get__decode, tc)
{
	atf_tc_set_md_var(tc, "descr", "Query parameters are found and "
	    "percent-decoded, and bounded");
}
ATF_TC_BODY(http_query_get__decode, tc)
{
	char	buf[8];

	ATF_CHECK_EQ(http_query_get("EIO=4&transport=polling&t=a%2Fb", "t",
	    buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, "a/b");
	ATF_CHECK_EQ(http_query_get("EIO=4", "EIO", buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, "4");
	ATF_CHECK_EQ(http_query_get("XEIO=4", "EIO", buf, sizeof(buf)), 0);
	ATF_CHECK_EQ(http_query_get("sid=0123456789", "sid", buf,
	    sizeof(buf)), -1);
}

ATF_TC(http_query_get__bad_escape);
ATF_TC_HEAD(http_query_get__bad_escape, tc)
{
	atf_tc_set_md_var(tc, "descr", "A percent sign not followed by two "
	    "hexadecimal digits is kept, not decoded from arbitrary bytes "
	    "(found by fuzz_http: a left shift of a negative value)");
}
ATF_TC_BODY(http_query_get__bad_escape, tc)
{
	char	buf[16];

	ATF_CHECK_EQ(http_query_get("t=%\x91z", "t", buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, "%\x91z");
	ATF_CHECK_EQ(http_query_get("t=%zz%4", "t", buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, "%zz%4");
	ATF_CHECK_EQ(http_query_get("t=%4a%", "t", buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, "J%");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, eio_decode_payload__several);
	ATF_TP_ADD_TC(tp, eio_decode_payload__invalid);
	ATF_TP_ADD_TC(tp, eio_decode_payload__no_body);
	ATF_TP_ADD_TC(tp, http_query_get__bad_escape);
	ATF_TP_ADD_TC(tp, eio_handshake_json__fields);
	ATF_TP_ADD_TC(tp, sio_parse__event);
	ATF_TP_ADD_TC(tp, sio_parse__binary);
	ATF_TP_ADD_TC(tp, sio_parse__invalid);
	ATF_TP_ADD_TC(tp, sio_event_name__split);
	ATF_TP_ADD_TC(tp, ws_accept_key__rfc6455);
	ATF_TP_ADD_TC(tp, ws_frame_header__lengths);
	ATF_TP_ADD_TC(tp, frame_new__ws_header);
	ATF_TP_ADD_TC(tp, frame_cost__allocation);
	ATF_TP_ADD_TC(tp, frame_base64__roundtrip);
	ATF_TP_ADD_TC(tp, ingest_event_frame__eventid);
	ATF_TP_ADD_TC(tp, http_query_get__decode);
	return atf_no_error();
}
