// rejoin.cjs: a socket.io-client that leaves a device room and joins it
// again in the same connection, driven by marker files from the test.
//
// usage: node rejoin.cjs URL OUTFILE DEVICE
// Environment:
//   LAST        lastEventId put in the CONNECT auth (default 0)
//   TRANSPORTS  "websocket", "polling" or "polling,websocket" (default)
//   TIMEOUT     seconds before giving up with exit 1 (default 60)
//
// It joins room device-DEVICE and writes OUTFILE.ready; once OUTFILE.leave
// exists it leaves the room and writes OUTFILE.left; once OUTFILE.rejoin
// exists it joins again and writes OUTFILE.rejoined. Every event received
// is appended to OUTFILE as "EVENT EVENTID DEVICEID MESSAGEID". It stops
// when killed or at the timeout; a second connect is an error (exit 1),
// since the test is about one connection.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const [url, out, device] = process.argv.slice(2);
const last = parseInt(process.env.LAST || "0", 10);

setTimeout(() => {
  console.error("rejoin: timed out");
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "60", 10) * 1000);

const socket = io(url, {
  path: "/api/socket/io/",
  transports: (process.env.TRANSPORTS || "polling,websocket").split(","),
  reconnection: false,
  auth: { lastEventId: last },
  // What the web server adds after its authentication (notifier on TCP).
  extraHeaders: process.env.GOIP_PROXY_SECRET ? {
    "X-Goip-Proxy-Secret": process.env.GOIP_PROXY_SECRET,
  } : {},
});

function waitFile(name, then) {
  const t = setInterval(() => {
    if (!fs.existsSync(name)) return;
    clearInterval(t);
    then();
  }, 50);
}

let connects = 0;
socket.on("connect", () => {
  if (++connects > 1) {
    console.error("rejoin: reconnected");
    process.exit(1);
  }
  socket.emit("join-device-room", device, () => {
    fs.writeFileSync(out + ".ready", "ready\n");
    waitFile(out + ".leave", () => {
      socket.emit("leave-device-room", device, () => {
        fs.writeFileSync(out + ".left", "left\n");
        waitFile(out + ".rejoin", () => {
          socket.emit("join-device-room", device, () => {
            fs.writeFileSync(out + ".rejoined", "rejoined\n");
          });
        });
      });
    });
  });
});

socket.on("disconnect", (reason) => {
  console.error(`rejoin: disconnected: ${reason}`);
  process.exit(1);
});

for (const ev of ["device-heartbeat", "device-status-change", "sms-received",
  "sms-status", "stats-update", "resync"]) {
  socket.on(ev, (data) => {
    const id = data && data.eventId !== undefined ? data.eventId : "-";
    fs.appendFileSync(out, `${ev} ${id} ${(data && data.deviceId) || "-"} ` +
      `${(data && (data.messageId || data.text)) || "-"}\n`);
  });
}
