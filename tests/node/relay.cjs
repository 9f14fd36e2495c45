// relay.cjs: a dashboard client that follows the event log across the
// notifiers of a relay (tests/relay_test.sh): it records every event with its
// eventId and can leave one notifier and resume on another.
//
// usage: node relay.cjs URL OUTFILE
// Environment:
//   LAST        lastEventId of the first connect (unset: live from the join)
//   AUTH        "user:password" for the web server's Basic authentication
//   TRANSPORTS  "websocket", "polling" or "polling,websocket" (default)
//   TIMEOUT     seconds before giving up with exit 1 (default 60)
//
// Joins the dashboard room on every connect, with the highest eventId seen
// (or LAST) as its lastEventId: socket.io-client re-reads the auth function
// on every reconnect. Each event is appended to OUTFILE as one line,
// "EVENT EVENTID PAYLOAD-JSON", EVENTID "-" for stats-update and resync
// (not events of the log). A line is appended to OUTFILE.joined each time the
// join is acknowledged. Control files, polled every 100 ms:
//   OUTFILE.leave  disconnect, then write OUTFILE.left
//   OUTFILE.goto   connect to the URL it holds (after OUTFILE.leave)
//   OUTFILE.stop   disconnect and exit 0
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out] = process.argv.slice(2);
const transports = (process.env.TRANSPORTS || "polling,websocket").split(",");
let last = process.env.LAST === undefined || process.env.LAST === ""
  ? null : parseInt(process.env.LAST, 10);
let socket = null;
let left = false;
let moved = false;

setTimeout(() => {
  console.error(`relay: timed out, last eventId ${last}`);
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "60", 10) * 1000);

function connect(to) {
  const s = io(to, {
    path: "/api/socket/io/",
    transports,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 300,
    randomizationFactor: 0,
    auth: (cb) => cb(last === null ? {} : { lastEventId: last }),
    extraHeaders: process.env.AUTH ? {
      Authorization: "Basic " +
        Buffer.from(process.env.AUTH).toString("base64"),
    } : {},
  });
  s.on("connect", () => {
    s.emit("join-dashboard", () => fs.appendFileSync(out + ".joined",
      `${to} ${last === null ? "-" : last}\n`));
  });
  s.on("connect_error", (e) => console.error(`relay: ${to}: ${e.message}`));
  s.onAny((event, data) => {
    const id = event !== "stats-update" && event !== "resync" && data &&
      typeof data.eventId === "number" ? data.eventId : null;
    fs.appendFileSync(out, `${event} ${id === null ? "-" : id} ` +
      `${JSON.stringify(data)}\n`);
    if (id !== null && (last === null || id > last))
      last = id;
  });
  return s;
}

socket = connect(url);

setInterval(() => {
  if (fs.existsSync(out + ".stop")) {
    socket.disconnect();
    process.exit(0);
  }
  if (!left && fs.existsSync(out + ".leave")) {
    left = true;
    socket.disconnect();
    fs.writeFileSync(out + ".left", `${last === null ? "-" : last}\n`);
  }
  if (left && !moved && fs.existsSync(out + ".goto")) {
    moved = true;
    socket = connect(fs.readFileSync(out + ".goto", "utf8").trim());
  }
}, 100);
