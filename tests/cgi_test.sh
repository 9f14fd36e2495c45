#
# cgi_test: goip-cgi as a black box, run as plain CGI (RFC 3875): request
# variables in the environment, the body on standard input, "Status:" and
# the other headers then JSON on standard output.  Every case works on its
# own database in its work directory.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# The documented heartbeat (DESIGN.md section 3).
HEARTBEAT='{"deviceId": "goip-01", "battery": 87, "charging": true,
 "signal": 74, "firmware": "GST1610-1.01", "uptime": 86400,
 "simSlots": [{"slot": 1, "status": "ready", "operator": "PLAY",
 "phoneNumber": "+48500100200", "iccid": "8948000000000000001",
 "imsi": "260060000000001", "signal": 71, "registration": "home"},
 {"slot": 2, "status": "absent"}]}'

# setup [CONF-LINES]: goip.conf, the database and devices goip-01 (token in
# TOKEN) and goip-02 (TOKEN2) in the work directory.  Extra configuration
# lines may be given as the argument.
setup()
{
	DIR=$(pwd)
	cat >goip.conf <<EOF
database = ${DIR}/goip.db
notify_socket = ${DIR}/notify.sock
dashboard_auth = web
${1:-}
EOF
	"${GOIP_CTL}" -c goip.conf init >init.out 2>&1 ||
	    atf_fail "goipctl init: $(cat init.out)"
	TOKEN=$("${GOIP_CTL}" -c goip.conf device add goip-01 --name "Lab 1") ||
	    atf_fail "device add goip-01"
	TOKEN2=$("${GOIP_CTL}" -c goip.conf device add goip-02) ||
	    atf_fail "device add goip-02"
	[ ${#TOKEN} -eq 43 ] || atf_fail "token '${TOKEN}' is not 43 characters"
	ROWS=0
	SNAP=
}

# Request knobs, each reset after every request:
#   A  Authorization header (default "Bearer $TOKEN"; "none": absent)
#   U  REMOTE_USER (default "admin"; "none": absent)
#   T  CONTENT_TYPE (POST default "application/json"; "none": absent)
#   L  CONTENT_LENGTH (POST default: the body's length; "none": absent)
#   X  extra environment assignments (e.g. "HTTP_IDEMPOTENCY_KEY=k1")
#   S  SCRIPT_NAME/PATH_INFO split: "SCRIPT|PATH" replaces REQUEST_URI
#   R  REMOTE_ADDR (default 127.0.0.1)
#   G  goip-cgi arguments (e.g. "-d -v": log to standard error)

# cgi METHOD URI [BODY]: run goip-cgi (goip_cgi of lib.subr) with BODY (a
# string, or @FILE) on standard input and the knobs above.  Headers go to
# ./headers (CR stripped), the body to ./body; prints the status code.
cgi()
{
	local method="$1" uri="$2" body="${3-}"
	local -a var

	[ -n "${S:-}" ] &&
	    var+=(-REQUEST_URI SCRIPT_NAME="${S%%|*}" PATH_INFO="${S#*|}")
	[ -n "${R:-}" ] && var+=(REMOTE_ADDR="${R}")
	[ "${A:-}" = none ] || var+=(HTTP_AUTHORIZATION="${A:-Bearer ${TOKEN}}")
	[ "${U:-}" = none ] || var+=(REMOTE_USER="${U:-admin}")
	case "${T:-}" in
	none)	var+=(-CONTENT_TYPE) ;;
	?*)	var+=(CONTENT_TYPE="${T}") ;;
	esac
	case "${L:-}" in
	none)	var+=(-CONTENT_LENGTH) ;;
	?*)	var+=(CONTENT_LENGTH="${L}") ;;
	esac
	# shellcheck disable=SC2206
	[ -n "${X:-}" ] && var+=(${X})
	# shellcheck disable=SC2086
	set -- ${G:-}
	A= U= T= L= X= S= R= G=
	goip_cgi "${DIR}" "${method}" "${uri}" "${body}" "${var[@]}" -- "$@" \
	    >out 2>cgi.err
	echo $? >cgi.rc
	cat cgi.err >>all.err
	# Split the answer with shell builtins: the headers (CR stripped) up to
	# the empty line, then the body byte for byte.
	{
		status=
		while IFS= read -r line; do
			line=${line%$'\r'}
			[ -z "${line}" ] && break
			case "${line}" in
			"Status: "*) status=${line#Status: }; status=${status%% *} ;;
			esac
			printf '%s\n' "${line}"
		done >headers
		cat >body
	} <out
	echo "${status}"
}

# expect STATUS METHOD URI [BODY]: like cgi, failing unless STATUS.
expect()
{
	local want="$1" got

	shift
	got=$(cgi "$@")
	[ "${got}" = "${want}" ] ||
	    atf_fail "$1 $2: status '${got}', expected ${want}: $(head -c 400 body) $(head -c 300 cgi.err)"
	[ "$(<cgi.rc)" = 0 ] || atf_fail "$1 $2: goip-cgi exited $(<cgi.rc)"
	[[ $'\n'"$(<headers)"$'\n' == *$'\nContent-Type: application/json\n'* ]] ||
	    atf_fail "$1 $2: no JSON Content-Type: $(<headers)"
	# bad() checks the JSON itself, in one jq run.
	if [ -z "${IN_BAD:-}" ]; then
		SNAP=
		jq -e . body >/dev/null 2>&1 ||
		    atf_fail "$1 $2: body is not JSON: $(head -c 400 body)"
	fi
}

# json FILTER: fail unless jq FILTER is true of ./body.
json()
{
	jq -e "$1" body >/dev/null 2>&1 ||
	    atf_fail "body does not satisfy $1: $(head -c 600 body)"
}

# header LINE: fail unless ./headers holds LINE (a grep -E pattern).
header()
{
	grep -Eq "^$1\$" headers || atf_fail "no header '$1' in: $(cat headers)"
}

# q SQL: the answer of SQL on the test database.
q()
{
	sqlite3 -batch "${DIR}/goip.db" "$1"
}

# snapshot: every row count and device state a request could change.
snapshot()
{
	q "SELECT count(*) FROM sms; SELECT count(*) FROM events;
	    SELECT count(*) FROM heartbeats; SELECT count(*) FROM sim_slots;
	    SELECT group_concat(device_id || ':' || status || ':' ||
	        ifnull(battery, '-') || ':' || ifnull(last_seen, '-') || ':' ||
	        hex(token_hash), ',') FROM devices;
	    SELECT group_concat(name || '=' || value, ',') FROM counters;
	    SELECT count(*) FROM daily_counters;"
}

# bad STATUS FIELD ERROR METHOD URI [BODY]: one row of a bad-input table.
# The answer has STATUS and {"error": "...ERROR...", "field": FIELD} (no
# "field" when FIELD is "-"), and the database is unchanged.
bad()
{
	local status="$1" field="$2" msg="$3" before after

	shift 3
	# The database as the last row left it, unless a request came between.
	before=${SNAP:-$(snapshot)}
	IN_BAD=1 expect "${status}" "$@"
	jq -e --arg m "${msg}" --arg f "${field}" '(.error | type == "string")
	    and (.error | contains($m)) and
	    (if $f == "-" then has("field") | not else .field == $f end)' \
	    body >/dev/null 2>&1 ||
	    atf_fail "$1 $2: expected error '${msg}' field '${field}': $(head -c 400 body)"
	after=$(snapshot)
	[ "${before}" = "${after}" ] ||
	    atf_fail "$1 $2 (${status} ${msg}): the database changed: ${before} -> ${after}"
	SNAP=${after}
	ROWS=$((ROWS + 1))
}

