#
# hostile_test: goip-dashboard against clients that mean harm (issue 11).
# Each case is self-contained: it makes its own instance (lib.subr), starts
# what it needs and stops it in its cleanup part.
#
# cgi__*: goip-cgi holds against slow and greedy clients: a dripping body
# holds nobody else, routing is strict, each device has a request rate, and
# SMS are pruned in batches after sms_retention.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# cgi_conf LINE...: set goip.conf keys of DIR, replacing earlier values.
cgi_conf()
{
	local line key

	for line in "$@"; do
		key=${line%% *}
		sed -i "/^${key} *=/d" "${DIR}/goip.conf"
		echo "${line}" >>"${DIR}/goip.conf"
	done
}

# cgi_http METHOD URL [CURL-ARGS...]: send a request, keep the body in ./body
# and the headers in ./headers, print the status code.
cgi_http()
{
	local method="$1" url="$2"

	shift 2
	curl -s -X "${method}" -o body -D headers -w '%{http_code}' \
	    --max-time 20 "$@" "${url}"
}

# cgi_heartbeat TOKEN DEVICE: post a heartbeat to BASE, print the status.
cgi_heartbeat()
{
	cgi_http POST "${BASE}/api/device/heartbeat" \
	    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
	    --data-binary "{\"deviceId\":\"$2\",\"battery\":80,\"signal\":50}"
}

# cgi_sms TOKEN DEVICE MID: post a received SMS to BASE, print the status.
cgi_sms()
{
	cgi_http POST "${BASE}/api/sms/receive" \
	    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
	    --data-binary "{\"deviceId\":\"$2\",\"messageId\":\"$3\",\"slot\":1,\"from\":\"+447700900123\",\"text\":\"hello\"}"
}

# cgi_sql SQL: one value from the instance's database.
cgi_sql()
{
	sqlite3 -cmd ".timeout 5000" "${DIR}/goip.db" "$1"
}

atf_test_case cgi__slow_body_apache cleanup
cgi__slow_body_apache_head()
{
	atf_set descr "Through Apache (etc/apache-goip.conf, one goip-cgi process), a client dripping a 64 KiB body to /api/sms/receive holds nobody: another device's heartbeats are answered 200 while it drips, and the drip is cut at body_timeout having stored nothing"
	atf_set require.progs "apache2 spawn-fcgi curl python3 sqlite3"
	atf_set timeout 120
}
cgi__slow_body_apache_body()
{
	local port t1 t2 i code drip start end status

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	cgi_conf "body_timeout = 5s"
	t1=$(goip_device_add "${DIR}" goip-01)
	t2=$(goip_device_add "${DIR}" goip-02)
	port=$(goip_free_port)
	goip_apache_start "${DIR}" "${port}" 1
	BASE="http://127.0.0.1:${port}"
	# The server answers at all before the drip starts.
	code=$(cgi_heartbeat "${t2}" goip-02)
	[ "${code}" = 200 ] || atf_fail "first heartbeat: ${code} $(cat body)"

	cat >drip.py <<'PY'
import socket, sys, time
host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
length = 65536
s = socket.create_connection((host, port), timeout=60)
s.sendall(("POST /api/sms/receive HTTP/1.1\r\nHost: %s:%d\r\n"
    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
    "Content-Length: %d\r\nConnection: close\r\n\r\n" %
    (host, port, token, length)).encode())
body = b'{"deviceId":"goip-01","messageId":"drip","slot":1,"text":"' + \
    b"x" * length
t0 = time.monotonic()
sent = 0
s.settimeout(0.1)
answer = b""
while sent < length:
    try:
        s.sendall(body[sent:sent + 16])
    except OSError:
        break
    sent += 16
    if sent == 16:
        print("started", flush=True)
    try:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
        break
    except socket.timeout:
        pass
    except OSError:
        break
s.settimeout(5)
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
except OSError:
    pass
line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
print("end sent=%d elapsed=%.1f status=%s" % (sent, time.monotonic() - t0,
    line.split(" ")[1] if line.startswith("HTTP/") else "closed"),
    flush=True)
PY
	python3 drip.py 127.0.0.1 "${port}" "${t1}" >drip.out 2>drip.err &
	drip=$!
	i=0
	while ! grep -q '^started' drip.out; do
		i=$((i + 1))
		[ "${i}" -lt 200 ] || atf_fail "the drip did not start: $(cat drip.err)"
		sleep 0.05
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		code=$(cgi_heartbeat "${t2}" goip-02)
		[ "${code}" = 200 ] ||
		    atf_fail "heartbeat ${i} during the drip: ${code} $(cat body)"
	done
	# All ten were answered while the body was still dripping.
	! grep -q '^end' drip.out ||
	    atf_fail "the drip ended before the heartbeats: $(cat drip.out)"
	wait "${drip}" || atf_fail "drip client failed: $(cat drip.err)"
	end=$(grep '^end' drip.out) || atf_fail "drip: $(cat drip.out drip.err)"
	echo "${end}"
	# Cut at body_timeout (5 s), long before its 64 KiB (410 s) were sent.
	start=${end#*elapsed=}
	start=${start%% *}
	awk -v e="${start}" 'BEGIN { exit !(e >= 4 && e < 60) }' ||
	    atf_fail "the drip was not cut at body_timeout: ${end}"
	status=${end##*status=}
	case "${status}" in
	408|5??|closed) ;;
	*) atf_fail "the dripping request was answered ${status}" ;;
	esac
	[ "$(cgi_sql 'SELECT count(*) FROM sms')" = 0 ] ||
	    atf_fail "the dripping request stored an SMS"
	code=$(cgi_heartbeat "${t2}" goip-02)
	[ "${code}" = 200 ] || atf_fail "heartbeat after the drip: ${code}"
}
cgi__slow_body_apache_cleanup()
{
	goip_cleanup
}

