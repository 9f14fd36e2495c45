/*
 * util_test: RFC 3339 time formatting and parsing, UTF-8 validation,
 * constant-time comparison and log line escaping (lib/util.c, lib/log.c).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "goip.h"

/* Parse S, expecting success and the value WANT (unix ms). */
static void
parse_ok(const char *s, int64_t want)
{
	int64_t	 ms = -42;

	ATF_CHECK_MSG(util_time_parse(s, &ms) == 0, "%s: refused", s);
	ATF_CHECK_MSG(ms == want, "%s: got %lld, want %lld", s,
	    (long long)ms, (long long)want);
}

static void
parse_bad(const char *s)
{
	int64_t	 ms = -42;

	ATF_CHECK_MSG(util_time_parse(s, &ms) == -1, "%s: accepted as %lld",
	    s, (long long)ms);
}

static void
utf8_ok(const char *s, size_t len)
{
	ATF_CHECK_MSG(util_utf8_valid(s, len) == 1, "refused %zu bytes", len);
}

static void
utf8_bad(const char *s, size_t len, const char *what)
{
	ATF_CHECK_MSG(util_utf8_valid(s, len) == 0, "accepted %s", what);
}

ATF_TC(util_time_format__epoch_and_known);
ATF_TC_HEAD(util_time_format__epoch_and_known, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_time_format writes "
	    "toISOString()-style UTC times with milliseconds");
}
ATF_TC_BODY(util_time_format__epoch_and_known, tc)
{
	char	 buf[64];

	ATF_REQUIRE(util_time_format(0, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "1970-01-01T00:00:00.000Z");
	ATF_REQUIRE(util_time_format(1795602898123LL, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "2026-11-25T10:34:58.123Z");
	ATF_REQUIRE(util_time_format(951782400000LL, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "2000-02-29T00:00:00.000Z");
	/* A negative time keeps a positive fraction. */
	ATF_REQUIRE(util_time_format(-1, buf, sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "1969-12-31T23:59:59.999Z");
}

ATF_TC(util_time_format__small_buffer);
ATF_TC_HEAD(util_time_format__small_buffer, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_time_format refuses a buffer "
	    "too small for the whole time");
}
ATF_TC_BODY(util_time_format__small_buffer, tc)
{
	char	 buf[64];

	ATF_CHECK(util_time_format(0, buf, 24) == -1);
	ATF_CHECK(util_time_format(0, buf, 25) == 0);
	ATF_CHECK(util_time_format(0, buf, 1) == -1);
}

ATF_TC(util_time_parse__forms);
ATF_TC_HEAD(util_time_parse__forms, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_time_parse accepts RFC 3339 "
	    "with Z, offsets, fractions and lower-case t/z");
}
ATF_TC_BODY(util_time_parse__forms, tc)
{
	parse_ok("1970-01-01T00:00:00Z", 0);
	parse_ok("2026-11-25T10:14:58Z", 1795601698000LL);
	parse_ok("2026-11-25t10:14:58z", 1795601698000LL);
	parse_ok("2026-11-25T10:14:58.5Z", 1795601698500LL);
	parse_ok("2026-11-25T10:14:58.123Z", 1795601698123LL);
	parse_ok("2026-11-25T10:14:58.123456789Z", 1795601698123LL);
	parse_ok("2026-11-25T12:14:58+02:00", 1795601698000LL);
	parse_ok("2026-11-25T05:14:58-05:00", 1795601698000LL);
	parse_ok("2000-02-29T00:00:00Z", 951782400000LL);
	parse_ok("2024-12-31T23:59:59Z", 1735689599000LL);
	/* A leap second is folded into the second before it. */
	parse_ok("2016-12-31T23:59:60Z", 1483228799000LL);
}

ATF_TC(util_time_parse__rejects);
ATF_TC_HEAD(util_time_parse__rejects, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_time_parse refuses malformed, "
	    "partial and out-of-range times");
}
ATF_TC_BODY(util_time_parse__rejects, tc)
{
	parse_bad("");
	parse_bad("2026-11-25");
	parse_bad("2026-11-25T10:14:58");		/* no zone */
	parse_bad("2026-11-25 10:14:58Z");		/* space */
	parse_bad("2026-11-25T10:14Z");
	parse_bad("2026-11-25T10:14:58ZZ");		/* trailing */
	parse_bad("2026-11-25T10:14:58Z ");
	parse_bad(" 2026-11-25T10:14:58Z");
	parse_bad("2026-13-01T00:00:00Z");
	parse_bad("2026-00-01T00:00:00Z");
	parse_bad("2026-11-00T00:00:00Z");
	parse_bad("2026-11-31T00:00:00Z");
	parse_bad("2026-02-29T00:00:00Z");		/* not a leap year */
	parse_bad("1900-02-29T00:00:00Z");
	parse_bad("2026-11-25T24:00:00Z");
	parse_bad("2026-11-25T10:60:00Z");
	parse_bad("2026-11-25T10:14:61Z");
	parse_bad("1969-12-31T23:59:59Z");		/* before the epoch */
	parse_bad("2026-11-25T10:14:58.Z");		/* empty fraction */
	parse_bad("2026-11-25T10:14:58.1234567890Z");	/* 10 digits */
	parse_bad("2026-11-25T10:14:58+2:00");
	parse_bad("2026-11-25T10:14:58+24:00");
	parse_bad("2026-11-25T10:14:58+02:60");
	parse_bad("2026-11-25T10:14:58+0200");
	parse_bad("2026-1-25T10:14:58Z");
	parse_bad("20261125T101458Z");
	parse_bad("2026-11-25T10:14:5aZ");
	parse_bad("-026-11-25T10:14:58Z");
}

ATF_TC(util_time_parse__round_trip);
ATF_TC_HEAD(util_time_parse__round_trip, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_time_format then "
	    "util_time_parse gives back the same millisecond, over decades");
}
ATF_TC_BODY(util_time_parse__round_trip, tc)
{
	char	 buf[64];
	int64_t	 ms, back;
	int	 i;

	/* Steps of a prime number of ms cover months, days and leap years. */
	for (i = 0, ms = 0; i < 5000; i++, ms += 1000003LL * 1009) {
		ATF_REQUIRE(util_time_format(ms, buf, sizeof(buf)) == 0);
		ATF_REQUIRE_MSG(util_time_parse(buf, &back) == 0, "%s", buf);
		ATF_REQUIRE_MSG(back == ms, "%s: %lld != %lld", buf,
		    (long long)back, (long long)ms);
	}
	ATF_REQUIRE(util_time_format(253402300799999LL, buf,
	    sizeof(buf)) == 0);
	ATF_CHECK_STREQ(buf, "9999-12-31T23:59:59.999Z");
	ATF_REQUIRE(util_time_parse(buf, &back) == 0);
	ATF_CHECK(back == 253402300799999LL);
}

