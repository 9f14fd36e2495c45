#
# hostile_test: goip-dashboard against clients that mean harm (issue 11).
# Each case is self-contained: it makes its own instance (lib.subr), starts
# the real programs it needs (goip-notifier, goip-cgi, lighttpd or Apache
# with the etc/ samples, quickstart) on 127.0.0.1 and Unix sockets, and
# stops them in its cleanup part.  The cases come in five groups, each with
# its own helpers, prefixed by the group's name:
#
#   trust__*    who may reach the notifier: its Unix socket's mode and group,
#               no events without the web server's authentication, no DNS
#               rebinding, no "*" CORS with credentials, no silent root;
#   replay__*, rooms__*
#               bounded replays and joins: an index by device, a cap on rows
#               read, one replay per room, steps on later loop turns, a join
#               rate limit;
#   memory__*   bounded memory per client: pings by the megabyte over both
#               transports, the packet bound of a polling queue, sessions
#               per client address;
#   cgi__*      goip-cgi: a dripping body holds nobody else, strict routing,
#               a request rate per device, SMS pruned in batches;
#   deploy__*   quickstart runs nothing as root and keeps secrets secret; the
#               binaries are hardened; the systemd units confine.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# --- trust: who may reach the notifier: its Unix socket, the proxy's authentication, Host, CORS, root ---

# t_instance [tcp] [CONF-LINES]: an instance in DIR (see goip_instance)
# with device goip-01 (token T1) and one SMS in its event log, CONF-LINES
# added to goip.conf.
t_instance()
{
	local mode=unix body

	if [ "$1" = tcp ]; then
		mode=tcp
		shift
	fi
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}" "${mode}"
	T1=$(goip_device_add "${DIR}" goip-01)
	body='{"deviceId":"goip-01","messageId":"m1","slot":1,"from":"+447700900123","text":"PrivateText"}'
	goip_cgi "${DIR}" POST /api/sms/receive "${body}" \
	    HTTP_AUTHORIZATION="Bearer ${T1}" >cgi.out 2>&1
	grep -q '^Status: 201' cgi.out || atf_fail "sms: $(cat cgi.out)"
	[ $# -gt 0 ] && printf '%s\n' "$@" >>"${DIR}/goip.conf"
	return 0
}

# t_get STATUS URL [CURL-ARGS...]: GET URL with curl's own defaults (-q: no
# .curlrc), the body in get.out; fail unless the answer is STATUS.
t_get()
{
	local want="$1" url="$2" code

	shift 2
	code=$(curl -q -s -m 10 -o get.out -w '%{http_code}' "$@" "${url}")
	[ "${code}" = "${want}" ] ||
	    atf_fail "${url} $*: ${code}, not ${want}: $(head -c 300 get.out)"
}

# t_json_error FILE: fail unless FILE is one JSON object with an "error".
t_json_error()
{
	jq -e '.error | type == "string"' "$1" >/dev/null ||
	    atf_fail "not a JSON error: $(od -c "$1" | head -5)"
}

atf_test_case trust__unix_socket_mode cleanup
trust__unix_socket_mode_head()
{
	atf_set descr "The notifier's listener and notify_socket are Unix sockets of mode 0660 with group listen_group from creation; a stale socket is replaced, a live one is not"
	atf_set require.progs "curl stat"
	atf_set require.user "root"
}
trust__unix_socket_mode_body()
{
	local s pid

	t_instance
	goip_notifier_start "${DIR}"
	for s in notifier.sock notify.sock; do
		atf_check -o inline:"socket 660 root ${GOIP_WWW_GROUP}\n" \
		    stat -c '%F %a %U %G' "${DIR}/${s}"
	done
	# No private directory of sock_unix() is left behind.
	ls -a "${DIR}" | grep -q '^\.goip\.' && atf_fail "temporary directory left"
	# A second notifier finds both sockets alive and refuses them.
	atf_check -s not-exit:0 -e match:'in use by another process' \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf"
	# Killed without a chance to clean up: the next start replaces the
	# stale sockets.
	pid=$(cat "${DIR}/notifier.pid")
	kill -KILL "${pid}"
	while goip_pid_alive "${pid}"; do sleep 0.1; done
	[ -S "${DIR}/notifier.sock" ] || atf_fail "no stale socket to replace"
	goip_notifier_start "${DIR}"
	t_get 200 "http://localhost/api/events?since=0&wait=0" \
	    --unix-socket "${DIR}/notifier.sock"
	grep -q PrivateText get.out || atf_fail "events: $(cat get.out)"
	# A path that is not a socket is never removed.
	goip_notifier_stop "${DIR}"
	rm -f "${DIR}/notifier.sock"
	echo keep >"${DIR}/notifier.sock"
	atf_check -s not-exit:0 -e match:'exists and is not a socket' \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf"
	atf_check -o inline:'keep\n' cat "${DIR}/notifier.sock"
}
trust__unix_socket_mode_cleanup()
{
	goip_cleanup
}

atf_test_case trust__no_credentials cleanup
trust__no_credentials_head()
{
	atf_set descr "Events are served only through the web server's authentication: on TCP without the proxy's X-Goip-Proxy-Secret (or with a wrong one) 403, through lighttpd and Apache without a login 401; TCP with dashboard_auth = web and no proxy_secret does not start"
	atf_set require.progs "curl jq lighttpd apache2 spawn-fcgi"
}
trust__no_credentials_body()
{
	local url port cred

	t_instance tcp
	goip_notifier_start "${DIR}"
	url="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
	t_get 403 "${url}/api/events?since=0&wait=0"
	t_json_error get.out
	grep -q PrivateText get.out && atf_fail "events served without credentials"
	t_get 403 "${url}/api/events?since=0&wait=0" \
	    -H 'X-Goip-Proxy-Secret: guess'
	t_get 403 "${url}/api/socket/io/?EIO=4&transport=polling"
	t_get 200 "${url}/api/events?since=0&wait=0" \
	    -H "$(goip_proxy_header "${DIR}")"
	grep -q PrivateText get.out || atf_fail "events: $(cat get.out)"
	# Through lighttpd, which adds the secret only after its login.
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}"
	cred=$(goip_credentials "${DIR}")
	t_get 401 "http://127.0.0.1:${port}/api/events?since=0&wait=0"
	t_get 401 "http://127.0.0.1:${port}/api/events?since=0&wait=0" \
	    -H "$(goip_proxy_header "${DIR}")"
	t_get 200 "http://127.0.0.1:${port}/api/events?since=0&wait=0" \
	    -u "${cred}"
	grep -q PrivateText get.out || atf_fail "lighttpd events: $(cat get.out)"
	goip_lighttpd_stop "${DIR}"
	goip_notifier_stop "${DIR}"

	# TCP, dashboard_auth = web, no proxy_secret: refused at start-up.
	sed -i '/^proxy_secret/d' "${DIR}/goip.conf"
	atf_check -s exit:1 -e match:'set proxy_secret' \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf"
	atf_check -s exit:1 -e match:'set proxy_secret' \
	    "${GOIP_NOTIFIER}" -n -c "${DIR}/goip.conf"

	# The default: a Unix socket behind Apache (and lighttpd).
	t_instance
	goip_notifier_start "${DIR}"
	port=$(goip_free_port)
	goip_apache_start "${DIR}" "${port}"
	cred=$(goip_credentials "${DIR}")
	t_get 401 "http://127.0.0.1:${port}/api/events?since=0&wait=0"
	t_get 401 "http://127.0.0.1:${port}/api/socket/io/?EIO=4&transport=polling"
	t_get 200 "http://127.0.0.1:${port}/api/events?since=0&wait=0" \
	    -u "${cred}"
	grep -q PrivateText get.out || atf_fail "Apache events: $(cat get.out)"
	atf_check -o match:'^0\{"sid"' -x "curl -q -s -m 10 -u '${cred}' \
	    'http://127.0.0.1:${port}/api/socket/io/?EIO=4&transport=polling'"
	# The dashboard's files carry the CSP as a header.
	atf_check -o match:"frame-ancestors 'none'" -x "curl -q -s -m 10 -D - \
	    -o /dev/null -u '${cred}' 'http://127.0.0.1:${port}/'"
}
trust__no_credentials_cleanup()
{
	goip_cleanup
}

