#
# relay_test: the Redis Streams relay of goip-notifier (issue 15) with real
# components: a redis-server without persistence on a free loopback port, a
# primary notifier (role = primary, relay set) behind lighttpd, to which
# heartbeats and SMS are POSTed through goip-cgi, and two edges (role =
# edge) whose database lies in a folder that does not exist.  Clients are
# socket.io-client (tests/node/relay.cjs) and curl on the JSON long-poll.
# Each client's eventIds are compared with the primary's event log.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

STREAM=goip:events

# relay_metrics_conf DIR: print the metrics_listen line of the notifier of
# DIR, on a free port saved in DIR/metrics.port.
relay_metrics_conf()
{
	mkdir -p "$1"
	goip_free_port >"$1/metrics.port"
	echo "metrics_listen = 127.0.0.1:$(cat "$1/metrics.port")"
}

# relay_up: start redis-server (DIR/redis; RPORT), the primary notifier of
# a fresh instance DIR with device goip-01 (token in T1) behind lighttpd
# (LURL; the dashboard's login in CRED), and edges DIR/a and DIR/b (URLs EA
# and EB); wait until all three notifiers are connected to Redis.
relay_up()
{
	local d

	notifier_node_setup
	DIR=$(goip_tmpdir)
	RPORT=$(goip_free_port)
	goip_redis_start "${DIR}/redis" "${RPORT}"
	goip_instance "${DIR}"
	{
		echo "relay = redis://127.0.0.1:${RPORT}"
		relay_metrics_conf "${DIR}"
	} >>"${DIR}/goip.conf"
	T1=$(goip_device_add "${DIR}" goip-01)
	goip_notifier_start "${DIR}"
	goip_lighttpd_up
	CRED=$(goip_credentials "${DIR}")
	for d in a b; do
		goip_edge_instance "${DIR}/${d}" "redis://127.0.0.1:${RPORT}" \
		    "$(relay_metrics_conf "${DIR}/${d}")"
		goip_notifier_start "${DIR}/${d}"
	done
	EA="http://127.0.0.1:$(cat "${DIR}/a/notifier.port")"
	EB="http://127.0.0.1:$(cat "${DIR}/b/notifier.port")"
	for d in "${DIR}" "${DIR}/a" "${DIR}/b"; do
		relay_wait_metric "${d}" goip_notifier_relay_up 1
	done
}

# relay_metric DIR NAME: print the value of the sample NAME (no labels) on
# the metrics page of the notifier of DIR; nothing when it is absent.
relay_metric()
{
	curl -s -m 5 "http://127.0.0.1:$(cat "$1/metrics.port")/metrics" |
	    awk -v n="$2" '$1 == n { print $2 }'
}

# relay_wait_metric DIR NAME VALUE: wait until the sample NAME of the
# notifier of DIR is VALUE, as long as that notifier runs, for 30 s at most.
relay_wait_metric()
{
	local tries=300 v

	until v=$(relay_metric "$1" "$2"); [ "${v}" = "$3" ]; do
		goip_pid_alive "$(cat "$1/notifier.pid")" ||
		    atf_fail "the notifier of $1 exited: $(tail -5 "$1/notifier.log" | tr "\n" ";")"
		tries=$((tries - 1))
		[ "${tries}" -gt 0 ] ||
		    atf_fail "$2 of $1 is '${v}', not $3: $(tail -5 "$1/notifier.log" | tr "\n" ";")"
		sleep 0.1
	done
}

# relay_post PATH BODY: POST BODY to PATH as device goip-01 through
# lighttpd and goip-cgi; fail unless it is accepted.
relay_post()
{
	local code

	code=$(goip_post "${LURL}" "${T1}" "$1" "$2")
	case "${code}" in
	200|201|202) ;;
	*) atf_fail "POST $1: ${code} $(oneline post.out)" ;;
	esac
}

heartbeat()
{
	relay_post /api/device/heartbeat \
	    '{"deviceId":"goip-01","battery":80,"signal":50}'
}

sms()
{
	relay_post /api/sms/receive "{\"deviceId\":\"goip-01\",\
\"messageId\":\"$1\",\"slot\":1,\"from\":\"+447700900123\",\"text\":\"$1\"}"
}