atf_test_case cgi__route_second_api cleanup
cgi__route_second_api_head()
{
	atf_set descr "With dashboard_auth = none, a dashboard route behind a device prefix (/api/device/x/api/devices) is 404 through lighttpd and Apache, and through plain CGI; the plain routes still answer"
	atf_set require.progs "lighttpd apache2 spawn-fcgi curl"
	atf_set timeout 120
}
cgi__route_second_api_body()
{
	local port code server path out cred

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	cgi_conf "dashboard_auth = none"
	goip_device_add "${DIR}" goip-01 >/dev/null
	cred=$(goip_credentials "${DIR}")
	for server in lighttpd apache; do
		port=$(goip_free_port)
		"goip_${server}_start" "${DIR}" "${port}" 1
		BASE="http://127.0.0.1:${port}"
		code=$(cgi_http GET "${BASE}/api/devices" -u "${cred}")
		[ "${code}" = 200 ] || atf_fail "${server}: /api/devices: ${code}"
		# The web server lets the device prefix through unauthenticated.
		code=$(cgi_http GET "${BASE}/api/device/outbox")
		[ "${code}" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' headers ||
		    atf_fail "${server}: /api/device/outbox did not reach goip-cgi: ${code}"
		for path in /api/device/x/api/devices /api/device/api/devices \
		    /api/device/%61pi/devices \
		    /api/device/x/api/; do
			code=$(cgi_http GET "${BASE}${path}" --path-as-is)
			[ "${code}" = 404 ] ||
			    atf_fail "${server}: GET ${path}: ${code}"
		done
		code=$(cgi_http POST "${BASE}/api/device/x/api/sms/send" \
		    -H 'Content-Type: application/json' --data-binary \
		    '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"x"}')
		[ "${code}" = 404 ] || atf_fail "${server}: sms/send: ${code}"
		"goip_${server}_stop" "${DIR}"
	done
	[ "$(cgi_sql "SELECT count(*) FROM sms")" = 0 ] ||
	    atf_fail "a nested route stored an SMS"
	out=$(GOIP_CONF="${DIR}/goip.conf" REQUEST_METHOD=GET \
	    SCRIPT_NAME=/api/device/x/api/devices "${GOIP_CGI}")
	echo "${out}" | grep -q '^Status: 404' ||
	    atf_fail "plain CGI: ${out}"
}
cgi__route_second_api_cleanup()
{
	goip_cleanup
}

atf_test_case cgi__device_rate_limit cleanup
cgi__device_rate_limit_head()
{
	atf_set descr "Past device_burst requests at device_rate, a device is answered 429 with Retry-After and a JSON error and nothing of its request is stored; another device is served meanwhile"
	atf_set require.progs "lighttpd curl sqlite3 jq"
	atf_set timeout 120
}
cgi__device_rate_limit_body()
{
	local port t1 t2 i code ok=0 limited=0

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	cgi_conf "device_rate = 1" "device_burst = 5"
	t1=$(goip_device_add "${DIR}" goip-01)
	t2=$(goip_device_add "${DIR}" goip-02)
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}" 1
	BASE="http://127.0.0.1:${port}"
	# The burst, then at most one more a second: 429 within 20 tries.
	for i in $(seq 1 20); do
		code=$(cgi_sms "${t1}" goip-01 "m${i}")
		case "${code}" in
		201) ok=$((ok + 1)) ;;
		429) limited=1; break ;;
		*) atf_fail "sms ${i}: ${code} $(cat body)" ;;
		esac
	done
	[ "${limited}" = 1 ] || atf_fail "no 429 after 20 requests"
	[ "${ok}" -ge 5 ] || atf_fail "429 before the burst of 5 was used: ${ok}"
	grep -qi '^Retry-After: [1-9][0-9]*' headers ||
	    atf_fail "429 without Retry-After: $(cat headers)"
	jq -e '.error | type == "string"' body >/dev/null ||
	    atf_fail "429 body is not a JSON error: $(cat body)"
	# Only what was answered 201 is stored.
	[ "$(cgi_sql "SELECT count(*) FROM sms")" = "${ok}" ] ||
	    atf_fail "stored $(cgi_sql 'SELECT count(*) FROM sms'), answered 201 ${ok}"
	[ "$(cgi_sql "SELECT count(*) FROM sms WHERE message_id = 'm${i}'")" = 0 ] ||
	    atf_fail "the refused SMS was stored"
	# Another device has its own bucket.
	for i in 1 2 3; do
		code=$(cgi_heartbeat "${t2}" goip-02)
		[ "${code}" = 200 ] || atf_fail "other device: ${code}"
	done
}
cgi__device_rate_limit_cleanup()
{
	goip_cleanup
}

