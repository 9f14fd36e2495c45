#
# webserver_test: goip-cgi (and goip-notifier) behind real lighttpd and real
# Apache httpd, configured with the site fragments of etc/ unchanged, on free
# loopback ports.  Each case runs the same scenario against one server.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# The test device's heartbeat, as DESIGN.md section 3 shows it.
HEARTBEAT='{"deviceId": "goip-01", "battery": 87, "charging": true,
 "signal": 74, "firmware": "GST1610-1.01", "uptime": 86400,
 "simSlots": [{"slot": 1, "status": "ready", "operator": "PLAY",
 "phoneNumber": "+48500100200", "iccid": "8948000000000000001",
 "imsi": "260060000000001", "signal": 71, "registration": "home"}]}'

# ws_start SERVER [PROCS]: make an instance with device goip-01, start SERVER
# (lighttpd or apache) on it and set DIR, BASE, TOKEN and CRED.
ws_start()
{
	local port

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	TOKEN=$(goip_device_add "${DIR}" goip-01)
	[ -n "${TOKEN}" ] || atf_fail "goipctl device add printed no token"
	CRED=$(goip_credentials "${DIR}")
	port=$(goip_free_port)
	"goip_${1}_start" "${DIR}" "${port}" "${2:-2}"
	BASE="http://127.0.0.1:${port}"
}

# http METHOD PATH [CURL-ARGS...]: goip_http to BASE: the body in ./body,
# the headers in ./headers; prints the status code.
http()
{
	local method="$1" path="$2"

	shift 2
	goip_http "${method}" "${BASE}${path}" "$@"
}

# expect STATUS METHOD PATH [CURL-ARGS...]: like http, failing the case unless
# the answer has STATUS.
expect()
{
	local want="$1" got

	shift
	got=$(http "$@")
	[ "${got}" = "${want}" ] ||
	    atf_fail "$1 $2: status ${got}, expected ${want}: $(head -c 400 body)"
}

# json FILTER: fail unless jq FILTER is true of ./body.
json()
{
	jq -e "$1" body >/dev/null 2>&1 ||
	    atf_fail "body does not satisfy $1: $(head -c 600 body)"
}

# heartbeat: post the test heartbeat with the device's token, expect 200.
heartbeat()
{
	expect 200 POST /api/device/heartbeat \
	    -H "Authorization: Bearer ${TOKEN}" \
	    -H 'Content-Type: application/json' --data-binary "${HEARTBEAT}"
}

# receive FILE: post the JSON message in FILE with the device's token; print
# the status.
receive()
{
	http POST /api/sms/receive -H "Authorization: Bearer ${TOKEN}" \
	    -H 'Content-Type: application/json' --data-binary "@$1"
}

scenario_heartbeat_token()
{
	heartbeat
	json '.ok == true and .deviceId == "goip-01" and .status == "online"'
	json '.heartbeatInterval == 30 and (.serverTime | type) == "string"'

	expect 401 POST /api/device/heartbeat \
	    -H 'Authorization: Bearer not-a-token-of-any-device' \
	    -H 'Content-Type: application/json' --data-binary "${HEARTBEAT}"
	json '.error | type == "string"'
	grep -qi '^WWW-Authenticate: Basic' headers &&
	    atf_fail "device route answered by HTTP basic authentication"

	expect 401 POST /api/device/heartbeat \
	    -H 'Content-Type: application/json' --data-binary "${HEARTBEAT}"
	json '.error | type == "string"'
}

