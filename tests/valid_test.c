/*
 * valid_test: parsing untrusted JSON (lib/jsonin.c) and the declared
 * validation of heartbeats, received and outbound SMS, phone numbers and
 * SMS segment counting (lib/valid.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <json-c/json.h>

#include "goip.h"

enum kind { HEARTBEAT, SMS_IN, SMS_OUT };

/* Parse TEXT with jsonin_parse, failing the case when it is refused. */
static struct json_object *
parse(const char *text)
{
	struct json_object	*o;
	const char		*why = NULL;

	o = jsonin_parse(text, strlen(text), &why);
	if (o == NULL)
		atf_tc_fail("jsonin_parse refused %s: %s", text, why);
	return o;
}

/* Expect jsonin_parse to refuse the LEN bytes at TEXT with WHY inside. */
static void
parse_bad(const char *text, size_t len, const char *why)
{
	struct json_object	*o;
	const char		*got = NULL;

	o = jsonin_parse(text, len, &got);
	if (o != NULL) {
		json_object_put(o);
		atf_tc_fail("jsonin_parse accepted %.80s", text);
	}
	ATF_CHECK_MSG(got != NULL && strstr(got, why) != NULL,
	    "%.80s: reason \"%s\", expected \"%s\"", text, got, why);
}

static int
run(enum kind k, struct json_object *o, struct verr *err, void *out)
{
	memset(err, 0, sizeof(*err));
	switch (k) {
	case HEARTBEAT:
		return valid_heartbeat(o, out, err);
	case SMS_IN:
		return valid_sms_in(o, out, err);
	case SMS_OUT:
		return valid_sms_out(o, out, err);
	}
	return -1;
}

/* Expect the body TEXT of kind K to be refused for FIELD with MSG. */
static void
bad(enum kind k, const char *text, const char *field, const char *msg)
{
	union {
		struct heartbeat	hb;
		struct sms_in		in;
		struct sms_out		out;
	}			 u;
	struct json_object	*o;
	struct verr		 err;

	o = parse(text);
	if (run(k, o, &err, &u) != -1) {
		json_object_put(o);
		atf_tc_fail("accepted %s", text);
	}
	ATF_CHECK_MSG(strcmp(err.field, field) == 0,
	    "%s: field \"%s\", expected \"%s\"", text, err.field, field);
	ATF_CHECK_MSG(err.msg != NULL && strstr(err.msg, msg) != NULL,
	    "%s: message \"%s\", expected \"%s\"", text, err.msg, msg);
	json_object_put(o);
}

/* A heartbeat from DESIGN.md section 3. */
static const char HB_FULL[] = "{\"deviceId\": \"goip-01\", \"battery\": 87, "
    "\"charging\": true, \"signal\": 74, \"firmware\": \"GST1610-1.01\", "
    "\"uptime\": 86400, \"extra\": {\"ignored\": [1, 2]}, "
    "\"simSlots\": [{\"slot\": 1, \"status\": \"ready\", \"operator\": "
    "\"PLAY\", \"phoneNumber\": \"+48500100200\", \"iccid\": "
    "\"8948000000000000001\", \"imsi\": \"260060000000001\", \"signal\": 71, "
    "\"registration\": \"home\"}, {\"slot\": 2, \"status\": \"absent\"}]}";

ATF_TC(valid_heartbeat__full);
ATF_TC_HEAD(valid_heartbeat__full, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_heartbeat fills every field "
	    "of the documented heartbeat and ignores unknown keys");
}
ATF_TC_BODY(valid_heartbeat__full, tc)
{
	struct json_object	*o;
	struct heartbeat	 hb;
	struct verr		 err;

	o = parse(HB_FULL);
	ATF_REQUIRE_MSG(run(HEARTBEAT, o, &err, &hb) == 0, "%s: %s",
	    err.field, err.msg);
	ATF_CHECK_STREQ(hb.device_id, "goip-01");
	ATF_CHECK_EQ(hb.battery, 87);
	ATF_CHECK_EQ(hb.charging, 1);
	ATF_CHECK_EQ(hb.signal, 74);
	ATF_CHECK_STREQ(hb.firmware, "GST1610-1.01");
	ATF_CHECK_EQ(hb.uptime, 86400);
	ATF_REQUIRE_EQ(hb.nslots, 2);
	ATF_CHECK_EQ(hb.slots[0].slot, 1);
	ATF_CHECK_STREQ(hb.slots[0].status, "ready");
	ATF_CHECK_STREQ(hb.slots[0].operator, "PLAY");
	ATF_CHECK_STREQ(hb.slots[0].phone, "+48500100200");
	ATF_CHECK_STREQ(hb.slots[0].iccid, "8948000000000000001");
	ATF_CHECK_STREQ(hb.slots[0].imsi, "260060000000001");
	ATF_CHECK_EQ(hb.slots[0].signal, 71);
	ATF_CHECK_STREQ(hb.slots[0].registration, "home");
	ATF_CHECK_EQ(hb.slots[1].slot, 2);
	ATF_CHECK_STREQ(hb.slots[1].status, "absent");
	ATF_CHECK(hb.slots[1].operator == NULL);
	ATF_CHECK(hb.slots[1].registration == NULL);
	ATF_CHECK_EQ(hb.slots[1].signal, -1);
	json_object_put(o);
}

