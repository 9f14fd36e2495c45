// fleet.js: the fleet table (an ARIA table of CSS grid rows), one row per
// device, updated in place.
//
// merge(device) records the newest state of a device (a heartbeat event, a
// REST answer) and marks its row dirty; the rows are redrawn once per
// animation frame however many events arrived.  A state older than the one
// shown (a replayed event, a slow REST answer) is ignored: lastSeen decides.

import { el, setText, parseTime, relTime, longTime, pct, signalBars, schedule, flash } from './util.js';

function deviceHref(id) {
  return `#/device/${encodeURIComponent(id)}`;
}

// A signal indicator: four bars (aria-hidden) and the percentage as text.
export function signalNode(v) {
  const bars = signalBars(v);
  const wrap = el('span', { className: 'signal' });
  const b = el('span', { className: 'bars', attrs: { 'aria-hidden': 'true' } });
  for (let i = 1; i <= 4; i++) b.append(el('span', { className: i <= bars ? 'on' : '' }));
  wrap.append(b, el('span', { className: 'num', text: pct(v) }));
  return wrap;
}

// One SIM slot as a short line: "1 ready PLAY +48500100200 71%".
export function slotNode(s) {
  const li = el('li', { className: `slot st-${String(s.status || 'unknown').replace(/[^a-z_]/g, '')}` });
  li.append(
    el('span', { className: 'slot-no', text: `#${s.slot}` }),
    el('span', { className: 'slot-status', text: String(s.status || '?').replace(/_/g, ' ') }),
  );
  if (s.operator) li.append(el('span', { className: 'slot-op', text: s.operator }));
  if (s.phoneNumber) li.append(el('span', { className: 'slot-num', text: s.phoneNumber }));
  if (s.signal !== null && s.signal !== undefined) li.append(signalNode(s.signal));
  if (s.registration && s.registration !== 'home') {
    li.append(el('span', { className: 'slot-reg', text: s.registration }));
  }
  return li;
}

export function batteryNode(level, charging) {
  const wrap = el('span', { className: 'battery' });
  const lvl = level === null || level === undefined ? null : Math.max(0, Math.min(100, level));
  const meter = el('span', { className: 'batt-meter', attrs: { 'aria-hidden': 'true' } });
  const fill = el('span', { className: 'batt-fill' });
  fill.style.width = `${lvl === null ? 0 : lvl}%`;
  if (lvl !== null && lvl <= 15) fill.classList.add('low');
  meter.append(fill);
  wrap.append(meter, el('span', { className: 'num', text: pct(lvl) }));
  if (charging) {
    wrap.append(el('span', { className: 'charging', attrs: { title: 'charging' } },
      el('span', { attrs: { 'aria-hidden': 'true' }, text: '⚡' }),
      el('span', { className: 'visually-hidden', text: 'charging' })));
  }
  return wrap;
}

export class Fleet {
  constructor({ body, count, empty, filter, status }) {
    this.body = body;
    this.countEl = count;
    this.emptyEl = empty;
    this.rows = new Map(); // deviceId -> row record
    this.order = []; // deviceIds, sorted
    this.dirty = new Set();
    this.query = '';
    this.statusFilter = '';
    // One function object, so schedule() draws once per frame.
    this.renderSoon = () => this.render();
    this.loaded = false;
    // Rows on (or near) the screen: only their "last seen" ticks every
    // second; a row coming into view is brought up to date at once.
    this.visible = new Set();
    this.observer = new IntersectionObserver((entries) => {
      const now = Date.now();
      for (const e of entries) {
        const id = e.target.dataset.id;
        if (e.isIntersecting) {
          this.visible.add(id);
          const r = this.rows.get(id);
          if (r && r.cells) this._drawSeen(r, now);
        } else {
          this.visible.delete(id);
        }
      }
    }, { rootMargin: '200px 0px' });
    filter.addEventListener('input', () => {
      this.query = filter.value.trim().toLowerCase();
      this.applyFilter();
    });
    status.addEventListener('change', () => {
      this.statusFilter = status.value;
      this.applyFilter();
    });
  }

