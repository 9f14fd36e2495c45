#!/usr/bin/env python3
#
# hostile.py: the clients of bench/hostile/run.sh (see the header there).
#
# Subcommands, each bounded in time and count, all on 127.0.0.1:
#
#   probe    an ordinary client: one request at a time (a fresh connection
#            each, a cap on each) until a stop file appears or a time
#            limit; writes every request's start, latency and outcome
#   replay   the replay attack: one polling session sends
#            40{"lastEventId":0}, then one POST of PAIRS join/leave pairs
#            of device room "nope"; writes how long that POST took
#   pings    the ping flood: SESSIONS polling sessions at once, each
#            sending POSTS payloads of PINGS Engine.IO pings
#   drip     the dripping body: one request whose body arrives CHUNK bytes
#            every INTERVAL seconds, for at most SECONDS
#   sample   samples VmRSS of a process and its CPU time until a stop file
#            appears or a time limit
#   report   summarises the files above as one JSON line and one Markdown
#            table row
#   table    the Markdown rows of a results file (JSON lines of report)
#
# Every subcommand writes its result as one JSON object to --out.  Times are
# time.time() seconds, so files of different processes compare.

import argparse
import http.client
import json
import os
import select
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
EIO_SEP = b"\x1e"


def now():
	return time.time()


def write_json(path, obj):
	tmp = path + ".tmp"
	with open(tmp, "w") as f:
		json.dump(obj, f)
		f.write("\n")
	os.replace(tmp, path)


def http_request(port, method, path, body=None, headers=None, timeout=10.0):
	"""One request on a fresh connection; (status, body) or raises OSError
	(socket.timeout included) or http.client.HTTPException."""
	conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
	try:
		hdrs = {"Connection": "close"}
		if headers:
			hdrs.update(headers)
		conn.request(method, path, body=body, headers=hdrs)
		resp = conn.getresponse()
		data = resp.read()
		return resp.status, data
	finally:
		conn.close()


def parse_headers(items):
	"""["Name: value", ...] as a dict."""
	out = {}
	for h in items or []:
		name, _, value = h.partition(":")
		out[name.strip()] = value.strip()
	return out


# --- probe -------------------------------------------------------------

def cmd_probe(a):
	"""The ordinary client.  Each request is [start, seconds, outcome]:
	outcome is the HTTP status, "timeout" (no answer within --cap; seconds
	is then the cap) or "error:..." (refused, reset)."""
	headers = parse_headers(a.header)
	body = a.body.encode() if a.body is not None else None
	reqs = []
	t0 = now()
	while now() - t0 < a.max_seconds and not os.path.exists(a.stop_file):
		start = now()
		try:
			status, _ = http_request(a.port, a.method, a.path, body,
			    headers, a.cap)
			outcome = status
		except socket.timeout:
			outcome = "timeout"
		except (OSError, http.client.HTTPException) as e:
			outcome = "error:" + type(e).__name__
		reqs.append([start, now() - start, outcome])
		if a.interval > 0:
			time.sleep(a.interval)
	write_json(a.out, {"what": "probe", "method": a.method,
	    "path": a.path, "cap": a.cap, "requests": reqs})


# --- Engine.IO polling helpers -------------------------------------------

def eio_handshake(port, path, timeout):
	"""Open a polling session; its sid, or None with the reason."""
	try:
		status, data = http_request(port, "GET",
		    path + "?EIO=4&transport=polling", timeout=timeout)
	except (OSError, http.client.HTTPException) as e:
		return None, "handshake " + type(e).__name__
	if status != 200 or not data.startswith(b"0{"):
		return None, "handshake %d %r" % (status, data[:80])
	try:
		return json.loads(data[1:].decode())["sid"], None
	except (ValueError, KeyError) as e:
		return None, "handshake %s" % type(e).__name__


def eio_post(port, path, sid, payload, timeout):
	"""POST one polling payload; (status or outcome string, seconds)."""
	start = now()
	try:
		status, _ = http_request(port, "POST",
		    path + "?EIO=4&transport=polling&sid=" + sid, payload,
		    {"Content-Type": "text/plain;charset=UTF-8"}, timeout)
		return status, now() - start
	except socket.timeout:
		return "timeout", now() - start
	except (OSError, http.client.HTTPException) as e:
		return "error:" + type(e).__name__, now() - start


# --- replay --------------------------------------------------------------

