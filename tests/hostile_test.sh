#
# hostile_test: goip-dashboard against clients that mean harm (issue 11).
# Each case is self-contained: it makes its own instance and stops what it
# started.
#
# memory__*: bounded memory per client in goip-notifier: pings by the
# megabyte over both transports, the packet-count bound of a polling
# session's queue, and the cap on Engine.IO sessions per client address
# (from X-Forwarded-For behind a local proxy).
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

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
	HEADER="${HDR}" SESSIONS=16 POSTS=8 TIMEOUT=500 node \
	    "${GOIP_SRCDIR}/tests/node/flood.cjs" "${URL}" "${PID}" flood.out \
	    >flood.log 2>&1 || atf_fail "flood: $(cat flood.log)"
	cat flood.out | cut -c 1-80 >&2
	notifier_alive_in "${DIR}"
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
	HEADER="${HDR}" MODE=websocket SESSIONS=4 POSTS=2 TIMEOUT=500 node \
	    "${GOIP_SRCDIR}/tests/node/flood.cjs" "${URL}" "${PID}" flood.out \
	    >flood.log 2>&1 || atf_fail "flood: $(cat flood.log)"
	cat flood.out >&2
	notifier_alive_in "${DIR}"
	grep -qx 'posts 4' flood.out ||
	    atf_fail "not every session sent its pings: $(cat flood.out)"
	[ "$(sed -n 's/^events //p' flood.out)" -ge 1 ] ||
	    atf_fail "no events request answered during the flood"
	ordinary
	rss=$(sed -n 's/^maxrss //p' flood.out)

	# WebSocket pings: their pongs, written by wslay, are output too.
	HEADER="${HDR}" MODE=wsping SESSIONS=4 POSTS=32 TIMEOUT=500 node \
	    "${GOIP_SRCDIR}/tests/node/flood.cjs" "${URL}" "${PID}" wsping.out \
	    >wsping.log 2>&1 || atf_fail "wsping: $(cat wsping.log)"
	cat wsping.out >&2
	notifier_alive_in "${DIR}"
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

atf_init_test_cases()
{
	atf_add_test_case memory__ping_flood
	atf_add_test_case memory__ws_ping_flood
	atf_add_test_case memory__packet_bound
	atf_add_test_case memory__per_address_cap
}
