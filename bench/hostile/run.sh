#!/bin/bash
#
# bench/hostile/run.sh [BUILDDIR] [replay] [pings] [drip]: hostile clients
# against one build of goip-dashboard, with the latency of an ordinary
# client measured while each attack runs (issue 11).
#
# BUILDDIR is a configured and built tree (make -j2 done), given as the
# first argument or as GOIP_BUILDDIR; the same script measures the build of
# an old commit and of a new one.  Its source directory (for
# etc/apache-goip.conf) is read from BUILDDIR/Makefile.  No scenario named:
# all three.  Every scenario starts fresh servers on a fresh database on
# 127.0.0.1 and stops them afterwards:
#
#   replay  EVENTS heartbeat events are seeded into the log in one SQLite
#           transaction (copies of one real heartbeat event posted through
#           goip-cgi), then goip-notifier is started.  One polling session
#           sends 40{"lastEventId":0} and then one POST of PAIRS
#           join-device-room "nope" / leave-device-room "nope" pairs
#           (Socket.IO event packets in one Engine.IO payload).  Measured:
#           how long that POST takes (capped at ATTACK_CAP s), the
#           notifier's CPU time, and the ordinary client.
#   pings   SESSIONS polling sessions at once each send POSTS payloads of
#           PINGS Engine.IO pings ("2" packets, \x1e-separated: just under
#           1 MB each).  Measured: the notifier's resident memory at start
#           and its peak (VmRSS sampled every 50 ms), its CPU time, and the
#           ordinary client.
#   drip    goip-cgi (spawn-fcgi, GOIP_PROCS processes, as www-data) behind
#           Apache httpd with etc/apache-goip.conf, as tests/lib.subr starts
#           them.  One client sends the headers of a 64 KiB
#           POST /api/sms/receive and then DRIP_CHUNK bytes of its body every
#           100 ms, for at most DRIP_SECONDS s.  Measured: the heartbeats of
#           another device sent meanwhile through Apache, and goip-cgi's
#           CPU time and memory.
#
# The ordinary client (hostile.py probe) sends one request at a time on a
# fresh connection, 50 ms apart, each capped at CAP s: in replay and pings
# GET /api/events?since=LATEST&wait=0 straight to the notifier, in drip
# POST /api/device/heartbeat through Apache.  It starts 1 s before the
# attack and stops 1 s after it ends; the report gives p50 / p99 / max of
# the requests started during the attack (a request that timed out counts
# at CAP), how many were answered, how many timed out, and the longest time
# with no answer at all.
#
# Results: one JSON line per scenario appended to RESULTS (default
# /var/tmp/goip-hostile/results.jsonl) and one Markdown table row per
# scenario on standard output.
#
# Configuration written for both old and new builds: the notifier listens on
# TCP 127.0.0.1 with dashboard_auth = none; "user = root" is added when run
# as root and "device_rate = 0" (no per-device rate limit, so the ordinary
# device measures latency, not the limit), each only when goipctl accepts
# the key.  EXTRA_CONF (lines) is appended to every goip.conf.
#
# Environment (defaults): LABEL (before), EVENTS (100000), PAIRS (3000),
# SESSIONS (16), POSTS (8), PINGS (500000), CAP (10), ATTACK_CAP (60),
# DRIP_SECONDS (30), DRIP_CHUNK (4), GOIP_PROCS (1), RESULTS, KEEP (keep
# the instance directories), EXTRA_CONF.  Needs: python3, sqlite3, curl,
# ss; for drip apache2 and spawn-fcgi, and root (Apache switches to
# www-data).  The whole run holds /var/tmp/bench.lock (flock), so it waits
# for any other benchmark; it takes about 3 minutes when the server hangs.
#
# Example, "before" and "after" on the same machine:
#   bench/hostile/run.sh /work/wt/bench-before
#   LABEL=after bench/hostile/run.sh .

set -u
if [ -z "${HOSTILE_LOCKED:-}" ]; then
	HOSTILE_LOCKED=1 exec flock -w 3600 /var/tmp/bench.lock "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then
	GOIP_BUILDDIR="$1"
	shift