atf_test_case trust__host_rebinding cleanup
trust__host_rebinding_head()
{
	atf_set descr "On TCP the notifier answers only Host names of allowed_hosts (default: the listen host, localhost, 127.0.0.1, [::1]): Host: evil.example (DNS rebinding), no Host or two Hosts are refused before any routing, WebSocket included"
	atf_set require.progs "curl jq"
}
trust__host_rebinding_body()
{
	local url port h

	t_instance tcp
	goip_notifier_start "${DIR}"
	port=$(cat "${DIR}/notifier.port")
	url="http://127.0.0.1:${port}"
	h=$(goip_proxy_header "${DIR}")
	t_get 403 "${url}/api/events?since=0" -H "${h}" \
	    -H 'Host: evil.example'
	t_json_error get.out
	grep -q PrivateText get.out && atf_fail "events served to evil.example"
	t_get 403 "${url}/api/events?since=0" -H "${h}" \
	    -H "Host: evil.example:${port}"
	t_get 403 "${url}/nowhere" -H "${h}" \
	    -H 'Host: evil.example'
	t_get 403 "${url}/api/socket/io/?EIO=4&transport=websocket" \
	    -H "${h}" -H 'Host: evil.example' -H 'Connection: Upgrade' \
	    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
	    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' --http1.1
	t_get 400 "${url}/api/events?since=0" -H "${h}" \
	    -H 'Host:'
	t_json_error get.out
	# Two Host headers (curl sends one): a raw request.
	printf 'GET /api/events?since=0 HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1:%s\r\n%s\r\nConnection: close\r\n\r\n' \
	    "${port}" "${h}" >twohosts.req
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat twohosts.req >&3; cat <&3' \
	    sh "${port}" >twohosts.out
	head -n 1 twohosts.out | grep -q '^HTTP/1.1 400 ' ||
	    atf_fail "two Host headers: $(head -n 1 twohosts.out)"
	for n in "127.0.0.1:${port}" "localhost:${port}" localhost "[::1]:${port}"; do
		t_get 200 "${url}/api/events?since=0" \
		    -H "${h}" -H "Host: ${n}"
	done
	goip_notifier_stop "${DIR}"

	# allowed_hosts replaces the default list.
	echo "allowed_hosts = dash.example" >>"${DIR}/goip.conf"
	goip_notifier_start "${DIR}"
	t_get 200 "${url}/api/events?since=0" -H "${h}" \
	    -H "Host: dash.example:${port}"
	t_get 403 "${url}/api/events?since=0" -H "${h}"
	goip_pid_alive "$(cat "${DIR}/notifier.pid")" || atf_fail "notifier died"
}
trust__host_rebinding_cleanup()
{
	goip_cleanup
}

atf_test_case trust__cors_star_refused cleanup
trust__cors_star_refused_head()
{
	atf_set descr "cors_origins = * is a configuration error with dashboard_auth = web (naming file, line and key); with dashboard_auth = none it answers Access-Control-Allow-Origin: * without credentials"
	atf_set require.progs "curl"
}
trust__cors_star_refused_body()
{
	local url line

	t_instance tcp "cors_origins = https://dash.example *"
	line=$(grep -n '^cors_origins' "${DIR}/goip.conf" | cut -d: -f1)
	atf_check -s exit:1 \
	    -e match:"${DIR}/goip.conf:${line}: cors_origins: \"\\*\" is refused with dashboard_auth = web" \
	    "${GOIP_NOTIFIER}" -n -c "${DIR}/goip.conf"
	atf_check -s exit:1 -e match:'cors_origins' \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf"
	atf_check -s not-exit:0 -e match:'cors_origins' -o ignore \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" check

	sed -i 's/^dashboard_auth = web/dashboard_auth = none/' "${DIR}/goip.conf"
	goip_notifier_start "${DIR}"
	url="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
	t_get 200 "${url}/api/events?since=0" \
	    -H 'Origin: https://any.example' -D head.out
	grep -qi '^Access-Control-Allow-Origin: \*' head.out ||
	    atf_fail "no *: $(cat head.out)"
	grep -qi '^Access-Control-Allow-Credentials' head.out &&
	    atf_fail "credentials allowed with *: $(cat head.out)"
	return 0
}
trust__cors_star_refused_cleanup()
{
	goip_cleanup
}

atf_test_case trust__root_refused cleanup
trust__root_refused_head()
{
	atf_set descr "goip-notifier started as root without user exits with a message; user = nobody runs as nobody after binding (and cannot regain root); another user without root is an error"
	atf_set require.progs "curl setpriv"
	atf_set require.user "root"
}
trust__root_refused_body()
{
	local pid

	t_instance
	sed -i '/^user = /d' "${DIR}/goip.conf"
	atf_check -s not-exit:0 -e match:'started as root .* sets no user' \
	    "${GOIP_NOTIFIER}" -d -c "${DIR}/goip.conf"
	[ -e "${DIR}/notifier.sock" ] && atf_fail "bound before refusing"

	echo "user = nobody" >>"${DIR}/goip.conf"
	chown -R nobody "${DIR}"
	goip_notifier_start "${DIR}"
	pid=$(cat "${DIR}/notifier.pid")
	atf_check -o inline:'65534 65534 65534 65534\n' -x \
	    "awk '/^Uid:/ { print \$2, \$3, \$4, \$5 }' /proc/${pid}/status"
	atf_check -o inline:"$(id -g nobody) $(id -g nobody) $(id -g nobody) $(id -g nobody)\n" -x \
	    "awk '/^Gid:/ { print \$2, \$3, \$4, \$5 }' /proc/${pid}/status"
	# No supplementary group of root's is kept (initgroups).
	atf_check -o empty -x "awk '/^Groups:/ { for (i = 2; i <= NF; i++)
	    if (\$i == 0) print \"group 0\" }' /proc/${pid}/status"
	t_get 200 "http://localhost/api/events?since=0&wait=0" \
	    --unix-socket "${DIR}/notifier.sock"
	grep -q PrivateText get.out || atf_fail "events: $(cat get.out)"
	grep -q 'running as nobody' "${DIR}/notifier.log" ||
	    atf_fail "no log of the switch: $(cat "${DIR}/notifier.log")"
	goip_notifier_stop "${DIR}"

	# Not root, told to become someone else: an error, not a silent run.
	install -m 0755 "${GOIP_NOTIFIER}" "${DIR}/goip-notifier"
	sed -i 's/^user = nobody/user = root/' "${DIR}/goip.conf"
	atf_check -s not-exit:0 -e match:'only root can switch users' \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "${DIR}/goip-notifier" -d -c "${DIR}/goip.conf"
}
trust__root_refused_cleanup()
{
	goip_cleanup
}

