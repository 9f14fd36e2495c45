#
# fault_test: fault injection (issue 6). Each case injects one fault into a
# running instance (lib.subr) and asserts that no write a device was told
# was accepted (2xx) is lost, that a client resuming by lastEventId gets
# every event exactly once, and that service comes back by itself.  Every
# loop is bounded; everything listens on 127.0.0.1 only.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# f_instance [CONF-LINES]: goip_proxied_instance (DIR, T1, NURL) with
# device goip-02 too (token T2); lighttpd adds the proxy secret itself.
f_instance()
{
	goip_proxied_instance "$@"
	T2=$(goip_device_add "${DIR}" goip-02)
}

# f_sms_body MESSAGEID [TEXT]: the JSON body of one SMS of goip-01.
f_sms_body()
{
	printf '{"deviceId":"goip-01","messageId":"%s","slot":1,"from":"+447700900123","text":"%s"}' \
	    "$1" "${2:-$1}"
}

# f_cgi TOKEN PATH BODY: run goip-cgi as plain CGI, with the variables of
# F_PRELOAD (NAME=VALUE words) added; print its Status code.
f_cgi()
{
	# shellcheck disable=SC2086
	goip_cgi "${DIR}" POST "$2" "$3" HTTP_AUTHORIZATION="Bearer $1" \
	    ${F_PRELOAD:-} >cgi.out 2>cgi.err
	goip_cgi_status cgi.out
}

# f_heartbeats BATTERY: a heartbeat of each of goip-01, goip-02 and goip-03
# (tokens T1, T2, T3) through f_cgi; fail unless every one is answered 200.
f_heartbeats()
{
	local i t code

	i=1
	for t in "${T1}" "${T2}" "${T3}"; do
		code=$(f_cgi "${t}" /api/device/heartbeat "{\"battery\":$1}")
		[ "${code}" = 200 ] ||
		    atf_fail "heartbeat goip-0${i}: ${code} $(cat cgi.out)"
		i=$((i + 1))
	done
}

# f_sql SQL: run SQL on the instance's database.
f_sql()
{
	sqlite3 -cmd '.timeout 5000' "${F_DB:-${DIR}/goip.db}" "$1"
}

# f_consistent: the database is intact and its counters equal the rows.
f_consistent()
{
	local ic rows cnt

	ic=$(f_sql 'PRAGMA integrity_check')
	[ "${ic}" = ok ] || atf_fail "integrity_check: ${ic}"
	rows=$(f_sql "SELECT count(*) FROM sms WHERE direction = 'in'")
	cnt=$(f_sql "SELECT value FROM counters WHERE name = 'sms_received'")
	[ "${rows}" = "${cnt}" ] ||
	    atf_fail "sms_received counter ${cnt}, ${rows} rows"
	rows=$(f_sql "SELECT count(*) FROM events WHERE type = 'sms-received'")
	cnt=$(f_sql "SELECT count(*) FROM sms WHERE direction = 'in'")
	[ "${rows}" = "${cnt}" ] ||
	    atf_fail "${rows} sms-received events for ${cnt} sms rows"
}

# f_client NAME [ENV...]: start tests/node/app.cjs in the background writing
# NAME.out and wait until its rooms are joined (URL in CURL).
f_client()
{
	local name="$1"

	shift
	goip_app_start "${name}" "${CURL}" "${name}.cpid" "$@"
	# A client resuming far back may be done (EXIT_AFTER) before the
	# acknowledgement of its join: f_client_check judges it then.
	goip_client_ready "${name}" "${name}.cpid" exited-ok
}

