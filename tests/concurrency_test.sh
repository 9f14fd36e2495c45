#
# concurrency_test: goip-cgi under concurrent writers, through real lighttpd
# with 4 FastCGI processes: 8 clients post 500 SMS each, a third of them
# retries of earlier messageIds (their own, or their sibling's on the same
# device, which may race with the original).  Exactly the unique messages
# are stored, each answered 201 exactly once, every request is answered
# 2xx, and no client ever sees 503 (SQLITE_BUSY).
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

CLIENTS=8
PER_CLIENT=500
PROCS=4

atf_test_case sms_receive__parallel_retries cleanup
sms_receive__parallel_retries_head()
{
	atf_set descr "8 parallel clients x 500 SMS (1/3 retries) through lighttpd with 4 goip-cgi processes: exactly the unique messages are stored, all 2xx, no 503"
	atf_set require.progs "curl lighttpd sqlite3"
	atf_set timeout 180
}

# requests DIR C TOKEN DEVICE: write the curl configuration of client C
# (DIR/client-C.curl) and its bodies.  Request i is an original message
# "cC-i" unless i % 3 == 2: then it retries an earlier original, of this
# client or of its sibling (C xor 1, same device).
requests()
{
	local dir="$1" c="$2" token="$3" device="$4" i j owner mid sib
	local url="${BASE}/api/sms/receive"

	sib=$((c ^ 1))
	mkdir -p "${dir}/bodies-${c}"
	for ((i = 0; i < PER_CLIENT; i++)); do
		if [ $((i % 3)) -eq 2 ]; then
			j=$(((i * 7919 + c * 104729) % i))
			j=$((j - j % 3))	# an original index, below i
			if [ $(((i / 3) % 2)) -eq 0 ]; then
				owner=${c}
			else
				owner=${sib}
			fi
			mid="c${owner}-${j}"
		else
			mid="c${c}-${i}"
		fi
		printf '{"deviceId":"%s","messageId":"%s","slot":1,"from":"+447700900%03d","text":"message %s \\u017c\\ud83d\\ude80"}' \
		    "${device}" "${mid}" "${c}" "${mid}" \
		    >"${dir}/bodies-${c}/${i}.json"
		printf 'url = "%s"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 30\n' \
		    "${url}" "${token}" "${dir}/bodies-${c}/${i}.json"
		[ "${i}" -lt $((PER_CLIENT - 1)) ] && printf 'next\n'
	done >"${dir}/client-${c}.curl"
}

# setup: an instance in a fresh directory (DIR) with devices dev-0 to dev-3
# (tokens in the array TOKENS) and no per-device rate limit (these cases
# hammer each device on purpose), behind lighttpd with PROCS goip-cgi
# processes at BASE.
setup()
{
	local d port

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	echo "device_rate = 0" >>"${DIR}/goip.conf"
	for d in 0 1 2 3; do
		TOKENS[d]=$(goip_device_add "${DIR}" "dev-${d}")
	done
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}" "${PROCS}"
	BASE="http://127.0.0.1:${port}"
}

