#
# notifier_app_test: goip-notifier in application mode on a test instance
# (lib.subr): rooms, an event from a goip-cgi heartbeat reaching
# socket.io-client (tests/node/app.cjs), the liveness sweep, the JSON
# long-poll, metrics, and lossless resume across kill -9 and restart while
# SMS keep arriving.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# app_start [CONF-LINES]: make an instance with devices goip-01 and goip-02
# (tokens in T1, T2), add CONF-LINES to its goip.conf, start the notifier;
# sets DIR and URL.  The notifier listens on TCP and the test talks to it
# directly as the authenticating proxy would (goip_proxy_env), unless
# APP_NET=unix (a web server in front, on its Unix socket).
app_start()
{
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}" "${APP_NET:-tcp}"
	[ $# -gt 0 ] && printf '%s\n' "$@" >>"${DIR}/goip.conf"
	T1=$(goip_device_add "${DIR}" goip-01)
	T2=$(goip_device_add "${DIR}" goip-02)
	goip_notifier_start "${DIR}"
	if [ -f "${DIR}/notifier.port" ]; then
		goip_proxy_env "${DIR}"
		URL="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
	fi
}

# cgi_post TOKEN PATH BODY: run goip-cgi as a plain CGI program.
cgi_post()
{
	goip_cgi "${DIR}" POST "$2" "$3" HTTP_AUTHORIZATION="Bearer $1" \
	    >cgi.out 2>&1 ||
	    atf_fail "goip-cgi $2 failed: $(cat cgi.out)"
	grep -q '^Status: 20[01]' cgi.out ||
	    atf_fail "goip-cgi $2: $(cat cgi.out)"
}

heartbeat()
{
	cgi_post "$1" /api/device/heartbeat \
	    "{\"deviceId\":\"$2\",\"battery\":80,\"signal\":50}"
}

sms()
{
	cgi_post "${T1}" /api/sms/receive "{\"deviceId\":\"goip-01\",\
\"messageId\":\"$1\",\"slot\":1,\"from\":\"+447700900123\",\"text\":\"$1\"}"
}

# client NAME [ENV...]: start app.cjs in the background writing NAME.out,
# and wait until its rooms are joined (as long as it runs: it gives up after
# its TIMEOUT).
client()
{
	local name="$1"

	shift
	goip_app_start "${name}" "${URL}" "${name}.pid" "$@"
	goip_client_ready "${name}" "${name}.pid"
}

clients_stop()
{
	local f

	for f in *.pid; do
		[ -f "${f}" ] && kill "$(cat "${f}")" 2>/dev/null
	done
	return 0
}

