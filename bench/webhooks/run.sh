#!/usr/bin/env bash
# bench/webhooks/run.sh: goip-webhookd (issue 14) against a receiver on the
# same machine (tests/webhook_receiver.py, which checks every signature and
# writes every delivery to a file before it answers):
#
#   1. throughput: FILL events already in the log, then goip-webhookd is
#      started; deliveries per second until the last is received, with one
#      endpoint and with ENDPOINTS endpoints (independent, concurrent);
#   2. lag: devices post RATE SMS a second (batches of 100 through lighttpd
#      and goip-cgi) for DURATION seconds while one endpoint receives them;
#      the lag of each event is its receipt time minus its storedAt (the
#      commit), reported as p50, p99 and max.
#
# Run as root or not; takes /var/tmp/bench.lock so benchmarks never overlap.
# Env: FILL (5000), ENDPOINTS (4), RATE (1000), DURATION (10), PORT (18090),
#      WORKDIR (/var/tmp/goip-bench-webhooks), GOIP_BUILDDIR (the tree).
# Output: one JSON line per measurement on stdout and appended to
# $WORKDIR/results.jsonl.  Everything listens on 127.0.0.1.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
B="${GOIP_BUILDDIR:-$TOP}"
FILL="${FILL:-5000}"
ENDPOINTS="${ENDPOINTS:-4}"
RATE="${RATE:-1000}"
DURATION="${DURATION:-10}"
PORT="${PORT:-18090}"
WORKDIR="${WORKDIR:-/var/tmp/goip-bench-webhooks}"
CTL="$B/ctl/goipctl"

exec 9>/var/tmp/bench.lock
flock 9

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$WORKDIR/lighttpd.pid" ] && kill "$(cat "$WORKDIR/lighttpd.pid")" 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR/rx"
W="$WORKDIR"
{
	echo "database = $W/goip.db"
	echo "notify_socket = $W/notify.sock"
	echo "listen = $W/notifier.sock"
	echo "dashboard_auth = web"
	echo "webhook_allow_private = yes"
	[ "$(id -u)" -eq 0 ] && echo "user = root"
} >"$W/goip.conf"
"$CTL" -c "$W/goip.conf" init >/dev/null
TOKEN=$("$CTL" -c "$W/goip.conf" device add bench-01)
htpasswd -bcB "$W/htpasswd" admin "$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')" 2>/dev/null
mkdir -p "$W/htdocs"
cat >"$W/lighttpd.conf" <<CONF
server.bind = "127.0.0.1"
server.port = $PORT
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd-error.log"
mimetype.assign = ( ".html" => "text/html" )
var.goip_cgi = "$B/cgi/goip-cgi"
var.goip_conf = "$W/goip.conf"
var.goip_htdocs = "$W/htdocs"
var.goip_htpasswd = "$W/htpasswd"
var.goip_notifier_socket = "$W/notifier.sock"
var.goip_fcgi_socket = "$W/fcgi.sock"
var.goip_procs = 2
include "$TOP/etc/lighttpd-goip.conf"
CONF
lighttpd -f "$W/lighttpd.conf"
until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do sleep 0.1; done

python3 "$TOP/tests/webhook_receiver.py" "$W/rx" --port-file "$W/rx.port" \
    2>>"$W/receiver.log" &
PIDS+=($!)
until [ -s "$W/rx.port" ]; do sleep 0.1; done
RXPORT=$(cat "$W/rx.port")

# add NAME: an endpoint for sms-received, its secret given to the receiver.
add() {
	"$CTL" -c "$W/goip.conf" webhook add "http://127.0.0.1:$RXPORT/$1" \
	    --events sms-received | tail -n 1 >"$W/rx/$1.secret"
}

# count NAME: deliveries NAME received.
count() {
	[ -f "$W/rx/$1.log" ] && wc -l <"$W/rx/$1.log" || echo 0
}

