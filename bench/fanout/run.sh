#!/usr/bin/env bash
# bench/fanout/run.sh: real-time fan-out of goip-notifier (behind lighttpd +
# goip-cgi, the real stack) against the Node peer (../shared/peer/server.js,
# POSTs and Socket.IO on one port), interleaved in one run (peer, C, peer,
# C, ...), with the C load client fanout.c.  See bench/RESULTS.md,
# section "Fan-out (bench/fanout)".
#
#   bench/fanout/run.sh [all]        ROUNDS rounds of every measurement, then
#                                    the summary (about 15 minutes)
#   bench/fanout/run.sh smoke        one short round (about 2 minutes)
#   bench/fanout/run.sh memory       ROUNDS rounds of the memory ramp only
#   bench/fanout/run.sh cost         CPU per delivered event: 1,000 clients
#                                    straight on the server, COST_M
#                                    heartbeats at COST_RATE/s (a rate both
#                                    keep up with), ROUNDS rounds; the CPU
#                                    of the notifier alone (not lighttpd or
#                                    goip-cgi) and of the peer
#   bench/fanout/run.sh latency      ROUNDS rounds of lat100 and lat1000 only
#   bench/fanout/run.sh wrk          ROUNDS rounds of the wrk measurement only
#   bench/fanout/run.sh summary [F]  medians of a results file as Markdown
#
# Per round, each on a fresh server and a fresh database:
#   memory   server VmRSS per idle, joined WebSocket client at STEPS clients
#            (one ramp: connect to 1k, settle, read; to 5k; to 10k).  C
#            ("c-direct"): clients straight to the notifier's port.  Through
#            lighttpd each client costs lighttpd two descriptors, and with
#            the hard RLIMIT_NOFILE of 20000 here lighttpd stops accepting
#            at about 7,400 proxied clients.
#   lat100   100 clients, LAT100_M heartbeats at RATE/s (after a warm-up of
#            300 heartbeats that also brings every device online)
#   lat1000  1,000 clients, LAT1000_M heartbeats at RATE/s; the C build both
#            through lighttpd ("c") and with the clients straight on the
#            notifier ("c-direct", the POSTs still through lighttpd)
#   wrk      heartbeat POST throughput, wrk -t2 -cC (WRK_C) -d WRK_D after
#            WRK_WARM, with 100 dashboard clients connected (fanout --hold-s)
# C clients of lat100, lat1000 and wrk connect through lighttpd's proxy
# with HTTP Basic authentication, as the dashboard does; POSTs carry the
# device's Bearer token.
#
# Env: ROUNDS (3), STEPS (1000,5000,10000), LAT100_M (2000), LAT1000_M
#      (500), RATE (100), WRK_C (64), WRK_T (2), WRK_D (10s), WRK_WARM
#      (3s), PROCS (1 goip-cgi), DEVICES (100), PORT (18180, lighttpd),
#      NPORT (18181, notifier), PEER_PORT (13400), SRC_ADDRS (4: client
#      source addresses 127.0.0.2..), LAT_MAX_S (90: bound of one latency
#      run; the peer at 1,000 clients does not finish in it), WORKDIR (/var/tmp/goip-bench-fanout),
#      KEEP_BIN (0; 1: reuse the binaries copied by the last run),
#      COST_M (200), COST_RATE (10), PERF_DIR (unset; set: perf record -g
#      of the notifier during each C latency and cost measurement, into
#      PERF_DIR/BENCH-SERVER-rR.data), SERVERS ("peer c c-direct": the
#      servers measured; e.g. "c c-direct" leaves the peer out), PEER_SRC (../shared/peer), PEER_DIR (/var/tmp/peer, a copy with
#      node_modules: made with npm ci when missing)
# Output: one JSON line per measurement appended to $WORKDIR/results.jsonl,
# then the summary.  Everything is on 127.0.0.0/8; every client run is
# bounded by --max-s and timeout(1), every wrk by -d and timeout(1).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"
STEPS="${STEPS:-1000,5000,10000}"
LAT100_M="${LAT100_M:-2000}"
LAT1000_M="${LAT1000_M:-500}"
RATE="${RATE:-100}"
WRK_C="${WRK_C:-64}"
WRK_T="${WRK_T:-2}"
WRK_D="${WRK_D:-10s}"
WRK_WARM="${WRK_WARM:-3s}"
PROCS="${PROCS:-1}"
DEVICES="${DEVICES:-100}"
PORT="${PORT:-18180}"
NPORT="${NPORT:-18181}"
PEER_PORT="${PEER_PORT:-13400}"
SRC_ADDRS="${SRC_ADDRS:-4}"
LAT_MAX_S="${LAT_MAX_S:-90}"
COST_M="${COST_M:-200}"
COST_RATE="${COST_RATE:-10}"
SERVERS="${SERVERS:-peer c c-direct}"
WORKDIR="${WORKDIR:-/var/tmp/goip-bench-fanout}"
PEER_SRC="${PEER_SRC:-$TOP/../shared/peer}"
PEER_DIR="${PEER_DIR:-/var/tmp/peer}"
RESULTS="$WORKDIR/results.jsonl"
BIN="$WORKDIR/bin"
FANOUT="$BIN/fanout"
WRK_LUA="$TOP/bench/ingest/heartbeat.lua"
export WRK_REPORT="$TOP/bench/ingest/report.lua"

