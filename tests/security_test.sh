#
# security_test: secrets and access (issue 6).  Device tokens and SMS bodies
# never reach a log, goipctl creates the database with a restrictive mode,
# dashboard routes need authentication, the notifier refuses cross-origin
# WebSocket handshakes, and a wrong token is a 401 that leaves no trace.
# Everything listens on 127.0.0.1 only.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# s_cgi TOKEN PATH BODY: goip-cgi as plain CGI in the foreground with debug
# logging (-d -v), its log appended to cgi-debug.log; print the status.
s_cgi()
{
	goip_cgi "${DIR}" POST "$2" "$3" HTTP_AUTHORIZATION="Bearer $1" \
	    -- -d -v >cgi.out 2>>cgi-debug.log
	goip_cgi_status cgi.out
}

# s_expect STATUS TOKEN PATH BODY: goip_post BODY to PATH of lighttpd (LURL)
# with TOKEN; fail unless the answer is STATUS.
s_expect()
{
	local code

	code=$(goip_post "${LURL}" "$2" "$3" "$4")
	[ "${code}" = "$1" ] ||
	    atf_fail "POST $3: ${code}, expected $1: $(head -c 300 post.out)"
}

# s_no_trace SECRET WHAT FILE...: fail when SECRET occurs in any FILE.
s_no_trace()
{
	local secret="$1" what="$2" f

	shift 2
	for f in "$@"; do
		[ -f "${f}" ] || continue
		if grep -a -q -F -- "${secret}" "${f}"; then
			atf_fail "${what} found in ${f}: $(grep -a -F -- "${secret}" "${f}" | head -n 2)"
		fi
	done
	return 0
}

atf_test_case tokens__never_logged cleanup
tokens__never_logged_head()
{
	atf_set descr "Traffic with known tokens and SMS bodies (through lighttpd, and goip-cgi -d -v as CGI, with the notifier -d -v): no token and no SMS body in any log the case produced"
	atf_set require.progs "curl lighttpd"
}
tokens__never_logged_body()
{
	local i code body bad logs

	goip_proxied_instance
	"${GOIP_NOTIFIER}" -d -v -c "${DIR}/goip.conf" >"${DIR}/notifier.log" 2>&1 &
	echo $! >"${DIR}/notifier.pid"
	goip_wait_ready "$!" "${DIR}/notifier.log" "main: listening on"
	goip_lighttpd_up
	body="SecretBody-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	bad="NotAToken$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	for i in 1 2 3; do
		s_expect 200 "${T1}" /api/device/heartbeat \
		    '{"deviceId":"goip-01","battery":50}'
		s_expect 201 "${T1}" /api/sms/receive \
		    "{\"messageId\":\"m${i}\",\"slot\":1,\"from\":\"+447700900123\",\"text\":\"${body} ${i}\"}"
		s_expect 401 "${bad}" /api/sms/receive \
		    "{\"messageId\":\"x${i}\",\"slot\":1,\"from\":\"+1\",\"text\":\"${body}\"}"
		# Invalid input that echoes nothing back either.
		s_expect 400 "${T1}" /api/sms/receive \
		    "{\"messageId\":\"y${i}\",\"slot\":\"x\",\"from\":\"+1\",\"text\":\"${body}\"}"
	done
	code=$(s_cgi "${T1}" /api/sms/receive \
	    "{\"messageId\":\"c1\",\"slot\":1,\"from\":\"+1\",\"text\":\"${body} cgi\"}")
	[ "${code}" = 201 ] || atf_fail "CGI sms: ${code} $(cat cgi.out)"
	code=$(s_cgi "${bad}" /api/device/heartbeat '{"battery":1}')
	[ "${code}" = 401 ] || atf_fail "CGI wrong token: ${code}"
	grep -q 'unknown token' cgi-debug.log ||
	    atf_fail "goip-cgi -d -v logged no rejection: $(cat cgi-debug.log)"
	curl -s -m 5 "${NURL}/api/events?since=0" >events.json
	grep -q -F "${body}" events.json || atf_fail "the SMS did not reach the notifier"
	goip_lighttpd_stop "${DIR}"
	goip_notifier_stop "${DIR}"
	logs="${DIR}/lighttpd-error.log ${DIR}/notifier.log ${DIR}/init.out cgi-debug.log"
	[ -s "${DIR}/notifier.log" ] || atf_fail "the notifier logged nothing"
	# shellcheck disable=SC2086
	s_no_trace "${T1}" "a device token" ${logs}
	# shellcheck disable=SC2086
	s_no_trace "${bad}" "a wrong token" ${logs}
	# shellcheck disable=SC2086
	s_no_trace "${body}" "an SMS body" ${logs}
	# Stored at rest only as a hash.
	sqlite3 "${DIR}/goip.db" .dump >dump.sql
	s_no_trace "${T1}" "a device token (plain, at rest)" dump.sql
}
tokens__never_logged_cleanup()
{
	goip_cleanup
}