def cmd_replay(a):
	res = {"what": "replay", "pairs": a.pairs, "cap": a.cap,
	    "start": now()}
	sid, why = eio_handshake(a.port, a.path, a.cap)
	if sid is None:
		res.update(end=now(), error=why)
		write_json(a.out, res)
		return
	res["connect"], _ = eio_post(a.port, a.path, sid,
	    b'40{"lastEventId":0}', a.cap)
	pair = [b'42["join-device-room","nope"]',
	    b'42["leave-device-room","nope"]']
	payload = EIO_SEP.join(pair * a.pairs)
	res["payload_bytes"] = len(payload)
	res["attack_start"] = now()
	res["post"], res["seconds"] = eio_post(a.port, a.path, sid, payload,
	    a.cap)
	res["end"] = now()
	write_json(a.out, res)


# --- pings ---------------------------------------------------------------

def cmd_pings(a):
	payload = EIO_SEP.join([b"2"] * a.pings)
	res = {"what": "pings", "sessions": a.sessions, "posts": a.posts,
	    "pings": a.pings, "payload_bytes": len(payload), "cap": a.cap,
	    "start": now()}
	deadline = res["start"] + a.cap
	outcomes = []
	lock = threading.Lock()

	def session():
		sid, why = eio_handshake(a.port, a.path,
		    max(0.1, deadline - now()))
		if sid is None:
			with lock:
				outcomes.append(why)
			return
		for _ in range(a.posts):
			left = deadline - now()
			if left <= 0:
				with lock:
					outcomes.append("not sent: cap")
				continue
			status, _ = eio_post(a.port, a.path, sid, payload, left)
			with lock:
				outcomes.append(status)

	threads = [threading.Thread(target=session) for _ in range(a.sessions)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	res["end"] = now()
	res["seconds"] = res["end"] - res["start"]
	hist = {}
	for o in outcomes:
		hist[str(o)] = hist.get(str(o), 0) + 1
	res["outcomes"] = hist
	write_json(a.out, res)


# --- drip ----------------------------------------------------------------

def cmd_drip(a):
	"""Send the headers of a BYTES-long body, then the body CHUNK bytes
	every INTERVAL seconds; stop when it is all sent, when the server
	answers or closes, or after SECONDS."""
	pad = "x" * a.bytes
	head = ('{"deviceId":"%s","messageId":"drip-%d","slot":1,'
	    '"from":"+15550000001","to":"+15550000002","text":"' %
	    (a.device, int(now())))
	tail = '"}'
	body = (head + pad[:a.bytes - len(head) - len(tail)] + tail).encode()
	assert len(body) == a.bytes
	req = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n"
	    "Connection: close\r\n\r\n" % (a.path, HOST, a.port, a.token,
	    len(body))).encode()
	res = {"what": "drip", "bytes": a.bytes, "chunk": a.chunk,
	    "interval": a.interval, "max_seconds": a.seconds, "start": now()}
	sent = 0
	answer = b""
	ended = "time limit"
	try:
		s = socket.create_connection((HOST, a.port), timeout=5)
		s.sendall(req)
		res["attack_start"] = now()
		while sent < len(body):
			if now() - res["attack_start"] >= a.seconds:
				break
			r, _, _ = select.select([s], [], [], a.interval)
			if r:
				data = s.recv(4096)
				answer += data
				ended = ("server answered" if data else
				    "server closed")
				break
			s.sendall(body[sent:sent + a.chunk])
			sent += len(body[sent:sent + a.chunk])
		else:
			ended = "body complete"
		if ended in ("body complete", "server answered"):
			s.settimeout(5)
			try:
				while True:
					data = s.recv(4096)
					if not data:
						break
					answer += data
			except OSError:
				pass
		s.close()
	except OSError as e:
		ended = "error:" + type(e).__name__
	res["end"] = now()
	res["seconds"] = res["end"] - res.get("attack_start", res["start"])
	res["sent"] = sent
	res["ended"] = ended
	res["answer"] = answer.split(b"\r\n", 1)[0].decode("latin-1")
	write_json(a.out, res)


# --- sample --------------------------------------------------------------

def proc_status_kb(pid, key):
	try:
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith(key + ":"):
					return int(line.split()[1])
	except OSError:
		pass
	return None


def proc_cpu_seconds(pid):
	"""utime + stime of PID in seconds, or None."""
	try:
		with open("/proc/%d/stat" % pid) as f:
			fields = f.read().rsplit(")", 1)[1].split()
	except OSError:
		return None
	# After the command: state is field 3, utime 14 and stime 15.
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmd_sample(a):
	res = {"what": "sample", "pid": a.pid, "start": now(),
	    "rss_start_kb": proc_status_kb(a.pid, "VmRSS"),
	    "cpu_start": proc_cpu_seconds(a.pid)}
	peak = res["rss_start_kb"] or 0
	t0 = now()
	while now() - t0 < a.max_seconds and not os.path.exists(a.stop_file):
		rss = proc_status_kb(a.pid, "VmRSS")
		if rss is None:
			res["gone"] = True
			break
		peak = max(peak, rss)
		time.sleep(a.interval)
	res["end"] = now()
	res["rss_peak_kb"] = peak
	res["rss_end_kb"] = proc_status_kb(a.pid, "VmRSS")
	res["hwm_kb"] = proc_status_kb(a.pid, "VmHWM")
	cpu = proc_cpu_seconds(a.pid)
	res["cpu_end"] = cpu
	if cpu is not None and res["cpu_start"] is not None:
		res["cpu_seconds"] = cpu - res["cpu_start"]
	write_json(a.out, res)