BENCH=fanout-run
. "$TOP/bench/bench.subr"

# Servers and clients: room for 10k sockets (the soft limit up to the hard
# one; here the hard limit is 20000 and cannot be raised, which is why the
# 10k-client memory ramp connects straight to the notifier).
ulimit -n "$(ulimit -Hn)"

# --- preparation ----------------------------------------------------------

prepare() {
	local t i conf
	for t in wrk lighttpd node make curl timeout openssl sqlite3; do
		command -v "$t" >/dev/null || die "missing $t"
	done
	mkdir -p "$BIN"
	# Copies: a rebuild in the tree during the run must not change what is
	# measured.  KEEP_BIN=1 measures the copies of the previous run again.
	if [ "${KEEP_BIN:-0}" != 1 ] || [ ! -x "$BIN/goip-notifier" ]; then
		make -C "$TOP" notifier/goip-notifier cgi/goip-cgi ctl/goipctl >&2
		cp "$TOP/notifier/goip-notifier" "$TOP/cgi/goip-cgi" "$TOP/ctl/goipctl" "$BIN/"
		{
			git -C "$TOP" log -1 --format='commit %H %cd'
			git -C "$TOP" status --short -- notifier cgi lib sql | sed 's/^/dirty: /'
		} >"$BIN/source.txt"
	fi
	# The load client is ours: built by "make bench" from bench/fanout.
	make -C "$TOP" bench/fanout/fanout >&2
	cp "$TOP/bench/fanout/fanout" "$FANOUT"
	{
		cat "$BIN/source.txt" 2>/dev/null
		sha256sum "$BIN/goip-notifier" "$BIN/goip-cgi" | sed 's/^/sha256 /'
		echo "peer: $(node --version) socket.io $(node -p "require('$PEER_DIR/node_modules/socket.io/package.json').version" 2>/dev/null || echo '?')"
	} >"$WORKDIR/build.txt"
	log "build: $(head -1 "$WORKDIR/build.txt")"
	if [ ! -d "$PEER_DIR/node_modules/socket.io" ] ||
	    [ ! -d "$PEER_DIR/node_modules/better-sqlite3/build" ]; then
		log "npm ci of the peer in $PEER_DIR (about 2 minutes)"
		rm -rf "$PEER_DIR"
		cp -r "$PEER_SRC" "$PEER_DIR"
		chmod -R u+w "$PEER_DIR"
		(cd "$PEER_DIR" && npm_config_nodedir=/usr npm ci >&2)
	fi
	# Template database with DEVICES devices; tokens in tokens.txt.
	conf="$WORKDIR/tmpl.conf"
	rm -f "$WORKDIR"/tmpl.db* "$WORKDIR/tokens.txt"
	printf 'database = %s\n' "$WORKDIR/tmpl.db" >"$conf"
	"$BIN/goipctl" -c "$conf" init >&2
	for i in $(seq 1 "$DEVICES"); do
		printf 'fan-%03d %s\n' "$i" \
		    "$("$BIN/goipctl" -c "$conf" device add "$(printf 'fan-%03d' "$i")" | tail -n 1)"
	done >"$WORKDIR/tokens.txt"
	sqlite3 "$WORKDIR/tmpl.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
	# Dashboard password (apr1: the web server checks it once per
	# WebSocket handshake).
	PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	echo "bench:$(openssl passwd -apr1 "$PASS")" >"$WORKDIR/htpasswd"
	echo "bench:$PASS" >"$WORKDIR/basic"
}

