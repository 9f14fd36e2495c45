#
# hostile_test: goip-dashboard under hostile clients and a hostile host
# (issue 11).  Each part of the issue adds its cases here, named after it.
# Everything listens on 127.0.0.1 or on Unix sockets only.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# --- deploy: nothing runs as root, secrets stay secret, hardened builds ------

# d_procs DIR: print the pids of the processes whose command line names a
# file under DIR (lighttpd -f DIR/lighttpd.conf, DIR/bin/goip-cgi,
# DIR/bin/goip-notifier -c DIR/goip.conf), one per line.  The pattern is
# read from a file so that grep's own command line does not match.
d_procs()
{
	printf '%s/\n' "$1" >procs.pattern
	grep -l -a -F -f procs.pattern /proc/[0-9]*/cmdline 2>/dev/null |
	    sed 's|^/proc/\([0-9]*\)/cmdline$|\1|'
	return 0
}

# d_comm PID: print the program name of PID ("" when it is gone).
d_comm()
{
	cat "/proc/$1/comm" 2>/dev/null
}

# d_mode FILE: print FILE's permission bits in octal, e.g. 600.
d_mode()
{
	stat -c %a "$1"
}

# d_quickstart_stop: SIGTERM the quickstart started by the case (its pid in
# quickstart.pid of the work directory) and wait up to 10 s for it to exit.
d_quickstart_stop()
{
	local pid tries=100

	[ -f quickstart.pid ] || return 0
	pid=$(cat quickstart.pid)
	kill -TERM "${pid}" 2>/dev/null
	while goip_pid_alive "${pid}" && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	rm -f quickstart.pid
	! goip_pid_alive "${pid}"
}

# d_quickstart_start STATE PORT: start "quickstart run" on the state
# directory STATE and 127.0.0.1:PORT in the background (output in qs.out and
# qs.err, pid in quickstart.pid, STATE in state.path) and wait until it says
# it is ready.  The tree is built and configured: quickstart must neither
# build nor install anything (GOIP_BUILDDIR), and the source tree may be
# read-only (make distcheck).
d_quickstart_start()
{
	local state="$1" port="$2" tries=300

	echo "${state}" >state.path
	GOIP_BUILDDIR="${GOIP_BUILDDIR}" GOIP_STATE_DIR="${state}" \
	    GOIP_HTTP_PORT="${port}" \
	    "${GOIP_SRCDIR}/quickstart" run >qs.out 2>qs.err &
	echo $! >quickstart.pid
	until grep -q '^Press Ctrl-C to stop' qs.out; do
		goip_pid_alive "$(cat quickstart.pid)" ||
		    atf_fail "quickstart exited: $(cat qs.err)"
		[ "${tries}" -gt 0 ] ||
		    atf_fail "quickstart not ready in 30 s: $(cat qs.err)"
		sleep 0.1
		tries=$((tries - 1))
	done
}

# d_quickstart_end STATE: SIGTERM quickstart; fail unless it and every
# process of the instance in STATE exit within 15 s.
d_quickstart_end()
{
	local state="$1" pid tries=50

	d_quickstart_stop || atf_fail "quickstart did not exit on SIGTERM"
	while [ -n "$(d_procs "${state}")" ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ -z "$(d_procs "${state}")" ] ||
	    atf_fail "left running: $(for pid in $(d_procs "${state}"); do d_comm "${pid}"; done)"
}

# d_quickstart_cleanup: for a cleanup part: stop quickstart and anything of
# its instance still running (after a body that failed), remove the
# instance.
d_quickstart_cleanup()
{
	local pid

	d_quickstart_stop
	if [ -f state.path ]; then
		for pid in $(d_procs "$(cat state.path)"); do
			kill -TERM "${pid}" 2>/dev/null
		done
	fi
	goip_cleanup
}

# d_status URL [CURL-ARGS]: print the HTTP status of a request to URL.
d_status()
{
	local url="$1"

	shift
	curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "${url}"
}

# d_expect STATUS COMMAND [ARG ...]: fail unless COMMAND prints STATUS.
d_expect()
{
	local want="$1" got

	shift
	got=$("$@")
	[ "${got}" = "${want}" ] ||
	    atf_fail "$1 $2: status ${got}, expected ${want}"
}

# d_heartbeat URL TOKEN: print the status of a heartbeat of goip-01.
d_heartbeat()
{
	d_status "$1api/device/heartbeat" -H "Authorization: Bearer $2" \
	    -H 'Content-Type: application/json' \
	    -d '{"deviceId":"goip-01","battery":87,"charging":true,"signal":74,"simSlots":[]}'
}

