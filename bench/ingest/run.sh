#!/usr/bin/env bash
# bench/ingest/run.sh: device ingest throughput of goip-cgi behind lighttpd
# (FastCGI), measured in one run against two references on the same machine:
# the Node peer (../shared/peer/server.js, the same heartbeat requests) and a
# FastCGI "hello world" (bench/ingest/fcgi_hello.c) behind the same
# lighttpd with the same process count.  See bench/RESULTS.md.
#
#   bench/ingest/run.sh [all]   tune, then measure (about 15 minutes)
#   bench/ingest/run.sh tune    max-procs 1, 2, 4: C heartbeat and hello
#                               world, -c16 and -c64, TUNE_ROUNDS rounds
#   bench/ingest/run.sh measure ROUNDS interleaved rounds at PROCS processes of
#                               peer heartbeat, C heartbeat (empty db), C SMS
#                               (empty db), hello world, C heartbeat (db with
#                               FILL SMS), C heartbeat keeping every one in
#                               the history (heartbeat_history_step = 0),
#                               at each of CONNS
#   bench/ingest/run.sh exp     ephemeral-table experiment: C heartbeat at
#                               max-procs 1 on the schema as is, with the
#                               multi-value CHECKs rewritten (schema_variant.py
#                               or), and also sim_slots as a rowid table
#                               (rowid), with and without the heap fix;
#                               EXP_ROUNDS (2) rounds, results in
#                               $WORKDIR/exp-results.jsonl
#   bench/ingest/run.sh summary [FILE]   medians of a results file as Markdown
#
# Env: ROUNDS (3), TUNE_ROUNDS (1), CONNS ("16 64"), PROCS (auto: best of the
#      tune pass, fewer processes unless more win by > 10 %), WRK_T (2), WRK_D (10s),
#      WRK_WARM (3s), DEVICES (100), FILL (1000000), PORT (18080),
#      PEER_PORT (13300), WORKDIR (/var/tmp/goip-bench-ingest),
#      PEER_SRC (../shared/peer relative to the repo), PEER_DIR (a copy of
#      PEER_SRC with node_modules; made with "npm ci" when missing:
#      /var/tmp/goip-peer)
# Output: one JSON line per measurement, appended to $WORKDIR/results.jsonl
# (also on stdout), then the summary table.  Everything listens on 127.0.0.1;
# every wrk run is bounded by -d and timeout(1).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"
TUNE_ROUNDS="${TUNE_ROUNDS:-1}"
CONNS="${CONNS:-16 64}"
PROCS="${PROCS:-auto}"
WRK_T="${WRK_T:-2}"
WRK_D="${WRK_D:-10s}"
WRK_WARM="${WRK_WARM:-3s}"
DEVICES="${DEVICES:-100}"
FILL="${FILL:-1000000}"
PORT="${PORT:-18080}"
PEER_PORT="${PEER_PORT:-13300}"
WORKDIR="${WORKDIR:-/var/tmp/goip-bench-ingest}"
PEER_SRC="${PEER_SRC:-$TOP/../shared/peer}"
PEER_DIR="${PEER_DIR:-/var/tmp/goip-peer}"
RESULTS="$WORKDIR/results.jsonl"
# Copies of the binaries taken at start: a rebuild in the tree during the run
# must not change what is measured.
GOIP_CGI="$WORKDIR/bin/goip-cgi"
GOIPCTL="$WORKDIR/bin/goipctl"
HELLO="$WORKDIR/fcgi_hello"
export WRK_REPORT="$HERE/report.lua"

BENCH=ingest
. "$TOP/bench/bench.subr"

# --- preparation ----------------------------------------------------------

