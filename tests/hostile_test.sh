#
# hostile_test: goip-dashboard against clients that mean harm (issue 11).
# Each case is self-contained: it makes its own instance (lib.subr), starts
# what it needs and stops it in its cleanup part.
#
# replay__* and rooms__*: goip-notifier's replays and room joins do bounded
# work per client (an index by device, a cap on rows read, at most one
# replay per room, steps on later turns of the loop, a join rate limit).
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# replay_instance: make an instance with devices goip-01 and goip-02 (tokens
# in T1, T2); sets DIR and URL. The notifier is not started yet.
replay_instance()
{
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	T1=$(goip_device_add "${DIR}" goip-01)
	T2=$(goip_device_add "${DIR}" goip-02)
	URL="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
}

# replay_fill N DEVICE: append N device-heartbeat events of DEVICE to the
# log in one transaction, straight into the table (setup only).
replay_fill()
{
	sqlite3 -cmd ".timeout 5000" "${DIR}/goip.db" "
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $1)
INSERT INTO events(at, type, device, payload)
    SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'device-heartbeat',
    '$2', '{\"deviceId\":\"$2\",\"battery\":80,\"n\":' || x || '}' FROM c;" ||
	    atf_fail "cannot fill the event log"
}

# replay_notifier: start the notifier of DIR; its pid and log are linked
# into the work directory for notifier_alive.
replay_notifier()
{
	goip_notifier_start "${DIR}"
	ln -sf "${DIR}/notifier.pid" notifier.pid
	ln -sf "${DIR}/notifier.log" notifier.log
}

# replay_heartbeat TOKEN DEVICE: a heartbeat through goip-cgi (plain CGI).
replay_heartbeat()
{
	local body="{\"deviceId\":\"$2\",\"battery\":80,\"signal\":50}"

	printf '%s' "${body}" | GOIP_CONF="${DIR}/goip.conf" \
	    REQUEST_METHOD=POST PATH_INFO=/api/device/heartbeat \
	    CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
	    HTTP_AUTHORIZATION="Bearer $1" "${GOIP_CGI}" >cgi.out 2>&1 ||
	    atf_fail "goip-cgi heartbeat failed: $(cat cgi.out)"
	grep -q '^Status: 200' cgi.out || atf_fail "heartbeat: $(cat cgi.out)"
}

# replay_eio_open: open an Engine.IO polling session; sets SID.
replay_eio_open()
{
	curl -sS -m 10 -o open.out \
	    "${URL}/api/socket/io/?EIO=4&transport=polling" ||
	    atf_fail "no Engine.IO handshake"
	SID=$(sed -n 's/^0{"sid":"\([^"]*\)".*/\1/p' open.out)
	[ -n "${SID}" ] || atf_fail "no sid: $(cat open.out)"
}

# replay_eio_post FILE: POST the payload in FILE to the session; prints the
# HTTP status.
replay_eio_post()
{
	curl -sS -m 60 -o post.out -w '%{http_code}' -X POST \
	    -H 'Content-Type: text/plain;charset=UTF-8' --data-binary "@$1" \
	    "${URL}/api/socket/io/?EIO=4&transport=polling&sid=${SID}"
}

# replay_eio_poll OUT: one long-polling GET of the session, its packets one
# a line in OUT; prints the HTTP status.
replay_eio_poll()
{
	curl -sS -m 40 -o "$1.raw" -w '%{http_code}' \
	    "${URL}/api/socket/io/?EIO=4&transport=polling&sid=${SID}"
	tr '\036' '\n' <"$1.raw" >"$1"
	echo >>"$1"
}

# replay_connect [AUTH]: open a session and connect to "/" with the JSON
# auth AUTH; the CONNECT answer is read.
replay_connect()
{
	replay_eio_open
	printf '40%s' "${1:-}" >connect.txt
	[ "$(replay_eio_post connect.txt)" = 200 ] ||
	    atf_fail "CONNECT refused: $(cat post.out)"
	[ "$(replay_eio_poll connect.out)" = 200 ] ||
	    atf_fail "no CONNECT answer: $(cat connect.out)"
	grep -q '^40{"sid"' connect.out || atf_fail "CONNECT: $(cat connect.out)"
}

# replay_wait_ready FILE: wait up to 30 s for FILE (a node client's marker).
replay_wait_ready()
{
	local tries=300

	while [ ! -f "$1" ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -f "$1" ] || atf_fail "no $1: $(cat ./*.log 2>/dev/null)"
}

