// Unit tests of src/ui/routes.js: the pages' addresses, the invite route above all.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { inviteLink, parseRoute, routeHash } from '../routes.js';

const TOKEN = 'q8Zr0xT1-_yKpLm3NbV2cXw9sDfGhJkL4aE5uI6oP7w'; // 43 characters of base64url

describe('routes', () => {
  it('reads an invite link', () => {
    assert.deepEqual(parseRoute(`#/invite/${TOKEN}`), { page: 'invite', token: TOKEN });
  });

  it('refuses invite tokens with other characters, too short or empty', () => {
    for (const bad of ['#/invite/', '#/invite/abc', `#/invite/${TOKEN}/x`, `#/invite/${TOKEN.slice(0, 20)}%2F..`,
      `#/invite/${TOKEN}?x=1`, `#/invite/${'a'.repeat(129)}`]) {
      assert.deepEqual(parseRoute(bad), { page: 'unknown' }, bad);
    }
  });

  it('reads the list, a document, its members page and a section link', () => {
    assert.deepEqual(parseRoute(''), { page: 'list' });
    assert.deepEqual(parseRoute('#'), { page: 'list' });
    assert.deepEqual(parseRoute('#doc=12'), { page: 'doc', doc: 12 });
    assert.deepEqual(parseRoute('#members=3'), { page: 'members', doc: 3 });
    assert.deepEqual(parseRoute('#s-Ab_9'), { page: 'section', section: 'Ab_9' });
    assert.deepEqual(parseRoute('#doc=0'), { page: 'unknown' });
    assert.deepEqual(parseRoute('#doc=99999999999999999'), { page: 'unknown' });
  });

  it('writes the addresses it reads', () => {
    for (const r of [{ page: 'list' }, { page: 'doc', doc: 7 }, { page: 'members', doc: 7 }, { page: 'invite', token: TOKEN }]) {
      assert.deepEqual(parseRoute(routeHash(r)), r);
    }
    assert.equal(inviteLink('https://jointly.example.edu', TOKEN), `https://jointly.example.edu/#/invite/${TOKEN}`);
  });
});