scenario_dashboard_auth()
{
	heartbeat

	for path in /api/devices /api/devices/goip-01 /api/stats \
	    '/api/sms?limit=5' /; do
		expect 401 GET "${path}"
		grep -qi '^WWW-Authenticate: Basic' headers ||
		    atf_fail "GET ${path}: 401 without a Basic challenge"
	done
	# A wrong password (lighttpd delays each failure by a second: once).
	expect 401 GET /api/devices -u admin:wrong-password
	# A dashboard route hidden behind a device prefix is no route at all:
	# goip-cgi routes on the first /api/ and refuses a second one.
	expect 404 GET /api/device/x/api/devices
	json '.error | type == "string"'
	expect 401 POST /api/sms/send -H 'Content-Type: application/json' \
	    --data-binary '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"x"}'

	expect 200 GET /api/devices -u "${CRED}"
	grep -qi '^Content-Type: application/json' headers ||
	    atf_fail "GET /api/devices: not application/json"
	json 'type == "array" and length == 1'
	json '.[0] | .deviceId == "goip-01" and .status == "online"
	    and .battery == 87 and .charging == true and .signal == 74
	    and .firmware == "GST1610-1.01" and .uptime == 86400
	    and (.lastSeen | type) == "string" and has("name")'
	json '.[0].simSlots[0] | .slot == 1 and .status == "ready"
	    and .operator == "PLAY" and .phoneNumber == "+48500100200"
	    and .signal == 71 and .registration == "home"'

	expect 200 GET /api/devices/goip-01 -u "${CRED}"
	json '.deviceId == "goip-01" and .status == "online"'

	expect 200 GET /api/stats -u "${CRED}"
	json '.devices.total == 1 and .devices.online == 1
	    and .devices.offline == 0 and (.sms | has("received")
	    and has("receivedToday") and has("sent") and has("delivered")
	    and has("failed") and has("queued"))'

	expect 200 GET / -u "${CRED}"
}

scenario_sms_receive()
{
	local id st

	cat >msg.json <<'EOF'
{"deviceId": "goip-01", "messageId": "in-7f3a9c", "slot": 1,
 "from": "+447700900123", "to": "+48500100200", "text": "Hello from the test",
 "receivedAt": "2026-11-25T10:14:58Z"}
EOF
	st=$(receive msg.json)
	[ "${st}" = 201 ] || atf_fail "receive: status ${st}: $(cat body)"
	id=$(jq -e .id body) || atf_fail "receive: no id: $(cat body)"

	st=$(receive msg.json)
	[ "${st}" = 200 ] || atf_fail "receive retry: status ${st}: $(cat body)"
	json ".id == ${id} and .duplicate == true"

	expect 200 GET '/api/sms?deviceId=goip-01' -u "${CRED}"
	json 'type == "array" and length == 1'
	json ".[0] | .id == ${id} and .deviceId == \"goip-01\"
	    and .direction == \"in\" and .slot == 1
	    and .from == \"+447700900123\" and .to == \"+48500100200\"
	    and .text == \"Hello from the test\"
	    and (.receivedAt | startswith(\"2026-11-25T10:14:58\"))
	    and (.storedAt | type) == \"string\""

	expect 200 GET /api/stats -u "${CRED}"
	json '.sms.received == 1'
}

scenario_unicode_roundtrip()
{
	local st

	# Polish, Cyrillic, emoji (astral plane, a ZWJ sequence, a skin tone),
	# combining marks and characters JSON must escape.
	printf '%s' 'Zażółć gęślą jaźń. Съешь же ещё этих мягких французских булок. 🚀👩‍💻👍🏽 é (e+U+0301) "q" \ tab	end' >text.txt
	jq -n --rawfile t text.txt '{"deviceId": "goip-01",
	    "messageId": "in-unicode-1", "slot": 1, "from": "+48600100200",
	    "to": "+48500100200", "text": $t,
	    "receivedAt": "2026-11-25T10:14:58Z"}' >msg.json
	st=$(receive msg.json)
	[ "${st}" = 201 ] || atf_fail "receive: status ${st}: $(cat body)"

	expect 200 GET '/api/sms?deviceId=goip-01&direction=in&limit=10' -u "${CRED}"
	jq -j '.[0].text' body >got.txt ||
	    atf_fail "GET /api/sms: bad JSON: $(head -c 400 body)"
	cmp text.txt got.txt ||
	    atf_fail "text changed: sent '$(cat text.txt)', got '$(cat got.txt)'"
	iconv -f UTF-8 -t UTF-8 body >/dev/null 2>&1 ||
	    atf_fail "GET /api/sms answered invalid UTF-8"
}

scenario_outbound_sms()
{
	local id

	# Dashboard side: needs credentials; device side: needs the token.
	expect 401 POST /api/sms/send -H 'Content-Type: application/json' \
	    --data-binary '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"x"}'
	expect 202 POST /api/sms/send -u "${CRED}" -H 'Idempotency-Key: k-1' \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"Zażółć 🚀"}'
	json '.status == "queued" and .direction == "out" and .segments == 1'
	id=$(jq -e .id body) || atf_fail "send: no id"

	expect 401 GET /api/device/outbox
	expect 200 GET /api/device/outbox -H "Authorization: Bearer ${TOKEN}"
	json ".messages | length == 1 and .[0].id == ${id}
	    and .[0].text == \"Zażółć 🚀\" and .[0].to == \"+48600100200\""

	expect 401 POST /api/sms/status -H 'Content-Type: application/json' \
	    --data-binary "{\"id\": ${id}, \"status\": \"sent\"}"
	expect 200 POST /api/sms/status -H "Authorization: Bearer ${TOKEN}" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"id\": ${id}, \"status\": \"delivered\"}"
	json '.status == "delivered"'

	expect 200 GET '/api/sms?direction=out' -u "${CRED}"
	json ".[0].id == ${id} and .[0].status == \"delivered\""
}

