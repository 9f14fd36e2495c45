/*
 * valid.c: declared validation of device and operator input, in the manner
 * of kcgi. Each body is described by a table of fields {name, type, limits,
 * required}; valid_fields() walks a parsed JSON object against its table and
 * fills a struct whose string members point into the JSON object (valid as
 * long as it is). Unknown keys are ignored. Validators are pure functions.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"

enum vtype {
	VT_TEXT,	/* string, valid UTF-8, no control bytes but \n \r \t */
	VT_TOKEN,	/* string of printable ASCII, no space */
	VT_PHONE,	/* E.164 or a short code */
	VT_DIGITS,	/* string of digits */
	VT_ENUM,	/* one of a list */
	VT_INT,		/* integer in [min, max] into an int */
	VT_INT64,	/* integer in [min, max] into an int64_t */
	VT_BOOL,	/* true or false into an int */
	VT_TIME		/* RFC 3339 string into int64_t ms */
};

struct vfield {
	const char		*name;
	enum vtype		 type;
	size_t			 off;
	int			 required;
	int			 nullable;	/* null allowed: ints get -1 */
	int64_t			 min, max;	/* ints; string byte lengths */
	const char *const	*values;	/* VT_ENUM */
};

static const char *const slot_status[] = { "ready", "absent", "pin_required",
    "blocked", "error", NULL };
static const char *const slot_registration[] = { "home", "roaming",
    "searching", "denied", "none", NULL };

#define HB(f)	offsetof(struct heartbeat, f)
static const struct vfield heartbeat_fields[HB__MAX] = {
	[HB_DEVICE_ID] = { "deviceId", VT_TOKEN, HB(device_id), 0, 0, 1,
	    GOIP_DEVICE_ID_MAX, NULL },
	[HB_BATTERY] = { "battery", VT_INT, HB(battery), 0, 1, 0, 100, NULL },
	[HB_CHARGING] = { "charging", VT_BOOL, HB(charging), 0, 1, 0, 1, NULL },
	[HB_SIGNAL] = { "signal", VT_INT, HB(signal), 0, 1, 0, 100, NULL },
	[HB_FIRMWARE] = { "firmware", VT_TEXT, HB(firmware), 0, 1, 0, 64, NULL },
	[HB_UPTIME] = { "uptime", VT_INT64, HB(uptime), 0, 1, 0,
	    100LL * 365 * 86400, NULL },
};
#undef HB

#define SL(f)	offsetof(struct hb_slot, f)
static const struct vfield slot_fields[SLOT__MAX] = {
	[SLOT_SLOT] = { "slot", VT_INT, SL(slot), 1, 0, 1, GOIP_SLOT_MAX,
	    NULL },
	[SLOT_STATUS] = { "status", VT_ENUM, SL(status), 0, 1, 0, 0,
	    slot_status },
	[SLOT_OPERATOR] = { "operator", VT_TEXT, SL(operator), 0, 1, 0, 64,
	    NULL },
	[SLOT_PHONE] = { "phoneNumber", VT_TEXT, SL(phone), 0, 1, 0,
	    GOIP_PHONE_MAX, NULL },
	[SLOT_ICCID] = { "iccid", VT_DIGITS, SL(iccid), 0, 1, 0, 22, NULL },
	[SLOT_IMSI] = { "imsi", VT_DIGITS, SL(imsi), 0, 1, 0, 15, NULL },
	[SLOT_SIGNAL] = { "signal", VT_INT, SL(signal), 0, 1, 0, 100, NULL },
	[SLOT_REGISTRATION] = { "registration", VT_ENUM, SL(registration), 0,
	    1, 0, 0, slot_registration },
};
#undef SL