atf_test_case modes__goipctl cleanup
modes__goipctl_head()
{
	atf_set descr "goipctl init creates the database 0640 or stricter even under umask 000, and never creates or loosens goip.conf"
	atf_set require.progs "stat sqlite3"
}
modes__goipctl_body()
{
	local d mode f

	d=$(goip_tmpdir)
	cat >"${d}/goip.conf" <<EOF
database = ${d}/db/goip.db
notify_socket = ${d}/notify.sock
EOF
	chmod 0600 "${d}/goip.conf"
	mkdir "${d}/db"
	(umask 000 && "${GOIP_CTL}" -c "${d}/goip.conf" init) >init.out 2>&1 ||
	    atf_fail "init: $(cat init.out)"
	(umask 000 && "${GOIP_CTL}" -c "${d}/goip.conf" device add goip-01) \
	    >add.out 2>&1 || atf_fail "device add: $(cat add.out)"
	for f in "${d}/db/goip.db" "${d}/db/goip.db-wal" "${d}/db/goip.db-shm"; do
		[ -e "${f}" ] || continue
		mode=$(stat -c %a "${f}")
		# No bit for others and no group write: 0640 or stricter.
		case "${mode}" in
		[0-7][0-4]0) ;;
		*) atf_fail "${f} created with mode ${mode}" ;;
		esac
	done
	[ "$(stat -c %a "${d}/goip.conf")" = 600 ] ||
	    atf_fail "goip.conf mode changed to $(stat -c %a "${d}/goip.conf")"
	rm -f "${d}/missing.conf"
	"${GOIP_CTL}" -c "${d}/missing.conf" check >check.out 2>&1 &&
	    atf_fail "goipctl accepted a missing configuration"
	[ -e "${d}/missing.conf" ] && atf_fail "goipctl created a configuration"
	return 0
}
modes__goipctl_cleanup()
{
	goip_cleanup
}

atf_test_case dashboard__auth_required cleanup
dashboard__auth_required_head()
{
	atf_set descr "Dashboard routes are refused without authentication (through lighttpd, and by goip-cgi itself without REMOTE_USER) unless dashboard_auth = none"
	atf_set require.progs "curl lighttpd"
}
dashboard__auth_required_body()
{
	local r code cred

	goip_proxied_instance
	goip_lighttpd_up
	cred=$(goip_credentials "${DIR}")
	for r in /api/devices /api/devices/goip-01 /api/stats \
	    "/api/sms?direction=in" /; do
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${LURL}${r}")
		[ "${code}" = 401 ] || atf_fail "GET ${r} without auth: ${code}"
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
		    -u "admin:wrong" "${LURL}${r}")
		[ "${code}" = 401 ] || atf_fail "GET ${r} with a wrong password: ${code}"
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
		    -u "${cred}" "${LURL}${r}")
		[ "${code}" = 200 ] || atf_fail "GET ${r} with auth: ${code}"
	done
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' \
	    -d '{"deviceId":"goip-01","slot":1,"to":"+447700900123","text":"x"}' \
	    "${LURL}/api/sms/send")
	[ "${code}" = 401 ] || atf_fail "POST /api/sms/send without auth: ${code}"
	# A device token is no dashboard credential.
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer ${T1}" "${LURL}/api/devices")
	[ "${code}" = 401 ] || atf_fail "GET /api/devices with a device token: ${code}"
	# The real-time routes behind the proxy too.
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
	    "${LURL}/api/events?since=0&wait=0")
	[ "${code}" = 401 ] || atf_fail "GET /api/events without auth: ${code}"
	# goip-cgi fails closed when the web server forgot authentication.
	for r in /api/devices /api/stats; do
		goip_cgi "${DIR}" GET "${r}" >cgi.out 2>&1
		grep -q '^Status: 401' cgi.out ||
		    atf_fail "CGI ${r} without REMOTE_USER: $(head -n 1 cgi.out)"
	done
	echo "dashboard_auth = none" >>"${DIR}/goip.conf"
	goip_cgi "${DIR}" GET /api/stats >cgi.out 2>&1
	grep -q '^Status: 200' cgi.out ||
	    atf_fail "dashboard_auth = none: $(head -n 1 cgi.out)"
}
dashboard__auth_required_cleanup()
{
	goip_cleanup
}

