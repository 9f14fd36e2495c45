#
# dashboard_test: the dashboard (htdocs/) in headless Chromium, driven by
# playwright-core (tests/browser/), against a whole local stack: lighttpd
# with etc/lighttpd-goip.conf, goip-cgi and goip-notifier on free loopback
# ports.  Each case starts its own stack and runs one case of
# tests/browser/dashboard.mjs.
#
# Needs: Debian's chromium, node, the npm packages of tests/browser
# ("npm ci" there, done by "make check") and the browser builds in
# htdocs/vendor ("make").  Screenshots go to $GOIP_ARTIFACTS, by default
# tests/browser/artifacts in the build tree.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# The scripts run next to their node_modules: in the source tree (in-tree
# build, "npm ci" there), else copied into the build tree, where make check
# installs playwright-core for a VPATH build (make distcheck).
BROWSER_DIR="${GOIP_SRCDIR}/tests/browser"
if [ ! -d "${BROWSER_DIR}/node_modules" ] &&
    [ -d "${GOIP_BUILDDIR}/tests/browser/node_modules" ]; then
	BROWSER_DIR="${GOIP_BUILDDIR}/tests/browser"
	cp "${GOIP_SRCDIR}/tests/browser/lib.mjs" \
	    "${GOIP_SRCDIR}/tests/browser/dashboard.mjs" "${BROWSER_DIR}/"
fi
DEVICES="goip-01 goip-02 goip-03"

# dash_head [TIMEOUT [PROGS]]: what every case needs (default timeout 180 s),
# and more programs it requires.
dash_head()
{
	atf_set require.progs "node lighttpd /usr/bin/chromium ${2:-}"
	atf_set timeout "${1:-180}"
}

# dash_check_tools: skip or fail before starting anything when a part of
# the test environment is missing.
dash_check_tools()
{
	[ -x "${GOIP_NOTIFIER}" ] ||
	    atf_skip "goip-notifier is not built (${GOIP_NOTIFIER})"
	[ -x "${GOIP_CGI}" ] || atf_skip "goip-cgi is not built"
	[ -f "${BROWSER_DIR}/node_modules/playwright-core/package.json" ] ||
	    atf_skip "playwright-core is not installed: npm ci in tests/browser (make check does it)"
}