# log_ids [AFTER]: print the ids of the primary's event log after AFTER
# (default 0), one a line, in order.
log_ids()
{
	sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" \
	    "SELECT id FROM events WHERE id > ${1:-0} ORDER BY id" ||
	    atf_fail "cannot read the event log"
}

# log_last: print the id of the log's last event (0 when it is empty).
log_last()
{
	sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" \
	    'SELECT coalesce(max(id), 0) FROM events' ||
	    atf_fail "cannot read the event log"
}

# client NAME URL [ENV...]: start tests/node/relay.cjs on URL in the
# background (NAME.out, NAME.log, NAME.pid) with the settings ENV (LAST=,
# AUTH=, TRANSPORTS=) and wait until it has joined the dashboard.
client()
{
	local name="$1" url="$2"

	shift 2
	client_start "${name}" "${url}" "$@"
	client_joined "${name}" 1
}

# client_start NAME URL [ENV...]: client, without waiting for the join.
client_start()
{
	local name="$1" url="$2"

	shift 2
	env "$@" node "${GOIP_SRCDIR}/tests/node/relay.cjs" "${url}" \
	    "${name}.out" >"${name}.log" 2>&1 &
	echo $! >"${name}.pid"
}

# client_joined NAME N: wait until client NAME has joined the dashboard N
# times in all, as long as it runs (it gives up after its TIMEOUT).
client_joined()
{
	until [ "$(cat "$1.out.joined" 2>/dev/null | wc -l)" -ge "$2" ]; do
		goip_pid_alive "$(cat "$1.pid")" ||
		    atf_fail "client $1 exited before join $2: $(oneline "$1.log")"
		sleep 0.1
	done
}

# client_ids NAME: print the eventIds client NAME received, in order.
client_ids()
{
	awk '$2 != "-" { print $2 }' "$1.out" 2>/dev/null
}

# client_seen NAME ID: wait until client NAME has received event ID, as
# long as it runs.
client_seen()
{
	until client_ids "$1" | grep -qx -- "$2"; do
		goip_pid_alive "$(cat "$1.pid")" ||
		    atf_fail "client $1 exited before event $2: $(oneline "$1.log")"
		sleep 0.1
	done
}

# client_stop NAME: tell client NAME to disconnect and exit; fail unless it
# exits 0.
client_stop()
{
	local pid

	pid=$(cat "$1.pid")
	touch "$1.out.stop"
	wait "${pid}" || atf_fail "client $1 failed: $(oneline "$1.log")"
	rm -f "$1.pid"
}

# client_check NAME AFTER: fail unless the eventIds client NAME received
# are exactly those of the log after AFTER, each once, in order.
client_check()
{
	local got want

	got=$(client_ids "$1" | tr '\n' ' ')
	want=$(log_ids "$2" | tr '\n' ' ')
	[ "${got}" = "${want}" ] ||
	    atf_fail "client $1 got eventIds '${got}', the log after $2 has '${want}'"
}

# client_sync NAME...: post one more heartbeat (a live event after
# everything else) and wait until every client NAME has received the log's
# last event.
client_sync()
{
	local c last

	heartbeat
	last=$(log_last)
	for c in "$@"; do
		client_seen "${c}" "${last}"
	done
}

# edge_kill NAME: kill -9 the edge DIR/NAME and reap it.
edge_kill()
{
	local pid

	pid=$(cat "${DIR}/$1/notifier.pid")
	kill -KILL "${pid}"
	wait "${pid}" 2>/dev/null
	rm -f "${DIR}/$1/notifier.pid"
}

# edge_no_sqlite NAME: fail if the edge DIR/NAME created its database
# folder, bound a notify_socket or holds a database file open.
edge_no_sqlite()
{
	local e="${DIR}/$1" pid

	pid=$(cat "${e}/notifier.pid")
	goip_pid_alive "${pid}" || atf_fail "edge $1 is not running"
	[ -e "${e}/absent" ] && atf_fail "edge $1 created $(ls -R "${e}/absent")"
	ls -l "/proc/${pid}/fd" >fd.out 2>&1 ||
	    atf_fail "cannot list the files of edge $1: $(oneline fd.out)"
	grep -E -e '\.db' -e '-(wal|shm|journal)$' -e '\.sock' fd.out &&
	    atf_fail "edge $1 holds a database or socket file open"
	return 0
}

