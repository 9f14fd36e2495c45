/*
 * reply.c: answers. Every answer is JSON with "Cache-Control: no-store";
 * errors are {"error": "...", "field": "..."} (field only when one input
 * field is at fault). A request is answered once: later calls are ignored.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

/* The reason phrase of STATUS. */
const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* Queue the extra header line LINE (no CRLF) for the answer. */
void
reply_header(struct request *req, int status, const char *line)
{
	size_t	 used = strlen(req->headers);

	(void)status;
	snprintf(req->headers + used, sizeof(req->headers) - used, "%s\r\n",
	    line);
}

static void
reply_write(struct request *req, const char *buf, size_t len)
{
	char	*p;
	size_t	 size;

	if (req->buffered) {
		if (req->out_len + len > req->out_size) {
			size = req->out_size == 0 ? 1024 : req->out_size;
			while (size < req->out_len + len)
				size *= 2;
			if ((p = realloc(req->out_buf, size)) == NULL)
				fatal("realloc");
			req->out_buf = p;
			req->out_size = size;
		}
		memcpy(req->out_buf + req->out_len, buf, len);
		req->out_len += len;
	} else if (req->out != NULL)
		FCGX_PutStr(buf, (int)len, req->out);
	else
		fwrite(buf, 1, len, stdout);
}

/* Answer STATUS with OBJ as the body; OBJ is not consumed. */
void
reply_json(struct request *req, int status, struct json_object *obj)
{
	char		 head[512];
	const char	*body;
	size_t		 len;
	int		 n;

	if (req->answered)
		return;
	req->answered = 1;
	body = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (body == NULL) {
		body = "{\"error\":\"internal error\"}";
		len = strlen(body);
		status = 500;
	}
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s\r\n", status, reply_reason(status), len + 1, req->headers);
	reply_write(req, head, (size_t)n);
	reply_write(req, body, len);
	reply_write(req, "\n", 1);
}

/* Answer STATUS with {"error": MSG, "field": FIELD}; FIELD may be NULL. */
void
reply_error(struct request *req, int status, const char *msg,
    const char *field)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return;
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (field != NULL)
		json_object_object_add(o, "field",
		    json_object_new_string(field));
	reply_json(req, status, o);
	json_object_put(o);
}

/* Send what a buffered request answered, and free it. */
void
reply_flush(struct request *req)
{
	if (req->out_len > 0 && req->out != NULL)
		FCGX_PutStr(req->out_buf, (int)req->out_len, req->out);
	else if (req->out_len > 0)
		fwrite(req->out_buf, 1, req->out_len, stdout);
	free(req->out_buf);
	req->out_buf = NULL;
	req->out_len = req->out_size = 0;
}

/* Forget a buffered answer, so the request can be answered again. */
void
reply_reset(struct request *req)
{
	req->out_len = 0;
	req->answered = 0;
	req->headers[0] = '\0';
}
