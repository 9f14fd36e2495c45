/*
 * api_devices.c: GET /api/devices and GET /api/devices/{id}.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

void
api_devices_list(struct request *req)
{
	struct json_object	*arr;
	char			*cause = NULL;
	enum store_rc		 rc;

	if ((rc = device_list_json(req->st, &arr, &cause)) != STORE_OK) {
		request_store_error(req, rc, cause);
		return;
	}
	reply_json(req, 200, arr);
	json_object_put(arr);
}

/*
 * One device with its recent heartbeat history, for the device page; a
 * device with GoIP lines (goip-udpd) has them in "goipLines" and its latest
 * USSD requests with their replies in "ussd".
 */
void
api_devices_get(struct request *req)
{
	struct json_object	*o, *lines = NULL, *ussd = NULL;
	const char		*id = req->path + strlen("devices/");
	char			*cause = NULL;
	int64_t			 rowid;
	enum store_rc		 rc;

	if (!valid_device_id(id)) {
		reply_error(req, 400, "invalid device id", "deviceId");
		return;
	}
	if ((rc = device_lookup(req->st, id, &rowid, &cause)) != STORE_OK ||
	    (rc = device_json(req->st, rowid, 1, &o, &cause)) != STORE_OK) {
		request_store_fail(req, rc, cause, "unknown device",
		    "deviceId");
		return;
	}
	rc = line_json(req->st, rowid, &lines, &cause);
	if (rc == STORE_OK && json_object_array_length(lines) > 0)
		rc = ussd_list_json(req->st, rowid, &ussd, &cause);
	if (rc != STORE_OK) {
		json_object_put(o);
		json_object_put(lines);
		request_store_error(req, rc, cause);
		return;
	}
	if (json_object_array_length(lines) > 0) {
		json_object_object_add(o, "goipLines", lines);
		json_object_object_add(o, "ussd", ussd);
	} else
		json_object_put(lines);
	reply_json(req, 200, o);
	json_object_put(o);
}
