// Unit tests of src/ui/connection.js: the document's WebSocket URL (the proxy in front of a
// cluster routes by the `doc` in it; deploy/README.md, "Scale-out").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { documentSocketUrl } from '../connection.js';

describe('documentSocketUrl', () => {
  it('names the document in the query, on the page\'s own host', () => {
    assert.equal(documentSocketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 42), 'ws://127.0.0.1:8080/ws?doc=42');
  });

  it('uses wss for a page served over TLS, and keeps a large id exact', () => {
    assert.equal(documentSocketUrl({ protocol: 'https:', host: 'jointly.example.edu' }, 2 ** 53 - 1),
      'wss://jointly.example.edu/ws?doc=9007199254740991');
  });
});
