#
# webhook_test: goip-webhookd (issue 14) as a black box. Events are made
# by devices through lighttpd and goip-cgi over FastCGI; deliveries go to
# tests/webhook_receiver.py, a real HTTP server that checks every
# signature and records what it got. Endpoints are managed with goipctl.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

W_RECEIVER="${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/webhook_receiver.py"

# w_start [CONF-LINES...]: an instance with device goip-01 (token TOKEN)
# and goip-02 (TOKEN2), webhook_allow_private = yes unless a CONF-LINE
# sets it, lighttpd on a free port (LURL), metrics on another (MPORT) and
# a receiver (w_receiver_start). goip-webhookd is started by the case.
w_start()
{
	local port

	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	MPORT=$(goip_free_port)
	{
		echo "webhook_metrics_listen = 127.0.0.1:${MPORT}"
		printf '%s\n' "$@"
		case "$*" in
		*webhook_allow_private*) ;;
		*) echo "webhook_allow_private = yes" ;;
		esac
	} >>"${DIR}/goip.conf"
	TOKEN=$(goip_device_add "${DIR}" goip-01)
	TOKEN2=$(goip_device_add "${DIR}" goip-02)
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}"
	LURL="http://127.0.0.1:${port}"
	RX="${DIR}/rx"
	mkdir -p "${RX}"
	w_receiver_start
}

# w_receiver_start: start the receiver on RXPORT (a free port the first
# time) and wait until it listens.
w_receiver_start()
{
	rm -f "${DIR}/rx.port"
	python3 "${W_RECEIVER}" "${RX}" --port "${RXPORT:-0}" \
	    --port-file "${DIR}/rx.port" 2>>"${DIR}/receiver.log" &
	echo $! >"${DIR}/receiver.pid"
	until [ -s "${DIR}/rx.port" ]; do
		goip_pid_alive "$(cat "${DIR}/receiver.pid")" ||
		    atf_fail "the receiver exited: $(cat "${DIR}/receiver.log")"
		sleep 0.1
	done
	RXPORT=$(cat "${DIR}/rx.port")
}

w_ctl()
{
	"${GOIP_CTL}" -c "${DIR}/goip.conf" "$@"
}

# w_add NAME [ARGS...]: add the endpoint http://127.0.0.1:RXPORT/NAME,
# give its secret (the last line) to the receiver and print its id.
w_add()
{
	local name="$1"

	shift
	w_ctl webhook add "http://127.0.0.1:${RXPORT}/${name}" "$@" \
	    >"${DIR}/add.out" 2>&1 ||
	    atf_fail "webhook add ${name}: $(cat "${DIR}/add.out")"
	tail -n 1 "${DIR}/add.out" >"${RX}/${name}.secret"
	[ "$(wc -c <"${RX}/${name}.secret")" -eq 44 ] ||
	    atf_fail "the last line of add is not a secret: $(cat "${DIR}/add.out")"
	sed -n 's/^webhook \([0-9]*\): .*/\1/p' "${DIR}/add.out" | head -n 1
}

# w_sms PREFIX N [TOKEN]: N SMS (messageId PREFIX-1..N) from goip-01 (or
# the device of TOKEN) in one batch through lighttpd.
w_sms()
{
	local i body="" code

	for i in $(seq 1 "$2"); do
		body="${body}${body:+,}{\"messageId\":\"$1-$i\",\"from\":\"+447700900$i\",\"text\":\"m $1 $i\"}"
	done
	code=$(curl -s -m 20 -o "${DIR}/sms.out" -w '%{http_code}' \
	    -H "Authorization: Bearer ${3:-${TOKEN}}" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"messages\":[${body}]}" "${LURL}/api/sms/receive")
	case "${code}" in
	200|201|207) ;;
	*) atf_fail "sms/receive answered ${code}: $(cat "${DIR}/sms.out")" ;;
	esac
}

# w_heartbeat [TOKEN]: one heartbeat of goip-01 (or TOKEN's device).
w_heartbeat()
{
	curl -s -m 20 -o /dev/null -H "Authorization: Bearer ${1:-${TOKEN}}" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"battery": 50, "signal": 60}' \
	    "${LURL}/api/device/heartbeat"
}

