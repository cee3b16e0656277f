/**
 * JSON with every character beyond ASCII written as a \u escape. V8 keeps
 * a string with any such character as two bytes per character and parses
 * it on a slower path; the files read at every start (the start-up data,
 * a context's cached catalog) stay one-byte this way. Same value once parsed.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
