// events.cjs: a dashboard client that records every event it receives
// (goip-udpd's tests: tests/udpd_test.sh).
//
// usage: node events.cjs URL OUTFILE
// Environment:
//   AUTH        "user:password" for HTTP Basic authentication (the web server)
//   TIMEOUT     seconds before exiting 1 (default 60)
//
// Joins the dashboard room; appends each event to OUTFILE as one line of
// JSON, {"event": NAME, "data": PAYLOAD}; writes OUTFILE.ready once the join
// was acknowledged, and exits 0 when OUTFILE.stop appears.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out] = process.argv.slice(2);

setTimeout(() => {
  console.error("events: timed out");
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "60", 10) * 1000);

const socket = io(url, {
  path: "/api/socket/io/",
  transports: ["websocket"],
  reconnection: false,
  extraHeaders: process.env.AUTH ? {
    Authorization: "Basic " + Buffer.from(process.env.AUTH).toString("base64"),
  } : {},
});

setInterval(() => {
  if (fs.existsSync(out + ".stop")) {
    socket.disconnect();
    process.exit(0);
  }
}, 100);

socket.on("connect_error", (e) => {
  console.error(`events: connect_error ${e.message}`);
  process.exit(1);
});

socket.on("connect", () => {
  socket.emit("join-dashboard", () => {
    fs.writeFileSync(out + ".ready", "ready\n");
  });
});

socket.onAny((event, data) => {
  fs.appendFileSync(out, JSON.stringify({ event, data }) + "\n");
});
