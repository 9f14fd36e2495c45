/*
 * udpd_packet_test: goip-udpd's datagram parser (udpd/packet.c) on the
 * packets of the public captures and on bad ones, and the CSQ conversion
 * of lib/line.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "goip.h"
#include "udpd.h"

/* Parse the string S (copied, with room for the parser's NUL). */
static int
parse(const char *s, size_t len, struct packet *pk, char *buf,
    const char **why)
{
	memcpy(buf, s, len);
	*why = NULL;
	return packet_parse(buf, len, pk, why);
}

#define PARSE(s, pk, buf, why)	parse((s), sizeof(s) - 1, (pk), (buf), (why))

ATF_TC(packet_parse__keepalive);
ATF_TC_HEAD(packet_parse__keepalive, tc)
{
	atf_tc_set_md_var(tc, "descr", "A keepalive as GoIP firmware sends "
	    "it: fields by key, extra keys skipped, pass: read as the "
	    "password, the trailing ';' and line end ignored");
}
ATF_TC_BODY(packet_parse__keepalive, tc)
{
	struct packet	 pk;
	char		 buf[PACKET_MAX + 1];
	const char	*why;

	ATF_REQUIRE(PARSE("req:17;id:goip1;pass:secret;num:+48500100200;"
	    "signal:23;gsm_status:LOGIN;voip_status:LOGOUT;voip_state:IDLE;"
	    "imei:860000000000001;imsi:260010000000001;"
	    "iccid:89480100000000000001;pro:SIMNET;"
	    "CELLINFO:LAC:FFFF,CELL ID:FFFF;CGATT:Y;\r\n", &pk, buf,
	    &why) == 0);
	ATF_CHECK_EQ(pk.kind, PACKET_FIELDS);
	ATF_CHECK_STREQ(pk.type, "req");
	ATF_CHECK_EQ(pk.n, 17);
	ATF_CHECK_STREQ(pk.f[PF_ID], "goip1");
	ATF_CHECK_STREQ(pk.f[PF_PASSWORD], "secret");
	ATF_CHECK_STREQ(pk.f[PF_NUM], "+48500100200");
	ATF_CHECK_STREQ(pk.f[PF_SIGNAL], "23");
	ATF_CHECK_STREQ(pk.f[PF_GSM_STATUS], "LOGIN");
	ATF_CHECK_STREQ(pk.f[PF_IMEI], "860000000000001");
	ATF_CHECK_STREQ(pk.f[PF_IMSI], "260010000000001");
	ATF_CHECK_STREQ(pk.f[PF_ICCID], "89480100000000000001");
	ATF_CHECK(pk.f[PF_MSG] == NULL);
}

ATF_TC(packet_parse__receive);
ATF_TC_HEAD(packet_parse__receive, tc)
{
	atf_tc_set_md_var(tc, "descr", "A RECEIVE: negative recvid, "
	    "password: spelled out, msg runs to the end with ';' and ':' "
	    "and a line end kept byte-exact, fields in any order");
}
ATF_TC_BODY(packet_parse__receive, tc)
{
	struct packet	 pk;
	char		 buf[PACKET_MAX + 1];
	const char	*why;
	static const char msg[] = "Zażółć; gęślą: jaźń\n";

	ATF_REQUIRE(PARSE("RECEIVE:-1422;password:pw;id:l1;"
	    "srcnum:+4477001122;smscnum:+447785016005;msg:Zażółć; gęślą: "
	    "jaźń\n", &pk, buf, &why) == 0);
	ATF_CHECK_STREQ(pk.type, "RECEIVE");
	ATF_CHECK_EQ(pk.n, -1422);
	ATF_CHECK_STREQ(pk.f[PF_ID], "l1");
	ATF_CHECK_STREQ(pk.f[PF_PASSWORD], "pw");
	ATF_CHECK_STREQ(pk.f[PF_SRCNUM], "+4477001122");
	ATF_REQUIRE(pk.f[PF_MSG] != NULL);
	ATF_CHECK_EQ(pk.msglen, sizeof(msg) - 1);
	ATF_CHECK(memcmp(pk.f[PF_MSG], msg, sizeof(msg) - 1) == 0);
}