fi
: "${GOIP_BUILDDIR:?usage: run.sh BUILDDIR [replay] [pings] [drip]}"
B=$(cd "${GOIP_BUILDDIR}" && pwd)
SRC=$(sed -n 's/^abs_top_srcdir = //p' "${B}/Makefile" 2>/dev/null)
[ -n "${SRC}" ] || SRC="${B}"
LABEL="${LABEL:-before}"
EVENTS="${EVENTS:-100000}"
PAIRS="${PAIRS:-3000}"
SESSIONS="${SESSIONS:-16}"
POSTS="${POSTS:-8}"
PINGS="${PINGS:-500000}"
CAP="${CAP:-10}"
ATTACK_CAP="${ATTACK_CAP:-60}"
DRIP_SECONDS="${DRIP_SECONDS:-30}"
DRIP_CHUNK="${DRIP_CHUNK:-4}"
GOIP_PROCS="${GOIP_PROCS:-1}"
RESULTS="${RESULTS:-/var/tmp/goip-hostile/results.jsonl}"
WWW_USER=www-data
WWW_GROUP=www-data

CGI="${B}/cgi/goip-cgi"
CTL="${B}/ctl/goipctl"
NOTIFIER="${B}/notifier/goip-notifier"
HOSTILE="${here}/hostile.py"

die() { echo "hostile: $*" >&2; exit 2; }
for f in "${CGI}" "${CTL}" "${NOTIFIER}"; do
	[ -x "${f}" ] || die "${f} not built"
done
mkdir -p "$(dirname "${RESULTS}")" || die "cannot create ${RESULTS%/*}"
COMMIT=$(git -C "${SRC}" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "${SRC}" status --porcelain --untracked-files=no \
    2>/dev/null)" ]; then
	COMMIT="${COMMIT}+dirty"
fi

scenarios="$*"
[ -n "${scenarios}" ] || scenarios="replay pings drip"
for s in ${scenarios}; do
	case "${s}" in
	replay|pings|drip) ;;
	*) die "unknown scenario ${s} (replay, pings, drip)" ;;
	esac
done

instances=""
bgpids=""
finish()
{
	local d p

	for p in ${bgpids}; do
		kill "${p}" 2>/dev/null
	done
	for d in ${instances}; do
		stop_pidfile "${d}/apache.pid"
		stop_pidfile "${d}/goip-cgi.pid"
		stop_pidfile "${d}/notifier.pid"
		[ -n "${KEEP:-}" ] || rm -rf "${d}"
	done
}
trap finish EXIT
trap 'exit 2' INT TERM

# stop_pidfile FILE: SIGTERM every pid in FILE, SIGKILL what is left after
# 5 s (a notifier stuck in a replay does not see SIGTERM), remove FILE.
stop_pidfile()
{
	local file="$1" pid pids tries

	pids=$(cat "${file}" 2>/dev/null) || return 0
	for pid in ${pids}; do
		kill -TERM "${pid}" 2>/dev/null
	done
	for pid in ${pids}; do
		tries=50
		while [ "${tries}" -gt 0 ] && kill -0 "${pid}" 2>/dev/null &&
		    ! ps -o stat= -p "${pid}" | grep -q '^Z'; do
			sleep 0.1
			tries=$((tries - 1))
		done
		kill -KILL "${pid}" 2>/dev/null
	done
	rm -f "${file}"
}

# free_port: a TCP port of 127.0.0.1 nobody listens on (free when checked).
free_port()
{
	local tries=100 port

	while [ "${tries}" -gt 0 ]; do
		tries=$((tries - 1))
		port=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Htan "( sport = :${port} )" 2>/dev/null)" ]; then
			echo "${port}"
			return 0
		fi
	done
	die "no free port found"
}