# --- servers --------------------------------------------------------------


# The C stack: goip-notifier on NPORT, lighttpd on PORT with the
# configuration of etc/lighttpd.conf.in around etc/lighttpd-goip.conf (PROCS
# goip-cgi over FastCGI, /api/socket/io/ proxied to the notifier), on a
# fresh copy of the template database.
NOTIFIER_PID=""; WEB_PID=""; APP_PIDS=""; PEER_PID=""
start_c() {
	local d="$WORKDIR/run-c" i
	rm -rf "$d"
	mkdir -p "$d/htdocs"
	echo '<!doctype html><title>goip</title>' >"$d/htdocs/index.html"
	cp "$WORKDIR/tmpl.db" "$d/goip.db"
	sync "$d/goip.db"
	# The notifier on TCP (c-direct connects to it as the proxy would,
	# with the proxy secret); lighttpd uses the sample's TCP alternative.
	PROXY_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	cat >"$d/goip.conf" <<EOF
database = $d/goip.db
notify_socket = $d/notify.sock
listen = 127.0.0.1:$NPORT
proxy_secret = $PROXY_SECRET
dashboard_auth = web
# Thousands of clients from a few loopback addresses.
max_per_address = 0
device_rate = 0
EOF
	[ "$(id -u)" -eq 0 ] && echo "user = root" >>"$d/goip.conf"
	cp "$WORKDIR/htpasswd" "$d/htpasswd"
	sh "$TOP/etc/instance-conf.sh" lighttpd PORT="$PORT" DIR="$d" \
	    CGI="$BIN/goip-cgi" PROCS="$PROCS" ERRORLOG="$d/lighttpd.err" \
	    MAX_CONNECTIONS=8192 MAX_FDS=16384 NOTIFIER_PORT="$NPORT" \
	    PROXY_SECRET="$PROXY_SECRET" >"$d/lighttpd.conf" ||
	    die "cannot make $d/lighttpd.conf"
	"$BIN/goip-notifier" -d -c "$d/goip.conf" >"$d/notifier.log" 2>&1 &
	NOTIFIER_PID=$!
	PIDS+=("$NOTIFIER_PID")
	for i in $(seq 1 50); do [ -S "$d/notify.sock" ] && break; sleep 0.1; done
	[ -S "$d/notify.sock" ] || { cat "$d/notifier.log" >&2; die "notifier did not come up"; }
	lighttpd -D -f "$d/lighttpd.conf" &
	WEB_PID=$!
	PIDS+=("$WEB_PID")
	wait_http "http://127.0.0.1:$PORT/" ||
	    { cat "$d/lighttpd.err" >&2; die "lighttpd did not come up"; }
	wait_http "http://127.0.0.1:$NPORT/" || die "notifier does not answer"
	# lighttpd spawns goip-cgi at start
	APP_PIDS=$(pgrep -P "$WEB_PID" -x goip-cgi | tr '\n' ' ')
}

