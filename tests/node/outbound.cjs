// outbound.cjs: a dashboard client watching outbound SMS (issue 5).
//
// usage: node outbound.cjs URL OUTFILE
// Environment:
//   ROOMS       rooms to join: "dashboard", "device:ID" ... (default dashboard)
//   AUTH        "user:password" for HTTP Basic authentication (the web server)
//   TIMEOUT     seconds before exiting 1 (default 30)
//
// Every sms-status event is appended to OUTFILE as one line
// "sms-status EVENTID ID STATUS ATTEMPTS DEVICEID", every stats-update as
// "stats-update - SENT DELIVERED FAILED QUEUED"; OUTFILE.ready is written
// once every join was acknowledged. The client exits 0 when OUTFILE.stop
// appears.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out] = process.argv.slice(2);
const rooms = (process.env.ROOMS || "dashboard").split(/\s+/).filter(Boolean);

setTimeout(() => {
  console.error("outbound: timed out");
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "30", 10) * 1000);

setInterval(() => {
  if (fs.existsSync(out + ".stop")) {
    socket.disconnect();
    process.exit(0);
  }
}, 100);

const socket = io(url, {
  path: "/api/socket/io/",
  transports: ["websocket"],
  reconnection: false,
  extraHeaders: process.env.AUTH ? {
    Authorization: "Basic " + Buffer.from(process.env.AUTH).toString("base64"),
  } : {},
});

socket.on("connect_error", (e) => {
  console.error(`outbound: connect_error ${e.message}`);
  process.exit(1);
});

socket.on("connect", () => {
  let pending = rooms.length;
  const done = () => {
    if (--pending === 0) fs.writeFileSync(out + ".ready", "ready\n");
  };
  for (const r of rooms) {
    if (r === "dashboard") socket.emit("join-dashboard", done);
    else socket.emit("join-device-room", r.replace(/^device:/, ""), done);
  }
});

socket.on("sms-status", (m) => {
  fs.appendFileSync(out, `sms-status ${m.eventId} ${m.id} ${m.status} ` +
    `${m.attempts} ${m.deviceId}\n`);
});

socket.on("stats-update", (s) => {
  const c = (s && s.sms) || {};
  fs.appendFileSync(out, `stats-update - ${c.sent} ${c.delivered} ` +
    `${c.failed} ${c.queued}\n`);
});