# oneline FILE...: print FILEs with their newlines as ";" (kyua takes a
# failure reason of one line).
oneline()
{
	cat "$@" 2>/dev/null | tr '\n' ';'
}

clients_stop()
{
	local f

	for f in *.pid; do
		[ -f "${f}" ] && kill "$(cat "${f}")" 2>/dev/null
	done
	return 0
}

atf_test_case resume__other_edge cleanup
resume__other_edge_head()
{
	atf_set descr "A client on edge A sees a heartbeat and an SMS posted through the web server, leaves, and resumed on edge B with its lastEventId gets exactly the events it missed, in order, then live ones"
	atf_set require.progs "node curl lighttpd redis-server sqlite3"
	atf_set timeout 60
}
resume__other_edge_body()
{
	local first left

	relay_up
	client c "${EA}"
	heartbeat
	sms s1
	client_seen c "$(log_last)"
	grep -q '^device-heartbeat [0-9]* .*"goip-01"' c.out ||
	    atf_fail "no heartbeat on edge A: $(oneline c.out)"
	grep -q '^sms-received [0-9]* .*"text":"s1"' c.out ||
	    atf_fail "no SMS on edge A: $(oneline c.out)"
	first=$(client_ids c | head -n 1)
	touch c.out.leave
	goip_wait_grep c.out.left '^[0-9]+$' 10
	left=$(cat c.out.left)
	sms s2
	heartbeat
	sms s3
	[ "$(client_ids c | tail -n 1)" = "${left}" ] ||
	    atf_fail "client got events after it left: $(oneline c.out)"
	echo "${EB}" >c.out.goto.tmp && mv c.out.goto.tmp c.out.goto
	client_joined c 2
	grep -q "^${EB} ${left}\$" c.out.joined ||
	    atf_fail "the join on edge B did not carry lastEventId ${left}: $(oneline c.out.joined)"
	client_seen c "$(log_last)"
	client_check c $((first - 1))
	sms s4
	client_seen c "$(log_last)"
	client_stop c
	client_check c $((first - 1))
	[ "$(grep -c '"text":"s[1-4]"' c.out)" -eq 4 ] ||
	    atf_fail "want s1 to s4 once each: $(oneline c.out)"
	edge_no_sqlite a
	edge_no_sqlite b
}
resume__other_edge_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case redis__restart_empty cleanup
redis__restart_empty_head()
{
	atf_set descr "Redis killed -9 while SMS keep arriving and restarted empty, the edges reconnecting before the primary refills it: clients on both edges (WebSocket, polling), on the primary, and one resuming on an edge meanwhile get every event of the log exactly once, in order"
	atf_set require.progs "node curl lighttpd redis-server redis-cli sqlite3"
	atf_set timeout 90
}
redis__restart_empty_body()
{
	local i d

	relay_up
	heartbeat
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "$(log_last)"
	client ca "${EA}" LAST=0 TRANSPORTS=websocket
	client cb "${EB}" LAST=0 TRANSPORTS=polling
	client cp "${LURL}" LAST=0 AUTH="${CRED}"
	for i in $(seq 1 30); do
		sms "m${i}"
		case "${i}" in
		10)	kill -KILL "$(cat "${DIR}/redis/redis.pid")"
			wait "$(cat "${DIR}/redis/redis.pid")" 2>/dev/null
			for d in "${DIR}" "${DIR}/a" "${DIR}/b"; do
				relay_wait_metric "${d}" \
				    goip_notifier_relay_up 0
			done ;;
		20)	# The primary served its own clients meanwhile.
			client_seen cp "$(log_last)"
			# The edges come back first, to an empty stream
			# behind their cursors: the primary is stopped
			# until they are connected, and a client resumes
			# on edge B in the meantime.
			kill -STOP "$(cat "${DIR}/notifier.pid")"
			goip_redis_start "${DIR}/redis" "${RPORT}"
			for d in "${DIR}/a" "${DIR}/b"; do
				relay_wait_metric "${d}" \
				    goip_notifier_relay_up 1
			done
			client_start cr "${EB}" LAST=5 ;;
		25)	kill -CONT "$(cat "${DIR}/notifier.pid")" ;;
		esac
	done
	client_joined cr 1
	for d in "${DIR}" "${DIR}/a" "${DIR}/b"; do
		relay_wait_metric "${d}" goip_notifier_relay_up 1
	done
	client_sync ca cb cp cr
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "$(log_last)"
	for i in ca cb cp; do
		client_stop "${i}"
		client_check "${i}" 0
	done
	client_stop cr
	client_check cr 5
	[ "$(redis-cli -p "${RPORT}" XLEN "${STREAM}")" -eq "$(log_ids | wc -l)" ] ||
	    atf_fail "the stream was not refilled from the log"
}
redis__restart_empty_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case edge__kill9 cleanup
edge__kill9_head()
{
	atf_set descr "An edge killed -9 while SMS keep arriving and started again: its clients (WebSocket, polling) reconnect with their lastEventId and get every event exactly once, in order"
	atf_set require.progs "node curl lighttpd redis-server sqlite3"
	atf_set timeout 60
}
edge__kill9_body()
{
	local i

	relay_up
	heartbeat
	relay_wait_metric "${DIR}/a" goip_notifier_relay_cursor "$(log_last)"
	client ws "${EA}" LAST=0 TRANSPORTS=websocket
	client po "${EA}" LAST=0 TRANSPORTS=polling
	for i in $(seq 1 15); do
		sms "m${i}"
		case "${i}" in
		5)	client_seen ws "$(log_last)"
			client_seen po "$(log_last)"
			edge_kill a ;;
		10)	goip_notifier_start "${DIR}/a" ;;
		esac
	done
	client_joined ws 2
	client_joined po 2
	client_sync ws po
	client_stop ws
	client_stop po
	client_check ws 0
	client_check po 0
	edge_no_sqlite a
}
edge__kill9_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case edge__no_sqlite cleanup
edge__no_sqlite_head()
{
	atf_set descr "An edge serves events without ever opening SQLite or binding a notify_socket: its database folder does not exist and stays absent, no .db is among its open files, and run as root it runs as nobody"
	atf_set require.progs "curl lighttpd redis-server sqlite3"
	atf_set timeout 60
}
edge__no_sqlite_body()
{
	local d

	relay_up
	heartbeat
	sms s1
	for d in a b; do
		relay_wait_metric "${DIR}/${d}" goip_notifier_relay_cursor \
		    "$(log_last)"
		curl -s "http://127.0.0.1:$(cat "${DIR}/${d}/notifier.port")/api/events?since=0" >body
		grep -q '"text":"s1"' body ||
		    atf_fail "edge ${d} does not serve the SMS: $(oneline body)"
		edge_no_sqlite "${d}"
		if [ "$(id -u)" -eq 0 ]; then
			[ "$(ps -o user= -p "$(cat "${DIR}/${d}/notifier.pid")")" = nobody ] ||
			    atf_fail "edge ${d} runs as $(ps -o user= -p "$(oneline "${DIR}/${d}/notifier.pid")")"
		fi
	done
	grep -E 'sweep|prune' "${DIR}/a/notifier.log" &&
	    atf_fail "the edge runs the sweep or prune: $(oneline "${DIR}/a/notifier.log")"
	return 0
}
edge__no_sqlite_cleanup()
{
	goip_cleanup
}