atf_test_case trust__events_405_json cleanup
trust__events_405_json_head()
{
	atf_set descr "A non-GET on the events path is 405 with Allow: GET and a body that is exactly one JSON object (no NUL byte; issue 12)"
	atf_set require.progs "curl jq"
}
trust__events_405_json_body()
{
	local len

	t_instance
	goip_notifier_start "${DIR}"
	t_get 405 "http://localhost/api/events" \
	    --unix-socket "${DIR}/notifier.sock" -X POST -D head.out
	grep -qi '^Allow: GET' head.out || atf_fail "no Allow: $(cat head.out)"
	atf_check -o inline:'"method not allowed"\n' jq -e .error get.out
	tr -d '\000' <get.out | cmp -s - get.out || atf_fail "NUL byte in the body"
	len=$(sed -n 's/^Content-Length: *\([0-9]*\).*/\1/ip' head.out)
	[ "${len}" = "$(wc -c <get.out)" ] ||
	    atf_fail "Content-Length ${len}, body $(wc -c <get.out) bytes"
}
trust__events_405_json_cleanup()
{
	goip_cleanup
}

# --- replay: bounded replays and room joins ------------------------------

# replay_instance: make an instance with devices goip-01 and goip-02 (tokens
# in T1, T2); sets DIR and URL. The notifier is not started yet.
replay_instance()
{
	DIR=$(goip_tmpdir)
	# The notifier on TCP, this test acting as the authenticating proxy.
	goip_instance "${DIR}" tcp
	goip_proxy_env "${DIR}"
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

	goip_cgi "${DIR}" POST /api/device/heartbeat "${body}" \
	    HTTP_AUTHORIZATION="Bearer $1" >cgi.out 2>&1 ||
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
	# Back to version 1, as a database of the previous release: the index
	# of migration 2 and the tables of every later migration dropped.
	later=$(ls "${GOIP_SRCDIR}"/sql/[0-9][0-9][0-9]-*.sql | sed 1,2d)
	nlater=$(echo "${later}" | grep -c .)
	drops=$(sed -n 's/^CREATE TABLE \([a-z_]*\).*/DROP TABLE \1;/p' \
	    ${later})
	sqlite3 "${DIR}/goip.db" "DROP INDEX events_device; ${drops}
PRAGMA user_version = 1" || atf_fail "cannot downgrade"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" check >check.out 2>&1 &&
	    atf_fail "goipctl check accepted version 1: $(cat check.out)"
	grep -q 'older' check.out || atf_fail "check: $(cat check.out)"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" migrate >migrate.out 2>&1 ||
	    atf_fail "migrate: $(cat migrate.out)"
	grep -q "$((nlater + 1)) migrations\{0,1\} applied, schema version \
$((nlater + 2))" migrate.out ||
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

atf_test_case rooms__live_join_no_replay cleanup
rooms__live_join_no_replay_head()
{
	atf_set descr "A client that does not resume (no lastEventId) joins the dashboard and a device room live: none of the events already in the log, then each new one once"
	atf_set require.progs "curl sqlite3"
}
rooms__live_join_no_replay_body()
{
	replay_instance
	replay_fill 50 goip-01
	replay_notifier
	replay_connect
	printf '421["join-dashboard"]\036422["join-device-room","goip-01"]' \
	    >joins.txt
	[ "$(replay_eio_post joins.txt)" = 200 ] || atf_fail "joins refused"
	replay_eio_poll acks.out >/dev/null
	grep -q '^432\[{"ok":true}\]' acks.out ||
	    atf_fail "join not acknowledged: $(head -c 300 acks.out)"
	grep -q 'device-heartbeat' acks.out &&
	    atf_fail "old events replayed to a live client: $(head -c 300 acks.out)"
	replay_heartbeat "${T1}" goip-01
	until grep -q '"device-heartbeat"' live.out 2>/dev/null; do
		[ "$(replay_eio_poll live.next)" = 200 ] ||
		    atf_fail "poll failed: $(cat live.next)"
		cat live.next >>live.out
	done
	[ "$(grep -c '"device-heartbeat"' live.out)" -eq 1 ] ||
	    atf_fail "want the new heartbeat once: $(head -c 400 live.out)"
	grep -q '"eventId":51[,}]' live.out ||
	    atf_fail "not the new event: $(head -c 400 live.out)"
	notifier_alive
}
rooms__live_join_no_replay_cleanup()
{
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

# --- memory: bounded memory per client -----------------------------------

# memory_start [CONF-LINES]: make an instance whose notifier listens on TCP
# (the proxy secret, when the instance has one, in HDR for curl -H and
# flood.cjs), add CONF-LINES to its goip.conf and start the notifier; sets
# DIR, URL, EIO (the polling endpoint) and PID.
memory_start()
{
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}" tcp
	[ $# -gt 0 ] && printf '%s\n' "$@" >>"${DIR}/goip.conf"
	HDR="X-Goip-None: 1"
	[ -f "${DIR}/proxy.secret" ] &&
	    HDR="X-Goip-Proxy-Secret: $(cat "${DIR}/proxy.secret")"
	goip_notifier_start "${DIR}"
	URL="http://127.0.0.1:$(cat "${DIR}/notifier.port")"
	EIO="${URL}/api/socket/io/?EIO=4&transport=polling"
	PID=$(cat "${DIR}/notifier.pid")
}

# memory_flood NAME VAR=VALUE...: run tests/node/flood.cjs against the
# notifier of memory_start with the settings given (MODE, SESSIONS, POSTS;
# TIMEOUT 500 ms), its report in NAME.out (copied to standard error) and
# its log in NAME.log; fail when it fails or the notifier died.
memory_flood()
{
	local name="$1"

	shift
	env HEADER="${HDR}" TIMEOUT=500 "$@" node \
	    "${GOIP_SRCDIR}/tests/node/flood.cjs" "${URL}" "${PID}" \
	    "${name}.out" >"${name}.log" 2>&1 ||
	    atf_fail "${name}: $(cat "${name}.log")"
	cut -c 1-80 "${name}.out" >&2
	notifier_alive_in "${DIR}"
}

# memory_asan: is the notifier built with AddressSanitizer? Its quarantine
# keeps freed memory resident by design, so resident-memory bounds are
# measured in the normal build only.
memory_asan()
{
	ldd "${GOIP_NOTIFIER}" 2>/dev/null | grep -q libasan
}

# handshake [CURL-ARGS...]: open a polling session; print its sid, or
# "status CODE" when the handshake is refused.
handshake()
{
	local out code

	out=$(curl -s -m 10 -H "${HDR}" -w '\n%{http_code}' "$@" "${EIO}") ||
	    atf_fail "handshake: curl failed"
	code=$(echo "${out}" | tail -n 1)
	if [ "${code}" != 200 ]; then
		echo "status ${code}"
		return 0
	fi
	echo "${out}" | head -n 1 | sed -n 's/^0{"sid":"\([^"]*\)".*/\1/p'
}

# post SID FILE: POST FILE as the payload of session SID; print the status.
post()
{
	curl -s -m 60 -o /dev/null -w '%{http_code}' -H "${HDR}" \
	    --data-binary "@$2" "${EIO}&sid=$1"
}

# poll SID: GET the packets queued for session SID, 0x1e shown as "|".
poll()
{
	curl -s -m 10 -H "${HDR}" "${EIO}&sid=$1" | tr '\036' '|'
}

# pings N FILE: write N pings to FILE, joined by 0x1e; with "alt" as a
# third argument their payloads alternate between "a" and "b".
pings()
{
	awk -v n="$1" -v alt="${3:-}" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "%s2%s", (i ? "\036" : ""),
			    (alt == "" ? "" : (i % 2 ? "b" : "a"))
	}' >"$2"
}

# is WANT CMD [ARGS...]: fail unless CMD (a function too) prints WANT,
# which may be "sid": a session id.
is()
{
	local want="$1" out

	shift
	out=$("$@")
	case "${want}" in
	sid)
		echo "${out}" | grep -Eqx '[A-Za-z0-9_-]{20}' ||
		    atf_fail "$*: '${out}', not a session id"
		;;
	*)
		[ "${out}" = "${want}" ] ||
		    atf_fail "$*: '$(echo "${out}" | cut -c 1-200)', not '${want}'"
		;;
	esac
}