sms_receive__parallel_retries_body()
{
	local dir c t0 t1 n unique codes procs
	local -a pids

	setup
	dir=${DIR}

	procs=$(ps --ppid "$(cat "${dir}/lighttpd.pid")" -o pid=,comm= |
	    awk '$2 == "goip-cgi" { print $1 }' | sort)
	[ "$(echo "${procs}" | wc -w)" -eq "${PROCS}" ] ||
	    atf_fail "lighttpd runs $(echo "${procs}" | wc -w) goip-cgi processes, expected ${PROCS}"

	for ((c = 0; c < CLIENTS; c++)); do
		requests "${dir}" "${c}" "${TOKENS[c / 2]}" "dev-$((c / 2))"
	done
	# Every client's first request stores; a retry only repeats an id
	# that some request of the same device also sends as an original.
	unique=$((CLIENTS * (PER_CLIENT - PER_CLIENT / 3)))
	[ "$(cat "${dir}"/bodies-*/*.json | grep -o '"messageId":"[^"]*"' |
	    sort -u | wc -l)" -eq "${unique}" ] ||
	    atf_fail "the generator made the wrong number of unique messages"

	t0=$(date +%s)
	for ((c = 0; c < CLIENTS; c++)); do
		curl -s -K "${dir}/client-${c}.curl" >"${dir}/codes-${c}" \
		    2>"${dir}/curl-${c}.err" &
		pids[c]=$!
	done
	for ((c = 0; c < CLIENTS; c++)); do
		wait "${pids[c]}" ||
		    atf_fail "client ${c}: curl failed: $(head -c 300 "${dir}/curl-${c}.err")"
	done
	t1=$(date +%s)
	echo "$((CLIENTS * PER_CLIENT)) requests in $((t1 - t0)) s"

	codes=$(cat "${dir}"/codes-* | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	echo "status codes: ${codes}"
	n=$(cat "${dir}"/codes-* | wc -l)
	[ "${n}" -eq $((CLIENTS * PER_CLIENT)) ] ||
	    atf_fail "${n} answers for $((CLIENTS * PER_CLIENT)) requests"
	if grep -q 503 "${dir}"/codes-*; then
		atf_fail "503 answered (database busy surfaced): ${codes}"
	fi
	if grep -vq '^20[01]$' "${dir}"/codes-*; then
		atf_fail "non-2xx answers: ${codes}"
	fi
	[ "$(cat "${dir}"/codes-* | grep -c '^201$')" -eq "${unique}" ] ||
	    atf_fail "expected exactly ${unique} answers 201 (one per unique message): ${codes}"

	sqlite3 -batch "${dir}/goip.db" "SELECT count(*) FROM sms;
	    SELECT count(DISTINCT device || '/' || message_id) FROM sms;
	    SELECT count(*) FROM events WHERE type = 'sms-received';
	    SELECT value FROM counters WHERE name = 'sms_received';
	    SELECT count(*) FROM sms s JOIN devices d ON d.id = s.device
	        WHERE s.text <> 'message ' || s.message_id || ' ż🚀'
	        OR substr(s.message_id, 2, 1) / 2 <> substr(d.device_id, 5) + 0;" \
	    >"${dir}/counts" || atf_fail "sqlite3 failed"
	[ "$(tr '\n' ' ' <"${dir}/counts")" = \
	    "${unique} ${unique} ${unique} ${unique} 0 " ] ||
	    atf_fail "stored/distinct/events/counter/wrong: $(tr '\n' ' ' <"${dir}/counts"), expected ${unique} of each and 0 wrong"
	# About 5 s on an idle 2-core machine; far more means requests waited
	# on each other (busy loops, lock convoys), not just a busy machine.
	[ $((t1 - t0)) -lt 120 ] || atf_fail "took $((t1 - t0)) s"
	# The same processes served everything: none crashed or was respawned.
	[ "$(ps --ppid "$(cat "${dir}/lighttpd.pid")" -o pid=,comm= |
	    awk '$2 == "goip-cgi" { print $1 }' | sort)" = "${procs}" ] ||
	    atf_fail "goip-cgi processes changed during the run"
	grep -Ei '(segfault|crash|died|backend is overloaded)' \
	    "${dir}/lighttpd-error.log" &&
	    atf_fail "lighttpd reports trouble: $(tail -n 5 "${dir}/lighttpd-error.log")"
	return 0
}

sms_receive__parallel_retries_cleanup()
{
	goip_cleanup
}

atf_test_case mixed__readers_and_writers cleanup
mixed__readers_and_writers_head()
{
	atf_set descr "4 device clients (SMS and heartbeats) and 4 dashboard readers in parallel through lighttpd with 4 goip-cgi processes: every answer 2xx, no 503, counters match the rows"
	atf_set require.progs "curl lighttpd sqlite3"
	atf_set timeout 180
}

mixed__readers_and_writers_body()
{
	local dir c i cred codes n url body
	local -a pids

	setup
	dir=${DIR}
	cred=$(goip_credentials "${dir}")

	for ((c = 0; c < 4; c++)); do
		mkdir -p "${dir}/w-${c}"
		for ((i = 0; i < 300; i++)); do
			if [ $((i % 3)) -eq 0 ]; then
				url="${BASE}/api/device/heartbeat"
				printf '{"battery":%d,"signal":%d,"simSlots":[{"slot":1,"status":"ready"}]}' \
				    $((i % 101)) $((c * 20)) >"${dir}/w-${c}/${i}.json"
			else
				url="${BASE}/api/sms/receive"
				printf '{"messageId":"w%d-%d","from":"+48600100200","text":"t %d"}' \
				    "${c}" "${i}" "${i}" >"${dir}/w-${c}/${i}.json"
			fi
			printf 'url = "%s"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 30\n' \
			    "${url}" "${TOKENS[c]}" "${dir}/w-${c}/${i}.json"
			[ "${i}" -lt 299 ] && printf 'next\n'
		done >"${dir}/writer-${c}.curl"
		# Readers authenticate with bcrypt (htpasswd -B) on every
		# request, which costs lighttpd far more than goip-cgi: keep
		# them fewer.
		for ((i = 0; i < 100; i++)); do
			case $((i % 4)) in
			0) url="${BASE}/api/sms?limit=50" ;;
			1) url="${BASE}/api/stats" ;;
			2) url="${BASE}/api/devices" ;;
			3) url="${BASE}/api/devices/dev-${c}" ;;
			esac
			printf 'url = "%s"\nuser = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 30\n' \
			    "${url}" "${cred}"
			[ "${i}" -lt 99 ] && printf 'next\n'
		done >"${dir}/reader-${c}.curl"
	done
	for ((c = 0; c < 4; c++)); do
		curl -s -K "${dir}/writer-${c}.curl" >"${dir}/codes-w${c}" 2>&1 &
		pids[c]=$!
		curl -s -K "${dir}/reader-${c}.curl" >"${dir}/codes-r${c}" 2>&1 &
		pids[c + 4]=$!
	done
	for ((c = 0; c < 8; c++)); do
		wait "${pids[c]}" || atf_fail "a curl client failed"
	done
	codes=$(cat "${dir}"/codes-* | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	echo "status codes: ${codes}"
	n=$(cat "${dir}"/codes-* | wc -l)
	[ "${n}" -eq 1600 ] || atf_fail "${n} answers for 1600 requests"
	if grep -vq '^20[01]$' "${dir}"/codes-*; then
		atf_fail "non-2xx answers: ${codes}"
	fi
	[ "$(cat "${dir}"/codes-r* | grep -c '^200$')" -eq 400 ] ||
	    atf_fail "readers: ${codes}"
	# 4 x 200 SMS, 4 x 100 heartbeats: rows, counters and events agree.
	body=$(sqlite3 -batch "${dir}/goip.db" "SELECT count(*) FROM sms;
	    SELECT value FROM counters WHERE name = 'sms_received';
	    SELECT count(*) FROM events WHERE type = 'sms-received';
	    SELECT count(*) FROM events WHERE type = 'device-heartbeat';
	    SELECT value FROM counters WHERE name = 'devices_online';
	    SELECT count(*) FROM sim_slots;" | tr '\n' ' ')
	[ "${body}" = "800 800 800 400 4 4 " ] ||
	    atf_fail "sms/counter/events/heartbeats/online/slots: ${body}"
}

mixed__readers_and_writers_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case sms_receive__parallel_retries
	atf_add_test_case mixed__readers_and_writers
}
