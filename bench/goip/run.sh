#!/bin/bash
#
# bench/goip/run.sh [BUILDDIR]: goip-udpd under LINES simulated GoIP lines
# (issue 13): keepalives and RECEIVEs per second, and the latency of the
# RECEIVE acknowledgement (target: p99 under 50 ms at 1,000 lines, far
# inside the device's 3 s retransmit).
#
# BUILDDIR is a configured and built tree (make -j2 done, "make check" or
# "make bench" built tests/goipsim), given as the first argument or as
# GOIP_BUILDDIR; default: the tree this script is in.  Everything runs on
# 127.0.0.1 in a fresh instance directory (tests/lib.subr's goip_instance):
#
#   1. goipctl registers DEVICES devices of LINES_PER_DEVICE lines each
#      ("goipctl line add DEVICE SLOT ID", one per line: LINES in all,
#      named goipb1..goipbN), then one SQL UPDATE gives every line the same
#      password, since goipsim's bench mode runs all its lines with one
#      password (-W).
#   2. goip-notifier and goip-udpd start on the instance (device_rate = 0,
#      so the per-device limit does not cap the measurement; goip_listen on
#      a free UDP port of 127.0.0.1); the script waits for goip-udpd's
#      "goip-udpd: listening on" line.
#   3. Latency: goipsim -b -R RATE runs the LINES lines open loop for
#      LAT_DURATION seconds: RATE RECEIVEs a second in all (each line one
#      every LINES / RATE s) and a keepalive from each line every
#      KEEPALIVE_MS, as devices send them whatever the server does.  The
#      RECEIVE ack latency at that load is the one the target is about.
#   4. Throughput: goipsim -b (closed loop) for DURATION seconds: each line
#      keeps one keepalive and one RECEIVE in flight and sends the next as
#      soon as the previous one is answered, so the rates are what
#      goip-udpd sustains (its latency there is only queueing: lines x 2
#      packets in flight / rate).
#   5. The report: goipsim's lines, goip-udpd's CPU time, the inbound SMS
#      rows SQLite holds against the RECEIVEs acknowledged (an
#      acknowledged RECEIVE that is not stored is a lost write), and the
#      verdict on the p99 target.
#
# ROUNDS rounds (default 1), each on a fresh instance.  Environment
# (defaults): LINES (1000), LINES_PER_DEVICE (16, a GoIP-16), RATE (500
# RECEIVEs/s), KEEPALIVE_MS (30000, the device's), LAT_DURATION (30 s),
# DURATION (10 s), ROUNDS (1), KEEP (keep the instance directories).  Needs: sqlite3, ss,
# flock.  The whole run holds /var/tmp/bench.lock, so it waits for any
# other benchmark.  Exit status 0 when every round met the target and lost
# nothing.

set -u
if [ -z "${GOIP_BENCH_LOCKED:-}" ]; then
	GOIP_BENCH_LOCKED=1 exec flock -w 3600 /var/tmp/bench.lock "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then
	GOIP_BUILDDIR=$(cd "$1" && pwd)
	shift
fi
: "${GOIP_SRCDIR:=$(cd "${here}/../.." && pwd)}"
: "${GOIP_BUILDDIR:=${GOIP_SRCDIR}}"
LINES="${LINES:-1000}"
LINES_PER_DEVICE="${LINES_PER_DEVICE:-16}"
SECONDS_RUN="${DURATION:-10}"
LAT_SECONDS="${LAT_DURATION:-30}"
RATE="${RATE:-500}"
KEEPALIVE_MS="${KEEPALIVE_MS:-30000}"
ROUNDS="${ROUNDS:-1}"
PASSWORD=benchpw$$
GOIPSIM="${GOIP_BUILDDIR}/tests/goipsim"
UDPD="${GOIP_BUILDDIR}/udpd/goip-udpd"

# lib.subr reports failures through atf-sh; outside it, stop the run.
atf_fail() { echo "bench/goip: $*" >&2; exit 2; }
. "${GOIP_SRCDIR}/tests/lib.subr"

for p in "${GOIPSIM}" "${UDPD}" "${GOIP_CTL}" "${GOIP_NOTIFIER}"; do
	[ -x "${p}" ] || atf_fail "${p} not built"
done
command -v sqlite3 >/dev/null || atf_fail "sqlite3 not installed"

work=$(mktemp -d /tmp/goip-bench-goip.XXXXXXXX) || exit 2
cd "${work}" || exit 2
finish()
{
	[ -f udpd.pid ] && goip_kill_pidfile udpd.pid
	goip_cleanup
	[ -n "${KEEP:-}" ] || rm -rf "${work}"
}
trap finish EXIT
trap 'exit 2' INT TERM

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks()
{
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# udp_drops: the system's UDP datagrams dropped for a full receive buffer
# so far (RcvbufErrors of /proc/net/snmp; every socket of the machine).
udp_drops()
{
	awk '$1 == "Udp:" { if (!c) { for (i = 1; i <= NF; i++)
	    if ($i == "RcvbufErrors") c = i } else { print $c; exit } }' \
	    /proc/net/snmp
}