ATF_TC(valid_heartbeat__minimal_and_nulls);
ATF_TC_HEAD(valid_heartbeat__minimal_and_nulls, tc)
{
	atf_tc_set_md_var(tc, "descr", "an empty heartbeat is valid; absent "
	    "and null fields read as -1/NULL; simSlots absent or null keeps "
	    "the stored slots, [] clears them");
}
ATF_TC_BODY(valid_heartbeat__minimal_and_nulls, tc)
{
	struct json_object	*o;
	struct heartbeat	 hb;
	struct verr		 err;

	o = parse("{}");
	ATF_REQUIRE(run(HEARTBEAT, o, &err, &hb) == 0);
	ATF_CHECK(hb.device_id == NULL);
	ATF_CHECK_EQ(hb.battery, -1);
	ATF_CHECK_EQ(hb.charging, -1);
	ATF_CHECK_EQ(hb.signal, -1);
	ATF_CHECK(hb.firmware == NULL);
	ATF_CHECK_EQ(hb.uptime, -1);
	ATF_CHECK_EQ(hb.nslots, -1);
	json_object_put(o);

	o = parse("{\"battery\": null, \"charging\": null, \"signal\": null, "
	    "\"firmware\": null, \"uptime\": null, \"simSlots\": null}");
	ATF_REQUIRE_MSG(run(HEARTBEAT, o, &err, &hb) == 0, "%s: %s",
	    err.field, err.msg);
	ATF_CHECK_EQ(hb.battery, -1);
	ATF_CHECK_EQ(hb.charging, -1);
	ATF_CHECK_EQ(hb.signal, -1);
	ATF_CHECK(hb.firmware == NULL);
	ATF_CHECK_EQ(hb.uptime, -1);
	ATF_CHECK_EQ(hb.nslots, -1);
	json_object_put(o);

	o = parse("{\"battery\": 0, \"signal\": 100, \"charging\": false, "
	    "\"uptime\": 0, \"simSlots\": []}");
	ATF_REQUIRE(run(HEARTBEAT, o, &err, &hb) == 0);
	ATF_CHECK_EQ(hb.battery, 0);
	ATF_CHECK_EQ(hb.signal, 100);
	ATF_CHECK_EQ(hb.charging, 0);
	ATF_CHECK_EQ(hb.uptime, 0);
	ATF_CHECK_EQ(hb.nslots, 0);
	json_object_put(o);
}

ATF_TC(valid_heartbeat__top_fields);
ATF_TC_HEAD(valid_heartbeat__top_fields, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_heartbeat refuses each wrong "
	    "type or range of the device fields, naming the field");
}
ATF_TC_BODY(valid_heartbeat__top_fields, tc)
{
	char	 buf[256];

	bad(HEARTBEAT, "[]", "body", "must be a JSON object");
	bad(HEARTBEAT, "\"text\"", "body", "must be a JSON object");
	bad(HEARTBEAT, "{\"deviceId\": 1}", "deviceId", "must be a string");
	bad(HEARTBEAT, "{\"deviceId\": null}", "deviceId", "must not be null");
	bad(HEARTBEAT, "{\"deviceId\": \"\"}", "deviceId", "must not be empty");
	bad(HEARTBEAT, "{\"deviceId\": \"goip 01\"}", "deviceId",
	    "invalid characters");
	bad(HEARTBEAT, "{\"deviceId\": \"goip-\\u00e9\"}", "deviceId",
	    "invalid characters");
	snprintf(buf, sizeof(buf), "{\"deviceId\": \"%065d\"}", 0);
	bad(HEARTBEAT, buf, "deviceId", "too long");
	bad(HEARTBEAT, "{\"battery\": 101}", "battery", "out of range");
	bad(HEARTBEAT, "{\"battery\": -1}", "battery", "out of range");
	bad(HEARTBEAT, "{\"battery\": \"87\"}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": 87.5}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": 1.0}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": true}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": [87]}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": 1e999}", "battery", "must be an integer");
	bad(HEARTBEAT, "{\"battery\": 4294967383}", "battery", "out of range");
	bad(HEARTBEAT, "{\"battery\": 123456789012345678901234567890}",
	    "battery", "out of range");
	bad(HEARTBEAT, "{\"battery\": -123456789012345678901234567890}",
	    "battery", "out of range");
	bad(HEARTBEAT, "{\"charging\": 1}", "charging", "must be true or false");
	bad(HEARTBEAT, "{\"charging\": \"true\"}", "charging",
	    "must be true or false");
	bad(HEARTBEAT, "{\"signal\": 101}", "signal", "out of range");
	bad(HEARTBEAT, "{\"signal\": -5}", "signal", "out of range");
	bad(HEARTBEAT, "{\"signal\": {}}", "signal", "must be an integer");
	bad(HEARTBEAT, "{\"firmware\": 1.01}", "firmware", "must be a string");
	bad(HEARTBEAT, "{\"firmware\": \"v1\\u0007\"}", "firmware",
	    "invalid characters");
	snprintf(buf, sizeof(buf), "{\"firmware\": \"%065d\"}", 0);
	bad(HEARTBEAT, buf, "firmware", "too long");
	bad(HEARTBEAT, "{\"uptime\": -1}", "uptime", "out of range");
	bad(HEARTBEAT, "{\"uptime\": 3153600001}", "uptime", "out of range");
	bad(HEARTBEAT, "{\"uptime\": 99999999999999999999}", "uptime",
	    "out of range");
	bad(HEARTBEAT, "{\"uptime\": \"1d\"}", "uptime", "must be an integer");
	bad(HEARTBEAT, "{\"simSlots\": {}}", "simSlots", "must be an array");
	bad(HEARTBEAT, "{\"simSlots\": \"1\"}", "simSlots", "must be an array");
	/* The first failure is reported, in table order. */
	bad(HEARTBEAT, "{\"signal\": 200, \"battery\": 200}", "battery",
	    "out of range");
}