ATF_TC(util_utf8_valid__accepts);
ATF_TC_HEAD(util_utf8_valid__accepts, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_utf8_valid accepts ASCII and "
	    "every well-formed length, at the edges of each range");
}
ATF_TC_BODY(util_utf8_valid__accepts, tc)
{
	static const char pl[] = "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 "
	    "g\xc4\x99\xc5\x9bl\xc4\x85 ja\xc5\xba\xc5\x84";
	static const char ru[] = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
	    "\xd1\x82";
	static const char rocket[] = "\xf0\x9f\x9a\x80";

	utf8_ok("", 0);
	utf8_ok("hello", 5);
	utf8_ok(pl, sizeof(pl) - 1);
	utf8_ok(ru, sizeof(ru) - 1);
	utf8_ok(rocket, 4);
	utf8_ok("\x7f", 1);
	utf8_ok("\xc2\x80", 2);			/* U+0080 */
	utf8_ok("\xdf\xbf", 2);			/* U+07FF */
	utf8_ok("\xe0\xa0\x80", 3);		/* U+0800 */
	utf8_ok("\xed\x9f\xbf", 3);		/* U+D7FF */
	utf8_ok("\xee\x80\x80", 3);		/* U+E000 */
	utf8_ok("\xef\xbf\xbf", 3);		/* U+FFFF */
	utf8_ok("\xf0\x90\x80\x80", 4);		/* U+10000 */
	utf8_ok("\xf4\x8f\xbf\xbf", 4);		/* U+10FFFF */
	/* Only LEN bytes count: a NUL past them is not looked at. */
	utf8_ok("ab\0cd", 2);
}