# rows N: at least N rows of the table ran (a table is not silently empty).
rows()
{
	[ "${ROWS}" -ge "$1" ] || atf_fail "only ${ROWS} rows ran, expected $1"
	echo "${ROWS} bad-input rows checked"
}

# sms MID [TEXT]: a received SMS body with messageId MID.
sms()
{
	jq -cn --arg m "$1" --arg t "${2:-hello}" '{deviceId: "goip-01",
	    messageId: $m, slot: 1, from: "+447700900123", to: "+48500100200",
	    text: $t, receivedAt: "2026-11-25T10:14:58Z"}'
}

# cgi_case NAME DESCR: declare test case NAME needing jq and sqlite3.
declare -A DESCR
cgi_case()
{
	atf_test_case "$1"
	DESCR[$1]="$2"
	eval "$1_head() { atf_set descr \"\${DESCR[$1]}\";
	    atf_set require.progs 'jq sqlite3'; }"
}

# --- happy paths ------------------------------------------------------------

cgi_case heartbeat__happy "POST /api/device/heartbeat stores the report, sets the device online and answers as DESIGN section 3 says"
heartbeat__happy_body()
{
	setup "heartbeat_interval = 45s"
	expect 200 POST /api/device/heartbeat "${HEARTBEAT}"
	json '.ok == true and .deviceId == "goip-01" and .status == "online"'
	json '.heartbeatInterval == 45 and .outboxPending == 0'
	json '.serverTime | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")'
	header 'Cache-Control: no-store'
	[ "$(q "SELECT status, battery, charging, signal, firmware, uptime FROM devices WHERE device_id = 'goip-01'")" = \
	    "online|87|1|74|GST1610-1.01|86400" ] || atf_fail "device row not stored"
	[ "$(q "SELECT slot, status, operator, phone_number, iccid, imsi, signal, registration FROM sim_slots ORDER BY slot")" = \
	    "$(printf '%s\n%s' "1|ready|PLAY|+48500100200|8948000000000000001|260060000000001|71|home" "2|absent||||||")" ] ||
	    atf_fail "slots not stored: $(q 'SELECT * FROM sim_slots')"
	[ "$(q "SELECT group_concat(type) FROM (SELECT type FROM events ORDER BY id)")" = \
	    "device-status-change,device-heartbeat" ] || atf_fail "events: $(q 'SELECT * FROM events')"

	# A heartbeat without deviceId (the token alone identifies the device),
	# without simSlots (the stored slots stay): one more heartbeat event.
	expect 200 POST /api/device/heartbeat '{"battery": null, "signal": 3}'
	json '.deviceId == "goip-01"'
	[ "$(q 'SELECT count(*) FROM sim_slots')" = 2 ] || atf_fail "slots lost"
	[ "$(q "SELECT ifnull(battery, 'null') || ',' || signal FROM devices WHERE device_id = 'goip-01'")" = "null,3" ] ||
	    atf_fail "battery null not stored"
	[ "$(q "SELECT count(*) FROM events WHERE type = 'device-heartbeat'")" = 2 ] ||
	    atf_fail "second heartbeat event missing"
	[ "$(q "SELECT count(*) FROM events WHERE type = 'device-status-change'")" = 1 ] ||
	    atf_fail "an online device changed status again"
	# Unknown keys are ignored; the charset parameter is allowed.
	T='application/json; charset=utf-8' expect 200 POST /api/device/heartbeat \
	    '{"unknown": {"deep": [1, 2, 3]}, "simSlots": []}'
	[ "$(q 'SELECT count(*) FROM sim_slots')" = 0 ] || atf_fail "simSlots [] kept slots"
}

cgi_case heartbeat__left_out_keeps "a heartbeat field left out keeps its stored value and an explicit null clears it, for every device and slot field"
heartbeat__left_out_keeps_body()
{
	local dev slot

	setup
	dev="SELECT ifnull(battery, 'null') || ',' || ifnull(charging, 'null')
	    || ',' || ifnull(signal, 'null') || ',' || ifnull(firmware, 'null')
	    || ',' || ifnull(uptime, 'null') FROM devices
	    WHERE device_id = 'goip-01'"
	slot="SELECT ifnull(status, 'null') || ',' || ifnull(operator, 'null')
	    || ',' || ifnull(phone_number, 'null') || ',' || ifnull(iccid, 'null')
	    || ',' || ifnull(imsi, 'null') || ',' || ifnull(signal, 'null')
	    || ',' || ifnull(registration, 'null') FROM sim_slots
	    WHERE slot = 1"
	expect 200 POST /api/device/heartbeat "${HEARTBEAT}"
	[ "$(q "${dev}")" = "87,1,74,GST1610-1.01,86400" ] ||
	    atf_fail "stored: $(q "${dev}")"
	# Left out: every device field and every field of slot 1 but its key.
	expect 200 POST /api/device/heartbeat '{"simSlots": [{"slot": 1}]}'
	[ "$(q "${dev}")" = "87,1,74,GST1610-1.01,86400" ] ||
	    atf_fail "a left-out field changed: $(q "${dev}")"
	[ "$(q "${slot}")" = "ready,PLAY,+48500100200,8948000000000000001,260060000000001,71,home" ] ||
	    atf_fail "a left-out slot field changed: $(q "${slot}")"
	json '.ok == true'
	# The event and the history carry the kept values too.
	[ "$(q "SELECT json_extract(payload, '$.signal') FROM events
	    WHERE type = 'device-heartbeat' ORDER BY id DESC LIMIT 1")" = 74 ] ||
	    atf_fail "the heartbeat event lost the signal"
	[ "$(q "SELECT count(*) FROM heartbeats WHERE signal IS NULL")" = 0 ] ||
	    atf_fail "a history row lost the signal"
	# One field given: only it changes.
	expect 200 POST /api/device/heartbeat '{"battery": 50}'
	[ "$(q "${dev}")" = "50,1,74,GST1610-1.01,86400" ] ||
	    atf_fail "battery alone: $(q "${dev}")"
	# Explicit null clears, field by field.
	expect 200 POST /api/device/heartbeat '{"battery": null, "charging": null,
	    "signal": null, "firmware": null, "uptime": null,
	    "simSlots": [{"slot": 1, "status": null, "operator": null,
	    "phoneNumber": null, "iccid": null, "imsi": null, "signal": null,
	    "registration": null}]}'
	[ "$(q "${dev}")" = "null,null,null,null,null" ] ||
	    atf_fail "null did not clear: $(q "${dev}")"
	[ "$(q "${slot}")" = "null,null,null,null,null,null,null" ] ||
	    atf_fail "null did not clear the slot: $(q "${slot}")"
}