stop_all() { cleanup; NOTIFIER_PID=""; WEB_PID=""; APP_PIDS=""; PEER_PID=""; }

# Arguments of fanout for server S (peer | c | c-direct): where clients
# connect, where POSTs go, which devices, whose memory and CPU.
fanout_args() {
	local p
	case "$1" in
	peer)
		echo "--ws 127.0.0.1:$PEER_PORT --path /api/socket/io/" \
		    "--post 127.0.0.1:$PEER_PORT --prefix fan- --devices $DEVICES" \
		    "--server-pid $PEER_PID --cpu-pid $PEER_PID" ;;
	c | c-direct)
		if [ "$1" = c ]; then
			echo "--ws 127.0.0.1:$PORT --basic $(cat "$WORKDIR/basic")"
		else
			echo "--ws 127.0.0.1:$NPORT --proxy-secret $PROXY_SECRET"
		fi
		echo "--path /api/socket/io/ --post 127.0.0.1:$PORT" \
		    "--tokens $WORKDIR/tokens.txt --server-pid $NOTIFIER_PID" \
		    "--cpu-pid $NOTIFIER_PID --cpu-pid $WEB_PID"
		for p in $APP_PIDS; do echo "--cpu-pid $p"; done ;;
	esac
}

start_server() {
	case "$1" in
	peer) peer_start "$WORKDIR/run-peer" ;;
	*) start_c ;;
	esac
}

record() {	# ROUND SERVER BENCH JSON
	local line
	line="{\"round\":$1,\"server\":\"$2\",\"bench\":\"$3\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":${4:-null}}"
	echo "$line" >>"$RESULTS"
	echo "$line"
}

# --- measurements ---------------------------------------------------------

m_memory() {	# ROUND SERVER
	local out
	start_server "$2"
	sleep 1
	# shellcheck disable=SC2046
	out=$(timeout 300 "$FANOUT" $(fanout_args "$2") --src-addrs "$SRC_ADDRS" \
	    --steps "$STEPS" --concurrency 200 --settle-ms 5000 --max-s 280 \
	    --label "memory-$2-r$1" 2>"$WORKDIR/fanout.log") || true
	[ -n "$out" ] || { tail -5 "$WORKDIR/fanout.log" >&2; out=null; }
	record "$1" "$2" memory "$out"
	stop_all
}

# perf_start NAME / perf_stop: profile the notifier (PERF_DIR set, C only).
PERF_PID=""
perf_start() {
	[ -n "${PERF_DIR:-}" ] && [ -n "$NOTIFIER_PID" ] || return 0
	mkdir -p "$PERF_DIR"
	perf record -q -g -p "$NOTIFIER_PID" -o "$PERF_DIR/$1.data" \
	    >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
}
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null || true
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=""
}

m_latency() {	# ROUND SERVER CLIENTS M BENCH
	local out
	start_server "$2"
	# Warm-up (not measured): JIT of the peer, caches of both, and every
	# device online, so the measured heartbeats change no status.
	# shellcheck disable=SC2046
	timeout 60 "$FANOUT" $(fanout_args "$2") --clients 10 --heartbeats 300 \
	    --rate 100 --settle-ms 200 --drain-ms 2000 --max-s 50 \
	    --label "warmup-$2" >/dev/null 2>>"$WORKDIR/fanout.log" || true
	[ "$2" = peer ] || perf_start "$5-$2-r$1"
	# shellcheck disable=SC2046
	out=$(timeout $((LAT_MAX_S + 30)) "$FANOUT" $(fanout_args "$2") --src-addrs "$SRC_ADDRS" \
	    --clients "$3" --heartbeats "$4" --rate "$RATE" --settle-ms 2000 \
	    --drain-ms 10000 --max-s "$LAT_MAX_S" --label "$5-$2-r$1" \
	    2>"$WORKDIR/fanout.log") || true
	perf_stop
	[ -n "$out" ] || { tail -5 "$WORKDIR/fanout.log" >&2; out=null; }
	record "$1" "$2" "$5" "$out"
	stop_all
}

