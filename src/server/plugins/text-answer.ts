const TEXT = Symbol.for('opsctl.textAnswer');

/** A plain-text answer of a service's own endpoint (see textAnswer). */
export interface TextAnswer {
  readonly [TEXT]: true;
  readonly text: string;
}

/**
 * Makes a custom endpoint's handler answer `text/plain; charset=utf-8`
 * instead of JSON: `return textAnswer(output)`. For endpoints whose answer
 * is text by nature (a command's output, an upstream's plain-text reply),
 * so a client shows it as it is rather than as a quoted JSON string.
 */
export function textAnswer(text: string): TextAnswer {
  return { [TEXT]: true, text: String(text) };
}

export function isTextAnswer(v: unknown): v is TextAnswer {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TEXT] === true;
}