# field NAME LINE: the value of NAME=VALUE in goipsim's result LINE.
field()
{
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# round N: one fresh instance, one goipsim run; prints the report lines
# and returns 1 when the round missed the target or lost a write.
round()
{
	local n="$1" dir port d s i devices pid t0 t1 t2 lat out acked stored
	local p99 tick drops0 drops2 verdict=0

	dir=$(goip_tmpdir)
	goip_instance "${dir}"
	port=$(goip_free_udp_port)
	{
		echo "goip_listen = 127.0.0.1:${port}"
		echo "device_rate = 0"
	} >>"${dir}/goip.conf"
	devices=$(((LINES + LINES_PER_DEVICE - 1) / LINES_PER_DEVICE))
	i=0
	for d in $(seq 1 "${devices}"); do
		goip_device_add "${dir}" "goipb-dev${d}" >/dev/null
		for s in $(seq 1 "${LINES_PER_DEVICE}"); do
			i=$((i + 1))
			[ "${i}" -le "${LINES}" ] || break
			"${GOIP_CTL}" -c "${dir}/goip.conf" line add \
			    "goipb-dev${d}" "${s}" "goipb${i}" >/dev/null ||
			    atf_fail "goipctl line add goipb${i} failed"
		done
	done
	sqlite3 "${dir}/goip.db" \
	    "UPDATE goip_lines SET password = '${PASSWORD}';" ||
	    atf_fail "cannot set the line passwords"

	goip_notifier_start "${dir}"
	: >"${dir}/udpd.log"
	"${UDPD}" -d -c "${dir}/goip.conf" >>"${dir}/udpd.log" 2>&1 &
	pid=$!
	echo "${pid}" >udpd.pid
	goip_wait_ready "${pid}" "${dir}/udpd.log" "goip-udpd: listening on"

	t0=$(cpu_ticks "${pid}")
	drops0=$(udp_drops)
	lat=$("${GOIPSIM}" -b -n "${LINES}" -d "${LAT_SECONDS}" -R "${RATE}" \
	    -k "${KEEPALIVE_MS}" -s "127.0.0.1:${port}" -P goipb \
	    -W "${PASSWORD}") || atf_fail "goipsim (latency) failed"
	t1=$(cpu_ticks "${pid}")
	out=$("${GOIPSIM}" -b -n "${LINES}" -d "${SECONDS_RUN}" -o 500000 \
	    -s "127.0.0.1:${port}" -P goipb -W "${PASSWORD}") ||
	    atf_fail "goipsim (throughput) failed"
	t2=$(cpu_ticks "${pid}")
	drops2=$(udp_drops)
	goip_kill_pidfile udpd.pid

	acked=$(($(field receives "${lat}") + $(field receives "${out}")))
	stored=$(sqlite3 "${dir}/goip.db" \
	    "SELECT count(*) FROM sms WHERE direction = 'in';")
	p99=$(field ack_p99_ms "${lat}")
	tick=$(getconf CLK_TCK)
	echo "round ${n}: latency ${lat}"
	echo "round ${n}: throughput ${out}"
	echo "round ${n}: goip-udpd cpu_s latency" \
	    "$(awk -v a="${t0}" -v b="${t1}" -v t="${tick}" \
	    'BEGIN { printf "%.2f", (b - a) / t }')" \
	    "throughput $(awk -v a="${t1}" -v b="${t2}" -v t="${tick}" \
	    'BEGIN { printf "%.2f", (b - a) / t }');" \
	    "receives_acked=${acked} sms_rows=${stored}" \
	    "udp_rcvbuf_drops=$((drops2 - drops0))"
	# Every acknowledged RECEIVE must be in SQLite (there may be more
	# rows: RECEIVEs stored whose ack came after goipsim stopped).
	if [ "${stored}" -lt "${acked}" ]; then
		echo "round ${n}: LOST: ${stored} rows for ${acked} acks"
		verdict=1
	fi
	if awk -v p="${p99}" 'BEGIN { exit !(p < 50) }'; then
		echo "round ${n}: p99 ${p99} ms < 50 ms at ${RATE} RECEIVEs/s:" \
		    "target met"
	else
		echo "round ${n}: p99 ${p99} ms >= 50 ms at ${RATE} RECEIVEs/s:" \
		    "target missed"
		verdict=1
	fi
	goip_notifier_stop "${dir}"
	return "${verdict}"
}

echo "bench/goip: ${LINES} lines, latency ${LAT_SECONDS} s at ${RATE}/s," \
    "throughput ${SECONDS_RUN} s, ${ROUNDS} round(s)," \
    "commit $(git -C "${GOIP_SRCDIR}" rev-parse --short HEAD 2>/dev/null)," \
    "$(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for r in $(seq 1 "${ROUNDS}"); do
	round "${r}" || status=1
done
exit "${status}"
