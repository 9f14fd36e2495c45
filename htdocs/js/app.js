// app.js: the dashboard's entry point: state from the REST routes, live
// updates from live.js, the hash router (#/ fleet, #/device/ID device page),
// the stats cards and the connection indicator.

import { setText, getJSON, schedule, flash } from './util.js';
import { Live, STATE_TEXT } from './live.js';
import { Fleet } from './fleet.js';
import { Feed } from './feed.js';
import { DevicePage } from './device.js';

const $ = (id) => document.getElementById(id);

const fleet = new Fleet({
  body: $('fleet-body'), count: $('fleet-count'), empty: $('fleet-empty'),
  filter: $('fleet-filter'), status: $('fleet-status'),
});
const feed = new Feed({ body: $('feed-body'), more: $('feed-more'), empty: $('feed-empty') });

// --- stats cards -------------------------------------------------------
const STAT_KEYS = [
  ['devices', 'total'], ['devices', 'online'], ['devices', 'offline'],
  ['sms', 'receivedToday'], ['sms', 'received'], ['sms', 'sent'],
  ['sms', 'delivered'], ['sms', 'failed'], ['sms', 'queued'],
];
const statsFmt = new Intl.NumberFormat();
let statsShown = null;

let statsNext = null;
function drawStats() {
  const s = statsNext;
  if (s === null) return;
  for (const [g, k] of STAT_KEYS) {
    const v = s[g] && s[g][k];
    if (typeof v !== 'number') continue;
    const dd = $(`stat-${g}-${k}`);
    const txt = statsFmt.format(v);
    if (dd.textContent !== txt) {
      dd.textContent = txt;
      if (statsShown !== null) flash(dd.parentElement);
    }
  }
  drawDeliveryRate(s.sms);
  statsShown = s;
}

// Delivery rate: delivered / (delivered + failed), "–" before any outcome.
const rateFmt = new Intl.NumberFormat(undefined,
  { style: 'percent', maximumFractionDigits: 1 });
function drawDeliveryRate(sms) {
  if (!sms || typeof sms.delivered !== 'number' ||
      typeof sms.failed !== 'number') return;
  const done = sms.delivered + sms.failed;
  const txt = done > 0 ? rateFmt.format(sms.delivered / done) : '–';
  const dd = $('stat-sms-deliveryRate');
  if (dd.textContent !== txt) {
    dd.textContent = txt;
    if (statsShown !== null) flash(dd.parentElement);
  }
}

function applyStats(s) {
  if (!s || typeof s !== 'object') return;
  statsNext = s;
  schedule(drawStats);
}

let statsTimer = null;
// Refresh the stats from REST soon (polling mode has no stats-update).
function refreshStatsSoon() {
  if (statsTimer !== null) return;
  statsTimer = setTimeout(async () => {
    statsTimer = null;
    try { applyStats(await getJSON('/api/stats')); } catch (e) { /* next time */ }
  }, 1000);
}

// --- connection indicator ------------------------------------------------
function showState(state) {
  const c = $('conn');
  c.dataset.state = state;
  setText($('conn-text'), STATE_TEXT[state]);
}

function showPolling(on) {
  $('conn-mode').hidden = !on;
}

// --- live events ---------------------------------------------------------
const device = new DevicePage(null);

function onEvent(name, data, via) {
  switch (name) {
    case 'device-heartbeat':
      fleet.merge(data, true);
      device.heartbeat(data);
      break;
    case 'device-status-change':
      fleet.status(data);
      device.statusChange(data);
      break;
    case 'sms-received':
      feed.add(data, true);
      device.sms(data);
      break;
    case 'sms-status':
      feed.status(data);
      device.smsStatus(data);
      break;
    case 'stats-update':
      applyStats(data);
      break;
    case 'ussd-reply':
      device.ussdReply(data);
      break;
    default:
      break;
  }
  if (via === 'poll' && name !== 'stats-update') refreshStatsSoon();
}

// Reload state from REST.  "poll": merge (and highlight what changed) while
// the real-time connection is down; "resync"/"catch-up"/"load": merge
// quietly, "resync" replaces the SMS lists.
let reloading = null;
let reloadAgain = null;
let againWhy = null;
async function reloadOnce(why) {
  const reset = why === 'resync';
  const [devices, stats] = await Promise.all([
    getJSON('/api/devices'),
    getJSON('/api/stats'),
    feed.load(reset),
    reset ? device.reload() : Promise.resolve(),
  ]);
  if (Array.isArray(devices)) {
    fleet.replaceAll(devices, why === 'poll');
    if (device.id !== null) {
      const d = devices.find((x) => x.deviceId === device.id);
      if (d) device.heartbeat(d);
    }
  }
  applyStats(stats);
}

// One reload at a time; a reload asked for while one runs runs after it
// (the running one may have read the state too early), and several such
// asks are served by that one.
function reload(why) {
  if (reloading === null) {
    reloading = reloadOnce(why).finally(() => { reloading = null; });
    return reloading;
  }
  if (againWhy !== 'resync') againWhy = why;
  if (reloadAgain === null) {
    reloadAgain = reloading.catch(() => {}).then(() => {
      const w = againWhy;
      reloadAgain = null;
      againWhy = null;
      return reload(w);
    });
  }
  return reloadAgain;
}

const live = new Live({
  onEvent,
  onState: showState,
  onPolling: showPolling,
  onReload: (why) => reload(why).catch((e) => {
    console.info('dashboard: reload failed:', e.message);
    throw e;
  }),
  onPolled: refreshStatsSoon,
});
device.live = live;

// --- router ----------------------------------------------------------------
function route() {
  const m = /^#\/device\/(.+)$/.exec(location.hash);
  let id = null;
  if (m) {
    try { id = decodeURIComponent(m[1]); } catch (e) { id = null; }
  }
  const fleetView = $('view-fleet'), devView = $('view-device');
  if (id !== null) {
    fleetView.hidden = true;
    devView.hidden = false;
    device.open(id);
    $('main').focus({ preventScroll: true });
    window.scrollTo(0, 0);
  } else {
    device.close();
    document.title = 'GoIP Dashboard';
    devView.hidden = true;
    fleetView.hidden = false;
  }
}

window.addEventListener('hashchange', route);

// --- start -----------------------------------------------------------------
showState('connecting');
live.start();
route();
reload('load').catch((e) => {
  const p = $('fleet-count');
  setText(p, `Could not load the fleet: ${e.message}`);
});
setInterval(() => {
  fleet.tick();
  device.tick();
}, 1000);

// For tests and the curious: the connection's counters and cursor.
window.goipDashboard = { live, fleet, feed, device };