#define SI(f)	offsetof(struct sms_in, f)
static const struct vfield sms_in_fields[] = {
	{ "deviceId", VT_TOKEN, SI(device_id), 0, 0, 1, GOIP_DEVICE_ID_MAX, NULL },
	{ "messageId", VT_TOKEN, SI(message_id), 1, 0, 1, 128, NULL },
	{ "slot", VT_INT, SI(slot), 0, 1, 1, GOIP_SLOT_MAX, NULL },
	{ "from", VT_TEXT, SI(from), 1, 0, 1, 64, NULL },
	{ "to", VT_TEXT, SI(to), 0, 1, 0, 64, NULL },
	{ "text", VT_TEXT, SI(text), 1, 0, 0, GOIP_TEXT_MAX, NULL },
	{ "receivedAt", VT_TIME, SI(received_at), 0, 1, 0, 0, NULL },
};
#undef SI

#define SO(f)	offsetof(struct sms_out, f)
static const struct vfield sms_out_fields[] = {
	{ "deviceId", VT_TOKEN, SO(device), 1, 0, 1, GOIP_DEVICE_ID_MAX, NULL },
	{ "slot", VT_INT, SO(slot), 1, 0, 1, GOIP_SLOT_MAX, NULL },
	{ "to", VT_PHONE, SO(to), 1, 0, 3, 16, NULL },
	{ "text", VT_TEXT, SO(text), 1, 0, 1, 1600, NULL },
};
#undef SO

#define UO(f)	offsetof(struct ussd_out, f)
static const struct vfield ussd_out_fields[] = {
	{ "slot", VT_INT, UO(slot), 1, 0, 1, GOIP_SLOT_MAX, NULL },
	{ "code", VT_TOKEN, UO(code), 1, 0, 1, GOIP_USSD_CODE_MAX, NULL },
};
#undef UO

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

/* One walk of valid_fields(): a table of fields and the struct it fills. */
struct vwalk {
	const struct vfield	*f;
	size_t			 nf;
	void			*base;		/* holds the fields' offsets */
	unsigned int		*kept;		/* absent ones' bits, or NULL */
	const char		*prefix;	/* the object's path, "": body */
};

/*
 * Record the first failure only: field NAME of the object at PREFIX ("" for
 * the body), copied, and the static MSG.
 */
static void
valid_ferror(struct verr *err, const char *prefix, const char *name,
    const char *msg)
{
	if (err->msg != NULL)
		return;
	snprintf(err->field, sizeof(err->field), "%s%s%s", prefix,
	    *prefix != '\0' ? "." : "", name);
	err->msg = msg;
}

/* The same for FIELD, a whole path. */
static void
valid_error(struct verr *err, const char *field, const char *msg)
{
	valid_ferror(err, "", field, msg);
}

/* A device id: 1-64 bytes of [A-Za-z0-9._:-]. */
int
valid_device_id(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > GOIP_DEVICE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._:-", s[i]) == NULL)
			return 0;
	return 1;
}

/* E.164 ("+" and 7-15 digits, no leading 0) or a 3-8 digit short code. */
int
valid_phone(const char *s)
{
	size_t	 n, i;

	if (*s == '+') {
		s++;
		n = strlen(s);
		if (n < 7 || n > 15 || *s == '0')
			return 0;
	} else {
		n = strlen(s);
		if (n < 3 || n > 8)
			return 0;
	}
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
valid_text(const char *s, size_t len)
{
	size_t	 i;

	if (!util_utf8_valid(s, len))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    c == 0x7f)
			return 0;
	}
	return 1;
}