# metric NAME: print the value of counter NAME from metrics_listen.
metric()
{
	curl -s -m 10 "http://127.0.0.1:${MPORT}/" |
	    awk -v n="$1" '$1 == n { print $2 }'
}

# ordinary: fail unless a plain events request is answered within 10 s.
ordinary()
{
	atf_check -o match:'^\[' curl -s -f -m 10 -H "${HDR}" \
	    "${URL}/api/events?since=0&wait=0"
}

atf_test_case memory__ping_flood cleanup
memory__ping_flood_head()
{
	atf_set descr "16 polling sessions each POST 8 payloads of 1 MB of pings without polling: each queues one pong, the notifier stays under 64 MB resident throughout and answers an ordinary events request during and after"
	atf_set require.progs "node curl"
	atf_set timeout 600
}
memory__ping_flood_body()
{
	local rss i

	notifier_node_setup
	# No server ping during the flood: each queue must hold one pong.
	memory_start "ping_interval = 10m" "ping_timeout = 10m"
	memory_flood flood SESSIONS=16 POSTS=8
	grep -qx 'posts 128' flood.out ||
	    atf_fail "not every POST was answered: $(head -4 flood.out)"
	# The ordinary client was served while the flood went on.
	[ "$(sed -n 's/^events //p' flood.out)" -ge 1 ] ||
	    atf_fail "no events request answered during the flood"
	[ "$(grep -c '^poll ' flood.out)" -eq 16 ] ||
	    atf_fail "not 16 sessions polled: $(cat flood.out)"
	# Each queue: the CONNECT answer, then one pong.
	i=$(grep '^poll ' flood.out | grep -cvx 'poll [^ ]* 40{[^|]*}|3')
	[ "${i}" -eq 0 ] ||
	    atf_fail "${i} sessions had more than one pong queued: $(grep '^poll ' flood.out | grep -vx 'poll [^ ]* 40{[^|]*}|3' | head -2 | cut -c 1-200)"
	ordinary
	rss=$(sed -n 's/^maxrss //p' flood.out)
	echo "notifier VmRSS at most ${rss} kB during the flood" >&2
	if memory_asan; then
		echo "AddressSanitizer build: VmRSS not checked" >&2
	else
		[ "${rss}" -lt 65536 ] ||
		    atf_fail "VmRSS reached ${rss} kB (bound 65536 kB)"
	fi
}
memory__ping_flood_cleanup()
{
	goip_cleanup
}

atf_test_case memory__ws_ping_flood cleanup
memory__ws_ping_flood_head()
{
	atf_set descr "4 WebSocket sessions that stop reading each send a million Engine.IO pings, then 4 others 32 MB of WebSocket pings: the notifier stays under 64 MB resident, closes the latter as slow clients, and answers an ordinary events request during and after"
	atf_set require.progs "node curl"
	atf_set timeout 600
}
memory__ws_ping_flood_body()
{
	local rss i

	notifier_node_setup
	memory_start "ping_interval = 10m" "ping_timeout = 10m"
	memory_flood flood MODE=websocket SESSIONS=4 POSTS=2
	grep -qx 'posts 4' flood.out ||
	    atf_fail "not every session sent its pings: $(cat flood.out)"
	[ "$(sed -n 's/^events //p' flood.out)" -ge 1 ] ||
	    atf_fail "no events request answered during the flood"
	ordinary
	rss=$(sed -n 's/^maxrss //p' flood.out)

	# WebSocket pings: their pongs, written by wslay, are output too.
	memory_flood wsping MODE=wsping SESSIONS=4 POSTS=32
	grep -qx 'closed 4' wsping.out ||
	    atf_fail "not closed as slow clients: $(cat wsping.out)"
	[ "$(grep -c 'ws: .*slow client disconnected' "${DIR}/notifier.log")" \
	    -eq 4 ] || atf_fail "log: $(tail -5 "${DIR}/notifier.log")"
	ordinary
	i=$(sed -n 's/^maxrss //p' wsping.out)
	[ "${i}" -gt "${rss}" ] && rss="${i}"
	echo "notifier VmRSS at most ${rss} kB during the floods" >&2
	if memory_asan; then
		echo "AddressSanitizer build: VmRSS not checked" >&2
	else
		[ "${rss}" -lt 65536 ] ||
		    atf_fail "VmRSS reached ${rss} kB (bound 65536 kB)"
	fi
}
memory__ws_ping_flood_cleanup()
{
	goip_cleanup
}

atf_test_case memory__packet_bound cleanup
memory__packet_bound_head()
{
	atf_set descr "A polling session is closed like a slow client, and counted in goip_notifier_queue_overflows_total, once its queue would hold more than 16384 packets, far below the byte bound; 1,000 distinct pongs stay queued, identical pongs collapse into one"
	atf_set require.progs "curl"
}
memory__packet_bound_body()
{
	local a b out

	MPORT=$(goip_free_port)
	memory_start "metrics_listen = 127.0.0.1:${MPORT}" \
	    "ping_interval = 10m" "ping_timeout = 10m"
	goip_wait_port "${MPORT}"

	# Under the bound: every distinct pong is kept, in order.
	a=$(handshake)
	pings 1000 alt.txt alt
	[ "$(post "${a}" alt.txt)" = 200 ] || atf_fail "POST of 1,000 pings"
	out=$(poll "${a}")
	[ "$(echo "${out}" | tr '|' '\n' | grep -c '^3[ab]$')" -eq 1000 ] ||
	    atf_fail "not 1,000 pongs: $(echo "${out}" | cut -c 1-100)"
	case "${out}" in
	3a\|3b\|3a*3b) ;;
	*) atf_fail "pongs out of order: $(echo "${out}" | cut -c 1-100)" ;;
	esac
	# Identical pings waiting for one poll: one pong.
	pings 3 same.txt
	[ "$(post "${a}" same.txt)" = 200 ] || atf_fail "POST of 3 pings"
	is 3 poll "${a}"

	# Over it: the session is closed, the daemon goes on.
	b=$(handshake)
	pings 17000 many.txt alt
	[ "$(post "${b}" many.txt)" = 200 ] || atf_fail "POST of 17,000 pings"
	is '{"code":1,"message":"Session ID unknown"}' poll "${b}"
	grep -q "slow client disconnected: more than 16384 packets" \
	    "${DIR}/notifier.log" ||
	    atf_fail "no log line: $(tail -5 "${DIR}/notifier.log")"
	[ "$(metric goip_notifier_queue_overflows_total)" = 1 ] ||
	    atf_fail "queue_overflows_total: $(metric goip_notifier_queue_overflows_total)"
	[ "$(metric goip_notifier_slow_disconnects_total)" = 0 ] ||
	    atf_fail "the byte bound, not the packet bound, closed it"
	# The other session is untouched.
	[ "$(post "${a}" same.txt)" = 200 ] || atf_fail "session a lost"
	is 3 poll "${a}"
	notifier_alive_in "${DIR}"
}
memory__packet_bound_cleanup()
{
	goip_cleanup
}

