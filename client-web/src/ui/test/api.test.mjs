// Unit tests of src/ui/api.js and the login page's messages, with fetch answered here: a 401
// `unauthenticated` from any call ends the session in the page; a failed login does not, and
// its refusals read in plain words.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import {
  createDocument, getDocument, listDocuments, login, me, onSessionEnded, setPause,
} from '../api.js';
import { loginProblem } from '../login_page.js';

const realFetch = globalThis.fetch;
const calls = [];

// Answers every fetch with status and body (and headers), recording the requests.
function answer(status, body, headers = {}) {
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response(body === null ? null : JSON.stringify(body), {
      status, headers: { 'Content-Type': 'application/json', ...headers },
    });
  };
}

afterEach(() => {
  globalThis.fetch = realFetch;
  calls.length = 0;
  onSessionEnded(() => {});
});

describe('the HTTP API', () => {
  it('ends the session in the page on a 401 unauthenticated from any call', async () => {
    let ended = 0;
    onSessionEnded(() => ended++);
    answer(401, { error: { code: 'unauthenticated', message: 'log in' } });
    await assert.rejects(listDocuments(), { code: 'unauthenticated', status: 401 });
    await assert.rejects(createDocument('Data literacy', 'demo'), { code: 'unauthenticated' });
    assert.equal(ended, 2);
  });

  it('does not end the session for a wrong password, and reads Retry-After', async () => {
    let ended = 0;
    onSessionEnded(() => ended++);
    answer(401, { error: { code: 'invalid_credentials', message: 'no' } });
    await assert.rejects(login('ana@uni-graz.at', 'wrong password'), { code: 'invalid_credentials' });
    answer(429, { error: { code: 'too_many_attempts', message: 'wait' } }, { 'Retry-After': '540' });
    await assert.rejects(login('ana@uni-graz.at', 'wrong password'), { code: 'too_many_attempts', retryAfter: 540 });
    assert.equal(ended, 0);
  });

  it('asks again, after Retry-After, while a cluster node fetches a moved document', async () => {
    const waits = [];
    setPause(async (ms) => { waits.push(ms); });
    const answers = [
      [503, { error: { code: 'document_moved', message: 'fetching' } }, { 'Retry-After': '1' }],
      [503, { error: { code: 'document_moved', message: 'fetching' } }, { 'Retry-After': '2' }],
      [200, { id: 7, title: 'T', created: 1, rev: 3, role: 'editor', snapshot: {} }, {}],
    ];
    globalThis.fetch = async (url, init) => {
      calls.push({ url, init });
      const [status, body, headers] = answers.shift();
      return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
    };
    assert.equal((await getDocument(7)).rev, 3);
    assert.equal(calls.length, 3);
    assert.deepEqual(waits, [1000, 2000]);
    // Another 503 is an error at once.
    waits.length = 0;
    answer(503, { error: { code: 'unhealthy', message: 'disk' } });
    await assert.rejects(getDocument(7), { code: 'unhealthy', status: 503 });
    assert.deepEqual(waits, []);
    setPause((ms) => new Promise((resolve) => { setTimeout(resolve, ms); }));
  });

  it('sends JSON with its content type and no token of its own', async () => {
    answer(201, { id: 3, title: 'T', created: 1, rev: 0, role: 'leader' });
    assert.equal((await createDocument('T', 'blank')).role, 'leader');
    const { url, init } = calls[0];
    assert.equal(url, '/api/documents');
    assert.equal(init.method, 'POST');
    assert.equal(init.headers['Content-Type'], 'application/json');
    assert.deepEqual(JSON.parse(init.body), { title: 'T', template: 'blank' });
    assert.equal(init.credentials, 'same-origin');
    assert.ok(!('Cookie' in init.headers));
  });

  it('answers "who am I" with null when there is no session', async () => {
    answer(401, { error: { code: 'unauthenticated', message: 'log in' } });
    assert.equal(await me(), null);
    answer(200, { user: { id: 1, name: 'Ana Silva' } });
    assert.equal((await me()).name, 'Ana Silva');
  });
});

describe('the login page\'s messages', () => {
  it('says plainly that email and password do not match', () => {
    assert.match(loginProblem({ code: 'invalid_credentials' }), /email and password do not match/);
  });

  it('says how long to wait after too many attempts', () => {
    assert.match(loginProblem({ code: 'too_many_attempts', retryAfter: 540 }), /wait 9 minutes/);
    assert.match(loginProblem({ code: 'too_many_attempts', retryAfter: 30 }), /wait 1 minute and/);
    assert.match(loginProblem({ code: 'too_many_attempts' }), /wait 15 minutes/);
  });
});
