/**
 * How both sides write names and types into refusals, so an operator reads
 * the same style whether the CLI or the server said no: a name the operator
 * typed (flag, task, job, approval, grant, endpoint, command) is in double
 * quotes, `flag "max_page_size"`, and a type takes the article English
 * gives it, `an integer`.
 */

/** A name in double quotes, with JSON escapes so a stray control character stays visible. */
export function quoted(name: string): string {
  return JSON.stringify(name);
}

/** `a boolean`, `an integer`, `an 8-byte answer`: the indefinite article before a word. */
export function withArticle(word: string): string {
  // Vowel sounds by first letter, digits by how they are read (8, 11, 18, 80…).
  const an = /^[aeio]/i.test(word) || /^(8|11|18)(\D|$)|^8\d/.test(word) || /^u(?!ni|s[eu]|ti)/i.test(word);
  return `${an ? 'an' : 'a'} ${word}`;
}
