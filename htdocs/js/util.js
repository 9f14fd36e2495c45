// util.js: small DOM, time and HTTP helpers shared by the dashboard modules.
//
// Every text that comes from a device or an SMS sender goes into the page
// through el()/setText(), that is through textContent: the page never parses
// data as HTML.

// el(tag, props, ...children): create an element.  props may hold className,
// text (set as textContent), attrs (an object of attributes), dataset and
// event handlers as on<name>.  Children are nodes or strings (text nodes).
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'className') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'attrs') {
        for (const [a, av] of Object.entries(v)) {
          if (av !== undefined && av !== null && av !== false) e.setAttribute(a, av === true ? '' : String(av));
        }
      } else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e[k] = v;
    }
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

// setText(node, value): set textContent only when it changes (cheap no-op
// updates keep 1,000-row refreshes from touching the layout).
export function setText(node, value) {
  const s = value === undefined || value === null ? '' : String(value);
  if (node.textContent !== s) node.textContent = s;
}

// Parse an RFC 3339 time into milliseconds, or NaN.
export function parseTime(s) {
  if (!s) return NaN;
  return Date.parse(s);
}

// relTime(ms, now): "just now", "12 s ago", "3 min ago", "2 h ago", "5 d ago".
export function relTime(ms, now) {
  if (!Number.isFinite(ms)) return 'never';
  let d = Math.round((now - ms) / 1000);
  if (d < 0) d = 0;
  if (d < 5) return 'just now';
  if (d < 60) return `${d} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86400)} d ago`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});
const dateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

// shortTime(ms): the clock time for today, date and time otherwise.
export function shortTime(ms) {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeFmt.format(d);
  return `${dateFmt.format(d)} ${timeFmt.format(d)}`;
}

export function longTime(ms) {
  return Number.isFinite(ms) ? dateTimeFmt.format(new Date(ms)) : '';
}

// duration(seconds): "3 d 4 h", "5 h 12 min", "42 s".
export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

// pct(v): "87%" or "–" for null.
export function pct(v) {
  return v === null || v === undefined ? '–' : `${v}%`;
}

// signalBars(v): 0..4 bars for a 0..100 signal, -1 for unknown.
export function signalBars(v) {
  if (v === null || v === undefined) return -1;
  if (v <= 0) return 0;
  return Math.min(4, Math.ceil(v / 25));
}

export class HttpError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}${body && body.error ? `: ${body.error}` : ''}`);
    this.status = status;
    this.body = body;
  }
}

// apiURL(path): PATH ("/api/...") on this page's origin.  Never relative to
// the page's URL: opened as http://user:pass@host/, that URL carries the
// credentials, and browsers refuse to fetch a URL that does; location.origin
// never has them (the browser sends them itself, it has them cached).
export function apiURL(path) {
  return new URL(path, window.location.origin).href;
}

// getJSON(url, opts): fetch a same-origin JSON resource; throws HttpError on
// a non-2xx answer and TypeError on a network failure.  opts.signal aborts.
export async function getJSON(url, opts = {}) {
  const r = await fetch(apiURL(url), {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
    signal: opts.signal,
  });
  let body = null;
  const ct = r.headers.get('Content-Type') || '';
  if (ct.includes('json')) body = await r.json().catch(() => null);
  else await r.text().catch(() => '');
  if (!r.ok) throw new HttpError(r.status, body);
  return body;
}

// postJSON(url, data, headers): POST a JSON body, same rules as getJSON.
export async function postJSON(url, data, headers = {}) {
  const r = await fetch(apiURL(url), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify(data),
  });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new HttpError(r.status, body);
  return body;
}

// Frame batching: schedule(fn) runs fn once in the next animation frame, so
// bursts of events touch the DOM once per frame.  Hidden tabs get no frames;
// a timer takes over so state still converges while the tab is hidden.
const pending = new Set();
let frameRequested = false;
function flush() {
  frameRequested = false;
  const fns = [...pending];
  pending.clear();
  for (const fn of fns) {
    try { fn(); } catch (e) { console.warn('dashboard: render failed', e); }
  }
}
export function schedule(fn) {
  pending.add(fn);
  if (frameRequested) return;
  frameRequested = true;
  if (document.hidden) setTimeout(flush, 250);
  else requestAnimationFrame(flush);
}

// flash(node): a brief highlight of an updated row or card.
let flashColor = null;
export function flash(node) {
  if (!node || typeof node.animate !== 'function') return;
  if (flashColor === null) {
    flashColor = getComputedStyle(document.documentElement)
      .getPropertyValue('--flash').trim() || 'rgb(255, 236, 153)';
  }
  node.animate(
    [{ backgroundColor: flashColor }, { backgroundColor: 'transparent' }],
    { duration: 1200, easing: 'ease-out' },
  );
}