# replay_check_stream OUT DEVICE: OUT (lines "EVENT EVENTID DEVICE ...", by
# tests/node) holds every event of DEVICE in the log exactly once, in id
# order, and nothing else with an id; waits up to 60 s for the last one.
replay_check_stream()
{
	local tries=600

	sqlite3 -cmd ".timeout 5000" "${DIR}/goip.db" "
SELECT id FROM events WHERE device = '$2' ORDER BY id" >want.ids ||
	    atf_fail "cannot read the log"
	while [ "${tries}" -gt 0 ]; do
		awk '$2 != "-" { print $2 }' "$1" >got.ids 2>/dev/null
		[ "$(wc -l <got.ids)" -ge "$(wc -l <want.ids)" ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	sleep 0.5
	sqlite3 -cmd ".timeout 5000" "${DIR}/goip.db" "
SELECT id FROM events WHERE device = '$2' ORDER BY id" >want.ids ||
	    atf_fail "cannot read the log"
	awk '$2 != "-" { print $2 }' "$1" >got.ids
	[ "$(sort -n got.ids | uniq -d | head -n 3)" = "" ] ||
	    atf_fail "ids came twice: $(sort -n got.ids | uniq -d | head -n 3)"
	sort -n -c got.ids || atf_fail "events out of order"
	cmp -s got.ids want.ids || atf_fail "want $(wc -l <want.ids) ids \
$(head -n 1 want.ids)..$(tail -n 1 want.ids), got $(wc -l <got.ids): \
$(diff want.ids got.ids | head -n 5 | tr '\n' ' ')"
	awk '$2 != "-" && $3 != "'"$2"'"' "$1" | grep -q . &&
	    atf_fail "an event of another device: $(awk '$3 != "'"$2"'"' "$1" |
	    head -n 2)"
	return 0
}

replay_clients_stop()
{
	local f

	for f in *.pid; do
		[ -f "${f}" ] && [ ! -L "${f}" ] && kill "$(cat "${f}")" \
		    2>/dev/null
	done
	return 0
}

atf_test_case replay__join_flood cleanup
replay__join_flood_head()
{
	atf_set descr "With 100,000 events in the log, one polling client resuming from 0, replaying a device room of all of them and posting 3,000 join/leave pairs does not starve a plain GET of the events sent right after it; its replay comes in order; the notifier stays up"
	atf_set require.progs "curl sqlite3"
	atf_set timeout 300
}
replay__join_flood_body()
{
	local code

	replay_instance
	replay_fill 100000 goip-01
	replay_notifier
	replay_connect '{"lastEventId":0}'
	# A replay of 100,000 events that runs while the rest comes.
	printf '42["join-device-room","goip-01"]' >join.txt
	[ "$(replay_eio_post join.txt)" = 200 ] || atf_fail "join refused"
	# 3,000 pairs on a device without events and on one with a few.
	replay_heartbeat "${T2}" goip-02
	awk 'BEGIN {
		for (i = 0; i < 3000; i++) {
			d = i % 2 ? "nope" : "goip-02"
			printf "%s42[\"join-device-room\",\"%s\"]\03642[\"leave-device-room\",\"%s\"]",
			    i ? "\036" : "", d, d
		}
	}' >flood.txt
	replay_eio_post flood.txt >flood.code &
	echo $! >flood.pid
	sleep 0.5
	code=$(curl -sS -m 5 -o events.json -w '%{http_code}' \
	    "${URL}/api/events?since=0&wait=0") ||
	    atf_fail "GET /api/events had no answer within 5 s"
	[ "${code}" = 200 ] || atf_fail "GET /api/events: ${code}"
	node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
	    if (!Array.isArray(a) || a.length < 1 || a.length > 100 ||
	        a[0].eventId !== 1) process.exit(1);' <events.json ||
	    atf_fail "not 1 to 100 events from id 1: $(head -c 300 events.json)"
	wait "$(cat flood.pid)"
	rm -f flood.pid
	[ "$(cat flood.code)" = 200 ] || atf_fail "flood POST: $(cat post.out)"
	notifier_alive
	# Still serving, and the flooding session too.
	curl -sS -m 5 -o events2.json "${URL}/api/events?since=99990&wait=0" ||
	    atf_fail "GET /api/events after the flood"
	grep -q '"eventId":99991,' events2.json ||
	    atf_fail "after the flood: $(head -c 300 events2.json)"
	[ "$(replay_eio_poll flood.out)" = 200 ] ||
	    atf_fail "flooding session: $(head -c 300 flood.out)"
	# It got goip-01's events from the first on, in order, then a resync
	# when its unread output passed the replay's bound.
	sed -n 's/^42\["device-heartbeat",{"eventId":\([0-9]*\),.*/\1/p' \
	    flood.out >flood.ids
	[ "$(head -n 1 flood.ids)" = 1 ] ||
	    atf_fail "replay did not start at 1: $(head -c 300 flood.out)"
	sort -n -c -u flood.ids || atf_fail "replay out of order"
	[ "$(tail -n 1 flood.ids)" = 100000 ] ||
	    grep -q '^42\["resync",{"oldestEventId":1}\]$' flood.out ||
	    atf_fail "replay stopped at $(tail -n 1 flood.ids), no resync"
	notifier_alive
}
replay__join_flood_cleanup()
{
	replay_clients_stop
	goip_cleanup
}