static int
valid_token(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/*
 * Check one value V of field F and store it into BASE; 0 or -1. PREFIX
 * names the object holding F in errors.
 */
static int
valid_value(const struct vfield *f, struct json_object *v, void *base,
    const char *prefix, struct verr *err)
{
	const char		*s;
	size_t			 len;
	int64_t			 n;
	int			 i;
	char			*p = (char *)base + f->off;

	if (v == NULL) {
		if (!f->nullable) {
			valid_ferror(err, prefix, f->name, "must not be null");
			return -1;
		}
		switch (f->type) {
		case VT_INT:
		case VT_BOOL:
			*(int *)p = -1;
			break;
		case VT_INT64:
		case VT_TIME:
			*(int64_t *)p = -1;
			break;
		default:
			*(const char **)p = NULL;
			break;
		}
		return 0;
	}
	switch (f->type) {
	case VT_INT:
	case VT_INT64:
		if (!json_object_is_type(v, json_type_int)) {
			valid_ferror(err, prefix, f->name,
			    "must be an integer");
			return -1;
		}
		n = json_object_get_int64(v);
		if (n < f->min || n > f->max || n == INT64_MAX ||
		    n == INT64_MIN) {
			valid_ferror(err, prefix, f->name, "out of range");
			return -1;
		}
		if (f->type == VT_INT)
			*(int *)p = (int)n;
		else
			*(int64_t *)p = n;
		return 0;
	case VT_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			valid_ferror(err, prefix, f->name,
			    "must be true or false");
			return -1;
		}
		*(int *)p = json_object_get_boolean(v) ? 1 : 0;
		return 0;
	default:
		break;
	}
	if (!json_object_is_type(v, json_type_string)) {
		valid_ferror(err, prefix, f->name, "must be a string");
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (f->type != VT_ENUM && f->type != VT_TIME &&
	    ((int64_t)len < f->min || (int64_t)len > f->max)) {
		valid_ferror(err, prefix, f->name,
		    len == 0 ? "must not be empty" :
		    (int64_t)len < f->min ? "too short" : "too long");
		return -1;
	}
	switch (f->type) {
	case VT_TEXT:
		if (!valid_text(s, len)) {
			valid_ferror(err, prefix, f->name,
			    "invalid characters");
			return -1;
		}
		break;
	case VT_TOKEN:
		if (!valid_token(s)) {
			valid_ferror(err, prefix, f->name,
			    "invalid characters");
			return -1;
		}
		break;
	case VT_PHONE:
		if (!valid_phone(s)) {
			valid_ferror(err, prefix, f->name,
			    "must be an E.164 number or a short code");
			return -1;
		}
		break;
	case VT_DIGITS:
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] < '0' || s[i] > '9') {
				valid_ferror(err, prefix, f->name,
				    "must be digits");
				return -1;
			}
		break;
	case VT_ENUM:
		for (i = 0; f->values[i] != NULL; i++)
			if (strcmp(f->values[i], s) == 0)
				break;
		if (f->values[i] == NULL) {
			valid_ferror(err, prefix, f->name,
			    "not an allowed value");
			return -1;
		}
		s = f->values[i];
		break;
	case VT_TIME:
		if (util_time_parse(s, &n) == -1) {
			valid_ferror(err, prefix, f->name,
			    "must be an RFC 3339 time");
			return -1;
		}
		*(int64_t *)p = n;
		return 0;
	default:
		break;
	}
	*(const char **)p = s;
	return 0;
}

/*
 * Validate OBJ (must be a JSON object) against the W->nf fields of W->f,
 * filling W->base. Absent optional fields are left as the caller
 * initialised them and, when W->kept is not NULL, get their bit (1 <<
 * index in W->f) set in *W->kept. W->prefix is prepended to field names in
 * errors. Returns 0 or -1 with *err.
 */
static int
valid_fields(struct json_object *obj, const struct vwalk *w,
    struct verr *err)
{
	struct json_object	*v;
	size_t			 i;

	if (!json_object_is_type(obj, json_type_object)) {
		valid_error(err, *w->prefix != '\0' ? w->prefix : "body",
		    "must be a JSON object");
		return -1;
	}
	for (i = 0; i < w->nf; i++) {
		if (!json_object_object_get_ex(obj, w->f[i].name, &v)) {
			if (w->f[i].required) {
				valid_ferror(err, w->prefix, w->f[i].name,
				    "required");
				return -1;
			}
			if (w->kept != NULL)
				*w->kept |= 1U << i;
			continue;
		}
		if (valid_value(&w->f[i], v, w->base, w->prefix, err) == -1)
			return -1;
	}
	return 0;
}

