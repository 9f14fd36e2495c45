// feed.js: an SMS list (an <ol>), newest first (highest id first), paged into history
// with GET /api/sms?before=ID.
//
// Rows are keyed by SMS id, so a message that arrives twice (a replayed
// event, a REST poll that overlaps the socket) is shown once.  The number of
// rows in the DOM is capped: live messages push the oldest rows out (they
// come back with "Load older messages"); rows the user paged in explicitly
// raise the cap.

import { el, setText, parseTime, shortTime, longTime, getJSON, schedule, flash } from './util.js';

const PAGE = 50;
const OLDER_PAGE = 250;
const BASE_CAP = 300;

function smsTime(s) {
  const ms = parseTime(s.receivedAt || s.storedAt);
  return { ms, iso: s.receivedAt || s.storedAt || '' };
}

export class Feed {
  // opts: body, more (button), empty (element), deviceId (null: every
  // device), showDevice (a device column), onCount(n).
  constructor(opts) {
    this.body = opts.body;
    this.moreBtn = opts.more;
    this.emptyEl = opts.empty;
    this.deviceId = opts.deviceId || null;
    this.showDevice = opts.showDevice !== false;
    this.rows = new Map(); // id -> {sms, tr, statusEl}
    this.ids = []; // shown ids, descending
    this.pending = []; // messages waiting for the next frame
    this.cap = BASE_CAP;
    this.hasOlder = false;
    this.loaded = false;
    this.loadingOlder = false;
    // One function object, so schedule() draws once per frame.
    this.renderSoon = () => this.render();
    this.gen = 0;
    this.moreBtn.addEventListener('click', () => this.loadOlder());
  }

  _query(extra) {
    const q = new URLSearchParams(extra);
    if (this.deviceId) q.set('deviceId', this.deviceId);
    return `/api/sms?${q}`;
  }

  // The newest page.  With RESET the list is emptied first (a resync);
  // otherwise the answer is merged (a REST poll while disconnected).
  async load(reset = false) {
    const gen = reset ? ++this.gen : this.gen;
    const list = await getJSON(this._query({ limit: PAGE }));
    if (gen !== this.gen) return;
    if (reset) this.clear();
    const wasLoaded = this.loaded;
    if (!wasLoaded) this.hasOlder = list.length >= PAGE;
    this.loaded = true;
    for (const s of list) this.add(s, wasLoaded);
    schedule(this.renderSoon);
  }

  async loadOlder() {
    if (this.loadingOlder || this.ids.length === 0) return;
    this.loadingOlder = true;
    this.moreBtn.disabled = true;
    const gen = this.gen;
    try {
      const before = this.ids[this.ids.length - 1];
      const list = await getJSON(this._query({ before, limit: OLDER_PAGE }));
      if (gen !== this.gen) return;
      this.cap = Math.max(this.cap, this.ids.length + list.length);
      this.hasOlder = list.length >= OLDER_PAGE;
      for (const s of list) this.add(s, false);
      this.render();
    } catch (e) {
      console.warn('dashboard: loading older SMS failed', e);
    } finally {
      this.loadingOlder = false;
      this.moreBtn.disabled = false;
    }
  }

  clear() {
    this.body.replaceChildren();
    this.rows.clear();
    this.ids = [];
    this.pending = [];
    this.cap = BASE_CAP;
  }

  // add(sms, highlight): queue a message for the next frame.
  add(s, highlight = true) {
    if (!s || !Number.isSafeInteger(s.id)) return;
    if (this.deviceId && s.deviceId !== this.deviceId) return;
    this.pending.push({ s, highlight });
    schedule(this.renderSoon);
  }

  // An sms-status event: outbound progress (queued, sending, sent, ...).
  // The payload is the whole message, so a message not shown yet (just
  // queued by the send form, here or in another browser) is added.
  status(ev) {
    const r = this.rows.get(ev.id);
    if (!r) {
      if (typeof ev.direction === 'string' && typeof ev.deviceId === 'string') this.add(ev, true);
      return;
    }
    r.sms = Object.assign({}, r.sms, ev);
    this._drawStatus(r);
    flash(r.tr);
  }

  // One message as a list item: a line of facts (time, device and slot,
  // sender or recipient, outbound status) and the text.  Each item is
  // skipped by layout and paint while off screen (content-visibility), so
  // 10,000 loaded messages stay cheap.
  _row(s) {
    const { ms, iso } = smsTime(s);
    const out = s.direction === 'out';
    const meta = el('div', { className: 'sms-meta' },
      el('time', { text: shortTime(ms), attrs: { datetime: iso, title: longTime(ms) } }));
    if (this.showDevice) {
      meta.append(el('a', { href: `#/device/${encodeURIComponent(s.deviceId)}`, text: s.deviceId }));
    }
    if (s.slot) meta.append(el('span', { className: 'muted', text: `slot ${s.slot}` }));
    meta.append(el('span', { className: 'party' },
      el('span', { className: `dir ${out ? 'out' : 'in'}`, text: out ? 'to ' : 'from ' }),
      el('span', { className: 'num', text: (out ? s.to : s.from) || '' })));
    const statusEl = out ? el('span', { className: 'badge sms-status' }) : null;
    if (statusEl) meta.append(statusEl);
    const text = el('p', { className: 'sms-text', text: s.text || '' });
    const tr = el('li', { dataset: { id: String(s.id) }, className: `sms ${out ? 'out' : 'in'}` }, meta, text);
    return { sms: s, tr, statusEl };
  }

  _drawStatus(r) {
    if (r.statusEl === null) return;
    const st = r.sms.direction === 'out' ? r.sms.status || '' : '';
    setText(r.statusEl, st);
    r.statusEl.hidden = st === '';
    r.statusEl.className = `badge sms-status st-${st.replace(/[^a-z]/g, '')}`;
  }

  // Position of ID in this.ids (descending): first index whose id < ID.
  _pos(id) {
    let lo = 0, hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid] > id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  render() {
    const batch = this.pending;
    this.pending = [];
    // Newest first, so a burst is prepended in one fragment.
    batch.sort((a, b) => b.s.id - a.s.id);
    let frag = null;
    const flashes = [];
    for (const { s, highlight } of batch) {
      const old = this.rows.get(s.id);
      if (old) {
        if (s.status && s.status !== old.sms.status) { old.sms = s; this._drawStatus(old); }
        continue;
      }
      // Older than everything shown while more exist on the server: it
      // belongs to a page not loaded; leave it to "Load older messages".
      if (this.hasOlder && this.ids.length >= this.cap && s.id < this.ids[this.ids.length - 1]) continue;
      const r = this._row(s);
      this._drawStatus(r);
      this.rows.set(s.id, r);
      const i = this._pos(s.id);
      if (i === 0) {
        if (frag === null) frag = document.createDocumentFragment();
        frag.append(r.tr);
      } else {
        const next = this.rows.get(this.ids[i]);
        this.body.insertBefore(r.tr, next ? next.tr : null);
      }
      this.ids.splice(i, 0, s.id);
      if (highlight) flashes.push(r.tr);
    }
    if (frag !== null) this.body.prepend(frag);
    // Cap the DOM: drop the oldest rows beyond the cap.
    while (this.ids.length > this.cap) {
      const id = this.ids.pop();
      const r = this.rows.get(id);
      if (r) r.tr.remove();
      this.rows.delete(id);
      this.hasOlder = true;
    }
    for (const tr of flashes) flash(tr);
    this.emptyEl.hidden = !(this.loaded && this.ids.length === 0);
    this.moreBtn.hidden = !this.hasOlder;
  }
}