ATF_TC(packet_parse__deliver);
ATF_TC_HEAD(packet_parse__deliver, tc)
{
	atf_tc_set_md_var(tc, "descr", "A DELIVER with its sms_no and "
	    "state, and an empty msg");
}
ATF_TC_BODY(packet_parse__deliver, tc)
{
	struct packet	 pk;
	char		 buf[PACKET_MAX + 1];
	const char	*why;

	ATF_REQUIRE(PARSE("DELIVER:9;id:l1;password:pw;sms_no:3;state:0;"
	    "num:+48500111222", &pk, buf, &why) == 0);
	ATF_CHECK_STREQ(pk.f[PF_SMS_NO], "3");
	ATF_CHECK_STREQ(pk.f[PF_STATE], "0");
	ATF_REQUIRE(PARSE("RECEIVE:1;id:l1;password:pw;srcnum:1234;msg:",
	    &pk, buf, &why) == 0);
	ATF_CHECK(pk.f[PF_MSG] != NULL && pk.msglen == 0);
}

ATF_TC(packet_parse__words);
ATF_TC_HEAD(packet_parse__words, tc)
{
	atf_tc_set_md_var(tc, "descr", "Session answers: words after the "
	    "type, and the USSD reply kept whole with its spaces; the '@' "
	    "padding trimmed by packet_ussd_trim()");
}
ATF_TC_BODY(packet_parse__words, tc)
{
	struct packet	 pk;
	char		 buf[PACKET_MAX + 1];
	const char	*why, *r;
	size_t		 len;

	ATF_REQUIRE(PARSE("OK 12 12 7\n", &pk, buf, &why) == 0);
	ATF_CHECK_EQ(pk.kind, PACKET_WORDS);
	ATF_CHECK_STREQ(pk.type, "OK");
	ATF_REQUIRE_EQ(pk.nwords, 3);
	ATF_CHECK_STREQ(pk.w[0], "12");
	ATF_CHECK_STREQ(pk.w[1], "12");
	ATF_CHECK_STREQ(pk.w[2], "7");
	ATF_REQUIRE(PARSE("USSD 5 Balance 5.00 PLN, valid to 2027 a b@@@@",
	    &pk, buf, &why) == 0);
	ATF_CHECK_STREQ(pk.w[0], "5");
	r = pk.rest + (pk.w[1] - pk.w[0]);
	len = packet_ussd_trim(r, pk.rest + pk.restlen - r);
	ATF_CHECK_EQ(len, strlen("Balance 5.00 PLN, valid to 2027 a b"));
	ATF_CHECK(strncmp(r, "Balance 5.00 PLN, valid to 2027 a b", len) ==
	    0);
	ATF_REQUIRE(PARSE("DONE 4", &pk, buf, &why) == 0);
	ATF_CHECK_EQ(pk.nwords, 1);
}

ATF_TC(packet_parse__bad);
ATF_TC_HEAD(packet_parse__bad, tc)
{
	atf_tc_set_md_var(tc, "descr", "Refused: empty, oversized, a bad "
	    "type or number, a field without a colon, a value too long, a "
	    "NUL outside msg, msg over 3000 bytes");
}
ATF_TC_BODY(packet_parse__bad, tc)
{
	static const struct {
		const char	*in;
		const char	*why;
	} bad[] = {
		{ "", "empty" },
		{ "req:x;id:a;", "bad number" },
		{ "req:;id:a;", "bad number" },
		{ "req:99999999999;id:a;", "bad number" },
		{ "1req:1;", "bad type" },
		{ ":1;", "bad type" },
		{ "TOOLONGTYPENAMEXX:1;", "bad type" },
		{ "req:1;id:a;garbage;", "without a colon" },
		{ "\x80\x81 1 2", "bad type" },
	};
	struct packet	 pk;
	char		 buf[PACKET_MAX + 2], big[PACKET_MAX + 2];
	const char	*why;
	size_t		 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_CHECK_MSG(parse(bad[i].in, strlen(bad[i].in), &pk, buf,
		    &why) == -1, "accepted \"%s\"", bad[i].in);
		ATF_CHECK_MSG(why != NULL && strstr(why, bad[i].why) != NULL,
		    "\"%s\": \"%s\", expected \"%s\"", bad[i].in, why,
		    bad[i].why);
	}
	memset(big, 'a', sizeof(big));
	ATF_CHECK(parse(big, PACKET_MAX + 1, &pk, buf, &why) == -1);
	ATF_CHECK_STREQ(why, "oversized");
	n = snprintf(big, sizeof(big), "req:1;id:");
	memset(big + n, 'x', PACKET_VALUE_MAX + 1);
	n += PACKET_VALUE_MAX + 1;
	ATF_CHECK(parse(big, n, &pk, buf, &why) == -1);
	ATF_CHECK_STREQ(why, "field too long");
	n = snprintf(big, sizeof(big), "RECEIVE:1;id:a;msg:");
	memset(big + n, 'x', PACKET_MSG_MAX + 1);
	n += PACKET_MSG_MAX + 1;
	ATF_CHECK(parse(big, n, &pk, buf, &why) == -1);
	ATF_CHECK_STREQ(why, "msg too long");
	ATF_CHECK(PARSE("req:1;id:a\0b;pass:x;", &pk, buf, &why) == -1);
	ATF_CHECK_STREQ(why, "NUL byte");
	ATF_CHECK(PARSE("OK 1\0 2", &pk, buf, &why) == -1);
	ATF_CHECK(PARSE("RECEIVE:1;id:a;password:p;srcnum:1;msg:a\0b", &pk,
	    buf, &why) == 0);
	ATF_CHECK_EQ(pk.msglen, 3);
}