atf_test_case rooms__heartbeat cleanup
rooms__heartbeat_head()
{
	atf_set descr "A goip-cgi heartbeat reaches the dashboard and its device room, not another device's room, over polling and WebSocket"
	atf_set require.progs "node"
}
rooms__heartbeat_body()
{
	notifier_node_setup
	app_start
	client dash ROOMS=dashboard
	client dev1 ROOMS=device:goip-01 TRANSPORTS=websocket
	client dev2 ROOMS=device:goip-02 TRANSPORTS=polling
	client both "ROOMS=dashboard device:goip-01"
	heartbeat "${T1}" goip-01
	goip_wait_grep dash.out '^device-heartbeat [0-9]* goip-01'
	goip_wait_grep dev1.out '^device-heartbeat [0-9]* goip-01'
	goip_wait_grep both.out '^device-heartbeat [0-9]* goip-01'
	goip_wait_grep dash.out '^stats-update'
	heartbeat "${T2}" goip-02
	goip_wait_grep dev2.out '^device-heartbeat [0-9]* goip-02'
	goip_wait_grep dash.out '^device-heartbeat [0-9]* goip-02'
	sleep 0.3
	grep -q goip-01 dev2.out && atf_fail "device-02 room got goip-01"
	grep -q goip-02 dev1.out && atf_fail "device-01 room got goip-02"
	[ "$(grep -c '^device-heartbeat [0-9]* goip-01' both.out)" -eq 1 ] ||
	    atf_fail "a client in two rooms got an event twice: $(cat both.out)"
	grep -q '^stats-update' dev1.out && atf_fail "stats-update outside dashboard"
	return 0
}
rooms__heartbeat_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case rooms__leave_rejoin cleanup
rooms__leave_rejoin_head()
{
	atf_set descr "A client that leaves a device room and joins it again in the same connection gets each of its events exactly once, in order, including those sent while it was out"
	atf_set require.progs "node"
	atf_set timeout 120
}
rooms__leave_rejoin_body()
{
	local t want

	notifier_node_setup
	app_start
	sms m1
	sms m2
	for t in websocket polling; do
		rm -f "${t}".out*
		TRANSPORTS=${t} node "${GOIP_SRCDIR}/tests/node/rejoin.cjs" \
		    "${URL}" "${t}.out" goip-01 >"${t}.log" 2>&1 &
		echo $! >"${t}.pid"
		goip_client_ready "${t}" "${t}.pid"
		goip_wait_grep "${t}.out" "^sms-received [0-9]* goip-01 m2$"
		sms "${t}-live"
		goip_wait_grep "${t}.out" "^sms-received [0-9]* goip-01 ${t}-live$"
		touch "${t}.out.leave"
		goip_wait_grep "${t}.out.left" left
		sms "${t}-away"
		touch "${t}.out.rejoin"
		goip_wait_grep "${t}.out.rejoined" rejoined
		sms "${t}-back"
		goip_wait_grep "${t}.out" "^sms-received [0-9]* goip-01 ${t}-back$"
		sleep 0.5
		kill "$(cat "${t}.pid")" 2>/dev/null
		want="m1 m2"
		[ "${t}" = polling ] && want="${want} websocket-live \
websocket-away websocket-back"
		want="${want} ${t}-live ${t}-away ${t}-back"
		[ "$(awk '$1 == "sms-received" { print $4 }' "${t}.out" |
		    tr '\n' ' ')" = "$(echo ${want}) " ] ||
		    atf_fail "${t}: want ${want} once each: $(tr '\n' ';' <"${t}.out")"
		[ "$(awk '$2 != "-" { print $2 }' "${t}.out" | sort -n |
		    uniq -d)" = "" ] ||
		    atf_fail "${t}: an eventId came twice: $(tr '\n' ';' <"${t}.out")"
		[ "$(awk '$2 != "-" { print $2 }' "${t}.out" | tr '\n' ' ')" = \
		    "$(awk '$2 != "-" { print $2 }' "${t}.out" | sort -n |
		    tr '\n' ' ')" ] ||
		    atf_fail "${t}: events out of order: $(tr '\n' ';' <"${t}.out")"
	done
}
rooms__leave_rejoin_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case sweep__offline cleanup
sweep__offline_head()
{
	atf_set descr "A device silent longer than offline_after is marked offline by the sweep, with its event"
	atf_set require.progs "node curl"
}
sweep__offline_body()
{
	notifier_node_setup
	app_start "offline_after = 2s"
	client dash ROOMS=dashboard
	heartbeat "${T1}" goip-01
	goip_wait_grep dash.out '^device-heartbeat'
	sleep 3.5
	goip_wait_grep dash.out '^device-status-change [0-9]* goip-01'
	atf_check -o match:'"status":"offline"' curl -s "${URL}/api/events?since=0"
}
sweep__offline_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case events__longpoll cleanup
events__longpoll_head()
{
	atf_set descr "GET /api/events answers at once when events exist, waits for the next one, or answers [] after wait seconds"
	atf_set require.progs "curl jq"
}
events__longpoll_body()
{
	local last pid

	app_start
	atf_check -o inline:'[]' curl -s "${URL}/api/events?since=0&wait=0"
	heartbeat "${T1}" goip-01
	curl -s "${URL}/api/events?since=0" >body
	jq -e '.[0].eventId == 1 and .[0].data.eventId == 1' body >/dev/null ||
	    atf_fail "bad events: $(cat body)"
	last=$(jq '.[-1].eventId' body)
	curl -s "${URL}/api/events?since=${last}&wait=10" >wait.out &
	pid=$!
	sleep 0.5
	heartbeat "${T1}" goip-01
	wait "${pid}"
	jq -e ".[0].eventId > ${last}" wait.out >/dev/null ||
	    atf_fail "long-poll: $(cat wait.out)"
	atf_check -o inline:'[]' curl -s "${URL}/api/events?since=999&wait=1"
	atf_check -o match:'"field":"since"' curl -s "${URL}/api/events?since=x"
}
events__longpoll_cleanup()
{
	goip_cleanup
}