atf_test_case deploy__quickstart_not_root cleanup
deploy__quickstart_not_root_head()
{
	atf_set descr "quickstart run started as root runs lighttpd, goip-cgi and goip-notifier as the goip user, keeps its state directory and secrets private, never puts the password on a command line, answers the printed heartbeat with 200, and stops everything on SIGTERM"
	atf_set require.user root
	atf_set require.progs "lighttpd htpasswd curl setpriv"
	atf_set timeout 120
}
deploy__quickstart_not_root_body()
{
	local d state port url tok pass pid comm seen="" f uid

	d=$(goip_tmpdir)
	state="${d}/run"
	port=$(goip_free_port)
	d_quickstart_start "${state}" "${port}"

	uid=$(id -u goip) || atf_fail "quickstart created no goip user"
	[ "${uid}" -ne 0 ] || atf_fail "goip is uid 0"

	# Every server runs as goip: real, effective, saved and fs ids, and
	# no capabilities left.
	for pid in $(d_procs "${state}"); do
		comm=$(d_comm "${pid}")
		case "${comm}" in
		lighttpd|goip-cgi|goip-notifier) ;;
		*) continue ;;
		esac
		seen="${seen} ${comm}"
		grep -q -E "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}$" \
		    "/proc/${pid}/status" ||
		    atf_fail "${comm} (${pid}) does not run as goip: $(grep -E '^(Uid|Gid)' "/proc/${pid}/status")"
		grep -q -E '^CapEff:[[:space:]]+0+$' "/proc/${pid}/status" ||
		    atf_fail "${comm} (${pid}) kept capabilities: $(grep CapEff "/proc/${pid}/status")"
	done
	for comm in lighttpd goip-cgi goip-notifier; do
		echo "${seen}" | grep -q -w -- "${comm}" ||
		    atf_fail "no ${comm} process of the instance (saw:${seen})"
	done

	# The state directory and the secrets: owned by goip, nobody else.
	[ "$(stat -c %U "${state}")" = goip ] ||
	    atf_fail "${state} is owned by $(stat -c %U "${state}")"
	case "$(d_mode "${state}")" in
	700|750) ;;
	*) atf_fail "${state} has mode $(d_mode "${state}")" ;;
	esac
	for f in demo-device.token dashboard.credentials htpasswd goip.db \
	    goip.db-wal goip.db-shm; do
		[ -e "${state}/${f}" ] || case "${f}" in
			goip.db-*) continue ;;
			*) atf_fail "${state}/${f} missing" ;;
		esac
		[ "$(stat -c %U "${state}/${f}")" = goip ] ||
		    atf_fail "${f} is owned by $(stat -c %U "${state}/${f}")"
		case "${f}:$(d_mode "${state}/${f}")" in
		*:600|goip.db*:640) ;;
		*) atf_fail "${f} has mode $(d_mode "${state}/${f}")" ;;
		esac
	done

	# The password is on no process's command line (htpasswd -i).
	pass=$(cut -d: -f2 "${state}/dashboard.credentials")
	[ -n "${pass}" ] || atf_fail "no password in dashboard.credentials"
	printf '%s\n' "${pass}" >pass.pattern
	f=$(grep -l -a -F -f pass.pattern /proc/[0-9]*/cmdline 2>/dev/null)
	[ -z "${f}" ] || atf_fail "the password is on the command line of ${f}"
	grep -q -F "Login:       admin:${pass}" qs.out ||
	    atf_fail "quickstart did not print the login"

	# The printed URL and token work: a heartbeat is answered 200, and
	# the dashboard asks for the password.
	url=$(sed -n 's/^  Dashboard: *//p' qs.out)
	[ "${url}" = "http://127.0.0.1:${port}/" ] ||
	    atf_fail "unexpected dashboard URL '${url}'"
	tok=$(sed -n "s/.*Authorization: Bearer \([^']*\)'.*/\1/p" qs.out)
	[ "${tok}" = "$(cat "${state}/demo-device.token")" ] ||
	    atf_fail "the printed token is not the demo device's"
	d_expect 200 d_heartbeat "${url}" "${tok}"
	d_expect 401 d_status "${url}api/devices"
	d_expect 200 d_status "${url}api/devices" -u "admin:${pass}"

	# SIGTERM stops quickstart and every process of the instance.
	d_quickstart_end "${state}"
}
deploy__quickstart_not_root_cleanup()
{
	d_quickstart_cleanup
}