scenario_realtime_proxy()
{
	goip_notifier_start "${DIR}"

	expect 401 GET '/api/events?since=0&wait=1'
	expect 200 GET '/api/events?since=0&wait=1' -u "${CRED}"
	json 'type == "array"'
	expect 401 GET '/api/socket/io/?EIO=4&transport=polling'
	expect 200 GET '/api/socket/io/?EIO=4&transport=polling' -u "${CRED}"
	head -c 2 body | grep -q '^0{' ||
	    atf_fail "no Engine.IO open packet: $(head -c 200 body)"

	# A heartbeat made through the web server reaches the long-poll.
	heartbeat
	expect 200 GET '/api/events?since=0&wait=5' -u "${CRED}"
	json 'any(.[]; .event == "device-heartbeat" or .event == "device-status-change")'

	# WebSocket upgrade through the proxy.
	curl -s -i --http1.1 --max-time 2 -u "${CRED}" \
	    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	    -H 'Sec-WebSocket-Version: 13' \
	    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	    "${BASE}/api/socket/io/?EIO=4&transport=websocket" >ws.out 2>&1
	head -n 1 ws.out | grep -q ' 101 ' ||
	    atf_fail "no WebSocket upgrade: $(head -n 5 ws.out)"
}

# ws_case SERVER SCENARIO PROGS DESCRIPTION: define test case
# SERVER__SCENARIO running scenario_SCENARIO against SERVER.
ws_case()
{
	eval "
	atf_test_case ${1}__${2} cleanup
	${1}__${2}_head()
	{
		atf_set descr '${4}'
		atf_set require.user root
		atf_set require.progs '${3} curl jq ss'
		atf_set timeout 120
	}
	${1}__${2}_body()
	{
		ws_start ${1}
		scenario_${2}
	}
	${1}__${2}_cleanup()
	{
		goip_cleanup
	}"
}

for server in lighttpd apache; do
	case "${server}" in
	lighttpd) progs=lighttpd; name="lighttpd" ;;
	apache) progs="apache2 spawn-fcgi"; name="Apache httpd" ;;
	esac
	ws_case "${server}" heartbeat_token "${progs}" \
	    "Through ${name}: a heartbeat with a valid bearer token is answered 200, a bad or missing token 401 by goip-cgi, not by HTTP basic authentication"
	ws_case "${server}" dashboard_auth "${progs}" \
	    "Through ${name}: dashboard routes and htdocs answer 401 with a Basic challenge without or with wrong credentials, and 200 with the JSON of DESIGN section 4 with them"
	ws_case "${server}" sms_receive "${progs}" \
	    "Through ${name}: an SMS received (201, retry 200 duplicate) is listed by GET /api/sms and counted by GET /api/stats"
	ws_case "${server}" unicode_roundtrip "${progs}" \
	    "Through ${name}: SMS text in Polish, Cyrillic and emoji comes back byte-exact from GET /api/sms"
	ws_case "${server}" outbound_sms "${progs}" \
	    "Through ${name}: an SMS sent from the dashboard (basic auth) is leased by the device and its delivery report (bearer token) shows in GET /api/sms"
	ws_case "${server}" realtime_proxy "${progs}" \
	    "Through ${name}: /api/events and /api/socket/io/ reach goip-notifier behind basic authentication, polling and WebSocket upgrade included"
done

atf_init_test_cases()
{
	local server scenario

	for server in lighttpd apache; do
		for scenario in heartbeat_token dashboard_auth sms_receive \
		    unicode_roundtrip outbound_sms realtime_proxy; do
			atf_add_test_case "${server}__${scenario}"
		done
	done
}