# w_ids NAME: the event ids NAME received (pings left out), one a line.
w_ids()
{
	[ -f "${RX}/$1.log" ] || return 0
	jq -r 'select(.event != "ping") | .eventId' "${RX}/$1.log"
}

# w_wait NAME N: wait until NAME has received N events (the case's timeout
# bounds the wait); fail at once on a bad delivery.
w_wait()
{
	until [ "$(w_ids "$1" | wc -l)" -ge "$2" ]; do
		w_no_bad "$1"
		goip_pid_alive "$(cat "${DIR}/webhookd.pid")" ||
		    atf_fail "goip-webhookd exited: $(tail -n 5 "${DIR}/webhookd.log")"
		sleep 0.1
	done
}

# w_no_bad NAME: fail when the receiver refused a delivery to NAME.
w_no_bad()
{
	[ ! -s "${RX}/$1.bad" ] ||
	    atf_fail "bad deliveries to $1: $(head -n 3 "${RX}/$1.bad")"
}

# w_expect NAME SQL-WHERE: NAME received exactly the events the WHERE
# clause selects from the log, in id order, each once.
w_expect()
{
	sqlite3 "${DIR}/goip.db" "SELECT id FROM events WHERE $2 ORDER BY id" \
	    >"${DIR}/want"
	w_ids "$1" >"${DIR}/got"
	cmp -s "${DIR}/want" "${DIR}/got" ||
	    atf_fail "$1 got $(tr '\n' ' ' <"${DIR}/got"), want $(tr '\n' ' ' <"${DIR}/want")"
	w_no_bad "$1"
}

# w_wait_expect NAME SQL-WHERE: wait until NAME has as many events as the
# WHERE clause selects from the log, then w_expect.
w_wait_expect()
{
	w_wait "$1" "$(sqlite3 "${DIR}/goip.db" \
	    "SELECT COUNT(*) FROM events WHERE $2")"
	w_expect "$1" "$2"
}

# w_col ID COLUMN: a column of endpoint ID in the webhooks table.
w_col()
{
	sqlite3 "${DIR}/goip.db" "SELECT $2 FROM webhooks WHERE id = $1"
}

# w_until_col ID COLUMN VALUE: wait until the column reads VALUE.
w_until_col()
{
	until [ "$(w_col "$1" "$2")" = "$3" ]; do
		goip_pid_alive "$(cat "${DIR}/webhookd.pid")" ||
		    atf_fail "goip-webhookd exited: $(tail -n 5 "${DIR}/webhookd.log")"
		sleep 0.1
	done
}

# w_metric NAME ID: the value of metric NAME of endpoint ID.
w_metric()
{
	curl -s -m 10 "http://127.0.0.1:${MPORT}/metrics" |
	    sed -n "s/^$1{webhook=\"$2\"} //p"
}

w_cleanup()
{
	local d

	if [ -f goip-tmpdirs ]; then
		while read -r d; do
			goip_kill_pidfile "${d}/receiver.pid"
		done <goip-tmpdirs
	fi
	goip_cleanup
}