prepare_tools() {
	local t
	for t in wrk lighttpd sqlite3 node make curl timeout; do
		command -v "$t" >/dev/null || die "missing $t (apt-get install wrk lighttpd sqlite3 nodejs make curl)"
	done
	mkdir -p "$WORKDIR/bin"
	make -C "$TOP" cgi/goip-cgi ctl/goipctl >&2
	cp "$TOP/cgi/goip-cgi" "$TOP/ctl/goipctl" "$WORKDIR/bin/"
	# What was measured: the commit and any local change to the C sources.
	{
		git -C "$TOP" log -1 --format='commit %H %cd'
		git -C "$TOP" status --short -- cgi lib sql ctl | sed 's/^/dirty: /'
		sha256sum "$GOIP_CGI" | sed 's/^/sha256 /'
	} >"$WORKDIR/build.txt"
	log "build: $(head -1 "$WORKDIR/build.txt")"
	# The hello world is ours: built by "make bench" from bench/ingest.
	make -C "$TOP" bench/ingest/fcgi_hello >&2
	cp "$TOP/bench/ingest/fcgi_hello" "$HELLO"
	if [ ! -d "$PEER_DIR/node_modules/better-sqlite3" ]; then
		log "npm ci of the peer in $PEER_DIR (about 2 minutes)"
		rm -rf "$PEER_DIR"
		cp -r "$PEER_SRC" "$PEER_DIR"
		(cd "$PEER_DIR" && npm_config_nodedir=/usr npm ci >&2)
	fi
}

# Template databases: $WORKDIR/empty.db (schema + DEVICES devices, tokens in
# tokens.txt) and $WORKDIR/full.db (the same plus FILL inbound SMS, inserted
# straight into the sms table in transactions of 250 000 rows; the triggers
# keep the counters).  Every measurement runs on a fresh copy.
prepare_dbs() {
	local conf="$WORKDIR/tmpl.conf" i n k
	rm -f "$WORKDIR"/tmpl.db* "$WORKDIR/tokens.txt"
	printf 'database = %s\n' "$WORKDIR/tmpl.db" >"$conf"
	"$GOIPCTL" -c "$conf" init >&2
	for i in $(seq 1 "$DEVICES"); do
		printf 'bench-%03d %s\n' "$i" \
		    "$("$GOIPCTL" -c "$conf" device add "$(printf 'bench-%03d' "$i")")"
	done >"$WORKDIR/tokens.txt"
	sqlite3 "$WORKDIR/tmpl.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
	cp "$WORKDIR/tmpl.db" "$WORKDIR/empty.db"
	if [ -f "$WORKDIR/full.db" ] &&
	    [ "$(sqlite3 "$WORKDIR/full.db" "SELECT count(*) FROM sms")" = "$FILL" ] &&
	    [ "$(sqlite3 "$WORKDIR/full.db" "SELECT count(*) FROM devices")" = "$DEVICES" ]; then
		# Reuse it, with the new tokens.
		sqlite3 "$WORKDIR/full.db" "ATTACH '$WORKDIR/tmpl.db' AS t;
		    UPDATE main.devices SET token_hash = (SELECT n.token_hash
		    FROM t.devices AS n WHERE n.id = main.devices.id);" ||
			rm -f "$WORKDIR/full.db"
	fi
	if [ ! -f "$WORKDIR/full.db" ]; then
		log "filling a database with $FILL SMS"
		cp "$WORKDIR/tmpl.db" "$WORKDIR/fill.db"
		n=250000
		for ((k = 0; k * n < FILL; k++)); do
			sqlite3 "$WORKDIR/fill.db" "
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT $((k * n)) UNION ALL SELECT i + 1 FROM c
    WHERE i + 1 < min($(((k + 1) * n)), $FILL))
INSERT INTO sms(device, direction, slot, sender, recipient, text,
    message_id, received_at, stored_at, status, segments, encoding)
SELECT i % $DEVICES + 1, 'in', 1 + i % 2, printf('+48500%06d', i % 999983),
    '+48500100200', printf('Prefilled message %d: Zażółć gęślą jaźń 🚀', i),
    printf('fill-%d', i), 1795000000000 + i * 1000, 1795000000000 + i * 1000,
    'received', 1, 'ucs2' FROM c;
COMMIT;" >/dev/null
		done
		sqlite3 "$WORKDIR/fill.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
		mv "$WORKDIR/fill.db" "$WORKDIR/full.db"
	fi
	log "databases ready: empty.db, full.db ($(du -m "$WORKDIR/full.db" | cut -f1) MB, $(sqlite3 "$WORKDIR/full.db" 'SELECT count(*) FROM sms') SMS)"
}

# --- servers --------------------------------------------------------------