# --- report --------------------------------------------------------------

def percentile(sorted_vals, p):
	"""Nearest-rank percentile of a sorted list (None when empty)."""
	if not sorted_vals:
		return None
	k = max(0, min(len(sorted_vals) - 1,
	    int(-(-p * len(sorted_vals) // 100)) - 1))
	return sorted_vals[k]


def probe_summary(reqs, lo, hi, until):
	"""Latency summary of the requests started in [lo, hi).  A request
	that timed out counts at the cap (a lower bound) in the percentiles.
	The longest stall is the longest time from LO to UNTIL in which no
	request got an answer."""
	sel = [r for r in reqs if lo <= r[0] < hi]
	lat = sorted(r[1] for r in sel)
	ok = [r for r in sel if isinstance(r[2], int) and r[2] < 500]
	answered = [r for r in sel if isinstance(r[2], int)]
	ends = sorted(r[0] + r[1] for r in answered)
	lo = max([lo] + [sel[0][0]] if sel else [lo])
	marks = [lo] + [e for e in ends if lo <= e <= until] + [until]
	stall = max(b - a for a, b in zip(marks, marks[1:])) if sel else None
	statuses = {}
	for r in sel:
		statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1

	def ms(v):
		return None if v is None else round(v * 1000, 1)
	return {"requests": len(sel), "answered": len(answered),
	    "ok": len(ok),
	    "timeouts": sum(1 for r in sel if r[2] == "timeout"),
	    "errors": sum(1 for r in sel if str(r[2]).startswith("error")),
	    "statuses": statuses, "p50_ms": ms(percentile(lat, 50)),
	    "p99_ms": ms(percentile(lat, 99)), "max_ms": ms(lat[-1] if lat
	    else None), "longest_stall_ms": ms(stall)}


def load(path):
	if path is None or not os.path.exists(path):
		return None
	with open(path) as f:
		return json.load(f)


def summarise(out, reqs):
	"""Add the ordinary client's summaries to the report OUT."""
	attack = out["attack"]
	a0 = attack.get("attack_start", attack["start"])
	# "during": the requests started while the attack ran, and
	# the stalls until the last of them was answered or gave up;
	# "after": those of the second the probe goes on afterwards.
	a1 = attack["end"]
	last = max([r[0] + r[1] for r in reqs if a0 <= r[0] < a1] +
	    [a1])
	out["probe_before"] = probe_summary(reqs, 0, a0, a0)
	out["probe_during"] = probe_summary(reqs, a0, a1, last)
	out["probe_during"]["answered_in_attack"] = sum(1 for r in reqs
	    if a0 <= r[0] < a1 and isinstance(r[2], int) and
	    r[0] + r[1] <= a1)
	out["probe_after"] = probe_summary(reqs, a1, a1 + 3600,
	    max([r[0] + r[1] for r in reqs] + [a1]))


def cmd_report(a):
	probe = load(a.probe)
	attack = load(a.attack)
	sample = load(a.sample)
	out = {"scenario": a.scenario, "label": a.label, "commit": a.commit,
	    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
	    "load": os.getloadavg()[0], "attack": attack, "sample": sample}
	if probe is not None and attack is not None:
		out["probe_requests"] = probe["requests"]
		out["probe_path"] = probe["path"]
		out["probe_cap"] = probe["cap"]
		summarise(out, probe["requests"])
	with open(a.jsonl, "a") as f:
		f.write(json.dumps(out) + "\n")
	print(markdown_row(out))


def cmd_table(a):
	"""Print the Markdown rows of the runs in a results file, the
	summaries computed again from the raw requests kept there."""
	with open(a.jsonl) as f:
		for line in f:
			o = json.loads(line)
			if a.label is not None and o["label"] != a.label:
				continue
			if o.get("probe_requests") is not None:
				summarise(o, o["probe_requests"])
			print(markdown_row(o))


def fmt(v, unit=""):
	if v is None:
		return "-"
	if isinstance(v, float):
		v = ("%.0f" % v) if v >= 100 else ("%.1f" % v)
	return "%s%s" % (v, unit)


def markdown_row(o):
	"""One row: | run | commit | attack and its outcome | ordinary client
	p50 / p99 / max | answered before the attack ended (answered at all)
	of started during it, timed out | longest stall | CPU | RSS start /
	peak |."""
	at = o.get("attack") or {}
	sm = o.get("sample") or {}
	pd = o.get("probe_during") or {}
	if o["scenario"] == "replay":
		post = at.get("post", at.get("error", "-"))
		what = "%s: POST of %d pairs %s %s s" % (o["scenario"],
		    at.get("pairs", 0), ("answered %s after" % post)
		    if isinstance(post, int) else ("%s, not answered in" %
		    post), fmt(at.get("seconds")))
	elif o["scenario"] == "pings":
		what = "%s: %dx%d POSTs of %d pings in %s s %s" % (
		    o["scenario"], at.get("sessions", 0), at.get("posts", 0),
		    at.get("pings", 0), fmt(at.get("seconds")),
		    json.dumps(at.get("outcomes", {}), sort_keys=True))
	else:
		what = "%s: %d of %d bytes in %s s, %s %s" % (o["scenario"],
		    at.get("sent", 0), at.get("bytes", 0),
		    fmt(at.get("seconds")), at.get("ended", "-"),
		    at.get("answer", ""))
	return ("| %s | %s | %s | %s / %s / %s | %s (%s) of %s, %s timed out "
	    "at %s s | %s | %s | %s / %s |" % (o["label"], o["commit"], what,
	    fmt(pd.get("p50_ms")), fmt(pd.get("p99_ms")),
	    fmt(pd.get("max_ms")), pd.get("answered_in_attack", "-"),
	    pd.get("answered", "-"), pd.get("requests", "-"),
	    pd.get("timeouts", "-"),
	    fmt(o.get("probe_cap")), fmt(pd.get("longest_stall_ms")),
	    fmt(sm.get("cpu_seconds"), " s"),
	    fmt((sm.get("rss_start_kb") or 0) / 1024.0, " MB"),
	    fmt((sm.get("rss_peak_kb") or 0) / 1024.0, " MB")))


def main():
	p = argparse.ArgumentParser(description=__doc__)
	sub = p.add_subparsers(dest="cmd", required=True)

	s = sub.add_parser("probe")
	s.add_argument("--port", type=int, required=True)
	s.add_argument("--method", default="GET")
	s.add_argument("--path", required=True)
	s.add_argument("--body")
	s.add_argument("--header", action="append")
	s.add_argument("--cap", type=float, default=10.0)
	s.add_argument("--interval", type=float, default=0.05)
	s.add_argument("--max-seconds", type=float, default=120.0)
	s.add_argument("--stop-file", required=True)
	s.add_argument("--out", required=True)

	s = sub.add_parser("replay")
	s.add_argument("--port", type=int, required=True)
	s.add_argument("--path", default="/api/socket/io/")
	s.add_argument("--pairs", type=int, default=3000)
	s.add_argument("--cap", type=float, default=60.0)
	s.add_argument("--out", required=True)

	s = sub.add_parser("pings")
	s.add_argument("--port", type=int, required=True)
	s.add_argument("--path", default="/api/socket/io/")
	s.add_argument("--sessions", type=int, default=16)
	s.add_argument("--posts", type=int, default=8)
	s.add_argument("--pings", type=int, default=500000)
	s.add_argument("--cap", type=float, default=60.0)
	s.add_argument("--out", required=True)

	s = sub.add_parser("drip")
	s.add_argument("--port", type=int, required=True)
	s.add_argument("--path", default="/api/sms/receive")
	s.add_argument("--token", required=True)
	s.add_argument("--device", required=True)
	s.add_argument("--bytes", type=int, default=65536)
	s.add_argument("--chunk", type=int, default=4)
	s.add_argument("--interval", type=float, default=0.1)
	s.add_argument("--seconds", type=float, default=30.0)
	s.add_argument("--out", required=True)

	s = sub.add_parser("sample")
	s.add_argument("--pid", type=int, required=True)
	s.add_argument("--interval", type=float, default=0.05)
	s.add_argument("--max-seconds", type=float, default=180.0)
	s.add_argument("--stop-file", required=True)
	s.add_argument("--out", required=True)

	s = sub.add_parser("report")
	s.add_argument("--scenario", required=True)
	s.add_argument("--label", required=True)
	s.add_argument("--commit", required=True)
	s.add_argument("--probe")
	s.add_argument("--attack")
	s.add_argument("--sample")
	s.add_argument("--jsonl", required=True)

	s = sub.add_parser("table")
	s.add_argument("--label")
	s.add_argument("jsonl")

	a = p.parse_args()
	{"probe": cmd_probe, "replay": cmd_replay, "pings": cmd_pings,
	    "drip": cmd_drip, "sample": cmd_sample, "report": cmd_report,
	    "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
	sys.exit(main())
