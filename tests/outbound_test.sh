#
# outbound_test: outbound SMS with live delivery confirmations (issue 5)
# through the real web server: lighttpd, goip-cgi over FastCGI and
# goip-notifier, with a socket.io-client (tests/node/outbound.cjs) in the
# dashboard room.  Send, lease, report; lease expiry and re-offer;
# idempotent send; monotonic status under shuffled and duplicated reports;
# retry limit, back-off and expiry; two devices polling concurrently.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# o_start [PROCS] [CONF-LINES...]: an instance with devices goip-01 and
# goip-02 (tokens T1, T2), CONF-LINES added to goip.conf, the notifier and
# lighttpd with PROCS goip-cgi processes (default 1) started; sets DIR,
# CRED (admin:PASSWORD) and LURL.
o_start()
{
	local procs="${1:-1}" port

	[ $# -gt 0 ] && shift
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	[ $# -gt 0 ] && printf '%s\n' "$@" >>"${DIR}/goip.conf"
	T1=$(goip_device_add "${DIR}" goip-01)
	T2=$(goip_device_add "${DIR}" goip-02)
	CRED=$(goip_credentials "${DIR}")
	goip_notifier_start "${DIR}"
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}" "${procs}"
	LURL="http://127.0.0.1:${port}"
}

# o_send BODY [KEY] [CRED]: POST /api/sms/send as the operator (CRED,
# default admin) with an Idempotency-Key when KEY is not empty; print the
# HTTP status.  Body to send.out, headers to send.out.h.
o_send()
{
	local key="${2:-}"

	curl -s -m 10 -u "${3:-${CRED}}" -D send.out.h -o send.out \
	    -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	    ${key:+-H "Idempotency-Key: ${key}"} --data-binary "$1" \
	    "${LURL}/api/sms/send"
}

# o_queue DEVICE TEXT: queue one SMS on slot 1 and print its id.
o_queue()
{
	local code

	code=$(o_send "{\"deviceId\":\"$1\",\"slot\":1,\"to\":\"+48600100200\",\"text\":\"$2\"}")
	[ "${code}" = 202 ] || atf_fail "send answered ${code}: $(cat send.out)"
	jq -e '.id' send.out || atf_fail "no id in $(cat send.out)"
}

# o_outbox TOKEN [LIMIT] [OUT]: GET /api/device/outbox; print the HTTP
# status, the answer in OUT (default outbox.out).
o_outbox()
{
	curl -s -m 10 -o "${3:-outbox.out}" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" \
	    "${LURL}/api/device/outbox${2:+?limit=$2}"
}

# o_lease TOKEN: lease and print the ids offered, one a line.
o_lease()
{
	local code

	code=$(o_outbox "$1" 64)
	[ "${code}" = 200 ] || atf_fail "outbox answered ${code}: $(cat outbox.out)"
	jq -r '.messages[].id' outbox.out
}

# o_report TOKEN BODY: POST /api/sms/status; must be 200; answer in
# status.out.
o_report()
{
	local code

	code=$(curl -s -m 10 -o status.out -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
	    --data-binary "$2" "${LURL}/api/sms/status")
	[ "${code}" = 200 ] ||
	    atf_fail "status $2 answered ${code}: $(cat status.out)"
}

# o_get PATH: a dashboard GET, answer on standard output.
o_get()
{
	curl -s -m 10 -f -u "${CRED}" "${LURL}$1" ||
	    atf_fail "GET $1 failed"
}

# o_msg ID: the outbound message ID as GET /api/sms shows it.
o_msg()
{
	o_get "/api/sms?direction=out&limit=500" | jq -c ".[] | select(.id == $1)"
}

# o_field ID FIELD: one field of message ID.
o_field()
{
	o_msg "$1" | jq -r ".$2"
}

# o_stats: "sent delivered failed queued" of GET /api/stats.
o_stats()
{
	o_get /api/stats | jq -r '"\(.sms.sent) \(.sms.delivered) \(.sms.failed) \(.sms.queued)"'
}

# o_sql SQL: run SQL on the instance's database.
o_sql()
{
	sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" "$1"
}

# o_client NAME: start outbound.cjs through lighttpd (dashboard room) and
# wait until it joined.
o_client()
{
	local name="$1"

	notifier_node_setup
	ROOMS=dashboard AUTH="${CRED}" TIMEOUT=60 node \
	    "${GOIP_SRCDIR}/tests/node/outbound.cjs" "${LURL}" "${name}.out" \
	    >"${name}.log" 2>&1 &
	echo $! >"${name}.cpid"
	touch "${name}.out"
	goip_client_ready "${name}" "${name}.cpid"
}

# o_client_stop NAME: let client NAME exit and check it did so cleanly.
o_client_stop()
{
	touch "$1.out.stop"
	wait "$(cat "$1.cpid")" ||
	    atf_fail "client $1 failed: $(cat "$1.log")"
	rm -f "$1.cpid"
}

# o_statuses NAME ID: the statuses of the sms-status events of message ID
# seen by client NAME, in order, space-separated.
o_statuses()
{
	awk -v id="$2" '$1 == "sms-status" && $3 == id {printf "%s ", $4}' \
	    "$1.out" | sed 's/ $//'
}

# o_statuses_are NAME ID STATUSES: fail unless client NAME saw exactly
# STATUSES (space-separated, in order) for message ID.
o_statuses_are()
{
	local got

	got=$(o_statuses "$1" "$2")
	[ "${got}" = "$3" ] ||
	    atf_fail "message $2 events seen by $1: '${got}', expected '$3'"
}

o_cleanup()
{
	local f

	for f in *.cpid; do
		[ -f "${f}" ] && kill "$(cat "${f}")" 2>/dev/null
	done
	goip_cleanup
}

# ----------------------------------------------------------------------

atf_test_case lifecycle__realtime cleanup
lifecycle__realtime_head()
{
	atf_set descr "send, lease, sent, delivered through lighttpd: a" \
	    "socket.io-client sees queued, sending, sent, delivered once each," \
	    "in order; GET /api/sms and the stats counters follow"
	atf_set require.progs "node curl jq lighttpd sqlite3"
	atf_set timeout 60
}
lifecycle__realtime_body()
{
	local id code sending

	o_start 1
	o_client c
	[ "$(o_stats)" = "0 0 0 0" ] || atf_fail "stats at start: $(o_stats)"

	code=$(o_send '{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"Hello from the dashboard"}')
	[ "${code}" = 202 ] || atf_fail "send answered ${code}: $(cat send.out)"
	id=$(jq -r .id send.out)
	[ "$(jq -r '.status, .segments, .direction' send.out | tr '\n' ' ')" = \
	    "queued 1 out " ] || atf_fail "send answer: $(cat send.out)"
	goip_wait_grep c.out "^sms-status [0-9]+ ${id} queued "
	[ "$(o_stats)" = "0 0 0 1" ] || atf_fail "stats after send: $(o_stats)"

	# The device leases it: the message with its lease.
	code=$(o_outbox "${T1}")
	[ "${code}" = 200 ] || atf_fail "outbox answered ${code}"
	[ "$(jq -r '.messages | length' outbox.out)" = 1 ] &&
	[ "$(jq -r '.messages[0] | "\(.id) \(.slot) \(.to) \(.text)"' outbox.out)" = \
	    "${id} 1 +48600100200 Hello from the dashboard" ] &&
	jq -e '.messages[0].leaseUntil | test("^[0-9-]+T[0-9:.]+Z$")' \
	    outbox.out >/dev/null || atf_fail "outbox: $(cat outbox.out)"
	goip_wait_grep c.out "^sms-status [0-9]+ ${id} sending 1 goip-01"
	[ "$(o_field "${id}" status)" = sending ] || atf_fail "not sending"
	# The other device sees nothing.
	[ -z "$(o_lease "${T2}")" ] || atf_fail "goip-02 got goip-01's message"

	o_report "${T1}" "{\"id\":${id},\"status\":\"sent\"}"
	[ "$(jq -c '[.ok, .id, .status, .changed]' status.out)" = \
	    "[true,${id},\"sent\",true]" ] || atf_fail "sent: $(cat status.out)"
	goip_wait_grep c.out "^sms-status [0-9]+ ${id} sent "
	[ "$(o_stats)" = "1 0 0 0" ] || atf_fail "stats after sent: $(o_stats)"

	o_report "${T1}" "{\"id\":${id},\"status\":\"delivered\"}"
	[ "$(jq -c '[.status, .changed]' status.out)" = '["delivered",true]' ] ||
	    atf_fail "delivered: $(cat status.out)"
	goip_wait_grep c.out "^sms-status [0-9]+ ${id} delivered "
	[ "$(o_field "${id}" status)" = delivered ] ||
	    atf_fail "GET /api/sms: $(o_msg "${id}")"
	[ "$(o_stats)" = "1 1 0 0" ] || atf_fail "stats at end: $(o_stats)"
	# The live counters reach the same values.
	goip_wait_grep c.out "^stats-update - 1 1 0 0$"
	# Never offered again once reported.
	[ -z "$(o_lease "${T1}")" ] || atf_fail "offered after delivered"

	sleep 0.5
	o_client_stop c
	o_statuses_are c "${id}" "queued sending sent delivered"
	# Event ids increase.
	awk '$1 == "sms-status" {print $2}' c.out | sort -n -c -u ||
	    atf_fail "event ids out of order: $(cat c.out)"
}
lifecycle__realtime_cleanup()
{
	o_cleanup
}

atf_test_case lease__expiry_reoffer cleanup
lease__expiry_reoffer_head()
{
	atf_set descr "with outbox_lease = 1s a leased, unreported message" \
	    "is offered again once the lease ran out, not before; attempts" \
	    "counts leases; a reported message is never offered again"
	atf_set require.progs "curl jq lighttpd sqlite3"
	atf_set timeout 60
}
lease__expiry_reoffer_body()
{
	local a b t0 got until upd n=1 early=0 i

	o_start 1 "outbox_lease = 1s" "send_attempts = 100"
	a=$(o_queue goip-01 first)
	b=$(o_queue goip-01 second)

	t0=$(date +%s%3N)
	got=$(o_lease "${T1}" | tr '\n' ' ')
	[ "${got}" = "${a} ${b} " ] || atf_fail "first lease: ${got}"
	until=$(o_sql "SELECT lease_until FROM sms WHERE id = ${a}")
	[ $((until - t0)) -ge 900 ] && [ $((until - t0)) -le 2000 ] ||
	    atf_fail "lease of $((until - t0)) ms"
	# b is reported sent; a is not reported.
	o_report "${T1}" "{\"id\":${b},\"status\":\"sent\"}"

	# Poll every 0.2 s for 4 s.  Whenever a is offered again, the server's
	# time of that lease (updated_at) is not before the end of the
	# previous lease; a poll that starts 100 ms after the end of a lease
	# is offered a; b never comes back.  Whatever the machine's load, a
	# poll or more fall inside a lease and get nothing.
	for i in $(seq 1 20); do
		t0=$(date +%s%3N)
		got=" $(o_lease "${T1}" | tr '\n' ' ')"
		case "${got}" in
		*" ${b} "*) atf_fail "b offered again after it was sent" ;;
		esac
		case "${got}" in
		*" ${a} "*)
			n=$((n + 1))
			upd=$(o_sql "SELECT updated_at FROM sms WHERE id = ${a}")
			[ "${upd}" -ge "${until}" ] ||
			    atf_fail "a offered $((until - upd)) ms before its lease ran out"
			until=$(o_sql "SELECT lease_until FROM sms WHERE id = ${a}")
			;;
		*)
			[ "${t0}" -lt $((until + 100)) ] ||
			    atf_fail "a not offered $((t0 - until)) ms after its lease ran out"
			early=$((early + 1))
			;;
		esac
		sleep 0.2
	done
	[ "${n}" -ge 3 ] || atf_fail "a leased only ${n} times in 4 s"
	[ "${early}" -ge 1 ] || atf_fail "no poll fell inside a lease"
	[ "$(o_sql "SELECT attempts, status FROM sms WHERE id = ${a}")" = \
	    "${n}|sending" ] || atf_fail "after ${n} leases: $(o_msg "${a}")"
	[ "$(o_field "${a}" attempts)" = "${n}" ] || atf_fail "GET: $(o_msg "${a}")"

	# A report ends it for good.
	o_report "${T1}" "{\"id\":${a},\"status\":\"sent\"}"
	sleep 1.2
	[ -z "$(o_lease "${T1}")" ] || atf_fail "a sent message was offered again"
	[ "$(o_field "${b}" attempts)" = 1 ] || atf_fail "b: $(o_msg "${b}")"
}
lease__expiry_reoffer_cleanup()
{
	o_cleanup
}