atf_test_case events__longpoll_lifecycle cleanup
events__longpoll_lifecycle_head()
{
	atf_set descr "A parked GET /api/events survives its client hanging up before the next event, waits again on the same keep-alive connection, and is answered [] by SIGTERM"
	atf_set require.progs "curl jq"
}
events__longpoll_lifecycle_body()
{
	local last pid

	app_start
	heartbeat "${T1}" goip-01
	last=$(curl -s "${URL}/api/events?since=0" | jq '.[-1].eventId')
	# Hangs up while parked; the next event wakes the waiters without it.
	curl -s -m 1 "${URL}/api/events?since=${last}&wait=10" >/dev/null &&
	    atf_fail "the long-poll answered before any event"
	heartbeat "${T1}" goip-01
	curl -s "${URL}/api/events?since=${last}" >body
	jq -e ".[0].eventId > ${last}" body >/dev/null ||
	    atf_fail "after a hang-up: $(cat body)"
	last=$(jq '.[-1].eventId' body)
	# Two waits that run out, one after the other on one connection.
	atf_check -o inline:'[][]' -e match:'Re-using existing connection' \
	    curl -sv "${URL}/api/events?since=${last}&wait=1" \
	    "${URL}/api/events?since=${last}&wait=1"
	# Parked at SIGTERM: answered with no events.
	curl -s "${URL}/api/events?since=${last}&wait=10" >term.out &
	pid=$!
	sleep 0.5
	kill -TERM "$(cat "${DIR}/notifier.pid")"
	wait "${pid}" || atf_fail "the parked long-poll failed at SIGTERM"
	atf_check -o inline:'[]' cat term.out
	pid=$(cat "${DIR}/notifier.pid")
	wait "${pid}" || atf_fail "exit status $? after SIGTERM"
}
events__longpoll_lifecycle_cleanup()
{
	goip_cleanup
}

atf_test_case resume__kill9 cleanup
resume__kill9_head()
{
	atf_set descr "kill -9 and restart of the notifier while SMS keep arriving: a resuming client gets every sms-received exactly once, in order"
	atf_set require.progs "node"
	atf_set timeout 120
}
resume__kill9_body()
{
	local i n=40

	notifier_node_setup
	app_start
	client r ROOMS=dashboard LAST=0 EXIT_AFTER=${n} TIMEOUT=90
	for i in $(seq 1 ${n}); do
		sms "m${i}"
		case "${i}" in
		12)	kill -KILL "$(cat "${DIR}/notifier.pid")" ;;
		25)	goip_notifier_start "${DIR}" ;;
		esac
		sleep 0.05
	done
	wait "$(cat r.pid)" || atf_fail "client failed: $(cat r.log)"
	rm -f r.pid
	grep '^sms-received' r.out | awk '{print $4}' >ids
	[ "$(wc -l <ids)" -eq ${n} ] || atf_fail "$(wc -l <ids) sms, want ${n}"
	[ -z "$(sort ids | uniq -d)" ] || atf_fail "duplicates: $(sort ids | uniq -d)"
	grep -v -e '^stats-update' -e '^resync' r.out | awk '{print $2}' >evids
	sort -n -c -u evids || atf_fail "events out of order: $(cat r.out)"
}
resume__kill9_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case resume__resync cleanup
resume__resync_head()
{
	atf_set descr "A client resuming from an event already pruned gets one resync event with the oldest retained id"
	atf_set require.progs "node sqlite3"
}
resume__resync_body()
{
	notifier_node_setup
	app_start
	heartbeat "${T1}" goip-01
	heartbeat "${T1}" goip-01
	heartbeat "${T1}" goip-01
	sqlite3 "${DIR}/goip.db" "PRAGMA busy_timeout = 5000; DELETE FROM events WHERE id < (SELECT MAX(id) FROM events)" ||
	    atf_fail "cannot prune"
	client r ROOMS=dashboard LAST=1
	goip_wait_grep r.out '^resync'
	client s ROOMS=dashboard LAST=0
	goip_wait_grep s.out '^resync'
	heartbeat "${T1}" goip-01
	goip_wait_grep r.out '^device-heartbeat'
	[ "$(grep -c '^resync' r.out)" -eq 1 ] || atf_fail "resync: $(cat r.out)"
}
resume__resync_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case resume__recovery cleanup
resume__recovery_head()
{
	atf_set descr "Socket.IO connection-state recovery (pid/offset): after a transport loss the client is recovered with its rooms"
	atf_set require.progs "node"
}
resume__recovery_body()
{
	local tries=50

	notifier_node_setup
	app_start
	client r ROOMS=device:goip-01 RECOVER=1
	while [ ! -f r.out.recovered ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -f r.out.recovered ] || atf_fail "not recovered: $(cat r.log)"
	heartbeat "${T1}" goip-01
	goip_wait_grep r.out '^device-heartbeat [0-9]* goip-01'
}
resume__recovery_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case origin__check cleanup
origin__check_head()
{
	atf_set descr "Origin is checked against cors_origins (or the Host of the request); allowed origins get CORS headers"
	atf_set require.progs "curl"
}
origin__check_body()
{
	local q="/api/socket/io/?EIO=4&transport=polling" port

	app_start "cors_origins = https://dash.example"
	port=$(cat "${DIR}/notifier.port")
	atf_check -o inline:403 curl -s -o /dev/null -w '%{http_code}' \
	    -H 'Origin: http://evil.example' "${URL}${q}"
	atf_check -o match:'"code":4' curl -s \
	    -H 'Origin: http://evil.example' "${URL}${q}"
	atf_check -o match:'^0\{' curl -s \
	    -H "Origin: http://127.0.0.1:${port}" "${URL}${q}"
	atf_check -o match:'Access-Control-Allow-Origin: https://dash.example' \
	    curl -s -D - -o /dev/null -H 'Origin: https://dash.example' \
	    "${URL}${q}"
	atf_check -o inline:403 curl -s -o /dev/null -w '%{http_code}' \
	    -H 'Origin: http://evil.example' "${URL}/api/events?since=0"
}
origin__check_cleanup()
{
	goip_cleanup
}

