// dashboard.mjs: browser test cases of the dashboard, one per invocation:
//
//	node dashboard.mjs CASE
//
// run by tests/dashboard_test.sh against a stack it started (web server,
// goip-cgi, goip-notifier); see lib.mjs for the environment.  Prints "ok"
// and exits 0 when the case passes, prints the failure and the page's
// console and exits 1 otherwise.
//
// Cases:
//   load         the page loads with no console error, shows every device,
//                the stats cards and "Real-time Connected"
//   heartbeat    a posted heartbeat shows in its row within 1 s, no reload
//   sms          a posted SMS shows at the top of the feed, text intact
//   xss          an SMS "<img src=x onerror=alert(1)>" shows as that text,
//                creates no element and runs nothing
//   device       the device page joins and leaves the device room, draws
//                both charts and follows heartbeats and SMS live
//   chart        with one heartbeat, both charts' time axes span about an
//                hour around it and its point is drawn
//   send         the device page's send form queues an SMS; the device's
//                lease and its delivery report show as status changes
//   retry        a send whose answer is lost (network error) and is
//                clicked again queues one SMS: the key is kept until an
//                answer; a new message gets a new key
//   restart      notifier stopped: indicator leaves "Real-time Connected",
//                the page keeps updating by polling; restarted: back to
//                "Real-time Connected", each SMS shown exactly once
//   polling      the Socket.IO path is blocked from the start: the page
//                says "Connection Error" and follows events through the
//                /api/events long-poll
//   resync       events the page missed were pruned while the notifier was
//                down: it gets "resync", reloads, and shows each SMS once
//   screenshots  fleet view, device page and phone-sized fleet view as PNG
//                files in GOIP_ARTIFACTS
//   a11y         axe-core finds no WCAG 2 A/AA violation on the fleet view
//                and a device page, light and dark
//   scale        1,000 devices and 10,000 SMS: the page loads them, stays
//                live during a burst of heartbeats, pages through every SMS

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import {
  run, open, waitConn, connState, heartbeat, sms, waitRow, rowText, feedIds, waitFeed,
  screenshotPath, sleep, fail, TOKENS, BASE, CRED, deviceRequest,
} from './lib.mjs';

const CONNECTED = 'Real-time Connected';
const DOWN = ['Connecting...', 'Connection Error'];
const devices = [...TOKENS.keys()].sort();
if (devices.length === 0) fail('GOIP_TOKENS lists no device');
const DEV = devices[0];

function noErrors(log, what) {
  if (log.errors.length > 0) fail(`${what}: console errors: ${log.errors.join(' / ')}`);
  if (log.dialogs.length > 0) fail(`${what}: dialogs opened: ${log.dialogs.join(' / ')}`);
}

// Run a shell command of the test (stop or start the notifier).
function shell(envName) {
  const cmd = process.env[envName];
  if (!cmd) fail(`${envName} is not set`);
  execFileSync('/bin/bash', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30000 });
}