atf_test_case replay__long_in_order cleanup
replay__long_in_order_head()
{
	atf_set descr "A device room with 20,000 events, more than one turn of replay, replays all of them once and in order, then the live events written while the replay ran, then live ones"
	atf_set require.progs "node sqlite3"
	atf_set timeout 180
}
replay__long_in_order_body()
{
	local i joined

	notifier_node_setup
	replay_instance
	replay_fill 20000 goip-01
	replay_fill 500 goip-02
	replay_notifier
	ROOMS=device:goip-01 LAST=0 TRANSPORTS=websocket TIMEOUT=120 \
	    node "${GOIP_SRCDIR}/tests/node/app.cjs" "${URL}" c.out \
	    >c.log 2>&1 &
	echo $! >c.pid
	# Live events from before the join until well into the replay.
	for i in $(seq 1 30); do
		replay_heartbeat "${T1}" goip-01
		[ $((i % 3)) -eq 0 ] && replay_heartbeat "${T2}" goip-02
		[ -f c.out.ready ] && [ -z "${joined}" ] &&
		    joined="after ${i} heartbeats, $(wc -l <c.out) received"
	done
	echo "joined ${joined:-after the last heartbeat}" >&2
	replay_wait_ready c.out.ready
	replay_check_stream c.out goip-01
	replay_heartbeat "${T1}" goip-01
	replay_check_stream c.out goip-01
	notifier_alive
}
replay__long_in_order_cleanup()
{
	replay_clients_stop
	goip_cleanup
}

atf_test_case replay__events_errors_json cleanup
replay__events_errors_json_head()
{
	atf_set descr "GET /api/events with a bad since or wait answers 400 with a JSON body (no NUL byte), and an answer holds at most 100 events"
	atf_set require.progs "curl node sqlite3"
}
replay__events_errors_json_body()
{
	local q code

	replay_instance
	replay_fill 300 goip-01
	replay_notifier
	for q in "since=x" "since=-1" "wait=x" "since=0&wait=-2"; do
		code=$(curl -sS -m 5 -o err.json -w '%{http_code}' \
		    "${URL}/api/events?${q}") || atf_fail "${q}: no answer"
		[ "${code}" = 400 ] || atf_fail "${q}: ${code}"
		node -e 'const a = JSON.parse(require("fs").readFileSync(0,
		    "utf8")); if (typeof a.error !== "string" ||
		    typeof a.field !== "string") process.exit(1);' <err.json ||
		    atf_fail "${q}: not a JSON error: $(od -c err.json | head -n 3)"
	done
	curl -sS -m 5 -o all.json "${URL}/api/events?since=0" ||
	    atf_fail "no events"
	node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
	    if (a.length !== 100 || a.some((e, i) => i > 0 &&
	        e.eventId <= a[i - 1].eventId)) process.exit(1);' <all.json ||
	    atf_fail "not 100 events in order: $(head -c 200 all.json)"
}
replay__events_errors_json_cleanup()
{
	goip_cleanup
}

