/** How deep objects and arrays may nest in a request body. No Opsflow input needs more than a handful of levels. */
export const MAX_JSON_DEPTH = 32;

/** What a refusal says about a value nested deeper than that, wherever it came in (a body, a form field). */
export const TOO_DEEP_MESSAGE = `objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]

/**
 * Whether JSON text nests objects/arrays deeper than `limit`, found by one pass over the bytes with a counter, so a
 * 20,000-deep body is refused before any recursive code (JSON.parse's consumers, zod, Prisma) can overflow the
 * stack on it. Works on UTF-8 bytes: the structural characters are ASCII and never occur inside a multi-byte
 * sequence. Malformed text is left to JSON.parse to refuse.
 */
export function exceedsJsonDepth(text: Uint8Array | string, limit = MAX_JSON_DEPTH): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const byte of bytes) {
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (OPENERS.has(byte)) {
      depth += 1;
      if (depth > limit) return true;
    } else if (CLOSERS.has(byte)) depth -= 1;
  }
  return false;
}