atf_test_case memory__per_address_cap cleanup
memory__per_address_cap_head()
{
	atf_set descr "By default one client address holds at most 64 Engine.IO sessions; behind a loopback proxy the address is the last X-Forwarded-For hop, other addresses are still served, and a closed session frees its place"
	atf_set require.progs "curl"
}
memory__per_address_cap_body()
{
	local i sid first

	MPORT=$(goip_free_port)
	memory_start "metrics_listen = 127.0.0.1:${MPORT}"
	goip_wait_port "${MPORT}"
	for i in $(seq 1 64); do
		sid=$(handshake -H "X-Forwarded-For: 192.0.2.1")
		case "${sid}" in
		status*) atf_fail "session ${i} of 64 refused: ${sid}" ;;
		esac
		[ "${i}" -eq 1 ] && first="${sid}"
	done
	is 'status 503' handshake \
	    -H "X-Forwarded-For: 192.0.2.1"
	# The last hop is the one the proxy saw; earlier ones are the client's
	# say, and so is a second header's.
	is 'status 503' handshake \
	    -H "X-Forwarded-For: 198.51.100.7, 192.0.2.1"
	is 'status 503' handshake \
	    -H "X-Forwarded-For: 198.51.100.7" -H "X-Forwarded-For: 192.0.2.1"
	is sid handshake \
	    -H "X-Forwarded-For: 192.0.2.1, 198.51.100.7"
	is sid handshake \
	    -H "X-Forwarded-For:  2001:db8::1 "
	# Without a usable X-Forwarded-For the peer (127.0.0.1) counts.
	is sid handshake
	is sid handshake \
	    -H "X-Forwarded-For: not-an-address"
	# A session that closes gives its place back.
	printf 1 >close.txt
	[ "$(post "${first}" close.txt)" = 200 ] || atf_fail "close POST"
	is sid handshake \
	    -H "X-Forwarded-For: 192.0.2.1"
	is 'status 503' handshake \
	    -H "X-Forwarded-For: 192.0.2.1"
	[ "$(metric goip_notifier_rejected_total)" -eq 4 ] ||
	    atf_fail "rejected_total: $(metric goip_notifier_rejected_total)"
	grep -q '192.0.2.1: more than 64 sessions' "${DIR}/notifier.log" ||
	    atf_fail "no log line: $(tail -5 "${DIR}/notifier.log")"
	ordinary
	notifier_alive_in "${DIR}"
}
memory__per_address_cap_cleanup()
{
	goip_cleanup
}

# notifier_alive_in DIR: fail unless the notifier of instance DIR runs.
notifier_alive_in()
{
	goip_pid_alive "$(cat "$1/notifier.pid")" ||
	    atf_fail "goip-notifier died: $(tail -20 "$1/notifier.log")"
}

# --- cgi: goip-cgi against slow and greedy clients -----------------------

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

# cgi_heartbeat TOKEN DEVICE: post a heartbeat to BASE, print the status.
cgi_heartbeat()
{
	goip_http POST "${BASE}/api/device/heartbeat" \
	    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
	    --data-binary "{\"deviceId\":\"$2\",\"battery\":80,\"signal\":50}"
}

