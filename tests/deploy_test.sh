#
# deploy_test: the README's hand path on this machine (issue 16).  The shell
# blocks of README.md's "By hand" section marked "<!-- deploy-test: NAME -->"
# are this test's input: they run as written, as root, with their absolute
# paths moved under a temporary root, so the README and the test cannot
# drift.  Then Apache (the installed sample as README includes it, with
# spawn-fcgi's goip-cgi) and lighttpd (var.goip_cgi = "": the same goip-cgi)
# each carry a device heartbeat, the dashboard's API and the real-time
# long-poll, running as www-data.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# readme_block NAME: print the shell block of README.md marked NAME.
readme_block()
{
	awk -v tag="<!-- deploy-test: $1 -->" '
	    $0 == tag { want = 1; next }
	    want && /^```sh$/ { inblock = 1; next }
	    inblock && /^```$/ { exit }
	    inblock { print }' "${GOIP_SRCDIR}/README.md"
}

# deploy_run NAME: run README block NAME with its paths under ${T}.
deploy_run()
{
	readme_block "$1" >"$1.readme"
	[ -s "$1.readme" ] || atf_fail "README.md has no block deploy-test: $1"
	sed -e "s|/usr/share/doc/goip-dashboard/examples/|${T}/examples/|g" \
	    -e "s|/usr/sbin/|${T}/sbin/|g" \
	    -e "s|/etc/goip|${T}/etc/goip|g" \
	    -e "s|/var/lib/goip|${T}/var/lib/goip|g" \
	    -e "s|/run/goip|${T}/run/goip|g" \
	    -e 's|^htpasswd -B -c \([^ ]*\) admin$|htpasswd -B -c -b \1 admin "${PW}"|' \
	    "$1.readme" >"$1.sh"
	(set -ex; . "./$1.sh") >"$1.out" 2>&1 ||
	    atf_fail "README block $1 failed: $(tail -n 15 "$1.out")"
}

# through PORT BATTERY: a heartbeat reporting BATTERY, the device list and
# the long-poll through the web server on PORT.
through()
{
	local port="$1" battery="$2"

	goip_wait_port "${port}"
	atf_check -o inline:200 curl -s -o body -w '%{http_code}' --max-time 10 \
	    -H "Authorization: Bearer ${TOKEN}" \
	    -H 'Content-Type: application/json' -d "{\"battery\": ${battery}}" \
	    "http://127.0.0.1:${port}/api/device/heartbeat"
	[ "$(sqlite3 "${T}/var/lib/goip/goip.db" "SELECT battery FROM devices
	    WHERE device_id = 'goip-01'")" = "${battery}" ] ||
	    atf_fail "the heartbeat through port ${port} is not stored"
	atf_check -o inline:401 curl -s -o /dev/null -w '%{http_code}' \
	    --max-time 10 "http://127.0.0.1:${port}/api/devices"
	atf_check -o inline:200 curl -s -o body -w '%{http_code}' --max-time 10 \
	    -u "admin:${PW}" "http://127.0.0.1:${port}/api/devices"
	grep -q '"goip-01"' body || atf_fail "GET /api/devices: $(cat body)"
	atf_check -o inline:200 curl -s -o body -w '%{http_code}' --max-time 10 \
	    -u "admin:${PW}" "http://127.0.0.1:${port}/api/events?since=0&wait=0"
	grep -q 'device-heartbeat' body ||
	    atf_fail "GET /api/events through the notifier: $(cat body)"
}