atf_test_case edge__cut_off cleanup
edge__cut_off_head()
{
	atf_set descr "An edge whose cursor falls behind the stream's first entry (stopped while the stream was trimmed past it) closes its sessions: its client reconnects, gets one resync naming the stream's first entry, then live events"
	atf_set require.progs "node curl lighttpd redis-server redis-cli sqlite3 jq"
	atf_set timeout 60
}
edge__cut_off_body()
{
	local pid last

	relay_up
	heartbeat
	client c "${EA}" LAST=0 TRANSPORTS=websocket
	client_seen c "$(log_last)"
	pid=$(cat "${DIR}/a/notifier.pid")
	kill -STOP "${pid}"
	sms x1
	sms x2
	last=$(log_last)
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "${last}"
	atf_check -o ignore redis-cli -p "${RPORT}" XTRIM "${STREAM}" MINID "${last}"
	kill -CONT "${pid}"
	goip_wait_grep c.out '^resync' 20
	client_joined c 2
	client_sync c
	client_stop c
	[ "$(grep -c '^resync' c.out)" -eq 1 ] || atf_fail "resync: $(oneline c.out)"
	grep '^resync' c.out | cut -d ' ' -f 3- |
	    jq -e ".oldestEventId == ${last}" >/dev/null ||
	    atf_fail "resync does not name event ${last}: $(oneline c.out)"
	[ -z "$(client_ids c | uniq -d)" ] &&
	    client_ids c | sort -n -c -u ||
	    atf_fail "events repeated or out of order: $(oneline c.out)"
	client_ids c | grep -qx "$((last - 1))" &&
	    atf_fail "the edge sent an event trimmed from the stream"
	return 0
}
edge__cut_off_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case resume__resync cleanup
resume__resync_head()
{
	atf_set descr "On an edge, a client whose lastEventId is older than the stream's first entry (XTRIM) gets one resync with that entry's id, then live events; one that is not gets the rest"
	atf_set require.progs "node curl lighttpd redis-server redis-cli sqlite3 jq"
	atf_set timeout 60
}
resume__resync_body()
{
	local last

	relay_up
	heartbeat
	heartbeat
	heartbeat
	last=$(log_last)
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "${last}"
	atf_check -o ignore redis-cli -p "${RPORT}" XTRIM "${STREAM}" MINID "${last}"
	atf_check -o inline:"1\n" redis-cli -p "${RPORT}" XLEN "${STREAM}"
	client r "${EA}" LAST=$((last - 2))
	client s "${EB}" LAST=$((last - 1))
	goip_wait_grep r.out '^resync' 20
	client_seen s "${last}"
	heartbeat
	client_seen r "$(log_last)"
	client_seen s "$(log_last)"
	client_stop r
	client_stop s
	[ "$(grep -c '^resync' r.out)" -eq 1 ] || atf_fail "resync: $(oneline r.out)"
	grep '^resync' r.out | cut -d ' ' -f 3- |
	    jq -e ".oldestEventId == ${last}" >/dev/null ||
	    atf_fail "resync does not name event ${last}: $(oneline r.out)"
	grep -q '^resync' s.out && atf_fail "a client in the stream got resync"
	client_check s $((last - 1))
}
resume__resync_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case events__longpoll cleanup
events__longpoll_head()
{
	atf_set descr "GET /api/events on an edge answers the same events as on the primary, and a parked long-poll is answered by the next event"
	atf_set require.progs "curl lighttpd redis-server sqlite3 jq"
	atf_set timeout 60
}
events__longpoll_body()
{
	local last pid port

	relay_up
	port=$(cat "${DIR}/a/notifier.port")
	heartbeat
	sms s1
	last=$(log_last)
	relay_wait_metric "${DIR}/a" goip_notifier_relay_cursor "${last}"
	curl -s -u "${CRED}" "${LURL}/api/events?since=0" | jq -S . >primary.json
	curl -s "${EA}/api/events?since=0" | jq -S . >edge.json
	jq -e "length > 1 and .[-1].eventId == ${last}" primary.json >/dev/null ||
	    atf_fail "the primary answers $(oneline primary.json)"
	cmp -s primary.json edge.json ||
	    atf_fail "the edge answers otherwise: $(diff primary.json edge.json)"
	curl -s "${EA}/api/events?since=${last}&wait=30" >wait.out &
	pid=$!
	# Parked once its connection is established (the request follows at
	# once, long before an event crosses the web server, the primary and
	# Redis).
	until [ -n "$(ss -Htn state established "( dport = :${port} )")" ]; do
		goip_pid_alive "${pid}" ||
		    atf_fail "the long-poll answered before any event: $(oneline wait.out)"
		sleep 0.1
	done
	sms s2
	wait "${pid}" || atf_fail "the long-poll failed"
	jq -e ".[0].eventId == ${last} + 1 and .[0].data.text == \"s2\"" \
	    wait.out >/dev/null || atf_fail "long-poll: $(oneline wait.out)"
	curl -s -u "${CRED}" "${LURL}/api/events?since=${last}" | jq -S . >primary.json
	jq -S . wait.out >edge.json
	cmp -s primary.json edge.json ||
	    atf_fail "the edge answered otherwise: $(diff primary.json edge.json)"
}
events__longpoll_cleanup()
{
	goip_cleanup
}

