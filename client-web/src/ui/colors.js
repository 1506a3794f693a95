// A colour per person, stable for a client id: dark enough for white text on it and for a
// cursor line on white (contrast at least 4.5:1 against white).

const PALETTE = ['#b3261e', '#1a5fb4', '#26734d', '#8a4baf', '#a34f00', '#0b6e79', '#b0306a', '#5c5c00', '#4b5bb3', '#3d3846'];

/// The colour of a client id.
export function colorOf(client) {
  let h = 2166136261;
  for (let i = 0; i < client.length; i++) {
    h ^= client.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length];
}