  get(id) {
    const r = this.rows.get(id);
    return r ? r.data : null;
  }

  // merge(device, highlight): take DEVICE unless an older state of it is
  // shown already.  Returns true when it was taken.
  merge(d, highlight = false) {
    if (!d || typeof d.deviceId !== 'string') return false;
    let r = this.rows.get(d.deviceId);
    if (r) {
      const shown = parseTime(r.data.lastSeen);
      const next = parseTime(d.lastSeen);
      if (Number.isFinite(shown) && (!Number.isFinite(next) || next < shown)) return false;
      r.data = Object.assign({}, r.data, d);
    } else {
      r = { data: Object.assign({}, d), tr: null, cells: null, slotsKey: null, flash: false };
      this.rows.set(d.deviceId, r);
    }
    if (highlight) r.flash = true;
    this.dirty.add(d.deviceId);
    schedule(this.renderSoon);
    return true;
  }

  // A device-status-change event: {deviceId, status, previousStatus, at}.
  // Ignored when the device was seen after AT (a stale, replayed change).
  status(ev) {
    const r = this.rows.get(ev.deviceId);
    if (!r) return false;
    const at = parseTime(ev.at);
    const seen = parseTime(r.data.lastSeen);
    if (Number.isFinite(at) && Number.isFinite(seen) && at < seen) return false;
    if (r.data.status === ev.status) return false;
    r.data = Object.assign({}, r.data, { status: ev.status });
    r.flash = true;
    this.dirty.add(ev.deviceId);
    schedule(this.renderSoon);
    return true;
  }

  // replaceAll(list): a full REST answer: merge every device and drop the
  // rows of devices that no longer exist.
  replaceAll(list, highlight = false) {
    const seen = new Set();
    for (const d of list) {
      seen.add(d.deviceId);
      const before = this.rows.get(d.deviceId);
      const prev = before ? JSON.stringify(before.data) : null;
      this.merge(d, false);
      const after = this.rows.get(d.deviceId);
      if (highlight && before && prev !== JSON.stringify(after.data)) after.flash = true;
    }
    for (const id of [...this.rows.keys()]) {
      if (!seen.has(id)) this.remove(id);
    }
    this.loaded = true;
    schedule(this.renderSoon);
  }

  remove(id) {
    const r = this.rows.get(id);
    if (!r) return;
    if (r.tr) {
      this.observer.unobserve(r.tr);
      r.tr.remove();
    }
    this.rows.delete(id);
    this.visible.delete(id);
    this.dirty.delete(id);
    const i = this.order.indexOf(id);
    if (i >= 0) this.order.splice(i, 1);
  }