atf_test_case send__idempotent cleanup
send__idempotent_head()
{
	atf_set descr "Idempotency-Key: same key and body give the same" \
	    "message, another body is 422, another operator with the same" \
	    "key gets a new message"
	atf_set require.progs "curl jq lighttpd htpasswd"
	atf_set timeout 60
}
send__idempotent_body()
{
	local body other id code

	o_start 1
	htpasswd -bB "${DIR}/htpasswd" op2 op2-secret 2>/dev/null ||
	    atf_fail "cannot add op2"
	body='{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"Zam\u00f3wienie wys\u0142ane"}'
	other='{"deviceId":"goip-01","slot":1,"to":"+48600100200","text":"another text"}'

	code=$(o_send "${body}" key-1)
	[ "${code}" = 202 ] || atf_fail "first send: ${code} $(cat send.out)"
	id=$(jq -r .id send.out)
	# Not GSM 7-bit: UCS-2, one segment.
	[ "$(jq -r .segments send.out)" = 1 ] || atf_fail "segments: $(cat send.out)"
	grep -qi '^Idempotent-Replayed' send.out.h &&
	    atf_fail "first send marked replayed"

	code=$(o_send "${body}" key-1)
	[ "${code}" = 202 ] || atf_fail "replay: ${code} $(cat send.out)"
	[ "$(jq -r .id send.out)" = "${id}" ] || atf_fail "replay gave another id"
	grep -qi '^Idempotent-Replayed: true' send.out.h ||
	    atf_fail "replay not marked: $(cat send.out.h)"

	code=$(o_send "${other}" key-1)
	[ "${code}" = 422 ] || atf_fail "other body: ${code} $(cat send.out)"
	jq -e '.field == "Idempotency-Key"' send.out >/dev/null ||
	    atf_fail "422 answer: $(cat send.out)"

	code=$(o_send "${body}" key-1 op2:op2-secret)
	[ "${code}" = 202 ] || atf_fail "op2: ${code} $(cat send.out)"
	[ "$(jq -r .id send.out)" != "${id}" ] ||
	    atf_fail "another operator got admin's message"
	grep -qi '^Idempotent-Replayed' send.out.h &&
	    atf_fail "op2's first send marked replayed"
	code=$(o_send "${body}" key-1 op2:op2-secret)
	[ "$(jq -r .id send.out)" = "$((id + 1))" ] || atf_fail "op2 replay"

	# No key: every request is new.
	o_send "${other}" >/dev/null
	o_send "${other}" >/dev/null
	[ "$(o_get '/api/sms?direction=out' | jq length)" = 4 ] ||
	    atf_fail "messages: $(o_get '/api/sms?direction=out')"
	[ "$(o_stats)" = "0 0 0 4" ] || atf_fail "stats: $(o_stats)"

	# Segments: 161 GSM characters are two parts, an extension character
	# counts twice.
	o_send "{\"deviceId\":\"goip-01\",\"slot\":1,\"to\":\"12345\",\"text\":\"$(printf '%0161d' 0)\"}" >/dev/null
	[ "$(jq -r .segments send.out)" = 2 ] || atf_fail "161: $(cat send.out)"
	o_send "{\"deviceId\":\"goip-01\",\"slot\":1,\"to\":\"12345\",\"text\":\"$(printf '%0159d' 0)\u20ac\"}" >/dev/null
	[ "$(jq -r .segments send.out)" = 2 ] || atf_fail "159+euro: $(cat send.out)"
	o_send "{\"deviceId\":\"goip-01\",\"slot\":1,\"to\":\"12345\",\"text\":\"$(printf '%0158d' 0)\u20ac\"}" >/dev/null
	[ "$(jq -r .segments send.out)" = 1 ] || atf_fail "158+euro: $(cat send.out)"
}
send__idempotent_cleanup()
{
	o_cleanup
}