ATF_TC(util_utf8_valid__rejects);
ATF_TC_HEAD(util_utf8_valid__rejects, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_utf8_valid refuses NUL, stray "
	    "continuations, overlongs, surrogates, truncations and "
	    "code points above U+10FFFF");
}
ATF_TC_BODY(util_utf8_valid__rejects, tc)
{
	utf8_bad("a\0b", 3, "an embedded NUL");
	utf8_bad("\0", 1, "a lone NUL");
	utf8_bad("\x80", 1, "a stray continuation byte");
	utf8_bad("a\xbf", 2, "a stray continuation byte after ASCII");
	utf8_bad("\xc0\x80", 2, "overlong NUL (C0 80)");
	utf8_bad("\xc0\xaf", 2, "overlong / (C0 AF)");
	utf8_bad("\xc1\xbf", 2, "overlong U+007F");
	utf8_bad("\xe0\x80\xaf", 3, "overlong / in 3 bytes");
	utf8_bad("\xe0\x9f\xbf", 3, "overlong U+07FF in 3 bytes");
	utf8_bad("\xf0\x80\x80\xaf", 4, "overlong / in 4 bytes");
	utf8_bad("\xf0\x8f\xbf\xbf", 4, "overlong U+FFFF in 4 bytes");
	utf8_bad("\xed\xa0\x80", 3, "surrogate U+D800");
	utf8_bad("\xed\xbf\xbf", 3, "surrogate U+DFFF");
	utf8_bad("\xed\xa0\xbd\xed\xba\x80", 6, "CESU-8 surrogate pair");
	utf8_bad("\xf4\x90\x80\x80", 4, "U+110000");
	utf8_bad("\xf7\xbf\xbf\xbf", 4, "U+1FFFFF");
	utf8_bad("\xf8\x88\x80\x80\x80", 5, "a 5-byte form");
	utf8_bad("\xfc\x84\x80\x80\x80\x80", 6, "a 6-byte form");
	utf8_bad("\xfe", 1, "byte FE");
	utf8_bad("\xff", 1, "byte FF");
	utf8_bad("\xc3", 1, "a truncated 2-byte form");
	utf8_bad("\xe2\x82", 2, "a truncated 3-byte form");
	utf8_bad("\xf0\x9f\x9a", 3, "a truncated 4-byte form");
	utf8_bad("ok\xf0\x9f\x9a", 5, "a truncated 4-byte form at the end");
	utf8_bad("\xf0\x9f\x9a\x80", 3, "a 4-byte form cut by LEN");
	utf8_bad("\xc3x", 2, "a lead byte followed by ASCII");
	utf8_bad("\xe2\x82x", 3, "a 3-byte form with a bad last byte");
}

ATF_TC(util_ct_equal__basic);
ATF_TC_HEAD(util_ct_equal__basic, tc)
{
	atf_tc_set_md_var(tc, "descr", "util_ct_equal compares every byte, "
	    "wherever the difference is");
}
ATF_TC_BODY(util_ct_equal__basic, tc)
{
	uint8_t	 a[32], b[32];
	int	 i;

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	ATF_CHECK(util_ct_equal(a, b, sizeof(a)));
	ATF_CHECK(util_ct_equal(a, b, 0));
	for (i = 0; i < 32; i++) {
		b[i] ^= 1;
		ATF_CHECK_MSG(!util_ct_equal(a, b, sizeof(a)), "byte %d", i);
		b[i] ^= 1;
	}
}

