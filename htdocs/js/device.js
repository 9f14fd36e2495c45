// device.js: the page of one device (#/device/ID): current state, battery
// and signal history charts (uPlot), SIM slot details, the send form, the
// USSD form of a GoIP (goip-udpd) and the device's SMS.  Opening it joins
// the device's room, closing it leaves it.

import { el, setText, parseTime, relTime, longTime, duration, pct, getJSON, postJSON, HttpError, flash } from './util.js';
import { Feed } from './feed.js';
import { signalNode } from './fleet.js';

const $ = (id) => document.getElementById(id);
const HISTORY_MAX = 2000; // points kept per chart while the page is open
const WINDOW_MIN = 3600; // s: the least span the time axis shows
const POINTS_MAX = 24; // heartbeats in view up to which each is drawn as a dot

// The time axis (a uPlot range function): the data's span with a little
// padding, at least the hour up to just past the newest heartbeat, the last
// hour with no data.  uPlot alone spreads a single point over 86,400 of
// its time units, which are seconds here: a thousand days and no point.
// A MIN and MAX other than the data's ends are a zoom: kept.
function timeRange(u, min, max) {
  const xs = u.data && u.data[0] ? u.data[0] : [];
  if (xs.length === 0) {
    const now = Date.now() / 1000;
    return [now - WINDOW_MIN, now];
  }
  const first = xs[0], last = xs[xs.length - 1];
  if (min !== first || (max !== last && xs.length > 1)) return [min, max];
  const span = last - first;
  if (span < WINDOW_MIN) {
    const hi = last + WINDOW_MIN / 30;
    return [hi - WINDOW_MIN, hi];
  }
  return [first - span / 50, last + span / 50];
}

function randomKey() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
  const b = new Uint8Array(16);
  window.crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// A small time series chart: one uPlot with one 0..100 series.
class Chart {
  constructor(box, summary, label, color) {
    this.box = box;
    this.summary = summary;
    this.label = label;
    this.xs = [];
    this.ys = [];
    this.plot = null;
    this.color = color;
    this.resize = new ResizeObserver(() => this._size());
    this.resize.observe(box);
  }

  set(points) {
    this.xs = points.map((p) => p[0]);
    this.ys = points.map((p) => p[1]);
    this._draw();
  }

  push(t, v) {
    if (this.xs.length > 0 && t <= this.xs[this.xs.length - 1]) return;
    this.xs.push(t);
    this.ys.push(v);
    if (this.xs.length > HISTORY_MAX) { this.xs.shift(); this.ys.shift(); }
    this._draw();
  }

  _width() {
    return Math.max(240, Math.floor(this.box.clientWidth || 600));
  }

  _size() {
    if (this.plot) this.plot.setSize({ width: this._width(), height: 200 });
  }

  _draw() {
    this._summary();
    if (typeof window.uPlot !== 'function') return;
    const data = [this.xs, this.ys];
    if (this.plot) { this.plot.setData(data); return; }
    const fg = cssVar('--fg-muted', '#555');
    const grid = cssVar('--grid', 'rgba(0,0,0,0.08)');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.plot = new window.uPlot({
      width: this._width(),
      height: 200,
      legend: { show: false },
      cursor: { y: false },
      scales: { x: { time: true, range: timeRange }, y: { range: [0, 100] } },
      axes: [axis, Object.assign({}, axis, { values: (u, vals) => vals.map((v) => `${v}%`) })],
      series: [
        {},
        { label: this.label, stroke: this.color, width: 2, spanGaps: false, fill: `${this.color}22`, points: { show: (u, si, i0, i1) => i1 - i0 < POINTS_MAX, size: 7, fill: this.color } },
      ],
    }, data, this.box);
  }

  _summary() {
    const vals = this.ys.filter((v) => v !== null && v !== undefined);
    if (vals.length === 0) {
      setText(this.summary, 'No history yet.');
      return;
    }
    const min = Math.min(...vals), max = Math.max(...vals);
    setText(this.summary, `${vals.length} heartbeat${vals.length === 1 ? '' : 's'}; latest ${vals[vals.length - 1]}%, lowest ${min}%, highest ${max}%.`);
  }

  destroy() {
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.box.replaceChildren();
  }
}

export class DevicePage {
  constructor(live) {
    this.live = live;
    this.id = null;
    this.data = null;
    this.feed = null;
    this.charts = null;
    this.gen = 0;
    this.sendKey = null; // { request, key }: a message not yet answered
    $('send-form').addEventListener('submit', (e) => { e.preventDefault(); this._send(); });
    $('ussd-form').addEventListener('submit', (e) => { e.preventDefault(); this._ussd(); });
  }