# f_client_check NAME N: wait for client NAME (started with EXIT_AFTER=N)
# and check it got messages m1..mN as sms-received exactly once each, with
# event ids in increasing order.
f_client_check()
{
	local name="$1" n="$2"

	wait "$(cat "${name}.cpid")" ||
	    atf_fail "client ${name} failed: $(cat "${name}.log"; tail -5 "${name}.out")"
	rm -f "${name}.cpid"
	grep '^sms-received' "${name}.out" | awk '{print $4}' >"${name}.ids"
	[ -z "$(sort "${name}.ids" | uniq -d)" ] ||
	    atf_fail "${name}: duplicated: $(sort "${name}.ids" | uniq -d | head)"
	seq -f 'm%g' 1 "${n}" | sort >"${name}.want"
	sort "${name}.ids" >"${name}.got"
	cmp -s "${name}.want" "${name}.got" ||
	    atf_fail "${name}: lost: $(comm -23 "${name}.want" "${name}.got" | head)"
	grep -v -e '^stats-update' -e '^resync' "${name}.out" |
	    awk '{print $2}' >"${name}.evids"
	sort -n -c -u "${name}.evids" 2>/dev/null ||
	    atf_fail "${name}: events out of order or repeated"
}

f_clients_stop()
{
	local f

	for f in *.cpid *.bgpid; do
		[ -f "${f}" ] && kill "$(cat "${f}")" 2>/dev/null
	done
	return 0
}

f_cleanup()
{
	f_clients_stop
	[ -f tmpfs.mnt ] && umount -l "$(cat tmpfs.mnt)" 2>/dev/null
	goip_cleanup
}

atf_test_case notifier__kill9_fanout cleanup
notifier__kill9_fanout_head()
{
	atf_set descr "SIGKILL of the notifier during fan-out to 6 clients while SMS keep arriving through lighttpd; restarted, a resuming client gets every sms-received exactly once"
	atf_set require.progs "node curl lighttpd sqlite3"
	atf_set timeout 60
}
notifier__kill9_fanout_body()
{
	local i n=60 c

	notifier_node_setup
	f_instance
	goip_notifier_start "${DIR}"
	goip_lighttpd_up 2
	CURL="${NURL}"
	f_client r ROOMS=dashboard LAST=0 EXIT_AFTER=${n} TIMEOUT=45
	for c in 1 2 3 4 5; do
		f_client "live${c}" ROOMS="dashboard device:goip-01" TIMEOUT=45 \
		    TRANSPORTS=websocket
	done
	for i in $(seq 1 ${n}); do
		# A notifier down or restarting never slows a device POST (3 s: a
		# loaded CI machine).
		timed_post "m${i}"
		[ "${CODE}" = 201 ] || atf_fail "SMS m${i}: ${CODE} $(cat post.out)"
		[ "${MS}" -lt 3000 ] || atf_fail "SMS m${i} took ${MS} ms"
		case "${i}" in
		20)	kill -KILL "$(cat "${DIR}/notifier.pid")" ;;
		40)	goip_notifier_start "${DIR}" ;;
		esac
	done
	f_client_check r ${n}
	[ "$(f_sql "SELECT count(*) FROM sms")" -eq ${n} ] ||
	    atf_fail "rows: $(f_sql "SELECT count(*) FROM sms")"
	f_consistent
	# The restarted notifier serves new clients by itself.
	f_client after ROOMS=dashboard LAST=0 EXIT_AFTER=${n} TIMEOUT=20
	f_client_check after ${n}
}
notifier__kill9_fanout_cleanup()
{
	f_cleanup
}

# cgi_loader NAME COUNT: post messages NAME-1 .. NAME-COUNT through lighttpd;
# a message answered with anything but 2xx is retried with the same
# messageId (at most 40 tries, 0.1 s apart).  Writes "MESSAGEID CODE" for
# the final answer of each message to NAME.res.
cgi_loader()
{
	local name="$1" n="$2" i try code

	for i in $(seq 1 "${n}"); do
		for try in $(seq 1 40); do
			code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
			    "$(f_sms_body "${name}-${i}")" "${name}.post")
			case "${code}" in
			2??) break ;;
			esac
			echo "${name}-${i} ${code}" >>"${name}.retries"
			sleep 0.1
		done
		echo "${name}-${i} ${code}" >>"${name}.res"
	done
}

