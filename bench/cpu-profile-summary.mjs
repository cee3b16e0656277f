// Self time of a V8 .cpuprofile (node --cpu-prof), by function and by file:
//   node bench/cpu-profile-summary.mjs FILE.cpuprofile [--top N]
// Also used by port-throughput.mjs --cpu-prof to print where the demo
// service's CPU went while it was under the signed load.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** { totalMs, byFunction: [{name, file, ms, pct}], byFile: [{file, ms, pct}] }, biggest first. */
export function summariseProfile(file) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i]; attribute it to that sample's node.
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const byFile = new Map();
  for (const [id, us] of self) {
    const cf = nodes.get(id).callFrame;
    const f = shortFile(cf.url);
    const name = `${cf.functionName || '(anonymous)'} ${f}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / total }));
  return { totalMs: total / 1000, byFunction: rows(fn), byFile: rows(byFile) };
}

function shortFile(url) {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  if (u.startsWith('node:')) return u;
  const d = u.indexOf('/dist/');
  return d >= 0 ? u.slice(d + 1) : u;
}

export function formatSummary(s, top = 25) {
  const line = (r) => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`;
  return [
    `self time, ${s.totalMs.toFixed(0)} ms sampled; by function:`,
    ...s.byFunction.slice(0, top).map(line),
    'by file:',
    ...s.byFile.slice(0, Math.ceil(top / 2)).map(line),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--top');
  process.stdout.write(formatSummary(summariseProfile(process.argv[2]), i >= 0 ? Number(process.argv[i + 1]) : 25) + '\n');
}
