/**
 * `npm run demo -- --sidecar`: the example Python shop
 * (examples/sidecar/python-app: alembic migrations, a maintenance command,
 * flags read over OFREP) and opsctl-port beside it, as child processes in
 * the demo's temp dir. The shop knows nothing of opsctl; opsctl-port's
 * internal port is what the tour reaches through the SSH route.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { HostPort, ServiceProcess } from './service-process.js';
import type { Workspace } from './workspace.js';

/** Debian's python3, which has python3-alembic (docs/sidecar.md). */
export const DEMO_PYTHON = '/usr/bin/python3';

/** Why the sidecar demo cannot run here, or undefined when it can. */
export function sidecarDemoMissing(): string | undefined {
  if (!fs.existsSync(DEMO_PYTHON)) return `${DEMO_PYTHON} is missing (apt-get install python3 python3-alembic)`;
  if (spawnSync(DEMO_PYTHON, ['-m', 'alembic', '--version'], { stdio: 'ignore' }).status !== 0) return `${DEMO_PYTHON} has no alembic (apt-get install python3-alembic)`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await exited(child, 10_000))) {
    child.kill('SIGKILL');
    await exited(child, 2000);
  }
}

/** Waits for a line of a child's output (its log file) matching `re`. */
async function waitForLine(child: ChildProcess, file: string, re: RegExp, what: string, ms = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = fs.existsSync(file) ? re.exec(fs.readFileSync(file, 'utf8')) : null;
    if (m) return m;
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} (see ${file})`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${ms / 1000} s (see ${file})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SidecarDemo extends ServiceProcess {
  /** The shop's directory in the workspace (its database is var/app.db). */
  dir: string;
  /** Where the shop reads its flags (OFREP), or undefined when this build serves none. */
  ofrep: HostPort | undefined;
}

export async function startSidecarDemo(o: { root: string; ws: Workspace }): Promise<SidecarDemo> {
  const dir = path.join(o.ws.dir, 'shop');
  fs.cpSync(path.join(o.root, 'examples/sidecar/python-app'), dir, { recursive: true });
  fs.copyFileSync(o.ws.allowlistFile, path.join(dir, 'opsctl_keys'));
  fs.chmodSync(path.join(dir, 'opsctl_keys'), 0o600);
  const shopPort = await freePort();
  const configFile = path.join(dir, 'opsctl-port.yaml');
  const doc = parseDocument(fs.readFileSync(configFile, 'utf8'), { merge: true });
  doc.set('port', 0);
  doc.setIn(['health', 'shop', 'http', 'upstream'], `http://127.0.0.1:${shopPort}`);
  const ofrepListen = doc.getIn(['ofrep', 'listen']) as string | undefined;
  let ofrep: HostPort | undefined;
  if (typeof ofrepListen === 'string') {
    ofrep = { host: '127.0.0.1', port: await freePort() };
    doc.setIn(['ofrep', 'listen'], `127.0.0.1:${ofrep.port}`);
  }
  fs.writeFileSync(configFile, doc.toString());

  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
  };
  try {
    const portLog = path.join(o.ws.dir, 'opsctl-port.log');
    const out = fs.openSync(portLog, 'a', 0o600);
    const port = spawn(process.execPath, [path.join(o.root, 'bin/opsctl-port.js'), '--config', configFile], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    children.push(port);
    const m = await waitForLine(port, portLog, /listening on (127\.0\.0\.1):(\d+)\n/, 'opsctl-port');
    const internal = { host: m[1]!, port: Number(m[2]) };

    const shopLog = path.join(o.ws.dir, 'shop.log');
    const sout = fs.openSync(shopLog, 'a', 0o600);
    const shop = spawn(DEMO_PYTHON, [path.join(dir, 'app.py'), '--port', String(shopPort), '--db', path.join(dir, 'var/app.db'), ...(ofrep ? ['--ofrep', `http://${ofrep.host}:${ofrep.port}`] : [])], { cwd: dir, stdio: ['ignore', sout, sout] });
    fs.closeSync(sout);
    children.push(shop);
    await waitForLine(shop, shopLog, /listening on /, 'the shop');
    return { internal, public: { host: '127.0.0.1', port: shopPort }, pid: port.pid!, stop, dir, ofrep };
  } catch (e) {
    await stop();
    throw e;
  }
}
