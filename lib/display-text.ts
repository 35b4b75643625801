/**
 * Text a requester typed, made safe to show to approvers (pages and e-mails). Escaping stops markup; this stops
 * characters that make text read differently from what it is:
 * - bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what follows, so
 *   "Invoice [RLO]RUE 0001" reads as an amount it is not. They are shown as a visible `[U+202E]` marker, so an
 *   approver sees that something was hidden there;
 * - invisible characters (zero-width space, LRM/RLM/ALM marks, word joiner, invisible operators, BOM, soft hyphen,
 *   Hangul fillers, tag characters) make two different strings look alike, or hide text. They are removed.
 *   A zero-width joiner between two emoji (family and profession emoji) is kept; anywhere else it is removed.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
const INVISIBLES = /[\u00AD\u061C\u115F\u1160\u180E\u200B\u200C\u200E\u200F\u2060-\u2064\u3164\uFEFF\uFFA0]|[\u{E0000}-\u{E007F}]/gu;
const STRAY_ZERO_WIDTH_JOINER = /(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})/gu;

export function normaliseForDisplay(value: string): string {
  return value
    .replace(BIDI_CONTROLS, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase()}]`)
    .replace(INVISIBLES, '')
    .replace(STRAY_ZERO_WIDTH_JOINER, '');
}
