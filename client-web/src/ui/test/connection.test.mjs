// Unit tests of src/ui/connection.js: the document's WebSocket URL (the proxy in front of a
// cluster routes by the `doc` in it; deploy/README.md, "Scale-out"), and the hello and message
// routing over a fake WebSocket.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Connection, documentSocketUrl } from '../connection.js';

describe('documentSocketUrl', () => {
  it('names the document in the query, on the page\'s own host', () => {
    assert.equal(documentSocketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 42), 'ws://127.0.0.1:8080/ws?doc=42');
  });

  it('uses wss for a page served over TLS, and keeps a large id exact', () => {
    assert.equal(documentSocketUrl({ protocol: 'https:', host: 'jointly.example.edu' }, 2 ** 53 - 1),
      'wss://jointly.example.edu/ws?doc=9007199254740991');
  });
});

// Just enough of the browser for Connection: window's events, navigator.onLine and a WebSocket
// that records what is sent and lets the test deliver frames.
function fakeBrowser() {
  const sockets = [];
  class FakeSocket {
    static OPEN = 1;
    constructor(url) { this.url = url; this.sent = []; this.readyState = 0; sockets.push(this); }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() {}
    open() { this.readyState = 1; this.onopen(); }
    frame(message) { this.onmessage({ data: JSON.stringify(message) }); }
  }
  globalThis.window = { addEventListener() {} };
  globalThis.navigator = { onLine: true };
  globalThis.WebSocket = FakeSocket;
  return sockets;
}

describe('Connection', () => {
  it('says hello asking for batches, and hands each message of a batch on in order', () => {
    const sockets = fakeBrowser();
    const c = new Connection({ url: 'ws://127.0.0.1/ws?doc=7', client: 'c-1' });
    const ws = sockets[0];
    ws.open();
    assert.deepEqual(ws.sent, [{ type: 'hello', client: 'c-1', batch: true }]);
    const got = [];
    c.register(7, { onOpen: () => got.push('open'), onMessage: (m) => got.push(m), onClose() {} });
    c.register(8, { onOpen() {}, onMessage: () => got.push('wrong document'), onClose() {} });
    ws.frame({ type: 'welcome', connection: '1', server: 'jointly', limits: {} });
    const op = { type: 'op', doc: 7, rev: 4, op: [], client: 'c-2', seq: 1 };
    const ack = { type: 'ack', doc: 7, seq: 3, rev: 5 };
    ws.frame({ type: 'batch', doc: 7, messages: [op, ack] });
    ws.frame(null); // not an object: ignored, as any frame that is not a message
    ws.frame({ type: 'batch', doc: 7, messages: [null, 3] });
    ws.frame({ type: 'presence', doc: 7, client: 'c-2', cursor: null });
    assert.deepEqual(got.slice(1), [op, ack, { type: 'presence', doc: 7, client: 'c-2', cursor: null }]);
    // Open once, for the welcome (the second handler's open does not count here).
    assert.equal(got.filter((g) => g === 'open').length, 1);
    c.close();
  });
});