atf_test_case cgi__kill9_midload cleanup
cgi__kill9_midload_head()
{
	atf_set descr "SIGKILL of goip-cgi FastCGI processes under load: every 2xx-answered SMS is stored, retries by messageId end with exactly the unique set, lighttpd respawns the processes"
	atf_set require.progs "curl lighttpd sqlite3 pgrep"
	atf_set timeout 60
}
cgi__kill9_midload_body()
{
	local k n=25 pids pid lpid killed=0 w code

	f_instance
	goip_lighttpd_up 2
	lpid=$(cat "${DIR}/lighttpd.pid")
	for w in a b c d; do
		cgi_loader "${w}" ${n} &
		echo $! >"${w}.bgpid"
	done
	# First, certainly mid-request: a writer holds the database for 2 s
	# (busy_timeout is 5 s), so every goip-cgi waits inside a request
	# when it is killed.
	sleep 0.3
	lock_hold 2 "BEGIN IMMEDIATE;"
	sleep 0.5
	for pid in $(pgrep -P "${lpid}" -x goip-cgi); do
		kill -KILL "${pid}" 2>/dev/null && killed=$((killed + 1))
	done
	# Then every 0.3 s, kill one goip-cgi, every third time all of them.
	for k in $(seq 1 12); do
		sleep 0.3
		pids=$(pgrep -P "${lpid}" -x goip-cgi)
		for pid in ${pids}; do
			kill -KILL "${pid}" 2>/dev/null && killed=$((killed + 1))
			[ $((k % 3)) -eq 0 ] || break
		done
	done
	for w in a b c d; do
		wait "$(cat "${w}.bgpid")"
		rm -f "${w}.bgpid"
	done
	wait "$(cat lock.bgpid)"
	rm -f lock.bgpid
	[ "${killed}" -ge 4 ] || atf_fail "only ${killed} goip-cgi killed"
	[ -s a.retries ] || [ -s b.retries ] || [ -s c.retries ] ||
	    [ -s d.retries ] || atf_fail "no request was cut by a kill"
	cat ?.res >all.res
	[ "$(wc -l <all.res)" -eq $((4 * n)) ] || atf_fail "loaders incomplete"
	grep -v ' 20[01]$' all.res >failed.res
	[ -s failed.res ] && atf_fail "not accepted after 40 tries: $(head failed.res)"
	# Every accepted message is stored once; nothing else is.
	awk '{print $1}' all.res | sort >want
	f_sql "SELECT message_id FROM sms WHERE direction = 'in'" | sort >got
	cmp -s want got || atf_fail "stored set differs: $(diff want got | head)"
	f_consistent
	echo "goip-cgi killed: ${killed}; retried answers: $(cat ?.retries 2>/dev/null | awk '{print $2}' | sort | uniq -c | tr -s ' \n' ' ')"
	# Service is back: a fresh message is accepted once lighttpd has
	# respawned its processes and ended the backend's disable-time (a
	# second; an ASan build starts slower).
	for k in $(seq 1 50); do
		code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
		    "$(f_sms_body fresh)")
		[ "${code}" = 201 ] && break
		sleep 0.2
	done
	[ "${code}" = 201 ] || atf_fail "after the kills: ${code} $(cat post.out)"
	goip_pid_alive "${lpid}" || atf_fail "lighttpd died"
}
cgi__kill9_midload_cleanup()
{
	f_cleanup
}