cgi_case devices__list_and_one "GET /api/devices and /api/devices/{id} show the documented device shape, with history for one device"
devices__list_and_one_body()
{
	setup
	expect 200 POST /api/device/heartbeat "${HEARTBEAT}"
	expect 200 GET /api/devices
	json 'type == "array" and length == 2'
	json '.[0] | keys == (["battery","charging","deviceId","firmware","lastSeen","name","signal","simSlots","status","uptime"])'
	json '.[0] | .deviceId == "goip-01" and .name == "Lab 1" and .status == "online" and .battery == 87 and .charging == true and .signal == 74 and .firmware == "GST1610-1.01" and .uptime == 86400'
	json '.[0].lastSeen | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z$")'
	json '.[0].simSlots[0] == {"slot": 1, "status": "ready", "operator": "PLAY", "phoneNumber": "+48500100200", "iccid": "8948000000000000001", "imsi": "260060000000001", "signal": 71, "registration": "home"}'
	json '.[0].simSlots[1].slot == 2 and .[0].simSlots[1].status == "absent" and .[0].simSlots[1].operator == null'
	json '.[1] | .deviceId == "goip-02" and .status == "offline" and .battery == null and .lastSeen == null and .simSlots == []'

	expect 200 GET /api/devices/goip-01
	json '.deviceId == "goip-01" and (.simSlots | length) == 2'
	json '.history | type == "array" and length == 1'
	json '.history[0].battery == 87 and .history[0].signal == 74 and .history[0].charging == true'
	expect 200 GET /api/devices/goip-02
	json '.status == "offline" and .history == []'
	# Trailing slashes and a query do not change the route.
	expect 200 GET '/api/devices/goip-01/?x=1'
	json '.deviceId == "goip-01"'
}

cgi_case sms_receive__single_and_retry "POST /api/sms/receive stores a message (201), a retry of its messageId answers 200 with the original id and duplicate true and stores nothing"
sms_receive__single_and_retry_body()
{
	local id

	setup
	expect 201 POST /api/sms/receive "$(sms in-7f3a9c)"
	json '.ok == true and .duplicate == false and (.id | type == "number")'
	id=$(jq .id body)
	[ "$(q "SELECT count(*) FROM events WHERE type = 'sms-received'")" = 1 ] ||
	    atf_fail "no sms-received event"
	expect 200 POST /api/sms/receive "$(sms in-7f3a9c 'a different text')"
	json ".ok == true and .duplicate == true and .id == ${id}"
	[ "$(q 'SELECT count(*) FROM sms')" = 1 ] || atf_fail "duplicate stored"
	[ "$(q "SELECT text FROM sms")" = hello ] || atf_fail "duplicate overwrote the text"
	[ "$(q "SELECT count(*) FROM events WHERE type = 'sms-received'")" = 1 ] ||
	    atf_fail "duplicate made an event"
	# The same messageId from another device is another message.
	A="Bearer ${TOKEN2}" expect 201 POST /api/sms/receive \
	    '{"messageId": "in-7f3a9c", "from": "+447700900123", "text": "b"}'
	json ".id != ${id}"
	# Minimal message: only messageId, from and text.
	expect 201 POST /api/sms/receive '{"messageId": "m2", "from": "ORANGE", "text": ""}'
	[ "$(q "SELECT count(*) FROM sms WHERE message_id = 'm2' AND text = '' AND slot IS NULL")" = 1 ] ||
	    atf_fail "minimal message not stored as sent"
}

cgi_case sms_receive__batch_with_duplicates "a batch answers one result per message; retries of earlier messages and repeats inside the batch store nothing new"
sms_receive__batch_with_duplicates_body()
{
	setup
	expect 201 POST /api/sms/receive "$(sms old-1)"
	expect 201 POST /api/sms/receive "$(sms old-2)"
	jq -cn --argjson a "$(sms old-1)" --argjson b "$(sms new-1 'first new')" \
	    --argjson c "$(sms old-2)" --argjson d "$(sms new-2 'second new')" \
	    --argjson e "$(sms new-1 'repeat inside the batch')" \
	    '{messages: [$a, $b, $c, $d, $e]}' >batch.json
	expect 200 POST /api/sms/receive @batch.json
	json '.ok == true and (.results | length) == 5'
	json '[.results[].messageId] == ["old-1", "new-1", "old-2", "new-2", "new-1"]'
	json '[.results[].duplicate] == [true, false, true, false, true]'
	json '[.results[].status] == [200, 201, 200, 201, 200]'
	json '.results[1].id == .results[4].id and .results[1].id != .results[3].id'
	[ "$(q 'SELECT count(*) FROM sms')" = 4 ] || atf_fail "$(q 'SELECT count(*) FROM sms') messages stored, expected 4"
	[ "$(q "SELECT text FROM sms WHERE message_id = 'new-1'")" = "first new" ] ||
	    atf_fail "the repeat inside the batch overwrote the first"
	[ "$(q "SELECT count(*) FROM events WHERE type = 'sms-received'")" = 4 ] ||
	    atf_fail "events: $(q "SELECT count(*) FROM events WHERE type = 'sms-received'")"
	# A batch of exactly 100 is accepted.
	jq -cn '{messages: [range(100) | {messageId: "b\(.)", from: "x", text: "t\(.)"}]}' >b100.json
	expect 200 POST /api/sms/receive @b100.json
	json '(.results | length) == 100 and all(.results[]; .status == 201)'
	[ "$(q 'SELECT count(*) FROM sms')" = 104 ] || atf_fail "batch of 100 not stored"
}

cgi_case sms_list__paging_and_filters "GET /api/sms lists newest first with the documented shape, pages with before= and filters by deviceId and direction"
sms_list__paging_and_filters_body()
{
	local i before

	setup
	for i in 1 2 3 4 5; do
		expect 201 POST /api/sms/receive "$(sms "m${i}" "text ${i}")"
	done
	A="Bearer ${TOKEN2}" expect 201 POST /api/sms/receive \
	    '{"messageId": "x1", "from": "+48600100200", "text": "from two"}'
	expect 200 GET /api/sms
	json 'type == "array" and length == 6'
	json '[.[].id] == ([.[].id] | sort | reverse)'
	json '.[0] | .deviceId == "goip-02" and .text == "from two"'
	json '.[1] | keys == (["deviceId","direction","from","id","receivedAt","slot","status","storedAt","text","to"])'
	json '.[1] | .direction == "in" and .slot == 1 and .from == "+447700900123" and .to == "+48500100200" and .text == "text 5" and .receivedAt == "2026-11-25T10:14:58.000Z" and .status == "received"'
	json '.[1].storedAt | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z$")'

	expect 200 GET '/api/sms?deviceId=goip-01&limit=2'
	json '[.[].text] == ["text 5", "text 4"]'
	before=$(jq '.[-1].id' body)
	expect 200 GET "/api/sms?deviceId=goip-01&limit=2&before=${before}"
	json '[.[].text] == ["text 3", "text 2"]'
	before=$(jq '.[-1].id' body)
	expect 200 GET "/api/sms?deviceId=goip-01&limit=2&before=${before}"
	json '[.[].text] == ["text 1"]'
	before=$(jq '.[-1].id' body)
	expect 200 GET "/api/sms?deviceId=goip-01&limit=2&before=${before}"
	json '. == []'
	expect 200 GET '/api/sms?direction=in&limit=500'
	json 'length == 6'
	expect 200 GET '/api/sms?direction=out'
	json '. == []'
	expect 200 GET '/api/sms?deviceId=&direction=&limit=&before='
	json 'length == 6'
}