ATF_TC(valid_heartbeat__slot_fields);
ATF_TC_HEAD(valid_heartbeat__slot_fields, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_heartbeat checks each SIM "
	    "slot field and names it as simSlots[i].field");
}
ATF_TC_BODY(valid_heartbeat__slot_fields, tc)
{
	char	 buf[4096];
	size_t	 o;
	int	 i;

	bad(HEARTBEAT, "{\"simSlots\": [1]}", "simSlots[0]",
	    "must be a JSON object");
	bad(HEARTBEAT, "{\"simSlots\": [{}]}", "simSlots[0].slot", "required");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": null}]}",
	    "simSlots[0].slot", "must not be null");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 0}]}", "simSlots[0].slot",
	    "out of range");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 257}]}",
	    "simSlots[0].slot", "out of range");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": \"1\"}]}",
	    "simSlots[0].slot", "must be an integer");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1}, {\"slot\": 2, "
	    "\"status\": \"READY\"}]}", "simSlots[1].status",
	    "not an allowed value");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"status\": 1}]}",
	    "simSlots[0].status", "must be a string");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"registration\": "
	    "\"roam\"}]}", "simSlots[0].registration", "not an allowed value");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"signal\": 101}]}",
	    "simSlots[0].signal", "out of range");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"iccid\": \"89a1\"}]}",
	    "simSlots[0].iccid", "must be digits");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"iccid\": "
	    "\"12345678901234567890123\"}]}", "simSlots[0].iccid", "too long");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"imsi\": "
	    "\"1234567890123456\"}]}", "simSlots[0].imsi", "too long");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"imsi\": 2600}]}",
	    "simSlots[0].imsi", "must be a string");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"operator\": "
	    "\"PL\\u0001AY\"}]}", "simSlots[0].operator",
	    "invalid characters");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 1, \"phoneNumber\": "
	    "\"+485001002001234567890123456789012\"}]}",
	    "simSlots[0].phoneNumber", "too long");
	bad(HEARTBEAT, "{\"simSlots\": [{\"slot\": 2}, {\"slot\": 1}, "
	    "{\"slot\": 2}]}", "simSlots[2].slot", "duplicate slot");

	/* 32 slots are accepted, 33 are too many. */
	o = (size_t)snprintf(buf, sizeof(buf), "{\"simSlots\": [");
	for (i = 1; i <= 33; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s{\"slot\": %d}",
		    i > 1 ? ", " : "", i);
	snprintf(buf + o, sizeof(buf) - o, "]}");
	bad(HEARTBEAT, buf, "simSlots", "too many slots");
	{
		struct json_object	*obj;
		struct heartbeat	 hb;
		struct verr		 err;
		char			*cut;

		cut = strstr(buf, ", {\"slot\": 33}");
		ATF_REQUIRE(cut != NULL);
		strcpy(cut, "]}");
		obj = parse(buf);
		ATF_CHECK(run(HEARTBEAT, obj, &err, &hb) == 0);
		ATF_CHECK_EQ(hb.nslots, 32);
		ATF_CHECK_EQ(hb.slots[31].slot, 32);
		json_object_put(obj);
	}
}

ATF_TC(valid_heartbeat__enums);
ATF_TC_HEAD(valid_heartbeat__enums, tc)
{
	atf_tc_set_md_var(tc, "descr", "every documented slot status and "
	    "registration value is accepted");
}
ATF_TC_BODY(valid_heartbeat__enums, tc)
{
	static const char *const st[] = { "ready", "absent", "pin_required",
	    "blocked", "error" };
	static const char *const reg[] = { "home", "roaming", "searching",
	    "denied", "none" };
	struct json_object	*o;
	struct heartbeat	 hb;
	struct verr		 err;
	char			 buf[256];
	size_t			 i;

	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "{\"simSlots\": [{\"slot\": 1, "
		    "\"status\": \"%s\", \"registration\": \"%s\"}]}", st[i],
		    reg[i]);
		o = parse(buf);
		ATF_CHECK_MSG(run(HEARTBEAT, o, &err, &hb) == 0, "%s", buf);
		ATF_CHECK_STREQ(hb.slots[0].status, st[i]);
		ATF_CHECK_STREQ(hb.slots[0].registration, reg[i]);
		json_object_put(o);
	}
}

ATF_TC(valid_sms_in__fields);
ATF_TC_HEAD(valid_sms_in__fields, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_sms_in fills the documented "
	    "message and keeps text byte-exact");
}
ATF_TC_BODY(valid_sms_in__fields, tc)
{
	struct json_object	*o;
	struct sms_in		 s;
	struct verr		 err;

	o = parse("{\"deviceId\": \"goip-01\", \"messageId\": \"in-7f3a9c\", "
	    "\"slot\": 1, \"from\": \"+447700900123\", \"to\": "
	    "\"+48500100200\", \"text\": \"Za\\u017c\\u00f3\\u0142\\u0107 "
	    "\xf0\x9f\x9a\x80\\n<b>'; DROP TABLE sms;--\", \"receivedAt\": "
	    "\"2026-11-25T10:14:58Z\"}");
	ATF_REQUIRE_MSG(run(SMS_IN, o, &err, &s) == 0, "%s: %s", err.field,
	    err.msg);
	ATF_CHECK_STREQ(s.device_id, "goip-01");
	ATF_CHECK_STREQ(s.message_id, "in-7f3a9c");
	ATF_CHECK_EQ(s.slot, 1);
	ATF_CHECK_STREQ(s.from, "+447700900123");
	ATF_CHECK_STREQ(s.to, "+48500100200");
	ATF_CHECK_STREQ(s.text, "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 "
	    "\xf0\x9f\x9a\x80\n<b>'; DROP TABLE sms;--");
	ATF_CHECK_EQ(s.textlen, strlen(s.text));
	ATF_CHECK_EQ(s.received_at, 1795601698000LL);
	json_object_put(o);

	/* Only messageId, from and text are required; text may be empty. */
	o = parse("{\"messageId\": \"m1\", \"from\": \"ORANGE\", "
	    "\"text\": \"\"}");
	ATF_REQUIRE(run(SMS_IN, o, &err, &s) == 0);
	ATF_CHECK(s.device_id == NULL);
	ATF_CHECK(s.to == NULL);
	ATF_CHECK_EQ(s.slot, 0);
	ATF_CHECK_EQ(s.received_at, -1);
	ATF_CHECK_EQ(s.textlen, 0);
	json_object_put(o);

	o = parse("{\"messageId\": \"m1\", \"from\": \"x\", \"text\": "
	    "\"a\\tb\\r\\n\", \"to\": null, \"slot\": null, "
	    "\"receivedAt\": null}");
	ATF_REQUIRE(run(SMS_IN, o, &err, &s) == 0);
	ATF_CHECK(s.to == NULL);
	ATF_CHECK_EQ(s.slot, -1);
	ATF_CHECK_EQ(s.received_at, -1);
	ATF_CHECK_STREQ(s.text, "a\tb\r\n");
	json_object_put(o);
}