atf_test_case webserver__restart cleanup
webserver__restart_head()
{
	atf_set descr "lighttpd restarted with dashboard clients connected through it (polling and WebSocket): they reconnect and resume without loss or duplicates"
	atf_set require.progs "node curl lighttpd sqlite3"
	atf_set timeout 60
}
webserver__restart_body()
{
	local i n=30 code cred

	notifier_node_setup
	f_instance
	goip_notifier_start "${DIR}"
	goip_lighttpd_up 1
	cred=$(goip_credentials "${DIR}")
	CURL="${LURL}"
	f_client poll ROOMS=dashboard LAST=0 EXIT_AFTER=${n} TIMEOUT=45 \
	    TRANSPORTS=polling AUTH="${cred}"
	f_client ws ROOMS=device:goip-01 LAST=0 EXIT_AFTER=${n} TIMEOUT=45 \
	    TRANSPORTS=websocket AUTH="${cred}"
	f_client up "ROOMS=dashboard device:goip-01" EXIT_AFTER=${n} \
	    TIMEOUT=45 AUTH="${cred}"
	for i in $(seq 1 10); do
		code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
		    "$(f_sms_body "m${i}")")
		[ "${code}" = 201 ] || atf_fail "SMS m${i}: ${code}"
	done
	sleep 0.5
	goip_lighttpd_stop "${DIR}"
	# While the web server is down, devices buffer; here goip-cgi as
	# plain CGI stands in for another front end writing meanwhile.
	for i in $(seq 11 20); do
		code=$(f_cgi "${T1}" /api/sms/receive "$(f_sms_body "m${i}")")
		[ "${code}" = 201 ] || atf_fail "SMS m${i} (CGI): ${code}"
	done
	goip_lighttpd_start "${DIR}" "${LPORT}" 1
	for i in $(seq 21 ${n}); do
		code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
		    "$(f_sms_body "m${i}")")
		[ "${code}" = 201 ] || atf_fail "SMS m${i}: ${code}"
	done
	f_client_check poll ${n}
	f_client_check ws ${n}
	f_client_check up ${n}
	f_consistent
}
webserver__restart_cleanup()
{
	f_cleanup
}

# lock_hold SECONDS SQL: hold the database with the sqlite3 shell: run SQL,
# sleep SECONDS, roll back.  Writes lock.ready once SQL has run.
lock_hold()
{
	{
		echo "${2}"
		echo ".shell touch lock.ready"
		sleep "$1"
		echo "ROLLBACK;"
	} | sqlite3 "${DIR}/goip.db" >lock.out 2>&1 &
	echo $! >lock.bgpid
	tries=50
	while [ ! -f lock.ready ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -f lock.ready ] || atf_fail "the lock was not taken: $(cat lock.out)"
}

# timed_post MID: POST one SMS through lighttpd; sets CODE and MS (elapsed).
timed_post()
{
	local t0 t1

	t0=$(date +%s%N)
	CODE=$(goip_post "${LURL}" "${T1}" /api/sms/receive "$(f_sms_body "$1")")
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
}

atf_test_case db__long_writer cleanup
db__long_writer_head()
{
	atf_set descr "The database held by a long writer (BEGIN IMMEDIATE): device POSTs answer 503 with Retry-After within busy_timeout, nothing half-written; then they succeed"
	atf_set require.progs "curl lighttpd sqlite3"
	atf_set timeout 60
}
db__long_writer_body()
{
	local i

	f_instance "busy_timeout = 300ms"
	goip_lighttpd_up 2
	timed_post before
	[ "${CODE}" = 201 ] || atf_fail "before: ${CODE}"
	lock_hold 6 "BEGIN IMMEDIATE; INSERT INTO counters(name, value) VALUES ('fault_test', 1);"
	for i in 1 2 3; do
		timed_post "locked${i}"
		[ "${CODE}" = 503 ] || atf_fail "locked POST: ${CODE} $(cat post.out)"
		grep -qi '^Retry-After: [0-9]' post.out.h ||
		    atf_fail "no Retry-After: $(cat post.out.h)"
		grep -q '"error"' post.out || atf_fail "no JSON error: $(cat post.out)"
		[ "${MS}" -lt 2000 ] || atf_fail "503 after ${MS} ms (busy_timeout 300 ms)"
	done
	code=$(goip_post "${LURL}" "${T1}" /api/device/heartbeat '{"battery":5}')
	[ "${code}" = 503 ] || atf_fail "locked heartbeat: ${code}"
	wait "$(cat lock.bgpid)"
	rm -f lock.bgpid
	[ "$(f_sql "SELECT count(*) FROM sms WHERE message_id LIKE 'locked%'")" -eq 0 ] ||
	    atf_fail "a 503 wrote a row"
	f_consistent
	for i in 1 2 3; do
		timed_post "locked${i}"
		[ "${CODE}" = 201 ] || atf_fail "after the lock: ${CODE}"
	done
	[ "$(f_sql "SELECT count(*) FROM sms")" -eq 4 ] || atf_fail "rows"
	f_consistent
}
db__long_writer_cleanup()
{
	f_cleanup
}

