/** A whole number as text: decimal digits, an optional leading minus, no leading zeros ("0" itself is fine). */
const INTEGER_TEXT = /^(0|-?[1-9][0-9]*)$/;
/** A number as text: an integer as above with an optional fraction (digits on both sides of the point). */
const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * Reads a number written as text the strict way both sides share (the
 * port's query and path params, the CLI's typed params): decimal digits
 * only, an optional minus and, for a `number`, a fraction. `0x10`, ` 5`,
 * `+5`, `1e3`, `05`, `.5`, `-0`, `Infinity` and the empty string are not
 * numbers here, and the whole part must be within ±(2^53-1), where every
 * integer is exact. Undefined when the text is not such a number.
 */
export function parseDecimal(text: string, kind: 'integer' | 'number'): number | undefined {
  if (!(kind === 'integer' ? INTEGER_TEXT : NUMBER_TEXT).test(text)) return undefined;
  const n = Number(text);
  if (Object.is(n, -0) || !Number.isSafeInteger(Number(text.split('.')[0]))) return undefined;
  return n;
}