  async open(id) {
    if (this.id === id) return;
    this.close();
    this.id = id;
    const gen = ++this.gen;
    setText($('dev-title'), id);
    setText($('dev-crumb'), id);
    document.title = `${id} · GoIP Dashboard`;
    $('dev-error').hidden = true;
    setText($('send-result'), '');
    setText($('ussd-result'), '');
    $('ussd-panel').hidden = true;
    this.live.joinDevice(id);
    this.charts = {
      battery: new Chart($('chart-battery'), $('chart-battery-summary'), 'Battery', cssVar('--c-battery', '#15803d')),
      signal: new Chart($('chart-signal'), $('chart-signal-summary'), 'Signal', cssVar('--c-signal', '#1d4ed8')),
    };
    this.feed = new Feed({
      body: $('dev-sms-body'), more: $('dev-sms-more'), empty: $('dev-sms-empty'),
      deviceId: id, showDevice: false,
    });
    this.feed.clear();
    try {
      await this.reload(gen);
    } catch (e) {
      if (gen !== this.gen) return;
      const err = $('dev-error');
      err.hidden = false;
      setText(err, e instanceof HttpError && e.status === 404 ?
        `No device "${id}".` : `Could not load the device: ${e.message}`);
    }
  }

  // Load the device and its SMS from REST (on open and on a resync).
  async reload(gen = this.gen) {
    if (this.id === null) return;
    const id = this.id;
    const [d] = await Promise.all([
      getJSON(`/api/devices/${encodeURIComponent(id)}`),
      this.feed.load(true),
    ]);
    if (gen !== this.gen) return;
    this.data = d;
    const hist = Array.isArray(d.history) ? d.history : [];
    const pts = hist.map((h) => [parseTime(h.at) / 1000, h]);
    this.charts.battery.set(pts.map(([t, h]) => [t, h.battery]));
    this.charts.signal.set(pts.map(([t, h]) => [t, h.signal]));
    this._draw(false);
    this._drawUssd(d);
  }

  // The USSD form, for a device with GoIP lines: one slot per line, and the
  // latest request's outcome.
  _drawUssd(d) {
    const lines = Array.isArray(d.goipLines) ? d.goipLines : [];
    $('ussd-panel').hidden = lines.length === 0;
    if (lines.length === 0) return;
    const sel = $('ussd-slot');
    const keep = sel.value;
    sel.replaceChildren(...lines.map((l) => el('option', { attrs: { value: String(l.slot) }, text: `${l.slot} (${l.lineId})` })));
    if (keep) sel.value = keep;
    const last = Array.isArray(d.ussd) && d.ussd.length > 0 ? d.ussd[0] : null;
    if (last && $('ussd-result').textContent === '') this.ussdReply(last);
  }

  // A ussd-reply event (or the latest request on load): its outcome, as text.
  ussdReply(u) {
    if (!u || u.deviceId !== this.id) return;
    const out = $('ussd-result');
    if (u.status === 'replied') setText(out, `${u.code} (slot ${u.slot}): ${u.reply}`);
    else if (u.status === 'failed') setText(out, `${u.code} (slot ${u.slot}) failed: ${u.error || 'no reply'}.`);
    else setText(out, `${u.code} (slot ${u.slot}): waiting for the reply...`);
  }

  async _ussd() {
    const out = $('ussd-result');
    if (this.id === null) return;
    const body = { slot: Number($('ussd-slot').value), code: $('ussd-code').value.trim() };
    const btn = $('ussd-form').querySelector('button');
    btn.disabled = true;
    setText(out, 'Sending...');
    try {
      const u = await postJSON(`/api/devices/${encodeURIComponent(this.id)}/ussd`, body);
      this.ussdReply(u);
    } catch (e) {
      if (e instanceof HttpError && e.body && e.body.error) {
        setText(out, `Not sent: ${e.body.error}${e.body.field ? ` (${e.body.field})` : ''}.`);
      } else {
        setText(out, `Not sent: ${e.message}.`);
      }
    } finally {
      btn.disabled = false;
    }
  }

  close() {
    if (this.id === null) return;
    this.live.leaveDevice(this.id);
    this.gen++;
    if (this.charts) { this.charts.battery.destroy(); this.charts.signal.destroy(); }
    this.charts = null;
    this.feed = null;
    this.data = null;
    this.id = null;
    $('dev-sms-body').replaceChildren();
    $('slots-body').replaceChildren();
  }

  // A device-heartbeat event (the device as GET /api/devices/ID shows it).
  heartbeat(d) {
    if (d.deviceId !== this.id || !this.data) return;
    const shown = parseTime(this.data.lastSeen), next = parseTime(d.lastSeen);
    if (Number.isFinite(shown) && Number.isFinite(next) && next < shown) return;
    this.data = Object.assign({}, this.data, d);
    if (Number.isFinite(next)) {
      this.charts.battery.push(next / 1000, d.battery);
      this.charts.signal.push(next / 1000, d.signal);
    }
    this._draw(true);
  }