ATF_TC(valid_sms_in__rejects);
ATF_TC_HEAD(valid_sms_in__rejects, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_sms_in refuses each missing, "
	    "mistyped or out-of-range field, naming it");
}
ATF_TC_BODY(valid_sms_in__rejects, tc)
{
	char	*big;
	size_t	 n, h;

	bad(SMS_IN, "[1]", "body", "must be a JSON object");
	bad(SMS_IN, "{\"from\": \"x\", \"text\": \"t\"}", "messageId",
	    "required");
	bad(SMS_IN, "{\"messageId\": \"m\", \"text\": \"t\"}", "from",
	    "required");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\"}", "text",
	    "required");
	bad(SMS_IN, "{\"messageId\": 7, \"from\": \"x\", \"text\": \"t\"}",
	    "messageId", "must be a string");
	bad(SMS_IN, "{\"messageId\": \"\", \"from\": \"x\", \"text\": \"t\"}",
	    "messageId", "must not be empty");
	bad(SMS_IN, "{\"messageId\": \"a b\", \"from\": \"x\", \"text\": "
	    "\"t\"}", "messageId", "invalid characters");
	bad(SMS_IN, "{\"messageId\": null, \"from\": \"x\", \"text\": \"t\"}",
	    "messageId", "must not be null");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"\", \"text\": \"t\"}",
	    "from", "must not be empty");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": 48500, \"text\": "
	    "\"t\"}", "from", "must be a string");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": 5}",
	    "text", "must be a string");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": null}",
	    "text", "must not be null");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"bell\\u0007\"}", "text", "invalid characters");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"del\\u007f\"}", "text", "invalid characters");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"slot\": 0}", "slot", "out of range");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"slot\": 257}", "slot", "out of range");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"slot\": \"1\"}", "slot", "must be an integer");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"to\": 1}", "to", "must be a string");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"receivedAt\": \"yesterday\"}", "receivedAt",
	    "must be an RFC 3339 time");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"receivedAt\": \"2026-11-25T10:14:58\"}", "receivedAt",
	    "RFC 3339");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": "
	    "\"t\", \"receivedAt\": 1795601698000}", "receivedAt",
	    "must be a string");
	bad(SMS_IN, "{\"deviceId\": \"\", \"messageId\": \"m\", \"from\": "
	    "\"x\", \"text\": \"t\"}", "deviceId", "must not be empty");

	/* Text: 4096 bytes are accepted, 4097 are too long. */
	n = 4096;
	big = malloc(n + 128);
	ATF_REQUIRE(big != NULL);
	strcpy(big, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": \"");
	h = strlen(big);
	memset(big + h, 'a', n + 1);
	strcpy(big + h + n + 1, "\"}");
	bad(SMS_IN, big, "text", "too long");
	strcpy(big + h + n, "\"}");
	{
		struct json_object	*o;
		struct sms_in		 s;
		struct verr		 err;

		o = parse(big);
		ATF_CHECK(run(SMS_IN, o, &err, &s) == 0);
		ATF_CHECK_EQ(s.textlen, 4096);
		json_object_put(o);
	}
	free(big);
}

ATF_TC(valid_sms_in__nul_in_text);
ATF_TC_HEAD(valid_sms_in__nul_in_text, tc)
{
	atf_tc_set_md_var(tc, "descr", "a text holding a NUL byte (built "
	    "without the parser) is refused by the validator itself");
}
ATF_TC_BODY(valid_sms_in__nul_in_text, tc)
{
	struct json_object	*o;
	struct sms_in		 s;
	struct verr		 err;

	o = json_object_new_object();
	json_object_object_add(o, "messageId", json_object_new_string("m"));
	json_object_object_add(o, "from", json_object_new_string("x"));
	json_object_object_add(o, "text", json_object_new_string_len("a\0b",
	    3));
	ATF_CHECK(run(SMS_IN, o, &err, &s) == -1);
	ATF_CHECK_STREQ(err.field, "text");
	json_object_put(o);
}