atf_test_case deploy__quickstart_old_state cleanup
deploy__quickstart_old_state_head()
{
	atf_set descr "quickstart run on a state directory left by an older quickstart (root-owned files, world-readable token, credentials and htpasswd) hands it to goip, replaces the exposed token and password (the old ones are refused, the new ones work), rewrites goip.conf and keeps the database"
	atf_set require.user root
	atf_set require.progs "lighttpd htpasswd curl setpriv"
	atf_set timeout 120
}
deploy__quickstart_old_state_body()
{
	local d state port url oldtok oldpass tok pass f

	d=$(goip_tmpdir)
	state="${d}/run"
	port=$(goip_free_port)
	# What the quickstart of issue 11 left: everything root's, secrets
	# 0644, the notifier on TCP.
	mkdir -m 0755 "${state}" || atf_fail "cannot create ${state}"
	printf '%s\n' "database = ${state}/goip.db" \
	    "notify_socket = ${state}/notify.sock" \
	    "listen = 127.0.0.1:$((port + 1))" "dashboard_auth = web" \
	    >"${state}/goip.conf"
	atf_check -o ignore -e ignore "${GOIP_CTL}" -c "${state}/goip.conf" init
	oldtok=$("${GOIP_CTL}" -c "${state}/goip.conf" device add goip-01) ||
	    atf_fail "goipctl device add failed"
	oldtok=$(echo "${oldtok}" | tail -n 1)
	echo "${oldtok}" >"${state}/demo-device.token"
	oldpass="old$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	echo "admin:${oldpass}" >"${state}/dashboard.credentials"
	printf '%s\n' "${oldpass}" |
	    htpasswd -i -cB "${state}/htpasswd" admin 2>/dev/null ||
	    atf_fail "htpasswd failed"
	chmod 0644 "${state}/demo-device.token" \
	    "${state}/dashboard.credentials" "${state}/htpasswd"

	d_quickstart_start "${state}" "${port}"
	grep -q 'new token' qs.err ||
	    atf_fail "no word of the new token: $(cat qs.err)"
	grep -q 'new password' qs.err ||
	    atf_fail "no word of the new password: $(cat qs.err)"
	f=$(find "${state}" ! -user goip | head -n 1)
	[ -z "${f}" ] || atf_fail "${f} is not owned by goip"
	f=$(find "${state}" -perm /o=rwx | head -n 1)
	[ -z "${f}" ] || atf_fail "${f} is accessible to others"
	tok=$(cat "${state}/demo-device.token")
	pass=$(cut -d: -f2 "${state}/dashboard.credentials")
	[ "${tok}" != "${oldtok}" ] || atf_fail "the exposed token was kept"
	[ "${pass}" != "${oldpass}" ] || atf_fail "the exposed password was kept"
	url="http://127.0.0.1:${port}/"
	d_expect 401 d_heartbeat "${url}" "${oldtok}"
	d_expect 200 d_heartbeat "${url}" "${tok}"
	d_expect 401 d_status "${url}api/devices" \
	    -u "admin:${oldpass}"
	d_expect 200 d_status "${url}api/devices" -u "admin:${pass}"
	grep -q -x "listen = ${state}/notifier.sock" "${state}/goip.conf" ||
	    atf_fail "goip.conf was not rewritten: $(cat "${state}/goip.conf")"
	d_quickstart_end "${state}"
}
deploy__quickstart_old_state_cleanup()
{
	d_quickstart_cleanup
}

atf_test_case deploy__systemd_units
deploy__systemd_units_head()
{
	atf_set descr "The systemd units of etc/ pass systemd-analyze verify and confine the programs: user goip, NoNewPrivileges, ProtectSystem=strict, no capabilities, MemoryMax, loopback only for the notifier and no IP at all for goip-cgi"
	atf_set require.progs systemd-analyze
}
deploy__systemd_units_body()
{
	local u d f

	# verify wants the programs of ExecStart to exist: point them at the
	# build tree.
	d="$(pwd)/units"
	mkdir "${d}" || atf_fail "cannot create ${d}"
	for u in goip-notifier.service goip-cgi.service goip-cgi.socket; do
		sed -e "s|/usr/sbin/goip-cgi|${GOIP_CGI}|g" \
		    -e "s|/usr/sbin/goip-notifier|${GOIP_NOTIFIER}|g" \
		    "${GOIP_SRCDIR}/etc/${u}" >"${d}/${u}"
	done
	(cd "${d}" && systemd-analyze verify --man=no goip-cgi.socket \
	    goip-cgi.service goip-notifier.service) >verify.out 2>&1 ||
	    atf_fail "systemd-analyze verify: $(cat verify.out)"
	[ ! -s verify.out ] || atf_fail "systemd-analyze verify: $(cat verify.out)"
	for u in goip-notifier.service goip-cgi.service; do
		for f in User=goip NoNewPrivileges=yes ProtectSystem=strict \
		    ProtectHome=yes PrivateTmp=yes UMask=0007 IPAddressDeny=any \
		    'MemoryMax=[0-9]+[KMG]' 'CapabilityBoundingSet=$' \
		    'RestrictAddressFamilies=AF_UNIX'; do
			grep -q -E "^${f}" "${d}/${u}" || atf_fail "${u} lacks ${f}"
		done
	done
	grep -q -x 'IPAddressAllow=localhost' "${d}/goip-notifier.service" ||
	    atf_fail "goip-notifier.service does not allow localhost"
	! grep -q '^IPAddressAllow=' "${d}/goip-cgi.service" ||
	    atf_fail "goip-cgi.service allows an IP address"
	grep -q -x 'RuntimeDirectory=goip' "${d}/goip-notifier.service" ||
	    atf_fail "goip-notifier.service has no RuntimeDirectory"
	grep -q -x 'SocketMode=0660' "${d}/goip-cgi.socket" ||
	    atf_fail "goip-cgi.socket is not 0660"
}