cgi_case stats__counters "GET /api/stats answers the documented counters, kept up to date by writes"
stats__counters_body()
{
	setup
	expect 200 GET /api/stats
	json '. == {"devices": {"total": 2, "online": 0, "offline": 2}, "sms": {"received": 0, "receivedToday": 0, "sent": 0, "delivered": 0, "failed": 0, "queued": 0}}'
	expect 200 POST /api/device/heartbeat "${HEARTBEAT}"
	expect 201 POST /api/sms/receive "$(sms a)"
	expect 200 POST /api/sms/receive "$(sms a)"
	expect 201 POST /api/sms/receive "$(sms b)"
	expect 200 GET /api/stats
	json '.devices == {"total": 2, "online": 1, "offline": 1}'
	json '.sms.received == 2 and .sms.receivedToday == 2'
}

cgi_case unicode__round_trip "Polish, Cyrillic, emoji and other text round-trip byte-exact through POST /api/sms/receive, the database and GET /api/sms"
unicode__round_trip_body()
{
	local -a texts
	local i got want id

	setup
	texts=(
	    'Zażółć gęślą jaźń ŻÓŁĆ'
	    'Съешь же ещё этих мягких французских булок'
	    $'\xf0\x9f\x9a\x80 \xf0\x9f\x87\xb5\xf0\x9f\x87\xb1 \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 emoji, a flag, a ZWJ sequence'
	    '€£¥ — “quotes” ½ ∑ 中文 العربية'
	    $'combining: e\xcc\x81 then \xc3\xa9 precomposed'
	    $'line ends: one\r\ntwo\nthree\ttab'
	)
	for i in "${!texts[@]}"; do
		expect 201 POST /api/sms/receive "$(sms "u${i}" "${texts[$i]}")"
	done
	expect 200 GET '/api/sms?limit=500'
	grep -q 'Zażółć' body || atf_fail "the answer escapes UTF-8: $(head -c 300 body)"
	for i in "${!texts[@]}"; do
		want=$(printf '%s' "${texts[$i]}" | od -An -tx1 | tr -d ' \n')
		got=$(q "SELECT hex(text) FROM sms WHERE message_id = 'u${i}'" |
		    tr A-F a-f)
		[ "${got}" = "${want}" ] ||
		    atf_fail "u${i}: stored ${got}, sent ${want}"
		id=$(q "SELECT id FROM sms WHERE message_id = 'u${i}'")
		got=$(jq -j --argjson id "${id}" '.[] | select(.id == $id) | .text' body |
		    od -An -tx1 | tr -d ' \n')
		[ "${got}" = "${want}" ] ||
		    atf_fail "u${i}: answered ${got}, sent ${want}"
	done
	# Unicode in every text field of a message, and in a device's name.
	expect 201 POST /api/sms/receive '{"messageId": "u-from", "from": "Żabka ✓", "to": "Міськ", "text": "ok"}'
	expect 200 GET '/api/sms?limit=1'
	json '.[0].from == "Żabka ✓" and .[0].to == "Міськ"'
	expect 200 GET /api/devices/goip-01
	json '.name == "Lab 1"'
}

cgi_case sms_receive__sql_and_html_literal "SQL and HTML in SMS fields are stored and answered literally"
sms_receive__sql_and_html_literal_body()
{
	local t="<script>alert('x')</script><img src=x onerror=alert(1)>'); DROP TABLE sms; -- \" OR 1=1 --"

	setup
	expect 201 POST /api/sms/receive "$(jq -cn --arg t "${t}" '{messageId: "x'"'"');DELETE/**/FROM/**/devices;--", from: "Robert\u0027); DROP TABLE devices;--", text: $t}')"
	[ "$(q 'SELECT count(*) FROM devices')" = 2 ] || atf_fail "devices gone"
	[ "$(q "SELECT text FROM sms")" = "${t}" ] || atf_fail "text not stored literally: $(q 'SELECT text FROM sms')"
	expect 200 GET /api/sms
	jq -j '.[0].text' body | cmp - <(printf '%s' "${t}") || atf_fail "text not answered literally"
	json '.[0].from == "Robert'"'"'); DROP TABLE devices;--"'
	header 'X-Content-Type-Options: nosniff'
}

cgi_case routing__prefixes "goip-cgi routes on the path after /api/, from REQUEST_URI or SCRIPT_NAME + PATH_INFO, under any prefix"
routing__prefixes_body()
{
	setup
	expect 200 GET /api/stats
	expect 200 GET '/goip/api/stats?x=y'
	S='/cgi-bin/goip-cgi|/api/stats' expect 200 GET ignored
	S='/api|/stats' expect 200 GET ignored
	S='/goip/api|/devices/goip-01' expect 200 GET ignored
	json '.deviceId == "goip-01"'
	expect 200 GET /api/stats/
}

cgi_case dashboard__auth_none "with dashboard_auth = none, dashboard routes answer without REMOTE_USER"
dashboard__auth_none_body()
{
	setup "dashboard_auth = none"
	U=none expect 200 GET /api/devices
	U=none expect 200 GET /api/stats
	U=none expect 200 GET /api/sms
	U=none expect 200 GET /api/devices/goip-01
	# Device routes still need their token.
	A=none U=none expect 401 POST /api/device/heartbeat '{}'
}

