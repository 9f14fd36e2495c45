/*
 * webhook_unit_test: what goip-webhookd parses and builds without a
 * network: endpoint URLs and event lists (lib/webhook.c), the private
 * address table, and the delivery body and its signature
 * (webhookd/sign.c), checked against an HMAC computed by Python's hmac.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "goip.h"
#include "webhookd.h"

static void
url_ok(const char *s, int https, const char *host, int port)
{
	struct webhook_url	 u;
	char			*cause = NULL;

	ATF_CHECK_MSG(webhook_url_parse(s, &u, &cause) == 0, "%s: %s", s,
	    cause != NULL ? cause : "?");
	ATF_CHECK_MSG(u.https == https, "%s: https %d", s, u.https);
	ATF_CHECK_MSG(strcmp(u.host, host) == 0, "%s: host %s", s, u.host);
	ATF_CHECK_MSG(u.port == port, "%s: port %d", s, u.port);
	free(cause);
}

static void
url_bad(const char *s, const char *why)
{
	struct webhook_url	 u;
	char			*cause = NULL;

	ATF_CHECK_MSG(webhook_url_parse(s, &u, &cause) == -1,
	    "%s: accepted", s);
	ATF_CHECK_MSG(cause != NULL && strstr(cause, why) != NULL,
	    "%s: cause \"%s\", want \"%s\"", s, cause != NULL ? cause : "",
	    why);
	free(cause);
}

ATF_TC(url_parse__table);
ATF_TC_HEAD(url_parse__table, tc)
{
	atf_tc_set_md_var(tc, "descr", "webhook_url_parse() takes http and "
	    "https URLs with names, IPv4 and bracketed IPv6 hosts and ports, "
	    "and refuses every other shape with a reason");
}
ATF_TC_BODY(url_parse__table, tc)
{
	char	 long_url[GOIP_WEBHOOK_URL_MAX + 16];

	url_ok("http://example.com/hook", 0, "example.com", 80);
	url_ok("HTTPS://example.com", 1, "example.com", 443);
	url_ok("https://example.com:8443/a?b=c&d=e", 1, "example.com", 8443);
	url_ok("http://192.0.2.7:1/", 0, "192.0.2.7", 1);
	url_ok("http://[2001:db8::1]:65535/x", 0, "2001:db8::1", 65535);
	url_ok("http://a-b.example?x", 0, "a-b.example", 80);
	url_bad("", "http:// or https://");
	url_bad("ftp://example.com/", "http:// or https://");
	url_bad("http:/example.com/", "http:// or https://");
	url_bad("http://", "no host");
	url_bad("http:///path", "no host");
	url_bad("http://:80/", "no host");
	url_bad("http://ex ample.com/", "space");
	url_bad("http://example.com/\x01", "control");
	url_bad("http://example.com/\xc3\xa9", "non-ASCII");
	url_bad("http://u:p@example.com/", "user name");
	url_bad("http://u@example.com/", "user name");
	url_bad("http://example.com:/", "bad port");
	url_bad("http://example.com:0/", "bad port");
	url_bad("http://example.com:65536/", "bad port");
	url_bad("http://example.com:+80/", "bad port");
	url_bad("http://example.com:80a/", "bad port");
	url_bad("http://example.com/#f", "fragment");
	url_bad("http://[::1/", "unclosed");
	url_bad("http://[]/", "IPv6");
	url_bad("http://[zz::1]/", "IPv6");
	url_bad("http://[::1]x/", "bad host");
	url_bad("http://-x.example/", "bad host");
	url_bad("http://ex_ample.com/", "bad host");
	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "http://x/", strlen("http://x/"));
	long_url[sizeof(long_url) - 1] = '\0';
	url_bad(long_url, "longer than");
}

ATF_TC(events_parse__table);
ATF_TC_HEAD(events_parse__table, tc)
{
	atf_tc_set_md_var(tc, "descr", "webhook_events_parse() takes all and "
	    "comma lists of known names, refuses unknown and empty names; "
	    "webhook_events_format() gives the canonical list back");
}
ATF_TC_BODY(events_parse__table, tc)
{
	unsigned int	 m = 0, all = 0;
	char		 buf[256], *cause = NULL;

	ATF_CHECK(webhook_events_parse("all", &all, &cause) == 0);
	ATF_CHECK(all & (1U << EVENT_DEVICE_HEARTBEAT));
	ATF_CHECK((all & (1U << EVENT_STATS_UPDATE)) == 0);
	ATF_CHECK((webhook_events_default() & (1U << EVENT_DEVICE_HEARTBEAT))
	    == 0);
	ATF_CHECK(webhook_events_default() & (1U << EVENT_SMS_RECEIVED));
	ATF_CHECK(webhook_events_parse("sms-status,sms-received", &m,
	    &cause) == 0);
	ATF_CHECK(webhook_events_format(m, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "sms-received,sms-status");
	ATF_CHECK(webhook_events_format(m, buf, 8) == -1);
	ATF_CHECK(webhook_events_format(0, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "");
	ATF_CHECK(webhook_events_parse("sms-received,nope", &m, &cause) == -1);
	ATF_CHECK(cause != NULL && strstr(cause, "\"nope\"") != NULL);
	free(cause);
	cause = NULL;
	ATF_CHECK(webhook_events_parse("stats-update", &m, &cause) == -1);
	free(cause);
	cause = NULL;
	ATF_CHECK(webhook_events_parse("", &m, &cause) == -1);
	free(cause);
	cause = NULL;
	ATF_CHECK(webhook_events_parse("sms-received,,sms-status", &m,
	    &cause) == -1);
	ATF_CHECK(cause != NULL && strstr(cause, "empty") != NULL);
	free(cause);
	cause = NULL;
	ATF_CHECK(webhook_events_parse("sms-receivedX", &m, &cause) == -1);
	free(cause);
}

static int
private4(const char *a)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ATF_REQUIRE(inet_pton(AF_INET, a, &sin.sin_addr) == 1);
	return webhook_addr_private((struct sockaddr *)&sin);
}

static int
private6(const char *a)
{
	struct sockaddr_in6	 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ATF_REQUIRE(inet_pton(AF_INET6, a, &sin6.sin6_addr) == 1);
	return webhook_addr_private((struct sockaddr *)&sin6);
}

ATF_TC(addr_private__table);
ATF_TC_HEAD(addr_private__table, tc)
{
	atf_tc_set_md_var(tc, "descr", "webhook_addr_private() refuses "
	    "loopback, private, link-local, shared, multicast and reserved "
	    "addresses of both families, IPv4 embedded in IPv6 included, and "
	    "lets public ones through");
}
ATF_TC_BODY(addr_private__table, tc)
{
	static const char *const priv4[] = { "127.0.0.1", "127.255.0.9",
	    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
	    "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
	    "255.255.255.255", "198.18.0.1", "192.0.0.8" };
	static const char *const pub4[] = { "8.8.8.8", "172.32.0.1",
	    "172.15.255.255", "100.128.0.1", "192.0.2.1", "1.1.1.1",
	    "223.255.255.255", "169.253.0.1" };
	static const char *const priv6[] = { "::1", "::", "fe80::1",
	    "fd00::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
	    "::ffff:10.1.2.3", "64:ff9b::a9fe:a9fe", "2002:c0a8:0101::1",
	    "febf::1", "fec0::1" };
	static const char *const pub6[] = { "2001:4860:4860::8888",
	    "::ffff:8.8.8.8", "2002:0808:0808::1", "fe00::1", "2a00::1" };
	size_t	 i;

	for (i = 0; i < sizeof(priv4) / sizeof(priv4[0]); i++)
		ATF_CHECK_MSG(private4(priv4[i]) == 1, "%s", priv4[i]);
	for (i = 0; i < sizeof(pub4) / sizeof(pub4[0]); i++)
		ATF_CHECK_MSG(private4(pub4[i]) == 0, "%s", pub4[i]);
	for (i = 0; i < sizeof(priv6) / sizeof(priv6[0]); i++)
		ATF_CHECK_MSG(private6(priv6[i]) == 1, "%s", priv6[i]);
	for (i = 0; i < sizeof(pub6) / sizeof(pub6[0]); i++)
		ATF_CHECK_MSG(private6(pub6[i]) == 0, "%s", pub6[i]);
}

ATF_TC(sign__body_and_hmac);
ATF_TC_HEAD(sign__body_and_hmac, tc)
{
	atf_tc_set_md_var(tc, "descr", "sign_body() puts eventId first into "
	    "the stored payload as Socket.IO does, copes with empty and bad "
	    "payloads; sign_hmac() matches an HMAC-SHA256 computed by Python");
}
ATF_TC_BODY(sign__body_and_hmac, tc)
{
	char	*b, hex[SIGN_HEX_LEN + 1];
	size_t	 len;

	b = sign_body(7, "sms-received", "{\"id\":3}", strlen("{\"id\":3}"),
	    &len);
	ATF_REQUIRE(b != NULL);
	ATF_CHECK_STREQ(b, "{\"eventId\":7,\"event\":\"sms-received\","
	    "\"data\":{\"eventId\":7,\"id\":3}}");
	ATF_CHECK_EQ(len, strlen(b));
	sign_hmac("s3cret", "1700000000", b, len, hex);
	ATF_CHECK_STREQ(hex, "907aa4fad5f02a1211934c7a43577b8aad05dc1506b286"
	    "978356377963304ca3");
	free(b);
	b = sign_body(1, "ping", " { } ", strlen(" { } "), &len);
	ATF_REQUIRE(b != NULL);
	ATF_CHECK_STREQ(b, "{\"eventId\":1,\"event\":\"ping\","
	    "\"data\":{\"eventId\":1} }");
	free(b);
	b = sign_body(2, "x", "[1]", strlen("[1]"), &len);
	ATF_REQUIRE(b != NULL);
	ATF_CHECK_STREQ(b, "{\"eventId\":2,\"event\":\"x\","
	    "\"data\":{\"eventId\":2}}");
	free(b);
	b = sign_body(3, "x", "", 0, &len);
	ATF_REQUIRE(b != NULL);
	ATF_CHECK_STREQ(b, "{\"eventId\":3,\"event\":\"x\","
	    "\"data\":{\"eventId\":3}}");
	free(b);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, url_parse__table);
	ATF_TP_ADD_TC(tp, events_parse__table);
	ATF_TP_ADD_TC(tp, addr_private__table);
	ATF_TP_ADD_TC(tp, sign__body_and_hmac);
	return atf_no_error();
}
