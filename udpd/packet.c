/*
 * packet.c: the datagrams of the GoIP "SMS server" protocol, parsed.
 *
 * Pure functions: a buffer in, a struct packet out, nothing else touched,
 * so the parser is unit-tested (tests/udpd_packet_test.c) and fuzzed
 * (tests/fuzz/fuzz_udpd_packet.c) alone. Devices send two shapes:
 *
 *	TYPE:n;key:value;key:value;...	reports (req, RECEIVE, DELIVER, STATE)
 *	TYPE word word ...		answers inside a session the server
 *					started (PASSWORD, SEND, OK, WAIT, ...)
 *
 * Fields are split on ';' and each on its first ':', and read by key,
 * never by position; "msg:" runs to the end of the packet and may hold ';'
 * and ':'. Unknown keys are skipped (newer firmware adds some).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "udpd.h"

/* The keys read, by name: both spellings of the password count. */
static const struct {
	const char		*name;
	enum packet_field	 field;
} packet_keys[] = {
	{ "id", PF_ID },
	{ "pass", PF_PASSWORD },
	{ "password", PF_PASSWORD },
	{ "num", PF_NUM },
	{ "signal", PF_SIGNAL },
	{ "gsm_status", PF_GSM_STATUS },
	{ "imei", PF_IMEI },
	{ "imsi", PF_IMSI },
	{ "iccid", PF_ICCID },
	{ "srcnum", PF_SRCNUM },
	{ "msg", PF_MSG },
	{ "sms_no", PF_SMS_NO },
	{ "state", PF_STATE },
	{ "gsm_remain_state", PF_CALL_STATE },
};

/*
 * Parse S as a decimal integer in [MIN, MAX] into *V. Returns 0, or -1 for
 * anything else (empty, signs alone, trailing bytes, out of range).
 */
int
packet_int(const char *s, int64_t min, int64_t max, int64_t *v)
{
	char		*end;
	long long	 n;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/*
 * Whether S may go into a space-separated server packet as one token:
 * not empty, at most PACKET_VALUE_MAX bytes, no space, CR, LF, other
 * control byte or DEL.
 */
int
packet_token_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= PACKET_VALUE_MAX || (unsigned char)s[i] <= ' ' ||
		    s[i] == 0x7f)
			return 0;
	return i > 0;
}

/*
 * The length of USSD reply text R (LEN bytes) without the '@' padding and
 * the line ends some firmware adds at the end.
 */
size_t
packet_ussd_trim(const char *r, size_t len)
{
	while (len > 0 && (r[len - 1] == '@' || r[len - 1] == '\n' ||
	    r[len - 1] == '\r' || r[len - 1] == '\0'))
		len--;
	return len;
}

/* Is S (LEN bytes) a packet type: 1 to PACKET_TYPE_MAX ASCII letters? */
static int
packet_type_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > PACKET_TYPE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

/* The fields of a "TYPE:n;..." packet, from P (after "TYPE:") to END. */
static int
packet_fields(char *p, char *end, struct packet *pk, const char **why)
{
	char	*semi, *colon, *num;
	size_t	 i;

	num = p;
	if ((semi = memchr(p, ';', end - p)) == NULL)
		semi = end;
	*semi = '\0';
	if (packet_int(num, INT32_MIN, INT32_MAX, &pk->n) == -1) {
		*why = "bad number after the type";
		return -1;
	}
	p = semi < end ? semi + 1 : end;
	while (p < end) {
		if ((colon = memchr(p, ':', end - p)) == NULL) {
			/* A trailing empty field or stray bytes: "...;\n". */
			for (; p < end; p++)
				if (*p != '\r' && *p != '\n' && *p != ' ' &&
				    *p != ';') {
					*why = "field without a colon";
					return -1;
				}
			break;
		}
		*colon = '\0';
		for (i = 0; i < sizeof(packet_keys) / sizeof(packet_keys[0]);
		    i++)
			if (strcmp(p, packet_keys[i].name) == 0)
				break;
		p = colon + 1;
		if (i < sizeof(packet_keys) / sizeof(packet_keys[0]) &&
		    packet_keys[i].field == PF_MSG) {
			pk->f[PF_MSG] = p;
			pk->msglen = end - p;
			if (pk->msglen > PACKET_MSG_MAX) {
				*why = "msg too long";
				return -1;
			}
			return 0;
		}
		if ((semi = memchr(p, ';', end - p)) == NULL)
			semi = end;
		*semi = '\0';
		/* Line ends after the last field are not part of it. */
		for (colon = semi; colon > p && (colon[-1] == '\r' ||
		    colon[-1] == '\n'); colon--)
			colon[-1] = '\0';
		if (strlen(p) > PACKET_VALUE_MAX) {
			*why = "field too long";
			return -1;
		}
		if (i < sizeof(packet_keys) / sizeof(packet_keys[0]))
			pk->f[packet_keys[i].field] = p;
		p = semi < end ? semi + 1 : end;
	}
	return 0;
}

/* The words of a "TYPE word ..." packet, from P (after "TYPE ") to END. */
static int
packet_words(char *p, char *end, struct packet *pk, const char **why)
{
	char	*sp;

	while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	/* A copy before the words are cut: USSD replies hold spaces. */
	memcpy(pk->text, p, end - p);
	pk->text[end - p] = '\0';
	pk->rest = pk->text;
	pk->restlen = end - p;
	while (p < end && pk->nwords < PACKET_WORDS_MAX) {
		if ((sp = memchr(p, ' ', end - p)) == NULL)
			sp = end;
		if (sp - p > PACKET_MSG_MAX) {
			*why = "word too long";
			return -1;
		}
		pk->w[pk->nwords++] = p;
		if (sp == end)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return 0;
}

/*
 * Parse datagram BUF of LEN bytes (BUF has room for LEN + 1: the parser
 * writes NULs into it) into PK. Returns 0, or -1 with *WHY a static
 * reason: empty, oversized, a NUL byte outside msg, a bad type or number,
 * a field without a colon, a value too long.
 */
int
packet_parse(char *buf, size_t len, struct packet *pk, const char **why)
{
	char	*end = buf + len, *p, *nul;
	size_t	 tlen;

	memset(pk, 0, sizeof(*pk));
	if (len == 0) {
		*why = "empty";
		return -1;
	}
	if (len > PACKET_MAX) {
		*why = "oversized";
		return -1;
	}
	buf[len] = '\0';
	nul = memchr(buf, '\0', len);
	for (p = buf; p < end && *p != ':' && *p != ' ' && *p != '\n' &&
	    *p != '\r'; p++)
		;
	tlen = p - buf;
	if (!packet_type_ok(buf, tlen)) {
		*why = "bad type";
		return -1;
	}
	memcpy(pk->type, buf, tlen);
	pk->type[tlen] = '\0';
	if (p < end && *p == ':') {
		/* A NUL byte may only be part of msg. */
		pk->kind = PACKET_FIELDS;
		if (packet_fields(p + 1, end, pk, why) == -1)
			return -1;
		if (nul != NULL && (pk->f[PF_MSG] == NULL ||
		    nul < pk->f[PF_MSG])) {
			*why = "NUL byte";
			return -1;
		}
		return 0;
	}
	pk->kind = PACKET_WORDS;
	if (nul != NULL) {
		*why = "NUL byte";
		return -1;
	}
	if (p < end && *p == ' ')
		p++;
	return packet_words(p, end, pk, why);
}