/* Validate a heartbeat body into HB. Returns 0 or -1 with *err set. */
int
valid_heartbeat(struct json_object *obj, struct heartbeat *hb,
    struct verr *err)
{
	struct json_object	*slots, *o;
	struct hb_slot		*s;
	struct vwalk		 w = { .f = heartbeat_fields,
				    .nf = NFIELDS(heartbeat_fields),
				    .base = hb, .kept = &hb->kept,
				    .prefix = "" };
	char			 prefix[32];
	size_t			 i, j, n;

	memset(hb, 0, sizeof(*hb));
	hb->battery = hb->charging = hb->signal = -1;
	hb->uptime = -1;
	hb->nslots = -1;
	if (valid_fields(obj, &w, err) == -1)
		return -1;
	if (!json_object_object_get_ex(obj, "simSlots", &slots) ||
	    slots == NULL)
		return 0;
	if (!json_object_is_type(slots, json_type_array)) {
		valid_error(err, "simSlots", "must be an array");
		return -1;
	}
	if ((n = json_object_array_length(slots)) > GOIP_SLOTS_MAX) {
		valid_error(err, "simSlots", "too many slots");
		return -1;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(slots, i);
		s = &hb->slots[i];
		memset(s, 0, sizeof(*s));
		s->signal = -1;
		snprintf(prefix, sizeof(prefix), "simSlots[%zu]", i);
		w.f = slot_fields;
		w.nf = NFIELDS(slot_fields);
		w.base = s;
		w.kept = &s->kept;
		w.prefix = prefix;
		if (valid_fields(o, &w, err) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (hb->slots[j].slot == s->slot) {
				snprintf(prefix, sizeof(prefix),
				    "simSlots[%zu].slot", i);
				valid_error(err, prefix, "duplicate slot");
				return -1;
			}
	}
	hb->nslots = (int)n;
	return 0;
}

/* Validate one received SMS into SMS. Returns 0 or -1 with *err set. */
int
valid_sms_in(struct json_object *obj, struct sms_in *sms, struct verr *err)
{
	struct vwalk	 w = { .f = sms_in_fields, .nf = NFIELDS(sms_in_fields),
			    .base = sms, .prefix = "" };

	memset(sms, 0, sizeof(*sms));
	sms->received_at = -1;
	if (valid_fields(obj, &w, err) == -1)
		return -1;
	sms->textlen = strlen(sms->text);
	return 0;
}

/* Validate an outbound SMS request into SMS, with its segment count. */
int
valid_sms_out(struct json_object *obj, struct sms_out *sms, struct verr *err)
{
	struct vwalk	 w = { .f = sms_out_fields,
			    .nf = NFIELDS(sms_out_fields), .base = sms,
			    .prefix = "" };

	memset(sms, 0, sizeof(*sms));
	if (valid_fields(obj, &w, err) == -1)
		return -1;
	sms->textlen = strlen(sms->text);
	if (!valid_device_id(sms->device)) {
		valid_error(err, "deviceId", "invalid device id");
		return -1;
	}
	sms->segments = valid_sms_segments(sms->text, sms->textlen,
	    &sms->encoding);
	if (sms->segments > 10) {
		valid_error(err, "text", "longer than 10 SMS segments");
		return -1;
	}
	return 0;
}

/*
 * POST /api/devices/{id}/ussd: {"slot", "code"}, the code of 0-9 * # +
 * (ussd_code_valid()).
 */
int
valid_ussd_out(struct json_object *obj, struct ussd_out *u, struct verr *err)
{
	struct vwalk	 w = { .f = ussd_out_fields,
			    .nf = NFIELDS(ussd_out_fields), .base = u,
			    .prefix = "" };

	memset(u, 0, sizeof(*u));
	if (valid_fields(obj, &w, err) == -1)
		return -1;
	if (!ussd_code_valid(u->code)) {
		valid_error(err, "code", "must be 1-32 of 0-9 * # +");
		return -1;
	}
	return 0;
}

/* Is code point CP in the GSM 03.38 default alphabet (1) or extension (2)? */
static int
valid_gsm7(uint32_t cp)
{
	static const uint32_t basic[] = { '@', 0xa3, '$', 0xa5, 0xe8, 0xe9,
	    0xf9, 0xec, 0xf2, 0xc7, '\n', 0xd8, 0xf8, '\r', 0xc5, 0xe5,
	    0x394, '_', 0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3,
	    0x398, 0x39e, 0xc6, 0xe6, 0xdf, 0xc9, ' ', '!', '"', '#', 0xa4,
	    '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', ':', ';',
	    '<', '=', '>', '?', 0xa1, 0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf,
	    0xe4, 0xf6, 0xf1, 0xfc, 0xe0 };
	static const uint32_t ext[] = { '\f', '^', '{', '}', '\\', '[', '~',
	    ']', '|', 0x20ac };
	size_t	 i;

	if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
	    (cp >= '0' && cp <= '9'))
		return 1;
	for (i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (basic[i] == cp)
			return 1;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (ext[i] == cp)
			return 2;
	return 0;
}

/*
 * Decode the code point at P[*I] (P is LEN bytes of valid UTF-8) and move
 * *I past it.
 */
static uint32_t
valid_utf8_next(const unsigned char *p, size_t len, size_t *i)
{
	uint32_t	 cp;
	size_t		 n, k;

	if (p[*i] < 0x80) {
		cp = p[*i];
		n = 1;
	} else if ((p[*i] & 0xe0) == 0xc0) {
		cp = p[*i] & 0x1f;
		n = 2;
	} else if ((p[*i] & 0xf0) == 0xe0) {
		cp = p[*i] & 0x0f;
		n = 3;
	} else {
		cp = p[*i] & 0x07;
		n = 4;
	}
	for (k = 1; k < n && *i + k < len; k++)
		cp = (cp << 6) | (p[*i + k] & 0x3f);
	*i += n;
	return cp;
}

/*
 * The number of SMS segments TEXT (LEN bytes of valid UTF-8) needs, and
 * its encoding in *ENC ("gsm7" or "ucs2"). GSM-7: 160 septets alone, 153
 * per part; an extension character takes two septets and is never split.
 * UCS-2: 70 UTF-16 units alone, 67 per part; a surrogate pair is not split.
 */
int
valid_sms_segments(const char *text, size_t len, const char **enc)
{
	const unsigned char	*p = (const unsigned char *)text;
	size_t			 i, units = 0;
	uint32_t		 cp;
	int			 gsm = 1, w, seg = 1, used, pass, limit;

	/* Can it be GSM-7? */
	for (i = 0; i < len && gsm; )
		if (valid_gsm7(valid_utf8_next(p, len, &i)) == 0)
			gsm = 0;
	*enc = gsm ? "gsm7" : "ucs2";
	/* Pack into one message, else into parts, never splitting a char. */
	for (pass = 0; pass < 2; pass++) {
		limit = pass == 0 ? (gsm ? 160 : 70) : (gsm ? 153 : 67);
		seg = 1;
		used = 0;
		units = 0;
		for (i = 0; i < len; ) {
			cp = valid_utf8_next(p, len, &i);
			w = gsm ? valid_gsm7(cp) : (cp > 0xffff ? 2 : 1);
			units += (size_t)w;
			if (used + w > limit) {
				seg++;
				used = 0;
			}
			used += w;
		}
		if (pass == 0 && units <= (size_t)limit)
			return 1;
	}
	return seg;
}