cgi_case outbound__happy "POST /api/sms/send queues (202, Idempotency-Key honoured), GET /api/device/outbox leases, POST /api/sms/status moves the status forward only and refuses a message never leased (404)"
outbound__happy_body()
{
	local id id2

	setup
	X=HTTP_IDEMPOTENCY_KEY=k-1 expect 202 POST /api/sms/send \
	    '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": "Zażółć"}'
	json '.status == "queued" and .segments == 1 and .direction == "out" and .deviceId == "goip-01" and .text == "Zażółć"'
	id=$(jq .id body)
	X=HTTP_IDEMPOTENCY_KEY=k-1 expect 202 POST /api/sms/send \
	    '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": "Zażółć"}'
	json ".id == ${id}"
	[ "$(q "SELECT count(*) FROM sms WHERE direction = 'out'")" = 1 ] || atf_fail "replay stored twice"
	X=HTTP_IDEMPOTENCY_KEY=k-1 expect 422 POST /api/sms/send \
	    '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": "other"}'
	expect 200 POST /api/device/heartbeat '{}'
	json '.outboxPending == 1'
	A="Bearer ${TOKEN2}" expect 200 GET /api/device/outbox
	json '.messages == []'
	expect 200 GET /api/device/outbox
	json "(.messages | length) == 1 and .messages[0].id == ${id} and .messages[0].slot == 1 and .messages[0].to == \"+48500100200\" and .messages[0].text == \"Zażółć\" and (.messages[0].leaseUntil | type == \"string\")"
	# Leased: not handed out twice at once.
	expect 200 GET /api/device/outbox
	json '.messages == []'
	expect 200 POST /api/sms/status "{\"id\": ${id}, \"status\": \"delivered\"}"
	expect 200 POST /api/sms/status "{\"id\": ${id}, \"status\": \"sent\"}"
	[ "$(q "SELECT status FROM sms WHERE id = ${id}")" = delivered ] ||
	    atf_fail "a late sent overwrote delivered"
	A="Bearer ${TOKEN2}" expect 404 POST /api/sms/status "{\"id\": ${id}, \"status\": \"failed\"}"
	expect 200 GET '/api/sms?direction=out'
	json ".[0].id == ${id} and .[0].status == \"delivered\""
	expect 200 GET /api/stats
	json '.sms.sent == 1 and .sms.delivered == 1 and .sms.queued == 0'
	# A message never leased cannot be reported (404), and stays queued.
	X=HTTP_IDEMPOTENCY_KEY=k-2 expect 202 POST /api/sms/send \
	    '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": "later"}'
	id2=$(jq .id body)
	expect 404 POST /api/sms/status "{\"id\": ${id2}, \"status\": \"sent\"}"
	[ "$(q "SELECT status FROM sms WHERE id = ${id2}")" = queued ] ||
	    atf_fail "an unleased message moved"
}

# --- faults ------------------------------------------------------------------

# lock_take [SQL]: hold the database's write lock from a sqlite3 shell in
# the background (SQL first, such as a locking mode; then BEGIN IMMEDIATE)
# until lock_release, and return once another writer can no longer begin.
# The probe takes the lock for a moment too: the holder waits for it.
lock_take()
{
	local tries=50

	mkfifo hold
	sqlite3 -batch goip.db <hold >holder.out 2>&1 &
	echo $! >holder.pid
	exec 3>hold
	printf '%s\n' '.timeout 5000' "${1:-}" 'BEGIN IMMEDIATE;' >&3
	while sqlite3 -batch goip.db 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null &&
	    [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ "${tries}" -gt 0 ] || atf_fail "could not take the lock: $(cat holder.out)"
}

# lock_release: end the holder's transaction (nothing written) and wait for
# its shell to exit.
lock_release()
{
	echo 'ROLLBACK;' >&3
	exec 3>&-
	wait "$(cat holder.pid)"
	rm -f holder.pid
}

# lock_cleanup: stop a holder a failed case left.
lock_cleanup()
{
	[ -f holder.pid ] && kill "$(cat holder.pid)" 2>/dev/null
	return 0
}

cgi_case busy__503_retry_after "a write meeting a locked database past busy_timeout answers 503 with Retry-After, stores nothing, and succeeds once the lock is gone"
busy__503_retry_after_body()
{
	local before t0 t1

	setup "busy_timeout = 200ms"
	before=$(snapshot)
	lock_take

	t0=$(date +%s%N)
	expect 503 POST /api/device/heartbeat "${HEARTBEAT}"
	t1=$(date +%s%N)
	header 'Retry-After: [0-9]+'
	json '.error | test("busy")'
	[ $(((t1 - t0) / 1000000)) -ge 150 ] || atf_fail "gave up before busy_timeout"
	expect 503 POST /api/sms/receive "$(sms locked-1)"
	header 'Retry-After: [0-9]+'
	# Reads go on while a writer holds the lock (WAL).
	expect 200 GET /api/devices
	[ "$(snapshot)" = "${before}" ] || atf_fail "a busy write stored something"

	lock_release
	expect 200 POST /api/device/heartbeat "${HEARTBEAT}"
	expect 201 POST /api/sms/receive "$(sms locked-1)"
}
busy__503_retry_after_cleanup()
{
	lock_cleanup
}

cgi_case busy__read_503 "a dashboard read (GET /api/devices, /api/stats) meeting a database locked past busy_timeout answers 503 with Retry-After and a JSON error, and the same request answers 200 once the lock is released"
busy__read_503_body()
{
	local path t0 t1

	setup "busy_timeout = 200ms"
	expect 200 GET /api/devices
	expect 200 GET /api/stats
	# BEGIN IMMEDIATE alone leaves WAL readers alone; a writer in exclusive
	# locking mode keeps every other connection out, readers too.
	lock_take 'PRAGMA locking_mode = EXCLUSIVE;'
	for path in /api/devices /api/stats; do
		t0=$(date +%s%N)
		expect 503 GET "${path}"
		t1=$(date +%s%N)
		header 'Retry-After: [0-9]+'
		json '.error | type == "string" and length > 0'
		[ $(((t1 - t0) / 1000000)) -ge 150 ] ||
		    atf_fail "${path}: gave up before busy_timeout"
	done
	lock_release
	expect 200 GET /api/devices
	json 'length == 2 and .[0].deviceId == "goip-01"'
	expect 200 GET /api/stats
	json '.devices.total == 2'
}
busy__read_503_cleanup()
{
	lock_cleanup
}

cgi_case store__unavailable "without a usable database every route answers 503 with Retry-After, and goip-cgi does not crash"
store__unavailable_body()
{
	setup
	rm -f goip.db goip.db-wal goip.db-shm
	expect 503 GET /api/stats
	header 'Retry-After: [0-9]+'
	expect 503 POST /api/device/heartbeat '{}'
	[ ! -f goip.db ] || atf_fail "goip-cgi created the database"
	# A database of an unknown (newer) schema is refused the same way.
	"${GOIP_CTL}" -c goip.conf init >/dev/null || atf_fail "init"
	q 'PRAGMA user_version = 999'
	expect 503 GET /api/devices
}

cgi_case logs__no_secrets "goip-cgi logs neither tokens nor SMS text, and escapes control bytes of what it logs"
logs__no_secrets_body()
{
	local secret="very-secret-text-$$" line

	setup
	: >all.err
	G="-d -v" expect 201 POST /api/sms/receive "$(sms m1 "${secret}")"
	G="-d -v" A="Bearer ${TOKEN}nope" R=$'10.0.0.1\ngoip-cgi: forged line' \
	    expect 401 POST /api/device/heartbeat '{}'
	G="-d -v" A="Bearer ${TOKEN2}" expect 403 POST /api/sms/receive \
	    "$(jq -cn --arg t "${secret}" '{deviceId: "goip-01", messageId: "m", from: "x", text: $t}')"
	G="-d -v" expect 400 POST /api/sms/receive \
	    "$(jq -cn --arg t "${secret}" '{messageId: "m", from: "x", text: $t, slot: 0}')"
	[ -s all.err ] || atf_fail "nothing was logged (is -d -v ignored?)"
	if grep -qF -e "${TOKEN}" -e "${TOKEN2}" all.err; then
		atf_fail "a token was logged: $(cat all.err)"
	fi
	if grep -qF "${secret}" all.err; then
		atf_fail "SMS text was logged: $(cat all.err)"
	fi
	if grep -q '^goip-cgi: forged line' all.err; then
		atf_fail "a control byte was logged raw: $(cat all.err)"
	fi
	while IFS= read -r line; do
		case "${line}" in
		goip-cgi:*) ;;
		*) atf_fail "log line without the program name: ${line}" ;;
		esac
	done <all.err
}