# proxy_case SERVER: socket.io-client through SERVER's reverse proxy, with
# the dashboard's authentication, over polling with upgrade and WebSocket
# only; a heartbeat posted through SERVER reaches both.
proxy_case()
{
	local port cred

	notifier_node_setup
	APP_NET=unix app_start
	port=$(goip_free_port)
	"goip_${1}_start" "${DIR}" "${port}" 1
	URL="http://127.0.0.1:${port}"
	cred=$(goip_credentials "${DIR}")
	atf_check -o inline:401 curl -s -o /dev/null -w '%{http_code}' \
	    "${URL}/api/socket/io/?EIO=4&transport=polling"
	client up ROOMS=dashboard AUTH="${cred}"
	client ws ROOMS=device:goip-01 TRANSPORTS=websocket AUTH="${cred}"
	atf_check -o match:'"ok":true' curl -s -X POST \
	    -H "Authorization: Bearer ${T1}" -H 'Content-Type: application/json' \
	    -d '{"deviceId":"goip-01","battery":50}' \
	    "${URL}/api/device/heartbeat"
	goip_wait_grep up.out '^device-heartbeat [0-9]* goip-01'
	goip_wait_grep ws.out '^device-heartbeat [0-9]* goip-01'
	atf_check -o match:'"eventId"' curl -s -u "${cred}" \
	    "${URL}/api/events?since=0"
}

atf_test_case proxy__lighttpd cleanup
proxy__lighttpd_head()
{
	atf_set descr "socket.io-client through lighttpd (etc/lighttpd-goip.conf): authentication, polling, upgrade, WebSocket, a device heartbeat"
	atf_set require.progs "node curl lighttpd"
}
proxy__lighttpd_body()
{
	proxy_case lighttpd
}
proxy__lighttpd_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case proxy__apache cleanup
proxy__apache_head()
{
	atf_set descr "socket.io-client through Apache httpd (etc/apache-goip.conf): authentication, polling, upgrade, WebSocket, a device heartbeat"
	atf_set require.progs "node curl apache2 spawn-fcgi"
}
proxy__apache_body()
{
	proxy_case apache
}
proxy__apache_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case signals__term_hup cleanup
signals__term_hup_head()
{
	atf_set descr "SIGHUP reopens the logs and keeps serving; SIGTERM closes the sessions, removes notify_socket and exits 0"
	atf_set require.progs "node curl"
}
signals__term_hup_body()
{
	local pid tries=50

	notifier_node_setup
	app_start
	client c ROOMS=dashboard TIMEOUT=20
	pid=$(cat "${DIR}/notifier.pid")
	kill -HUP "${pid}"
	sleep 0.3
	goip_pid_alive "${pid}" || atf_fail "SIGHUP killed the notifier"
	grep -q 'logs reopened' "${DIR}/notifier.log" ||
	    atf_fail "no SIGHUP log line: $(cat "${DIR}/notifier.log")"
	heartbeat "${T1}" goip-01
	goip_wait_grep c.out '^device-heartbeat'
	kill -TERM "${pid}"
	while goip_pid_alive "${pid}" && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	goip_pid_alive "${pid}" && atf_fail "still running 5 s after SIGTERM"
	wait "${pid}"
	[ $? -eq 0 ] || atf_fail "exit status after SIGTERM"
	[ -e "${DIR}/notify.sock" ] && atf_fail "notify_socket left behind"
	grep -q 'exiting' "${DIR}/notifier.log" ||
	    atf_fail "no exit log line: $(cat "${DIR}/notifier.log")"
}
signals__term_hup_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case metrics__text cleanup
metrics__text_head()
{
	atf_set descr "Metrics in Prometheus text format on metrics_listen; -n checks the configuration"
	atf_set require.progs "curl"
}
metrics__text_body()
{
	local mport

	mport=$(goip_free_port)
	app_start "metrics_listen = 127.0.0.1:${mport}"
	atf_check -e match:'OK' "${GOIP_NOTIFIER}" -n -c "${DIR}/goip.conf"
	heartbeat "${T1}" goip-01
	sleep 0.3
	atf_check -o match:'^goip_notifier_events_in_total [1-9]' \
	    -o match:'goip_notifier_sessions\{transport="websocket"\}' \
	    curl -s "http://127.0.0.1:${mport}/metrics"
	echo "bogus = 1" >>"${DIR}/goip.conf"
	atf_check -s exit:1 -e match:'goip.conf:[0-9]*' \
	    "${GOIP_NOTIFIER}" -n -c "${DIR}/goip.conf"
}
metrics__text_cleanup()
{
	goip_cleanup
}

