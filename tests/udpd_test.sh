#
# udpd_test: goip-udpd end to end (issue 13). A simulated GoIP
# (tests/goipsim) talks UDP to goip-udpd; lighttpd, goip-cgi and
# goip-notifier serve the dashboard, where the official socket.io-client
# (tests/node/events.cjs) records the events. Keepalive -> heartbeat in
# SQLite and on the dashboard; RECEIVE -> sms-received, once even when
# the acknowledgement is lost; dashboard send -> exactly one SEND per
# number, sent then delivered, also through WAIT; USSD round trip; the
# goipctl line commands; bad packets change nothing.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

GOIP_UDPD="${GOIP_BUILDDIR}/udpd/goip-udpd"
GOIPSIM="${GOIP_BUILDDIR}/tests/goipsim"

# u_sql SQL: one query on the instance's database.
u_sql()
{
	sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" "$1"
}

# u_wait_for FILE PATTERN: wait, up to 15 s, for an extended regular
# expression in FILE.
u_wait_for()
{
	local tries=150

	while [ "${tries}" -gt 0 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	atf_fail "no '$2' in $1: $(tail -n 20 "$1" 2>/dev/null)"
}

# u_snapshot: what a refused packet must not change: events, SMS, the
# lines' addresses.
u_snapshot()
{
	u_sql "SELECT (SELECT count(*) FROM events) || ':' ||
	    (SELECT count(*) FROM sms) || ':' ||
	    (SELECT group_concat(address) FROM goip_lines)"
}

# u_is VALUE SQL: fail unless SQL answers VALUE.
u_is()
{
	local got

	got=$(u_sql "$2")
	[ "${got}" = "$1" ] || atf_fail "$2: '${got}', expected '$1'"
}

# u_wait_sql SQL VALUE: wait, up to 15 s, until SQL answers VALUE.
u_wait_sql()
{
	local tries=150 got

	while [ "${tries}" -gt 0 ]; do
		got=$(u_sql "$1")
		[ "${got}" = "$2" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	atf_fail "$1: '${got}', expected '$2'"
}

# u_start [web]: an instance with device goip-udp-01 and its lines l1
# (slot 1) and l2 (slot 2), passwords in P1 and P2, offline_after
# $U_OFFLINE (default 60s); goip-udpd on a free UDP port (UPORT); the
# simulator of both lines reading DIR/sim.in (fd 7 of the test) and writing
# DIR/sim.out. With "web", also goip-notifier, lighttpd (LURL, CRED) and
# the socket.io client recording into DIR/events.out.
u_start()
{
	local port

	DIR=$(goip_tmpdir)
	echo "${DIR}" >udpd-dir
	goip_instance "${DIR}"
	UPORT=$(goip_free_udp_port)
	{
		echo "goip_listen = 127.0.0.1:${UPORT}"
		echo "offline_after = ${U_OFFLINE:-60s}"
	} >>"${DIR}/goip.conf"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" device add goip-udp-01 >/dev/null ||
	    atf_fail "device add failed"
	P1=$("${GOIP_CTL}" -c "${DIR}/goip.conf" line add goip-udp-01 1 l1 |
	    tail -n 1)
	P2=$("${GOIP_CTL}" -c "${DIR}/goip.conf" line add goip-udp-01 2 l2 |
	    tail -n 1)
	[ -n "${P1}" ] && [ -n "${P2}" ] || atf_fail "line add printed no password"
	if [ "${1:-}" = web ]; then
		CRED=$(goip_credentials "${DIR}")
		goip_notifier_start "${DIR}"
		port=$(goip_free_port)
		goip_lighttpd_start "${DIR}" "${port}"
		LURL="http://127.0.0.1:${port}"
		notifier_node_setup
		AUTH="${CRED}" TIMEOUT=120 node \
		    "${GOIP_SRCDIR}/tests/node/events.cjs" "${LURL}" \
		    "${DIR}/events.out" >"${DIR}/events.log" 2>&1 &
		echo $! >"${DIR}/events.pid"
		touch "${DIR}/events.out"
		u_wait_for "${DIR}/events.out.ready" ready
	fi
	"${GOIP_UDPD}" -d -c "${DIR}/goip.conf" >"${DIR}/udpd.log" 2>&1 &
	echo $! >"${DIR}/udpd.pid"
	goip_wait_ready "$!" "${DIR}/udpd.log" \
	    "goip-udpd: listening on 127.0.0.1:${UPORT}"
	mkfifo "${DIR}/sim.in"
	"${GOIPSIM}" -s "127.0.0.1:${UPORT}" -k 0 -r 500 "l1:${P1}" \
	    "l2:${P2}" <"${DIR}/sim.in" >"${DIR}/sim.out" 2>&1 &
	echo $! >"${DIR}/sim.pid"
	exec 7>"${DIR}/sim.in"
}

# u_sim COMMAND...: one command to the simulator.
u_sim()
{
	echo "$*" >&7
}

# u_cleanup: stop the simulator, goip-udpd, the client and the servers.
u_cleanup()
{
	local d

	[ -f udpd-dir ] || return 0
	d=$(cat udpd-dir)
	goip_kill_pidfile "${d}/sim.pid"
	goip_kill_pidfile "${d}/udpd.pid"
	goip_kill_pidfile "${d}/events.pid"
	goip_cleanup
}

atf_test_case keepalive__heartbeat cleanup
keepalive__heartbeat_head()
{
	atf_set descr "A keepalive is the slot's heartbeat: SQLite, the" \
	    "dashboard's device-heartbeat and device-status-change; a wrong" \
	    "password gets reg 404 and changes nothing"
	atf_set require.progs "node lighttpd sqlite3 jq"
	atf_set timeout 120
}
keepalive__heartbeat_body()
{
	u_start web
	u_sim keepalive 1 signal:20 gsm_status:LOGIN num:+48500100200 \
	    imei:860000000000001 imsi:260010000000001 iccid:8948010000000000001
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'
	u_is "online|65" \
	    "SELECT status, signal FROM devices WHERE device_id =
	    'goip-udp-01'"
	u_is "1|ready|+48500100200|260010000000001|65|home" \
	    "SELECT slot, status, phone_number, imsi, signal, registration
	    FROM sim_slots"
	u_is "1|127.0.0.1|20|860000000000001" \
	    "SELECT online, substr(address, 1, 9), signal, imei FROM
	    goip_lines WHERE line_id = 'l1'"
	u_wait_for "${DIR}/events.out" \
	    '"event":"device-status-change".*"status":"online"'
	u_wait_for "${DIR}/events.out" \
	    '"event":"device-heartbeat".*"phoneNumber":"\+48500100200"'

	# The second line from the same address: both slots, signal 99
	# (unknown) as null, LOGOUT as absent.
	u_sim keepalive 2 signal:99 gsm_status:LOGOUT
	u_wait_for "${DIR}/sim.out" '^reg 2 1 200$'
	u_is "1|ready|65
2|absent|" \
	    "SELECT slot, status, signal FROM sim_slots ORDER BY slot"

	# A wrong password: 404, nothing written.
	before=$(u_sql "SELECT count(*) FROM events")
	u_sim "raw req:7;id:l1;pass:wrong;signal:1;gsm_status:LOGOUT;"
	u_wait_for "${DIR}/sim.out" '^rx 0 reg:7;status:404;$|reg:7;status:404'
	u_is "${before}" \
	    "SELECT count(*) FROM events"
	u_is "20" \
	    "SELECT signal FROM goip_lines WHERE line_id = 'l1'"
}
keepalive__heartbeat_cleanup()
{
	u_cleanup
}

atf_test_case receive__once cleanup
receive__once_head()
{
	atf_set descr "A RECEIVE is stored once with its sms-received event," \
	    "acknowledged after the commit; a lost acknowledgement brings a" \
	    "retransmit that is acknowledged again and stores nothing"
	atf_set require.progs "node lighttpd sqlite3 jq"
	atf_set timeout 120
}
receive__once_body()
{
	u_start web
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'
	u_sim "receive 1 -17 +4477001122 Zażółć; gęślą: jaźń 🚀"
	u_wait_for "${DIR}/sim.out" '^ack 1 -17$'
	u_is "1|+4477001122|Zażółć; gęślą: jaźń 🚀|received" \
	    "SELECT slot, sender, text, status FROM sms WHERE direction =
	    'in'"
	u_wait_for "${DIR}/events.out" \
	    '"event":"sms-received".*"text":"Zażółć; gęślą: jaźń 🚀"'

	# The acknowledgement of the next one is lost: the simulator sends
	# it again, goip-udpd acknowledges again, one row.
	u_sim mode drop 1
	u_sim receive 1 42 +4477001122 twice?
	u_wait_for "${DIR}/sim.out" '^ack 1 42$'
	atf_check -o match:'^drop ' grep '^drop ' "${DIR}/sim.out"
	u_is "1" \
	    "SELECT count(*) FROM sms WHERE text = 'twice?'"

	# Line 2 from the same address, the same recvid: its own message.
	u_sim keepalive 2 signal:5 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 2 1 200$'
	u_sim receive 2 42 +4477001122 twice?
	u_wait_for "${DIR}/sim.out" '^ack 2 42$'
	u_is "1
2" \
	    "SELECT slot FROM sms WHERE text = 'twice?' ORDER BY slot"
	atf_check -o inline:"3\n" -x \
	    "grep -c '\"event\":\"sms-received\"' '${DIR}/events.out' || true"
}
receive__once_cleanup()
{
	u_cleanup
}

# u_send NUMBER TEXT: POST /api/sms/send through lighttpd on slot 1; print
# the message id.
u_send()
{
	local code

	code=$(curl -s -m 10 -u "${CRED}" -o send.out -w '%{http_code}' \
	    -X POST -H 'Content-Type: application/json' --data-binary \
	    "{\"deviceId\":\"goip-udp-01\",\"slot\":1,\"to\":\"$1\",\"text\":\"$2\"}" \
	    "${LURL}/api/sms/send")
	[ "${code}" = 202 ] || atf_fail "send answered ${code}: $(cat send.out)"
	jq -e '.id' send.out || atf_fail "no id in $(cat send.out)"
}

atf_test_case send__exactly_once cleanup
send__exactly_once_head()
{
	atf_set descr "An SMS queued on the dashboard goes out as exactly one" \
	    "SEND, then sent and delivered with their sms-status events;" \
	    "through WAIT and a DELIVER before the OK too; a device ERROR" \
	    "fails it with the error"
	atf_set require.progs "node lighttpd sqlite3 jq curl"
	atf_set timeout 120
}
send__exactly_once_body()
{
	u_start web
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'

	id=$(u_send +48600100200 "first; one")
	u_wait_for "${DIR}/sim.out" "^done 1 ${id}\$"
	atf_check -o inline:"1\n" -x \
	    "grep -c '^send 1 ${id} ${id} +48600100200 first; one\$' '${DIR}/sim.out'"
	u_wait_sql "SELECT status FROM sms WHERE id = ${id}" sent
	u_sim deliver 1 1 0
	u_wait_sql "SELECT status FROM sms WHERE id = ${id}" delivered
	u_wait_for "${DIR}/events.out" \
	    "\"event\":\"sms-status\".*\"id\":${id},.*\"status\":\"delivered\""
	atf_check -o match:'"status":"sending"' grep "\"id\":${id}," \
	    "${DIR}/events.out"
	atf_check -o match:'"status":"sent"' grep "\"id\":${id}," \
	    "${DIR}/events.out"

	# WAIT, then OK; the DELIVER comes before the OK that names it.
	u_sim mode wait 1
	u_sim mode deliver before
	id=$(u_send +48600100201 "second")
	u_wait_for "${DIR}/sim.out" "^done 1 ${id}\$"
	u_wait_sql "SELECT status FROM sms WHERE id = ${id}" delivered
	atf_check -o inline:"1\n" -x \
	    "grep -c '^send 1 ${id} ' '${DIR}/sim.out'"

	# The device refuses: failed with its error, never sent again.
	u_sim mode wait 0
	u_sim mode deliver none
	u_sim mode senderr 3
	id=$(u_send +48600100202 "third")
	u_wait_sql "SELECT status FROM sms WHERE id = ${id}" failed
	u_sql "SELECT error FROM sms WHERE id = ${id}" | grep -q 'errorstatus:3' ||
	    atf_fail "error: $(u_sql "SELECT error FROM sms WHERE id = ${id}")"
	atf_check -o inline:"1\n" -x \
	    "grep -c '^send 1 ${id} ' '${DIR}/sim.out'"
	atf_check -s exit:1 -o empty -x "grep '^error' '${DIR}/sim.out'"
}
send__exactly_once_cleanup()
{
	u_cleanup
}

atf_test_case ussd__roundtrip cleanup
ussd__roundtrip_head()
{
	atf_set descr "USSD from the API and from goipctl: the device's" \
	    "reply, padding stripped, as a ussd-reply event, in GET" \
	    "/api/devices/{id} and on goipctl's output; bad codes refused"
	atf_set require.progs "node lighttpd sqlite3 jq curl"
	atf_set timeout 120
}
ussd__roundtrip_body()
{
	u_start web
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'
	u_sim "mode ussd Saldo 5,00 PLN; ważne do 2027-01-01"
	atf_check -o inline:"202\n" curl -s -m 10 -u "${CRED}" -o ussd.out \
	    -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
	    --data-binary '{"slot":1,"code":"*101#"}' \
	    "${LURL}/api/devices/goip-udp-01/ussd"
	atf_check -o inline:"queued\n" jq -r .status ussd.out
	u_wait_for "${DIR}/events.out" \
	    '"event":"ussd-reply".*"reply":"Saldo 5,00 PLN; ważne do 2027-01-01"'
	atf_check -o inline:"*101#\n" -x \
	    "sed -n 's/^ussd 1 [0-9-]* //p' '${DIR}/sim.out'"
	curl -s -m 10 -u "${CRED}" "${LURL}/api/devices/goip-udp-01" >dev.out
	atf_check -o inline:"replied|Saldo 5,00 PLN; ważne do 2027-01-01\n" \
	    jq -r '.ussd[0] | "\(.status)|\(.reply)"' dev.out
	atf_check -o inline:"l1\n" jq -r '.goipLines[0].lineId' dev.out

	atf_check -o inline:"Saldo 5,00 PLN; ważne do 2027-01-01\n" \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" ussd -t 30 goip-udp-01 1 '*100#'

	# Refused before anything is queued.
	n=$(u_sql "SELECT count(*) FROM goip_ussd")
	for body in '{"slot":1,"code":"*100#;reboot"}' '{"slot":1,"code":""}' \
	    '{"slot":1,"code":"*100# 1"}' '{"code":"*100#"}' \
	    '{"slot":1,"code":"123456789012345678901234567890123"}'; do
		atf_check -o inline:"400\n" curl -s -m 10 -u "${CRED}" \
		    -o /dev/null -w '%{http_code}\n' -X POST \
		    -H 'Content-Type: application/json' --data-binary "${body}" \
		    "${LURL}/api/devices/goip-udp-01/ussd"
	done
	atf_check -o inline:"404\n" curl -s -m 10 -u "${CRED}" -o /dev/null \
	    -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
	    --data-binary '{"slot":3,"code":"*100#"}' \
	    "${LURL}/api/devices/goip-udp-01/ussd"
	atf_check -o inline:"401\n" curl -s -m 10 -o /dev/null \
	    -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
	    --data-binary '{"slot":1,"code":"*100#"}' \
	    "${LURL}/api/devices/goip-udp-01/ussd"
	atf_check -s exit:2 -e match:'invalid USSD code' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" ussd goip-udp-01 1 '*1;#'
	atf_check -s exit:1 -e match:'no such device' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" ussd nosuch 1 '*100#'
	u_is "${n}" \
	    "SELECT count(*) FROM goip_ussd"
}
ussd__roundtrip_cleanup()
{
	u_cleanup
}

atf_test_case line__commands cleanup
line__commands_head()
{
	atf_set descr "goipctl line add, list, password, remove: the password" \
	    "alone on the last line, usage errors exit 2, unknown device or" \
	    "line exit 1"
	atf_set require.progs "sqlite3"
}
line__commands_body()
{
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	c="${GOIP_CTL} -c ${DIR}/goip.conf"
	atf_check -o ignore ${c} device add gw1
	atf_check -o save:add.out ${c} line add gw1 1 gw1-a
	pw=$(tail -n 1 add.out)
	u_is "${pw}" \
	    "SELECT password FROM goip_lines WHERE line_id = 'gw1-a'"
	atf_check -x "tail -n 1 add.out | grep -Eq '^[A-Za-z0-9]{16}\$'"
	atf_check -s exit:1 -e match:'already taken' ${c} line add gw1 1 gw1-b
	atf_check -s exit:1 -e match:'already taken' ${c} line add gw1 2 gw1-a
	atf_check -s exit:1 -e match:'no such device' ${c} line add gw2 1 x
	atf_check -s exit:2 -e match:'invalid slot' ${c} line add gw1 0 x
	atf_check -s exit:2 -e match:'invalid line id' ${c} line add gw1 2 'a;b'
	atf_check -s exit:2 -e match:'usage' ${c} line add gw1 2
	atf_check -s exit:2 -e match:'usage' ${c} line frob
	atf_check -o match:'gw1 +1 +gw1-a +offline +never' ${c} line list
	atf_check -o match:'gw1-a' ${c} line list gw1
	atf_check -s exit:1 -e match:'no such device' ${c} line list gw9
	atf_check -o save:pw.out ${c} line password gw1-a
	atf_check -s exit:1 -x "[ \"$(tail -n 1 pw.out)\" = \"${pw}\" ]"
	u_is "$(tail -n 1 pw.out)" \
	    "SELECT password FROM goip_lines WHERE line_id = 'gw1-a'"
	atf_check -s exit:1 -e match:'no such line' ${c} line password nosuch
	atf_check ${c} line remove gw1-a
	atf_check -s exit:1 -e match:'no such line' ${c} line remove gw1-a
	u_is "0" \
	    "SELECT count(*) FROM goip_lines"
}
line__commands_cleanup()
{
	goip_cleanup
}

atf_test_case bad__packets cleanup
bad__packets_head()
{
	atf_set descr "Malformed, oversized and unknown packets and reports" \
	    "of unknown lines change nothing and get no answer; reg 404" \
	    "goes only to a known line's address"
	atf_set require.progs "sqlite3 python3"
	atf_set timeout 60
}
bad__packets_body()
{
	u_start
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'
	before=$(u_snapshot)
	# From another socket: each must stay unanswered, a keepalive of an
	# unknown line too (a 404 goes only to a known line's address).
	cat >probe.py <<EOF
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
dst = ("127.0.0.1", ${UPORT})
bad = [b"", b"x" * 5000, b"\x00\x01\x02",
       b"RECEIVE:1;id:l1;password:wrong;srcnum:1;msg:x",
       b"RECEIVE:1;id:nosuch;password:x;srcnum:1;msg:x",
       b"OK 1 1 1", b"PASSWORD 1", b"HELLO world",
       b"DELIVER:1;id:l1;password:wrong;sms_no:1;state:0",
       b"STATE:1;id:l1;state:x", b"req:1;pass:x", b"req:x;id:l1;pass:x;",
       b"req:1;id:l1;pass:${P1};signal:1;num:a\x01b;",
       b"RECEIVE:5;id:l1;password:${P1};srcnum:+1;msg:\xff\xfe",
       b"req:3;id:nosuch;pass:x;"]
for b in bad:
    s.sendto(b, dst)
    try:
        print("answered", b[:40], s.recvfrom(2048))
        sys.exit(1)
    except socket.timeout:
        pass
print("silent")
EOF
	atf_check -o inline:"silent\n" python3 probe.py
	# From the simulator's address, known as line 1's: the 404 comes, and
	# proves goip-udpd read everything before it.
	u_sim "raw req:9;id:nosuch;pass:x;"
	u_wait_for "${DIR}/sim.out" 'reg:9;status:404;'
	after=$(u_snapshot)
	atf_check_equal "${before}" "${after}"
	atf_check -o match:'dropped' cat "${DIR}/udpd.log"
	atf_check -s exit:1 -o empty grep -F "${P1}" "${DIR}/udpd.log"
}
bad__packets_cleanup()
{
	u_cleanup
}

atf_test_case restart__no_resend cleanup
restart__no_resend_head()
{
	atf_set descr "An SMS and a USSD in flight when goip-udpd stops are" \
	    "never sent again: the SMS fails with its fate unknown, the USSD" \
	    "fails with a ussd-reply"
	atf_set require.progs "sqlite3"
	atf_set timeout 120
}
restart__no_resend_body()
{
	u_start
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 1 200$'
	# The device hears nothing from now on: sessions stay open.
	u_sim mode drop 1000
	c="${GOIP_CTL} -c ${DIR}/goip.conf"
	atf_check -o save:sms.json ${c} sms send goip-udp-01 1 +48600100200 lost
	id=$(jq -r .id sms.json)
	atf_check -s exit:1 -e match:'no reply within 1 s' \
	    ${c} ussd -t 1 goip-udp-01 1 '*100#'
	u_wait_for "${DIR}/sim.out" "^drop MSG ${id} "
	u_wait_for "${DIR}/sim.out" '^drop USSD '
	u_wait_sql "SELECT status FROM goip_ussd" sent
	u_is "sending" \
	    "SELECT status FROM sms WHERE id = ${id}"

	goip_kill_pidfile "${DIR}/udpd.pid"
	mv "${DIR}/udpd.log" "${DIR}/udpd.log.1"
	"${GOIP_UDPD}" -d -c "${DIR}/goip.conf" >"${DIR}/udpd.log" 2>&1 &
	echo $! >"${DIR}/udpd.pid"
	goip_wait_ready "$!" "${DIR}/udpd.log" \
	    "goip-udpd: listening on 127.0.0.1:${UPORT}"
	got=$(u_sql "SELECT status, error FROM sms WHERE id = ${id}")
	[ "${got}" = "failed|fate unknown: goip-udpd stopped during the send" ] ||
	    atf_fail "SMS ${id}: ${got}; sends: $(u_sql "SELECT * FROM \
goip_sends"); goip-udpd: $(cat "${DIR}/udpd.log" "${DIR}/udpd.log.1" \
	    2>/dev/null)"
	u_sql "SELECT status || '|' || error FROM goip_ussd" |
	    grep -q '^failed|goip-udpd restarted' ||
	    atf_fail "USSD: $(u_sql "SELECT status, error FROM goip_ussd")"
	u_sql "SELECT payload FROM events WHERE type = 'ussd-reply'" |
	    grep -q '"status":"failed"' || atf_fail "no ussd-reply event"

	# The device hears again: a keepalive is answered (the line is known
	# again), and neither the SMS nor the USSD came a second time.
	u_sim mode drop 0
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 1 2 200$'
	atf_check -o inline:"1\n" -x "grep -c '^drop MSG ${id} ' '${DIR}/sim.out'"
	atf_check -o inline:"1\n" -x "grep -c '^drop USSD ' '${DIR}/sim.out'"
	atf_check -s exit:1 -o empty grep -E '^(send|ussd) ' "${DIR}/sim.out"
}
restart__no_resend_cleanup()
{
	u_cleanup
}

atf_test_case line__offline cleanup
line__offline_head()
{
	atf_set descr "A line silent for offline_after goes offline: its slot" \
	    "shows error in a device-heartbeat event while the device's other" \
	    "line keeps it online"
	atf_set require.progs "sqlite3"
	atf_set timeout 120
}
line__offline_body()
{
	local tries=60

	U_OFFLINE=2s u_start
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_sim keepalive 2 signal:25 gsm_status:LOGIN
	u_wait_for "${DIR}/sim.out" '^reg 2 1 200$'
	u_is "1|ready
2|ready" \
	    "SELECT slot, status FROM sim_slots ORDER BY slot"
	before=$(u_sql "SELECT max(id) FROM events")
	# Line 2 keeps talking, line 1 falls silent.
	while [ "$(u_sql "SELECT online FROM goip_lines
	    WHERE line_id = 'l1'")" != 0 ]; do
		tries=$((tries - 1))
		[ "${tries}" -gt 0 ] || atf_fail "line l1 never went offline"
		u_sim keepalive 2 signal:25 gsm_status:LOGIN
		sleep 0.5
	done
	u_is "1|error||none
2|ready|81|home" \
	    "SELECT slot, status, signal, registration FROM sim_slots ORDER
	    BY slot"
	u_is "1" \
	    "SELECT online FROM goip_lines WHERE line_id = 'l2'"
	u_is "online" \
	    "SELECT status FROM devices"
	u_sql "SELECT payload FROM events WHERE id > ${before} AND
	    type = 'device-heartbeat' ORDER BY id DESC LIMIT 1" |
	    grep -q '"slot":1,"status":"error"' ||
	    atf_fail "no device-heartbeat with slot 1 in error"
	# It comes back with its next keepalive.
	u_sim keepalive 1 signal:20 gsm_status:LOGIN
	u_wait_sql "SELECT online || status FROM goip_lines l JOIN sim_slots s
	    ON s.device = l.device AND s.slot = l.slot WHERE line_id = 'l1'" \
	    1ready
}
line__offline_cleanup()
{
	u_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case keepalive__heartbeat
	atf_add_test_case receive__once
	atf_add_test_case send__exactly_once
	atf_add_test_case ussd__roundtrip
	atf_add_test_case line__commands
	atf_add_test_case bad__packets
	atf_add_test_case restart__no_resend
	atf_add_test_case line__offline
}