# --- bad input tables --------------------------------------------------------

cgi_case bad_input__auth "device routes answer 401 without or with an unknown token (with WWW-Authenticate), 403 for another device's id; dashboard routes 401 without REMOTE_USER"
bad_input__auth_body()
{
	local hb='{"battery": 50}'

	setup
	A=none bad 401 - "missing bearer token" POST /api/device/heartbeat "${hb}"
	header 'WWW-Authenticate: Bearer.*'
	A="Basic YWRtaW46YWRtaW4=" bad 401 - "missing bearer token" POST /api/device/heartbeat "${hb}"
	A="Bearer" bad 401 - "missing bearer token" POST /api/device/heartbeat "${hb}"
	A="Bearer " bad 401 - "invalid token" POST /api/device/heartbeat "${hb}"
	A="Bearer nope" bad 401 - "unknown token" POST /api/device/heartbeat "${hb}"
	A="Bearer ${TOKEN}x" bad 401 - "unknown token" POST /api/device/heartbeat "${hb}"
	A="Bearer ${TOKEN%?}" bad 401 - "unknown token" POST /api/device/heartbeat "${hb}"
	A="Bearer $(printf 'a%.0s' $(seq 300))" bad 401 - "invalid token" POST /api/device/heartbeat "${hb}"
	A=none bad 401 - "missing bearer token" POST /api/sms/receive "$(sms m1)"
	A="Bearer nope" bad 401 - "unknown token" POST /api/sms/receive "$(sms m1)"
	header 'WWW-Authenticate: Bearer.*'
	A=none bad 401 - "missing bearer token" GET /api/device/outbox
	A=none bad 401 - "missing bearer token" POST /api/sms/status '{"id": 1, "status": "sent"}'
	bad 403 deviceId "not the token" POST /api/device/heartbeat '{"deviceId": "goip-02", "battery": 5}'
	A="Bearer ${TOKEN2}" bad 403 deviceId "not the token" POST /api/device/heartbeat "${HEARTBEAT}"
	bad 403 deviceId "not the token" POST /api/sms/receive \
	    '{"deviceId": "goip-02", "messageId": "m", "from": "x", "text": "t"}'
	bad 403 "messages[1].deviceId" "not the token" POST /api/sms/receive \
	    "{\"messages\": [$(sms ok-1), {\"deviceId\": \"goip-99\", \"messageId\": \"m\", \"from\": \"x\", \"text\": \"t\"}]}"
	U=none bad 401 - "authentication required" GET /api/devices
	U=none bad 401 - "authentication required" GET /api/devices/goip-01
	U=none bad 401 - "authentication required" GET /api/sms
	U=none bad 401 - "authentication required" GET /api/stats
	U=none bad 401 - "authentication required" POST /api/sms/send \
	    '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": "t"}'
	X=REMOTE_USER= U=none bad 401 - "authentication required" GET /api/devices
	# A device token is not a dashboard login.
	U=none A="Bearer ${TOKEN}" bad 401 - "authentication required" GET /api/stats
	rows 23
}

cgi_case bad_input__routes_and_methods "unknown routes and devices answer 404; a known route with another method 405 with Allow"
bad_input__routes_and_methods_body()
{
	setup
	bad 405 - "method not allowed" GET /api/device/heartbeat
	header 'Allow: POST'
	bad 405 - "method not allowed" PUT /api/sms/receive "$(sms m1)"
	header 'Allow: POST'
	bad 405 - "method not allowed" POST /api/devices '{}'
	header 'Allow: GET'
	bad 405 - "method not allowed" DELETE /api/devices/goip-01
	header 'Allow: GET'
	bad 405 - "method not allowed" POST /api/stats '{}'
	header 'Allow: GET'
	bad 405 - "method not allowed" GET /api/sms/send
	header 'Allow: POST'
	bad 405 - "method not allowed" POST /api/device/outbox '{}'
	header 'Allow: GET'
	bad 404 - "no such route" GET /api/nope
	bad 404 - "no such route" POST /api/device/nope '{}'
	bad 404 - "no such route" GET /api/devices/goip-01/extra
	bad 404 - "no such route" GET /not-api/stats
	bad 404 - "no such route" GET /api
	bad 404 deviceId "unknown device" GET /api/devices/goip-99
	bad 404 deviceId "unknown device" GET '/api/sms?deviceId=goip-99'
	bad 404 deviceId "unknown device" POST /api/sms/send \
	    '{"deviceId": "goip-99", "slot": 1, "to": "+48500100200", "text": "t"}'
	bad 400 deviceId "invalid device id" GET '/api/devices/bad%20id'
	bad 400 deviceId "invalid device id" GET '/api/sms?deviceId=bad%20id'
	bad 400 limit "integer from 1 to 500" GET '/api/sms?limit=0'
	bad 400 limit "integer from 1 to 500" GET '/api/sms?limit=501'
	bad 400 limit "integer from 1 to 500" GET '/api/sms?limit=ten'
	bad 400 limit "integer from 1 to 500" GET '/api/sms?limit=-1'
	bad 400 before "positive integer" GET '/api/sms?before=0'
	bad 400 before "positive integer" GET '/api/sms?before=99999999999999999999'
	bad 400 direction "in or out" GET '/api/sms?direction=sideways'
	bad 400 direction "in or out" GET '/api/sms?direction=%zz'
	rows 25
}

cgi_case bad_input__body_framing "Content-Type (415), Content-Length missing (411), too large (413), malformed or lying (400) are refused before anything is stored"
bad_input__body_framing_body()
{
	local hb='{"battery": 50}'

	setup
	T=none bad 415 - "Content-Type" POST /api/device/heartbeat "${hb}"
	T=text/plain bad 415 - "Content-Type" POST /api/device/heartbeat "${hb}"
	T=application/x-www-form-urlencoded bad 415 - "Content-Type" POST /api/sms/receive "$(sms m1)"
	T='application/json; charset=latin1' bad 415 - "Content-Type" POST /api/device/heartbeat "${hb}"
	T='application/jsonp' bad 415 - "Content-Type" POST /api/device/heartbeat "${hb}"
	T='text/json' bad 415 - "Content-Type" POST /api/sms/receive "$(sms m1)"
	L=none bad 411 - "Content-Length required" POST /api/device/heartbeat "${hb}"
	L=none bad 411 - "Content-Length required" POST /api/sms/receive "$(sms m1)"
	L=65537 bad 413 - "too large" POST /api/device/heartbeat "${hb}"
	L=99999999999999999999 bad 400 - "Content-Length" POST /api/device/heartbeat "${hb}"
	L=999999999999 bad 413 - "too large" POST /api/sms/receive "$(sms m1)"
	L=abc bad 400 - "invalid Content-Length" POST /api/device/heartbeat "${hb}"
	L=-5 bad 400 - "invalid Content-Length" POST /api/device/heartbeat "${hb}"
	L=' 15' bad 400 - "invalid Content-Length" POST /api/device/heartbeat "${hb}"
	L=15x bad 400 - "invalid Content-Length" POST /api/device/heartbeat "${hb}"
	# Content-Length lies: longer than the body (the body is cut short).
	L=100 bad 400 - "shorter than Content-Length" POST /api/device/heartbeat "${hb}"
	L=500 bad 400 - "shorter than Content-Length" POST /api/sms/receive "$(sms m1)"
	# Shorter than the body: only that much is read, a truncated JSON.
	L=5 bad 400 body "truncated" POST /api/device/heartbeat "${hb}"
	L=20 bad 400 body "truncated" POST /api/sms/receive "$(sms m1)"
	L=0 bad 400 body "empty body" POST /api/device/heartbeat "${hb}"
	bad 400 body "empty body" POST /api/sms/receive ''
	# A body of 70000 bytes with a true Content-Length.
	head -c 70000 /dev/zero | tr '\0' ' ' >big.json
	bad 413 - "too large" POST /api/device/heartbeat @big.json
	# Exactly max_body (64k) is read and parsed: white space only.
	head -c 65536 /dev/zero | tr '\0' ' ' >max.json
	bad 400 body "" POST /api/device/heartbeat @max.json
	rows 23
}