# lighttpd as every local instance runs it (etc/lighttpd.conf.in around
# etc/lighttpd-goip.conf): /api/ -> goip-cgi, plus /hello -> fcgi_hello
# (bench/ingest/hello.conf), both spawned by lighttpd (bin-path) with
# max-procs P, on a fresh copy of DB.  The device routes measured need no
# HTTP authentication, nor does /hello.  With a third argument "trim",
# goip-cgi runs with glibc's heap trim threshold raised (GLIBC_TUNABLES set
# by env(1) in its bin-path, no code change): see RESULTS.md; with "every",
# goip.conf keeps every heartbeat in the history (heartbeat_history_step =
# 0) instead of one per device and second.
start_lighttpd() {	# P DB(empty|full) [trim|every|-] [goip-cgi|hello]
	local p="$1" db="$2" d="$WORKDIR/run" cgi="$GOIP_CGI"
	[ "${3:-}" != trim ] ||
		cgi="/usr/bin/env GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864 $GOIP_CGI"

	rm -rf "$d"
	mkdir -p "$d/htdocs"
	cp "$WORKDIR/$db.db" "$d/goip.db"
	sync "$d/goip.db"	# its writeback must not overlap the measurement
	cat >"$d/goip.conf" <<EOF
database = $d/goip.db
notify_socket = $d/notify.sock
dashboard_auth = none
device_rate = 0
EOF
	[ "${3:-}" != every ] ||
		echo 'heartbeat_history_step = 0' >>"$d/goip.conf"
	sh "$TOP/etc/instance-conf.sh" lighttpd PORT="$PORT" DIR="$d" \
	    CGI="$cgi" PROCS="$p" ERRORLOG="$d/lighttpd.err" \
	    MAX_CONNECTIONS=4096 MAX_FDS=8192 INCLUDE="$HERE/hello.conf" \
	    >"$d/lighttpd.conf" ||
		die "cannot make $d/lighttpd.conf"
	GOIP_HELLO="$HELLO" lighttpd -D -f "$d/lighttpd.conf" &
	PIDS+=($!)
	WEB_PID=$!
	wait_http "http://127.0.0.1:$PORT/hello" ||
		{ cat "$d/lighttpd.err" >&2; die "lighttpd did not come up"; }
	case "${4:-goip-cgi}" in
	hello) APP_PIDS=$(pgrep -P "$WEB_PID" -x fcgi_hello | tr '\n' ' ') ;;
	*) APP_PIDS=$(pgrep -P "$WEB_PID" -x goip-cgi | tr '\n' ' ') ;;
	esac
}

start_peer() {
	peer_start "$WORKDIR/peer"
	APP_PIDS=$PEER_PID
	WEB_PID=""
}

# --- one measurement ------------------------------------------------------

# wrk with a warm-up, then the measured run; prints the WRKJSON object with
# the CPU time per request of the application processes (APP_PIDS: goip-cgi,
# fcgi_hello or node) and of lighttpd (WEB_PID) added as "cpu".
APP_PIDS=""
WEB_PID=""
run_wrk() {	# C SCRIPT URL
	local c="$1" s="$2" url="$3" out a0 w0 a1 w1 n
	timeout 60 wrk -t"$WRK_T" -c"$c" -d"$WRK_WARM" ${s:+-s "$s"} "$url" >/dev/null
	a0=$(cpu_ms $APP_PIDS); w0=$(cpu_ms $WEB_PID)
	out=$(timeout 60 wrk -t"$WRK_T" -c"$c" -d"$WRK_D" --latency \
	    -s "${s:-$WRK_REPORT}" "$url" | sed -n 's/^WRKJSON //p')
	a1=$(cpu_ms $APP_PIDS); w1=$(cpu_ms $WEB_PID)
	n=$(echo "$out" | sed 's/.*"requests":\([0-9]*\).*/\1/')
	[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "$out"; return; }
	echo "${out%\}},\"cpu\":{\"app_us_per_req\":$(((a1 - a0) * 1000 / n)),\"web_us_per_req\":$(((w1 - w0) * 1000 / n))}}"
}