ATF_TC(valid_sms_out__fields);
ATF_TC_HEAD(valid_sms_out__fields, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_sms_out accepts an operator's "
	    "message with its segment count and encoding, and refuses each "
	    "bad field");
}
ATF_TC_BODY(valid_sms_out__fields, tc)
{
	struct json_object	*o;
	struct sms_out		 s;
	struct verr		 err;
	char			*big;
	size_t			 i;

	o = parse("{\"deviceId\": \"goip-01\", \"slot\": 2, \"to\": "
	    "\"+48500100200\", \"text\": \"Hello\"}");
	ATF_REQUIRE_MSG(run(SMS_OUT, o, &err, &s) == 0, "%s: %s", err.field,
	    err.msg);
	ATF_CHECK_STREQ(s.device, "goip-01");
	ATF_CHECK_EQ(s.slot, 2);
	ATF_CHECK_STREQ(s.to, "+48500100200");
	ATF_CHECK_STREQ(s.text, "Hello");
	ATF_CHECK_EQ(s.textlen, 5);
	ATF_CHECK_EQ(s.segments, 1);
	ATF_CHECK_STREQ(s.encoding, "gsm7");
	json_object_put(o);

	o = parse("{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": \"8080\", "
	    "\"text\": \"Za\\u017c\\u00f3\\u0142\\u0107\"}");
	ATF_REQUIRE(run(SMS_OUT, o, &err, &s) == 0);
	ATF_CHECK_STREQ(s.encoding, "ucs2");
	json_object_put(o);

	bad(SMS_OUT, "{\"slot\": 1, \"to\": \"+48500100200\", \"text\": \"t\"}",
	    "deviceId", "required");
	bad(SMS_OUT, "{\"deviceId\": \"a/b\", \"slot\": 1, \"to\": "
	    "\"+48500100200\", \"text\": \"t\"}", "deviceId",
	    "invalid device id");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"to\": \"+48500100200\", "
	    "\"text\": \"t\"}", "slot", "required");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": null, \"to\": "
	    "\"+48500100200\", \"text\": \"t\"}", "slot", "must not be null");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 0, \"to\": "
	    "\"+48500100200\", \"text\": \"t\"}", "slot", "out of range");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"text\": "
	    "\"t\"}", "to", "required");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "48500100200, \"text\": \"t\"}", "to", "must be a string");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"12\", \"text\": \"t\"}", "to", "too short");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"+12345678901234567\", \"text\": \"t\"}", "to", "too long");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"+0485001002\", \"text\": \"t\"}", "to", "E.164");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"+48 500 100\", \"text\": \"t\"}", "to", "E.164");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"+48500100200\"}", "text", "required");
	bad(SMS_OUT, "{\"deviceId\": \"goip-01\", \"slot\": 1, \"to\": "
	    "\"+48500100200\", \"text\": \"\"}", "text", "must not be empty");

	/* 1530 GSM-7 characters are 10 segments; 1531 are 11: refused. */
	big = malloc(2048);
	ATF_REQUIRE(big != NULL);
	i = (size_t)snprintf(big, 2048, "{\"deviceId\": \"goip-01\", "
	    "\"slot\": 1, \"to\": \"+48500100200\", \"text\": \"");
	memset(big + i, 'x', 1531);
	strcpy(big + i + 1531, "\"}");
	bad(SMS_OUT, big, "text", "longer than 10 SMS segments");
	strcpy(big + i + 1530, "\"}");
	o = parse(big);
	ATF_REQUIRE(run(SMS_OUT, o, &err, &s) == 0);
	ATF_CHECK_EQ(s.segments, 10);
	json_object_put(o);
	/* More than 1600 bytes are too long whatever the segments. */
	memset(big + i, 'x', 1601);
	strcpy(big + i + 1601, "\"}");
	bad(SMS_OUT, big, "text", "too long");
	free(big);
}

/* Return a string of N copies of the UTF-8 sequence U (caller frees). */
static char *
rep(const char *u, size_t n)
{
	size_t	 l = strlen(u), i;
	char	*s;

	s = malloc(l * n + 1);
	ATF_REQUIRE(s != NULL);
	for (i = 0; i < n; i++)
		memcpy(s + i * l, u, l);
	s[l * n] = '\0';
	return s;
}

/* Concatenate up to three strings (NULL ends), freeing the parts. */
static char *
cat(char *a, char *b, char *c)
{
	char	*s;

	s = malloc(strlen(a) + strlen(b) + (c != NULL ? strlen(c) : 0) + 1);
	ATF_REQUIRE(s != NULL);
	strcpy(s, a);
	strcat(s, b);
	if (c != NULL)
		strcat(s, c);
	free(a);
	free(b);
	free(c);
	return s;
}

/* Expect TEXT (freed) to need SEGS segments in encoding ENC. */
static void
segs(char *text, int want, const char *wantenc, const char *what)
{
	const char	*enc = NULL;
	int		 got;

	ATF_REQUIRE(util_utf8_valid(text, strlen(text)));
	got = valid_sms_segments(text, strlen(text), &enc);
	ATF_CHECK_MSG(got == want, "%s: %d segments, expected %d", what, got,
	    want);
	ATF_CHECK_MSG(enc != NULL && strcmp(enc, wantenc) == 0,
	    "%s: encoding %s, expected %s", what, enc, wantenc);
	free(text);
}

#define EURO	"\xe2\x82\xac"		/* U+20AC, GSM-7 extension */
#define A_OGON	"\xc4\x85"		/* U+0105, not GSM-7 */
#define ROCKET	"\xf0\x9f\x9a\x80"	/* U+1F680, a surrogate pair */

ATF_TC(valid_sms_segments__gsm7);
ATF_TC_HEAD(valid_sms_segments__gsm7, tc)
{
	atf_tc_set_md_var(tc, "descr", "GSM-7: 160 septets in one SMS, 153 "
	    "per part, at the boundaries");
}
ATF_TC_BODY(valid_sms_segments__gsm7, tc)
{
	segs(strdup(""), 1, "gsm7", "empty");
	segs(rep("a", 1), 1, "gsm7", "1");
	segs(rep("a", 160), 1, "gsm7", "160");
	segs(rep("a", 161), 2, "gsm7", "161");
	segs(rep("a", 306), 2, "gsm7", "306 = 2 * 153");
	segs(rep("a", 307), 3, "gsm7", "307");
	segs(rep("a", 459), 3, "gsm7", "459 = 3 * 153");
	segs(rep("a", 460), 4, "gsm7", "460");
	/* The default alphabet beyond ASCII letters stays GSM-7. */
	segs(strdup("@\xc2\xa3$\xc2\xa5\xc3\xa8\xc3\xa9\xc3\xb9\xc3\xac\xc3\xb2"
	    "\xc3\x87\n\xc3\x98\xc3\xb8\r\xc3\x85\xc3\xa5\xce\x94_\xce\xa6"
	    "\xc3\x9f\xc3\x89 !\"#\xc2\xa4%&'()*+,-./:;<=>?\xc2\xa1\xc3\x84"
	    "\xc3\x96\xc3\x91\xc3\x9c\xc2\xa7\xc2\xbf\xc3\xa4\xc3\xb6\xc3\xb1"
	    "\xc3\xbc\xc3\xa0"), 1, "gsm7", "default alphabet");
}