# wait_port PORT: wait up to 10 s until 127.0.0.1:PORT accepts connections.
wait_port()
{
	local tries=100

	while [ "${tries}" -gt 0 ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	die "nothing listens on 127.0.0.1:$1"
}

# conf_knows DIR KEY VALUE: true when goipctl accepts "KEY = VALUE" in the
# goip.conf of DIR (whose database exists).
conf_knows()
{
	{ cat "$1/goip.conf"; echo "$2 = $3"; } >"$1/probe.conf"
	"${CTL}" -c "$1/probe.conf" check >"$1/probe.out" 2>&1
}

# instance NAME: a fresh directory (world-traversable, for www-data) with
# goip.conf and an initialised database; prints its path.
instance()
{
	local d port

	d=$(mktemp -d "/tmp/goip-hostile-$1.XXXXXXXX") || die "mktemp failed"
	chmod 0755 "${d}"
	port=$(free_port)
	echo "${port}" >"${d}/notifier.port"
	cat >"${d}/goip.conf" <<EOF
# goip.conf written by bench/hostile/run.sh
database = ${d}/goip.db
notify_socket = ${d}/notify.sock
listen = 127.0.0.1:${port}
dashboard_auth = none
EOF
	"${CTL}" -c "${d}/goip.conf" init >"${d}/init.out" 2>&1 ||
	    die "goipctl init failed: $(cat "${d}/init.out")"
	if [ "$(id -u)" = 0 ] && conf_knows "${d}" user root; then
		echo "user = root" >>"${d}/goip.conf"
	fi
	if conf_knows "${d}" device_rate 0; then
		echo "device_rate = 0" >>"${d}/goip.conf"
	fi
	if [ -n "${EXTRA_CONF:-}" ]; then
		printf '%s\n' "${EXTRA_CONF}" >>"${d}/goip.conf"
	fi
	"${CTL}" -c "${d}/goip.conf" check >"${d}/check.out" 2>&1 ||
	    die "goipctl check rejects ${d}/goip.conf: $(cat "${d}/check.out")"
	echo "hostile: $1: goip.conf adds:" \
	    "$(sed -n '6,$p' "${d}/goip.conf" | tr '\n' ';')" >&2
	echo "${d}"
}

# device_add DIR ID: register device ID, print its token.
device_add()
{
	"${CTL}" -c "$1/goip.conf" device add "$2" >"$1/device-$2.out" \
	    2>"$1/device-$2.err" ||
	    die "goipctl device add $2 failed: $(cat "$1/device-$2.err")"
	tail -n 1 "$1/device-$2.out"
}

# cgi_post DIR TOKEN URI BODY: run goip-cgi as a plain CGI program with
# BODY; fail unless it answers 2xx.
cgi_post()
{
	local d="$1" out

	out=$(printf '%s' "$4" | env -i PATH="${PATH}" \
	    GOIP_CONF="${d}/goip.conf" GATEWAY_INTERFACE=CGI/1.1 \
	    SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 \
	    REQUEST_METHOD=POST REQUEST_URI="$3" \
	    CONTENT_TYPE=application/json CONTENT_LENGTH="${#4}" \
	    HTTP_AUTHORIZATION="Bearer $2" "${CGI}" 2>"${d}/cgi.err")
	case "${out}" in
	"Status: 2"*) ;;
	*) die "goip-cgi POST $3: $(echo "${out}" | head -n 1) $(cat "${d}/cgi.err")" ;;
	esac
}