atf_test_case stream__format cleanup
stream__format_head()
{
	atf_set descr "The stream holds one entry per event of the log, id N-0, fields type, device, at and data as in the log; <stream>:stats holds the stats snapshot, published on the channel of that name; the relay metrics of both roles"
	atf_set require.progs "curl lighttpd redis-server redis-cli sqlite3 jq"
	atf_set timeout 60
}
stream__format_body()
{
	local last pid tries

	relay_up
	heartbeat
	sms s1
	last=$(log_last)
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "${last}"
	sqlite3 -cmd '.timeout 5000' -json "${DIR}/goip.db" "SELECT
	    id || '-0' AS id, type, coalesce(device, '') AS device,
	    CAST(at AS TEXT) AS at, payload AS data FROM events ORDER BY id" |
	    jq -S -c '.[]' >log.json || atf_fail "cannot read the event log"
	redis-cli -p "${RPORT}" --json XRANGE "${STREAM}" - + >xrange.json
	jq -e 'all(.[]; .[1] | length == 8 and .[0] == "type" and
	    .[2] == "device" and .[4] == "at" and .[6] == "data")' \
	    xrange.json >/dev/null ||
	    atf_fail "an entry is not type, device, at, data: $(oneline xrange.json)"
	jq -S -c '.[] | {id: .[0], type: .[1][1], device: .[1][3],
	    at: .[1][5], data: .[1][7]}' xrange.json >stream.json
	[ -s log.json ] || atf_fail "the log is empty"
	cmp -s log.json stream.json ||
	    atf_fail "the stream differs from the log: $(diff log.json stream.json)"
	# The snapshot follows the events, at most 4 a second.
	tries=100
	until redis-cli -p "${RPORT}" GET "${STREAM}:stats" >stats.json &&
	    jq -e '.devices.total == 1 and .sms.received == 1' stats.json \
	    >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "${tries}" -gt 0 ] ||
		    atf_fail "${STREAM}:stats holds $(oneline stats.json)"
		sleep 0.1
	done

	# A snapshot on the channel after the next event.
	redis-cli -p "${RPORT}" SUBSCRIBE "${STREAM}:stats" >sub.out 2>&1 &
	pid=$!
	goip_wait_grep sub.out '^1$' 10
	sms s2
	goip_wait_grep sub.out '"received": ?2' 10
	kill "${pid}"
	wait "${pid}" 2>/dev/null

	last=$(log_last)
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "${last}"
	relay_wait_metric "${DIR}/a" goip_notifier_relay_cursor "${last}"
	relay_wait_metric "${DIR}/b" goip_notifier_relay_cursor "${last}"
	[ "$(relay_metric "${DIR}" goip_notifier_relay_published_total)" -eq \
	    "$(log_ids | wc -l)" ] ||
	    atf_fail "published_total: $(relay_metric "${DIR}" goip_notifier_relay_published_total)"
	[ "$(relay_metric "${DIR}/a" goip_notifier_relay_errors_total)" = 0 ] ||
	    atf_fail "errors_total of edge a: $(relay_metric "${DIR}/a" goip_notifier_relay_errors_total)"
}
stream__format_cleanup()
{
	goip_cleanup
}

