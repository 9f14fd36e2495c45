// flood.cjs: clients that send Engine.IO pings by the megabyte, for the
// memory bounds of goip-notifier (tests/hostile_test.sh).
//
// usage: node flood.cjs URL PID OUTFILE
// URL is the notifier's base URL (http://HOST:PORT); PID its process,
// whose VmRSS (/proc/PID/status) is sampled every 20 ms from before the
// first session opens until the last POST is answered.
// Environment:
//   MODE        "polling" (default): each session POSTs POSTS bodies of
//               SIZE bytes of pings ("2" joined by 0x1e) without polling;
//               "websocket": each session sends POSTS * SIZE / 2 pings,
//               one WebSocket message each, without reading;
//               "wsping": each session sends POSTS * SIZE / 131 WebSocket
//               pings (control frames) of 125 bytes, without reading
//   SESSIONS    sessions, all at once (default 16)
//   POSTS       POSTs per session (default 8)
//   SIZE        bytes of one POST (default 999999, under max_payload)
//   EVENTS      path of the events long-poll (default /api/events); an
//               ordinary client GETs it every 100 ms throughout
//   HEADER      "Name: value", a header line added to every request (the
//               proxy secret of a notifier on TCP)
//   TIMEOUT     seconds before giving up with exit 1 (default 240)
//
// OUTFILE gets "maxrss KB", "posts N" (answered 200), "events N" (events
// GETs answered 200), "eventsmax MS" (the slowest of them) and, for
// WebSockets, "closed N" (sessions the server closed). Then each
// polling session is polled once and its answer is written as
// "poll SESSION TEXT" (the queued packets, 0x1e shown as "|"). Exit 0
// when every request was answered, 1 otherwise. Each session first sends
// the Socket.IO CONNECT ("40"), so that only the bounds under test, not
// the connect timeout of a slow run, can end it.
"use strict";

const fs = require("fs");
const WebSocket = require("ws");

const [url, pid, out] = process.argv.slice(2);
const mode = process.env.MODE || "polling";
const sessions = parseInt(process.env.SESSIONS || "16", 10);
const posts = parseInt(process.env.POSTS || "8", 10);
const size = parseInt(process.env.SIZE || "999999", 10);
const events = process.env.EVENTS || "/api/events";
const eio = url + "/api/socket/io/?EIO=4&transport=";
const headers = {};
if (process.env.HEADER) {
  const i = process.env.HEADER.indexOf(":");
  headers[process.env.HEADER.slice(0, i)] =
    process.env.HEADER.slice(i + 1).trim();
}

setTimeout(() => {
  console.error("flood: timed out");
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "240", 10) * 1000).unref();

let maxrss = 0;
function sample() {
  const m = /VmRSS:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`,
    "utf8"));
  if (m && parseInt(m[1], 10) > maxrss)
    maxrss = parseInt(m[1], 10);
}

// "2" 0x1e "2" ... of at most SIZE bytes, ending in "2".
function pings(bytes) {
  const n = Math.floor((bytes + 1) / 2);
  return Array(n).fill("2").join("\x1e");
}

async function handshake() {
  const res = await fetch(eio + "polling", { headers });
  const text = await res.text();
  if (res.status !== 200)
    throw new Error(`handshake: ${res.status} ${text}`);
  return JSON.parse(text.slice(1)).sid;
}

let answered = 0;
async function pollingSession(sid, body) {
  const res = await fetch(eio + "polling&sid=" + sid,
    { method: "POST", body: "40", headers });
  await res.text();
  if (res.status !== 200)
    throw new Error(`CONNECT: ${res.status}`);
  for (let i = 0; i < posts; i++) {
    const res = await fetch(eio + "polling&sid=" + sid,
      { method: "POST", body, headers });
    await res.text();
    if (res.status !== 200)
      throw new Error(`POST ${i}: ${res.status}`);
    answered++;
  }
}

let closed = 0;
function wsSession() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(eio.replace(/^http/, "ws") + "websocket",
      { headers });
    const control = mode === "wsping";
    const n = Math.floor(posts * size / (control ? 131 : 2));
    const payload = Buffer.alloc(125, "p");
    let done = false;
    ws.once("message", () => {
      // The handshake came: connect, stop reading, then ping.
      ws.send("40");
      ws._socket.pause();
      let i = 0;
      const send = (cb) => control ? ws.ping(payload, undefined, cb) :
        ws.send("2", cb);
      (function more() {
        if (done)
          return;
        for (let j = 0; j < 10000 && i < n; j++, i++)
          send();
        if (i < n)
          setImmediate(more);
        else
          send(() => { answered++; done = true; resolve(ws); });
      })();
    });
    ws.on("close", () => {
      if (!done) {
        closed++;
        done = true;
        resolve(ws);
      }
    });
    ws.on("error", (e) => {
      if (!done && ws.readyState !== WebSocket.OPEN &&
        ws.readyState !== WebSocket.CONNECTING) {
        closed++;
        done = true;
        resolve(ws);
      } else if (!done)
        reject(e);
    });
  });
}

let eventsOk = 0, eventsMax = 0, stop = false;
async function ordinary() {
  while (!stop) {
    const t = Date.now();
    const res = await fetch(url + events + "?since=0&wait=0", { headers });
    await res.text();
    if (res.status !== 200)
      throw new Error(`events: ${res.status}`);
    eventsOk++;
    eventsMax = Math.max(eventsMax, Date.now() - t);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const timer = setInterval(sample, 20);
  sample();
  const bg = ordinary();
  const lines = [];
  if (mode !== "polling") {
    const socks = await Promise.all(Array.from({ length: sessions },
      wsSession));
    sample();
    socks.forEach((ws) => ws.terminate());
  } else {
    const sids = await Promise.all(Array.from({ length: sessions },
      handshake));
    const body = pings(size);
    await Promise.all(sids.map((sid) => pollingSession(sid, body)));
    sample();
    for (const sid of sids) {
      const res = await fetch(eio + "polling&sid=" + sid, { headers });
      lines.push(`poll ${sid} ` +
        (await res.text()).replace(/\x1e/g, "|"));
    }
  }
  clearInterval(timer);
  sample();
  stop = true;
  await bg;
  fs.writeFileSync(out, [`maxrss ${maxrss}`, `posts ${answered}`,
    `events ${eventsOk}`, `eventsmax ${eventsMax}`, `closed ${closed}`,
    ...lines].join("\n") +
    "\n");
  process.exit(0);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