# KIND: peer-hb | c-hb | c-hb-every | c-hb-trim | c-sms | hello;
# DB: empty | full (C only)
measure() {	# PASS ROUND KIND C P DB
	local pass="$1" round="$2" kind="$3" c="$4" p="$5" db="$6" w load
	# Write back what the last measurement left dirty (its database, its
	# WAL), so that the kernel's writeback does not run during this one.
	sync
	# The 1-minute load average before the run: the box is shared.
	load=$(cut -d' ' -f1 /proc/loadavg)
	case "$kind" in
	peer-hb)
		start_peer
		w=$(WRK_AUTH_FILE= run_wrk "$c" "$HERE/heartbeat.lua" \
		    "http://127.0.0.1:$PEER_PORT/api/device/heartbeat")
		p=0; db=peer ;;
	c-hb)
		start_lighttpd "$p" "$db"
		w=$(WRK_AUTH_FILE="$WORKDIR/tokens.txt" run_wrk "$c" \
		    "$HERE/heartbeat.lua" \
		    "http://127.0.0.1:$PORT/api/device/heartbeat") ;;
	c-hb-every)
		start_lighttpd "$p" "$db" every
		w=$(WRK_AUTH_FILE="$WORKDIR/tokens.txt" run_wrk "$c" \
		    "$HERE/heartbeat.lua" \
		    "http://127.0.0.1:$PORT/api/device/heartbeat") ;;
	c-hb-trim)
		start_lighttpd "$p" "$db" trim
		w=$(WRK_AUTH_FILE="$WORKDIR/tokens.txt" run_wrk "$c" \
		    "$HERE/heartbeat.lua" \
		    "http://127.0.0.1:$PORT/api/device/heartbeat") ;;
	c-sms)
		start_lighttpd "$p" "$db"
		w=$(WRK_AUTH_FILE="$WORKDIR/tokens.txt" \
		    WRK_RUN="$pass$round-$c-$RANDOM" run_wrk "$c" \
		    "$HERE/sms.lua" "http://127.0.0.1:$PORT/api/sms/receive") ;;
	hello)
		start_lighttpd "$p" "$db" - hello
		w=$(run_wrk "$c" "" "http://127.0.0.1:$PORT/hello")
		db=- ;;
	esac
	cleanup
	[ -n "$w" ] || die "$kind: no wrk result"
	case "$w" in
	*'"non2xx":0,"connect_err":0,"read_err":0,"write_err":0,"timeout":0'*) ;;
	*) log "WARNING: $kind -c$c P=$p: errors: $w" ;;
	esac
	echo "{\"pass\":\"$pass\",\"round\":$round,\"kind\":\"$kind\",\"conns\":$c,\"procs\":$p,\"db\":\"$db\",\"load\":$load,\"wrk\":$w}" |
	    tee -a "$RESULTS"
	log "$pass r$round $kind -c$c P=$p db=$db: $(echo "$w" | sed 's/,"lat_max.*//')"
}

# --- passes ---------------------------------------------------------------

cmd_tune() {
	local r c p
	for r in $(seq 1 "$TUNE_ROUNDS"); do
		for c in $CONNS; do
			for p in 1 2 4; do
				measure tune "$r" c-hb "$c" "$p" empty
				measure tune "$r" hello "$c" "$p" empty
			done
		done
	done
}

# The process count with the best summed median C heartbeat rps (as built)
# in the tune pass; more processes must beat fewer by more than 10 %, since
# every extra writer only adds SQLite lock waits (p99) when the write lock is
# the bottleneck.
choose_procs() {
	node -e '
const fs = require("fs");
const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n")
  .map(l => JSON.parse(l)).filter(r => r.pass === "tune" && r.kind === "c-hb");
const med = a => { a = a.slice().sort((x, y) => x - y); return a[(a.length - 1) >> 1]; };
const score = {};
for (const p of [1, 2, 4]) {
  const byC = {};
  for (const r of rows.filter(r => r.procs === p)) (byC[r.conns] ||= []).push(r.wrk.rps);
  score[p] = Object.values(byC).reduce((s, a) => s + med(a), 0);
}
let best = 1;
for (const p of [2, 4]) if (score[p] > score[best] * 1.10) best = p;
console.error("tune: summed median heartbeat rps by max-procs " + JSON.stringify(score) + " -> " + best);
console.log(best);' "$RESULTS"
}