atf_test_case replay__device_index cleanup
replay__device_index_head()
{
	atf_set descr "Migration 2 indexes the event log by device: goipctl migrate adds it to a version 1 database, goipctl check and the notifier accept the result, and a device's replay query reads through it"
	atf_set require.progs "sqlite3"
}
replay__device_index_body()
{
	replay_instance
	sqlite3 "${DIR}/goip.db" "EXPLAIN QUERY PLAN SELECT id, at, type, \
device, payload FROM events WHERE device = 'goip-01' AND id > 5 ORDER BY id \
LIMIT 64" >plan.out || atf_fail "no query plan"
	grep -q 'USING INDEX events_device' plan.out ||
	    atf_fail "the replay query does not use the index: $(cat plan.out)"
	# Back to version 1, as a database of the previous release.
	sqlite3 "${DIR}/goip.db" "DROP INDEX events_device;
PRAGMA user_version = 1" || atf_fail "cannot downgrade"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" check >check.out 2>&1 &&
	    atf_fail "goipctl check accepted version 1: $(cat check.out)"
	grep -q 'older' check.out || atf_fail "check: $(cat check.out)"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" migrate >migrate.out 2>&1 ||
	    atf_fail "migrate: $(cat migrate.out)"
	grep -q '1 migration applied, schema version 2' migrate.out ||
	    atf_fail "migrate: $(cat migrate.out)"
	[ "$(sqlite3 "${DIR}/goip.db" "SELECT count(*) FROM sqlite_master \
WHERE name = 'events_device'")" = 1 ] || atf_fail "no index after migrate"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" check >check.out 2>&1 ||
	    atf_fail "check after migrate: $(cat check.out)"
	replay_notifier
	notifier_alive
}
replay__device_index_cleanup()
{
	goip_cleanup
}

atf_test_case rooms__rejoin_no_duplicates cleanup
rooms__rejoin_no_duplicates_head()
{
	atf_set descr "A client that leaves a device room while its replay runs and joins it again gets every event of the room once and in order: the replay goes on from where it was, not from the start; a room already replayed is not replayed again"
	atf_set require.progs "curl node sqlite3"
	atf_set timeout 180
}
rooms__rejoin_no_duplicates_body()
{
	local i

	notifier_node_setup
	replay_instance
	replay_fill 20000 goip-01
	replay_notifier
	touch r.out.leave r.out.rejoin
	TRANSPORTS=websocket TIMEOUT=120 node \
	    "${GOIP_SRCDIR}/tests/node/rejoin.cjs" "${URL}" r.out goip-01 \
	    >r.log 2>&1 &
	echo $! >r.pid
	replay_wait_ready r.out.rejoined
	replay_heartbeat "${T1}" goip-01
	replay_check_stream r.out goip-01

	# A room replayed already: leave and join again ten times, nothing more.
	replay_fill 3 goip-02
	replay_connect '{"lastEventId":0}'
	printf '421["join-device-room","goip-02"]' >join.txt
	[ "$(replay_eio_post join.txt)" = 200 ] || atf_fail "join refused"
	: >p.out
	for i in 1 2 3 4 5; do
		replay_eio_poll p1.out >/dev/null
		cat p1.out >>p.out
		[ "$(grep -c '^42\["device-heartbeat"' p.out)" -ge 3 ] && break
	done
	[ "$(grep -c '^42\["device-heartbeat"' p.out)" -eq 3 ] ||
	    atf_fail "first replay: $(cat p.out)"
	awk 'BEGIN {
		for (i = 0; i < 10; i++)
			printf "%s42[\"leave-device-room\",\"goip-02\"]\036" \
			    "42%d[\"join-device-room\",\"goip-02\"]",
			    i ? "\036" : "", i + 10
	}' >again.txt
	[ "$(replay_eio_post again.txt)" = 200 ] || atf_fail "rejoins refused"
	replay_heartbeat "${T2}" goip-02
	: >p.out
	for i in 1 2 3 4 5; do
		replay_eio_poll p1.out >/dev/null
		cat p1.out >>p.out
		grep -q '^42\["device-' p.out && break
	done
	[ "$(grep -c '^4319\[{"ok":true}\]' p.out)" -eq 1 ] ||
	    atf_fail "rejoins not acknowledged: $(cat p.out)"
	[ "$(grep -c '"n":' p.out)" -eq 0 ] ||
	    atf_fail "replayed again: $(cat p.out)"
	grep -q '^42\["device-heartbeat"' p.out ||
	    atf_fail "no live event after the rejoins: $(cat p.out)"
	notifier_alive
}
rooms__rejoin_no_duplicates_cleanup()
{
	replay_clients_stop
	goip_cleanup
}