atf_test_case db__long_reader cleanup
db__long_reader_head()
{
	atf_set descr "The database held by a long reader (open read transaction): in WAL mode writers are not blocked, so device POSTs succeed promptly; the reader's snapshot stays consistent"
	atf_set require.progs "curl lighttpd sqlite3"
	atf_set timeout 60
}
db__long_reader_body()
{
	local i

	f_instance "busy_timeout = 300ms"
	goip_lighttpd_up 2
	timed_post before
	[ "${CODE}" = 201 ] || atf_fail "before: ${CODE}"
	lock_hold 5 "BEGIN; SELECT count(*) FROM sms; SELECT count(*) FROM events;"
	for i in $(seq 1 10); do
		timed_post "r${i}"
		# 201 is what WAL promises; a 503 must at least be a proper one.
		case "${CODE}" in
		201) ;;
		503) grep -qi '^Retry-After:' post.out.h ||
			atf_fail "503 without Retry-After" ;;
		*) atf_fail "POST under a reader: ${CODE} $(cat post.out)" ;;
		esac
		[ "${MS}" -lt 2000 ] || atf_fail "answer after ${MS} ms"
		[ "${CODE}" = 201 ] || atf_fail "a reader blocked a writer: ${CODE}"
	done
	wait "$(cat lock.bgpid)"
	rm -f lock.bgpid
	grep -q '^1$' lock.out || atf_fail "reader snapshot: $(cat lock.out)"
	[ "$(f_sql "SELECT count(*) FROM sms")" -eq 11 ] || atf_fail "rows"
	f_consistent
}
db__long_reader_cleanup()
{
	f_cleanup
}

atf_test_case disk__full cleanup
disk__full_head()
{
	atf_set descr "The disk under the database fills up (small tmpfs): device POSTs get 503 with Retry-After and a disk-full error, nothing half-written; after space is freed they succeed"
	atf_set require.progs "curl lighttpd sqlite3 mount umount"
	atf_set require.user "root"
	atf_set timeout 60
}
disk__full_body()
{
	local i code mnt text ok=0 full=0

	DIR=$(goip_tmpdir)
	mnt="${DIR}/disk"
	mkdir -p "${mnt}"
	if ! mount -t tmpfs -o size=1m,mode=0755 goip-fault "${mnt}" 2>mount.err; then
		atf_skip "cannot mount a tmpfs here: $(cat mount.err)"
	fi
	echo "${mnt}" >tmpfs.mnt
	goip_instance "${DIR}"
	sed -i "s|^database = .*|database = ${mnt}/goip.db|" "${DIR}/goip.conf"
	rm -f "${DIR}/goip.db"
	"${GOIP_CTL}" -c "${DIR}/goip.conf" init >init.out 2>&1 ||
	    atf_fail "init: $(cat init.out)"
	T1=$(goip_device_add "${DIR}" goip-01)
	goip_lighttpd_up 1
	F_DB="${mnt}/goip.db"
	text=$(head -c 1500 /dev/zero | tr '\0' 'x')
	# Fill the rest of the disk, then write until the store refuses.
	dd if=/dev/zero of="${mnt}/filler" bs=4k >/dev/null 2>&1
	truncate -s -256k "${mnt}/filler"
	for i in $(seq 1 200); do
		code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
		    "$(f_sms_body "m${i}" "${text}")")
		case "${code}" in
		201) ok=$((ok + 1)); echo "m${i}" >>accepted ;;
		503) full=$((full + 1)); echo "m${i}" >>refused
		     grep -q '"error":"database disk full' post.out ||
			atf_fail "503 without a clear error: $(cat post.out)"
		     grep -qi '^Retry-After: [0-9]' post.out.h ||
			atf_fail "no Retry-After: $(cat post.out.h)"
		     [ "${full}" -ge 5 ] && break ;;
		*) atf_fail "m${i}: ${code} $(cat post.out)" ;;
		esac
	done
	[ "${full}" -ge 5 ] || atf_fail "the disk never filled (${ok} accepted)"
	echo "accepted ${ok} before the disk was full; refused ${full}; last: $(cat post.out)"
	touch accepted
	f_sql "SELECT message_id FROM sms" | sort >got
	sort accepted >want
	cmp -s want got || atf_fail "stored set differs from the accepted one: $(diff want got | head)"
	rm -f "${mnt}/filler"
	f_consistent
	for i in $(cat refused); do
		code=$(goip_post "${LURL}" "${T1}" /api/sms/receive \
		    "$(f_sms_body "${i}" "${text}")")
		[ "${code}" = 201 ] || atf_fail "after freeing space ${i}: ${code} $(cat post.out)"
	done
	code=$(goip_post "${LURL}" "${T1}" /api/device/heartbeat '{"battery":9}')
	[ "${code}" = 200 ] || atf_fail "heartbeat after freeing space: ${code}"
	f_consistent
	[ "$(f_sql "SELECT count(*) FROM sms")" -eq $((ok + full)) ] ||
	    atf_fail "rows after recovery"
}
disk__full_cleanup()
{
	f_cleanup
}

