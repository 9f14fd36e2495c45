// webhooks.js: the Webhooks panel: each endpoint of goip-webhookd with its
// state and lag, from GET /api/webhooks (never a secret), read again every
// few seconds while the fleet view is shown.  Hidden while there is none.

import { el, setText, getJSON } from './util.js';

const REFRESH_MS = 5000;
const STATE_CLASS = { ok: 'st-delivered', failing: 'st-sending', disabled: 'st-failed' };

export class Webhooks {
  constructor({ panel, body }) {
    this.panel = panel;
    this.body = body;
    this.timer = null;
  }

  // start(): read now, then every REFRESH_MS.  A 404 (an older goip-cgi)
  // or any error leaves the panel hidden and tries again later.
  start() {
    const tick = () => {
      this.refresh().catch(() => { this.panel.hidden = true; });
      this.timer = setTimeout(tick, REFRESH_MS);
    };
    tick();
  }

  async refresh() {
    if (document.hidden) return;
    const list = await getJSON('api/webhooks');
    if (!Array.isArray(list)) return;
    this.panel.hidden = list.length === 0;
    this.body.replaceChildren(...list.map((w) => this.row(w)));
  }

  row(w) {
    const lag = w.lagEvents > 0 ? `${w.lagEvents} events, ${w.lagSeconds} s` : 'none';
    const last = w.lastError ? w.lastError : (w.lastStatus ? `HTTP ${w.lastStatus}` : '–');
    const state = el('span', { className: `badge ${STATE_CLASS[w.state] || ''}` });
    setText(state, w.state);
    return el('tr', null,
      el('td', { text: String(w.id) }),
      el('td', { className: 'wh-url', text: w.url, attrs: { title: w.events } }),
      el('td', null, state),
      el('td', { text: lag }),
      el('td', { text: String(w.delivered) }),
      el('td', { text: last }));
  }
}
