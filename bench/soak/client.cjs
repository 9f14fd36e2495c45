// client.cjs: one soak dashboard client (bench/soak/run.sh).
//
// usage: node client.cjs URL OUTFILE
// Environment:
//   AUTH       "user:password" for the web server's Basic authentication
//   ROOMS      rooms joined on every connect: "dashboard", "device:ID" ...
//   TRANSPORTS "polling,websocket" (default) or "websocket"
//   DROP_MIN, DROP_MAX  seconds between random disconnects (default 3, 12);
//              after one the client reconnects 0-2 s later, resuming with
//              auth {lastEventId}
//
// The client resumes from event 0 on its first connect, so it must see every
// sms-received ever stored.  On SIGTERM it writes OUTFILE: one line per
// sms-received, "EVENTID SMSID" (the stored row id), and OUTFILE.stats: events, sms,
// connects, drops, resyncs.  OUTFILE.last holds the highest event id seen,
// rewritten at most once a second (for the drain wait of run.sh).
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out] = process.argv.slice(2);
const rooms = (process.env.ROOMS || "dashboard").split(/\s+/).filter(Boolean);
const transports = (process.env.TRANSPORTS || "polling,websocket").split(",");
const dropMin = parseFloat(process.env.DROP_MIN || "3");
const dropMax = parseFloat(process.env.DROP_MAX || "12");
let last = 0;
const sms = [];
const st = { events: 0, sms: 0, connects: 0, drops: 0, resyncs: 0,
  errors: 0 };
let dropTimer = null;
let lastWritten = -1;

const socket = io(url, {
  path: "/api/socket/io/",
  transports,
  reconnectionDelay: 200,
  reconnectionDelayMax: 2000,
  auth: (cb) => cb({ lastEventId: last }),
  extraHeaders: process.env.AUTH ? {
    Authorization: "Basic " + Buffer.from(process.env.AUTH).toString("base64"),
  } : {},
});

function scheduleDrop() {
  clearTimeout(dropTimer);
  const s = dropMin + Math.random() * (dropMax - dropMin);
  dropTimer = setTimeout(() => {
    st.drops++;
    socket.disconnect();
    setTimeout(() => socket.connect(), Math.random() * 2000);
  }, s * 1000);
}

socket.on("connect", () => {
  st.connects++;
  for (const r of rooms) {
    if (r === "dashboard") socket.emit("join-dashboard");
    else socket.emit("join-device-room", r.replace(/^device:/, ""));
  }
  scheduleDrop();
});
socket.on("connect_error", () => { st.errors++; });

for (const ev of ["device-heartbeat", "device-status-change", "sms-received",
  "sms-status", "stats-update", "resync"]) {
  socket.on(ev, (data) => {
    st.events++;
    if (ev === "resync") { st.resyncs++; return; }
    const id = data && typeof data.eventId === "number" ? data.eventId : null;
    if (ev === "sms-received") {
      st.sms++;
      sms.push(`${id} ${data.id}`);
    }
    if (ev !== "stats-update" && id !== null && id > last) last = id;
  });
}

setInterval(() => {
  if (last !== lastWritten) {
    fs.writeFileSync(out + ".last", `${last}\n`);
    lastWritten = last;
  }
}, 1000);

process.on("SIGTERM", () => {
  fs.writeFileSync(out, sms.join("\n") + (sms.length ? "\n" : ""));
  fs.writeFileSync(out + ".stats", `${st.events} ${st.sms} ${st.connects} ` +
    `${st.drops} ${st.resyncs} ${st.errors}\n`);
  process.exit(0);
});