# cgi_sms TOKEN DEVICE MID: post a received SMS to BASE, print the status.
cgi_sms()
{
	goip_http POST "${BASE}/api/sms/receive" \
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
		code=$(goip_http GET "${BASE}/api/devices" -u "${cred}")
		[ "${code}" = 200 ] || atf_fail "${server}: /api/devices: ${code}"
		# The web server lets the device prefix through unauthenticated.
		code=$(goip_http GET "${BASE}/api/device/outbox")
		[ "${code}" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' headers ||
		    atf_fail "${server}: /api/device/outbox did not reach goip-cgi: ${code}"
		for path in /api/device/x/api/devices /api/device/api/devices \
		    /api/device/%61pi/devices \
		    /api/device/x/api/; do
			code=$(goip_http GET "${BASE}${path}" --path-as-is)
			[ "${code}" = 404 ] ||
			    atf_fail "${server}: GET ${path}: ${code}"
		done
		code=$(goip_http POST "${BASE}/api/device/x/api/sms/send" \
		    -H 'Content-Type: application/json' --data-binary \
		    '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"x"}')
		[ "${code}" = 404 ] || atf_fail "${server}: sms/send: ${code}"
		"goip_${server}_stop" "${DIR}"
	done
	[ "$(cgi_sql "SELECT count(*) FROM sms")" = 0 ] ||
	    atf_fail "a nested route stored an SMS"
	out=$(goip_cgi "${DIR}" GET "" "" -REQUEST_URI \
	    SCRIPT_NAME=/api/device/x/api/devices)
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
		goip_cgi "${DIR}" POST /api/sms/receive "${body}" \
		    HTTP_AUTHORIZATION="Bearer ${t1}" >cgi.out 2>&1
		grep -q '^Status: 201' cgi.out || atf_fail "receive: $(cat cgi.out)"
	done
	stats() {
		goip_cgi "${DIR}" GET /api/stats "" REMOTE_USER=admin |
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

atf_test_case cgi__web_server_addrs cleanup
cgi__web_server_addrs_head()
{
	atf_set descr "goip-cgi on TCP honours FCGI_WEB_SERVER_ADDRS as libfcgi does: a peer not listed is closed before anything is read, a listed one is served"
	atf_set require.progs "spawn-fcgi python3"
}
cgi__web_server_addrs_body()
{
	local port allow

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	# A FastCGI client: one GET /api/stats as user admin; prints the
	# Status line of the answer, or "closed" when the peer hangs up first.
	cat >fcgi.py <<'PY'
import socket, struct, sys
def rec(t, body):
    return struct.pack(">BBHHBx", 1, t, 1, len(body), 0) + body
def nv(k, v):
    return bytes([len(k), len(v)]) + k + v
params = b"".join(nv(k, v) for k, v in [
    (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/api/stats"),
    (b"SCRIPT_NAME", b"/api/stats"), (b"QUERY_STRING", b""),
    (b"REMOTE_USER", b"admin"), (b"SERVER_PROTOCOL", b"HTTP/1.1")])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    s.sendall(rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, params) +
        rec(4, b"") + rec(5, b""))
except OSError:
    print("closed"); sys.exit(0)
out = b""
while True:
    try:
        chunk = s.recv(65536)
    except OSError:
        chunk = b""
    if not chunk:
        break
    out += chunk
if not out:
    print("closed"); sys.exit(0)
i, stdout = 0, b""
while i + 8 <= len(out):
    _, t, _, n, pad = struct.unpack(">BBHHBx", out[i:i + 8])
    if t == 6:
        stdout += out[i + 8:i + 8 + n]
    i += 8 + n + pad
print(stdout.split(b"\r\n")[0].decode())
PY
	for allow in 192.0.2.1 127.0.0.1; do
		port=$(goip_free_port)
		FCGI_WEB_SERVER_ADDRS="192.0.2.7, ${allow}" \
		    GOIP_CONF="${DIR}/goip.conf" spawn-fcgi -a 127.0.0.1 \
		    -p "${port}" -P "${DIR}/goip-cgi.pid" -- "${GOIP_CGI}" \
		    >spawn.out 2>&1 || atf_fail "spawn-fcgi: $(cat spawn.out)"
		goip_wait_port "${port}"
		python3 fcgi.py "${port}" >answer 2>&1 ||
		    atf_fail "client: $(cat answer)"
		case "${allow}" in
		192.0.2.1)
			[ "$(cat answer)" = closed ] ||
			    atf_fail "an unlisted peer was served: $(cat answer)" ;;
		*)
			grep -q '^Status: 200' answer ||
			    atf_fail "a listed peer was not served: $(cat answer)" ;;
		esac
		goip_kill_pidfile "${DIR}/goip-cgi.pid"
	done
}
cgi__web_server_addrs_cleanup()
{
	goip_cleanup
}

# --- deploy: nothing runs as root, secrets stay secret, hardened builds ---

# d_procs DIR: print the pids of the processes whose command line names a
# file under DIR (lighttpd -f DIR/lighttpd.conf, DIR/bin/goip-cgi,
# DIR/bin/goip-notifier -c DIR/goip.conf), one per line.  The pattern is
# read from a file so that grep's own command line does not match.
d_procs()
{
	printf '%s/\n' "$1" >procs.pattern
	grep -l -a -F -f procs.pattern /proc/[0-9]*/cmdline 2>/dev/null |
	    sed 's|^/proc/\([0-9]*\)/cmdline$|\1|'
	return 0
}

# d_comm PID: print the program name of PID ("" when it is gone).
d_comm()
{
	cat "/proc/$1/comm" 2>/dev/null
}

# d_mode FILE: print FILE's permission bits in octal, e.g. 600.
d_mode()
{
	stat -c %a "$1"
}

# d_quickstart_stop: SIGTERM the quickstart started by the case (its pid in
# quickstart.pid of the work directory) and wait up to 10 s for it to exit.
d_quickstart_stop()
{
	local pid tries=100

	[ -f quickstart.pid ] || return 0
	pid=$(cat quickstart.pid)
	kill -TERM "${pid}" 2>/dev/null
	while goip_pid_alive "${pid}" && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	rm -f quickstart.pid
	! goip_pid_alive "${pid}"
}

# d_quickstart_start STATE PORT: start "quickstart run" on the state
# directory STATE and 127.0.0.1:PORT in the background (output in qs.out and
# qs.err, pid in quickstart.pid, STATE in state.path) and wait until it says
# it is ready.  The tree is built and configured: quickstart must neither
# build nor install anything (GOIP_BUILDDIR), and the source tree may be
# read-only (make distcheck).
d_quickstart_start()
{
	local state="$1" port="$2" tries=300

	echo "${state}" >state.path
	# goip-udpd on a UDP port of its own: 44444 may be taken.
	GOIP_BUILDDIR="${GOIP_BUILDDIR}" GOIP_STATE_DIR="${state}" \
	    GOIP_HTTP_PORT="${port}" GOIP_UDP_PORT="$(goip_free_udp_port)" \
	    "${GOIP_SRCDIR}/quickstart" run >qs.out 2>qs.err &
	echo $! >quickstart.pid
	until grep -q '^Press Ctrl-C to stop' qs.out; do
		goip_pid_alive "$(cat quickstart.pid)" ||
		    atf_fail "quickstart exited: $(cat qs.err)"
		[ "${tries}" -gt 0 ] ||
		    atf_fail "quickstart not ready in 30 s: $(cat qs.err)"
		sleep 0.1
		tries=$((tries - 1))
	done
}

# d_quickstart_end STATE: SIGTERM quickstart; fail unless it and every
# process of the instance in STATE exit within 15 s.
d_quickstart_end()
{
	local state="$1" pid tries=50

	d_quickstart_stop || atf_fail "quickstart did not exit on SIGTERM"
	while [ -n "$(d_procs "${state}")" ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -z "$(d_procs "${state}")" ] ||
	    atf_fail "left running: $(for pid in $(d_procs "${state}"); do d_comm "${pid}"; done)"
}

# d_quickstart_cleanup: for a cleanup part: stop quickstart and anything of
# its instance still running (after a body that failed), remove the
# instance.
d_quickstart_cleanup()
{
	local pid

	d_quickstart_stop
	if [ -f state.path ]; then
		for pid in $(d_procs "$(cat state.path)"); do
			kill -TERM "${pid}" 2>/dev/null
		done
	fi
	goip_cleanup
}

# d_status URL [CURL-ARGS]: print the HTTP status of a request to URL.
d_status()
{
	local url="$1"

	shift
	curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "${url}"
}

# d_expect STATUS COMMAND [ARG ...]: fail unless COMMAND prints STATUS.
d_expect()
{
	local want="$1" got

	shift
	got=$("$@")
	[ "${got}" = "${want}" ] ||
	    atf_fail "$1 $2: status ${got}, expected ${want}"
}

# d_heartbeat URL TOKEN: print the status of a heartbeat of goip-01.
d_heartbeat()
{
	d_status "$1api/device/heartbeat" -H "Authorization: Bearer $2" \
	    -H 'Content-Type: application/json' \
	    -d '{"deviceId":"goip-01","battery":87,"charging":true,"signal":74,"simSlots":[]}'
}

atf_test_case deploy__quickstart_not_root cleanup
deploy__quickstart_not_root_head()
{
	atf_set descr "quickstart run started as root runs lighttpd, goip-cgi and goip-notifier as the goip user, keeps its state directory and secrets private, never puts the password on a command line, answers the printed heartbeat with 200, and stops everything on SIGTERM"
	atf_set require.user root
	atf_set require.progs "lighttpd htpasswd curl setpriv"
	atf_set timeout 120
}
deploy__quickstart_not_root_body()
{
	local d state port url tok pass pid comm seen="" f uid

	d=$(goip_tmpdir)
	state="${d}/run"
	port=$(goip_free_port)
	d_quickstart_start "${state}" "${port}"

	uid=$(id -u goip) || atf_fail "quickstart created no goip user"
	[ "${uid}" -ne 0 ] || atf_fail "goip is uid 0"

	# Every server runs as goip: real, effective, saved and fs ids, and
	# no capabilities left.
	for pid in $(d_procs "${state}"); do
		comm=$(d_comm "${pid}")
		case "${comm}" in
		lighttpd|goip-cgi|goip-notifier) ;;
		*) continue ;;
		esac
		seen="${seen} ${comm}"
		grep -q -E "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}$" \
		    "/proc/${pid}/status" ||
		    atf_fail "${comm} (${pid}) does not run as goip: $(grep -E '^(Uid|Gid)' "/proc/${pid}/status")"
		grep -q -E '^CapEff:[[:space:]]+0+$' "/proc/${pid}/status" ||
		    atf_fail "${comm} (${pid}) kept capabilities: $(grep CapEff "/proc/${pid}/status")"
	done
	for comm in lighttpd goip-cgi goip-notifier; do
		echo "${seen}" | grep -q -w -- "${comm}" ||
		    atf_fail "no ${comm} process of the instance (saw:${seen})"
	done

	# The state directory and the secrets: owned by goip, nobody else.
	[ "$(stat -c %U "${state}")" = goip ] ||
	    atf_fail "${state} is owned by $(stat -c %U "${state}")"
	case "$(d_mode "${state}")" in
	700|750) ;;
	*) atf_fail "${state} has mode $(d_mode "${state}")" ;;
	esac
	for f in demo-device.token dashboard.credentials htpasswd goip.db \
	    goip.db-wal goip.db-shm; do
		[ -e "${state}/${f}" ] || case "${f}" in
			goip.db-*) continue ;;
			*) atf_fail "${state}/${f} missing" ;;
		esac
		[ "$(stat -c %U "${state}/${f}")" = goip ] ||
		    atf_fail "${f} is owned by $(stat -c %U "${state}/${f}")"
		case "${f}:$(d_mode "${state}/${f}")" in
		*:600|goip.db*:640) ;;
		*) atf_fail "${f} has mode $(d_mode "${state}/${f}")" ;;
		esac
	done

	# The password is on no process's command line (htpasswd -i).
	pass=$(cut -d: -f2 "${state}/dashboard.credentials")
	[ -n "${pass}" ] || atf_fail "no password in dashboard.credentials"
	printf '%s\n' "${pass}" >pass.pattern
	f=$(grep -l -a -F -f pass.pattern /proc/[0-9]*/cmdline 2>/dev/null)
	[ -z "${f}" ] || atf_fail "the password is on the command line of ${f}"
	grep -q -F "Login:       admin:${pass}" qs.out ||
	    atf_fail "quickstart did not print the login"

	# The printed URL and token work: a heartbeat is answered 200, and
	# the dashboard asks for the password.
	url=$(sed -n 's/^  Dashboard: *//p' qs.out)
	[ "${url}" = "http://127.0.0.1:${port}/" ] ||
	    atf_fail "unexpected dashboard URL '${url}'"
	tok=$(sed -n "s/.*Authorization: Bearer \([^']*\)'.*/\1/p" qs.out)
	[ "${tok}" = "$(cat "${state}/demo-device.token")" ] ||
	    atf_fail "the printed token is not the demo device's"
	d_expect 200 d_heartbeat "${url}" "${tok}"
	d_expect 401 d_status "${url}api/devices"
	d_expect 200 d_status "${url}api/devices" -u "admin:${pass}"

	# SIGTERM stops quickstart and every process of the instance.
	d_quickstart_end "${state}"
}
deploy__quickstart_not_root_cleanup()
{
	d_quickstart_cleanup
}