atf_test_case order__kept cleanup
order__kept_head()
{
	atf_set descr "every event goes out once, in id order, signed; the" \
	    "default set leaves heartbeats out, --events all takes them," \
	    "--device takes one device's events only; the body's data is the" \
	    "Socket.IO payload"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
order__kept_body()
{
	w_start
	w_add dflt >/dev/null
	w_add all --events all >/dev/null
	w_add dev2 --device goip-02 >/dev/null
	goip_webhookd_start "${DIR}"
	w_sms a 100
	w_heartbeat
	w_sms b 40
	w_sms c 3 "${TOKEN2}"
	w_heartbeat "${TOKEN2}"
	w_wait_expect dflt "type = 'sms-received' OR type = 'device-status-change'"
	w_wait_expect all "1 = 1"
	w_wait_expect dev2 "device = 'goip-02' AND type <> 'device-heartbeat'"
	[ "$(w_ids dev2 | wc -l)" -eq 4 ] || atf_fail "dev2: $(w_ids dev2)"
	# data is the stored payload with eventId first, as Socket.IO has it.
	jq -e -s 'map(select(.data.text == "m a 1")) | length == 1 and
	    .[0].data.eventId == .[0].eventId and
	    .[0].data.deviceId == "goip-01" and .[0].data.direction == "in"' \
	    "${RX}/dflt.log" >/dev/null || atf_fail "bad data: $(head -n 1 "${RX}/dflt.log")"
	# The cursor passes the filtered heartbeats too, to the log's end.
	w_until_col 1 cursor "$(sqlite3 "${DIR}/goip.db" \
	    "SELECT MAX(id) FROM events")"
}
order__kept_cleanup()
{
	w_cleanup
}

atf_test_case retry__500_then_recovers cleanup
retry__500_then_recovers_head()
{
	atf_set descr "a receiver answering 500 three times gets every event" \
	    "after it recovers, in order; the failures and retries are counted" \
	    "in the table and the Prometheus metrics (webhook_retry_max = 1s" \
	    "keeps the back-off short)"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
retry__500_then_recovers_body()
{
	local id

	w_start "webhook_retry_max = 1s"
	id=$(w_add r)
	echo "status 500 3" >"${RX}/r.mode"
	goip_webhookd_start "${DIR}"
	w_sms a 5
	w_wait r 5
	w_expect r "type = 'sms-received'"
	[ "$(wc -l <"${RX}/r.tries")" -eq 3 ] || atf_fail "not 3 failed tries"
	w_until_col "${id}" delivered 5
	[ "$(w_col "${id}" failed)" -eq 3 ] || atf_fail "failed not counted"
	[ "$(w_col "${id}" retries)" -eq 3 ] || atf_fail "retries not counted"
	[ -z "$(w_col "${id}" failing_since)" ] || atf_fail "still failing"
	[ "$(w_metric goip_webhook_delivered_total "${id}")" = 5 ] ||
	    atf_fail "metrics: delivered"
	[ "$(w_metric goip_webhook_failed_total "${id}")" = 3 ] ||
	    atf_fail "metrics: failed"
	[ "$(w_metric goip_webhook_retries_total "${id}")" = 3 ] ||
	    atf_fail "metrics: retries"
	[ "$(w_metric goip_webhook_lag_events "${id}")" = 0 ] ||
	    atf_fail "metrics: lag"
}
retry__500_then_recovers_cleanup()
{
	w_cleanup
}

atf_test_case receiver_down__nothing_lost cleanup
receiver_down__nothing_lost_head()
{
	atf_set descr "a receiver that is down (connection refused) while" \
	    "events come loses none: they arrive in order once it is back." \
	    "webhook_retry_max = 1s scales the issue's minute down to a few" \
	    "failed attempts"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
receiver_down__nothing_lost_body()
{
	local id

	w_start "webhook_retry_max = 1s"
	id=$(w_add d)
	goip_webhookd_start "${DIR}"
	w_sms a 2
	w_wait d 2
	goip_kill_pidfile "${DIR}/receiver.pid"
	w_sms b 5
	w_heartbeat
	w_sms c 5
	# Three refused attempts, then the receiver comes back.
	until [ "$(w_col "${id}" failed)" -ge 3 ]; do
		sleep 0.1
	done
	w_col "${id}" last_error | grep -q -i "connect" ||
	    atf_fail "last_error: $(w_col "${id}" last_error)"
	w_ctl webhook list | grep -q "failing" || atf_fail "list: not failing"
	w_receiver_start
	w_wait d 12
	w_expect d "type = 'sms-received' OR type = 'device-status-change'"
}
receiver_down__nothing_lost_cleanup()
{
	w_cleanup
}

atf_test_case kill9__inflight_only cleanup
kill9__inflight_only_head()
{
	atf_set descr "kill -9 of goip-webhookd while a request is in flight:" \
	    "after a restart only that event may come again (same" \
	    "X-Goip-Delivery); the ones answered before are not resent"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
kill9__inflight_only_body()
{
	w_start
	w_add k >/dev/null
	goip_webhookd_start "${DIR}"
	w_sms a 3
	w_wait k 3
	echo "slow 2" >"${RX}/k.mode"
	w_sms b 2
	# Event 4 has reached the receiver, which holds its answer.
	until grep -qx 4 "${RX}/k.seen" 2>/dev/null; do
		sleep 0.1
	done
	kill -KILL "$(cat "${DIR}/webhookd.pid")"
	rm -f "${RX}/k.mode"
	goip_webhookd_start "${DIR}"
	w_wait k 5
	# The killed request's answer may still be logged by the receiver.
	until [ "$(w_ids k | sort -u | wc -l)" -eq 5 ]; do
		sleep 0.1
	done
	w_ids k | sort -n | uniq -c | awk '$1 > 1 { print $2 }' >"${DIR}/dups"
	[ ! -s "${DIR}/dups" ] || [ "$(cat "${DIR}/dups")" = 4 ] ||
	    atf_fail "redelivered more than the in-flight event: $(cat "${DIR}/dups")"
	[ "$(w_ids k | grep -c -x 4)" -le 2 ] || atf_fail "event 4 too often"
	w_ids k | sort -u -n | tr '\n' ' ' | grep -q '^1 2 3 4 5 $' ||
	    atf_fail "got $(w_ids k | tr '\n' ' ')"
	w_no_bad k
}
kill9__inflight_only_cleanup()
{
	w_cleanup
}

atf_test_case slow__does_not_delay_fast cleanup
slow__does_not_delay_fast_head()
{
	atf_set descr "an endpoint that takes 10 s per answer does not delay" \
	    "another: the fast one has every event while the slow one is" \
	    "still on its first"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
slow__does_not_delay_fast_body()
{
	w_start
	w_add slow >/dev/null
	w_add fast >/dev/null
	echo "slow 10" >"${RX}/slow.mode"
	goip_webhookd_start "${DIR}"
	w_sms a 20
	until grep -qx 1 "${RX}/slow.seen" 2>/dev/null; do
		sleep 0.1
	done
	w_wait fast 20
	w_expect fast "type = 'sms-received'"
	[ -z "$(w_ids slow)" ] || atf_fail "the slow one answered already"
	[ "$(wc -l <"${RX}/slow.seen")" -eq 1 ] ||
	    atf_fail "the slow endpoint had more than one request in flight"
}
slow__does_not_delay_fast_cleanup()
{
	w_cleanup
}

atf_test_case private__refused cleanup
private__refused_head()
{
	atf_set descr "without webhook_allow_private, goipctl refuses a" \
	    "loopback target and goip-webhookd refuses to connect to one" \
	    "(checked on the address it connects to): nothing is sent"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
private__refused_body()
{
	local id

	w_start "webhook_allow_private = no"
	for url in "http://127.0.0.1:${RXPORT}/p" "http://localhost:${RXPORT}/p" \
	    "http://[::1]:${RXPORT}/p" "http://10.1.2.3/p" \
	    "http://169.254.169.254/latest/meta-data"; do
		atf_check -s exit:1 -o empty -e match:"webhook_allow_private = yes" \
		    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add "${url}"
	done
	[ "$(sqlite3 "${DIR}/goip.db" 'SELECT COUNT(*) FROM webhooks')" = 0 ] ||
	    atf_fail "a refused endpoint was stored"
	# Added through a configuration that allows it, run by one that does
	# not: the daemon's own check refuses the connection.
	sed 's/^webhook_allow_private = no$/webhook_allow_private = yes/' \
	    "${DIR}/goip.conf" >"${DIR}/allow.conf"
	"${GOIP_CTL}" -c "${DIR}/allow.conf" webhook add \
	    "http://localhost:${RXPORT}/p" >"${DIR}/add.out" ||
	    atf_fail "add with allow_private: $(cat "${DIR}/add.out")"
	tail -n 1 "${DIR}/add.out" >"${RX}/p.secret"
	id=1
	goip_webhookd_start "${DIR}"
	w_sms a 1
	until w_col "${id}" last_error | grep -q "is not a public address"; do
		sleep 0.1
	done
	[ ! -e "${RX}/p.seen" ] || atf_fail "the receiver was reached"
	[ "$(w_col "${id}" cursor)" = 0 ] || atf_fail "the cursor moved"
}
private__refused_cleanup()
{
	w_cleanup
}

atf_test_case ctl__bad_input cleanup
ctl__bad_input_head()
{
	atf_set descr "goipctl webhook: bad URLs, events, devices and ids get" \
	    "clear errors (exit 1), bad usage exit 2, and nothing is written"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
ctl__bad_input_body()
{
	local long

	w_start
	long="http://example.com/$(head -c 2100 /dev/zero | tr '\0' a)"
	while IFS='|' read -r url msg; do
		atf_check -s exit:1 -o empty -e match:"${msg}" \
		    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add "${url}"
	done <<EOF
ftp://example.com/|must start with http:// or https://
example.com/hook|must start with http:// or https://
http://|no host
http://exa mple.com/|space, a control character
http://user:pw@example.com/|user name or password
http://example.com:0/|bad port
http://example.com:70000/|bad port
http://example.com:80x/|bad port
http://example.com/#frag|fragment
http://[::1/|unclosed
http://-bad.example/|bad host
${long}|longer than 2048
EOF
	atf_check -s exit:1 -o empty -e match:'unknown event "bogus"' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add \
	    http://example.com/ --events sms-received,bogus
	atf_check -s exit:1 -o empty -e match:'empty event name' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add \
	    http://example.com/ --events sms-received,
	atf_check -s exit:1 -o empty -e match:'goip-99: no such device' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add \
	    http://example.com/ --device goip-99
	atf_check -s exit:1 -o empty -e match:'invalid device id' \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add \
	    http://example.com/ --device 'bad id'
	for cmd in remove enable disable secret test; do
		atf_check -s exit:1 -o empty -e match:'webhook 42: no such webhook' \
		    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook "${cmd}" 42
		for bad in x 0 -1 1x ""; do
			atf_check -s exit:1 -o empty -e match:'invalid id' \
			    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook "${cmd}" "${bad}"
		done
		atf_check -s exit:2 -o empty -e match:usage \
		    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook "${cmd}"
	done
	atf_check -s exit:2 -o empty -e match:usage \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook frobnicate 1
	atf_check -s exit:2 -o empty -e match:usage \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook add
	[ "$(sqlite3 "${DIR}/goip.db" 'SELECT COUNT(*) FROM webhooks')" = 0 ] ||
	    atf_fail "a refused endpoint was stored"
	atf_check -s exit:0 -o match:'^ID +STATE' -e empty \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook list
}
ctl__bad_input_cleanup()
{
	w_cleanup
}

atf_test_case max_age__disable_enable cleanup
max_age__disable_enable_head()
{
	atf_set descr "an endpoint failing for longer than webhook_max_age" \
	    "(1s here) is disabled and a webhook-disabled event logged (and" \
	    "delivered to an endpoint that asked for it); enable resumes from" \
	    "its cursor and delivers what it missed, in order"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
max_age__disable_enable_body()
{
	local id

	w_start "webhook_max_age = 1s" "webhook_retry_max = 1s"
	id=$(w_add m)
	w_add watch --events webhook-disabled >/dev/null
	echo "status 503 1000000" >"${RX}/m.mode"
	goip_webhookd_start "${DIR}"
	w_sms a 3
	w_until_col "${id}" enabled 0
	w_wait watch 1
	jq -e "select(.event == \"webhook-disabled\") | .data.webhookId == ${id}
	    and .data.lastError == \"HTTP status 503\"" "${RX}/watch.log" \
	    >/dev/null || atf_fail "webhook-disabled: $(cat "${RX}/watch.log")"
	w_ctl webhook list | grep -q "^${id} *disabled" ||
	    atf_fail "list: $(w_ctl webhook list)"
	[ -z "$(w_ids m)" ] || atf_fail "delivered while failing"
	rm -f "${RX}/m.mode"
	w_sms b 2
	atf_check -s exit:0 -o match:"webhook ${id}: enabled" \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook enable "${id}"
	w_wait m 5
	w_expect m "type = 'sms-received'"
	w_until_col "${id}" enabled 1
}
max_age__disable_enable_cleanup()
{
	w_cleanup
}

atf_test_case secret__test_list_api cleanup
secret__test_list_api_head()
{
	atf_set descr "webhook test sends a signed ping and reports it;" \
	    "webhook secret rotates the key and later deliveries are signed" \
	    "with it; disable stops deliveries; remove forgets the endpoint;" \
	    "GET /api/webhooks shows state and lag (dashboard auth) and" \
	    "never a secret"
	atf_set require.progs "curl jq lighttpd python3 sqlite3"
	atf_set timeout 60
}
secret__test_list_api_body()
{
	local id cred

	w_start
	id=$(w_add s --events sms-received)
	cp "${RX}/s.secret" "${DIR}/old.secret"
	goip_webhookd_start "${DIR}"
	atf_check -s exit:0 -o match:"webhook ${id}: ping delivered \(HTTP 200\)" \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook test "${id}"
	jq -e 'select(.event == "ping") | .eventId == 0 and .delivery == "0"' \
	    "${RX}/s.log" >/dev/null || atf_fail "no ping logged"
	w_ctl webhook secret "${id}" >"${DIR}/secret.out" ||
	    atf_fail "secret: $(cat "${DIR}/secret.out")"
	tail -n 1 "${DIR}/secret.out" >"${RX}/s.secret"
	cmp -s "${RX}/s.secret" "${DIR}/old.secret" && atf_fail "same secret"
	# The ping is read with the new secret from the same row.
	atf_check -s exit:0 -o match:"ping delivered" \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook test "${id}"
	w_sms a 2
	w_wait s 2
	w_expect s "type = 'sms-received'"

	cred=$(goip_credentials "${DIR}")
	curl -s -m 10 -u "${cred}" -o "${DIR}/api.out" "${LURL}/api/webhooks" ||
	    atf_fail "GET /api/webhooks failed"
	jq -e ".[0].id == ${id} and .[0].state == \"ok\" and .[0].lagEvents == 0
	    and .[0].delivered == 2 and (.[0] | has(\"secret\") | not)" \
	    "${DIR}/api.out" >/dev/null || atf_fail "api: $(cat "${DIR}/api.out")"
	grep -q -F -f "${RX}/s.secret" "${DIR}/api.out" &&
	    atf_fail "the API shows the secret"
	grep -q -F -f "${RX}/s.secret" "${DIR}/webhookd.log" &&
	    atf_fail "the secret was logged"
	[ "$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
	    "${LURL}/api/webhooks")" = 401 ] || atf_fail "API without auth"

	atf_check -s exit:0 -o match:disabled \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook disable "${id}"
	until grep -q "endpoint ${id}: disabled" "${DIR}/webhookd.log"; do
		sleep 0.1
	done
	w_sms b 1
	atf_check -s exit:0 -o match:removed \
	    "${GOIP_CTL}" -c "${DIR}/goip.conf" webhook remove "${id}"
	until grep -q "endpoint ${id}: removed" "${DIR}/webhookd.log"; do
		sleep 0.1
	done
	[ "$(w_ids s | wc -l)" -eq 2 ] || atf_fail "delivered while disabled"
	curl -s -m 10 -u "${cred}" "${LURL}/api/webhooks" | jq -e 'length == 0' \
	    >/dev/null || atf_fail "removed endpoint still listed"
}
secret__test_list_api_cleanup()
{
	w_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case order__kept
	atf_add_test_case retry__500_then_recovers
	atf_add_test_case receiver_down__nothing_lost
	atf_add_test_case kill9__inflight_only
	atf_add_test_case slow__does_not_delay_fast
	atf_add_test_case private__refused
	atf_add_test_case ctl__bad_input
	atf_add_test_case max_age__disable_enable
	atf_add_test_case secret__test_list_api
}
