// churn.cjs: many raw Engine.IO/Socket.IO clients of goip-notifier's
// application mode, in batches, for the memory and leak tests.
//
// usage: node churn.cjs URL OUTFILE
// Environment:
//   COUNT       clients per batch (default 500)
//   BATCHES     batches (default 1)
//   MODE        "websocket" (default), "polling", "upgrade" (polling, then
//               the probe and upgrade to WebSocket) or "mixed" (the three
//               in turn)
//   JOIN        when set, each client sends the Socket.IO CONNECT with
//               auth {"lastEventId": 0} and joins the dashboard and the
//               device room JOIN
//   HOLD        when set, after each batch is connected write
//               OUTFILE.BATCH and wait for OUTFILE.BATCH.go before closing
//               it (the test measures memory in between)
//   TIMEOUT     seconds before giving up with exit 1 (default 120)
//
// Each batch opens COUNT clients at most 100 at a time, waits until each
// is connected (and joined), then closes them all and waits until every
// socket is closed. Exit 0 when all batches completed, 1 on any failure.
"use strict";

const fs = require("fs");
const http = require("http");
const WebSocket = require("ws");

const [url, out] = process.argv.slice(2);
const count = parseInt(process.env.COUNT || "500", 10);
const batches = parseInt(process.env.BATCHES || "1", 10);
const mode = process.env.MODE || "websocket";
const join = process.env.JOIN || "";
const hold = !!process.env.HOLD;
const path = "/api/socket/io/";
const base = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });

setTimeout(() => {
  console.error("churn: timed out");
  process.exit(1);
}, parseInt(process.env.TIMEOUT || "120", 10) * 1000);

function fail(msg) {
  console.error(`churn: ${msg}`);
  process.exit(1);
}

// What the web server adds after its authentication (notifier on TCP).
const proxy = process.env.GOIP_PROXY_SECRET ?
  { "X-Goip-Proxy-Secret": process.env.GOIP_PROXY_SECRET } : {};

function request(method, query, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname, port: base.port, method, agent,
      path: `${path}?EIO=4&transport=polling${query}`,
      headers: Object.assign({}, proxy, body === undefined ? {} :
        { "Content-Type": "text/plain;charset=UTF-8" }),
    }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { data += d; });
      res.on("end", () => res.statusCode === 200 ? resolve(data) :
        reject(new Error(`${method} ${res.statusCode} ${data}`)));
    });
    req.on("error", reject);
    req.end(body);
  });
}

// The Socket.IO packets a joining client sends once the session is open.
function joinPackets() {
  return join ? ['40{"lastEventId":0}', '420["join-dashboard"]',
    `421["join-device-room","${join}"]`] : [];
}

// A WebSocket client (optionally an upgrade of polling session SID).
function wsClient(sid) {
  return new Promise((resolve, reject) => {
    const q = sid ? `&sid=${sid}` : "";
    const ws = new WebSocket(`ws://${base.host}${path}?EIO=4` +
      `&transport=websocket${q}`, { headers: proxy });
    let acks = 0;
    ws.on("error", reject);
    ws.on("open", () => {
      if (sid) ws.send("2probe");
    });
    ws.on("message", (m) => {
      m = m.toString();
      if (m === "3probe") {
        ws.send("5");
        for (const p of joinPackets()) ws.send(p);
        if (!join) resolve(ws);
      } else if (m[0] === "0") {
        for (const p of joinPackets()) ws.send(p);
        if (!join) resolve(ws);
      } else if (m === "2") {
        ws.send("3");
      } else if (m.startsWith("43")) {
        if (++acks === 2) resolve(ws);
      }
    });
  });
}

// A polling client: handshake, packets, then a pending GET, left open.
async function pollClient(upgrade) {
  const open = await request("GET", "");
  const sid = JSON.parse(open.slice(1)).sid;
  const pk = joinPackets();
  if (pk.length > 0 && !upgrade)
    await request("POST", `&sid=${sid}`, pk.join("\x1e"));
  if (upgrade) {
    const get = request("GET", `&sid=${sid}`).catch(() => "");
    const ws = await wsClient(sid);
    await get;
    return { ws };
  }
  let acks = 0;
  while (pk.length > 0 && acks < 2) {
    const data = await request("GET", `&sid=${sid}`);
    acks += data.split("\x1e").filter((p) => p.startsWith("43")).length;
  }
  // The pending GET; closing the session answers it.
  const pending = request("GET", `&sid=${sid}`).catch(() => "");
  return { sid, pending };
}

function closeClient(c) {
  if (c.ws) {
    return new Promise((resolve) => {
      c.ws.on("close", resolve);
      c.ws.close();
    });
  }
  return request("POST", `&sid=${c.sid}`, "1").catch(() => "")
    .then(() => c.pending);
}

function waitFile(name) {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (!fs.existsSync(name)) return;
      clearInterval(t);
      resolve();
    }, 50);
  });
}

const modes = ["websocket", "polling", "upgrade"];

async function batch(k) {
  const clients = [];
  for (let i = 0; i < count; i += 100) {
    const n = Math.min(100, count - i);
    const wave = [];
    for (let j = 0; j < n; j++) {
      const m = mode === "mixed" ? modes[(i + j) % 3] : mode;
      wave.push(m === "websocket" ? wsClient().then((ws) => ({ ws })) :
        pollClient(m === "upgrade"));
    }
    clients.push(...await Promise.all(wave));
  }
  if (hold) {
    fs.writeFileSync(`${out}.${k}`, `${clients.length}\n`);
    await waitFile(`${out}.${k}.go`);
  }
  await Promise.all(clients.map(closeClient));
  fs.appendFileSync(out, `batch ${k} ${clients.length}\n`);
}

(async () => {
  for (let k = 1; k <= batches; k++)
    await batch(k);
  agent.destroy();
  process.exit(0);
})().catch((e) => fail(e.message));