m_wrk() {	# ROUND SERVER
	local url hold a0 a1 n0 n1 w n pids auth="" i
	start_server "$2"
	case "$2" in
	peer) url="http://127.0.0.1:$PEER_PORT/api/device/heartbeat"; pids="$PEER_PID" ;;
	*) url="http://127.0.0.1:$PORT/api/device/heartbeat"
	   auth="$WORKDIR/tokens.txt"; pids="$NOTIFIER_PID $WEB_PID $APP_PIDS" ;;
	esac
	rm -f "$WORKDIR/ready"
	# shellcheck disable=SC2046
	timeout 120 "$FANOUT" $(fanout_args "$2") --clients 100 --hold-s 17 \
	    --settle-ms 1000 --ready-file "$WORKDIR/ready" --max-s 100 \
	    --label "hold-$2-r$1" >"$WORKDIR/hold.json" 2>"$WORKDIR/hold.log" &
	hold=$!
	PIDS+=("$hold")
	for i in $(seq 1 300); do [ -f "$WORKDIR/ready" ] && break; sleep 0.1; done
	[ -f "$WORKDIR/ready" ] || { cat "$WORKDIR/hold.log" >&2; die "holder not ready"; }
	WRK_AUTH_FILE="$auth" timeout 60 wrk -t"$WRK_T" -c"$WRK_C" -d"$WRK_WARM" \
	    -s "$WRK_LUA" "$url" >/dev/null
	# shellcheck disable=SC2086
	a0=$(cpu_ms $pids)
	n0=$(cpu_ms "${NOTIFIER_PID:-$PEER_PID}")
	w=$(WRK_AUTH_FILE="$auth" timeout 60 wrk -t"$WRK_T" -c"$WRK_C" -d"$WRK_D" \
	    --latency -s "$WRK_LUA" "$url" | sed -n 's/^WRKJSON //p')
	# shellcheck disable=SC2086
	a1=$(cpu_ms $pids)
	n1=$(cpu_ms "${NOTIFIER_PID:-$PEER_PID}")
	wait "$hold" || true
	n=$(echo "$w" | sed 's/.*"requests":\([0-9]*\).*/\1/')
	[ -n "$n" ] && [ "$n" -gt 0 ] || n=1
	record "$1" "$2" "wrk$WRK_C" "{\"wrk\":${w:-null},\"serverCpuUsPerReq\":$(((a1 - a0) * 1000 / n)),\"notifierCpuUsPerReq\":$(((n1 - n0) * 1000 / n)),\"holder\":$(cat "$WORKDIR/hold.json" 2>/dev/null || echo null)}"
	stop_all
}

# CPU per delivered event (c-direct: the notifier's CPU only).
m_cost() {	# ROUND SERVER
	local out args
	start_server "$2"
	# shellcheck disable=SC2046
	timeout 60 "$FANOUT" $(fanout_args "$2") --clients 10 --heartbeats 300 \
	    --rate 100 --settle-ms 200 --drain-ms 2000 --max-s 50 \
	    --label "warmup-$2" >/dev/null 2>>"$WORKDIR/fanout.log" || true
	if [ "$2" = peer ]; then
		args=$(fanout_args peer)
	else
		args="--ws 127.0.0.1:$NPORT --proxy-secret $PROXY_SECRET --path /api/socket/io/ --post 127.0.0.1:$PORT --tokens $WORKDIR/tokens.txt --server-pid $NOTIFIER_PID --cpu-pid $NOTIFIER_PID"
	fi
	[ "$2" = peer ] || perf_start "cost-$2-r$1"
	# shellcheck disable=SC2086
	out=$(timeout 150 "$FANOUT" $args --src-addrs "$SRC_ADDRS" \
	    --clients 1000 --heartbeats "$COST_M" --rate "$COST_RATE" \
	    --settle-ms 2000 --drain-ms 10000 --max-s 120 \
	    --label "cost-$2-r$1" 2>"$WORKDIR/fanout.log") || true
	perf_stop
	[ -n "$out" ] || { tail -5 "$WORKDIR/fanout.log" >&2; out=null; }
	record "$1" "$2" cost "$out"
	stop_all
}

