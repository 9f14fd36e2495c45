#!/bin/bash
#
# bench/soak/run.sh SECONDS: a bounded soak of goip-dashboard on 127.0.0.1.
#
# One instance (tests/lib.subr): lighttpd with GOIP_PROCS goip-cgi
# processes, the notifier behind it.  For SECONDS seconds, DEVICES simulated
# devices (curl) post heartbeats and SMS through lighttpd, retrying a
# non-2xx SMS with the same messageId; CLIENTS socket.io-client dashboard
# clients (bench/soak/client.cjs, through lighttpd) disconnect at random
# and resume by lastEventId.  Halfway, the notifier is restarted (SIGKILL
# with KILL=1, else SIGTERM).  Then the clients are drained and a report
# is printed: requests, events, errors, lost, duplicated, and the
# notifier's resident memory.
#
# Environment: DEVICES (10), CLIENTS (20), GOIP_PROCS (2), KILL (0),
# DEVICE_SLEEP (0.2 s between a device's requests), KEEP (keep the work
# directory).  Needs: lighttpd, curl, node, sqlite3, the build (run from
# the build tree, or set GOIP_SRCDIR and GOIP_BUILDDIR).  Exit status 0
# when nothing was lost or duplicated and every SMS was accepted.

set -u
dur="${1:?usage: run.sh SECONDS}"
here=$(cd "$(dirname "$0")" && pwd)
: "${GOIP_SRCDIR:=$(cd "${here}/../.." && pwd)}"
: "${GOIP_BUILDDIR:=${GOIP_SRCDIR}}"
DEVICES="${DEVICES:-10}"
CLIENTS="${CLIENTS:-20}"
GOIP_PROCS="${GOIP_PROCS:-2}"
KILL="${KILL:-0}"
DEVICE_SLEEP="${DEVICE_SLEEP:-0.2}"

# lib.subr reports failures through atf-sh; outside it, stop the run.
atf_fail() { echo "soak: $*" >&2; exit 2; }
. "${GOIP_SRCDIR}/tests/lib.subr"

work=$(mktemp -d /tmp/goip-soak.XXXXXXXX)
cd "${work}" || exit 2
bgpids=""
finish()
{
	local p

	for p in ${bgpids}; do
		kill "${p}" 2>/dev/null
	done
	goip_cleanup
	[ -n "${KEEP:-}" ] || rm -rf "${work}"
}
trap finish EXIT
trap 'exit 2' INT TERM

rss() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }

DIR=$(goip_tmpdir)
goip_instance "${DIR}"
for i in $(seq 1 "${DEVICES}"); do
	goip_device_add "${DIR}" "soak-${i}" >"tok.${i}"
done
goip_notifier_start "${DIR}"
port=$(goip_free_port)
goip_lighttpd_start "${DIR}" "${port}" "${GOIP_PROCS}"
URL="http://127.0.0.1:${port}"
cred=$(goip_credentials "${DIR}")
if [ -d "${GOIP_SRCDIR}/tests/node/node_modules/socket.io-client" ]; then
	export NODE_PATH="${GOIP_SRCDIR}/tests/node/node_modules"
else
	export NODE_PATH="${GOIP_BUILDDIR}/tests/node-cache/node_modules"
fi

for c in $(seq 1 "${CLIENTS}"); do
	rooms="dashboard"
	[ $((c % 2)) -eq 0 ] && rooms="dashboard device:soak-$(((c % DEVICES) + 1))"
	tr="polling,websocket"
	[ $((c % 3)) -eq 0 ] && tr="websocket"
	AUTH="${cred}" ROOMS="${rooms}" TRANSPORTS="${tr}" \
	    node "${here}/client.cjs" "${URL}" "client.${c}" \
	    >"client.${c}.log" 2>&1 &
	echo $! >"client.${c}.pid"
	bgpids="${bgpids} $!"
done
sleep 3
npid=$(cat "${DIR}/notifier.pid")
rss_start=$(rss "${npid}")

start=$(date +%s)
end=$((start + dur))

# device I: alternate a heartbeat and an SMS until END; log "KIND CODE" per
# request in dev.I, and "MESSAGEID CODE" of each SMS's final answer in
# acc.I.  An SMS not accepted is retried (same messageId) up to 20 times.
device()
{
	local i="$1" tok n=0 code try body

	tok=$(cat "tok.${i}")
	while [ "$(date +%s)" -lt "${end}" ]; do
		code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
		    -H "Authorization: Bearer ${tok}" \
		    -H 'Content-Type: application/json' \
		    -d "{\"battery\":$((RANDOM % 101)),\"signal\":$((RANDOM % 101)),\"simSlots\":[{\"slot\":1,\"status\":\"ready\"}]}" \
		    "${URL}/api/device/heartbeat")
		echo "hb ${code}" >>"dev.${i}"
		n=$((n + 1))
		body="{\"messageId\":\"s${i}-${n}\",\"slot\":1,\"from\":\"+447700900$((RANDOM % 1000))\",\"text\":\"soak ${i} ${n} Zażółć\"}"
		for try in $(seq 1 20); do
			code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
			    -X POST -H "Authorization: Bearer ${tok}" \
			    -H 'Content-Type: application/json' \
			    --data-binary "${body}" "${URL}/api/sms/receive")
			echo "sms ${code}" >>"dev.${i}"
			case "${code}" in
			2??) break ;;
			esac
			sleep 0.2
		done
		echo "s${i}-${n} ${code}" >>"acc.${i}"
		sleep "${DEVICE_SLEEP}"
	done
}
for i in $(seq 1 "${DEVICES}"); do
	device "${i}" &
	bgpids="${bgpids} $!"
	echo $! >"device.${i}.pid"
