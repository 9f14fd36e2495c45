// slow.cjs: a WebSocket client that never reads.
//
// usage: node slow.cjs WS-URL COUNT
// Opens an Engine.IO WebSocket session on the echo endpoint of compliance
// mode, stops reading once the handshake arrived, and sends COUNT messages
// of 500 kB: their echoes pile up on the server, which must disconnect it
// instead of growing. Pongs are sent blindly every 100 ms, so that only
// the output bound, not the ping timeout, can end the session. Runs until
// killed.
"use strict";

const WebSocket = require("ws");

const [url, count] = process.argv.slice(2);
const ws = new WebSocket(url);
const big = "4" + "x".repeat(500000);

ws.on("error", () => {});
ws.once("message", () => {
  ws._socket.pause();
  setInterval(() => ws.send("3"), 100);
  let n = parseInt(count, 10);
  const t = setInterval(() => {
    if (ws.bufferedAmount > 600000) return;	// keep pongs timely
    ws.send(big);
    if (--n === 0) {
      clearInterval(t);
      console.log("sent");
    }
  }, 20);
});
setTimeout(() => process.exit(0), 60000);
