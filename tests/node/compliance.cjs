// compliance.cjs: the official socket.io-client against goip-notifier -C.
//
// usage: node compliance.cjs URL CASE
// CASE: polling | websocket | upgrade | ack | binary | namespace
// Exits 0 when the case passed, 1 (with a message on stderr) otherwise.
"use strict";

const { io } = require("socket.io-client");

const [url, which] = process.argv.slice(2);
const deadline = setTimeout(() => fail("timed out"), 10000);

function fail(msg) {
  console.error(`compliance ${which}: ${msg}`);
  process.exit(1);
}

function done(socket) {
  clearTimeout(deadline);
  socket.disconnect();
  console.log(`compliance ${which}: ok`);
  process.exit(0);
}

function expectEqual(a, b, what) {
  if (JSON.stringify(a) !== JSON.stringify(b))
    fail(`${what}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
}

const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
}[which] || ["polling", "websocket"];

const nsp = which === "namespace" ? "/custom" : "/";
const socket = io(url + nsp, {
  path: "/socket.io/",
  transports,
  upgrade: which === "upgrade",
  reconnection: false,
  auth: { token: "t-" + which },
});

socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));
socket.on("disconnect", (reason) => {
  if (reason !== "io client disconnect") fail(`disconnected: ${reason}`);
});

socket.on("auth", (auth) => {
  expectEqual(auth, { token: "t-" + which }, "auth");
  switch (which) {
    case "polling":
    case "websocket":
    case "namespace": {
      const want = socket.io.engine.transport.name;
      if (which !== "namespace" && want !== which)
        fail(`transport ${want}`);
      socket.emit("message", 1, "2", { 3: [true] });
      socket.once("message-back", (...args) => {
        expectEqual(args, [1, "2", { 3: [true] }], "message-back");
        done(socket);
      });
      break;
    }
    case "upgrade": {
      const after = () => {
        socket.emit("message", "after upgrade");
        socket.once("message-back", (arg) => {
          expectEqual(arg, "after upgrade", "message-back");
          done(socket);
        });
      };
      if (socket.io.engine.transport.name === "websocket") after();
      else socket.io.engine.once("upgrade", after);
      break;
    }
    case "ack":
      socket.emit("message-with-ack", 1, "two", [3], (...args) => {
        expectEqual(args, [1, "two", [3]], "ack");
        done(socket);
      });
      break;
    case "binary": {
      const buf = Buffer.from([0, 1, 2, 255]);
      socket.emit("message-with-ack", { data: buf }, (res) => {
        if (!Buffer.isBuffer(res.data) || !res.data.equals(buf))
          fail(`binary ack: ${JSON.stringify(res)}`);
        socket.emit("message", buf, "x");
        socket.once("message-back", (b, x) => {
          if (!Buffer.isBuffer(b) || !b.equals(buf) || x !== "x")
            fail("binary message-back");
          done(socket);
        });
      });
      break;
    }
    default:
      fail("unknown case");
  }
});
