#
# notifier_compliance_test: goip-notifier in protocol compliance mode (-C)
# against the official socket.io-client (tests/node/compliance.cjs), and
# against bad input: malformed packets, unknown sessions, oversized bodies
# and frames, floods of handshakes. The official protocol test suites are
# run by hand (see goip-notifier(8)); these cases keep what they check.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"
. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/notifier_lib.subr"

# client_case NAME DESCR: define a case that runs compliance.cjs NAME.
client_case()
{
	eval "
atf_test_case compliance__$1 cleanup
compliance__$1_head()
{
	atf_set descr '$2'
	atf_set require.progs 'node curl'
}
compliance__$1_body()
{
	notifier_node_setup
	notifier_compliance_start
	atf_check -s exit:0 -o match:'ok' -e empty node \
	    \"\${GOIP_SRCDIR}/tests/node/compliance.cjs\" \
	    \"http://127.0.0.1:\${PORT}\" $1
	notifier_alive
}
compliance__$1_cleanup()
{
	goip_kill_pidfile notifier.pid
}
"
}

client_case polling "socket.io-client over HTTP long-polling only: auth, message-back"
client_case websocket "socket.io-client over WebSocket only: auth, message-back"
client_case upgrade "socket.io-client upgrading from polling to WebSocket"
client_case ack "socket.io-client ack with the same arguments"
client_case binary "socket.io-client binary attachments in an ack and an event"
client_case namespace "socket.io-client on the custom namespace"

atf_test_case slow_client cleanup
slow_client_head()
{
	atf_set descr "A client that never reads is disconnected once its queued output exceeds the bound; the daemon stays up"
	atf_set require.progs "node curl"
}
slow_client_body()
{
	local i

	notifier_node_setup
	notifier_compliance_start
	# The client's blind pongs race the 200 ms ping timeout of compliance
	# mode; on a loaded machine a session may end by ping timeout instead,
	# so try a few sessions.
	for i in 1 2 3 4 5; do
		atf_check -o match:'^closed 400' node \
		    "${GOIP_SRCDIR}/tests/node/slow.cjs" \
		    "http://127.0.0.1:${PORT}/engine.io/?EIO=4&transport=polling" 20
		grep -q 'slow client disconnected' notifier.log && break
	done
	grep -q 'slow client disconnected' notifier.log ||
	    atf_fail "not disconnected as slow: $(cat notifier.log)"
	notifier_alive
	atf_check -o match:'^0\{"sid"' curl -s \
	    "http://127.0.0.1:${PORT}/engine.io/?EIO=4&transport=polling"
}
slow_client_cleanup()
{
	goip_kill_pidfile notifier.pid
}

atf_test_case bad_input cleanup
bad_input_head()
{
	atf_set descr "Malformed packets, unknown sids, oversized bodies, bad WebSocket handshakes and a flood of handshakes leave the daemon up"
	atf_set require.progs "curl"
}
bad_input_body()
{
	local base sid i

	notifier_compliance_start
	base="http://127.0.0.1:${PORT}/engine.io/?EIO=4&transport=polling"
	atf_check -o inline:"400" curl -s -o /dev/null -w '%{http_code}' \
	    "${base}&sid=nosuchsession"
	atf_check -o match:'"code":1' curl -s "${base}&sid=nosuchsession"
	atf_check -o match:'"code":5' curl -s \
	    "http://127.0.0.1:${PORT}/engine.io/?EIO=3&transport=polling"
	sid=$(curl -s "${base}" | sed 's/.*"sid":"\([^"]*\)".*/\1/')
	[ -n "${sid}" ] || atf_fail "no handshake"
	atf_check -o inline:"400" curl -s -o /dev/null -w '%{http_code}' \
	    -d 'x' "${base}&sid=${sid}"
	sid=$(curl -s "${base}" | sed 's/.*"sid":"\([^"]*\)".*/\1/')
	head -c 1100000 /dev/zero | tr '\0' '4' >big
	atf_check -o inline:"413" curl -s -o /dev/null -w '%{http_code}' \
	    --data-binary @big "${base}&sid=${sid}"
	atf_check -o inline:"400" curl -s -o /dev/null -w '%{http_code}' \
	    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: short' \
	    "http://127.0.0.1:${PORT}/engine.io/?EIO=4&transport=websocket"
	printf 'X-Big: %s\n' "$(head -c 20000 /dev/zero | tr '\0' a)" >bighdr
	atf_check -o inline:"431" curl -s -o /dev/null -w '%{http_code}' \
	    -H @bighdr "${base}"
	printf 'GARBAGE\r\n\r\n' >garbage
	curl -s --max-time 2 telnet://127.0.0.1:${PORT} <garbage >/dev/null 2>&1
	for i in $(seq 1 200); do
		echo "url = \"${base}\""
		echo "output = /dev/null"
	done >flood
	atf_check curl -s -K flood
	notifier_alive
	atf_check -o match:'^0\{"sid"' curl -s "${base}"
}
bad_input_cleanup()
{
	goip_kill_pidfile notifier.pid
}

atf_init_test_cases()
{
	atf_add_test_case compliance__polling
	atf_add_test_case compliance__websocket
	atf_add_test_case compliance__upgrade
	atf_add_test_case compliance__ack
	atf_add_test_case compliance__binary
	atf_add_test_case compliance__namespace
	atf_add_test_case slow_client
	atf_add_test_case bad_input
}