  statusChange(ev) {
    if (ev.deviceId !== this.id || !this.data) return;
    const at = parseTime(ev.at), seen = parseTime(this.data.lastSeen);
    if (Number.isFinite(at) && Number.isFinite(seen) && at < seen) return;
    this.data.status = ev.status;
    this._draw(true);
  }

  sms(s) {
    if (this.feed && s.deviceId === this.id) this.feed.add(s, true);
  }

  smsStatus(ev) {
    if (this.feed) this.feed.status(ev);
  }

  tick() {
    if (this.data) setText($('dev-lastseen'), this._seenText());
  }

  _seenText() {
    const ms = parseTime(this.data.lastSeen);
    return Number.isFinite(ms) ? `${relTime(ms, Date.now())} (${longTime(ms)})` : 'never';
  }

  _draw(highlight) {
    const d = this.data;
    setText($('dev-title'), d.name || d.deviceId);
    const st = $('dev-status');
    setText(st, d.status || 'unknown');
    st.className = `badge ${d.status === 'online' ? 'online' : 'offline'}`;
    setText($('dev-id'), d.deviceId);
    setText($('dev-battery'), `${pct(d.battery)}${d.charging ? ', charging' : ''}`);
    $('dev-signal').replaceChildren(signalNode(d.signal));
    setText($('dev-firmware'), d.firmware || '–');
    setText($('dev-uptime'), duration(d.uptime));
    setText($('dev-lastseen'), this._seenText());
    const slots = Array.isArray(d.simSlots) ? d.simSlots : [];
    const rows = slots.map((s) => el('tr', null,
      el('th', { attrs: { scope: 'row' }, text: String(s.slot) }),
      el('td', null, el('span', { className: `badge slot-badge st-${String(s.status || '').replace(/[^a-z_]/g, '')}`, text: String(s.status || '?').replace(/_/g, ' ') })),
      el('td', { text: s.operator || '–' }),
      el('td', { text: s.phoneNumber || '–' }),
      el('td', null, signalNode(s.signal)),
      el('td', { text: s.registration || '–' }),
      el('td', { className: 'mono', text: s.iccid || '–' }),
      el('td', { className: 'mono', text: s.imsi || '–' })));
    if (rows.length === 0) rows.push(el('tr', null, el('td', { attrs: { colspan: 8 }, className: 'muted', text: 'No SIM slots reported.' })));
    $('slots-body').replaceChildren(...rows);
    const sel = $('send-slot');
    const want = slots.map((s) => String(s.slot)).join(',');
    if (sel.dataset.slots !== want) {
      const keep = sel.value;
      sel.replaceChildren(...slots.map((s) => el('option', {
        value: String(s.slot),
        text: `${s.slot}${s.operator ? ` (${s.operator})` : ''}${s.status && s.status !== 'ready' ? ` – ${s.status}` : ''}`,
      })));
      if (keep && want.split(',').includes(keep)) sel.value = keep;
      sel.dataset.slots = want;
    }
    if (highlight) flash($('dev-facts'));
  }

  // The Idempotency-Key of request BODY: the key of the last attempt while
  // it is the same message and got no answer, a new key for a new message.
  _sendKey(body) {
    const request = JSON.stringify(body);
    if (this.sendKey === null || this.sendKey.request !== request) {
      this.sendKey = { request, key: randomKey() };
    }
    return this.sendKey.key;
  }

  async _send() {
    const out = $('send-result');
    const form = $('send-form');
    if (this.id === null) return;
    const body = {
      deviceId: this.id,
      slot: Number($('send-slot').value),
      to: $('send-to').value.trim(),
      text: $('send-text').value,
    };
    const btn = form.querySelector('button');
    btn.disabled = true;
    setText(out, 'Sending...');
    const key = this._sendKey(body);
    try {
      const m = await postJSON('/api/sms/send', body, { 'Idempotency-Key': key });
      this.sendKey = null;
      setText(out, `Queued as message ${m.id}${m.segments ? ` (${m.segments} segment${m.segments === 1 ? '' : 's'})` : ''}, status ${m.status}.`);
      $('send-text').value = '';
      if (m && Number.isSafeInteger(m.id)) this.sms(m);
    } catch (e) {
      // A 4xx answers the message: it was not queued and never will be.
      // Without an answer (a network error), or with a 5xx, it may have
      // been: the retry keeps the key, so the server queues it once.
      if (e instanceof HttpError && e.status < 500) this.sendKey = null;
      if (e instanceof HttpError && (e.status === 404 || e.status === 405)) {
        setText(out, 'Sending SMS is not available on this server yet.');
      } else if (e instanceof HttpError && e.body && e.body.error) {
        setText(out, `Not sent: ${e.body.error}${e.body.field ? ` (${e.body.field})` : ''}.`);
      } else {
        setText(out, `Not sent: ${e.message}.`);
      }
    } finally {
      btn.disabled = false;
    }
  }
}