cmd_measure() {
	local r c
	[ "$PROCS" != auto ] || PROCS=$(choose_procs)
	log "measure: $ROUNDS rounds, max-procs $PROCS, conns $CONNS"
	for r in $(seq 1 "$ROUNDS"); do
		for c in $CONNS; do
			measure main "$r" peer-hb "$c" 0 -
			measure main "$r" c-hb "$c" "$PROCS" empty
			measure main "$r" c-sms "$c" "$PROCS" empty
			measure main "$r" hello "$c" "$PROCS" empty
			measure main "$r" c-hb "$c" "$PROCS" full
			measure main "$r" c-hb-every "$c" "$PROCS" empty
		done
	done
}

cmd_exp() {
	local r c
	cp "$WORKDIR/empty.db" "$WORKDIR/exp1.db"
	python3 "$HERE/schema_variant.py" "$WORKDIR/exp1.db" or
	cp "$WORKDIR/empty.db" "$WORKDIR/exp2.db"
	python3 "$HERE/schema_variant.py" "$WORKDIR/exp2.db" rowid
	RESULTS="$WORKDIR/exp-results.jsonl"
	: >"$RESULTS"
	for r in $(seq 1 "${EXP_ROUNDS:-2}"); do
		for c in $CONNS; do
			measure exp "$r" c-hb "$c" 1 empty
			measure exp "$r" c-hb "$c" 1 exp1
			measure exp "$r" c-hb "$c" 1 exp2
			measure exp "$r" c-hb-trim "$c" 1 empty
			measure exp "$r" c-hb-trim "$c" 1 exp2
		done
	done
}

cmd_summary() {
	node -e '
const fs = require("fs");
const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => JSON.parse(l));
const med = a => { a = a.slice().sort((x, y) => x - y); return a[(a.length - 1) >> 1]; };
const groups = new Map();
for (const r of rows) {
  const k = [r.pass, r.kind, r.db, r.procs, r.conns].join("|");
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}
const f0 = x => Math.round(x).toLocaleString("en-US").replace(/,/g, " ");
console.log("| pass | what | db | max-procs | -c | req/s median [runs] | p50 ms | p99 ms | app CPU µs/req | lighttpd CPU µs/req | errors | load |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
const cpu = (rs, k) => { const a = rs.filter(r => r.wrk.cpu).map(r => r.wrk.cpu[k]); return a.length ? f0(med(a)) : "-"; };
for (const [k, rs] of groups) {
  const [pass, kind, db, procs, conns] = k.split("|");
  const rps = rs.map(r => r.wrk.rps);
  const err = rs.reduce((s, r) => s + r.wrk.non2xx + r.wrk.connect_err + r.wrk.read_err + r.wrk.write_err + r.wrk.timeout, 0);
  console.log(`| ${pass} | ${kind} | ${db} | ${procs} | ${conns} | **${f0(med(rps))}** [${rps.map(f0).join(", ")}] | ${med(rs.map(r => r.wrk.lat_p50_ms)).toFixed(2)} | ${med(rs.map(r => r.wrk.lat_p99_ms)).toFixed(2)} | ${cpu(rs, "app_us_per_req")} | ${kind === "peer-hb" ? "-" : cpu(rs, "web_us_per_req")} | ${err} | ${rs.every(r => r.load !== undefined) ? med(rs.map(r => r.load)).toFixed(1) : "-"} |`);
}' "${1:-$RESULTS}"
}

sub="${1:-all}"
case "$sub" in
all)
	prepare_tools
	prepare_dbs
	: >"$RESULTS"
	cmd_tune
	cmd_measure
	cmd_summary ;;
tune)
	prepare_tools
	prepare_dbs
	cmd_tune
	cmd_summary ;;
measure)
	prepare_tools
	prepare_dbs
	cmd_measure
	cmd_summary ;;
exp)
	prepare_tools
	prepare_dbs
	cmd_exp
	cmd_summary "$RESULTS" ;;
summary)
	cmd_summary "${2:-}" ;;
*)
	sed -n "2,/^set -euo/p" "$0" >&2
	exit 2 ;;
esac