# notifier_start DIR: start goip-notifier (-d, logging to DIR/notifier.log)
# and wait until it listens.
notifier_start()
{
	local d="$1" tries=50

	"${NOTIFIER}" -d -c "${d}/goip.conf" >"${d}/notifier.log" 2>&1 &
	echo $! >"${d}/notifier.pid"
	wait_port "$(cat "${d}/notifier.port")"
	while [ ! -S "${d}/notify.sock" ] && [ "${tries}" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -0 "$(cat "${d}/notifier.pid")" 2>/dev/null ||
	    die "goip-notifier exited: $(cat "${d}/notifier.log")"
}

# latest_event DIR: the newest event id of DIR's log (0 when empty).
latest_event()
{
	sqlite3 "$1/goip.db" 'SELECT coalesce(max(id), 0) FROM events'
}

# measure SCENARIO DIR PID PROBE-ARGS... -- ATTACK-ARGS...: sample PID,
# run the ordinary client with PROBE-ARGS, and 1 s later the attack
# (hostile.py ATTACK-ARGS); stop both 1 s after the attack ends and report.
measure()
{
	local scen="$1" d="$2" pid="$3" probe_pid sample_pid
	local -a probe attack

	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		probe+=("$1")
		shift
	done
	shift
	attack=("$@")
	rm -f "${d}/stop"
	python3 "${HOSTILE}" sample --pid "${pid}" --stop-file "${d}/stop" \
	    --max-seconds $((ATTACK_CAP + 3 * ${CAP%.*} + 30)) \
	    --out "${d}/sample.json" &
	sample_pid=$!
	python3 "${HOSTILE}" probe "${probe[@]}" --cap "${CAP}" \
	    --stop-file "${d}/stop" \
	    --max-seconds $((ATTACK_CAP + 2 * ${CAP%.*} + 30)) \
	    --out "${d}/probe.json" &
	probe_pid=$!
	bgpids="${bgpids} ${sample_pid} ${probe_pid}"
	sleep 1
	python3 "${HOSTILE}" "${attack[@]}" --out "${d}/attack.json" ||
	    die "${scen}: the attacking client failed"
	sleep 1
	touch "${d}/stop"
	wait "${probe_pid}" "${sample_pid}"
	python3 "${HOSTILE}" report --scenario "${scen}" --label "${LABEL}" \
	    --commit "${COMMIT}" --probe "${d}/probe.json" \
	    --attack "${d}/attack.json" --sample "${d}/sample.json" \
	    --jsonl "${RESULTS}"
}

# probe_code PORT PATH: the HTTP status of GET PATH on the notifier.
probe_code()
{
	curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$1$2"
}

# notifier_ready DIR PATH: start the notifier of DIR and check that the
# ordinary client's GET PATH is served before any attack.  A notifier
# that checks Host on TCP (issue 11) may want the address in allowed_hosts:
# when it refuses and goipctl knows the key, each spelling in turn is
# tried.  Otherwise the generated configuration does not suit this build.
notifier_ready()
{
	local d="$1" port code hosts

	port=$(cat "${d}/notifier.port")
	notifier_start "${d}"
	code=$(probe_code "${port}" "$2")
	[ "${code}" = 200 ] && return 0
	cp "${d}/goip.conf" "${d}/goip.conf.orig"
	for hosts in "127.0.0.1:${port}" "127.0.0.1"; do
		conf_knows "${d}" allowed_hosts "${hosts}" || break
		stop_pidfile "${d}/notifier.pid"
		{ cat "${d}/goip.conf.orig"; echo "allowed_hosts = ${hosts}"; } \
		    >"${d}/goip.conf"
		notifier_start "${d}"
		code=$(probe_code "${port}" "$2")
		if [ "${code}" = 200 ]; then
			echo "hostile: the notifier serves with" \
			    "allowed_hosts = ${hosts}" >&2
			return 0
		fi
	done
	die "GET $2 answered ${code} before any attack (see" \
	    "${d}/notifier.log, KEEP=1): set EXTRA_CONF for this build"
}

scenario_replay()
{
	local d port tok latest

	d=$(instance replay)
	instances="${instances} ${d}"
	port=$(cat "${d}/notifier.port")
	tok=$(device_add "${d}" bench-01)
	cgi_post "${d}" "${tok}" /api/device/heartbeat \
	    '{"deviceId":"bench-01","battery":87,"charging":true,"signal":74,"firmware":"bench","uptime":86400,"simSlots":[{"slot":1,"status":"ready","operator":"BENCH","phoneNumber":"+15550000001","signal":71,"registration":"home"}]}'
	sqlite3 "${d}/goip.db" <<EOF || die "seeding the event log failed"
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < ${EVENTS} - 1)
INSERT INTO events(at, type, device, payload)
    SELECT e.at, e.type, e.device, e.payload FROM n,
    (SELECT at, type, device, payload FROM events
        WHERE type = 'device-heartbeat' ORDER BY id DESC LIMIT 1) AS e;
COMMIT;
EOF
	[ "$(sqlite3 "${d}/goip.db" "SELECT count(*) FROM events WHERE type = 'device-heartbeat'")" -ge "${EVENTS}" ] ||
	    die "fewer than ${EVENTS} heartbeat events after seeding"
	latest=$(latest_event "${d}")
	notifier_ready "${d}" "/api/events?since=${latest}&wait=0"
	measure replay "${d}" "$(cat "${d}/notifier.pid")" \
	    --port "${port}" --path "/api/events?since=${latest}&wait=0" -- \
	    replay --port "${port}" --pairs "${PAIRS}" --cap "${ATTACK_CAP}"
	stop_pidfile "${d}/notifier.pid"
}

scenario_pings()
{
	local d port latest

	d=$(instance pings)
	instances="${instances} ${d}"
	port=$(cat "${d}/notifier.port")
	latest=$(latest_event "${d}")
	notifier_ready "${d}" "/api/events?since=${latest}&wait=0"
	measure pings "${d}" "$(cat "${d}/notifier.pid")" \
	    --port "${port}" --path "/api/events?since=${latest}&wait=0" -- \
	    pings --port "${port}" --sessions "${SESSIONS}" --posts "${POSTS}" \
	    --pings "${PINGS}" --cap "${ATTACK_CAP}"
	stop_pidfile "${d}/notifier.pid"
}

# apache_modules CONF: the LoadModule lines that Apache needs for the site
# fragment CONF beyond those of etc/httpd.conf.in (of this script's tree):
# one for each directive of CONF that needs a module (a table, so that a
# sample of another tree using more of Apache loads).
apache_modules()
{
	local conf="$1" t
	local -a table=(
	    "Header:headers" "RequestHeader:headers"
	    "RequestReadTimeout:reqtimeout" "RewriteEngine:rewrite"
	    "SetEnvIf:setenvif" "SetEnv:env" "RemoteIP:remoteip"
	    "ProxyFCGI:proxy_fcgi")

	for t in "${table[@]}"; do
		grep -q "^[[:space:]]*${t%%:*}\b" "${conf}" || continue
		grep -q "/mod_${t#*:}\.so\$" "${here}/../../etc/httpd.conf.in" &&
		    continue
		echo "LoadModule ${t#*:}_module /usr/lib/apache2/modules/mod_${t#*:}.so"
	done | sort -u
}