# ingest N PREFIX: N SMS in batches of 100 through lighttpd, as fast as
# goip-cgi takes them.
ingest() {
	python3 - "$1" "$2" "$PORT" "$TOKEN" <<'PY'
import http.client, json, sys
n, prefix, port, token = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for b in range(0, n, 100):
    msgs = [{"messageId": "%s-%d" % (prefix, i), "from": "+447700900123",
             "text": "bench %d" % i} for i in range(b, min(n, b + 100))]
    c.request("POST", "/api/sms/receive", json.dumps({"messages": msgs}),
              {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status not in (200, 201, 207):
        sys.exit("sms/receive answered %d" % r.status)
PY
}

now() { date +%s.%N; }

# cpu PID: user + system CPU seconds PID has used.
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
	    "/proc/$1/stat"
}

record() {
	echo "$1" | tee -a "$W/results.jsonl"
}

# 1. throughput, one endpoint then ENDPOINTS endpoints.
for n in 1 "$ENDPOINTS"; do
	for i in $(seq 1 "$n"); do add "t$n-$i"; done
	ingest "$FILL" "t$n"
	"$B/webhookd/goip-webhookd" -d -c "$W/goip.conf" 2>"$W/webhookd-t$n.log" &
	PIDS+=($!)
	until grep -q "goip-webhookd: ready" "$W/webhookd-t$n.log"; do sleep 0.05; done
	t0=$(now)
	for i in $(seq 1 "$n"); do
		until [ "$(count "t$n-$i")" -ge "$FILL" ]; do sleep 0.05; done
	done
	t1=$(now)
	wcpu=$(cpu "${PIDS[-1]}")
	kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
	for i in $(seq 1 "$n"); do
		"$CTL" -c "$W/goip.conf" webhook remove \
		    "$(sqlite3 "$W/goip.db" "SELECT id FROM webhooks WHERE url LIKE '%/t$n-$i'")" >/dev/null
	done
	bad=$( (cat "$W"/rx/*.bad 2>/dev/null || true) | wc -l)
	record "$(python3 -c "import json,sys; n,f,t0,t1,bad,c=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),int(sys.argv[5]),float(sys.argv[6]); print(json.dumps({'bench':'webhooks-throughput','endpoints':n,'events':f,'deliveries':n*f,'seconds':round(t1-t0,3),'deliveries_per_s':round(n*f/(t1-t0)),'webhookd_cpu_s':c,'webhookd_us_per_delivery':round(c*1e6/(n*f)),'bad_signatures':bad,'load':open('/proc/loadavg').read().split()[0]}))" "$n" "$FILL" "$t0" "$t1" "$bad" "$wcpu")"
done

# 2. lag while RATE events a second are ingested.
add lag
"$B/webhookd/goip-webhookd" -d -c "$W/goip.conf" 2>"$W/webhookd-lag.log" &
PIDS+=($!)
until grep -q "goip-webhookd: ready" "$W/webhookd-lag.log"; do sleep 0.05; done
until grep -q "endpoint .*: loaded" "$W/webhookd-lag.log"; do sleep 0.05; done
python3 - "$RATE" "$DURATION" "$PORT" "$TOKEN" <<'PY'
import http.client, json, sys, time
rate, dur, port, token = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
batches, step = int(rate * dur / 100), 100.0 / rate
t0 = time.monotonic()
for b in range(batches):
    delay = t0 + b * step - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    msgs = [{"messageId": "lag-%d-%d" % (b, i), "from": "+447700900123",
             "text": "lag %d" % i} for i in range(100)]
    c.request("POST", "/api/sms/receive", json.dumps({"messages": msgs}),
              {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
late = time.monotonic() - t0 - dur
print("ingest: %d events in %.2f s" % (batches * 100, dur + late), file=sys.stderr)
PY
total=$((RATE * DURATION / 100 * 100))
until [ "$(count lag)" -ge "$total" ]; do sleep 0.05; done
echo "webhookd CPU: $(cpu "${PIDS[-1]}") s for $total deliveries" >&2
bad=$( (cat "$W"/rx/*.bad 2>/dev/null || true) | wc -l)
record "$(python3 - "$W/rx/lag.log" "$RATE" "$bad" <<'PY'
import datetime, json, sys
lags = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    at = datetime.datetime.strptime(d["data"]["storedAt"],
        "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    lags.append((d["recv"] - at.timestamp()) * 1000)
lags.sort()
q = lambda p: round(lags[min(len(lags) - 1, int(p * len(lags)))], 1)
print(json.dumps({"bench": "webhooks-lag", "rate": int(sys.argv[2]),
    "events": len(lags), "p50_ms": q(0.50), "p99_ms": q(0.99),
    "max_ms": round(lags[-1], 1), "bad_signatures": int(sys.argv[3]),
    "load": open("/proc/loadavg").read().split()[0]}))
PY
)"