const cases = {
  // Opened as http://user:pass@host/ (issue 16): every fetch still works,
  // since none is relative to the credentialed page URL.
  async credentials_url({ page, log }) {
    const u = new URL(BASE);
    u.username = CRED.username;
    u.password = CRED.password;
    await page.goto(u.href, { waitUntil: 'load', timeout: 30000 });
    await page.waitForFunction(() => window.goipDashboard && window.goipDashboard.fleet.loaded, null, { timeout: 15000 })
      .catch(async () => fail(`the fleet was not loaded from a credentialed URL: "${await page.$eval('#fleet-count', (e) => e.textContent)}"`));
    await waitConn(page, CONNECTED);
    for (const id of devices) {
      if ((await rowText(page, id)) === null) fail(`no row for ${id}`);
    }
    await heartbeat(DEV, 42, 33);
    await waitRow(page, DEV, /42%/, 2000);
    noErrors(log, 'credentials_url');
  },

  // The fleet fails to load while the socket connects: the indicator says
  // the data failed, never "Real-time Connected", until a load works.
  async load_failed({ page }) {
    let refused = 0;
    await page.route('**/api/devices', (r) => {
      refused++;
      return r.fulfill({ status: 503, contentType: 'application/json', body: '{"error": "unavailable"}' });
    });
    await page.goto(`${BASE}/`, { waitUntil: 'load', timeout: 30000 });
    await waitConn(page, 'Data Load Failed');
    await page.waitForFunction(() => window.goipDashboard.live.socket && window.goipDashboard.live.socket.connected, null, { timeout: 15000 })
      .catch(() => fail('the socket did not connect'));
    await sleep(500);
    if ((await connState(page)) !== 'Data Load Failed') fail(`indicator is "${await connState(page)}" with no fleet loaded`);
    if (refused < 1) fail('no request for /api/devices was refused');
    await page.unroute('**/api/devices');
    await waitConn(page, CONNECTED, 15000);
    for (const id of devices) {
      if ((await rowText(page, id)) === null) fail(`no row for ${id} after the retry`);
    }
  },

  async load({ page, log }) {
    await open(page);
    await waitConn(page, CONNECTED);
    for (const id of devices) {
      if ((await rowText(page, id)) === null) fail(`no row for ${id}`);
    }
    const total = await page.$eval('#stat-devices-total', (e) => e.textContent);
    if (total !== String(devices.length)) fail(`devices card shows "${total}", expected ${devices.length}`);
    const heads = await page.$$eval('#fleet-table [role=columnheader]', (t) => t.length);
    if (heads < 7) fail(`fleet table has ${heads} column headers`);
    await sleep(1500); // let late errors (a failed websocket upgrade) show
    noErrors(log, 'load');
    if ((await connState(page)) !== CONNECTED) fail(`indicator fell to "${await connState(page)}"`);
  },

  async heartbeat({ page, log }) {
    await open(page);
    await waitConn(page, CONNECTED);
    await page.evaluate(() => { window.__noReload = 1; });
    for (const [i, b] of [[0, 37], [1, 58], [2, 91]]) {
      const sig = 20 + i;
      await heartbeat(DEV, b, sig, { firmware: `FW-${b}` });
      const ms = await waitRow(page, DEV, new RegExp(`${b}%.*\\| ${sig}%.*FW-${b}`), 1000);
      console.log(`heartbeat ${i + 1}: shown after ${ms} ms`);
    }
    if ((await page.evaluate(() => window.__noReload)) !== 1) fail('the page reloaded');
    // The row's "last seen" ticks from the heartbeat time.
    const seen = await page.$eval(`#fleet-body [data-id="${DEV}"] time`, (t) => t.textContent);
    if (!/just now|s ago/.test(seen)) fail(`last seen shows "${seen}"`);
    noErrors(log, 'heartbeat');
  },

  async sms({ page, log }) {
    await open(page);
    await waitConn(page, CONNECTED);
    const text = `Zażółć gęślą jaźń 🚀 ${Date.now()}`;
    const r = await sms(DEV, text);
    const ms = await waitFeed(page, r.id, 2000);
    console.log(`sms ${r.id}: shown after ${ms} ms`);
    const ids = await feedIds(page);
    if (ids[0] !== r.id) fail(`newest feed row is ${ids[0]}, expected ${r.id}`);
    const shown = await page.$eval(`#feed-body [data-id="${r.id}"] .sms-text`, (e) => e.textContent);
    if (shown !== text) fail(`feed shows ${JSON.stringify(shown)}, expected ${JSON.stringify(text)}`);
    noErrors(log, 'sms');
  },

  async xss({ page, log }) {
    await open(page);
    await waitConn(page, CONNECTED);
    const payload = '<img src=x onerror=alert(1)>';
    const r1 = await sms(DEV, payload);
    const r2 = await sms(DEV, '<script>alert(2)</script><b>bold</b>', { from: '<img src=y onerror=alert(3)>' });
    await waitFeed(page, r1.id, 2000);
    await waitFeed(page, r2.id, 2000);
    const shown = await page.$eval(`#feed-body [data-id="${r1.id}"] .sms-text`, (e) => e.textContent);
    if (shown !== payload) fail(`feed shows ${JSON.stringify(shown)}, expected the literal payload`);
    const injected = await page.$$eval('#feed-body img, #feed-body script, #feed-body b', (e) => e.length);
    if (injected !== 0) fail(`${injected} elements were created from SMS text`);
    // The device page renders the same messages.
    await page.evaluate((id) => { location.hash = `#/device/${id}`; }, DEV);
    await waitFeed(page, r1.id, 5000, '#dev-sms-body');
    const injected2 = await page.$$eval('#view-device img, #view-device script', (e) => e.length);
    if (injected2 !== 0) fail(`${injected2} elements were created on the device page`);
    await sleep(500);
    noErrors(log, 'xss');
  },

  async device({ page, log }) {
    await heartbeat(DEV, 80, 60);
    await open(page);
    await waitConn(page, CONNECTED);
    // Record what the page emits on its socket.
    await page.evaluate(() => {
      const s = window.goipDashboard.live.socket;
      window.__emits = [];
      const emit = s.emit.bind(s);
      s.emit = (...a) => { window.__emits.push(a); return emit(...a); };
    });
    await page.click(`#fleet-body [data-id="${DEV}"] a`);
    await page.waitForFunction((id) => document.getElementById('dev-id').textContent === id, DEV, { timeout: 5000 });
    await page.waitForSelector('#chart-battery canvas', { timeout: 5000 });
    await page.waitForSelector('#chart-signal canvas', { timeout: 5000 });
    const t0 = Date.now();
    await heartbeat(DEV, 42, 33);
    await page.waitForFunction(() => /42%/.test(document.getElementById('dev-battery').textContent), null, { timeout: 1000, polling: 50 })
      .catch(() => fail('device page did not show the heartbeat within 1 s'));
    console.log(`device page heartbeat shown after ${Date.now() - t0} ms`);
    const slots = await page.$$eval('#slots-body tr', (t) => t.length);
    if (slots !== 2) fail(`slot table has ${slots} rows, expected 2`);
    const r = await sms(DEV, 'device page message');
    await waitFeed(page, r.id, 2000, '#dev-sms-body');
    await page.goBack();
    await page.waitForFunction(() => !document.getElementById('view-fleet').hidden, null, { timeout: 5000 });
    const emits = await page.evaluate(() => window.__emits);
    const joined = emits.some((a) => a[0] === 'join-device-room' && a[1] === DEV);
    const left = emits.some((a) => a[0] === 'leave-device-room' && a[1] === DEV);
    if (!joined || !left) fail(`emits were ${JSON.stringify(emits)}`);
    noErrors(log, 'device');
  },

  async chart({ page, log }) {
    // One heartbeat: the time axis is about that hour, and its point shows.
    const at = Date.now() / 1000;
    await heartbeat(DEV, 80, 60);
    await open(page, `#/device/${DEV}`);
    for (const name of ['battery', 'signal']) {
      await page.waitForSelector(`#chart-${name} canvas`, { timeout: 5000 });
      const c = await page.evaluate((n) => {
        const u = window.goipDashboard.device.charts[n].plot;
        const cv = u.ctx.canvas;
        const px = u.ctx.getImageData(0, 0, cv.width, cv.height).data;
        const want = getComputedStyle(document.documentElement).getPropertyValue(`--c-${n}`).trim();
        const rgb = [1, 3, 5].map((i) => parseInt(want.slice(i, i + 2), 16));
        let lit = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] > 200 && rgb.every((v, k) => Math.abs(px[i + k] - v) < 40)) lit++;
        }
        return { min: u.scales.x.min, max: u.scales.x.max, xs: u.data[0], lit };
      }, name);
      console.log(`${name}: x axis ${new Date(c.min * 1000).toISOString()} to ${new Date(c.max * 1000).toISOString()}, ${c.lit} pixels of the series colour`);
      if (c.xs.length !== 1) fail(`${name} chart has ${c.xs.length} points, expected 1`);
      if (!(c.max - c.min <= 86400)) fail(`${name} x axis spans ${Math.round((c.max - c.min) / 86400)} days`);
      if (!(c.min < c.xs[0] && c.xs[0] < c.max)) fail(`${name}: the heartbeat is outside the x axis`);
      if (Math.abs(c.xs[0] - at) > 300) fail(`${name}: the heartbeat is drawn at ${c.xs[0]}, posted at ${at}`);
      if (c.lit < 9) fail(`${name}: the heartbeat's point is not drawn (${c.lit} pixels of the series colour)`);
    }
    await page.screenshot({ path: screenshotPath('chart-one.png') });
    noErrors(log, 'chart');
  },

  async send({ page, log }) {
    await heartbeat(DEV, 70, 70);
    await open(page, `#/device/${DEV}`);
    await waitConn(page, CONNECTED);
    await page.waitForFunction(() => document.querySelectorAll('#send-slot option').length > 0, null, { timeout: 5000 });
    await page.fill('#send-to', '+48500100999');
    await page.fill('#send-text', 'Zażółć <b>out</b>');
    await page.click('#send-form button[type=submit]');
    await page.waitForFunction(() => /Queued as message \d+/.test(document.getElementById('send-result').textContent), null, { timeout: 5000 })
      .catch(async () => fail(`send result: ${await page.$eval('#send-result', (e) => e.textContent)}`));
    const id = Number((await page.$eval('#send-result', (e) => e.textContent)).match(/message (\d+)/)[1]);
    console.log(`queued as ${id}`);
    const badge = (sel) => page.$eval(`${sel} > [data-id="${id}"] .sms-status`, (e) => e.textContent).catch(() => null);
    const waitBadge = async (st) => {
      for (const sel of ['#dev-sms-body', '#feed-body']) {
        await page.waitForFunction(([q, want]) => {
          const e = document.querySelector(q);
          return e && e.textContent === want;
        }, [`${sel} > [data-id="${id}"] .sms-status`, st], { timeout: 3000 })
          .catch(async () => fail(`${sel}: status "${await badge(sel)}", expected "${st}"`));
      }
    };
    await waitBadge('queued');
    const text = await page.$eval(`#dev-sms-body > [data-id="${id}"] .sms-text`, (e) => e.textContent);
    if (text !== 'Zażółć <b>out</b>') fail(`sent text shows as ${JSON.stringify(text)}`);
    const out = await deviceRequest('GET', '/api/device/outbox', DEV);
    if (!out.messages.some((m) => m.id === id)) fail(`outbox: ${JSON.stringify(out)}`);
    await waitBadge('sending');
    await deviceRequest('POST', '/api/sms/status', DEV, { id, status: 'delivered' });
    await waitBadge('delivered');
    await page.waitForFunction(() => document.getElementById('stat-sms-delivered').textContent === '1', null, { timeout: 3000 })
      .catch(() => fail('the Delivered card did not count the message'));
    noErrors(log, 'send');
  },

  async retry({ page, log }) {
    // The first send reaches the server (which queues the SMS) but its
    // answer is lost: the page sees a network error.  The retried click
    // must carry the same Idempotency-Key, so the SMS is queued once; a
    // new message gets a new key.
    await heartbeat(DEV, 70, 70);
    const keys = [];
    let first = null;
    await page.route('**/api/sms/send', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (first !== null) return route.continue();
      first = await (await route.fetch()).json();
      return route.abort('connectionreset');
    });
    await open(page, `#/device/${DEV}`);
    await page.waitForFunction(() => document.querySelectorAll('#send-slot option').length > 0, null, { timeout: 5000 });
    const text = `retried ${Date.now()}`;
    await page.fill('#send-to', '+48500100999');
    await page.fill('#send-text', text);
    const result = () => page.$eval('#send-result', (e) => e.textContent);
    const waitResult = (re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById('send-result').textContent), re.source, { timeout: 5000 })
      .catch(async () => fail(`send result "${await result()}", expected ${re}`));
    await page.click('#send-form button[type=submit]');
    await waitResult(/^Not sent/);
    if (first === null || !Number.isSafeInteger(first.id)) fail(`the first request was not answered by the server: ${JSON.stringify(first)}`);
    console.log(`first click: queued as ${first.id} by the server, the page saw "${await result()}"`);
    await page.click('#send-form button[type=submit]');
    await waitResult(/^Queued as message \d+/);
    const id = Number((await result()).match(/message (\d+)/)[1]);
    if (keys.length !== 2 || !keys[0] || keys[0] !== keys[1]) fail(`Idempotency-Keys sent: ${JSON.stringify(keys)}`);
    if (id !== first.id) fail(`the retry queued message ${id}, the first click ${first.id}`);
    const out = await deviceRequest('GET', '/api/device/outbox', DEV);
    const queued = out.messages.filter((m) => m.text === text);
    if (queued.length !== 1) fail(`${queued.length} SMS "${text}" queued: ${JSON.stringify(out.messages)}`);
    // A new message: a new key.
    await page.fill('#send-text', `${text} again`);
    await page.click('#send-form button[type=submit]');
    await waitResult(/^Queued as message \d+/);
    if (keys.length !== 3 || keys[2] === keys[0]) fail(`a new message reused the key: ${JSON.stringify(keys)}`);
    console.log(`keys ${keys.join(', ')}; one SMS queued as ${id}`);
    log.errors = log.errors.filter((e) => !/ERR_CONNECTION_RESET|Failed to load resource/.test(e));
    noErrors(log, 'retry');
  },

  async restart({ page }) {
    await open(page);
    await waitConn(page, CONNECTED);
    const before = await sms(DEV, 'before the restart');
    await waitFeed(page, before.id, 2000);

    shell('GOIP_NOTIFIER_STOP');
    await waitConn(page, DOWN, 15000);
    console.log(`notifier stopped: indicator "${await connState(page)}"`);
    const down = [];
    await heartbeat(DEV, 23, 45, { firmware: 'FW-POLLED' });
    for (let i = 0; i < 3; i++) down.push((await sms(DEV, `while down ${i}`)).id);
    const ms = await waitRow(page, DEV, /23%.*FW-POLLED/, 15000);
    console.log(`heartbeat shown by polling after ${ms} ms`);
    for (const id of down) await waitFeed(page, id, 15000);
    if (DOWN.indexOf(await connState(page)) < 0) fail('indicator claims a connection while the notifier is down');

    shell('GOIP_NOTIFIER_START');
    await waitConn(page, CONNECTED, 30000);
    console.log('notifier restarted: Real-time Connected');
    const after = [];
    for (let i = 0; i < 2; i++) after.push((await sms(DEV, `after ${i}`)).id);
    for (const id of after) await waitFeed(page, id, 2000);
    await heartbeat(DEV, 64, 46, { firmware: 'FW-LIVE' });
    await waitRow(page, DEV, /64%.*FW-LIVE/, 1000);
    await sleep(1500); // give any duplicate (a replay) the time to show
    const ids = await feedIds(page);
    for (const id of [before.id, ...down, ...after]) {
      const n = ids.filter((x) => x === id).length;
      if (n !== 1) fail(`SMS ${id} is shown ${n} times`);
    }
    if (new Set(ids).size !== ids.length) fail(`the feed has duplicate rows: ${ids}`);
    // Polling stopped: no /api/events request any more.
    let polls = 0;
    page.on('request', (rq) => { if (rq.url().includes('/api/events')) polls++; });
    await sleep(3000);
    if (polls > 0) fail(`${polls} /api/events requests after the socket came back`);
    if ((await page.$eval('#conn-mode', (e) => e.hidden)) !== true) fail('"updating by polling" still shown');
  },

  async resync({ page }) {
    await open(page);
    await waitConn(page, CONNECTED);
    const cursor = await page.evaluate(() => window.goipDashboard.live.lastEventId);
    shell('GOIP_NOTIFIER_STOP');
    await waitConn(page, DOWN, 15000);
    const down = [];
    for (let i = 0; i < 3; i++) down.push((await sms(DEV, `pruned ${i}`)).id);
    await heartbeat(DEV, 12, 34, { firmware: 'FW-PRUNED' });
    shell('GOIP_PRUNE'); // every event but the newest: the page's are gone
    shell('GOIP_NOTIFIER_START');
    await waitConn(page, CONNECTED, 30000);
    await page.waitForFunction(() => window.goipDashboard.live.stats.resyncs > 0, null, { timeout: 10000 })
      .catch(() => fail(`no resync (cursor was ${cursor})`));
    await waitRow(page, DEV, /12%.*FW-PRUNED/, 5000);
    for (const id of down) await waitFeed(page, id, 5000);
    const live = (await sms(DEV, 'after the resync')).id;
    await waitFeed(page, live, 2000);
    await sleep(1000);
    const ids = await feedIds(page);
    for (const id of [...down, live]) {
      if (ids.filter((x) => x === id).length !== 1) fail(`SMS ${id} shown ${ids.filter((x) => x === id).length} times`);
    }
  },

  async polling({ page }) {
    await page.route('**/api/socket/io/**', (route) => route.abort());
    await open(page);
    await waitConn(page, DOWN, 15000);
    await page.waitForFunction(() => !document.getElementById('conn-mode').hidden, null, { timeout: 5000 })
      .catch(() => fail('"updating by polling" is not shown'));
    await sleep(1500); // the first long-poll is waiting
    await heartbeat(DEV, 31, 41, { firmware: 'FW-LONGPOLL' });
    const ms = await waitRow(page, DEV, /31%.*FW-LONGPOLL/, 5000);
    console.log(`heartbeat shown after ${ms} ms without a socket`);
    const r = await sms(DEV, 'through the long-poll');
    const ms2 = await waitFeed(page, r.id, 5000);
    console.log(`sms shown after ${ms2} ms without a socket`);
    const st = await page.evaluate(() => window.goipDashboard.live.stats);
    console.log(`events: ${JSON.stringify(st)}`);
    if (st.poll < 1) fail('no event came through /api/events');
    if (st.socket !== 0) fail('events came through a socket that should be blocked');
  },

  async screenshots({ page, log }) {
    // Some history for the charts and some messages for the feed.
    for (let i = 0; i < 12; i++) {
      await heartbeat(DEV, 95 - i * 6 + (i % 3) * 4, 55 + ((i * 17) % 30));
      await sleep(60);
    }
    for (const id of devices.slice(1)) await heartbeat(id, 40 + id.length, 70, { charging: true });
    const texts = ['Your code is 482913', 'Meeting moved to 15:30, see you there', 'Zażółć gęślą jaźń 🚀', '<img src=x onerror=alert(1)>'];
    for (const t of texts) await sms(devices[devices.length - 1], t);
    await open(page);
    await waitConn(page, CONNECTED);
    await sleep(800);
    await page.screenshot({ path: screenshotPath('fleet.png') });
    await page.evaluate((id) => { location.hash = `#/device/${id}`; }, DEV);
    await page.waitForSelector('#chart-signal canvas', { timeout: 5000 });
    // A tall viewport rather than fullPage: SMS items off screen are not
    // painted (content-visibility) and would show as a blank.
    await page.setViewportSize({ width: 1440, height: 1600 });
    await sleep(800);
    await page.screenshot({ path: screenshotPath('device.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => { location.hash = '#/'; });
    await sleep(800);
    await page.screenshot({ path: screenshotPath('fleet-phone.png') });
    noErrors(log, 'screenshots');
    console.log(`screenshots in ${screenshotPath('')}`);
  },
};

// Post JOBS (functions returning promises) N at a time.
async function pool(jobs, n) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      await j();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}

// The scale case measures and prints; its limits are loose (a CI machine
// shared with other jobs), the one-second promise is checked by the
// heartbeat and sms cases.  GOIP_SCALE_SLACK multiplies the limits.
const SLACK = Number(process.env.GOIP_SCALE_SLACK || 1);

cases.scale = async ({ page, log }) => {
  const nsms = Number(process.env.GOIP_SCALE_SMS || 10000);
  let t = Date.now();
  await pool(devices.map((id, i) => () => heartbeat(id, i % 101, (i * 7) % 101)), 8);
  console.log(`${devices.length} heartbeats posted in ${Date.now() - t} ms`);
  t = Date.now();
  const batches = [];
  for (let b = 0; b * 100 < nsms; b++) {
    const id = devices[b % devices.length];
    const messages = [];
    for (let k = 0; k < 100 && b * 100 + k < nsms; k++) {
      messages.push({ deviceId: id, messageId: `scale-${b}-${k}`, slot: 1, from: '+447700900123', to: '+48500100200', text: `scale message ${b * 100 + k}` });
    }
    batches.push(() => postBatch(id, messages));
  }
  await pool(batches, 4);
  console.log(`${nsms} SMS posted in ${Date.now() - t} ms`);

  t = Date.now();
  await open(page, '', 60000 * SLACK);
  await page.waitForFunction((n) => document.querySelectorAll('#fleet-body [role=row]').length === n, devices.length, { timeout: 15000 * SLACK });
  const loadMs = Date.now() - t;
  console.log(`page with ${devices.length} devices drawn in ${loadMs} ms`);
  await waitConn(page, CONNECTED);
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
      .observe({ type: 'longtask', buffered: false });
  });

  // A burst: 400 heartbeats at about 100/s; the last must show within 1 s.
  t = Date.now();
  const burst = [];
  for (let i = 0; i < 400; i++) {
    const id = devices[(i * 37) % devices.length];
    burst.push(async () => {
      const due = t + i * 10;
      if (Date.now() < due) await sleep(due - Date.now());
      await heartbeat(id, 100 - (i % 100), i % 100, { firmware: `BURST-${i}` });
    });
  }
  await pool(burst, 8);
  const lastId = devices[(399 * 37) % devices.length];
  const ms = await waitRow(page, lastId, /BURST-399/, 3000 * SLACK);
  console.log(`burst of 400 heartbeats in ${Date.now() - t} ms; last shown ${ms} ms after its POST returned`);
  const long = await page.evaluate(() => window.__long);
  const worst = long.length ? Math.max(...long) : 0;
  console.log(`long tasks during the burst: ${long.length}, worst ${Math.round(worst)} ms`);
  if (worst > 2000 * SLACK) fail(`a ${Math.round(worst)} ms long task during the burst`);

  // Filtering 1,000 rows.
  t = Date.now();
  await page.fill('#fleet-filter', devices[devices.length - 1]);
  await page.waitForFunction(() => [...document.querySelectorAll('#fleet-body [role=row]')].filter((r) => !r.hidden).length === 1, null, { timeout: 3000 * SLACK });
  console.log(`filter applied in ${Date.now() - t} ms`);
  await page.fill('#fleet-filter', '');

  // Page through every SMS.
  t = Date.now();
  for (;;) {
    const more = await page.$('#feed-more:not([hidden])');
    if (!more) break;
    await more.click();
    await page.waitForFunction(() => !document.getElementById('feed-more').disabled, null, { timeout: 10000 * SLACK });
  }
  const rows = await page.$$eval('#feed-body > li', (r) => r.length);
  console.log(`paged to ${rows} SMS rows in ${Date.now() - t} ms`);
  if (rows < nsms) fail(`only ${rows} of ${nsms} SMS reached by paging`);
  const r = await sms(DEV, 'after paging');
  const shown = await waitFeed(page, r.id, 3000 * SLACK);
  console.log(`a live SMS with ${rows} rows loaded shown in ${shown} ms`);
  await page.screenshot({ path: screenshotPath('scale.png') });
  noErrors(log, 'scale');
};

