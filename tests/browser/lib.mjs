// lib.mjs: helpers of the dashboard's browser tests: launch Debian's headless
// Chromium through playwright-core, open the dashboard with the instance's
// credentials, post heartbeats and SMS as a device would, and wait for the
// page to show them.
//
// The stack is described by the environment (set by tests/dashboard_test.sh):
//   GOIP_BASE        http://127.0.0.1:PORT of the web server
//   GOIP_CRED        admin:PASSWORD (dashboard basic authentication)
//   GOIP_TOKENS      "ID TOKEN" lines, one per registered device
//   GOIP_ARTIFACTS   folder for screenshots (made if missing)
//   CHROMIUM         browser binary (default /usr/bin/chromium)

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BASE = process.env.GOIP_BASE || 'http://127.0.0.1:8080';
const [USER, ...PASS] = (process.env.GOIP_CRED || 'admin:').split(':');
export const CRED = { username: USER, password: PASS.join(':') };
export const ARTIFACTS = process.env.GOIP_ARTIFACTS || path.resolve('artifacts');

export const TOKENS = new Map(
  (process.env.GOIP_TOKENS || '').split('\n').map((l) => l.trim().split(/\s+/))
    .filter((a) => a.length === 2),
);

export function fail(msg) {
  throw new Error(msg);
}

// launch(): a fresh headless Chromium with its own profile folder, and a
// page on the dashboard that records console errors, page errors and
// dialogs (an alert() from injected markup would show up there).
export async function launch(opts = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'goip-chromium-'));
  // A persistent context is how playwright takes a profile folder
  // (--user-data-dir): a fresh one per run, removed by close().
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    httpCredentials: CRED,
    viewport: opts.viewport || { width: 1440, height: 900 },
    colorScheme: opts.colorScheme || 'light',
  });
  const page = context.pages()[0] || await context.newPage();
  const log = { errors: [], dialogs: [], console: [] };
  page.on('console', (m) => {
    log.console.push(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on('dialog', async (d) => {
    log.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, log, close };
}

// open(page, hash): load the dashboard and wait for the fleet to be drawn.
export async function open(page, hash = '', timeout = 30000) {
  await page.goto(`${BASE}/${hash}`, { waitUntil: 'load', timeout });
  await page.waitForFunction(() => window.goipDashboard && window.goipDashboard.fleet.loaded, null, { timeout })
    .catch(() => fail(`the fleet was not loaded within ${timeout} ms`));
}

export async function connState(page) {
  return page.$eval('#conn-text', (e) => e.textContent);
}

export async function waitConn(page, texts, timeout = 15000) {
  const want = Array.isArray(texts) ? texts : [texts];
  await page.waitForFunction((w) => w.includes(document.getElementById('conn-text').textContent), want, { timeout })
    .catch(async () => fail(`indicator is "${await connState(page)}", expected ${want.join(' or ')}`));
}

// deviceRequest(method, route, id, body): a request as device ID (its
// bearer token); returns the parsed answer, fails on a non-2xx status.
export async function deviceRequest(method, route, id, body) {
  const token = TOKENS.get(id);
  if (!token) fail(`no token for device ${id}`);
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${BASE}${route}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) fail(`${method} ${route} for ${id}: ${r.status} ${text}`);
  return JSON.parse(text);
}

function post(route, id, body) {
  return deviceRequest('POST', route, id, body);
}

export function heartbeat(id, battery, signal, extra = {}) {
  return post('/api/device/heartbeat', id, Object.assign({
    deviceId: id, battery, charging: false, signal, firmware: 'GST1610-1.01', uptime: 3600,
    simSlots: [
      { slot: 1, status: 'ready', operator: 'PLAY', phoneNumber: '+48500100200', signal, registration: 'home' },
      { slot: 2, status: 'absent' },
    ],
  }, extra));
}

let smsSeq = 0;
export function sms(id, text, extra = {}) {
  smsSeq++;
  return post('/api/sms/receive', id, Object.assign({
    deviceId: id, messageId: `t-${process.pid}-${Date.now()}-${smsSeq}`, slot: 1,
    from: '+447700900123', to: '+48500100200', text,
  }, extra));
}

// The text of the fleet row of ID (cells joined by " | "), or null.
export async function rowText(page, id) {
  return page.evaluate((i) => {
    const tr = [...document.querySelectorAll('#fleet-body [role=row]')].find((t) => t.dataset.id === i);
    return tr ? [...tr.children].map((c) => c.textContent.trim()).join(' | ') : null;
  }, id);
}

// waitRow(page, id, re, ms): until the row of ID matches RE; returns the time
// it took.
export async function waitRow(page, id, re, ms) {
  const t0 = Date.now();
  await page.waitForFunction(([i, src]) => {
    const tr = [...document.querySelectorAll('#fleet-body [role=row]')].find((t) => t.dataset.id === i);
    return tr && new RegExp(src).test([...tr.children].map((c) => c.textContent.trim()).join(' | '));
  }, [id, re.source], { timeout: ms, polling: 50 })
    .catch(async () => fail(`row ${id} is "${await rowText(page, id)}", expected ${re} within ${ms} ms`));
  return Date.now() - t0;
}

// The SMS ids shown in the feed (sel: the tbody), in order.
export async function feedIds(page, sel = '#feed-body') {
  return page.$$eval(`${sel} > [data-id]`, (items) => items.map((t) => Number(t.dataset.id)));
}

export async function waitFeed(page, id, ms, sel = '#feed-body') {
  const t0 = Date.now();
  await page.waitForSelector(`${sel} > [data-id="${id}"]`, { timeout: ms, state: 'attached' })
    .catch(() => fail(`SMS ${id} not in ${sel} within ${ms} ms`));
  return Date.now() - t0;
}

export function screenshotPath(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// run(fn): run a test body with a browser; print "ok" or the failure (and
// the page's console) and set the exit status.
export async function run(fn, opts) {
  const b = await launch(opts);
  try {
    await fn(b);
    console.log('ok');
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    console.error('--- page console ---');
    for (const l of b.log.console) console.error(l);
    process.exitCode = 1;
  } finally {
    await b.close();
  }
}