ATF_TC(valid_sms_segments__gsm7_extension);
ATF_TC_HEAD(valid_sms_segments__gsm7_extension, tc)
{
	atf_tc_set_md_var(tc, "descr", "GSM-7 extension characters take two "
	    "septets and are never split across parts");
}
ATF_TC_BODY(valid_sms_segments__gsm7_extension, tc)
{
	segs(strdup("{}[]~^|\\" EURO "\f"), 1, "gsm7", "extension table");
	segs(rep(EURO, 80), 1, "gsm7", "80 euro = 160 septets");
	segs(rep(EURO, 81), 2, "gsm7", "81 euro = 162 septets");
	segs(cat(rep("a", 158), strdup(EURO), NULL), 1, "gsm7",
	    "158 + 2 = 160");
	segs(cat(rep("a", 159), strdup(EURO), NULL), 2, "gsm7",
	    "159 + 2 = 161");
	segs(cat(rep("a", 159), strdup("{"), NULL), 2, "gsm7",
	    "159 + brace");
	/* 152 + [2] + 152 = 306 septets = 2 * 153, but the euro sign
	 * cannot be split between parts 1 and 2, so it needs 3. */
	segs(cat(rep("a", 152), strdup(EURO), rep("a", 152)), 3, "gsm7",
	    "extension at a part boundary");
	segs(cat(rep("a", 151), strdup(EURO), rep("a", 153)), 2, "gsm7",
	    "extension ending part 1");
	segs(rep(EURO, 152), 2, "gsm7", "152 euro = 304 septets");
	segs(rep(EURO, 153), 3, "gsm7", "153 euro: 76 per part");
}

