// app.cjs: a dashboard client of goip-notifier's application mode.
//
// usage: node app.cjs URL OUTFILE
// Environment:
//   ROOMS       rooms to join on every connect: "dashboard", "device:ID" ...
//   TRANSPORTS  "websocket", "polling" or "polling,websocket" (default)
//   LAST        lastEventId to resume from on the first connect (unset: live)
//   EXIT_AFTER  exit 0 once this many sms-received events were seen
//   TIMEOUT     seconds before giving up with exit 1 (default 30)
//   AUTH        "user:password" for HTTP Basic authentication (a proxy)
//   RECOVER     when set, close the transport once the rooms are joined and
//               expect Socket.IO connection-state recovery (same pid, rooms
//               kept); OUTFILE.recovered is then written
//
// Every event received is appended to OUTFILE as one line
// "EVENT EVENTID DEVICEID MESSAGEID-OR-TEXT"; OUTFILE.ready is written once the
// first joins were acknowledged. The lastEventId put in the CONNECT auth
// is the highest eventId seen, re-read on every reconnect.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out] = process.argv.slice(2);
const rooms = (process.env.ROOMS || "dashboard").split(/\s+/).filter(Boolean);
const transports = (process.env.TRANSPORTS || "polling,websocket").split(",");
const exitAfter = parseInt(process.env.EXIT_AFTER || "0", 10);
let last = process.env.LAST === undefined || process.env.LAST === ""
  ? null : parseInt(process.env.LAST, 10);
let sms = 0;

setTimeout(() => {
  console.error(`app: timed out with ${sms} sms-received`);
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "30", 10) * 1000);

const socket = io(url, {
  path: "/api/socket/io/",
  transports,
  reconnectionDelay: 100,
  reconnectionDelayMax: 300,
  randomizationFactor: 0,
  auth: (cb) => cb(last === null ? {} : { lastEventId: last }),
  // AUTH: the web server's login; GOIP_PROXY_SECRET: what the web server
  // adds after it (a notifier on TCP reached directly).
  extraHeaders: Object.assign(process.env.AUTH ? {
    Authorization: "Basic " + Buffer.from(process.env.AUTH).toString("base64"),
  } : {}, process.env.GOIP_PROXY_SECRET ? {
    "X-Goip-Proxy-Secret": process.env.GOIP_PROXY_SECRET,
  } : {}),
});

let connects = 0;
socket.on("connect", () => {
  if (process.env.RECOVER && ++connects > 1) {
    if (!socket.recovered) {
      console.error("app: connection state not recovered");
      process.exit(1);
    }
    fs.writeFileSync(out + ".recovered", "recovered\n");
    return;
  }
  let pending = rooms.length;
  for (const r of rooms) {
    const done = () => {
      if (--pending > 0) return;
      fs.writeFileSync(out + ".ready", "ready\n");
      if (process.env.RECOVER) socket.io.engine.close();
    };
    if (r === "dashboard") socket.emit("join-dashboard", done);
    else socket.emit("join-device-room", r.replace(/^device:/, ""), done);
  }
});

for (const ev of ["device-heartbeat", "device-status-change", "sms-received",
  "sms-status", "stats-update", "resync"]) {
  socket.on(ev, (data) => {
    const id = data && data.eventId !== undefined ? data.eventId : "-";
    fs.appendFileSync(out, `${ev} ${id} ${(data && data.deviceId) || "-"} ` +
      `${(data && (data.messageId || data.text)) || "-"}\n`);
    if (ev !== "stats-update" && ev !== "resync" && typeof id === "number" &&
      (last === null || id > last))
      last = id;
    if (ev === "sms-received" && ++sms === exitAfter) {
      socket.disconnect();
      process.exit(0);
    }
  });
}