# Is server S among SERVERS?
wanted() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }

round() {	# R [short]
	local r="$1" s
	for s in peer c-direct; do wanted "$s" && m_memory "$r" "$s"; done
	latencies "$r"
	for s in peer c; do wanted "$s" && m_wrk "$r" "$s"; done
}

latencies() {	# R
	local s
	for s in peer c; do
		wanted "$s" && m_latency "$1" "$s" 100 "$LAT100_M" lat100
	done
	for s in peer c c-direct; do
		wanted "$s" && m_latency "$1" "$s" 1000 "$LAT1000_M" lat1000
	done
	return 0
}

cmd_summary() {
	node - "${1:-$RESULTS}" <<'EOF'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n")
  .map(l => JSON.parse(l)).filter(r => r.result);
const med = a => { a = a.filter(x => x != null).sort((x, y) => x - y); return a.length ? a[(a.length - 1) >> 1] : null; };
const f = (x, d = 1) => x == null ? "-" : Number(x).toFixed(d);
const list = (a, d = 1) => "[" + a.map(x => f(x, d)).join(", ") + "]";
const by = (s, b) => rows.filter(r => r.server === s && r.bench === b);
const servers = ["peer", "c", "c-direct"];
console.log("| measurement | server | median [runs] | notes |");
console.log("|---|---|---|---|");
for (const s of servers) {
  const rs = by(s, "memory");
  if (!rs.length) continue;
  const n = Math.max(...rs.map(r => r.result.rss.steps.length));
  for (let i = 0; i < n; i++) {
    const st = rs.map(r => r.result.rss.steps[i]).filter(Boolean);
    const per = st.map(x => x.perClientB);
    console.log(`| RSS per idle client, ${st[0].clients} clients | ${s} | **${f(med(per), 0)} B** ${list(per, 0)} | VmRSS ${rs[0].result.rss.beforeKb} → ${med(st.map(x => x.rssKb))} kB; joined ${list(st.map(x => x.clients), 0)}; connect ${f(med(st.map(x => x.connectS)), 2)} s |`);
  }
}
for (const b of ["lat100", "lat1000"]) for (const s of servers) {
  const rs = by(s, b);
  if (!rs.length) continue;
  const L = rs.map(r => r.result.events ? r.result.events.latencyMs : null).filter(Boolean);
  const ev = rs.map(r => r.result.events || {});
  const hb = rs.map(r => r.result.heartbeats || {});
  console.log(`| ${b === "lat100" ? "100" : "1,000"} clients × ${hb[0].rate} hb/s | ${s} | p50 **${f(med(L.map(x => x.p50)), 2)}**, p99 **${f(med(L.map(x => x.p99)), 2)} ms** (p99 ${list(L.map(x => x.p99), 2)}) | max ${list(L.map(x => x.max), 1)} ms; lost ${list(ev.map(e => e.lost), 0)} of ${ev[0].expected}; dup ${list(ev.map(e => e.dup), 0)}; answered ${list(hb.map(h => h.rateAnswered), 1)} hb/s; POST p99 ${list(hb.map(h => h.postLatencyMs ? h.postLatencyMs.p99 : null), 2)} ms; cut at --max-s ${list(rs.map(r => r.result.timedOut ? 1 : 0), 0)}; server CPU ${list(rs.map(r => r.result.cpuMs.pidsPhase / 1000), 1)} s; client CPU ${list(rs.map(r => r.result.cpuMs.selfPhase / 1000), 1)} s |`);
}
for (const s of servers) {
  const rs = by(s, "cost");
  if (!rs.length) continue;
  const per = rs.map(r => r.result.events && r.result.events.received ? r.result.cpuMs.pidsPhase * 1000 / r.result.events.received : null);
  const L = rs.map(r => r.result.events.latencyMs);
  console.log(`| CPU per delivered event, 1,000 clients × ${rs[0].result.heartbeats.rate} hb/s | ${s} | **${f(med(per), 2)} µs** ${list(per, 2)} | ${s === "peer" ? "node" : "notifier only"}; events ${list(rs.map(r => r.result.events.received), 0)} of ${rs[0].result.events.expected}; stats-update ${list(rs.map(r => r.result.events.statsUpdate), 0)}; latency p50 ${list(L.map(x => x.p50), 2)} ms, p99 ${list(L.map(x => x.p99), 2)} ms |`);
}
for (const s of servers) {
  const rs = rows.filter(r => r.server === s && /^wrk/.test(r.bench));
  if (!rs.length) continue;
  const w = rs.map(r => r.result.wrk || {});
  const h = rs.map(r => r.result.holder || {});
  console.log(`| heartbeat POST, wrk -c${rs[0].bench.slice(3)}, 100 clients | ${s} | **${f(med(w.map(x => x.rps)), 0)} req/s** ${list(w.map(x => x.rps), 0)} | p50 ${f(med(w.map(x => x.lat_p50_ms)), 2)} ms, p99 ${f(med(w.map(x => x.lat_p99_ms)), 2)} ms; errors ${list(w.map(x => x.non2xx + x.connect_err + x.read_err + x.write_err + x.timeout), 0)}; server CPU ${list(rs.map(r => r.result.serverCpuUsPerReq), 0)} µs/req (notifier or node alone ${list(rs.map(r => r.result.notifierCpuUsPerReq), 0)}); events per client ${list(h.map(x => x.hold ? x.hold.perClient : null), 0)}; holder disconnects ${list(h.map(x => x.clients ? x.clients.disconnects : null), 0)} |`);
}
EOF
}

