// live.js: the dashboard's real-time connection.
//
// One Socket.IO connection to goip-notifier (path /api/socket/io/).  Every
// event payload carries "eventId", the event log id; the highest id seen is
// the cursor.  The CONNECT auth is a function, so socket.io-client re-reads it
// on every reconnect and the notifier replays what the page missed
// ({lastEventId: N}).  Events at or below the cursor are dropped, so an event
// replayed twice (a reconnect, a device room joined after the dashboard room,
// a poll racing the socket) is applied once.
//
// While the socket is down the page falls back to polling: the JSON long-poll
// GET /api/events?since=N&wait=25 when the notifier answers it, else the
// REST routes (the caller's reload hook) every few seconds.  Polling stops
// the moment the socket is back.

import { getJSON } from './util.js';

export const STATE_TEXT = {
  connected: 'Real-time Connected',
  connecting: 'Connecting...',
  error: 'Connection Error',
};

const EVENTS = [
  'device-heartbeat',
  'device-status-change',
  'sms-received',
  'sms-status',
  'stats-update',
  'ussd-reply',
];

const LONG_POLL_WAIT = 25; // seconds, as DESIGN.md section 5 suggests
const REST_POLL_MS = 3000; // REST fallback period while the notifier is away
const RETRY_MS = 2000; // pause after a failed long-poll

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

export class Live {
  // hooks: onEvent(name, data, via), onState(state), onPolling(bool),
  // onReload(why) -> Promise (reload state from REST; why is "resync",
  // "catch-up" or "poll").
  constructor(hooks) {
    this.hooks = hooks;
    this.lastEventId = null;
    this.state = 'connecting';
    this.polling = false;
    this.pollAbort = null;
    this.device = null;
    this.socket = null;
    this.needCatchup = false;
    this.stats = { socket: 0, poll: 0, dropped: 0, resyncs: 0 };
  }

  start() {
    if (typeof window.io !== 'function') {
      // socket.io-client did not load (vendor/ missing or blocked): poll.
      console.warn('dashboard: socket.io-client is not loaded; polling only');
      this._setState('error');
      this._startPolling();
      return;
    }
    const socket = window.io({
      path: '/api/socket/io/',
      auth: (cb) => cb(this.lastEventId === null ? {} : { lastEventId: this.lastEventId }),
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    this.socket = socket;

    socket.on('connect', () => {
      this.needCatchup = this.lastEventId === null;
      this._setState('connected');
      this._stopPolling();
      socket.emit('join-dashboard');
      if (this.device !== null) socket.emit('join-device-room', this.device);
    });
    socket.on('disconnect', (reason) => {
      this._setState('connecting');
      this._startPolling();
      // A disconnect by the server is not retried by the client itself.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      console.info('dashboard: real-time connection failed:', err && err.message);
      this._setState('error');
      this._startPolling();
      // A refusal of the CONNECT itself (not a transport error) stops the
      // client's own retries; retry slowly.
      if (!socket.active) setTimeout(() => { if (!socket.connected) socket.connect(); }, 5000);
    });
    socket.io.on('reconnect_attempt', () => {
      if (this.state !== 'error') this._setState('connecting');
    });
    socket.on('resync', (data) => {
      console.info('dashboard: resync requested', data);
      this.stats.resyncs++;
      this.hooks.onReload('resync').catch(() => {});
    });
    for (const name of EVENTS) socket.on(name, (data) => this._ingest(name, data, 'socket'));
  }

  // The device page's room: joined now if connected, and on every connect.
  joinDevice(id) {
    this.device = id;
    if (this.socket && this.socket.connected) this.socket.emit('join-device-room', id);
  }

  leaveDevice(id) {
    if (this.device === id) this.device = null;
    if (this.socket && this.socket.connected) this.socket.emit('leave-device-room', id);
  }

  // Apply one event unless it was seen already.  stats-update carries the
  // last event id the notifier ingested: it moves the cursor but is never
  // dropped (it may repeat the id of the event before it).
  _ingest(name, data, via) {
    if (data === null || typeof data !== 'object') return;
    const id = Number(data.eventId);
    const known = Number.isSafeInteger(id) && id >= 0;
    if (name === 'stats-update') {
      if (known && (this.lastEventId === null || id > this.lastEventId)) this.lastEventId = id;
      this.hooks.onEvent(name, data, via);
      if (this.needCatchup && via === 'socket') {
        // First contact without a cursor: the state loaded before the
        // room was joined may miss events; load it again once.
        this.needCatchup = false;
        this.hooks.onReload('catch-up').catch(() => {});
      }
      return;
    }
    if (known) {
      if (this.lastEventId !== null && id <= this.lastEventId) {
        this.stats.dropped++;
        return;
      }
      this.lastEventId = id;
    }
    this.stats[via]++;
    this.hooks.onEvent(name, data, via);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.hooks.onState(state);
  }

  _startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.pollAbort = new AbortController();
    this.hooks.onPolling(true);
    this._pollLoop(this.pollAbort.signal);
  }

  _stopPolling() {
    if (!this.polling) return;
    this.polling = false;
    this.pollAbort.abort();
    this.pollAbort = null;
    this.hooks.onPolling(false);
  }

  async _pollLoop(signal) {
    // Give a quick reconnect the chance to make polling unnecessary.
    await sleep(1000, signal);
    while (!signal.aborted) {
      // Without a cursor (the socket never connected) the state comes from
      // REST first; a long-poll without "since" then waits for the next
      // event, whose id becomes the cursor.
      const cursor = this.lastEventId;
      if (cursor === null) {
        try {
          await this.hooks.onReload('poll');
        } catch (e) {
          await sleep(REST_POLL_MS, signal);
          continue;
        }
      }
      try {
        const q = cursor === null ? '' : `since=${cursor}&`;
        const events = await getJSON(`/api/events?${q}wait=${LONG_POLL_WAIT}`, { signal });
        if (signal.aborted) break;
        if (Array.isArray(events)) {
          // Event ids have no holes (INTEGER PRIMARY KEY: an id is the
          // previous MAX(id) + 1, taken inside the writer's transaction and
          // never reused, since a prune keeps the newest event) except where
          // the log was pruned: a first id past the cursor + 1 is the
          // long-poll's "resync".
          if (cursor !== null && events.length > 0 && Number(events[0].eventId) > cursor + 1) {
            console.info('dashboard: events after', cursor, 'were pruned; reloading');
            this.stats.resyncs++;
            this.hooks.onReload('resync').catch(() => {});
          }
          for (const ev of events) {
            if (!ev || typeof ev.event !== 'string') continue;
            const data = Object.assign({}, ev.data, { eventId: ev.eventId });
            this._ingest(ev.event, data, 'poll');
          }
          if (events.length > 0) {
            this.hooks.onPolled();
            // The first cursor: events between the REST answer and the
            // long-poll may be missing; read the state once more.
            if (cursor === null && this.lastEventId !== null) this.hooks.onReload('catch-up').catch(() => {});
          }
        }
        continue;
      } catch (e) {
        if (signal.aborted) break;
        // The notifier (which serves /api/events too) is away: use REST.
      }
      if (cursor !== null) {
        try {
          await this.hooks.onReload('poll');
        } catch (e) {
          // The REST routes failed as well; try again later.
        }
      }
      await sleep(cursor !== null ? RETRY_MS : REST_POLL_MS, signal);
    }
  }
}
