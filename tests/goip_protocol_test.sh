#
# goip_protocol_test: goip-udpd against the GoIP simulator (tests/goipsim)
# on the edge cases of the GoIP UDP protocol (issue 13): lost acks and
# retransmitted RECEIVEs, negative recvids, a reboot that reuses them,
# several lines on one address, WAIT before OK, OK with three and four
# tokens, DELIVER before and after OK, send errors, and bad packets from the
# line's own address and from a foreign one.  Each case asserts both what
# SQLite holds and what the simulator saw.
#
# The simulator is driven through a fifo (commands on its stdin, events on
# its stdout, one a line: see tests/goipsim.c).  A case never waits for a
# time: it waits for an event line, or for the answer to a "barrier", a
# RECEIVE already stored sent again, whose ack comes after goip-udpd has
# handled every datagram sent before it (one socket, handled in order), so
# that "no answer" and "nothing changed" are checked at a known point.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

GOIPSIM="${GOIP_BUILDDIR}/tests/goipsim"
GOIP_UDPD="${GOIP_BUILDDIR}/udpd/goip-udpd"

# q SQL: the answer of SQL on the instance's database.
q()
{
	sqlite3 -batch "${DIR}/goip.db" "$1" ||
	    atf_fail "sqlite3 failed on: $1"
}

# p_start: an instance (DIR) with device goip-p1 and its lines p1l1 (slot 1,
# password PW1) and p1l2 (slot 2, PW2) made by goipctl, and goip-udpd
# listening on UDPPORT of 127.0.0.1.
p_start()
{
	[ -x "${GOIPSIM}" ] || atf_fail "${GOIPSIM} not built"
	[ -x "${GOIP_UDPD}" ] || atf_fail "${GOIP_UDPD} not built"
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	UDPPORT=$(goip_free_udp_port)
	echo "goip_listen = 127.0.0.1:${UDPPORT}" >>"${DIR}/goip.conf"
	goip_device_add "${DIR}" goip-p1 >/dev/null
	PW1=$("${GOIP_CTL}" -c "${DIR}/goip.conf" line add goip-p1 1 p1l1 |
	    tail -n 1)
	PW2=$("${GOIP_CTL}" -c "${DIR}/goip.conf" line add goip-p1 2 p1l2 |
	    tail -n 1)
	[ -n "${PW1}" ] && [ -n "${PW2}" ] && [ "${PW1}" != "${PW2}" ] ||
	    atf_fail "goipctl line add printed no passwords"
	: >"${DIR}/udpd.log"
	"${GOIP_UDPD}" -d -c "${DIR}/goip.conf" >>"${DIR}/udpd.log" 2>&1 &
	echo $! >"${DIR}/udpd.pid"
	goip_wait_ready "$!" "${DIR}/udpd.log" "goip-udpd: listening on"
}

# p_sim NAME FD [OPTIONS] LINE...: start a goipsim called NAME on a fifo,
# its commands written through file descriptor FD (3 to 9), its events in
# NAME.out; no periodic keepalives, retransmits every 300 ms.
p_sim()
{
	local name="$1" fd="$2"

	shift 2
	rm -f "${name}.in"
	mkfifo "${name}.in" || atf_fail "mkfifo failed"
	"${GOIPSIM}" -s "127.0.0.1:${UDPPORT}" -k 0 -r 300 "$@" \
	    <"${name}.in" >"${name}.out" 2>"${name}.err" &
	echo $! >>"${DIR}/sim.pid"
	eval "SIMPID_${name}=$!"
	eval "exec ${fd}>${name}.in"
	eval "SIMFD_${name}=${fd}"
}

# p_cmd NAME COMMAND...: one command to simulator NAME.
p_cmd()
{
	local fd

	eval "fd=\${SIMFD_$1}"
	shift
	echo "$*" >&"${fd}"
}

# p_wait NAME REGEX [COUNT]: wait until NAME.out holds COUNT (default 1)
# lines matching the extended REGEX (anchored at both ends); fail with the
# simulator's last lines after 20 s, or at once if it exited.
p_wait()
{
	local name="$1" re="$2" count="${3:-1}" pid end=$((SECONDS + 20))

	eval "pid=\${SIMPID_${name}}"
	while [ "$(grep -c -E "^${re}\$" "${name}.out")" -lt "${count}" ]; do
		if [ "${SECONDS}" -ge "${end}" ] || ! goip_pid_alive "${pid}"; then
			atf_fail "${name}: no ${count} x '${re}' in:" \
			    "$(tail -n 20 "${name}.out" "${name}.err" |
			    tr '\n' '|'); udpd: $(tail -n 5 "${DIR}/udpd.log" |
			    tr '\n' '|')"
		fi
		sleep 0.1
	done
}