# notify_post_all N: post N SMS through lighttpd, each answered 201 within
# 3 s (a loaded 2-core CI machine; a blocking send would hang for good).
notify_post_all()
{
	local i

	for i in $(seq 1 "$1"); do
		timed_post "m${i}"
		[ "${CODE}" = 201 ] || atf_fail "m${i}: ${CODE} $(cat post.out)"
		[ "${MS}" -lt 3000 ] || atf_fail "m${i} took ${MS} ms"
	done
}

atf_test_case notify__missing cleanup
notify__missing_head()
{
	atf_set descr "No notifier and no notify_socket: device POSTs still succeed quickly; a notifier started later serves every event"
	atf_set require.progs "node curl lighttpd sqlite3"
	atf_set timeout 60
}
notify__missing_body()
{
	notifier_node_setup
	f_instance
	goip_lighttpd_up 1
	[ -e "${DIR}/notify.sock" ] && atf_fail "notify_socket exists"
	notify_post_all 30
	goip_notifier_start "${DIR}"
	CURL="${NURL}"
	f_client r ROOMS=dashboard LAST=0 EXIT_AFTER=30 TIMEOUT=20
	f_client_check r 30
}
notify__missing_cleanup()
{
	f_cleanup
}

atf_test_case notify__queue_full cleanup
notify__queue_full_head()
{
	atf_set descr "notify_socket bound by a process that never reads (receive queue full): device POSTs still succeed quickly; the notifier started afterwards loses nothing"
	atf_set require.progs "node curl lighttpd sqlite3 perl"
	atf_set timeout 60
}
notify__queue_full_body()
{
	local tries=50

	notifier_node_setup
	f_instance
	goip_lighttpd_up 1
	perl -MSocket -MIO::Socket::UNIX -e '
	    my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM,
	        Local => $ARGV[0]) or die "bind: $!";
	    chmod 0666, $ARGV[0];
	    sleep 50;' "${DIR}/notify.sock" >sink.log 2>&1 &
	echo $! >sink.bgpid
	while [ ! -S "${DIR}/notify.sock" ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -S "${DIR}/notify.sock" ] || atf_fail "sink: $(cat sink.log)"
	notify_post_all 60
	goip_pid_alive "$(cat sink.bgpid)" || atf_fail "sink died"
	grep -i 'notify' "${DIR}/lighttpd-error.log" | grep -iv 'resource temporarily' |
	    head -3
	kill "$(cat sink.bgpid)"
	rm -f sink.bgpid "${DIR}/notify.sock"
	goip_notifier_start "${DIR}"
	CURL="${NURL}"
	f_client r ROOMS=dashboard LAST=0 EXIT_AFTER=60 TIMEOUT=20
	f_client_check r 60
}
notify__queue_full_cleanup()
{
	f_cleanup
}

# clock_set OFFSET: set the faked clock of every process started with
# F_PRELOAD (libfaketime re-reads the file on every call).
clock_set()
{
	echo "$1" >"${DIR}/faketime.rc"
}

