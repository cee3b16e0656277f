/**
 * "Did you mean …?" for names the operator typed (flag, task, job, context
 * names), the way commander suggests commands and options: candidates within
 * an edit distance of 40% of the name's length, closest first.
 */

function editDistance(a: string, b: string): number {
  // Damerau–Levenshtein (optimal string alignment): a swapped pair is one edit.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidates close to `typed`, best first (at most `max`). */
export function similar(typed: string, candidates: readonly string[], max = 3): string[] {
  const scored = [...new Set(candidates)]
    .filter((c) => c !== typed)
    .map((c) => ({ c, d: editDistance(typed.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(1, Math.floor(Math.max(typed.length, c.length) * 0.4)) || c.toLowerCase().startsWith(typed.toLowerCase()));
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, max).map(({ c }) => c);
}

/**
 * The hint line: "Did you mean X?" when something is close, else the list
 * of what exists (shortened), else nothing.
 */
export function didYouMean(typed: string, candidates: readonly string[], what: string): string | undefined {
  const close = similar(typed, candidates);
  if (close.length) return `(Did you mean ${close.join(', ')}?)`;
  if (!candidates.length) return undefined;
  const shown = candidates.slice(0, 12);
  return `${what}: ${shown.join(', ')}${candidates.length > shown.length ? `, … (${candidates.length} in all)` : ''}`;
}