atf_test_case deploy__quickstart_old_state cleanup
deploy__quickstart_old_state_head()
{
	atf_set descr "quickstart run on a state directory left by an older quickstart (root-owned files, world-readable token, credentials and htpasswd) hands it to goip, replaces the exposed token and password (the old ones are refused, the new ones work), rewrites goip.conf and keeps the database"
	atf_set require.user root
	atf_set require.progs "lighttpd htpasswd curl setpriv"
	atf_set timeout 120
}
deploy__quickstart_old_state_body()
{
	local d state port url oldtok oldpass tok pass f

	d=$(goip_tmpdir)
	state="${d}/run"
	port=$(goip_free_port)
	# What the quickstart of issue 11 left: everything root's, secrets
	# 0644, the notifier on TCP.
	mkdir -m 0755 "${state}" || atf_fail "cannot create ${state}"
	printf '%s\n' "database = ${state}/goip.db" \
	    "notify_socket = ${state}/notify.sock" \
	    "listen = 127.0.0.1:$((port + 1))" "dashboard_auth = web" \
	    >"${state}/goip.conf"
	atf_check -o ignore -e ignore "${GOIP_CTL}" -c "${state}/goip.conf" init
	oldtok=$("${GOIP_CTL}" -c "${state}/goip.conf" device add goip-01) ||
	    atf_fail "goipctl device add failed"
	oldtok=$(echo "${oldtok}" | tail -n 1)
	echo "${oldtok}" >"${state}/demo-device.token"
	oldpass="old$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	echo "admin:${oldpass}" >"${state}/dashboard.credentials"
	printf '%s\n' "${oldpass}" |
	    htpasswd -i -cB "${state}/htpasswd" admin 2>/dev/null ||
	    atf_fail "htpasswd failed"
	chmod 0644 "${state}/demo-device.token" \
	    "${state}/dashboard.credentials" "${state}/htpasswd"

	d_quickstart_start "${state}" "${port}"
	grep -q 'new token' qs.err ||
	    atf_fail "no word of the new token: $(cat qs.err)"
	grep -q 'new password' qs.err ||
	    atf_fail "no word of the new password: $(cat qs.err)"
	f=$(find "${state}" ! -user goip | head -n 1)
	[ -z "${f}" ] || atf_fail "${f} is not owned by goip"
	f=$(find "${state}" -perm /o=rwx | head -n 1)
	[ -z "${f}" ] || atf_fail "${f} is accessible to others"
	tok=$(cat "${state}/demo-device.token")
	pass=$(cut -d: -f2 "${state}/dashboard.credentials")
	[ "${tok}" != "${oldtok}" ] || atf_fail "the exposed token was kept"
	[ "${pass}" != "${oldpass}" ] || atf_fail "the exposed password was kept"
	url="http://127.0.0.1:${port}/"
	d_expect 401 d_heartbeat "${url}" "${oldtok}"
	d_expect 200 d_heartbeat "${url}" "${tok}"
	d_expect 401 d_status "${url}api/devices" \
	    -u "admin:${oldpass}"
	d_expect 200 d_status "${url}api/devices" -u "admin:${pass}"
	grep -q -x "listen = ${state}/notifier.sock" "${state}/goip.conf" ||
	    atf_fail "goip.conf was not rewritten: $(cat "${state}/goip.conf")"
	d_quickstart_end "${state}"
}
deploy__quickstart_old_state_cleanup()
{
	d_quickstart_cleanup
}