  // Insert the row of ID in deviceId order.
  _insert(id, tr) {
    let lo = 0, hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid] < id) lo = mid + 1; else hi = mid;
    }
    const next = this.order[lo];
    this.order.splice(lo, 0, id);
    const nextTr = next !== undefined ? this.rows.get(next).tr : null;
    this.body.insertBefore(tr, nextTr);
  }

  _build(r) {
    const id = r.data.deviceId;
    const link = el('a', { href: deviceHref(id), className: 'dev-link' });
    const name = el('span', { className: 'dev-name' });
    const sub = el('span', { className: 'dev-id' });
    link.append(name, sub);
    const cells = {
      name, sub,
      status: el('span', { className: 'badge' }),
      battery: el('div', { className: 'c-batt', attrs: { role: 'cell' } }),
      signal: el('div', { className: 'c-sig', attrs: { role: 'cell' } }),
      slots: el('ul', { className: 'slots' }),
      firmware: el('div', { className: 'c-fw', attrs: { role: 'cell' } }),
      seen: el('time'),
    };
    const tr = el('div', { className: 'frow', dataset: { id }, attrs: { role: 'row' } },
      el('div', { attrs: { role: 'rowheader' }, className: 'c-name' }, link),
      el('div', { className: 'c-status', attrs: { role: 'cell' } }, cells.status),
      cells.battery,
      cells.signal,
      el('div', { className: 'c-slots', attrs: { role: 'cell' } }, cells.slots),
      cells.firmware,
      el('div', { className: 'c-seen', attrs: { role: 'cell' } }, cells.seen),
    );
    r.tr = tr;
    r.cells = cells;
    this._insert(id, tr);
    this.observer.observe(tr);
  }

  _draw(r, now) {
    const d = r.data, c = r.cells;
    setText(c.name, d.name || d.deviceId);
    setText(c.sub, d.name && d.name !== d.deviceId ? d.deviceId : '');
    const online = d.status === 'online';
    setText(c.status, d.status || 'unknown');
    c.status.className = `badge ${online ? 'online' : 'offline'}`;
    r.tr.classList.toggle('is-offline', !online);
    const bk = `${d.battery}|${d.charging}`;
    if (r.battKey !== bk) { r.battKey = bk; c.battery.replaceChildren(batteryNode(d.battery, d.charging)); }
    if (r.sigKey !== d.signal) { r.sigKey = d.signal; c.signal.replaceChildren(signalNode(d.signal)); }
    const sk = JSON.stringify(d.simSlots || []);
    if (r.slotsKey !== sk) {
      r.slotsKey = sk;
      const slots = Array.isArray(d.simSlots) ? d.simSlots : [];
      c.slots.replaceChildren(...slots.map(slotNode));
      if (slots.length === 0) c.slots.append(el('li', { className: 'muted', text: 'no SIM' }));
    }
    setText(c.firmware, d.firmware || '–');
    this._drawSeen(r, now);
    this._filterRow(r);
  }

  _drawSeen(r, now) {
    const ms = parseTime(r.data.lastSeen);
    const t = r.cells.seen;
    setText(t, relTime(ms, now));
    if (r.seenAttr !== r.data.lastSeen) {
      r.seenAttr = r.data.lastSeen;
      if (r.data.lastSeen) {
        t.dateTime = r.data.lastSeen;
        t.title = longTime(ms);
      } else {
        t.removeAttribute('datetime');
        t.removeAttribute('title');
      }
    }
  }

  render() {
    const now = Date.now();
    for (const id of this.dirty) {
      const r = this.rows.get(id);
      if (!r) continue;
      if (!r.tr) this._build(r);
      this._draw(r, now);
      if (r.flash) {
        r.flash = false;
        if (!r.tr.hidden) flash(r.tr);
      }
    }
    this.dirty.clear();
    this._count();
  }

  // Called every second: keep "last seen" ticking in the rows on screen.
  tick() {
    const now = Date.now();
    for (const id of this.visible) {
      const r = this.rows.get(id);
      if (r && r.cells && !r.tr.hidden) this._drawSeen(r, now);
    }
  }

  _match(d) {
    if (this.statusFilter && d.status !== this.statusFilter) return false;
    if (!this.query) return true;
    const hay = [d.deviceId, d.name, d.firmware];
    for (const s of d.simSlots || []) hay.push(s.operator, s.phoneNumber, s.iccid, s.imsi);
    return hay.some((h) => typeof h === 'string' && h.toLowerCase().includes(this.query));
  }

  _filterRow(r) {
    const show = this._match(r.data);
    if (r.tr.hidden === show) r.tr.hidden = !show;
  }

  applyFilter() {
    for (const r of this.rows.values()) if (r.tr) this._filterRow(r);
    this._count();
    this.tick();
  }

  _count() {
    const total = this.rows.size;
    let shown = 0;
    for (const r of this.rows.values()) if (r.tr && !r.tr.hidden) shown++;
    this.emptyEl.hidden = !(this.loaded && total === 0);
    setText(this.countEl, total === 0 ? '' :
      shown === total ? `${total} device${total === 1 ? '' : 's'}` : `Showing ${shown} of ${total} devices`);
  }
}
