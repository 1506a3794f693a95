// The tab's one WebSocket to the server's /ws?doc=<id> (protocol/PROTOCOL.md, "WebSocket protocol"):
// says hello, hands each document's messages to whoever opened it, and reconnects with a
// growing pause (0.5 s doubling to 15 s, with jitter) whenever the connection is lost, at once
// when the browser says it is back online. Who is on the connection comes from the session
// cookie the browser sends with the upgrade; when the session ends the server closes the socket
// with 1008 `session_ended` (or refuses the upgrade, which the browser shows only as a close
// before any message): the connection then stops and says so, and nothing is retried.

/// The WebSocket URL for document `doc` on the server that served this page (`loc`:
/// window.location): `ws[s]://host/ws?doc=<id>`. The document in the URL lets a proxy in front
/// of a cluster route the socket to the node that holds the document (deploy/README.md,
/// "Scale-out"); such a node opens only that document on the socket.
export function documentSocketUrl(loc, doc) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws?doc=${encodeURIComponent(String(doc))}`;
}

/// Connection states, as shown to the user.
export const State = Object.freeze({
  connecting: 'connecting', connected: 'connected', reconnecting: 'reconnecting', offline: 'offline',
});

export class Connection {
  /// @param {object} config
  /// @param {string} config.url the WebSocket URL
  /// @param {string} config.client this tab's client id, said in `hello`
  /// @param {(state: string, detail: string) => void} [config.onState]
  /// @param {() => void} [config.onSessionEnded] the server closed the socket because the
  ///   session ended (logout, expiry): log in again
  /// @param {() => void} [config.onRefused] a connection closed before the server said
  ///   `welcome` (the upgrade may have been refused for want of a session): check the session
  constructor(config) {
    this.url = config.url;
    this.client = config.client;
    this.onState = config.onState || (() => {});
    this.onSessionEnded = config.onSessionEnded || (() => {});
    this.onRefused = config.onRefused || (() => {});
    this.handlers = new Map(); // doc id -> {onOpen(), onMessage(m), onClose(code)}
    this.ws = null;
    this.ready = false; // hello said and welcome received
    this.everConnected = false;
    this.attempt = 0;
    this.timer = null;
    this.state = State.connecting;
    this.detail = '';
    this.stopped = false;
    window.addEventListener('online', () => this.retryNow());
    window.addEventListener('offline', () => { if (this.ws) this.ws.close(); this.setState(State.offline, ''); });
    this.connect();
  }

  /// Routes the messages of document `doc` to handler (replacing any earlier one); calls
  /// handler.onOpen() now if connected and after every reconnect.
  register(doc, handler) {
    this.handlers.set(doc, handler);
    if (this.ready) handler.onOpen();
  }

  unregister(doc) {
    this.handlers.delete(doc);
  }

  /// Sends a message now; false when not connected (the caller keeps what it must resend).
  send(message) {
    if (!this.ready || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  setState(state, detail) {
    this.state = state;
    this.detail = detail;
    this.onState(state, detail);
  }

  connect() {
    this.timer = null;
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setState(State.offline, '');
      return;
    }
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    // batch: this client takes several messages of a document in one frame (PROTOCOL.md).
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', client: this.client, batch: true }));
    ws.onmessage = (event) => {
      let m;
      try { m = JSON.parse(event.data); } catch { return; }
      if (m?.type === 'batch' && Array.isArray(m.messages)) {
        for (const inner of m.messages) this.dispatch(inner);
        return;
      }
      this.dispatch(m);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasReady = this.ready;
      this.ready = false;
      for (const h of this.handlers.values()) h.onClose(event.code);
      if (event.code === 1008 && event.reason === 'session_ended') {
        this.close();
        this.onSessionEnded();
        return;
      }
      if (wasReady) this.attempt = 0;
      else this.onRefused();
      this.scheduleRetry(event.code);
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  /// One server message (a `batch`'s each, in order): the welcome, or a document's message
  /// for whoever opened that document.
  dispatch(m) {
    if (m === null || typeof m !== 'object') return;
    if (m.type === 'welcome') {
      this.ready = true;
      this.everConnected = true;
      this.attempt = 0;
      this.setState(State.connected, '');
      for (const h of this.handlers.values()) h.onOpen();
      return;
    }
    if (m.type === 'error' && m.doc === undefined) {
      console.warn('jointly: the server refused a message:', m.code, m.message);
      return;
    }
    const h = this.handlers.get(m.doc);
    if (h) h.onMessage(m);
  }

  scheduleRetry(code) {
    if (this.stopped || this.timer) return;
    if (!navigator.onLine) {
      this.setState(State.offline, '');
      return;
    }
    // After a policy close (1008: too many messages) wait longer before trying again.
    const base = code === 1008 ? 5000 : 500;
    const pause = Math.min(15000, base * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt++;
    this.setState(this.everConnected ? State.reconnecting : State.connecting, `next try in ${Math.ceil(pause / 1000)} s`);
    this.timer = setTimeout(() => this.connect(), pause);
  }

  /// Drops a connection that looks dead (no answer for too long) and connects again; what was
  /// in flight is resubmitted, and the server answers a duplicate with its original ack.
  reset() {
    if (this.ws) this.ws.close(4000, 'no answer');
  }

  /// Tries to connect at once (the browser is back online, or the user asked).
  retryNow() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }
}