atf_test_case hand_path cleanup
hand_path_head()
{
	atf_set descr "README's hand path (user, directories, goip.conf, goipctl init as goip, htpasswd -c readable by the web server only, goip-notifier and spawn-fcgi as goip) serves a heartbeat, the API and the real-time long-poll through Apache and lighttpd running as www-data"
	atf_set require.user root
	atf_set require.progs "adduser runuser spawn-fcgi htpasswd apache2 lighttpd curl sqlite3 ss"
	atf_set timeout 300
}
hand_path_body()
{
	local port m

	T=$(goip_tmpdir)
	PW=pw-$$-${RANDOM}
	export T PW
	getent passwd goip >user-before || : >user-before
	mkdir -p "${T}/sbin" "${T}/examples" "${T}/run"
	install -m 0755 "${GOIP_CGI}" "${GOIP_CTL}" "${GOIP_NOTIFIER}" "${T}/sbin/"
	export PATH="${T}/sbin:${PATH}"
	export GOIP_CONF="${T}/etc/goip/goip.conf"
	# The sample goip.conf, with the test root's paths, and "user = goip"
	# as README says for starting without systemd.
	{
		cat "${GOIP_SRCDIR}/etc/goip.conf"
		echo "database = ${T}/var/lib/goip/goip.db"
		echo "notify_socket = ${T}/run/goip/notify.sock"
		echo "listen = ${T}/run/goip/notifier.sock"
		echo "user = goip"
	} >"${T}/examples/goip.conf"
	cp -R "${GOIP_SRCDIR}/htdocs" "${T}/htdocs"
	rm -rf "${T}/htdocs/node_modules"

	deploy_run setup
	mode_is() {
		[ "$(stat -c '%U:%G %a' "$1")" = "$2 $3" ] ||
		    atf_fail "$1 is $(stat -c '%U:%G %a' "$1"), expected $2 $3"
	}
	mode_is "${T}/etc/goip" root:root 755
	mode_is "${T}/etc/goip/goip.conf" root:goip 640
	mode_is "${T}/etc/goip/htpasswd" root:www-data 640
	mode_is "${T}/var/lib/goip" goip:goip 750
	mode_is "${T}/var/lib/goip/goip.db" goip:goip 640
	TOKEN=$(goipctl device add goip-01) || atf_fail "goipctl device add"

	deploy_run start
	# The pids README's commands started, for the cleanup.
	sed -n 's/.*PID: *\([0-9]*\).*/\1/p' start.out >"${T}/goip-cgi.pid"
	[ -s "${T}/goip-cgi.pid" ] || atf_fail "spawn-fcgi said no pid: $(cat start.out)"
	until [ -S "${T}/run/goip/notifier.sock" ]; do sleep 0.1; done
	# (It binds under a temporary name, then renames: ss shows that name.)
	ss -xlpn | grep -F "${T}/run/goip/" | grep -F '"goip-notifier"' |
	    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1 >"${T}/notifier.pid"
	[ -s "${T}/notifier.pid" ] || atf_fail "no notifier listens"
	[ "$(ps -o user= -p "$(cat "${T}/notifier.pid")")" = goip ] ||
	    atf_fail "the notifier does not run as goip"
	[ "$(ps -o user= -p "$(cat "${T}/goip-cgi.pid")")" = goip ] ||
	    atf_fail "goip-cgi does not run as goip"
	mode_is "${T}/run/goip/notifier.sock" goip:www-data 660
	mode_is "${T}/run/goip/cgi.sock" goip:www-data 660

	# Apache, running as www-data, with the sample included as README says.
	port=$(goip_free_port)
	{
		goip_apache_head "${T}" "${port}"
		echo "Define GOIP_FCGI_SOCKET ${T}/run/goip/cgi.sock"
		echo "Define GOIP_HTDOCS ${T}/htdocs"
		echo "Define GOIP_HTPASSWD ${T}/etc/goip/htpasswd"
		echo "Define GOIP_NOTIFIER_SOCKET ${T}/run/goip/notifier.sock"
		echo "Include ${GOIP_SRCDIR}/etc/apache-goip.conf"
	} >"${T}/httpd.conf"
	apache2 -f "${T}/httpd.conf" -k start >apache.out 2>&1 ||
	    atf_fail "apache2: $(cat apache.out "${T}/apache-error.log" 2>/dev/null | tr '\n' ' ')"
	through "${port}" 41
	goip_kill_pidfile "${T}/apache.pid"

	# lighttpd, as www-data, connecting to the same goip-cgi.  It opens
	# its error log after dropping root.
	port=$(goip_free_port)
	install -d -o www-data -g www-data -m 0755 "${T}/www"
	cat >"${T}/lighttpd.conf" <<EOF
server.bind           = "127.0.0.1"
server.port           = ${port}
server.username       = "www-data"
server.groupname      = "www-data"
server.pid-file       = "${T}/lighttpd.pid"
server.errorlog       = "${T}/www/lighttpd-error.log"
mimetype.assign       = ( ".html" => "text/html; charset=utf-8" )
var.goip_cgi           = ""
var.goip_conf          = "${T}/etc/goip/goip.conf"
var.goip_htdocs        = "${T}/htdocs"
var.goip_htpasswd      = "${T}/etc/goip/htpasswd"
var.goip_notifier_socket = "${T}/run/goip/notifier.sock"
var.goip_fcgi_socket   = "${T}/run/goip/cgi.sock"
var.goip_procs         = 1
include "${GOIP_SRCDIR}/etc/lighttpd-goip.conf"
EOF
	lighttpd -f "${T}/lighttpd.conf" >lighttpd.out 2>&1 ||
	    atf_fail "lighttpd: $(cat lighttpd.out "${T}/www/lighttpd-error.log" 2>/dev/null | tr '\n' ' ')"
	through "${port}" 42
}
hand_path_cleanup()
{
	local d

	if [ -f goip-tmpdirs ]; then
		while read -r d; do
			goip_kill_pidfile "${d}/apache.pid"
			goip_kill_pidfile "${d}/lighttpd.pid"
			goip_kill_pidfile "${d}/goip-cgi.pid"
			goip_kill_pidfile "${d}/notifier.pid"
		done <goip-tmpdirs
	fi
	# The user README's adduser made, unless it was there before.
	if [ -f user-before ] && [ ! -s user-before ] &&
	    getent passwd goip >/dev/null; then
		deluser --system --quiet goip >/dev/null 2>&1 || true
		delgroup --system --quiet goip >/dev/null 2>&1 || true
	fi
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case hand_path
}
