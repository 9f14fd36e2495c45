#
# hostile_test: the stack under hostile clients and strangers (issue 11).
# Each case is self-contained and runs the real programs (goip-notifier,
# lighttpd or Apache with the etc/ samples) on 127.0.0.1 and Unix sockets.
#
# trust__*: who may reach the notifier: its Unix socket's mode and group,
# no events without the web server's authentication, no DNS rebinding, no
# "*" CORS with credentials, no silent root.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

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
	printf '%s' "${body}" |
	    GOIP_CONF="${DIR}/goip.conf" REQUEST_METHOD=POST \
	    PATH_INFO=/api/sms/receive CONTENT_TYPE=application/json \
	    CONTENT_LENGTH=${#body} HTTP_AUTHORIZATION="Bearer ${T1}" \
	    "${GOIP_CGI}" >cgi.out 2>&1
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

atf_init_test_cases()
{
	atf_add_test_case trust__unix_socket_mode
	atf_add_test_case trust__no_credentials
	atf_add_test_case trust__host_rebinding
	atf_add_test_case trust__cors_star_refused
	atf_add_test_case trust__root_refused
	atf_add_test_case trust__events_405_json
}