atf_test_case deploy__systemd_units
deploy__systemd_units_head()
{
	atf_set descr "The systemd units of etc/ (goip-cgi, goip-notifier, goip-udpd, goip-webhookd) pass systemd-analyze verify and confine the programs: user goip, UMask=0027, NoNewPrivileges, ProtectSystem=strict, no capabilities, MemoryMax, loopback only for the notifier and no IP at all for goip-cgi"
	atf_set require.progs systemd-analyze
}
deploy__systemd_units_body()
{
	local u d f

	# verify wants the programs of ExecStart to exist: point them at the
	# build tree.
	d="$(pwd)/units"
	mkdir "${d}" || atf_fail "cannot create ${d}"
	for u in goip-notifier.service goip-cgi.service goip-cgi.socket \
	    goip-udpd.service goip-webhookd.service; do
		sed -e "s|/usr/sbin/goip-cgi|${GOIP_CGI}|g" \
		    -e "s|/usr/sbin/goip-notifier|${GOIP_NOTIFIER}|g" \
		    -e "s|/usr/sbin/goip-udpd|${GOIP_BUILDDIR}/udpd/goip-udpd|g" \
		    -e "s|/usr/sbin/goip-webhookd|${GOIP_BUILDDIR}/webhookd/goip-webhookd|g" \
		    "${GOIP_SRCDIR}/etc/${u}" >"${d}/${u}"
	done
	(cd "${d}" && systemd-analyze verify --man=no goip-cgi.socket \
	    goip-cgi.service goip-notifier.service goip-udpd.service \
	    goip-webhookd.service) >verify.out 2>&1 ||
	    atf_fail "systemd-analyze verify: $(cat verify.out)"
	[ ! -s verify.out ] || atf_fail "systemd-analyze verify: $(cat verify.out)"
	for u in goip-notifier.service goip-cgi.service goip-udpd.service \
	    goip-webhookd.service; do
		for f in User=goip NoNewPrivileges=yes ProtectSystem=strict \
		    ProtectHome=yes PrivateTmp=yes UMask=0027 \
		    'MemoryMax=[0-9]+[KMG]' 'CapabilityBoundingSet=$'; do
			grep -q -E "^${f}" "${d}/${u}" || atf_fail "${u} lacks ${f}"
		done
	done
	for u in goip-notifier.service goip-cgi.service; do
		for f in IPAddressDeny=any 'RestrictAddressFamilies=AF_UNIX'; do
			grep -q -E "^${f}" "${d}/${u}" || atf_fail "${u} lacks ${f}"
		done
	done
	grep -q -x 'IPAddressAllow=localhost' "${d}/goip-notifier.service" ||
	    atf_fail "goip-notifier.service does not allow localhost"
	! grep -q '^IPAddressAllow=' "${d}/goip-cgi.service" ||
	    atf_fail "goip-cgi.service allows an IP address"
	grep -q -x 'RuntimeDirectory=goip' "${d}/goip-notifier.service" ||
	    atf_fail "goip-notifier.service has no RuntimeDirectory"
	grep -q -x 'SocketMode=0660' "${d}/goip-cgi.socket" ||
	    atf_fail "goip-cgi.socket is not 0660"
}

# d_elf_has BINARY FEATURE: true when BINARY shows FEATURE of configure's
# GOIP_HARDENING list: pie (ELF type DYN), relro (a GNU_RELRO segment), now
# (BIND_NOW), stack-protector (calls __stack_chk_fail), fortify (calls a
# fortified __*_chk function).
d_elf_has()
{
	case "$2" in
	pie)
		readelf -hW "$1" | grep -q -E 'Type:[[:space:]]+DYN'
		;;
	relro)
		readelf -lW "$1" | grep -q GNU_RELRO
		;;
	now)
		readelf -dW "$1" |
		    grep -q -E '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'
		;;
	stack-protector)
		readelf --dyn-syms -W "$1" | grep -q -w __stack_chk_fail
		;;
	fortify)
		readelf --dyn-syms -W "$1" | grep -q -E '__[a-z_]+_chk@'
		;;
	*)
		atf_fail "unknown hardening feature $2"
		;;
	esac
}

atf_test_case deploy__hardened_binaries
deploy__hardened_binaries_head()
{
	atf_set descr "With hardening on (configure's default), goip-cgi, goip-notifier and goipctl are PIE, have full RELRO (GNU_RELRO and BIND_NOW), call __stack_chk_fail and, in an optimised build without sanitizers, fortified _chk functions; a program built without those flags fails the same checks"
	atf_set require.progs "readelf cc"
}
deploy__hardened_binaries_body()
{
	local on b path feature optimised=no

	grep -q '^#define GOIP_HARDENING ' "${GOIP_BUILDDIR}/config.h" ||
	    atf_skip "configured with --disable-hardening"
	on=$(sed -n 's/^#define GOIP_HARDENING "\(.*\)"$/\1/p' \
	    "${GOIP_BUILDDIR}/config.h")
	[ -n "${on}" ] || atf_fail "hardening is on but no flag was accepted"
	# config.h turns _FORTIFY_SOURCE on only when the compiler optimises.
	grep -q -E '^CFLAGS = .*-O[1-3s]' "${GOIP_BUILDDIR}/Makefile" &&
	    optimised=yes
	for b in cgi/goip-cgi notifier/goip-notifier ctl/goipctl; do
		path="${GOIP_BUILDDIR}/${b}"
		[ -x "${path}" ] || atf_fail "${path} not built"
		for feature in ${on}; do
			[ "${feature}" = fortify ] && [ "${optimised}" = no ] &&
			    continue
			d_elf_has "${path}" "${feature}" ||
			    atf_fail "${b} lacks ${feature}"
		done
	done

	# The checks can fail: a program with a buffer and a strcpy, built
	# with every protection off, shows none of them.
	printf '%s\n' '#include <stdio.h>' '#include <string.h>' \
	    'int main(int argc, char **argv) { char b[64];' \
	    'strcpy(b, argc > 1 ? argv[1] : "x"); return puts(b) < 0; }' \
	    >plain.c
	atf_check cc -O2 -U_FORTIFY_SOURCE -fno-stack-protector -fno-pie \
	    -no-pie -Wl,-z,norelro -Wl,-z,lazy -o plain plain.c
	for feature in pie relro now stack-protector fortify; do
		! d_elf_has plain "${feature}" ||
		    atf_fail "the check for ${feature} passes an unprotected program"
	done
}

atf_init_test_cases()
{
	atf_add_test_case trust__unix_socket_mode
	atf_add_test_case trust__no_credentials
	atf_add_test_case trust__host_rebinding
	atf_add_test_case trust__cors_star_refused
	atf_add_test_case trust__root_refused
	atf_add_test_case trust__events_405_json
	atf_add_test_case replay__join_flood
	atf_add_test_case replay__long_in_order
	atf_add_test_case replay__events_errors_json
	atf_add_test_case replay__device_index
	atf_add_test_case rooms__rejoin_no_duplicates
	atf_add_test_case rooms__live_join_no_replay
	atf_add_test_case rooms__cap
	atf_add_test_case rooms__join_rate
	atf_add_test_case memory__ping_flood
	atf_add_test_case memory__ws_ping_flood
	atf_add_test_case memory__packet_bound
	atf_add_test_case memory__per_address_cap
	atf_add_test_case cgi__slow_body_apache
	atf_add_test_case cgi__route_second_api
	atf_add_test_case cgi__device_rate_limit
	atf_add_test_case cgi__sms_retention_batched
	atf_add_test_case cgi__web_server_addrs
	atf_add_test_case deploy__quickstart_not_root
	atf_add_test_case deploy__quickstart_old_state
	atf_add_test_case deploy__systemd_units
	atf_add_test_case deploy__hardened_binaries
}