atf_test_case slow__websocket cleanup
slow__websocket_head()
{
	atf_set descr "A WebSocket client that stops reading is disconnected once its queued output passes the bound; a client that reads gets every event once and in order, one resuming by lastEventId gets the rest, and one owed 15 MB gets it in order without duplicates (all of it, or what it read before falling 2 MB behind and then one resync), then live events, without being disconnected"
	atf_set require.progs "node sqlite3 curl"
	atf_set timeout 180
}

# big_events COUNT: insert COUNT sms-received events of 8 kB into the log
# (the notifier finds them on its one-second tick).
big_events()
{
	sqlite3 "${DIR}/goip.db" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL
	    SELECT i + 1 FROM k WHERE i < $1) INSERT INTO events (at, type,
	    device, payload) SELECT CAST(strftime('%s', 'now') AS INTEGER) *
	    1000, 'sms-received', 'goip-01', json_object('deviceId', 'goip-01',
	    'messageId', 'big' || i, 'text', replace(hex(zeroblob(4000)), '0',
	    'x')) FROM k" || atf_fail "cannot insert events"
}

# until_seen PID FILE PATTERN: wait until PATTERN is in FILE, as long as the
# process PID (the one to write it) lives; the case's timeout bounds it.
until_seen()
{
	until grep -q -- "$3" "$2" 2>/dev/null; do
		goip_pid_alive "$1" || { grep -q -- "$3" "$2" 2>/dev/null &&
		    return 0; atf_fail "no '$3' in $2 and process $1 exited"; }
		sleep 0.1
	done
}

