// Errors of the document core: a stable machine `code` (the same codes as the C++ protocol core,
// protocol/PROTOCOL.md) and a message in plain words with the numbers in it.

/// An operation, document or request that the core refuses. Programs match on `code`
/// (`invalid_op`, `invalid_utf8`, `invalid_document`, `out_of_range`, `unknown_section`,
/// `section_exists`, `section_removed`, `section_not_removed`, `section_locked`,
/// `section_not_locked`); `message` is for people.
export class OpError extends Error {
  /// @param {string} code
  /// @param {string} message
  constructor(code, message) {
    super(message);
    this.name = 'OpError';
    this.code = code;
  }
}

/// Throws an OpError with this code and message.
export function fail(code, message) {
  throw new OpError(code, message);
}

/// The same error with `where: ` in front of its message (and, when given, another code).
export function prefixed(err, where, code) {
  if (!(err instanceof OpError)) throw err;
  return new OpError(code || err.code, `${where}: ${err.message}`);
}