ATF_TC(valid_sms_segments__ucs2);
ATF_TC_HEAD(valid_sms_segments__ucs2, tc)
{
	atf_tc_set_md_var(tc, "descr", "UCS-2: 70 units in one SMS, 67 per "
	    "part; one non-GSM character makes the whole text UCS-2");
}
ATF_TC_BODY(valid_sms_segments__ucs2, tc)
{
	segs(strdup(A_OGON), 1, "ucs2", "1");
	segs(rep(A_OGON, 70), 1, "ucs2", "70");
	segs(rep(A_OGON, 71), 2, "ucs2", "71");
	segs(rep(A_OGON, 134), 2, "ucs2", "134 = 2 * 67");
	segs(rep(A_OGON, 135), 3, "ucs2", "135");
	segs(cat(rep("a", 69), strdup(A_OGON), NULL), 1, "ucs2",
	    "69 ASCII + one Polish letter");
	segs(cat(rep("a", 70), strdup(A_OGON), NULL), 2, "ucs2",
	    "70 ASCII + one Polish letter");
	segs(cat(rep("a", 100), strdup("\xc3\xb3"), NULL), 2, "ucs2",
	    "o-acute is not GSM-7");
	segs(strdup("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), 1,
	    "ucs2", "Cyrillic");
	segs(strdup("tab\there"), 1, "ucs2", "a tab is not GSM-7");
}

ATF_TC(valid_sms_segments__emoji);
ATF_TC_HEAD(valid_sms_segments__emoji, tc)
{
	atf_tc_set_md_var(tc, "descr", "an emoji is a surrogate pair: two "
	    "UCS-2 units, never split across parts");
}
ATF_TC_BODY(valid_sms_segments__emoji, tc)
{
	segs(strdup(ROCKET), 1, "ucs2", "one emoji");
	segs(rep(ROCKET, 35), 1, "ucs2", "35 emoji = 70 units");
	segs(rep(ROCKET, 36), 2, "ucs2", "36 emoji = 72 units");
	segs(cat(rep(A_OGON, 68), strdup(ROCKET), NULL), 1, "ucs2",
	    "68 + 2 = 70");
	segs(cat(rep(A_OGON, 69), strdup(ROCKET), NULL), 2, "ucs2",
	    "69 + 2 = 71");
	segs(cat(rep("a", 69), strdup(ROCKET), NULL), 2, "ucs2",
	    "69 ASCII + emoji = 71");
	/* 66 + [2] + 66 = 134 units = 2 * 67, but the pair cannot straddle
	 * parts 1 and 2, so it needs 3. */
	segs(cat(rep(A_OGON, 66), strdup(ROCKET), rep(A_OGON, 66)), 3, "ucs2",
	    "surrogate pair at a part boundary");
	segs(cat(rep(A_OGON, 65), strdup(ROCKET), rep(A_OGON, 67)), 2, "ucs2",
	    "surrogate pair ending part 1");
	segs(rep(ROCKET, 66), 2, "ucs2", "66 emoji = 132 units");
	segs(rep(ROCKET, 67), 3, "ucs2", "67 emoji: 33 per part");
	segs(rep(ROCKET, 68), 3, "ucs2", "68 emoji = 136 units");
}

ATF_TC(valid_phone__forms);
ATF_TC_HEAD(valid_phone__forms, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_phone accepts E.164 (+ and 7 "
	    "to 15 digits, no leading 0) and 3 to 8 digit short codes");
}
ATF_TC_BODY(valid_phone__forms, tc)
{
	static const char *const ok[] = { "+48500100200", "+1234567",
	    "+123456789012345", "+447700900123", "112", "8080", "12345678" };
	static const char *const no[] = { "", "+", "+123456",
	    "+1234567890123456", "+0123456789", "12", "123456789",
	    "48500100200", "+48 500 100 200", "+48-500-100-200", "++48500100",
	    "+4850010020a", "abc", "+48500100200\n", " 112", "1\xd9\xa3" "2" };
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ATF_CHECK_MSG(valid_phone(ok[i]), "refused %s", ok[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ATF_CHECK_MSG(!valid_phone(no[i]), "accepted \"%s\"", no[i]);
}

ATF_TC(valid_device_id__forms);
ATF_TC_HEAD(valid_device_id__forms, tc)
{
	atf_tc_set_md_var(tc, "descr", "valid_device_id: 1-64 bytes of "
	    "letters, digits, '.', '_', ':' and '-'");
}
ATF_TC_BODY(valid_device_id__forms, tc)
{
	char	 id[80];

	ATF_CHECK(valid_device_id("goip-01"));
	ATF_CHECK(valid_device_id("a.b_c:d-E9"));
	memset(id, 'x', 64);
	id[64] = '\0';
	ATF_CHECK(valid_device_id(id));
	id[64] = 'x';
	id[65] = '\0';
	ATF_CHECK(!valid_device_id(id));
	ATF_CHECK(!valid_device_id(""));
	ATF_CHECK(!valid_device_id("goip 01"));
	ATF_CHECK(!valid_device_id("goip/01"));
	ATF_CHECK(!valid_device_id("../etc"));
	ATF_CHECK(!valid_device_id("goip\xc3\xa9"));
	ATF_CHECK(!valid_device_id("a'b"));
}

ATF_TC(jsonin_parse__accepts);
ATF_TC_HEAD(jsonin_parse__accepts, tc)
{
	atf_tc_set_md_var(tc, "descr", "jsonin_parse accepts objects with "
	    "trailing white space, escapes and UTF-8 kept byte-exact");
}
ATF_TC_BODY(jsonin_parse__accepts, tc)
{
	struct json_object	*o, *v;

	o = parse("  {\"a\": [1, 2, {\"b\": null}]}  \r\n\t ");
	ATF_CHECK(json_object_is_type(o, json_type_object));
	json_object_put(o);
	o = parse("{\"t\": \"Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 "
	    "\\u017c\\ud83d\\ude80 \xf0\x9f\x9a\x80\"}");
	ATF_REQUIRE(json_object_object_get_ex(o, "t", &v));
	ATF_CHECK_STREQ(json_object_get_string(v), "Za\xc5\xbc\xc3\xb3\xc5\x82"
	    "\xc4\x87 \xc5\xbc\xf0\x9f\x9a\x80 \xf0\x9f\x9a\x80");
	json_object_put(o);
	o = parse("[]");
	json_object_put(o);
	o = parse("\"just a string\"");
	json_object_put(o);
	/* A number or literal alone ends with the input. */
	o = parse("true");
	ATF_CHECK(json_object_is_type(o, json_type_boolean));
	json_object_put(o);
	o = parse("-1.5e3");
	ATF_CHECK(json_object_is_type(o, json_type_double));
	json_object_put(o);
	o = parse(" 42 ");
	ATF_CHECK_EQ(json_object_get_int(o), 42);
	json_object_put(o);
	o = parse("{\"s\": \"it's 'quoted' NaN Infinity\", \"n\": null, "
	    "\"b\": [true, false], \"e\": -0.5E-3}");
	json_object_put(o);
	parse_bad("null", 4, "not a JSON object");
}

ATF_TC(jsonin_parse__depth_limit);
ATF_TC_HEAD(jsonin_parse__depth_limit, tc)
{
	atf_tc_set_md_var(tc, "descr", "jsonin_parse refuses bodies nested "
	    "beyond GOIP_JSON_DEPTH (16) and accepts those within it");
}
ATF_TC_BODY(jsonin_parse__depth_limit, tc)
{
	char	 buf[40000], *p;
	int	 d, i;

	for (d = 1; d <= 15; d++) {
		p = buf;
		for (i = 0; i < d; i++)
			p += sprintf(p, "{\"a\":");
		p += sprintf(p, "1");
		for (i = 0; i < d; i++)
			*p++ = '}';
		*p = '\0';
		json_object_put(parse(buf));
	}
	for (d = 17; d < 5000; d = d * 3) {
		memset(buf, '[', (size_t)d);
		memset(buf + d, ']', (size_t)d);
		parse_bad(buf, (size_t)d * 2, "nested too deeply");
		p = buf;
		for (i = 0; i < d; i++)
			p += sprintf(p, "{\"a\":");
		p += sprintf(p, "1");
		for (i = 0; i < d; i++)
			*p++ = '}';
		parse_bad(buf, (size_t)(p - buf), "nested too deeply");
	}
	/* Deep nesting that never closes is refused just the same. */
	memset(buf, '[', 20000);
	parse_bad(buf, 20000, "nested too deeply");
}

ATF_TC(jsonin_parse__invalid_utf8);
ATF_TC_HEAD(jsonin_parse__invalid_utf8, tc)
{
	atf_tc_set_md_var(tc, "descr", "jsonin_parse refuses invalid UTF-8 "
	    "in strings and keys, overlongs and encoded surrogates included");
}
ATF_TC_BODY(jsonin_parse__invalid_utf8, tc)
{
	static const char *const bodies[] = {
		"{\"t\": \"\xff\"}",
		"{\"t\": \"a\xc3\"}",
		"{\"t\": \"\xc0\xaf\"}",
		"{\"t\": \"\xe0\x80\xaf\"}",
		"{\"t\": \"\xed\xa0\x80\"}",
		"{\"t\": \"\xf4\x90\x80\x80\"}",
		"{\"t\": \"\xf0\x9f\x9a\"}",
		"{\"\xff\": 1}",
		"{\"\xc0\xaf\": 1}",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		parse_bad(bodies[i], strlen(bodies[i]), "UTF-8");
}

ATF_TC(jsonin_parse__nul);
ATF_TC_HEAD(jsonin_parse__nul, tc)
{
	atf_tc_set_md_var(tc, "descr", "jsonin_parse refuses a string "
	    "holding \\u0000 and a raw NUL byte in the body");
}
ATF_TC_BODY(jsonin_parse__nul, tc)
{
	static const char *const esc[] = { "{\"t\": \"a\\u0000b\"}",
	    "{\"t\": \"\\u0000\"}", "{\"t\": [\"ok\", \"\\u0000\"]}",
	    "{\"key\\u0000hidden\": 1}" };
	size_t	 i;

	for (i = 0; i < 4; i++)
		parse_bad(esc[i], strlen(esc[i]), "NUL");
	parse_bad("{\"t\": \"a\0b\"}", 12, "");
	parse_bad("{\"t\": 1}\0", 9, "");
	parse_bad("{\"t\": 1}\0\0\0", 11, "");
	parse_bad("{\"t\": 1} \0x", 11, "");
}

ATF_TC(jsonin_parse__malformed);
ATF_TC_HEAD(jsonin_parse__malformed, tc)
{
	atf_tc_set_md_var(tc, "descr", "jsonin_parse refuses truncated "
	    "bodies, trailing data, empty input and non-JSON syntax");
}
ATF_TC_BODY(jsonin_parse__malformed, tc)
{
	static const char *const bodies[] = {
		"{} x", "{}{}", "{} {}", "[1] 2", "{\"a\": 1}}",
		"[1,]", "{\"a\": 1,}", "/* c */ {}", "{\"a\" 1}", "[1 2]",
		"{\"a\": 0x10}", "{\"a\": 010}", "{\"a\": +5}", "{a: 1}",
		"{\"a\": tru}", "{\"a\": undefined}",
		/* json-c 0.16 takes these even in strict mode. */
		"{'a': 1}", "{\"a\": 'x'}", "{\"a\": NaN}", "{\"a\": nan}",
		"{\"a\": Infinity}", "{\"a\": -Infinity}", "{\"a\": True}",
		"{\"a\": nullx}", "NaN",
	};
	static const char *const truncated[] = {
		"", "   ", "{", "{\"a\"", "{\"a\":", "{\"a\": 1", "{\"a\": \"x",
		"[1, 2", "{\"a\": [1, {\"b\": 2}", "{\"a\": tr", "[nul", "-",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		parse_bad(bodies[i], strlen(bodies[i]), "");
	for (i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++)
		parse_bad(truncated[i], strlen(truncated[i]), "truncated");
	/* Only LEN bytes count: a valid body cut short is truncated. */
	parse_bad("{\"a\": 1}", 7, "truncated");
}

ATF_TC(jsonin_parse__huge_numbers);
ATF_TC_HEAD(jsonin_parse__huge_numbers, tc)
{
	atf_tc_set_md_var(tc, "descr", "numbers beyond int64 or double "
	    "parse without harm and are then refused as out of range or not "
	    "integers by the validators");
}
ATF_TC_BODY(jsonin_parse__huge_numbers, tc)
{
	bad(HEARTBEAT, "{\"battery\": 9223372036854775807}", "battery",
	    "out of range");
	bad(HEARTBEAT, "{\"battery\": 9223372036854775808}", "battery",
	    "out of range");
	bad(HEARTBEAT, "{\"battery\": 18446744073709551617}", "battery",
	    "out of range");
	bad(HEARTBEAT, "{\"battery\": -9223372036854775809}", "battery",
	    "out of range");
	bad(HEARTBEAT, "{\"signal\": 1e308}", "signal", "must be an integer");
	bad(HEARTBEAT, "{\"signal\": -1e999}", "signal", "must be an integer");
	bad(HEARTBEAT, "{\"uptime\": 1" "00000000000000000000000000000000000"
	    "000000000000000000000000000}", "uptime", "out of range");
	bad(SMS_IN, "{\"messageId\": \"m\", \"from\": \"x\", \"text\": \"t\", "
	    "\"slot\": 4294967297}", "slot", "out of range");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, valid_heartbeat__full);
	ATF_TP_ADD_TC(tp, valid_heartbeat__minimal_and_nulls);
	ATF_TP_ADD_TC(tp, valid_heartbeat__top_fields);
	ATF_TP_ADD_TC(tp, valid_heartbeat__slot_fields);
	ATF_TP_ADD_TC(tp, valid_heartbeat__enums);
	ATF_TP_ADD_TC(tp, valid_sms_in__fields);
	ATF_TP_ADD_TC(tp, valid_sms_in__rejects);
	ATF_TP_ADD_TC(tp, valid_sms_in__nul_in_text);
	ATF_TP_ADD_TC(tp, valid_sms_out__fields);
	ATF_TP_ADD_TC(tp, valid_sms_segments__gsm7);
	ATF_TP_ADD_TC(tp, valid_sms_segments__gsm7_extension);
	ATF_TP_ADD_TC(tp, valid_sms_segments__ucs2);
	ATF_TP_ADD_TC(tp, valid_sms_segments__emoji);
	ATF_TP_ADD_TC(tp, valid_phone__forms);
	ATF_TP_ADD_TC(tp, valid_device_id__forms);
	ATF_TP_ADD_TC(tp, jsonin_parse__accepts);
	ATF_TP_ADD_TC(tp, jsonin_parse__depth_limit);
	ATF_TP_ADD_TC(tp, jsonin_parse__invalid_utf8);
	ATF_TP_ADD_TC(tp, jsonin_parse__nul);
	ATF_TP_ADD_TC(tp, jsonin_parse__malformed);
	ATF_TP_ADD_TC(tp, jsonin_parse__huge_numbers);
	return atf_no_error();
}