scenario_drip()
{
	local d port tok_drip tok_hb

	[ "$(id -u)" = 0 ] || { echo "hostile: drip needs root, skipped" >&2; return 0; }
	if ! command -v apache2 >/dev/null ||
	    ! command -v spawn-fcgi >/dev/null; then
		echo "hostile: drip needs apache2 and spawn-fcgi, skipped" >&2
		return 0
	fi
	d=$(instance drip)
	instances="${instances} ${d}"
	port=$(free_port)
	tok_drip=$(device_add "${d}" drip-01)
	tok_hb=$(device_add "${d}" hb-01)
	# www-data may not reach the build tree: run a copy.
	install -m 0755 "${CGI}" "${d}/goip-cgi" || die "cannot copy goip-cgi"
	chown -R "${WWW_USER}:${WWW_GROUP}" "${d}"
	chmod -R g+w "${d}"
	GOIP_CONF="${d}/goip.conf" spawn-fcgi -s "${d}/cgi.sock" -M 0660 \
	    -U "${WWW_USER}" -G "${WWW_GROUP}" -u "${WWW_USER}" \
	    -g "${WWW_GROUP}" -F "${GOIP_PROCS}" -P "${d}/goip-cgi.pid" -- \
	    "${d}/goip-cgi" >"${d}/spawn-fcgi.out" 2>&1 ||
	    die "spawn-fcgi failed: $(cat "${d}/spawn-fcgi.out")"
	mkdir -p "${d}/htdocs"
	echo '<!doctype html><title>goip</title>' >"${d}/htdocs/index.html"
	: >"${d}/htpasswd"
	# The configuration every local instance gets, from this script's
	# tree, around the site fragment of the tree measured; an older
	# fragment names the notifier GOIP_NOTIFIER.
	{
		apache_modules "${SRC}/etc/apache-goip.conf"
		echo "Define GOIP_NOTIFIER 127.0.0.1:$(cat "${d}/notifier.port")"
	} >"${d}/httpd-more.conf"
	sh "${here}/../../etc/instance-conf.sh" httpd PORT="${port}" \
	    DIR="${d}" USER="${WWW_USER}" GROUP="${WWW_GROUP}" \
	    MODULES=/usr/lib/apache2/modules ETC="${SRC}/etc" \
	    INCLUDE="${d}/httpd-more.conf" >"${d}/httpd.conf" ||
	    die "cannot make ${d}/httpd.conf"
	apache2 -f "${d}/httpd.conf" -t >"${d}/apache-check.out" 2>&1 ||
	    die "apache2 rejects its configuration: $(cat "${d}/apache-check.out")"
	apache2 -f "${d}/httpd.conf" -k start >"${d}/apache-start.out" 2>&1 ||
	    die "apache2 failed to start: $(cat "${d}/apache-start.out")"
	wait_port "${port}"
	local hb='{"deviceId":"hb-01","battery":80,"signal":70}'
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 \
	    -H "Authorization: Bearer ${tok_hb}" \
	    -H 'Content-Type: application/json' --data-binary "${hb}" \
	    "http://127.0.0.1:${port}/api/device/heartbeat")
	[ "${code}" = 200 ] || die "heartbeat through Apache answered ${code}"
	measure drip "${d}" "$(head -n 1 "${d}/goip-cgi.pid")" \
	    --port "${port}" --method POST --path /api/device/heartbeat \
	    --body "${hb}" --header "Authorization: Bearer ${tok_hb}" \
	    --header "Content-Type: application/json" -- \
	    drip --port "${port}" --token "${tok_drip}" --device drip-01 \
	    --chunk "${DRIP_CHUNK}" --seconds "${DRIP_SECONDS}"
	stop_pidfile "${d}/apache.pid"
	stop_pidfile "${d}/goip-cgi.pid"
}

echo "hostile: ${LABEL} ${COMMIT} (${B}), load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$(date -u +%FT%TZ)" >&2
echo "| run | commit | attack | ordinary client p50 / p99 / max ms | answered in attack (at all) of sent | longest stall ms | CPU | RSS start / peak |"
echo "|---|---|---|---|---|---|---|---|"
for s in ${scenarios}; do
	"scenario_${s}"
done
echo "hostile: results appended to ${RESULTS}" >&2