# offline_events DEVICE: device-status-change events to offline of DEVICE.
offline_events()
{
	f_sql "SELECT count(*) FROM events WHERE type = 'device-status-change' AND device = '$1' AND payload LIKE '%\"status\":\"offline\"%'"
}

atf_test_case clock__jumps cleanup
clock__jumps_head()
{
	atf_set descr "Wall clock jumps (libfaketime, monotonic clock untouched) for the liveness sweep: a device that keeps posting is never marked offline by a jump backwards; a jump forwards marks silent devices offline once, one event each"
	atf_set require.progs "faketime sqlite3"
	atf_set timeout 60
}
clock__jumps_body()
{
	local lib i code

	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
	[ -n "${lib}" ] || atf_skip "libfaketime.so.1 not found (apt install faketime)"
	f_instance "offline_after = 3s"
	T3=$(goip_device_add "${DIR}" goip-03)
	clock_set "+0"
	# The notifier and every goip-cgi see the same faked wall clock, as
	# after an NTP step on the host; libevent's monotonic timers are not
	# faked, so the sweep keeps running every second.
	F_PRELOAD="LD_PRELOAD=${lib} FAKETIME_TIMESTAMP_FILE=${DIR}/faketime.rc FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
	export LD_PRELOAD="${lib}" FAKETIME_TIMESTAMP_FILE="${DIR}/faketime.rc" \
	    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
	goip_notifier_start "${DIR}"
	unset LD_PRELOAD FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE FAKETIME_DONT_FAKE_MONOTONIC
	f_heartbeats 50
	# Backwards one hour while goip-01 keeps posting every 0.5 s for 8 s
	# (more than twice offline_after); goip-02 and goip-03 fall silent
	# and must still go offline within offline_after of the jump, not an
	# hour later.
	clock_set "-1h"
	for i in $(seq 1 16); do
		code=$(f_cgi "${T1}" /api/device/heartbeat '{"battery":51}')
		[ "${code}" = 200 ] || atf_fail "heartbeat: ${code}"
		sleep 0.5
	done
	[ "$(offline_events goip-01)" -eq 0 ] ||
	    atf_fail "a posting device was marked offline after a backward jump"
	[ "$(f_sql "SELECT status FROM devices WHERE device_id = 'goip-01'")" = online ] ||
	    atf_fail "goip-01 not online: $(f_sql 'SELECT * FROM devices')"
	for i in 2 3; do
		[ "$(offline_events goip-0${i})" -eq 1 ] ||
		    atf_fail "silent goip-0${i} after a backward jump: $(offline_events goip-0${i}) offline events in 8 s (offline_after 3 s)"
	done
	# Forwards: every device posts once at the jumped-back clock, then the
	# clock goes one hour past the real time: all are silent for two
	# hours and each is marked offline once more, with one event.
	f_heartbeats 52
	clock_set "+1h"
	for i in $(seq 1 50); do
		[ "$(offline_events goip-01)" -ge 1 ] &&
		    [ "$(offline_events goip-02)" -ge 2 ] &&
		    [ "$(offline_events goip-03)" -ge 2 ] && break
		sleep 0.1
	done
	sleep 2.5
	[ "$(offline_events goip-01)" -eq 1 ] ||
	    atf_fail "goip-01: $(offline_events goip-01) offline events"
	for i in 2 3; do
		[ "$(offline_events goip-0${i})" -eq 2 ] ||
		    atf_fail "goip-0${i}: $(offline_events goip-0${i}) offline events"
	done
	[ "$(f_sql "SELECT value FROM counters WHERE name = 'devices_online'")" -eq 0 ] ||
	    atf_fail "devices_online counter not 0"
	goip_pid_alive "$(cat "${DIR}/notifier.pid")" || atf_fail "notifier died"
	f_consistent
}
clock__jumps_cleanup()
{
	f_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case notifier__kill9_fanout
	atf_add_test_case cgi__kill9_midload
	atf_add_test_case webserver__restart
	atf_add_test_case db__long_writer
	atf_add_test_case db__long_reader
	atf_add_test_case disk__full
	atf_add_test_case notify__missing
	atf_add_test_case notify__queue_full
	atf_add_test_case clock__jumps
}