atf_test_case rooms__cap cleanup
rooms__cap_head()
{
	atf_set descr "A client may name at most 64 device rooms in one connection, left ones included: joining a left room again is allowed, a 65th room closes the session"
	atf_set require.progs "curl"
}
rooms__cap_body()
{
	replay_instance
	replay_notifier
	replay_connect
	awk 'BEGIN {
		for (i = 1; i <= 64; i++)
			printf "%s42%d[\"join-device-room\",\"dev-%d\"]\036" \
			    "42[\"leave-device-room\",\"dev-%d\"]",
			    (i > 1 ? "\036" : ""), i, i, i
	}' >joins.txt
	[ "$(replay_eio_post joins.txt)" = 200 ] || atf_fail "joins refused"
	replay_eio_poll acks.out >/dev/null
	[ "$(grep -c '^43[0-9]*\[{"ok":true}\]' acks.out)" -eq 64 ] ||
	    atf_fail "64 joins not acknowledged: $(head -c 300 acks.out)"
	# Wait for the join rate limit to give a few joins back.
	sleep 1
	printf '42100["join-device-room","dev-7"]' >again.txt
	[ "$(replay_eio_post again.txt)" = 200 ] || atf_fail "rejoin refused"
	replay_eio_poll again.out >/dev/null
	grep -q '^43100\[{"ok":true}\]' again.out ||
	    atf_fail "a left room could not be joined again: $(cat again.out)"
	printf '42101["join-device-room","dev-65"]' >over.txt
	replay_eio_post over.txt >/dev/null
	[ "$(replay_eio_poll over.out)" != 200 ] ||
	    ! grep -q '^43101\[{"ok":true}\]' over.out ||
	    atf_fail "a 65th room was joined: $(cat over.out)"
	[ "$(replay_eio_poll closed.out)" = 400 ] ||
	    atf_fail "the session outlived the cap: $(cat closed.out)"
	notifier_alive
}
rooms__cap_cleanup()
{
	goip_cleanup
}

atf_test_case rooms__join_rate cleanup
rooms__join_rate_head()
{
	atf_set descr "Room joins of one Socket.IO session are rate limited (burst 64, then 8 a second): joins past the limit get an error acknowledgement and do nothing, and the limit refills"
	atf_set require.progs "curl"
}
rooms__join_rate_body()
{
	local ok no

	replay_instance
	replay_notifier
	replay_connect
	awk 'BEGIN {
		for (i = 1; i <= 100; i++)
			printf "%s42%d[\"join-device-room\",\"goip-01\"]",
			    (i > 1 ? "\036" : ""), i
	}' >joins.txt
	[ "$(replay_eio_post joins.txt)" = 200 ] || atf_fail "joins refused"
	replay_eio_poll acks.out >/dev/null
	# 64 at once; a slow machine may see one or two refilled meanwhile.
	ok=$(grep -c '^43[0-9]*\[{"ok":true}\]' acks.out)
	no=$(grep -c '^43[0-9]*\[{"ok":false,"error":"too many joins"}\]' \
	    acks.out)
	[ "${ok}" -ge 64 ] && [ "${ok}" -le 66 ] && [ $((ok + no)) -eq 100 ] ||
	    atf_fail "${ok} joins, ${no} refusals: $(tr '\n' ' ' <acks.out |
	    head -c 400)"
	grep -q '^4364\[{"ok":true}\]' acks.out || atf_fail "join 64 refused"
	grep -q '^43100\[{"ok":false' acks.out || atf_fail "join 100 accepted"
	sleep 0.5
	printf '42200["join-device-room","goip-02"]' >later.txt
	[ "$(replay_eio_post later.txt)" = 200 ] || atf_fail "join refused"
	replay_eio_poll later.out >/dev/null
	grep -q '^43200\[{"ok":true}\]' later.out ||
	    atf_fail "the limit did not refill: $(cat later.out)"
	notifier_alive
}
rooms__join_rate_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case replay__join_flood
	atf_add_test_case replay__long_in_order
	atf_add_test_case replay__events_errors_json
	atf_add_test_case replay__device_index
	atf_add_test_case rooms__rejoin_no_duplicates
	atf_add_test_case rooms__cap
	atf_add_test_case rooms__join_rate
}
