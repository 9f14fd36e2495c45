/*
 * fuzz_jsonin.c: libFuzzer harness for the device and operator body path:
 * jsonin_parse() then every validator and the SMS segment counter, as
 * goip-cgi runs them on untrusted bytes.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*obj;
	struct heartbeat	 hb;
	struct sms_in		 in;
	struct sms_out		 out;
	struct verr		 err;
	const char		*why, *enc;

	if ((obj = jsonin_parse((const char *)data, size, &why)) == NULL)
		return 0;
	memset(&err, 0, sizeof(err));
	valid_heartbeat(obj, &hb, &err);
	memset(&err, 0, sizeof(err));
	valid_sms_in(obj, &in, &err);
	memset(&err, 0, sizeof(err));
	if (valid_sms_out(obj, &out, &err) == 0)
		valid_sms_segments(out.text, out.textlen, &enc);
	json_object_put(obj);
	return 0;
}