# p_count NAME REGEX: how many lines of NAME.out match REGEX (anchored).
p_count()
{
	grep -c -E "^$2\$" "$1.out"
}

# p_register NAME LINE...: a keepalive from each LINE of simulator NAME,
# each answered with status 200.
p_register()
{
	local name="$1" l

	shift
	for l in "$@"; do
		p_cmd "${name}" keepalive "${l}"
		p_wait "${name}" "reg ${l} [0-9]+ 200"
	done
}

# p_barrier NAME LINE: send LINE's RECEIVE 900 and wait for its ack.  The
# first one stores an SMS "barrier"; the next ones are retransmits, acked
# and stored no more.  Once acked, goip-udpd has handled every datagram
# that reached it before.
p_barrier()
{
	local n

	n=$(($(p_count "$1" "ack $2 900") + 1))
	p_cmd "$1" receive "$2" 900 +48700000900 barrier
	p_wait "$1" "ack $2 900" "${n}"
}

# p_echo NAME WORD: wait until simulator NAME has sent everything it was
# told before and handled every datagram it had received.
p_echo()
{
	p_cmd "$1" echo "$2"
	p_wait "$1" "echo $2"
}

# p_snapshot: what a bad packet must not change: the SMS rows, the number of
# events and line p1l1's row.
p_snapshot()
{
	q "SELECT * FROM sms ORDER BY id;"
	q "SELECT count(*) FROM events;"
	q "SELECT * FROM goip_lines;" | grep -F "p1l1"
}

# p_queue TEXT [TO]: queue an SMS to TO (default +48600100200) through
# goip-p1 slot 1 with goipctl; print its id.
p_queue()
{
	"${GOIP_CTL}" -c "${DIR}/goip.conf" sms send goip-p1 1 \
	    "${2:-+48600100200}" "$1" >queue.out 2>&1 ||
	    atf_fail "goipctl sms send failed: $(cat queue.out)"
	jq -e .id queue.out || atf_fail "no id in $(cat queue.out)"
}

# p_status_wait ID STATUS: wait until outbound SMS ID has STATUS in SQLite.
p_status_wait()
{
	local tries=300 s

	while s=$(q "SELECT status FROM sms WHERE id = $1;") &&
	    [ "${s}" != "$2" ]; do
		tries=$((tries - 1))
		[ "${tries}" -gt 0 ] ||
		    atf_fail "SMS $1 is ${s}, not $2; udpd: $(tail -n 5 "${DIR}/udpd.log")"
		sleep 0.1
	done
}

# p_no_errors NAME: the simulator saw no protocol violation.
p_no_errors()
{
	if grep '^error ' "$1.out"; then
		atf_fail "$1 saw protocol errors"
	fi
}

p_cleanup()
{
	local d

	if [ -f goip-tmpdirs ]; then
		while read -r d; do
			goip_kill_pidfile "${d}/sim.pid"
			goip_kill_pidfile "${d}/udpd.pid"
		done <goip-tmpdirs
	fi
	goip_cleanup
}