# s_ws ORIGIN: attempt a WebSocket handshake on the notifier with ORIGIN
# (none when empty); print the status code of the answer.
s_ws()
{
	local o=""

	[ -n "$1" ] && o="Origin: $1"
	curl -s -m 3 -N -o ws.out -D ws.h -w '%{http_code}' --http1.1 \
	    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	    -H 'Sec-WebSocket-Version: 13' \
	    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	    ${o:+-H "${o}"} \
	    "${NURL}/api/socket/io/?EIO=4&transport=websocket"
}

atf_test_case notifier__cross_origin_ws cleanup
notifier__cross_origin_ws_head()
{
	atf_set descr "The notifier refuses a cross-origin WebSocket handshake not in cors_origins and accepts one that is (and the same origin)"
	atf_set require.progs "curl"
}
notifier__cross_origin_ws_body()
{
	local code port

	goip_proxied_instance "cors_origins = https://dash.example, http://ops.example:8443"
	goip_notifier_start "${DIR}"
	port=$(cat "${DIR}/notifier.port")
	for o in http://evil.example https://dash.example.evil.example \
	    http://dash.example null "https://dash.example:444"; do
		code=$(s_ws "${o}")
		[ "${code}" = 101 ] && atf_fail "handshake from ${o} accepted"
		[ "${code}" = 403 ] || [ "${code}" = 400 ] ||
		    atf_fail "handshake from ${o}: ${code}"
	done
	for o in https://dash.example http://ops.example:8443 \
	    "http://127.0.0.1:${port}"; do
		code=$(s_ws "${o}")
		[ "${code}" = 101 ] || atf_fail "handshake from ${o}: ${code} $(cat ws.h)"
		grep -qi '^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' ws.h ||
		    atf_fail "bad accept: $(cat ws.h)"
	done
	goip_pid_alive "$(cat "${DIR}/notifier.pid")" || atf_fail "notifier died"
}
notifier__cross_origin_ws_cleanup()
{
	goip_cleanup
}

atf_test_case token__wrong_401 cleanup
token__wrong_401_head()
{
	atf_set descr "A wrong, truncated, over-long or malformed bearer token is 401 on every device route and leaves no trace of the token in logs or the database"
	atf_set require.progs "curl lighttpd sqlite3"
}
token__wrong_401_body()
{
	local bad r code n0 n1 t

	goip_proxied_instance
	goip_notifier_start "${DIR}"
	goip_lighttpd_up
	bad="WrongTok$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	n0=$(sqlite3 "${DIR}/goip.db" 'SELECT count(*) FROM events')
	for t in "${bad}" "$(printf '%s' "${T1}" | cut -c 2-)" "${T1}x" \
	    "${bad}${bad}${bad}${bad}${bad}${bad}"; do
		for r in /api/device/heartbeat /api/sms/receive /api/sms/status; do
			code=$(goip_post "${LURL}" "${t}" "${r}" \
			    '{"messageId":"w1","slot":1,"from":"+1","text":"x","id":1,"status":"sent"}')
			[ "${code}" = 401 ] || atf_fail "POST ${r}: ${code}"
			grep -q '"error"' post.out || atf_fail "no JSON error"
			s_no_trace "${t}" "the token (echoed)" post.out
		done
		code=$(curl -s -m 5 -o post.out -w '%{http_code}' \
		    -H "Authorization: Bearer ${t}" "${LURL}/api/device/outbox")
		[ "${code}" = 401 ] || atf_fail "GET outbox: ${code}"
	done
	code=$(curl -s -m 5 -o post.out -w '%{http_code}' -X POST \
	    -H "Authorization: Basic ${bad}" -H 'Content-Type: application/json' \
	    -d '{"battery":1}' "${LURL}/api/device/heartbeat")
	[ "${code}" = 401 ] || atf_fail "Basic scheme: ${code}"
	code=$(curl -s -m 5 -o post.out -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' \
	    -d '{"battery":1}' "${LURL}/api/device/heartbeat")
	[ "${code}" = 401 ] || atf_fail "no token: ${code}"
	n1=$(sqlite3 "${DIR}/goip.db" 'SELECT count(*) FROM events')
	[ "${n0}" = "${n1}" ] || atf_fail "a rejected request wrote events"
	goip_lighttpd_stop "${DIR}"
	goip_notifier_stop "${DIR}"
	sqlite3 "${DIR}/goip.db" .dump >dump.sql
	s_no_trace "${bad}" "the wrong token" "${DIR}/lighttpd-error.log" \
	    "${DIR}/notifier.log" dump.sql
	[ "$(sqlite3 "${DIR}/goip.db" 'SELECT count(*) FROM sms')" -eq 0 ] ||
	    atf_fail "a rejected request stored an SMS"
}
token__wrong_401_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case tokens__never_logged
	atf_add_test_case modes__goipctl
	atf_add_test_case dashboard__auth_required
	atf_add_test_case notifier__cross_origin_ws
	atf_add_test_case token__wrong_401
}