cgi_case bad_input__json "malformed JSON, invalid UTF-8, deep nesting, NUL, trailing data and huge numbers answer 400 with field body or the field at fault"
bad_input__json_body()
{
	local deep

	setup
	bad 400 body "malformed JSON" POST /api/device/heartbeat '{"battery": }'
	bad 400 body "malformed JSON" POST /api/device/heartbeat '{battery: 5}'
	bad 400 body "malformed JSON" POST /api/device/heartbeat '{"battery": 5,}'
	bad 400 body "malformed JSON" POST /api/sms/receive \
	    "{'messageId': 'm', 'from': 'x', 'text': 'single quotes'}"
	bad 400 body "malformed JSON" POST /api/device/heartbeat '{"battery": NaN}'
	bad 400 body "malformed JSON" POST /api/device/heartbeat '{"battery": -Infinity}'
	bad 400 body "must be a JSON object" POST /api/device/heartbeat 'true'
	bad 400 body "must be a JSON object" POST /api/device/heartbeat '87'
	bad 400 body "not a JSON object" POST /api/device/heartbeat 'null'
	bad 400 body "NUL" POST /api/sms/receive \
	    '{"messageId": "m", "from": "x", "text": "t", "deviceId\u0000x": "goip-02"}'
	bad 400 body "truncated" POST /api/device/heartbeat '{"battery": 5'
	bad 400 body "truncated" POST /api/sms/receive '{"messageId": "m", "from": "x", "text": "unterminated'
	bad 400 body "" POST /api/device/heartbeat '{"battery": 5} trailing'
	bad 400 body "" POST /api/sms/receive "$(sms m1)$(sms m2)"
	bad 400 body "invalid UTF-8" POST /api/sms/receive \
	    $'{"messageId": "m", "from": "x", "text": "bad \xff byte"}'
	bad 400 body "UTF-8" POST /api/sms/receive \
	    $'{"messageId": "m", "from": "x", "text": "overlong \xc0\xaf slash"}'
	bad 400 body "UTF-8" POST /api/sms/receive \
	    $'{"messageId": "m", "from": "x", "text": "surrogate \xed\xa0\x80"}'
	bad 400 body "UTF-8" POST /api/sms/receive \
	    $'{"messageId": "m", "from": "x", "text": "cut \xf0\x9f\x9a"}'
	bad 400 body "UTF-8" POST /api/device/heartbeat $'{"\xfe": 1}'
	bad 400 body "NUL" POST /api/sms/receive \
	    '{"messageId": "m", "from": "x", "text": "nul \u0000 inside"}'
	printf '{"messageId": "m", "from": "x", "text": "raw\0nul"}' >nul.json
	bad 400 body "" POST /api/sms/receive @nul.json
	printf '{"battery": 5}\0' >nul2.json
	bad 400 body "" POST /api/device/heartbeat @nul2.json
	deep=$(printf '{"a":%.0s' $(seq 40))1$(printf '}%.0s' $(seq 40))
	bad 400 body "nested too deeply" POST /api/device/heartbeat "${deep}"
	deep=$(printf '[%.0s' $(seq 5000))
	bad 400 body "nested too deeply" POST /api/sms/receive "{\"messages\": ${deep}"
	bad 400 battery "must be an integer" POST /api/device/heartbeat '{"battery": 1e999}'
	bad 400 battery "out of range" POST /api/device/heartbeat '{"battery": 99999999999999999999999999}'
	bad 400 battery "out of range" POST /api/device/heartbeat '{"battery": -99999999999999999999999999}'
	bad 400 uptime "out of range" POST /api/device/heartbeat '{"uptime": 18446744073709551616}'
	bad 400 slot "out of range" POST /api/sms/receive \
	    '{"messageId": "m", "from": "x", "text": "t", "slot": 4294967297}'
	bad 400 body "must be a JSON object" POST /api/device/heartbeat '[]'
	bad 400 body "must be a JSON object" POST /api/device/heartbeat '"heartbeat"'
	bad 400 body "must be a JSON object" POST /api/sms/receive '[{"messageId": "m"}]'
	rows 32
}