atf_test_case receive__lost_acks_stored_once cleanup
receive__lost_acks_stored_once_head()
{
	atf_set descr "A RECEIVE whose first three acks are lost is sent" \
	    "four times, acked, and stored once, byte-exact"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
receive__lost_acks_stored_once_body()
{
	local text='Zażółć; id:p1l2;password:x; msg:ok 🚀'

	p_start
	p_sim a 3 "p1l1:${PW1}" "p1l2:${PW2}"
	p_register a 1 2
	p_cmd a mode drop 3
	p_cmd a receive 1 1001 +48700000001 "${text}"
	p_wait a "ack 1 1001"
	atf_check_equal 3 "$(p_count a 'drop RECEIVE 1001 OK')"
	atf_check_equal "1|in|${text}|+48700000001" \
	    "$(q "SELECT slot, direction, text, sender FROM sms;")"
	p_no_errors a
}
receive__lost_acks_stored_once_cleanup()
{
	p_cleanup
}

atf_test_case receive__negative_recvid cleanup
receive__negative_recvid_head()
{
	atf_set descr "Negative recvids (a GoIP without NTP) are acked and" \
	    "deduplicated like positive ones"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
receive__negative_recvid_body()
{
	p_start
	p_sim a 3 "p1l1:${PW1}"
	p_register a 1
	p_cmd a receive 1 -5 +48700000002 negative
	p_wait a "ack 1 -5"
	p_cmd a mode drop 1
	p_cmd a receive 1 -6 +48700000002 "negative too"
	p_wait a "ack 1 -6"
	# The same RECEIVE sent again (the device lost our ack): acked, not
	# stored again.
	p_cmd a receive 1 -5 +48700000002 negative
	p_wait a "ack 1 -5" 2
	atf_check_equal "$(printf 'negative\nnegative too')" \
	    "$(q "SELECT text FROM sms ORDER BY id;")"
	p_no_errors a
}
receive__negative_recvid_cleanup()
{
	p_cleanup
}

atf_test_case receive__reboot_reuses_recvid cleanup
receive__reboot_reuses_recvid_head()
{
	atf_set descr "After a reboot (req: back to 1) a RECEIVE that reuses" \
	    "a recvid within the dedupe window is acked and not stored twice"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
receive__reboot_reuses_recvid_body()
{
	p_start
	p_sim a 3 "p1l1:${PW1}"
	p_register a 1
	p_cmd a keepalive 1
	p_wait a "reg 1 2 200"
	p_cmd a receive 1 7 +48700000003 "before reboot"
	p_wait a "ack 1 7"
	p_cmd a reboot 1
	p_cmd a keepalive 1
	p_wait a "reg 1 1 200" 2
	p_cmd a receive 1 7 +48700000003 "before reboot"
	p_wait a "ack 1 7" 2
	atf_check_equal 1 "$(q "SELECT count(*) FROM sms;")"
	p_no_errors a
}
receive__reboot_reuses_recvid_cleanup()
{
	p_cleanup
}

atf_test_case lines__share_one_address cleanup
lines__share_one_address_head()
{
	atf_set descr "Lines sending from one address each get their own" \
	    "answers; each SMS lands on its slot; an unknown id's is not stored"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
lines__share_one_address_body()
{
	p_start
	p_sim a 3 "p1l1:${PW1}" "p1l2:${PW2}" "nosuch:${PW1}"
	p_register a 1 2
	p_cmd a receive 1 11 +48700000011 "to slot one"
	p_cmd a receive 2 12 +48700000012 "to slot two"
	p_cmd a receive 3 13 +48700000013 "from nobody"
	p_wait a "ack 1 11"
	p_wait a "ack 2 12"
	# The unknown line's RECEIVE was handled before line 2's barrier.
	p_barrier a 2
	atf_check_equal 0 "$(p_count a 'ack 3 13')"
	atf_check_equal "$(printf '%s\n' '1|+48700000011|to slot one' \
	    '2|+48700000012|to slot two' '2|+48700000900|barrier')" \
	    "$(q "SELECT slot, sender, text FROM sms ORDER BY id;")"
	# Both lines' SIM slots took the keepalives as heartbeats.
	atf_check_equal 2 "$(q "SELECT count(*) FROM sim_slots;")"
}
lines__share_one_address_cleanup()
{
	p_cleanup
}

atf_test_case keepalive__unknown_id_404 cleanup
keepalive__unknown_id_404_head()
{
	atf_set descr "A keepalive with an unknown id or a wrong password," \
	    "from the address of a known line, is answered status 404"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
keepalive__unknown_id_404_body()
{
	p_start
	p_sim a 3 "p1l1:${PW1}" "nosuch:${PW1}" "p1l1:wrong"
	p_register a 1
	p_cmd a keepalive 2
	p_wait a "reg 2 1 404"
	p_cmd a keepalive 3
	p_wait a "reg 3 1 404"
}
keepalive__unknown_id_404_cleanup()
{
	p_cleanup
}

atf_test_case bad__keepalive_foreign_no_answer cleanup
bad__keepalive_foreign_no_answer_head()
{
	atf_set descr "A keepalive with a wrong password or an unknown id" \
	    "from an address that is no line's latest source changes nothing" \
	    "and is not answered (not even 404)"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
bad__keepalive_foreign_no_answer_body()
{
	local before

	p_start
	p_sim a 3 "p1l1:${PW1}" "p1l2:${PW2}"
	p_register a 1 2
	p_barrier a 2
	p_sim b 4 -a 127.0.0.2 "p1l1:wrong" "nosuch:${PW1}"
	before=$(p_snapshot)
	p_cmd b keepalive 1
	p_cmd b keepalive 2
	p_echo b sent
	p_barrier a 2
	atf_check_equal "${before}" "$(p_snapshot)"
	p_echo b end
	atf_check -o inline:"echo sent\necho end\n" cat b.out
}
bad__keepalive_foreign_no_answer_cleanup()
{
	p_cleanup
}

atf_test_case report__call_state_and_hangup cleanup
report__call_state_and_hangup_head()
{
	atf_set descr "Call and status reports as captured from a GoIP" \
	    "(RECORD, HANGUP, REMAIN, EXPIRY, CELLS, STATE) are each" \
	    "acknowledged TYPE n OK; the hang-up cause and the call state" \
	    "(gsm_remain_state) are kept on the line"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
report__call_state_and_hangup_body()
{
	local t n

	p_start
	p_sim a 3 "p1l1:${PW1}"
	p_register a 1
	# The packets of dbltek-goip-agent's notify_test.go, on line p1l1.
	for t in \
	    "RECORD:1571812801;dir:1;num:1380013800" \
	    "HANGUP:1571812814;num:,cause:Normal call clearing" \
	    "REMAIN:7568;gsm_remain_time:-1" \
	    "EXPIRY:1571812871;exp:0" \
	    "CELLS:34347;lists:689,638,783,785,640," \
	    "STATE:1571812793;gsm_remain_state:INCOMING:1380013800"; do
		n=${t%%;*}
		p_cmd a raw "${n};id:p1l1;password:${PW1};${t#*;}"
		p_wait a "rx 0 ${n%%:*} ${n#*:} OK"
	done
	atf_check_equal "Normal call clearing" \
	    "$(q "SELECT hangup_cause FROM goip_lines WHERE line_id = 'p1l1';")"
	atf_check_equal "INCOMING:1380013800" \
	    "$(q "SELECT call_state FROM goip_lines WHERE line_id = 'p1l1';")"
	p_no_errors a
}
report__call_state_and_hangup_cleanup()
{
	p_cleanup
}

# p_send_case MODE... : queue one SMS to line 1 of simulator a with the
# given "mode" commands set; wait for the session's DONE.  Sets ID.
p_send_case()
{
	local m

	p_start
	p_sim a 3 -w 300 "p1l1:${PW1}" "p1l2:${PW2}"
	p_register a 1 2
	for m in "$@"; do
		p_cmd a mode ${m}
	done
	ID=$(p_queue "Hello; there: 1")
	p_wait a "done 1 [0-9-]+"
}

atf_test_case send__wait_and_lost_packet_one_send cleanup
send__wait_and_lost_packet_one_send_head()
{
	atf_set descr "With the first server datagram lost and WAIT held 6 s" \
	    "before OK (beyond the 5 s resend), the SIM sends exactly one SMS"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 90
}
send__wait_and_lost_packet_one_send_body()
{
	p_send_case "drop 1" "wait 1" "waitms 6000"
	atf_check_equal 1 "$(p_count a 'drop .*')"
	atf_check_equal 1 \
	    "$(p_count a 'send 1 [0-9-]+ [0-9-]+ \+48600100200 Hello; there: 1')"
	atf_check_equal 1 "$(p_count a 'send .*')"
	p_status_wait "${ID}" sent
	p_no_errors a
}
send__wait_and_lost_packet_one_send_cleanup()
{
	p_cleanup
}

atf_test_case send__ok_three_tokens cleanup
send__ok_three_tokens_head()
{
	atf_set descr "An OK of old firmware (OK sendid telid, no sms_no)" \
	    "marks the SMS sent"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
send__ok_three_tokens_body()
{
	p_send_case "oktokens 3"
	atf_check_equal 1 "$(p_count a 'send .*')"
	p_status_wait "${ID}" sent
	p_no_errors a
}
send__ok_three_tokens_cleanup()
{
	p_cleanup
}

atf_test_case send__deliver_after_ok cleanup
send__deliver_after_ok_head()
{
	atf_set descr "OK with sms_no, then DELIVER state 0: sent, then" \
	    "delivered; the DELIVER is acknowledged"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
send__deliver_after_ok_body()
{
	p_send_case "deliver after"
	p_wait a "rx 1 DELIVER [0-9]+ OK"
	p_status_wait "${ID}" delivered
	atf_check_equal 1 "$(p_count a 'send .*')"
	p_no_errors a
}
send__deliver_after_ok_cleanup()
{
	p_cleanup
}

atf_test_case send__deliver_before_ok cleanup
send__deliver_before_ok_head()
{
	atf_set descr "A DELIVER that arrives before the OK carrying its" \
	    "sms_no is kept and matched: the SMS ends delivered"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
send__deliver_before_ok_body()
{
	p_send_case "deliver before"
	p_wait a "rx 1 DELIVER [0-9]+ OK"
	p_status_wait "${ID}" delivered
	atf_check_equal 1 "$(p_count a 'send .*')"
	p_no_errors a
}
send__deliver_before_ok_cleanup()
{
	p_cleanup
}

atf_test_case send__device_error cleanup
send__device_error_head()
{
	atf_set descr "ERROR sendid telid errorstatus:N fails the SMS with" \
	    "the device's error, after exactly one SEND"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 60
}
send__device_error_body()
{
	p_send_case "senderr 38"
	p_status_wait "${ID}" failed
	q "SELECT error FROM sms WHERE id = ${ID};" | grep -q 38 ||
	    atf_fail "error of SMS ${ID} does not name 38"
	atf_check_equal 1 "$(p_count a 'send .*')"
	p_no_errors a
}
send__device_error_cleanup()
{
	p_cleanup
}

atf_test_case bad__packets_change_nothing cleanup
bad__packets_change_nothing_head()
{
	atf_set descr "Garbage, oversized, wrong-password, unknown-id and" \
	    "unknown-TYPE packets change nothing in SQLite, get no answer" \
	    "from a foreign address, and do not move a line's address"
	atf_set require.progs "sqlite3 jq ss"
	atf_set timeout 90
}
bad__packets_change_nothing_body()
{
	local big before pkt

	p_start
	p_sim a 3 "p1l1:${PW1}" "p1l2:${PW2}"
	p_register a 1 2
	p_barrier a 2
	# A second "device" on 127.0.0.2 that knows no password.
	p_sim b 4 -a 127.0.0.2 "p1l1:wrong"
	before=$(p_snapshot)

	big=$(head -c 3001 /dev/zero | tr '\0' x)
	for pkt in \
	    "hello" \
	    "" \
	    ";;;:::" \
	    "RECEIVE" \
	    "RECEIVE:" \
	    "RECEIVE:abc;id:p1l1;password:${PW1};srcnum:+1;msg:bad recvid" \
	    "RECEIVE:31;id:p1l1;password:wrong;srcnum:+1;msg:bad password" \
	    "RECEIVE:32;id:p1l1;srcnum:+1;msg:no password" \
	    "RECEIVE:33;id:nosuch;password:${PW1};srcnum:+1;msg:unknown id" \
	    "RECEIVE:34;id:p1l1;password:${PW1};srcnum:+1;msg:${big}" \
	    "DELIVER:35;id:p1l1;password:wrong;sms_no:1;state:0" \
	    "FOO:36;id:p1l1;password:wrong" \
	    "MSG 1 5 hello" \
	    "PASSWORD 1 ${PW1}" \
	    "SEND 1 1 +48600100200" \
	    "OK 1 1 1" \
	    "DONE 1"; do
		p_cmd a raw "${pkt}"
		p_cmd b raw "${pkt}"
	done
	p_echo b sent
	# Valid credentials but unknown TYPE, and an oversized RECEIVE, from
	# the line's own address: nothing stored either.
	p_cmd a raw "FOO:37;id:p1l1;password:${PW1}"
	p_cmd a raw "RECEIVE:38;id:p1l1;password:${PW1};srcnum:+1;msg:${big}"
	p_barrier a 2
	atf_check_equal "${before}" "$(p_snapshot)"
	# Nothing came to the foreign address.
	p_echo b end
	atf_check -o inline:"echo sent\necho end\n" cat b.out
	atf_check_equal 0 "$(p_count a 'ack 1 3[0-9]')"
	atf_check_equal 0 "$(p_count a 'rx [0-9]+ (RECEIVE|DELIVER) 3[0-9] OK')"

	# Line 1's address is still simulator a's: its SMS goes there.
	ID=$(p_queue "still here")
	p_wait a "send 1 [0-9-]+ [0-9-]+ \+48600100200 still here"
	p_status_wait "${ID}" sent
	atf_check_equal 0 "$(p_count b 'send .*')"
	p_no_errors a
	p_no_errors b
}
bad__packets_change_nothing_cleanup()
{
	p_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case receive__lost_acks_stored_once
	atf_add_test_case receive__negative_recvid
	atf_add_test_case receive__reboot_reuses_recvid
	atf_add_test_case lines__share_one_address
	atf_add_test_case keepalive__unknown_id_404
	atf_add_test_case report__call_state_and_hangup
	atf_add_test_case send__wait_and_lost_packet_one_send
	atf_add_test_case send__ok_three_tokens
	atf_add_test_case send__deliver_after_ok
	atf_add_test_case send__deliver_before_ok
	atf_add_test_case send__device_error
	atf_add_test_case bad__packets_change_nothing
	atf_add_test_case bad__keepalive_foreign_no_answer
}