done

sleep $((dur / 2))
rss_before=$(rss "${npid}")
cp "${DIR}/notifier.log" notifier-1.log
if [ "${KILL}" = 1 ]; then
	kill -KILL "${npid}"
	rm -f "${DIR}/notifier.pid"
	restart="SIGKILL"
else
	goip_notifier_stop "${DIR}"
	restart="SIGTERM"
fi
sleep 1
goip_notifier_start "${DIR}"
npid=$(cat "${DIR}/notifier.pid")
sleep 3
rss_after=$(rss "${npid}")

for i in $(seq 1 "${DEVICES}"); do
	wait "$(cat "device.${i}.pid")"
done
elapsed=$(($(date +%s) - start))

# Drain: wait (at most 60 s) until every client has seen the last event.
lastev=$(sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" 'SELECT max(id) FROM events')
for t in $(seq 1 120); do
	behind=0
	for c in $(seq 1 "${CLIENTS}"); do
		l=$(cat "client.${c}.last" 2>/dev/null || echo 0)
		[ "${l:-0}" -lt "${lastev}" ] && behind=$((behind + 1))
	done
	[ "${behind}" -eq 0 ] && break
	sleep 0.5
done
rss_end=$(rss "${npid}")
for c in $(seq 1 "${CLIENTS}"); do
	kill -TERM "$(cat "client.${c}.pid")" 2>/dev/null
done
sleep 1

# Report.
cat dev.* >requests
req=$(wc -l <requests)
req2xx=$(grep -c ' 2[0-9][0-9]$' requests)
codes=$(awk '{print $2}' requests | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
cat acc.* >accepted.all
grep ' 2[0-9][0-9]$' accepted.all | awk '{print $1}' | sort >accepted
notacc=$(grep -vc ' 2[0-9][0-9]$' accepted.all)
sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" \
    "SELECT message_id FROM sms WHERE direction = 'in'" | sort >stored
lost_store=$(comm -23 accepted stored | wc -l)
dup_store=$(uniq -d stored | wc -l)
sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" \
    "SELECT id FROM sms WHERE direction = 'in'" | sort >stored.ids
ic=$(sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" 'PRAGMA integrity_check')
cnt=$(sqlite3 -cmd '.timeout 5000' "${DIR}/goip.db" "SELECT value FROM counters WHERE name = 'sms_received'")
events=0 lost=0 dup=0 connects=0 drops=0 resyncs=0 cerr=0 dead=0
for c in $(seq 1 "${CLIENTS}"); do
	if [ ! -f "client.${c}.stats" ]; then
		dead=$((dead + 1))
		continue
	fi
	read -r e s cn dr rs er <"client.${c}.stats"
	events=$((events + e)); connects=$((connects + cn))
	drops=$((drops + dr)); resyncs=$((resyncs + rs)); cerr=$((cerr + er))
	awk '{print $2}' "client.${c}" | sort >got
	# Every client is in room dashboard: it must see every stored SMS.
	lost=$((lost + $(comm -23 stored.ids got | wc -l)))
	dup=$((dup + $(uniq -d got | wc -l)))
done
errors=$((req - req2xx))

cat <<EOF
soak: ${dur} s requested, ${elapsed} s of device traffic, $(date -u +%Y-%m-%dT%H:%M:%SZ)
  devices ${DEVICES}, dashboard clients ${CLIENTS}, goip-cgi processes ${GOIP_PROCS}, notifier restart by ${restart} at ${dur}/2 s
  requests      ${req} (${req2xx} 2xx, $((req / (elapsed > 0 ? elapsed : 1)))/s); by status: ${codes}
  errors        ${errors} non-2xx answers; SMS never accepted after 20 tries: ${notacc}
  sms           $(wc -l <accepted) accepted, $(wc -l <stored) stored (counter ${cnt}), lost in store ${lost_store}, duplicated in store ${dup_store}, integrity ${ic}
  events        ${events} received by clients (sms-received + heartbeats + status + stats), last event id ${lastev}
  clients       ${connects} connects, ${drops} random disconnects, ${resyncs} resyncs, ${cerr} connect errors, ${dead} died
  lost          ${lost} (sms-received missing at a client, summed over clients)
  duplicated    ${dup} (sms-received delivered twice to a client, summed)
  notifier RSS  ${rss_start} kB at start, ${rss_before} kB before the restart; restarted: ${rss_after} kB, ${rss_end} kB at end
EOF
[ "${lost}" -eq 0 ] && [ "${dup}" -eq 0 ] && [ "${lost_store}" -eq 0 ] &&
    [ "${dup_store}" -eq 0 ] && [ "${notacc}" -eq 0 ] && [ "${dead}" -eq 0 ]
