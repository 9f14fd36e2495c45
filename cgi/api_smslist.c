/*
 * api_smslist.c: GET /api/sms?deviceId=&direction=in|out&limit=&before=
 * Newest first, paged by id: the next page is before=<smallest id seen>.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

#define SMSLIST_DEFAULT	50
#define SMSLIST_MAX	500

/* Parse a positive decimal integer no larger than MAX; -1 if it is not. */
static long long
api_smslist_number(const char *s, long long max)
{
	char		*end;
	long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	return v;
}

void
api_smslist_get(struct request *req)
{
	struct json_object	*arr;
	struct sms_page		 page;
	char			 dev[128], dir[8], num[32], *cause = NULL;
	const char		*direction = NULL;
	long long		 limit = SMSLIST_DEFAULT, before = 0;
	int64_t			 rowid = -1;
	enum store_rc		 rc;
	int			 r;

	if ((r = request_query(req, "direction", dir, sizeof(dir))) == -1 ||
	    (r == 1 && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0 &&
	    dir[0] != '\0')) {
		reply_error(req, 400, "must be in or out", "direction");
		return;
	}
	if (r == 1 && dir[0] != '\0')
		direction = dir;
	if ((r = request_query(req, "limit", num, sizeof(num))) == -1 ||
	    (r == 1 && num[0] != '\0' &&
	    (limit = api_smslist_number(num, SMSLIST_MAX)) == -1)) {
		reply_error(req, 400, "must be an integer from 1 to 500",
		    "limit");
		return;
	}
	if ((r = request_query(req, "before", num, sizeof(num))) == -1 ||
	    (r == 1 && num[0] != '\0' &&
	    (before = api_smslist_number(num, INT64_MAX - 1)) == -1)) {
		reply_error(req, 400, "must be a positive integer", "before");
		return;
	}
	if ((r = request_query(req, "deviceId", dev, sizeof(dev))) == -1 ||
	    (r == 1 && dev[0] != '\0' && !valid_device_id(dev))) {
		reply_error(req, 400, "invalid device id", "deviceId");
		return;
	}
	if (r == 1 && dev[0] != '\0') {
		if ((rc = device_lookup(req->st, dev, &rowid, &cause)) !=
		    STORE_OK) {
			request_store_fail(req, rc, cause, "unknown device",
			    "deviceId");
			return;
		}
	}
	page.device = rowid;
	page.direction = direction;
	page.limit = (int)limit;
	page.before = before;
	if ((rc = sms_list_json(req->st, &page, &arr, &cause)) != STORE_OK) {
		request_store_error(req, rc, cause);
		return;
	}
	reply_json(req, 200, arr);
	json_object_put(arr);
}
