// The pages of the client and their addresses (the part of the URL after #). No DOM.
//
//   #                      the document list (and "new document")
//   #doc=ID                a document
//   #members=ID            a document's team: members, roles, invite links
//   #/invite/TOKEN         accepts an invite (after logging in), then opens its document
//
// The login page has no address: it is shown over whatever page was asked for, which is opened
// once the user has logged in.

/// Characters an invite token may have (the server makes 43 of base64url; up to 128 accepted).
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/// The page an address names: {page: 'list'} | {page: 'doc', doc} | {page: 'members', doc} |
/// {page: 'invite', token} | {page: 'section', section} (a link to a section of the open
/// document) | {page: 'unknown'}.
export function parseRoute(hash) {
  const h = String(hash || '').replace(/^#/, '');
  if (h === '' || h === '/') return { page: 'list' };
  let m = /^doc=([1-9]\d{0,15})$/.exec(h);
  if (m && Number.isSafeInteger(Number(m[1]))) return { page: 'doc', doc: Number(m[1]) };
  m = /^members=([1-9]\d{0,15})$/.exec(h);
  if (m && Number.isSafeInteger(Number(m[1]))) return { page: 'members', doc: Number(m[1]) };
  m = /^\/invite\/([^/?#]*)$/.exec(h);
  if (m) return TOKEN.test(m[1]) ? { page: 'invite', token: m[1] } : { page: 'unknown' };
  m = /^s-([A-Za-z0-9_-]{1,64})$/.exec(h);
  if (m) return { page: 'section', section: m[1] };
  return { page: 'unknown' };
}

/// The address of a page (the inverse of parseRoute).
export function routeHash(route) {
  switch (route.page) {
    case 'doc': return `#doc=${route.doc}`;
    case 'members': return `#members=${route.doc}`;
    case 'invite': return `#/invite/${route.token}`;
    case 'section': return `#s-${route.section}`;
    default: return '#';
  }
}

/// The full link of an invite, from the server's `url` ("/#/invite/<token>") and this page's
/// origin.
export function inviteLink(origin, token) {
  return `${origin}/${routeHash({ page: 'invite', token })}`;
}
