// An independent HTTP/1.1 load generator: its own process, raw keep-alive
// sockets, requests given as bytes prepared (and signed) before the clock
// starts, so what it measures is the server, not a client library or the
// signing. Used by bench/port.mjs; plain JavaScript (no tsx), so it starts
// and runs with as little CPU of its own as node allows.
//
//   node bench/load-gen.mjs CONFIG.json   → one JSON line on stdout
//
// CONFIG: {
//   host, port, connections,
//   seconds,             how long to send
//   rate,                requests/s spread evenly over time (open loop: a
//                        request's latency counts from when it was due, so a
//                        stalled server is not hidden by the generator
//                        waiting for it); 0 or absent = closed loop (each
//                        connection sends its next request when the last one
//                        is answered: saturation)
//   requestsFile,        JSON array of raw requests (strings), each sent once
//   request,             or one raw request sent again and again
//   cycle,               with requestsFile: send the list round and round
//   pids,                processes whose /proc CPU (utime+stime) is read at
//                        the start and the end of the measured window
//   startAt              epoch ms to start at (several generators in step)
// }
import fs from 'node:fs';
import net from 'node:net';
import { procCpuMicros } from './measure.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

const list = cfg.requestsFile ? JSON.parse(fs.readFileSync(cfg.requestsFile, 'utf8')).map((s) => Buffer.from(s, 'latin1')) : undefined;
const single = cfg.request ? Buffer.from(cfg.request, 'latin1') : undefined;
let nextIndex = 0;
// cycle: the list is sent round and round (forged requests, refused before their nonce counts).
const nextRequest = () => (list ? (cfg.cycle ? list[nextIndex++ % list.length] : list[nextIndex++]) : single);
const remaining = () => (list && !cfg.cycle ? list.length - nextIndex : Infinity);

const latencies = [];
const statuses = {};
let errors = 0;
let measuring = false;

/** One keep-alive connection with at most one request in flight; parses just enough HTTP to find each answer's end. */
class Conn {
  constructor(onFree) {
    this.onFree = onFree;
    this.busy = false;
    this.buf = Buffer.alloc(0);
    this.socket = net.connect({ host: cfg.host, port: cfg.port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (d) => this.data(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      if (this.busy) { errors++; this.busy = false; }
      this.dead = true;
    });
  }

  send(bytes, dueAt) {
    this.busy = true;
    this.due = dueAt;
    this.socket.write(bytes);
  }

  data(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const status = Number(head.slice(9, 12));
      let bodyEnd;
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (cl) {
        bodyEnd = end + 4 + Number(cl[1]);
        if (this.buf.length < bodyEnd) return;
      } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        let p = end + 4;
        for (;;) {
          const nl = this.buf.indexOf('\r\n', p);
          if (nl < 0) return;
          const size = parseInt(this.buf.subarray(p, nl).toString('latin1'), 16);
          if (size === 0) {
            if (this.buf.length < nl + 4) return;
            bodyEnd = nl + 4;
            break;
          }
          p = nl + 2 + size + 2;
          if (this.buf.length < p) return;
        }
      } else {
        bodyEnd = end + 4;
      }
      this.buf = this.buf.subarray(bodyEnd);
      if (this.busy) {
        if (measuring) {
          latencies.push(performance.now() - this.due);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
        this.busy = false;
        this.onFree(this);
      }
    }
  }
}

const free = [];
const conns = [];
let stopAt = Infinity;
let queue = 0; // open loop: requests that were due while every connection was busy
const queuedDue = [];

function onFree(c) {
  if (performance.now() >= stopAt) return;
  if (cfg.rate) {
    if (queuedDue.length) {
      const r = nextRequest();
      if (r) c.send(r, queuedDue.shift());
      return;
    }
    free.push(c);
    return;
  }
  const r = nextRequest();
  if (r) c.send(r, performance.now());
}

await new Promise((resolve) => {
  let ready = 0;
  for (let i = 0; i < cfg.connections; i++) {
    const c = new Conn(onFree);
    c.socket.once('connect', () => { if (++ready === cfg.connections) resolve(); });
    conns.push(c);
  }
});
if (cfg.startAt) await new Promise((r) => setTimeout(r, Math.max(0, cfg.startAt - Date.now())));

const pids = cfg.pids ?? [];
const cpu0 = pids.map(procCpuMicros);
const self0 = process.cpuUsage();
const t0 = performance.now();
stopAt = t0 + cfg.seconds * 1000;
measuring = true;

if (cfg.rate) {
  // Open loop: request k is due at t0 + k / rate, whatever the server does.
  const interval = 1000 / cfg.rate;
  for (const c of conns) free.push(c);
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= stopAt) return resolve();
      while (t0 + sent * interval <= now && remaining() > 0) {
        sent++;
        // Timed from now, not from when the request was due: a late timer
        // here is this process being late, not the server. A request that
        // finds every connection busy waits for one, and that wait counts.
        const c = free.pop();
        if (c) c.send(nextRequest(), now);
        else { queuedDue.push(now); queue++; }
      }
      setTimeout(tick, Math.max(0, Math.min(interval, t0 + sent * interval - performance.now())));
    };
    tick();
  });
} else {
  for (const c of conns) onFree(c);
  await new Promise((r) => setTimeout(r, cfg.seconds * 1000));
}
// Answers still in flight at the end are waited for (briefly), not counted as errors.
const deadline = performance.now() + 2000;
while (conns.some((c) => c.busy && !c.dead) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const elapsed = (performance.now() - t0) / 1000;
measuring = false;
const cpu1 = pids.map(procCpuMicros);
const self = process.cpuUsage(self0);
for (const c of conns) c.socket.destroy();

latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
const n = latencies.length;
process.stdout.write(JSON.stringify({
  requests: n,
  statuses,
  errors,
  elapsedSeconds: elapsed,
  rps: n / elapsed,
  p50: pct(50),
  p99: pct(99),
  p999: pct(99.9),
  max: latencies[n - 1] ?? NaN,
  queuedBehindBusyConnections: queue,
  ranOut: list && !cfg.cycle ? remaining() <= 0 : false,
  cpuUs: Object.fromEntries(pids.map((p, i) => [p, cpu1[i] - cpu0[i]])),
  cpuUsPerRequest: Object.fromEntries(pids.map((p, i) => [p, (cpu1[i] - cpu0[i]) / n])),
  generatorCpuUsPerRequest: (self.user + self.system) / n,
}) + '\n');