ATF_TC(log_escape__control_bytes);
ATF_TC_HEAD(log_escape__control_bytes, tc)
{
	atf_tc_set_md_var(tc, "descr", "log_escape turns control bytes, "
	    "backslashes and non-ASCII into escapes so no line can be forged");
}
ATF_TC_BODY(log_escape__control_bytes, tc)
{
	char	 out[256];
	size_t	 n;

	n = log_escape(out, sizeof(out), "plain text", 10);
	ATF_CHECK_STREQ(out, "plain text");
	ATF_CHECK_EQ(n, 10);
	n = log_escape(out, sizeof(out), "a\nb\rc\td", 7);
	ATF_CHECK_STREQ(out, "a\\012b\\015c\\011d");
	ATF_CHECK_EQ(n, strlen(out));
	log_escape(out, sizeof(out), "x\\y", 3);
	ATF_CHECK_STREQ(out, "x\\\\y");
	log_escape(out, sizeof(out), "\x1b[31mred\x7f", 9);
	ATF_CHECK_STREQ(out, "\\033[31mred\\177");
	log_escape(out, sizeof(out), "\xc5\xbc", 2);
	ATF_CHECK_STREQ(out, "\\305\\274");
	/* A NUL inside LEN is escaped too, not a terminator. */
	log_escape(out, sizeof(out), "a\0b", 3);
	ATF_CHECK_STREQ(out, "a\\000b");
	ATF_CHECK(strchr(out, '\n') == NULL);
}

ATF_TC(log_escape__truncates);
ATF_TC_HEAD(log_escape__truncates, tc)
{
	atf_tc_set_md_var(tc, "descr", "log_escape truncates at a whole "
	    "escape and always NUL-terminates within the buffer");
}
ATF_TC_BODY(log_escape__truncates, tc)
{
	char	 out[8];
	size_t	 n;

	memset(out, 'Z', sizeof(out));
	n = log_escape(out, 4, "abcdef", 6);
	ATF_CHECK_STREQ(out, "abc");
	ATF_CHECK_EQ(n, 3);
	ATF_CHECK_EQ(out[4], 'Z');
	memset(out, 'Z', sizeof(out));
	n = log_escape(out, 6, "ab\n", 3);
	/* "ab" fits, "\012" would need 4 more bytes plus the NUL. */
	ATF_CHECK_STREQ(out, "ab");
	ATF_CHECK_EQ(n, 2);
	memset(out, 'Z', sizeof(out));
	n = log_escape(out, 7, "ab\n", 3);
	ATF_CHECK_STREQ(out, "ab\\012");
	ATF_CHECK_EQ(n, 6);
	ATF_CHECK_EQ(log_escape(out, 0, "abc", 3), 0);
	ATF_CHECK_EQ(out[0], 'a');
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, util_time_format__epoch_and_known);
	ATF_TP_ADD_TC(tp, util_time_format__small_buffer);
	ATF_TP_ADD_TC(tp, util_time_parse__forms);
	ATF_TP_ADD_TC(tp, util_time_parse__rejects);
	ATF_TP_ADD_TC(tp, util_time_parse__round_trip);
	ATF_TP_ADD_TC(tp, util_utf8_valid__accepts);
	ATF_TP_ADD_TC(tp, util_utf8_valid__rejects);
	ATF_TP_ADD_TC(tp, util_ct_equal__basic);
	ATF_TP_ADD_TC(tp, log_escape__control_bytes);
	ATF_TP_ADD_TC(tp, log_escape__truncates);
	return atf_no_error();
}
