// The server's HTTP API (protocol/PROTOCOL.md, "HTTP API"). Errors come back as an Error with
// the server's `code` and message.

async function call(path, init) {
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    const e = new Error('The server cannot be reached. Check your connection and try again.');
    e.code = 'offline';
    throw e;
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error((body && body.error && body.error.message) || `The server answered ${res.status}.`);
    e.code = (body && body.error && body.error.code) || String(res.status);
    throw e;
  }
  return body;
}

/// [{id, title, created, rev}]
export async function listDocuments() {
  return (await call('/api/documents')).documents;
}

/// Creates a document; template 'blank' or 'demo'. Returns {id, title, created, rev}.
export function createDocument(title, template = 'blank') {
  return call('/api/documents', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title, template }),
  });
}