atf_test_case status__monotonic_shuffled cleanup
status__monotonic_shuffled_head()
{
	atf_set descr "reports shuffled and duplicated (delivered, sent, sent," \
	    "delivered ...) end in delivered, never emit a backwards event," \
	    "and repeats answer changed=false"
	atf_set require.progs "node curl jq lighttpd"
	atf_set timeout 60
}
status__monotonic_shuffled_body()
{
	local a b c r

	o_start 1
	o_client c
	a=$(o_queue goip-01 a)
	b=$(o_queue goip-01 b)
	c=$(o_queue goip-01 c)
	[ "$(o_lease "${T1}" | wc -l)" = 3 ] || atf_fail "lease: $(cat outbox.out)"

	# a: one batch, delivered first.
	o_report "${T1}" "{\"reports\":[{\"id\":${a},\"status\":\"delivered\"},\
{\"id\":${a},\"status\":\"sent\"},{\"id\":${a},\"status\":\"sent\"},\
{\"id\":${a},\"status\":\"delivered\"}]}"
	[ "$(jq -c '[.results[] | [.status, .changed]]' status.out)" = \
	    '[["delivered",true],["delivered",false],["delivered",false],["delivered",false]]' ] ||
	    atf_fail "batch: $(cat status.out)"

	# b: single reports, sent twice, delivered, late sent, delivered again.
	for r in sent:true:sent sent:false:sent delivered:true:delivered \
	    sent:false:delivered delivered:false:delivered \
	    failed:false:delivered; do
		o_report "${T1}" "{\"id\":${b},\"status\":\"${r%%:*}\",\"error\":\"x\"}"
		[ "$(jq -r '"\(.changed):\(.status)"' status.out)" = "${r#*:}" ] ||
		    atf_fail "b ${r}: $(cat status.out)"
	done

	# c: shuffled across batches, a duplicated delivered and sent.
	o_report "${T1}" "{\"reports\":[{\"id\":${c},\"status\":\"sent\"},\
{\"id\":${c},\"status\":\"delivered\"},{\"id\":${b},\"status\":\"sent\"}]}"
	o_report "${T1}" "{\"reports\":[{\"id\":${c},\"status\":\"delivered\"},\
{\"id\":${c},\"status\":\"sent\"}]}"
	[ "$(jq -c '[.results[].changed]' status.out)" = '[false,false]' ] ||
	    atf_fail "c repeats: $(cat status.out)"

	for r in "${a}" "${b}" "${c}"; do
		[ "$(o_field "${r}" status)" = delivered ] ||
		    atf_fail "message ${r}: $(o_msg "${r}")"
	done
	[ "$(o_stats)" = "3 3 0 0" ] || atf_fail "stats: $(o_stats)"

	goip_wait_grep c.out "^stats-update - 3 3 0 0$"
	sleep 0.5
	o_client_stop c
	o_statuses_are c "${a}" "queued sending delivered"
	o_statuses_are c "${b}" "queued sending sent delivered"
	o_statuses_are c "${c}" "queued sending sent delivered"
	# An unknown id, or another device's message, is 404.
	code=$(curl -s -m 10 -o status.out -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer ${T2}" -H 'Content-Type: application/json' \
	    --data-binary "{\"id\":${a},\"status\":\"failed\"}" \
	    "${LURL}/api/sms/status")
	[ "${code}" = 404 ] || atf_fail "other device's report: ${code}"
	[ "$(o_field "${a}" status)" = delivered ] || atf_fail "a moved"
}
status__monotonic_shuffled_cleanup()
{
	o_cleanup
}

atf_test_case retry__limit_and_expiry cleanup
retry__limit_and_expiry_head()
{
	atf_set descr "a failed report with leases left re-queues after a" \
	    "back-off; after send_attempts leases the message fails; an" \
	    "unreported message fails after send_attempts leases; a message" \
	    "past expires_at is expired by the sweep with an sms-status event"
	atf_set require.progs "node curl jq lighttpd sqlite3"
	atf_set timeout 90
}
retry__limit_and_expiry_body()
{
	local a b d e now next upd got

	o_start 1 "outbox_lease = 1s" "send_attempts = 2"
	o_client c
	a=$(o_queue goip-01 a)
	b=$(o_queue goip-01 b)
	[ "$(o_lease "${T1}" | tr '\n' ' ')" = "${a} ${b} " ] ||
	    atf_fail "lease: $(cat outbox.out)"

	# a fails with a lease left: back to the queue after 5 s << 1.
	o_report "${T1}" "{\"id\":${a},\"status\":\"failed\",\"error\":\"no credit\"}"
	[ "$(jq -c '[.status, .changed]' status.out)" = '["sending",true]' ] ||
	    atf_fail "first failure: $(cat status.out)"
	[ "$(o_field "${a}" error)" = "no credit" ] || atf_fail "error: $(o_msg "${a}")"
	next=$(o_sql "SELECT next_attempt FROM sms WHERE id = ${a}")
	upd=$(o_sql "SELECT updated_at FROM sms WHERE id = ${a}")
	[ $((next - upd)) = 10000 ] || atf_fail "back-off of $((next - upd)) ms"
	# A repeated failed report changes nothing.
	o_report "${T1}" "{\"id\":${a},\"status\":\"failed\",\"error\":\"no credit\"}"
	[ "$(o_sql "SELECT next_attempt FROM sms WHERE id = ${a}")" = "${next}" ] ||
	    atf_fail "a repeated failed report moved the back-off"
	# Not offered during the back-off, even after the lease would end;
	# b (leased, unreported) comes back behind it.
	sleep 1.2
	got=$(o_lease "${T1}" | tr '\n' ' ')
	[ "${got}" = "${b} " ] || atf_fail "during back-off: '${got}'"
	# Fast-forward the back-off.
	o_sql "UPDATE sms SET next_attempt = $(($(date +%s%3N) - 1)) WHERE id = ${a}"
	got=$(o_lease "${T1}" | tr '\n' ' ')
	[ "${got}" = "${a} " ] || atf_fail "after back-off: '${got}'"
	[ "$(o_field "${a}" attempts)" = 2 ] || atf_fail "attempts: $(o_msg "${a}")"
	# Last lease failed: the message fails.
	o_report "${T1}" "{\"id\":${a},\"status\":\"failed\",\"error\":\"no credit\"}"
	[ "$(jq -c '[.status, .changed]' status.out)" = '["failed",true]' ] ||
	    atf_fail "last failure: $(cat status.out)"

	# b was leased twice without a report: the next poll fails it.
	sleep 1.2
	[ -z "$(o_lease "${T1}")" ] || atf_fail "b offered a third time"
	[ "$(o_field "${b}" status)" = failed ] || atf_fail "b: $(o_msg "${b}")"
	[ "$(o_field "${b}" error)" = "no report after 2 attempts" ] ||
	    atf_fail "b: $(o_msg "${b}")"
	[ "$(o_stats)" = "0 0 2 0" ] || atf_fail "stats: $(o_stats)"

	# Failing messages do not block a new one behind them.
	d=$(o_queue goip-01 d)
	[ "$(o_lease "${T1}")" = "${d}" ] || atf_fail "d: $(cat outbox.out)"
	o_report "${T1}" "{\"id\":${d},\"status\":\"sent\"}"

	# e expires: its expiry is moved into the past and the sweep does it.
	e=$(o_queue goip-01 e)
	o_sql "UPDATE sms SET expires_at = $(($(date +%s%3N) - 1)) WHERE id = ${e}"
	goip_wait_grep c.out "^sms-status [0-9]+ ${e} expired " 5
	[ "$(o_field "${e}" status)" = expired ] || atf_fail "e: $(o_msg "${e}")"
	[ -z "$(o_lease "${T1}")" ] || atf_fail "expired message offered"
	# A late report does not revive it.
	o_report "${T1}" "{\"id\":${e},\"status\":\"sent\"}"
	[ "$(jq -c '[.status, .changed]' status.out)" = '["expired",false]' ] ||
	    atf_fail "late report: $(cat status.out)"
	[ "$(o_stats)" = "1 0 3 0" ] || atf_fail "stats: $(o_stats)"
	goip_wait_grep c.out "^stats-update - 1 0 3 0$"

	sleep 0.5
	o_client_stop c
	o_statuses_are c "${a}" "queued sending sending failed"
	o_statuses_are c "${b}" "queued sending failed"
	o_statuses_are c "${e}" "queued expired"
}
retry__limit_and_expiry_cleanup()
{
	o_cleanup
}

atf_test_case outbox__concurrent_devices cleanup
outbox__concurrent_devices_head()
{
	atf_set descr "two devices polling concurrently (many parallel GET" \
	    "/api/device/outbox through 4 goip-cgi) never receive the same" \
	    "message, and none twice while its lease holds"
	atf_set require.progs "curl jq lighttpd sqlite3"
	atf_set timeout 120
}
outbox__concurrent_devices_body()
{
	local i n=30 dev tok pids=""

	o_start 4
	for i in $(seq 1 "${n}"); do
		o_queue goip-01 "one-${i}" >>want-goip-01
		o_queue goip-02 "two-${i}" >>want-goip-02
	done

	# 16 pollers per device, each polling 4 times for 3 messages.
	for i in $(seq 1 16); do
		for dev in 1 2; do
			eval tok=\${T${dev}}
			(
				for j in 1 2 3 4; do
					o_outbox "${tok}" 3 "poll-${dev}-${i}-${j}.json" \
					    >"poll-${dev}-${i}-${j}.code"
				done
			) &
			pids="${pids} $!"
		done
	done
	for i in ${pids}; do
		wait "${i}"
	done

	for dev in 1 2; do
		for f in poll-${dev}-*.code; do
			[ "$(cat "${f}")" = 200 ] ||
			    atf_fail "${f}: $(cat "${f}") $(cat "${f%.code}.json")"
		done
		cat poll-${dev}-*.json | jq -r '.messages[].id' | sort -n \
		    >got-goip-0${dev}
		[ -z "$(uniq -d got-goip-0${dev})" ] ||
		    atf_fail "goip-0${dev} got twice: $(uniq -d got-goip-0${dev} | head)"
		sort -n want-goip-0${dev} >want.sorted
		cmp -s want.sorted got-goip-0${dev} ||
		    atf_fail "goip-0${dev} got $(wc -l <got-goip-0${dev}) of ${n}"
	done
	[ -z "$(cat got-goip-01 got-goip-02 | sort | uniq -d)" ] ||
	    atf_fail "a message went to both devices"
	# Every message leased once, to its own device.
	[ "$(o_sql "SELECT count(*) FROM sms WHERE status = 'sending' AND attempts = 1")" = \
	    $((2 * n)) ] || atf_fail "$(o_sql 'SELECT id, status, attempts FROM sms')"
	[ -z "$(o_lease "${T1}")" ] && [ -z "$(o_lease "${T2}")" ] ||
	    atf_fail "offered again while leased"
	[ "$(o_stats)" = "0 0 0 $((2 * n))" ] || atf_fail "stats: $(o_stats)"
}
outbox__concurrent_devices_cleanup()
{
	o_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case lifecycle__realtime
	atf_add_test_case lease__expiry_reoffer
	atf_add_test_case send__idempotent
	atf_add_test_case status__monotonic_shuffled
	atf_add_test_case retry__limit_and_expiry
	atf_add_test_case outbox__concurrent_devices
}