atf_test_case cgi__sms_retention_batched cleanup
cgi__sms_retention_batched_head()
{
	atf_set descr "With sms_retention = 1h, goipctl prune deletes the older SMS in batches and keeps the recent ones and an old outbound SMS still queued; the stats counters are unchanged"
	atf_set require.progs "sqlite3 jq"
	atf_set timeout 120
}
cgi__sms_retention_batched_body()
{
	local t1 body old stats

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	cgi_conf "sms_retention = 1h"
	t1=$(goip_device_add "${DIR}" goip-01)
	old=$(( ($(date +%s) - 7200) * 1000 ))
	cgi_sql "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1234)
INSERT INTO sms(device, direction, sender, text, message_id, stored_at, status)
    SELECT (SELECT id FROM devices), 'in', '+4477', 'old', 'old-' || x, ${old}, 'received' FROM c;
INSERT INTO sms(device, direction, recipient, text, stored_at, status)
    VALUES ((SELECT id FROM devices), 'out', '+48600100200', 'in flight', ${old}, 'queued');" ||
	    atf_fail "cannot fill the sms table"
	for body in new-1 new-2; do
		body="{\"deviceId\":\"goip-01\",\"messageId\":\"${body}\",\"slot\":1,\"from\":\"+447700900123\",\"text\":\"recent\"}"
		printf '%s' "${body}" | GOIP_CONF="${DIR}/goip.conf" \
		    REQUEST_METHOD=POST PATH_INFO=/api/sms/receive \
		    CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
		    HTTP_AUTHORIZATION="Bearer ${t1}" "${GOIP_CGI}" >cgi.out 2>&1
		grep -q '^Status: 201' cgi.out || atf_fail "receive: $(cat cgi.out)"
	done
	stats() {
		GOIP_CONF="${DIR}/goip.conf" REQUEST_METHOD=GET \
		    PATH_INFO=/api/stats REMOTE_USER=admin "${GOIP_CGI}" |
		    sed '1,/^\r*$/d' | jq -c .sms
	}
	before=$(stats)
	atf_check -o match:"^[0-9]+ events pruned$" -o match:"^1234 sms pruned$" \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" prune
	[ "$(cgi_sql "SELECT count(*) FROM sms WHERE text = 'recent'")" = 2 ] ||
	    atf_fail "recent SMS were pruned"
	[ "$(cgi_sql "SELECT count(*) FROM sms WHERE status = 'queued'")" = 1 ] ||
	    atf_fail "the queued SMS was pruned"
	[ "$(cgi_sql "SELECT count(*) FROM sms")" = 3 ] ||
	    atf_fail "old SMS left: $(cgi_sql 'SELECT count(*) FROM sms')"
	[ "$(stats)" = "${before}" ] ||
	    atf_fail "stats changed: ${before} -> $(stats)"
	echo "${before}" | jq -e '.received == 1236 and .queued == 1' >/dev/null ||
	    atf_fail "counters: ${before}"
	atf_check -o match:"^0 sms pruned$" "${GOIP_CTL}" -c "${DIR}/goip.conf" prune
}
cgi__sms_retention_batched_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case cgi__slow_body_apache
	atf_add_test_case cgi__route_second_api
	atf_add_test_case cgi__device_rate_limit
	atf_add_test_case cgi__sms_retention_batched
}