# d_elf_has BINARY FEATURE: true when BINARY shows FEATURE of configure's
# GOIP_HARDENING list: pie (ELF type DYN), relro (a GNU_RELRO segment), now
# (BIND_NOW), stack-protector (calls __stack_chk_fail), fortify (calls a
# fortified __*_chk function).
d_elf_has()
{
	case "$2" in
	pie)
		readelf -hW "$1" | grep -q -E 'Type:[[:space:]]+DYN'
		;;
	relro)
		readelf -lW "$1" | grep -q GNU_RELRO
		;;
	now)
		readelf -dW "$1" |
		    grep -q -E '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'
		;;
	stack-protector)
		readelf --dyn-syms -W "$1" | grep -q -w __stack_chk_fail
		;;
	fortify)
		readelf --dyn-syms -W "$1" | grep -q -E '__[a-z_]+_chk@'
		;;
	*)
		atf_fail "unknown hardening feature $2"
		;;
	esac
}

atf_test_case deploy__hardened_binaries
deploy__hardened_binaries_head()
{
	atf_set descr "With hardening on (configure's default), goip-cgi, goip-notifier and goipctl are PIE, have full RELRO (GNU_RELRO and BIND_NOW), call __stack_chk_fail and, in an optimised build without sanitizers, fortified _chk functions; a program built without those flags fails the same checks"
	atf_set require.progs "readelf cc"
}
deploy__hardened_binaries_body()
{
	local on b path feature optimised=no

	grep -q '^#define GOIP_HARDENING ' "${GOIP_BUILDDIR}/config.h" ||
	    atf_skip "configured with --disable-hardening"
	on=$(sed -n 's/^#define GOIP_HARDENING "\(.*\)"$/\1/p' \
	    "${GOIP_BUILDDIR}/config.h")
	[ -n "${on}" ] || atf_fail "hardening is on but no flag was accepted"
	# config.h turns _FORTIFY_SOURCE on only when the compiler optimises.
	grep -q -E '^CFLAGS = .*-O[1-3s]' "${GOIP_BUILDDIR}/Makefile" &&
	    optimised=yes
	for b in cgi/goip-cgi notifier/goip-notifier ctl/goipctl; do
		path="${GOIP_BUILDDIR}/${b}"
		[ -x "${path}" ] || atf_fail "${path} not built"
		for feature in ${on}; do
			[ "${feature}" = fortify ] && [ "${optimised}" = no ] &&
			    continue
			d_elf_has "${path}" "${feature}" ||
			    atf_fail "${b} lacks ${feature}"
		done
	done

	# The checks can fail: a program with a buffer and a strcpy, built
	# with every protection off, shows none of them.
	printf '%s\n' '#include <stdio.h>' '#include <string.h>' \
	    'int main(int argc, char **argv) { char b[64];' \
	    'strcpy(b, argc > 1 ? argv[1] : "x"); return puts(b) < 0; }' \
	    >plain.c
	atf_check cc -O2 -U_FORTIFY_SOURCE -fno-stack-protector -fno-pie \
	    -no-pie -Wl,-z,norelro -Wl,-z,lazy -o plain plain.c
	for feature in pie relro now stack-protector fortify; do
		! d_elf_has plain "${feature}" ||
		    atf_fail "the check for ${feature} passes an unprotected program"
	done
}

atf_init_test_cases()
{
	atf_add_test_case deploy__quickstart_not_root
	atf_add_test_case deploy__quickstart_old_state
	atf_add_test_case deploy__systemd_units
	atf_add_test_case deploy__hardened_binaries
}
