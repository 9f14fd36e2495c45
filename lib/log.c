/*
 * log.c: one place where every program logs, in the manner of OpenBSD's
 * log.c. Messages go to syslog, or to stderr when the program runs in the
 * foreground (-d). Every line is escaped: control bytes and non-ASCII bytes
 * become \ooo, so a hostile string cannot forge a line. Callers never pass
 * tokens or SMS bodies.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "goip.h"

static int		 log_tostderr = 1;
static enum log_level	 log_level = LOG_LEVEL_INFO;
static const char	*log_procname = "goip";

static void	 log_vmsg(int, const char *, va_list)
		    __attribute__((__format__(printf, 2, 0)));

/*
 * Start logging as the program NAME; to stderr when FOREGROUND is set, else
 * to syslog (facility daemon). May be called again, e.g. after a fork.
 */
void
log_init(const char *name, int foreground, enum log_level level)
{
	log_procname = name;
	log_tostderr = foreground;
	log_level = level;
	if (!foreground)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/*
 * Copy LEN bytes of SRC to DST (of size DSTSZ, NUL-terminated), escaping
 * every byte outside printable ASCII as \ooo and the backslash as \\.
 * Returns the length written; the output is truncated, never overflowed.
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t		 i, o = 0;
	unsigned char	 c;

	if (dstsz == 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsz)
				break;
			if (c == '\\') {
				dst[o++] = '\\';
				dst[o++] = '\\';
			} else
				o += (size_t)snprintf(dst + o, dstsz - o,
				    "\\%03o", c);
		}
	}
	dst[o] = '\0';
	return o;
}

/* Format, escape and emit one message at syslog priority PRI. */
static void
log_vmsg(int pri, const char *fmt, va_list ap)
{
	char	 raw[2048], esc[8192];
	int	 n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	log_escape(esc, sizeof(esc), raw, (size_t)n);
	if (log_tostderr)
		fprintf(stderr, "%s: %s\n", log_procname, esc);
	else
		syslog(pri, "%s", esc);
}

/* Emit an already formatted message; it is escaped like any other. */
static void
log_msg_plain(int pri, const char *msg)
{
	char	 esc[8192];

	log_escape(esc, sizeof(esc), msg, strlen(msg));
	if (log_tostderr)
		fprintf(stderr, "%s: %s\n", log_procname, esc);
	else
		syslog(pri, "%s", esc);
}

static void
log_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	 buf[1024];

	if (fmt == NULL) {
		snprintf(buf, sizeof(buf), "%s", strerror(saved));
	} else {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		if (strlen(buf) + 3 < sizeof(buf)) {
			strncat(buf, ": ", sizeof(buf) - strlen(buf) - 1);
			strncat(buf, strerror(saved),
			    sizeof(buf) - strlen(buf) - 1);
		}
	}
	log_msg_plain(pri, buf);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
