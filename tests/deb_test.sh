#
# deb_test: the Debian package (debian/, issue 16).  deb__build builds it
# with dpkg-buildpackage from a copy of the distributed sources ("make
# distdir": the source tree may be read-only under make distcheck) and
# checks what it holds; the .deb is cached under /var/tmp by the hash of
# those sources, so the suite's second run reuses it.  deb__install_purge
# installs it on this machine with apt-get (root only), checks the user,
# owners, modes, the conffile, goipctl and a heartbeat through Apache with
# the installed sample and spawn-fcgi, then removes and purges it and checks
# that exactly what the install made is gone.
#

. "${GOIP_SRCDIR:-$(atf_get_srcdir)/..}/tests/lib.subr"

# Per user: a cache root made is not one another user may write.
DEB_CACHE=/var/tmp/goip-dashboard-deb.$(id -u)
PKG=goip-dashboard

# deb_head DESCR [PROGS]: what every case needs, and more programs it
# requires.  A build takes minutes on a busy machine.
deb_head()
{
	atf_set descr "$1"
	atf_set require.progs "dpkg-buildpackage dh dpkg-checkbuilddeps sha256sum flock ${2:-}"
	atf_set timeout 1200
}

# deb_package: set DEB to the path of the .deb of the current sources,
# building it when the cache has none.  Skips when the build dependencies
# are missing.
deb_package()
{
	local src hash work deb

	[ -f "${GOIP_BUILDDIR}/Makefile" ] ||
	    atf_skip "no configured build tree in ${GOIP_BUILDDIR}"
	src=$(pwd)/src
	rm -rf "${src}"
	make -s -C "${GOIP_BUILDDIR}" distdir distdir="${src}" \
	    >distdir.out 2>&1 || atf_fail "make distdir: $(tail -n 5 distdir.out)"
	chmod -R u+w "${src}"
	(cd "${src}" && dpkg-checkbuilddeps) >builddeps.out 2>&1 ||
	    atf_skip "build dependencies missing: $(cat builddeps.out)"
	hash=$(cd "${src}" && find . -type f -print0 | LC_ALL=C sort -z |
	    xargs -0 sha256sum | sha256sum | cut -c1-16)
	mkdir -p "${DEB_CACHE}"
	(
		flock 9
		deb=$(ls "${DEB_CACHE}/${hash}"/${PKG}_*.deb 2>/dev/null | head -n 1)
		[ -z "${deb}" ] || exit 0
		work=$(mktemp -d /var/tmp/goip-deb-build.XXXXXXXX)
		trap 'rm -rf "${work}"' EXIT
		cp -R "${src}" "${work}/${PKG}"
		# The npm packages of the dashboard, already installed from the
		# lockfile here, save the build a download; without them it
		# runs "npm ci" itself.
		for d in "${GOIP_BUILDDIR}/htdocs" "${GOIP_SRCDIR}/htdocs"; do
			if [ -d "${d}/node_modules" ]; then
				cp -R "${d}/node_modules" "${work}/${PKG}/htdocs/"
				break
			fi
		done
		(cd "${work}/${PKG}" && dpkg-buildpackage -us -uc -b) \
		    >"${work}/build.log" 2>&1 || {
			tail -n 40 "${work}/build.log"
			exit 1
		}
		# One package in the cache: the newest sources'.
		rm -rf "${DEB_CACHE:?}"/*/
		mkdir -p "${DEB_CACHE}/${hash}"
		mv "${work}"/${PKG}_*.deb "${DEB_CACHE}/${hash}/"
	) 9>"${DEB_CACHE}/lock" >build.out 2>&1 ||
	    atf_fail "dpkg-buildpackage failed: $(cat build.out)"
	DEB=$(ls "${DEB_CACHE}/${hash}"/${PKG}_*.deb 2>/dev/null | head -n 1)
	[ -n "${DEB}" ] || atf_fail "no package in ${DEB_CACHE}/${hash}"
}

# mode_is PATH OWNER:GROUP MODE: fail unless PATH has that owner and mode.
mode_is()
{
	local got

	got=$(stat -c '%U:%G %a' "$1" 2>&1) || atf_fail "$1: ${got}"
	[ "${got}" = "$2 $3" ] || atf_fail "$1 is ${got}, expected $2 $3"
}

atf_test_case deb__build
deb__build_head()
{
	deb_head "dpkg-buildpackage builds goip-dashboard_*.deb: programs, man pages, units, samples, the dashboard with its npm assets, goip.conf as its conffile, no data"
}
deb__build_body()
{
	local f

	deb_package
	dpkg-deb -c "${DEB}" | awk '{ print $6 }' | sed 's|^\./|/|' >files
	for f in /usr/sbin/goip-cgi /usr/sbin/goip-notifier /usr/sbin/goipctl \
	    /etc/goip/goip.conf \
	    /lib/systemd/system/goip-notifier.service \
	    /lib/systemd/system/goip-cgi.service \
	    /lib/systemd/system/goip-cgi.socket \
	    /usr/lib/tmpfiles.d/goip-dashboard.conf \
	    /usr/share/man/man7/goip-deploy.7.gz \
	    /usr/share/man/man8/goipctl.8.gz \
	    /usr/share/man/man5/goip.conf.5.gz \
	    /usr/share/doc/goip-dashboard/examples/apache-goip.conf \
	    /usr/share/doc/goip-dashboard/examples/lighttpd-goip.conf \
	    /usr/share/doc/goip-dashboard/examples/goip.conf \
	    /usr/share/goip-dashboard/htdocs/index.html \
	    /usr/share/goip-dashboard/htdocs/js/app.js \
	    /usr/share/goip-dashboard/htdocs/vendor/socket.io.min.js \
	    /usr/share/goip-dashboard/htdocs/vendor/uPlot.iife.min.js; do
		grep -qxF "${f}" files || atf_fail "the package lacks ${f}"
	done
	! grep -q '^/var/\|^/run/\|node_modules' files ||
	    atf_fail "the package ships data or npm trees: $(grep '^/var/\|^/run/\|node_modules' files)"
	dpkg-deb -e "${DEB}" control
	[ "$(cat control/conffiles)" = /etc/goip/goip.conf ] ||
	    atf_fail "conffiles: $(cat control/conffiles)"
	grep -q '^Depends:.*adduser' control/control ||
	    atf_fail "no Depends on adduser: $(cat control/control)"
	# Nothing enabled or started by the package.
	! grep -E 'deb-systemd-invoke (start|restart)|systemctl (start|enable)' \
	    control/postinst || atf_fail "postinst starts or enables a unit"
}

atf_test_case deb__install_purge cleanup
deb__install_purge_head()
{
	deb_head "apt-get install of the package creates the goip user, /etc/goip, goip.conf, /var/lib/goip and the database with the documented owners and modes; a heartbeat goes through Apache with the installed sample; an upgrade migrates; remove keeps the data, purge removes exactly what the install made" \
	    "apt-get apache2 spawn-fcgi htpasswd curl sqlite3"
	atf_set require.user root
}
deb__install_purge_body()
{
	local user_before port dir token f m

	deb_package
	! dpkg-query -W -f='${Status}' ${PKG} 2>/dev/null | grep -q 'ok installed' ||
	    atf_skip "${PKG} is installed on this machine: not touching it"
	for f in /etc/goip /var/lib/goip /run/goip; do
		[ ! -e "${f}" ] ||
		    atf_skip "${f} exists already: the package would take it over"
	done
	user_before=$(getent passwd goip || true)
	echo "${user_before}" >user-before
	touch installing

	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${DEB}" >install.out 2>&1 ||
	    atf_fail "apt-get install: $(tail -n 20 install.out)"
	grep -q 'goip.db: created, schema version' install.out ||
	    atf_fail "the install did not create the database: $(tail -n 20 install.out)"

	# The user and the files of goip-deploy(7).
	getent passwd goip >passwd || atf_fail "no user goip"
	[ -n "${user_before}" ] || grep -q ':/var/lib/goip:/usr/sbin/nologin$' passwd ||
	    atf_fail "goip is $(cat passwd)"
	mode_is /etc/goip root:root 755
	mode_is /etc/goip/goip.conf root:goip 640
	mode_is /var/lib/goip goip:goip 750
	mode_is /var/lib/goip/goip.db goip:goip 640
	mode_is /run/goip goip:goip 755
	dpkg-query -W -f='${Conffiles}\n' ${PKG} | grep -q '/etc/goip/goip.conf' ||
	    atf_fail "goip.conf is not a conffile"
	# Installed, neither enabled nor running.
	! pgrep -u goip -x goip-notifier >/dev/null ||
	    atf_fail "the install started goip-notifier"
	atf_check -o match:'/var/lib/goip/goip.db: ok \(schema version [0-9]+\)' \
	    runuser -u goip -- goipctl check
	token=$(runuser -u goip -- goipctl device add goip-01) ||
	    atf_fail "goipctl device add as goip failed"

	# goip-cgi as goip by spawn-fcgi, Apache with the installed sample.
	dir=$(goip_tmpdir)
	echo "${dir}" >instance
	GOIP_CONF=/etc/goip/goip.conf spawn-fcgi -s /run/goip/cgi.sock \
	    -u goip -g goip -U goip -G www-data -M 0660 -F 1 \
	    -P "${dir}/goip-cgi.pid" -- /usr/sbin/goip-cgi \
	    >"${dir}/spawn-fcgi.out" 2>&1 ||
	    atf_fail "spawn-fcgi: $(cat "${dir}/spawn-fcgi.out")"
	htpasswd -B -c -b "${dir}/htpasswd" admin secret-pw >/dev/null 2>&1 ||
	    atf_fail "htpasswd failed"
	chown root:www-data "${dir}/htpasswd"
	chmod 0640 "${dir}/htpasswd"
	port=$(goip_free_port)
	{
		goip_apache_head "${dir}" "${port}"
		echo "Define GOIP_HTPASSWD ${dir}/htpasswd"
		echo "Include /usr/share/doc/goip-dashboard/examples/apache-goip.conf"
	} >"${dir}/httpd.conf"
	apache2 -f "${dir}/httpd.conf" -k start >"${dir}/apache.out" 2>&1 ||
	    atf_fail "apache2: $(cat "${dir}/apache.out" "${dir}/apache-error.log" 2>/dev/null)"
	goip_wait_port "${port}"
	atf_check -o inline:200 curl -s -o body -w '%{http_code}' --max-time 10 \
	    -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' \
	    -d '{"battery": 81, "signal": 64}' \
	    "http://127.0.0.1:${port}/api/device/heartbeat"
	[ "$(sqlite3 /var/lib/goip/goip.db "SELECT status || ',' || battery
	    FROM devices WHERE device_id = 'goip-01'")" = "online,81" ] ||
	    atf_fail "the heartbeat is not stored: $(cat body)"
	atf_check -o inline:200 curl -s -o body -w '%{http_code}' --max-time 10 \
	    -u admin:secret-pw "http://127.0.0.1:${port}/api/devices"
	grep -q '"goip-01"' body || atf_fail "GET /api/devices: $(cat body)"
	atf_check -o inline:200 curl -s -o /dev/null -w '%{http_code}' \
	    --max-time 10 -u admin:secret-pw "http://127.0.0.1:${port}/"
	# Every file the database has is goip's, the -wal and -shm included.
	for f in /var/lib/goip/*; do
		mode_is "${f}" goip:goip 640
	done
	goip_kill_pidfile "${dir}/apache.pid"
	goip_kill_pidfile "${dir}/goip-cgi.pid"

	# An upgrade (here: the same version again) migrates the database it
	# finds, keeping its data.
	DEBIAN_FRONTEND=noninteractive dpkg -i "${DEB}" >upgrade.out 2>&1 ||
	    atf_fail "dpkg -i again: $(tail -n 20 upgrade.out)"
	grep -q 'goip.db: 0 migrations applied' upgrade.out ||
	    atf_fail "the upgrade did not migrate: $(tail -n 20 upgrade.out)"
	[ "$(sqlite3 /var/lib/goip/goip.db "SELECT battery FROM devices
	    WHERE device_id = 'goip-01'")" = 81 ] ||
	    atf_fail "the upgrade lost the device"
	mode_is /var/lib/goip/goip.db goip:goip 640

	# Remove keeps the data and the configuration.
	dpkg -L ${PKG} | sort >package-files
	DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ${PKG} \
	    >remove.out 2>&1 || atf_fail "apt-get remove: $(tail -n 20 remove.out)"
	[ -f /var/lib/goip/goip.db ] || atf_fail "remove deleted the database"
	[ -f /etc/goip/goip.conf ] || atf_fail "remove deleted goip.conf"
	[ ! -e /usr/sbin/goip-cgi ] || atf_fail "remove left /usr/sbin/goip-cgi"

	# Purge removes what the install made, and only that.
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${PKG} \
	    >purge.out 2>&1 || atf_fail "apt-get purge: $(tail -n 20 purge.out)"
	rm -f installing
	for f in /etc/goip /var/lib/goip /run/goip; do
		[ ! -e "${f}" ] || atf_fail "purge left ${f}: $(ls -la "${f}")"
	done
	while read -r f; do
		[ -d "${f}" ] && continue
		[ ! -e "${f}" ] || atf_fail "purge left ${f}"
	done <package-files
	! dpkg-statoverride --list | grep -q /etc/goip ||
	    atf_fail "purge left a statoverride: $(dpkg-statoverride --list | grep /etc/goip)"
	if [ -n "${user_before}" ]; then
		[ "$(getent passwd goip)" = "${user_before}" ] ||
		    atf_fail "purge changed the user goip it did not create"
	else
		! getent passwd goip >/dev/null ||
		    atf_fail "purge left the user goip it created"
		! getent group goip >/dev/null ||
		    atf_fail "purge left the group goip it created"
	fi
}
deb__install_purge_cleanup()
{
	local dir

	if [ -f instance ]; then
		dir=$(cat instance)
		goip_kill_pidfile "${dir}/apache.pid"
		goip_kill_pidfile "${dir}/goip-cgi.pid"
	fi
	# A failed case leaves the machine as it found it all the same.
	if [ -f installing ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${PKG} \
		    >/dev/null 2>&1 || true
		if [ -f user-before ] && [ ! -s user-before ] &&
		    getent passwd goip >/dev/null; then
			deluser --system --quiet goip >/dev/null 2>&1 || true
			delgroup --system --quiet goip >/dev/null 2>&1 || true
		fi
		rm -rf /var/lib/goip /run/goip
	fi
	goip_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case deb__build
	atf_add_test_case deb__install_purge
}
