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

/// Colours for the people present, all different while there are no more people than colours:
/// each takes its own colour, or the next free one, in client id order (so every screen that
/// sees the same people gives them the same colours). Returns a Map client -> colour.
export function colorsFor(clients) {
  const out = new Map();
  const used = new Set();
  for (const client of [...new Set(clients)].sort()) {
    let i = PALETTE.indexOf(colorOf(client));
    for (let k = 0; k < PALETTE.length && used.has(PALETTE[i]); k++) i = (i + 1) % PALETTE.length;
    used.add(PALETTE[i]);
    out.set(client, PALETTE[i]);
  }
  return out;
}