atf_test_case primary__stream_ahead cleanup
primary__stream_ahead_head()
{
	atf_set descr "A stream that ends after the log's last event (another primary's): the primary says why and publishes nothing while its own clients go on; deleted, the stream is refilled from the log at the next retry"
	atf_set require.progs "node curl lighttpd redis-server redis-cli sqlite3 jq"
	atf_set timeout 60
}
primary__stream_ahead_body()
{
	local errors

	relay_up
	heartbeat
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "$(log_last)"
	client cp "${LURL}" AUTH="${CRED}"
	errors=$(relay_metric "${DIR}" goip_notifier_relay_errors_total)
	atf_check -o ignore redis-cli -p "${RPORT}" DEL "${STREAM}"
	atf_check -o inline:"1000-0\n" redis-cli -p "${RPORT}" XADD "${STREAM}" \
	    1000-0 type sms-received device goip-01 at 0 data '{}'
	# Every client reconnects: the primary finds the stream ahead.
	atf_check -o ignore redis-cli -p "${RPORT}" CLIENT KILL TYPE normal
	until grep -q 'ends at event 1000, after the log' "${DIR}/notifier.log"; do
		goip_pid_alive "$(cat "${DIR}/notifier.pid")" ||
		    atf_fail "the primary exited: $(oneline "${DIR}/notifier.log")"
		sleep 0.1
	done
	[ "$(relay_metric "${DIR}" goip_notifier_relay_errors_total)" -gt "${errors}" ] ||
	    atf_fail "relay_errors_total did not grow"
	client_sync cp
	atf_check -o inline:"1\n" redis-cli -p "${RPORT}" XLEN "${STREAM}"
	atf_check -o ignore redis-cli -p "${RPORT}" DEL "${STREAM}"
	relay_wait_metric "${DIR}" goip_notifier_relay_cursor "$(log_last)"
	[ "$(redis-cli -p "${RPORT}" --json XRANGE "${STREAM}" - + |
	    jq -r '.[][0]' | tr '\n' ' ')" = "$(log_ids | sed 's/$/-0/' |
	    tr '\n' ' ')" ] || atf_fail "the stream was not refilled from the log"
	client_stop cp
	client_check cp "$(($(client_ids cp | head -n 1) - 1))"
}
primary__stream_ahead_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case config__refused
config__refused_head()
{
	atf_set descr "goip-notifier -n refuses role = edge without relay and bad relay URLs, naming the key, and accepts an edge's configuration"
}
config__refused_body()
{
	local u

	goip_edge_instance "$(pwd)/e" redis://127.0.0.1:6379/15
	atf_check -s exit:0 -e match:OK -o ignore \
	    "${GOIP_NOTIFIER}" -n -c e/goip.conf
	[ -e e/absent ] && atf_fail "-n created the edge's database folder"
	grep -v '^relay' e/goip.conf >e/norelay.conf
	atf_check -s exit:1 -e match:'role = edge needs relay' \
	    "${GOIP_NOTIFIER}" -n -c e/norelay.conf
	for u in redis://x http://h:1 redis://h:0 redis://h:1/16 \
	    redis://h:65536 redis://:1 redis://h:1/x 'redis://[::1:1'; do
		sed "s|^relay = .*|relay = ${u}|" e/goip.conf >e/bad.conf
		atf_check -s exit:1 -e match:'bad.conf:[0-9]+: relay: expected' \
		    "${GOIP_NOTIFIER}" -n -c e/bad.conf
	done
	for u in redis://localhost:6379 'redis://[::1]:6379/0' \
	    redis://127.0.0.1:1/15; do
		sed "s|^relay = .*|relay = ${u}|" e/goip.conf >e/good.conf
		atf_check -s exit:0 -e match:OK -o ignore \
		    "${GOIP_NOTIFIER}" -n -c e/good.conf
	done
}

atf_init_test_cases()
{
	atf_add_test_case resume__other_edge
	atf_add_test_case redis__restart_empty
	atf_add_test_case edge__kill9
	atf_add_test_case edge__no_sqlite
	atf_add_test_case edge__cut_off
	atf_add_test_case resume__resync
	atf_add_test_case events__longpoll
	atf_add_test_case stream__format
	atf_add_test_case primary__stream_ahead
	atf_add_test_case config__refused
}
