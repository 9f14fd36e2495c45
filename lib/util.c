/*
 * util.c: allocation wrappers for start-up paths, time in milliseconds and
 * its RFC 3339 form, UTF-8 validation and constant-time comparison.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goip.h"

/* Exit-on-failure allocators: only for start-up and tools, never per request. */
void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("calloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	return n;
}

/* Wall-clock time as milliseconds since the epoch. */
int64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic clock in milliseconds: for deadlines and rates, never dates. */
int64_t
util_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Write MS (unix milliseconds) as RFC 3339 UTC with milliseconds,
 * "2026-11-25T10:14:58.000Z", the form of JavaScript's toISOString().
 * Returns 0, or -1 when BUF is too small or the time out of range.
 */
int
util_time_format(int64_t ms, char *buf, size_t bufsz)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 frac;
	int		 n;

	t = (time_t)(ms / 1000);
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		t -= 1;
	}
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	n = snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
	if (n < 0 || (size_t)n >= bufsz)
		return -1;
	return 0;
}

static int
util_digits(const char **s, int n, int *out)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/*
 * Parse an RFC 3339 date-time ("2026-11-25T10:14:58Z", optional fraction,
 * "Z" or "+hh:mm"/"-hh:mm") into unix milliseconds. Returns 0 or -1; the
 * whole string must match, and fields must be in range.
 */
int
util_time_parse(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int		 y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, i;
	int64_t		 frac = 0, scale = 100, days;

	if (util_digits(&s, 4, &y) == -1 || *s++ != '-' ||
	    util_digits(&s, 2, &mo) == -1 || *s++ != '-' ||
	    util_digits(&s, 2, &d) == -1 || (*s != 'T' && *s != 't'))
		return -1;
	s++;
	if (util_digits(&s, 2, &h) == -1 || *s++ != ':' ||
	    util_digits(&s, 2, &mi) == -1 || *s++ != ':' ||
	    util_digits(&s, 2, &sec) == -1)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (i = 0; *s >= '0' && *s <= '9'; s++, i++) {
			if (i >= 9)
				return -1;
			frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (util_digits(&s, 2, &oh) == -1 || *s++ != ':' ||
		    util_digits(&s, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return -1;
	if (sec == 60)
		sec = 59;
	/* Days from civil, Howard Hinnant's algorithm. */
	{
		int64_t	 yy = mo <= 2 ? y - 1 : y;
		int64_t	 era = yy / 400;
		int64_t	 yoe = yy - era * 400;
		int64_t	 doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t	 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*ms = ((days * 86400 + h * 3600 + mi * 60 + sec) -
	    sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

/*
 * Return 1 when the LEN bytes at S are well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) with no NUL byte,
 * else 0.
 */
int
util_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	uint32_t		 cp;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Compare LEN bytes in time independent of where they differ. */
int
util_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