slow__websocket_body()
{
	local n=1500 m=400 first last slow

	notifier_node_setup
	app_start
	# A raw WebSocket client: Socket.IO connect, join the dashboard, and
	# once the join is acknowledged read nothing more.
	cat >stall.cjs <<'EOF'
const net = require("net"), fs = require("fs");
const u = new URL(process.argv[2]);
const s = net.connect(Number(u.port), u.hostname);
let seen = "", step = 0;
function send(text) {
  const p = Buffer.from(text);
  const h = Buffer.from([0x81, 0x80 | p.length, 1, 2, 3, 4]);
  for (let i = 0; i < p.length; i++) p[i] ^= h[2 + (i & 3)];
  s.write(Buffer.concat([h, p]));
}
s.on("connect", () => s.write("GET /api/socket/io/?EIO=4&transport=" +
  "websocket HTTP/1.1\r\nHost: " + u.host + "\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "X-Goip-Proxy-Secret: " + process.env.GOIP_PROXY_SECRET + "\r\n\r\n"));
s.on("data", (d) => {
  seen += d.toString("latin1");
  if (step === 0 && seen.includes('0{"sid"')) {
    step = 1;
    send("40");
  }
  if (step === 1 && seen.includes('40{"sid"')) {
    step = 2;
    send('421["join-dashboard"]');
  }
  if (step === 2 && seen.includes("431[")) {
    step = 3;
    s.pause();
    fs.writeFileSync("stall.ready", "ready\n");
  }
});
setTimeout(() => process.exit(1), 100000);
EOF
	node stall.cjs "${URL}" >stall.log 2>&1 &
	echo $! >stall.pid
	until_seen "$(cat stall.pid)" stall.ready ready
	first=$(sqlite3 "${DIR}/goip.db" 'SELECT coalesce(max(id), 0) FROM events')
	# 1500 sms-received of 8 kB: 12 MB, more than the sockets hold plus
	# the 4 MiB bound of a client's output.
	big_events ${n}
	until_seen "$(cat "${DIR}/notifier.pid")" "${DIR}/notifier.log" \
	    'slow client disconnected'
	# A client that reads, then 400 more (3.2 MB): within its bound even
	# if it read nothing, so it gets them all however fast it reads.
	# (With it connected during the 12 MB above, a reader slower than
	# the notifier's passes was disconnected as slow too, resumed owing
	# more than a replay may queue and got a resync instead of the rest:
	# the case's occasional time-out, see BUGS in goip-notifier(8).)
	last=$((first + n))
	# Once the notifier's cursor is past them (a long-poll after the
	# last one is answered), a dashboard client gets none of them live.
	until curl -s "${URL}/api/events?since=$((last - 1))&wait=50" |
	    grep -q "\"eventId\":${last}"; do
		goip_pid_alive "$(cat "${DIR}/notifier.pid")" ||
		    atf_fail "goip-notifier died: $(tail -20 "${DIR}/notifier.log")"
	done
	client a ROOMS=dashboard EXIT_AFTER=${m} TIMEOUT=170
	big_events ${m}
	wait "$(cat a.pid)" || atf_fail "client a failed: $(cat a.log)"
	rm -f a.pid
	grep '^sms-received' a.out | awk '{print $2}' >ids
	[ "$(wc -l <ids)" -eq ${m} ] && [ "$(head -1 ids)" -eq $((last + 1)) ] ||
	    atf_fail "a: $(wc -l <ids) sms from $(head -1 ids), want ${m} from $((last + 1))"
	sort -n -c -u ids || atf_fail "a: events duplicated or out of order"
	last=$((last + m))
	# Resume 200 events before the end (a replay within the bound; the
	# client may be done before its join is acknowledged).
	env ROOMS=dashboard LAST=$((last - 200)) EXIT_AFTER=200 TIMEOUT=170 \
	    node "${GOIP_SRCDIR}/tests/node/app.cjs" "${URL}" b.out >b.log 2>&1 ||
	    atf_fail "client b failed: $(cat b.log)"
	grep '^sms-received' b.out | awk '{print $2}' >ids
	[ "$(wc -l <ids)" -eq 200 ] &&
	    [ "$(head -1 ids)" -eq $((last - 199)) ] &&
	    [ "$(tail -1 ids)" -eq ${last} ] ||
	    atf_fail "b: wrong replay: $(head -1 ids)..$(tail -1 ids)"
	sort -n -c -u ids || atf_fail "b: events duplicated or out of order"
	# Resume from before all 1900 (15 MB owed): the replay runs in steps
	# on later turns of the loop, so a client that reads as fast as the
	# steps come gets all of it, and one that falls 2 MB behind gets
	# what it read, then one resync; which, depends on the machine. In
	# both cases: in order, no duplicates, no disconnection (which would
	# bring the client back for the same replay forever), then live
	# events.
	slow=$(grep -c 'slow client disconnected' "${DIR}/notifier.log")
	client c ROOMS=dashboard LAST=${first} TIMEOUT=170
	until grep -q -e '^resync' -e "^sms-received ${last} " c.out \
	    2>/dev/null; do
		goip_pid_alive "$(cat c.pid)" ||
		    atf_fail "c: exited before the end of its replay: $(cat c.log)"
		sleep 0.1
	done
	sqlite3 "${DIR}/goip.db" "INSERT INTO events (at, type, device,
	    payload) VALUES (0, 'sms-received', 'goip-01',
	    json_object('deviceId', 'goip-01', 'messageId', 'after-replay'))" ||
	    atf_fail "cannot insert an event"
	until_seen "$(cat c.pid)" c.out 'after-replay'
	grep '^sms-received' c.out | awk '{print $2}' >ids
	[ -s ids ] && [ "$(head -1 ids)" -eq $((first + 1)) ] ||
	    atf_fail "c: replay from $(head -1 ids), want $((first + 1))"
	sort -n -c -u ids || atf_fail "c: events duplicated or out of order"
	case "$(grep -c '^resync' c.out)" in
	0)	[ "$(wc -l <ids)" -eq $((n + m + 1)) ] ||
		    atf_fail "c: no resync, yet $(wc -l <ids) events of $((n + m + 1))" ;;
	1)	;;
	*)	atf_fail "c: resync twice" ;;
	esac
	[ "$(grep -c 'slow client disconnected' "${DIR}/notifier.log")" -eq \
	    "${slow}" ] || atf_fail "c was disconnected as slow"
	goip_pid_alive "$(cat "${DIR}/notifier.pid")" ||
	    atf_fail "goip-notifier died: $(tail -20 "${DIR}/notifier.log")"
}
slow__websocket_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case memory__churn_10k cleanup
memory__churn_10k_head()
{
	atf_set descr "Resident memory returns near its level after the first batch once 10,000 polling, WebSocket and upgrading clients came, joined rooms and went"
	atf_set require.progs "node"
	atf_set timeout 600
}
memory__churn_10k_body()
{
	local pid r1 r2

	# ASan's quarantine keeps freed memory resident by design: the
	# resident-memory bound is measured in the normal build only.
	if ldd "${GOIP_NOTIFIER}" 2>/dev/null | grep -q libasan; then
		atf_skip "the notifier is built with AddressSanitizer"
	fi

	notifier_node_setup
	# 100 clients at a time, all from 127.0.0.1.
	app_start "max_per_address = 0"
	sms m1
	pid=$(cat "${DIR}/notifier.pid")
	COUNT=1000 MODE=mixed JOIN=goip-01 TIMEOUT=240 node \
	    "${GOIP_SRCDIR}/tests/node/churn.cjs" "${URL}" first.out \
	    >first.log 2>&1 || atf_fail "first batch: $(cat first.log)"
	sleep 3
	r1=$(awk '/^VmRSS/ { print $2 }' "/proc/${pid}/status")
	COUNT=1000 BATCHES=9 MODE=mixed JOIN=goip-01 TIMEOUT=480 node \
	    "${GOIP_SRCDIR}/tests/node/churn.cjs" "${URL}" rest.out \
	    >rest.log 2>&1 || atf_fail "batches 2-10: $(cat rest.log)"
	sleep 3
	r2=$(awk '/^VmRSS/ { print $2 }' "/proc/${pid}/status")
	echo "VmRSS after 1,000 clients ${r1} kB, after 10,000 ${r2} kB" >&2
	goip_pid_alive "${pid}" || atf_fail "the notifier died"
	# Up to 4 MB: the recovery records of the last 4096 clients and heap
	# slack; a leak of 1 kB per client would show 9 MB.
	[ "${r2}" -le $((r1 + 4096)) ] ||
	    atf_fail "VmRSS grew from ${r1} kB to ${r2} kB"
}
memory__churn_10k_cleanup()
{
	goip_cleanup
}