cgi_case bad_input__heartbeat_fields "every heartbeat field of the wrong type or out of range answers 400 naming it, and nothing is stored"
bad_input__heartbeat_fields_body()
{
	local hb=/api/device/heartbeat

	setup
	bad 400 deviceId "must be a string" POST ${hb} '{"deviceId": 1}'
	bad 400 deviceId "must not be null" POST ${hb} '{"deviceId": null}'
	bad 400 deviceId "must not be empty" POST ${hb} '{"deviceId": ""}'
	bad 400 battery "must be an integer" POST ${hb} '{"battery": "87"}'
	bad 400 battery "must be an integer" POST ${hb} '{"battery": 87.5}'
	bad 400 battery "must be an integer" POST ${hb} '{"battery": true}'
	bad 400 battery "out of range" POST ${hb} '{"battery": 101}'
	bad 400 battery "out of range" POST ${hb} '{"battery": -1}'
	bad 400 charging "must be true or false" POST ${hb} '{"charging": 1}'
	bad 400 charging "must be true or false" POST ${hb} '{"charging": "yes"}'
	bad 400 signal "out of range" POST ${hb} '{"signal": 101}'
	bad 400 signal "must be an integer" POST ${hb} '{"signal": [74]}'
	bad 400 firmware "must be a string" POST ${hb} '{"firmware": 1.01}'
	bad 400 firmware "too long" POST ${hb} "{\"firmware\": \"$(printf 'v%.0s' $(seq 65))\"}"
	bad 400 firmware "invalid characters" POST ${hb} '{"firmware": "v1\u001b[2J"}'
	bad 400 uptime "out of range" POST ${hb} '{"uptime": -5}'
	bad 400 uptime "must be an integer" POST ${hb} '{"uptime": "1d"}'
	bad 400 simSlots "must be an array" POST ${hb} '{"simSlots": {"slot": 1}}'
	bad 400 simSlots "too many slots" POST ${hb} "$(jq -cn '{simSlots: [range(1; 34) | {slot: .}]}')"
	bad 400 "simSlots[0]" "must be a JSON object" POST ${hb} '{"simSlots": [1]}'
	bad 400 "simSlots[0].slot" "required" POST ${hb} '{"simSlots": [{"status": "ready"}]}'
	bad 400 "simSlots[0].slot" "out of range" POST ${hb} '{"simSlots": [{"slot": 0}]}'
	bad 400 "simSlots[0].slot" "out of range" POST ${hb} '{"simSlots": [{"slot": 257}]}'
	bad 400 "simSlots[1].status" "not an allowed value" POST ${hb} \
	    '{"simSlots": [{"slot": 1, "status": "ready"}, {"slot": 2, "status": "on fire"}]}'
	bad 400 "simSlots[0].registration" "not an allowed value" POST ${hb} \
	    '{"simSlots": [{"slot": 1, "registration": "mars"}]}'
	bad 400 "simSlots[0].signal" "out of range" POST ${hb} '{"simSlots": [{"slot": 1, "signal": 200}]}'
	bad 400 "simSlots[0].iccid" "must be digits" POST ${hb} '{"simSlots": [{"slot": 1, "iccid": "89AB"}]}'
	bad 400 "simSlots[0].imsi" "too long" POST ${hb} '{"simSlots": [{"slot": 1, "imsi": "1234567890123456"}]}'
	bad 400 "simSlots[0].operator" "must be a string" POST ${hb} '{"simSlots": [{"slot": 1, "operator": 260}]}'
	bad 400 "simSlots[1].slot" "duplicate slot" POST ${hb} '{"simSlots": [{"slot": 1}, {"slot": 1}]}'
	# A valid report with one bad field stores none of it.
	bad 400 "simSlots[0].status" "not an allowed value" POST ${hb} \
	    "$(echo "${HEARTBEAT}" | jq -c '.simSlots[0].status = "READY"')"
	rows 31
}

cgi_case bad_input__sms_fields "every received SMS field of the wrong type, missing or out of range, and bad batches, answer 400 naming it; a batch is all or nothing"
bad_input__sms_fields_body()
{
	local r=/api/sms/receive

	setup
	bad 400 messageId "required" POST ${r} '{"from": "x", "text": "t"}'
	bad 400 messageId "must be a string" POST ${r} '{"messageId": 7, "from": "x", "text": "t"}'
	bad 400 messageId "must not be empty" POST ${r} '{"messageId": "", "from": "x", "text": "t"}'
	bad 400 messageId "invalid characters" POST ${r} '{"messageId": "a b", "from": "x", "text": "t"}'
	bad 400 messageId "too long" POST ${r} "{\"messageId\": \"$(printf 'm%.0s' $(seq 129))\", \"from\": \"x\", \"text\": \"t\"}"
	bad 400 from "required" POST ${r} '{"messageId": "m", "text": "t"}'
	bad 400 from "must not be empty" POST ${r} '{"messageId": "m", "from": "", "text": "t"}'
	bad 400 from "must be a string" POST ${r} '{"messageId": "m", "from": 48500100200, "text": "t"}'
	bad 400 text "required" POST ${r} '{"messageId": "m", "from": "x"}'
	bad 400 text "must be a string" POST ${r} '{"messageId": "m", "from": "x", "text": 5}'
	bad 400 text "must not be null" POST ${r} '{"messageId": "m", "from": "x", "text": null}'
	bad 400 text "must be a string" POST ${r} '{"messageId": "m", "from": "x", "text": ["a"]}'
	bad 400 text "invalid characters" POST ${r} '{"messageId": "m", "from": "x", "text": "bell \u0007"}'
	bad 400 text "too long" POST ${r} "$(jq -cn '{messageId: "m", from: "x", text: ("x" * 4097)}')"
	bad 400 to "must be a string" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "to": 48}'
	bad 400 slot "out of range" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "slot": 0}'
	bad 400 slot "must be an integer" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "slot": "1"}'
	bad 400 receivedAt "RFC 3339" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "receivedAt": "yesterday"}'
	bad 400 receivedAt "RFC 3339" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "receivedAt": "2026-02-30T00:00:00Z"}'
	bad 400 receivedAt "must be a string" POST ${r} '{"messageId": "m", "from": "x", "text": "t", "receivedAt": 1795601698}'
	bad 400 messages "must be an array" POST ${r} '{"messages": "x"}'
	bad 400 messages "must be an array" POST ${r} '{"messages": null}'
	bad 400 messages "must not be empty" POST ${r} '{"messages": []}'
	bad 400 messages "more than 100" POST ${r} "$(jq -cn '{messages: [range(101) | {messageId: "b\(.)", from: "x", text: "t"}]}')"
	bad 400 "messages[0]" "must be a JSON object" POST ${r} '{"messages": [5]}'
	# One bad message in a batch: nothing of the batch is stored.
	bad 400 "messages[2].text" "required" POST ${r} \
	    "{\"messages\": [$(sms ok-1), $(sms ok-2), {\"messageId\": \"m\", \"from\": \"x\"}]}"
	bad 400 "messages[1].slot" "out of range" POST ${r} \
	    "{\"messages\": [$(sms ok-1), {\"messageId\": \"m\", \"from\": \"x\", \"text\": \"t\", \"slot\": 300}]}"
	# Operator send: each field checked before anything is stored.
	bad 400 to "E.164" POST /api/sms/send '{"deviceId": "goip-01", "slot": 1, "to": "+0123456789", "text": "t"}'
	bad 400 to "too short" POST /api/sms/send '{"deviceId": "goip-01", "slot": 1, "to": "12", "text": "t"}'
	bad 400 slot "required" POST /api/sms/send '{"deviceId": "goip-01", "to": "+48500100200", "text": "t"}'
	bad 400 text "must not be empty" POST /api/sms/send '{"deviceId": "goip-01", "slot": 1, "to": "+48500100200", "text": ""}'
	rows 31
}

atf_init_test_cases()
{
	atf_add_test_case heartbeat__happy
	atf_add_test_case heartbeat__left_out_keeps
	atf_add_test_case devices__list_and_one
	atf_add_test_case sms_receive__single_and_retry
	atf_add_test_case sms_receive__batch_with_duplicates
	atf_add_test_case sms_list__paging_and_filters
	atf_add_test_case stats__counters
	atf_add_test_case unicode__round_trip
	atf_add_test_case sms_receive__sql_and_html_literal
	atf_add_test_case routing__prefixes
	atf_add_test_case dashboard__auth_none
	atf_add_test_case outbound__happy
	atf_add_test_case busy__503_retry_after
	atf_add_test_case busy__read_503
	atf_add_test_case store__unavailable
	atf_add_test_case logs__no_secrets
	atf_add_test_case bad_input__auth
	atf_add_test_case bad_input__routes_and_methods
	atf_add_test_case bad_input__body_framing
	atf_add_test_case bad_input__json
	atf_add_test_case bad_input__heartbeat_fields
	atf_add_test_case bad_input__sms_fields
}
