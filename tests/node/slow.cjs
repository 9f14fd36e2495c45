// slow.cjs: a client that never reads what the server sends it.
//
// usage: node slow.cjs URL COUNT
// URL is the long-polling endpoint of compliance mode's echo server
// (http://HOST:PORT/engine.io/?EIO=4&transport=polling). The client opens
// a session and never polls, but POSTs COUNT messages of 900 kB: their
// echoes pile up in the session's queue, and the server must close it
// instead of growing. Pongs are POSTed blindly every 50 ms so that only
// the queue bound, not the ping timeout, can end the session. Prints
// "closed STATUS" when a POST is refused, "sent" when all were accepted.
"use strict";

async function main() {
  const [url, count] = process.argv.slice(2);
  const hs = await (await fetch(url)).text();
  const u = url + "&sid=" + JSON.parse(hs.slice(1)).sid;
  const big = "4" + "x".repeat(900000);

  setInterval(() => fetch(u, { method: "POST", body: "3" }).catch(() => {}),
    50);
  for (let i = 0; i < parseInt(count, 10); i++) {
    const res = await fetch(u, { method: "POST", body: big });
    if (res.status !== 200) {
      console.log(`closed ${res.status}`);
      process.exit(0);
    }
  }
  console.log("sent");
  process.exit(0);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
