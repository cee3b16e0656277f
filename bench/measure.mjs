// What the bench parts share: medians and percentiles, a process's CPU from
// /proc, how fast node starts right now, raw HTTP/1.1 requests, the bare
// node:http floor servers and the independent load generator's process.
// One copy, so every part measures the same way.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on Linux). */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Median of the finite values; NaN when there are none. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile of an already sorted array. */
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** utime + stime of a process in µs (Linux /proc); NaN once it is gone. */
export function procCpuMicros(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
  } catch {
    return NaN;
  }
}

/** Median wall time of `node -e 0`, ms: how fast this machine is right now. */
export function nodeStartMs(runs = 5) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** A raw HTTP/1.1 request. */
export function rawRequest(method, target, headers, host) {
  let s = `${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

/** A node:http server answering `body` to everything; with `verify`, one Ed25519 verify per request first. */
export function startBare(body, verify) {
  const src = `const http=require('node:http');const c=require('node:crypto');const b=Buffer.from(process.argv[1]);` +
    `const v=process.argv[2]?JSON.parse(process.argv[2]):null;` +
    `const k=v&&c.createPublicKey({key:Buffer.from(v.spki,'base64'),format:'der',type:'spki'});const m=v&&Buffer.from(v.msg,'base64');const s_=v&&Buffer.from(v.sig,'base64');` +
    `const s=http.createServer((q,r)=>{if(v&&!c.verify(null,m,k,s_))throw new Error('bad');r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)});` +
    `s.keepAliveTimeout=5000;s.listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))`;
  const proc = spawn(process.execPath, ['-e', src, body, ...(verify ? [JSON.stringify(verify)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8').once('data', (d) => resolve({ port: Number(d.trim()), pid: proc.pid, stop: () => { proc.kill('SIGTERM'); } }));
    proc.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
}

/** Runs bench/load-gen.mjs (its own process) with `cfg`, through a file in `tmp`; resolves its JSON result. */
export function loadGen(cfg, tmp) {
  const file = path.join(tmp, `load-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(root, 'bench/load-gen.mjs'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.once('exit', (code) => {
      fs.rmSync(file, { force: true });
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      resolve(JSON.parse(out));
    });
  });
}