atf_test_case memory__valgrind_churn cleanup
memory__valgrind_churn_head()
{
	atf_set descr "Under valgrind memcheck, client churn (polling, WebSocket, upgrade, resume from lastEventId, connection-state recovery, disconnect) then SIGTERM shows no invalid access and no definite leak"
	atf_set require.progs "node valgrind"
	atf_set timeout 600
}
memory__valgrind_churn_body()
{
	local pid rc

	# valgrind cannot run a program built with AddressSanitizer (the
	# sanitizer pass of "quickstart test --sanitizers" checks it instead).
	if ldd "${GOIP_NOTIFIER}" 2>/dev/null | grep -q libasan; then
		atf_skip "the notifier is built with AddressSanitizer"
	fi
	notifier_node_setup
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}" tcp
	goip_proxy_env "${DIR}"
	# Batches of 60 clients from 127.0.0.1, and those still closing.
	echo "max_per_address = 0" >>"${DIR}/goip.conf"
	T1=$(goip_device_add "${DIR}" goip-01)
	T2=$(goip_device_add "${DIR}" goip-02)
	URL="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
	valgrind --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --log-file=valgrind.log \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf" >notifier.log 2>&1 &
	pid=$!
	echo "${pid}" >"${DIR}/notifier.pid"
	goip_wait_ready "${pid}" notifier.log "main: listening on"
	sms m1
	sms m2
	COUNT=60 BATCHES=3 MODE=mixed JOIN=goip-01 TIMEOUT=400 node \
	    "${GOIP_SRCDIR}/tests/node/churn.cjs" "${URL}" churn.out \
	    >churn.log 2>&1 || atf_fail "churn: $(cat churn.log)"
	client rec ROOMS="dashboard device:goip-01" RECOVER=1 LAST=0 \
	    TIMEOUT=120
	goip_wait_grep rec.out.recovered recovered
	sms m3
	goip_wait_grep rec.out "^sms-received [0-9]* goip-01 m3"
	clients_stop
	COUNT=60 MODE=websocket JOIN=goip-02 TIMEOUT=400 node \
	    "${GOIP_SRCDIR}/tests/node/churn.cjs" "${URL}" churn2.out \
	    >churn2.log 2>&1 || atf_fail "churn: $(cat churn2.log)"
	kill -TERM "${pid}"
	rc=0
	wait "${pid}" || rc=$?
	[ "${rc}" -eq 0 ] || atf_fail "exit ${rc}: $(grep -A12 -E \
	    'Invalid|definitely lost in|uninitialised' valgrind.log |
	    head -40 | tr '\n' ';')"
	grep -E 'in use at exit|definitely lost|ERROR SUMMARY' valgrind.log >&2
	grep -q 'sms-received [0-9]* goip-01 m3' rec.out ||
	    atf_fail "recovered client: $(tr '\n' ';' <rec.out)"
	grep -q 'ERROR SUMMARY: 0 errors' valgrind.log ||
	    atf_fail "valgrind: $(grep 'ERROR SUMMARY' valgrind.log)"
}
memory__valgrind_churn_cleanup()
{
	clients_stop
	goip_cleanup
}