async function postBatch(id, messages) {
  const r = await fetch(`${BASE}/api/sms/receive`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKENS.get(id)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  if (!r.ok) fail(`batch POST: ${r.status} ${await r.text()}`);
}

// Run axe-core in the page (through the debugging protocol, which the
// page's Content-Security-Policy does not restrict); returns the violations.
async function axe(page) {
  const src = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${src}\n;0`);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
}

async function a11yCheck(scheme) {
  const { launch } = await import('./lib.mjs');
  const b = await launch({ colorScheme: scheme });
  try {
    await heartbeat(DEV, 9, 80, { charging: true });
    await sms(DEV, 'accessibility check');
    await open(b.page);
    await waitConn(b.page, CONNECTED);
    await sleep(1500); // highlights fade out
    const found = [];
    for (const v of await axe(b.page)) found.push({ view: `fleet (${scheme})`, ...v });
    await b.page.evaluate((id) => { location.hash = `#/device/${id}`; }, DEV);
    await b.page.waitForSelector('#chart-battery canvas', { timeout: 5000 });
    await sleep(1500);
    for (const v of await axe(b.page)) found.push({ view: `device (${scheme})`, ...v });
    return found;
  } finally {
    await b.close();
  }
}

cases.a11y = async () => {
  const found = [...await a11yCheck('light'), ...await a11yCheck('dark')];
  for (const v of found) console.log(`${v.view}: ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`);
  if (found.length > 0) fail(`${found.length} accessibility violations`);
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`usage: node dashboard.mjs ${Object.keys(cases).join('|')}`);
  process.exit(2);
}
await run(cases[name]);
