// The document in the WebSocket URL (protocol/PROTOCOL.md, "The handshake"): a node started
// with --node-id opens only the document of /ws?doc=<id> on a connection (wrong_document for
// any other, and for a URL without a canonical doc); a single node without --node-id opens any
// document, with or without `doc` in the URL (clients from before the cluster).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client, startServer } from '../server/server_harness.mjs';

// Says hello and opens `doc` on a fresh connection to the server's /ws + query, as the demo
// leader; resolves with the answer to open.
async function openVia(server, query, doc) {
  const c = await Client.connect(`${server.ws}${query}`, { headers: server.headers });
  try {
    c.send({ type: 'hello', client: 'c-wsdoc' });
    await c.nextType('welcome');
    c.send({ type: 'open', doc });
    return await c.next((m) => m.type === 'snapshot' || m.type === 'error', 5000, 'the answer to open');
  } finally {
    c.close();
  }
}

describe('a cluster node (--node-id) opens only the document of its URL', () => {
  let server;
  before(async () => { server = await startServer({ args: ['--node-id', 'solo'] }); });
  after(() => server && server.cleanup());

  it('opens the document named in the URL', async () => {
    const m = await openVia(server, '?doc=1', 1);
    assert.equal(m.type, 'snapshot');
  });

  it('refuses another document, and a URL without a canonical doc, with wrong_document', async () => {
    for (const [query, doc] of [['?doc=1', 2], ['', 1], ['?doc=01', 1], ['?doc=1x', 1], ['?doc=', 1],
      ['?doc=9007199254740992', 1], ['?x=1', 1]]) {
      const m = await openVia(server, query, doc);
      assert.equal(m.type, 'error', `${query} open ${doc}`);
      assert.equal(m.code, 'wrong_document', `${query} open ${doc}: ${m.message}`);
      assert.equal(m.in, 'open');
    }
  });

  it('reads doc among other query parameters', async () => {
    const m = await openVia(server, '?v=2&doc=1', 1);
    assert.equal(m.type, 'snapshot');
  });
});

describe('a single node without --node-id opens any document', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(() => server && server.cleanup());

  it('with or without doc in the URL, and another one than the URL names', async () => {
    for (const query of ['', '?doc=1', '?doc=2']) {
      const m = await openVia(server, query, 1);
      assert.equal(m.type, 'snapshot', `${query}: ${m.code || ''} ${m.message || ''}`);
    }
  });
});