atf_test_case errors__json_bodies cleanup
errors__json_bodies_head()
{
	atf_set descr "Every error the notifier answers has a JSON object as its body (no stray byte): the Engine.IO errors with their code and message, the events long-poll's, the routing, method, size, Host and proxy refusals"
	atf_set require.progs "curl jq"
}
errors__json_bodies_body()
{
	local sio want test line status

	app_start
	sio="${URL}/api/socket/io/"
	# More than max_payload (1000000 bytes by default).
	head -c 1100000 /dev/zero | tr '\0' x >big
	# STATUS|JQ-TEST|CURL-ARGUMENTS, one request a line.
	cat >requests <<EOF
400|.code == 5 and .message == "Unsupported protocol version"|"${sio}?EIO=3&transport=polling"
400|.code == 0 and .message == "Transport unknown"|"${sio}?EIO=4&transport=carrier-pigeon"
400|.code == 3 and .message == "Bad request"|"${sio}?EIO=4&transport=websocket"
400|.code == 1 and .message == "Session ID unknown"|"${sio}?EIO=4&transport=polling&sid=nope"
400|.code == 2 and .message == "Bad handshake method"|-X POST --data 4x "${sio}?EIO=4&transport=polling"
403|.code == 4 and .message == "Forbidden"|-H "Origin: https://evil.example" "${sio}?EIO=4&transport=polling"
400|.error|"${URL}/api/events?since=x"
400|.error|"${URL}/api/events?since=0&wait=x"
405|.error|-X POST --data x "${URL}/api/events"
404|.error|"${URL}/nope"
413|.error|-X POST --data-binary @big -H "Content-Type: text/plain" "${sio}?EIO=4&transport=polling&sid=x"
403|.error|-q "${URL}/api/events?since=0&wait=0"
403|.error|-H "Host: evil.example" "${URL}/api/events?since=0&wait=0"
EOF
	while IFS='|' read -r want test line; do
		eval "set -- ${line}"
		# "$@" first: curl honours -q (no .curlrc) only there.
		status=$(curl "$@" -s -o body -w '%{http_code}')
		[ "${status}" = "${want}" ] ||
		    atf_fail "${line}: status ${status}, want ${want}: $(cat body)"
		jq -e "type == \"object\" and (${test})" body >/dev/null ||
		    atf_fail "${line}: not the JSON wanted (${test}): $(od -c body | head -5)"
	done <requests
	goip_pid_alive "$(cat "${DIR}/notifier.pid")" ||
	    atf_fail "goip-notifier died: $(tail -20 "${DIR}/notifier.log")"
}
errors__json_bodies_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case errors__json_bodies
	atf_add_test_case rooms__heartbeat
	atf_add_test_case rooms__leave_rejoin
	atf_add_test_case sweep__offline
	atf_add_test_case events__longpoll
	atf_add_test_case events__longpoll_lifecycle
	atf_add_test_case resume__kill9
	atf_add_test_case resume__resync
	atf_add_test_case resume__recovery
	atf_add_test_case origin__check
	atf_add_test_case proxy__lighttpd
	atf_add_test_case proxy__apache
	atf_add_test_case signals__term_hup
	atf_add_test_case metrics__text
	atf_add_test_case slow__websocket
	atf_add_test_case memory__churn_10k
	atf_add_test_case memory__valgrind_churn
}