# dash_start [N]: an instance with three devices (or N devices dev-0001...,
# registered two at a time), lighttpd and the notifier; exports what
# tests/browser/lib.mjs reads.
dash_start()
{
	local port id token tokens="" vendor n="${1:-}"

	dash_check_tools
	DIR=$(goip_tmpdir)
	goip_instance "${DIR}"
	# The browser builds: from the build tree (VPATH build) or the
	# source tree (in-tree build, or "npm ci" in htdocs).
	rm -rf "${DIR}/htdocs/node_modules"
	for vendor in "${GOIP_BUILDDIR}/htdocs/vendor" "${GOIP_SRCDIR}/htdocs/vendor"; do
		if [ -f "${vendor}/socket.io.min.js" ]; then
			mkdir -p "${DIR}/htdocs/vendor"
			cp "${vendor}"/* "${DIR}/htdocs/vendor/"
			break
		fi
	done
	[ -f "${DIR}/htdocs/vendor/socket.io.min.js" ] ||
	    atf_fail "htdocs/vendor is missing: run make (or npm ci in htdocs)"
	if [ -n "${n}" ]; then
		seq -f 'dev-%04g' 1 "${n}" | xargs -P 2 -I{} sh -c \
		    'echo {} $("$1" -c "$2" device add {} | tail -n 1)' sh \
		    "${GOIP_CTL}" "${DIR}/goip.conf" >"${DIR}/tokens" ||
		    atf_fail "registering ${n} devices failed"
		[ "$(awk 'NF == 2' "${DIR}/tokens" | wc -l)" -eq "${n}" ] ||
		    atf_fail "registered fewer than ${n} devices"
		tokens=$(cat "${DIR}/tokens")
	else
		for id in ${DEVICES}; do
			token=$(goip_device_add "${DIR}" "${id}")
			[ -n "${token}" ] || atf_fail "no token for ${id}"
			tokens="${tokens}${id} ${token}
"
		done
	fi
	goip_notifier_start "${DIR}"
	port=$(goip_free_port)
	goip_lighttpd_start "${DIR}" "${port}" 2

	export GOIP_BASE="http://127.0.0.1:${port}"
	export GOIP_CRED="$(goip_credentials "${DIR}")"
	export GOIP_TOKENS="${tokens}"
	export GOIP_ARTIFACTS="${GOIP_ARTIFACTS:-${GOIP_BUILDDIR}/tests/browser/artifacts}"
	# For the restart case: how to stop and start this notifier.
	export GOIP_NOTIFIER_STOP="atf_fail() { echo \"\$*\" >&2; exit 1; };
	    . '${GOIP_SRCDIR}/tests/lib.subr'; goip_notifier_stop '${DIR}'"
	export GOIP_NOTIFIER_START="atf_fail() { echo \"\$*\" >&2; exit 1; };
	    . '${GOIP_SRCDIR}/tests/lib.subr'; goip_notifier_start '${DIR}'"
	# For the resync case: what "goipctl prune" does to an old log, to
	# every event but the newest.
	export GOIP_PRUNE="sqlite3 '${DIR}/goip.db' 'DELETE FROM events
	    WHERE id < (SELECT max(id) FROM events)'"
}

# dash_run CASE: run one case of dashboard.mjs; fail with its output.
dash_run()
{
	if ! (cd "${BROWSER_DIR}" && node dashboard.mjs "$1") >out 2>err; then
		cat out err
		for f in "${DIR}"/notifier.log "${DIR}"/lighttpd-error.log; do
			[ -f "${f}" ] && { echo "--- ${f}"; tail -n 30 "${f}"; }
		done
		atf_fail "browser case $1 failed: $(grep -m1 FAIL err)"
	fi
	cat out
}

atf_test_case page__loads_clean cleanup
page__loads_clean_head()
{
	atf_set descr "The dashboard loads with no console error, shows every device and the stats, and says Real-time Connected"
	dash_head
}
page__loads_clean_body()
{
	dash_start
	dash_run load
}
page__loads_clean_cleanup()
{
	goip_cleanup
}

atf_test_case page__credentials_url cleanup
page__credentials_url_head()
{
	atf_set descr "Opened as http://user:pass@host/, the dashboard loads the fleet (no fetch is relative to the credentialed URL) and goes live"
	dash_head
}
page__credentials_url_body()
{
	dash_start
	dash_run credentials_url
}
page__credentials_url_cleanup()
{
	goip_cleanup
}

atf_test_case page__load_failed_indicator cleanup
page__load_failed_indicator_head()
{
	atf_set descr "While the fleet fails to load the indicator says Data Load Failed, not Real-time Connected, and the page retries until it loads"
	dash_head
}
page__load_failed_indicator_body()
{
	dash_start
	dash_run load_failed
}
page__load_failed_indicator_cleanup()
{
	goip_cleanup
}

atf_test_case heartbeat__live_update cleanup
heartbeat__live_update_head()
{
	atf_set descr "A heartbeat posted by a device shows in its fleet row within one second, without a reload"
	dash_head
}
heartbeat__live_update_body()
{
	dash_start
	dash_run heartbeat
}
heartbeat__live_update_cleanup()
{
	goip_cleanup
}

atf_test_case sms__live_feed cleanup
sms__live_feed_head()
{
	atf_set descr "A received SMS shows at the top of the live feed with its text intact"
	dash_head
}
sms__live_feed_body()
{
	dash_start
	dash_run sms
}
sms__live_feed_cleanup()
{
	goip_cleanup
}

atf_test_case sms__markup_is_text cleanup
sms__markup_is_text_head()
{
	atf_set descr "An SMS text <img src=x onerror=alert(1)> shows literally and creates or runs nothing"
	dash_head
}
sms__markup_is_text_body()
{
	dash_start
	dash_run xss
}
sms__markup_is_text_cleanup()
{
	goip_cleanup
}

atf_test_case device__page_room cleanup
device__page_room_head()
{
	atf_set descr "The device page joins and leaves the device room, draws its charts and follows heartbeats and SMS"
	dash_head
}
device__page_room_body()
{
	dash_start
	dash_run device
}
device__page_room_cleanup()
{
	goip_cleanup
}

atf_test_case device__chart_one_heartbeat cleanup
device__chart_one_heartbeat_head()
{
	atf_set descr "With one heartbeat the device page's charts show about the hour around it, with its point drawn (not an axis spanning years and nothing on it)"
	dash_head
}
device__chart_one_heartbeat_body()
{
	dash_start
	dash_run chart
}
device__chart_one_heartbeat_cleanup()
{
	goip_cleanup
}

atf_test_case send__form_and_status cleanup
send__form_and_status_head()
{
	atf_set descr "The device page's send form queues an SMS, and the device's lease and delivery report show as its status, live"
	dash_head
}
send__form_and_status_body()
{
	dash_start
	dash_run send
}
send__form_and_status_cleanup()
{
	goip_cleanup
}

atf_test_case send__retry_same_key cleanup
send__retry_same_key_head()
{
	atf_set descr "A send whose answer is lost to a network error, clicked again, carries the same Idempotency-Key and queues one SMS; a new message gets a new key"
	dash_head
}
send__retry_same_key_body()
{
	dash_start
	dash_run retry
}
send__retry_same_key_cleanup()
{
	goip_cleanup
}

atf_test_case notifier__restart_fallback cleanup
notifier__restart_fallback_head()
{
	atf_set descr "With the notifier stopped the page says so and keeps updating by polling; restarted, it is Real-time Connected again and shows every SMS exactly once"
	dash_head
}
notifier__restart_fallback_body()
{
	dash_start
	dash_run restart
}
notifier__restart_fallback_cleanup()
{
	goip_cleanup
}

atf_test_case notifier__resync_after_prune cleanup
notifier__resync_after_prune_head()
{
	atf_set descr "When the events a page missed were pruned, it gets resync, reloads its state and shows each SMS once"
	dash_head 180 sqlite3
}
notifier__resync_after_prune_body()
{
	dash_start
	dash_run resync
}
notifier__resync_after_prune_cleanup()
{
	goip_cleanup
}

atf_test_case socket__blocked_longpoll cleanup
socket__blocked_longpoll_head()
{
	atf_set descr "With the Socket.IO path blocked the page says Connection Error and follows events through the /api/events long-poll"
	dash_head
}
socket__blocked_longpoll_body()
{
	dash_start
	dash_run polling
}
socket__blocked_longpoll_cleanup()
{
	goip_cleanup
}

atf_test_case screenshots__fleet_and_device cleanup
screenshots__fleet_and_device_head()
{
	atf_set descr "Screenshots of the fleet view, a device page and the phone layout are written as artifacts"
	dash_head
}
screenshots__fleet_and_device_body()
{
	dash_start
	dash_run screenshots
	for f in fleet.png device.png fleet-phone.png; do
		[ -s "${GOIP_ARTIFACTS}/${f}" ] || atf_fail "${f} was not written"
	done
}
screenshots__fleet_and_device_cleanup()
{
	goip_cleanup
}

atf_test_case page__accessible cleanup
page__accessible_head()
{
	atf_set descr "axe-core finds no WCAG 2.1 A/AA violation (labels, table semantics, contrast) on the fleet view and a device page, light and dark"
	dash_head
}
page__accessible_body()
{
	dash_start
	dash_run a11y
}
page__accessible_cleanup()
{
	goip_cleanup
}

atf_test_case scale__1000_devices_10000_sms cleanup
scale__1000_devices_10000_sms_head()
{
	atf_set descr "With 1,000 devices and 10,000 SMS the page loads, stays live through a burst of 400 heartbeats and pages through every SMS"
	dash_head 600
}
scale__1000_devices_10000_sms_body()
{
	# The sanitizer build (quickstart test --sanitizers) repeats the
	# suite; the load case is about the page, not the programs: once is
	# enough.
	[ -z "${ASAN_OPTIONS:-}" ] ||
	    atf_skip "runs in the normal build only (ASan/UBSan build detected)"
	dash_start 1000
	dash_run scale
}
scale__1000_devices_10000_sms_cleanup()
{
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case page__loads_clean
	atf_add_test_case page__credentials_url
	atf_add_test_case page__load_failed_indicator
	atf_add_test_case heartbeat__live_update
	atf_add_test_case sms__live_feed
	atf_add_test_case sms__markup_is_text
	atf_add_test_case device__page_room
	atf_add_test_case device__chart_one_heartbeat
	atf_add_test_case send__form_and_status
	atf_add_test_case send__retry_same_key
	atf_add_test_case notifier__restart_fallback
	atf_add_test_case notifier__resync_after_prune
	atf_add_test_case socket__blocked_longpoll
	atf_add_test_case screenshots__fleet_and_device
	atf_add_test_case page__accessible
	atf_add_test_case scale__1000_devices_10000_sms
}
