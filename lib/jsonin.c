/*
 * jsonin.c: parsing untrusted JSON bodies.
 *
 * json-c in strict mode with UTF-8 validation and a depth limit; the whole
 * body must be one value with nothing but white space after it. Strings
 * with an embedded NUL (from \u0000) are refused afterwards, since every
 * consumer treats text as C strings.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "goip.h"

static __thread struct json_tokener *jsonin_tok;

static int	 jsonin_check_strings(struct json_object *, const char **);

/* JSON's structural characters and white space. */
static int
jsonin_structural(char c)
{
	switch (c) {
	case '{': case '}': case '[': case ']': case ',': case ':':
	case ' ': case '\t': case '\r': case '\n':
		return 1;
	}
	return 0;
}

/* The characters of a JSON number. */
static int
jsonin_numeric(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
	    c == 'e' || c == 'E';
}

/*
 * Check that the LEN bytes at BUF hold only JSON tokens outside strings and
 * no \u0000 inside them. Returns NULL, or a static reason. json-c 0.16 in
 * strict mode still takes single-quoted strings, NaN and Infinity, and it
 * cuts object keys at a NUL (so jsonin_check_strings() cannot see one
 * there). Outside double-quoted strings only structural characters, white
 * space, numbers and the literals true, false and null may appear (or, at
 * the very end, a prefix of one: the body is then truncated). One pass,
 * no allocation.
 */
static const char *
jsonin_tokens(const char *buf, size_t len)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t			 i = 0, n, k;
	char			 c;

	while (i < len) {
		c = buf[i];
		if (c == '"') {
			for (i++; i < len && buf[i] != '"'; i++) {
				if (buf[i] != '\\')
					continue;
				if (len - i >= 6 &&
				    strncmp(buf + i, "\\u0000", 6) == 0)
					return "invalid UTF-8 or NUL in string";
				i++;
			}
			i++;
		} else if (jsonin_structural(c))
			i++;
		else if (c == '-' || (c >= '0' && c <= '9')) {
			while (i < len && jsonin_numeric(buf[i]))
				i++;
		} else {
			for (n = 0; i + n < len && buf[i + n] >= 'a' &&
			    buf[i + n] <= 'z'; n++)
				;
			for (k = 0; k < 3; k++)
				if (n > 0 && n <= strlen(lits[k]) &&
				    strncmp(buf + i, lits[k], n) == 0 &&
				    (n == strlen(lits[k]) || i + n == len))
					break;
			if (k == 3)
				return "malformed JSON";
			i += n;
		}
	}
	return NULL;
}

/*
 * Parse the LEN bytes at BUF. Returns the value (caller puts it), or NULL
 * with *why set to a static reason. Each thread keeps one tokener for all
 * its calls.
 */
struct json_object *
jsonin_parse(const char *buf, size_t len, const char **why)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 off;

	if (len > INT32_MAX) {
		*why = "body too large";
		return NULL;
	}
	if ((*why = jsonin_tokens(buf, len)) != NULL)
		return NULL;
	/* One tokener per thread, kept: it is a large allocation. */
	if (jsonin_tok == NULL &&
	    (jsonin_tok = json_tokener_new_ex(GOIP_JSON_DEPTH)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	tok = jsonin_tok;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (obj == NULL && jerr == json_tokener_continue) {
		/*
		 * Everything was consumed. A number or literal at the very
		 * end completes only at the end of input: say so with a NUL.
		 */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		off = len;
	}
	json_tokener_reset(tok);	/* drops what a failed parse built */
	if (jerr == json_tokener_continue ||
	    jerr == json_tokener_error_parse_eof) {
		json_object_put(obj);
		*why = "truncated JSON";
		return NULL;
	}
	if (obj == NULL && jerr == json_tokener_success) {
		*why = "null is not a JSON object";
		return NULL;
	}
	if (jerr != json_tokener_success) {
		if (jerr == json_tokener_error_depth)
			*why = "JSON nested too deeply";
		else if (jerr == json_tokener_error_parse_utf8_string)
			*why = "invalid UTF-8";
		else
			*why = "malformed JSON";
		json_object_put(obj);
		return NULL;
	}
	for (; off < len; off++) {
		if (buf[off] == '\0' || strchr(" \t\r\n", buf[off]) == NULL) {
			*why = "trailing data after JSON";
			json_object_put(obj);
			return NULL;
		}
	}
	if (jsonin_check_strings(obj, why) == -1) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/*
 * Walk OBJ and refuse any string or key holding a NUL byte or invalid
 * UTF-8. Returns 0, or -1 with *why set.
 */
static int
jsonin_check_strings(struct json_object *obj, const char **why)
{
	size_t	 i, n;

	switch (json_object_get_type(obj)) {
	case json_type_string:
		if (!util_utf8_valid(json_object_get_string(obj),
		    (size_t)json_object_get_string_len(obj))) {
			*why = "invalid UTF-8 or NUL in string";
			return -1;
		}
		return 0;
	case json_type_array:
		n = json_object_array_length(obj);
		for (i = 0; i < n; i++)
			if (jsonin_check_strings(json_object_array_get_idx(obj,
			    i), why) == -1)
				return -1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(obj, key, val) {
			if (!util_utf8_valid(key, strlen(key))) {
				*why = "invalid UTF-8 in key";
				return -1;
			}
			if (jsonin_check_strings(val, why) == -1)
				return -1;
		}
		return 0;
	}
	default:
		return 0;
	}
}