sub="${1:-all}"
case "$sub" in
all)
	mkdir -p "$WORKDIR"
	prepare
	: >"$RESULTS"
	log "start: $ROUNDS rounds"
	for r in $(seq 1 "$ROUNDS"); do round "$r"; done
	log "done"
	cmd_summary ;;
smoke)
	mkdir -p "$WORKDIR"
	prepare
	RESULTS="$WORKDIR/smoke.jsonl"
	: >"$RESULTS"
	STEPS=1000,2000 LAT100_M=500 LAT1000_M=300 WRK_D=3s round 1
	cmd_summary "$RESULTS" ;;
memory | cost)
	mkdir -p "$WORKDIR"
	prepare
	RESULTS="$WORKDIR/$sub.jsonl"
	: >"$RESULTS"
	for r in $(seq 1 "$ROUNDS"); do
		for s in peer c-direct; do
			wanted "$s" && "m_$sub" "$r" "$s"
		done
	done
	cmd_summary "$RESULTS" ;;
wrk)
	mkdir -p "$WORKDIR"
	prepare
	RESULTS="$WORKDIR/wrk.jsonl"
	: >"$RESULTS"
	for r in $(seq 1 "$ROUNDS"); do
		for s in peer c; do wanted "$s" && m_wrk "$r" "$s"; done
	done
	cmd_summary "$RESULTS" ;;
latency)
	mkdir -p "$WORKDIR"
	prepare
	RESULTS="$WORKDIR/latency.jsonl"
	: >"$RESULTS"
	for r in $(seq 1 "$ROUNDS"); do latencies "$r"; done
	cmd_summary "$RESULTS" ;;
summary)
	cmd_summary "${2:-}" ;;
*)
	sed -n '2,54p' "$0" >&2
	exit 2 ;;
esac
