// What this browser keeps of a document between page loads, in IndexedDB: per (document,
// client id), the last confirmed document and revision, the edits not yet acknowledged by the
// server (in flight and buffered), the last seq used, the edits the server refused and the
// suggestions kept on locked sections (so that their text is never lost), the user's id and
// role. Written whole, before every submission leaves the tab.

const DB = 'jointly';
const STORE = 'pending';
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opening;
}

const keyOf = (doc, client) => `${doc}:${client}`;

function request(mode, run) {
  return open().then((db) => new Promise((resolve, reject) => {
    // 'relaxed': a reload or a crash of the tab keeps the write; only a crash of the whole
    // machine within a second or so could lose it (and what the server acknowledged is safe).
    const tx = db.transaction(STORE, mode, { durability: 'relaxed' });
    const req = run(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}

/// Every record kept for document `doc` (one per client id that edited it in this browser).
export function loadRecords(doc) {
  const range = IDBKeyRange.bound(`${doc}:`, `${doc}:\uffff`);
  return request('readonly', (store) => store.getAll(range));
}

/// Writes the record of (doc, client); resolves once it is written.
export function saveRecord(doc, client, record) {
  return request('readwrite', (store) => store.put(record, keyOf(doc, client)));
}

export function deleteRecord(doc, client) {
  return request('readwrite', (store) => store.delete(keyOf(doc, client)));
}

/// Whether a record holds edits the server has not confirmed, or refused edits or suggestions
/// not dismissed.
export function hasPending(record) {
  return Boolean(record && (record.inflight || record.buffer || (record.rejected && record.rejected.length)
    || (record.suggestions && record.suggestions.length)));
}