ATF_TC(packet_token_ok__tokens);
ATF_TC_HEAD(packet_token_ok__tokens, tc)
{
	atf_tc_set_md_var(tc, "descr", "Tokens of server packets refuse "
	    "spaces, CR, LF, control bytes and the empty string");
}
ATF_TC_BODY(packet_token_ok__tokens, tc)
{
	ATF_CHECK(packet_token_ok("+48500100200"));
	ATF_CHECK(packet_token_ok("*100#"));
	ATF_CHECK(!packet_token_ok(""));
	ATF_CHECK(!packet_token_ok("a b"));
	ATF_CHECK(!packet_token_ok("a\r"));
	ATF_CHECK(!packet_token_ok("a\nSEND 1 1 +1"));
	ATF_CHECK(!packet_token_ok("a\x7f"));
}

ATF_TC(packet_int__range);
ATF_TC_HEAD(packet_int__range, tc)
{
	atf_tc_set_md_var(tc, "descr", "packet_int takes signed decimals "
	    "within bounds, nothing else");
}
ATF_TC_BODY(packet_int__range, tc)
{
	int64_t	v;

	ATF_CHECK(packet_int("-5", -10, 10, &v) == 0 && v == -5);
	ATF_CHECK(packet_int("10", -10, 10, &v) == 0 && v == 10);
	ATF_CHECK(packet_int("11", -10, 10, &v) == -1);
	ATF_CHECK(packet_int("", -10, 10, &v) == -1);
	ATF_CHECK(packet_int("+1", -10, 10, &v) == -1);
	ATF_CHECK(packet_int(" 1", -10, 10, &v) == -1);
	ATF_CHECK(packet_int("1x", -10, 10, &v) == -1);
	ATF_CHECK(packet_int(NULL, -10, 10, &v) == -1);
}

ATF_TC(line_csq__conversion);
ATF_TC_HEAD(line_csq__conversion, tc)
{
	atf_tc_set_md_var(tc, "descr", "CSQ 0-31 as a percentage and in "
	    "dBm; 99 (unknown) and out of range give none");
}
ATF_TC_BODY(line_csq__conversion, tc)
{
	ATF_CHECK_EQ(line_csq_percent(0), 0);
	ATF_CHECK_EQ(line_csq_percent(31), 100);
	ATF_CHECK_EQ(line_csq_percent(20), 65);
	ATF_CHECK_EQ(line_csq_percent(99), -1);
	ATF_CHECK_EQ(line_csq_percent(-1), -1);
	ATF_CHECK_EQ(line_csq_dbm(0), -113);
	ATF_CHECK_EQ(line_csq_dbm(31), -51);
	ATF_CHECK_EQ(line_csq_dbm(99), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, packet_parse__keepalive);
	ATF_TP_ADD_TC(tp, packet_parse__receive);
	ATF_TP_ADD_TC(tp, packet_parse__deliver);
	ATF_TP_ADD_TC(tp, packet_parse__words);
	ATF_TP_ADD_TC(tp, packet_parse__bad);
	ATF_TP_ADD_TC(tp, packet_token_ok__tokens);
	ATF_TP_ADD_TC(tp, packet_int__range);
	ATF_TP_ADD_TC(tp, line_csq__conversion);
	return atf_no_error();
}
