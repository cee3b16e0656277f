/**
 * `npm run demo` (node dist/src/demo/main.js [--keep]): the whole product on
 * one machine with nothing installed but Node. A temp dir with a generated
 * operator key, the demo service, an in-process SSH bastion and service host,
 * a temporary config; then a narrated tour through the real tunnel. Leaves
 * nothing running and nothing in the user's config or keychain. With --keep
 * the environment stays up until Ctrl-C, with the one line to paste (PATH,
 * context and completion for the user's shell) to explore it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startForwardingServer, type ForwardingServer } from './forwarding-ssh-server.js';
import { Narrator, shellQuote } from './narrator.js';
import { startService, type ServiceProcess } from './service-process.js';
import { STEPS, StepFailedError } from './tour.js';
import { sidecarDemoMissing, startSidecarDemo } from './sidecar-process.js';
import { sidecarSteps } from './sidecar-tour.js';
import { createWorkspace, generateKeyPair, DEMO_CONTEXT, DEMO_OPERATOR, DEMO_USER, type Workspace } from './workspace.js';

const USAGE = `usage: npm run demo [-- --keep] [-- --sidecar]

Runs opsctl end to end on this machine: an operator key, the demo orders
service, an in-process SSH bastion and service host, and a narrated tour
through the real tunnel. Everything lives in a temp dir that is removed at
the end; your own config, keys and keychain are never touched.

  --keep     leave the environment running after the tour and print the one
             line to paste into your shell (opsctl on PATH, the demo context,
             TAB completion) to explore it, and one for a second terminal that
             acts as bob, a second admin (to try two-person approvals);
             Ctrl-C tears it down
  --sidecar  the same route to opsctl-port in front of a Python service with
             no opsctl code (examples/sidecar/python-app: alembic migrations,
             a maintenance command, flags over OFREP); needs Debian's python3
             and python3-alembic`;

/** The package root: the nearest parent with opsctl's package.json. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'opsctl') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the opsctl package root');
    dir = up;
  }
}

const ACTIVATE_SHELLS = ['bash', 'zsh', 'fish'] as const;
type ActivateShell = (typeof ACTIVATE_SHELLS)[number];

/** The shell the user most likely pastes into ($SHELL), bash when it is none of the three. */
function userShell(shellPath: string | undefined): ActivateShell {
  const name = path.basename(shellPath ?? '');
  return (ACTIVATE_SHELLS as readonly string[]).includes(name) ? (name as ActivateShell) : 'bash';
}

/**
 * One file per shell that `source` turns into a demo shell: a real `opsctl`
 * on PATH rather than an alias (completion scripts run the command by name,
 * and an alias is invisible to them), the demo's config, context, cache and
 * state (so nothing lands in the user's HOME), then the completion script
 * from `opsctl completion SHELL` (`opsctl completion --help`). `who` is the
 * operator the shell acts as: the tour's (activate.SHELL) or the second
 * person's (activate-bob.SHELL), each with their own config and key.
 */
function writeActivateFiles(ws: Workspace, cli: string, who: 'operator' | 'second'): Record<ActivateShell, string> {
  const binDir = path.join(ws.dir, 'bin');
  if (!fs.existsSync(binDir)) fs.mkdirSync(binDir, { mode: 0o700 });
  fs.writeFileSync(path.join(binDir, 'opsctl'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(cli)} "$@"\n`, { mode: 0o700 });
  const own = who === 'operator' ? { configFile: ws.configFile, cacheDir: ws.cacheDir, stateDir: ws.stateDir } : ws.second;
  const vars: Array<[string, string]> = [['OPSCTL_CONFIG', own.configFile], ['OPSCTL_CONTEXT', DEMO_CONTEXT], ['XDG_CACHE_HOME', own.cacheDir], ['XDG_STATE_HOME', own.stateDir]];
  const posix = `export PATH=${shellQuote(binDir)}:"$PATH" ${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}\n`;
  const body: Record<ActivateShell, string> = {
    // eval "$(…)" rather than source <(…): bash 3.2 (macOS) cannot source a process substitution.
    bash: `${posix}eval "$(opsctl completion bash)"\n`,
    // compdef exists only after compinit; -D keeps it from writing a dump file into HOME.
    zsh: `${posix}(( $+functions[compdef] )) || { autoload -Uz compinit && compinit -u -D; }\nsource <(opsctl completion zsh)\n`,
    fish: `set -gx PATH ${shellQuote(binDir)} $PATH\n${vars.map(([k, v]) => `set -gx ${k} ${shellQuote(v)}`).join('\n')}\nopsctl completion fish | source\n`,
  };
  const files = {} as Record<ActivateShell, string>;
  for (const shell of ACTIVATE_SHELLS) {
    files[shell] = path.join(ws.dir, who === 'operator' ? `activate.${shell}` : `activate-${ws.second.name}.${shell}`);
    fs.writeFileSync(files[shell], body[shell], { mode: 0o600 });
  }
  return files;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export async function runDemo(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--keep' && a !== '--sidecar');
  if (unknown.length) {
    process.stderr.write(`demo: unknown argument ${unknown[0]}\n${USAGE}\n`);
    return 2;
  }
  const keep = argv.includes('--keep');
  const sidecar = argv.includes('--sidecar');
  if (sidecar) {
    const missing = sidecarDemoMissing();
    if (missing) {
      process.stderr.write(`demo: --sidecar needs ${missing}\n`);
      return 1;
    }
  }
  const root = packageRoot();
  const cli = path.join(root, 'bin/opsctl.js');
  const n = new Narrator(process.stdout, process.env);
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let ws: Workspace | undefined;
  let service: ServiceProcess | undefined;
  let steps = STEPS;
  const servers: ForwardingServer[] = [];
  let code = 0;
  let current = 'setting up';
  try {
    n.banner(sidecar ? 'opsctl demo: opsctl-port gives a Python service a signed, audited internal port, reached through SSH' : 'opsctl demo: a signed, audited internal port reached through SSH');
    ws = createWorkspace();
    n.say(`Everything below lives in ${ws.dir} and is removed at the end.`);

    if (sidecar) {
      current = 'starting the Python shop and opsctl-port';
      const started = await startSidecarDemo({ root, ws });
      service = started;
      steps = sidecarSteps({ ofrep: started.ofrep !== undefined });
    } else {
      current = 'starting the demo service';
      service = await startService({ root, dataDir: ws.dataDir, allowlistFile: ws.allowlistFile, logFile: ws.serviceLog, slowMigrationsMs: 400 });
    }

    current = 'starting the SSH bastion and service host';
    const log = (m: string) => fs.appendFileSync(path.join(ws!.dir, 'ssh.log'), m + '\n');
    const hostKeys = { host: generateKeyPair('demo-service-host'), bastion: generateKeyPair('demo-bastion') };
    const host = await startForwardingServer({
      name: 'service host', hostKey: hostKeys.host.privateKey, operatorPublicKeys: [ws.operator.publicKey, ws.second.keys.publicKey], user: DEMO_USER, allow: service.internal, log,
    });
    servers.push(host);
    const bastion = await startForwardingServer({
      name: 'bastion', hostKey: hostKeys.bastion.privateKey, operatorPublicKeys: [ws.operator.publicKey, ws.second.keys.publicKey], user: DEMO_USER, allow: { host: '127.0.0.1', port: host.port }, log,
    });
    servers.push(bastion);
    const pin = (port: number, key: string) => `[127.0.0.1]:${port} ${key.split(/\s+/).slice(0, 2).join(' ')}\n`;
    fs.writeFileSync(ws.knownHostsFile, pin(bastion.port, hostKeys.bastion.publicKey) + pin(host.port, hostKeys.host.publicKey), { mode: 0o600 });

    const setup = { cli, ws, narrator: n, bastionPort: bastion.port, hostPort: host.port, internal: service.internal, public: service.public, signal: interrupt.signal };
    for (const step of steps) {
      if (interrupt.signal.aborted) break;
      current = step.title;
      n.title(step.title);
      await step.run(setup);
    }
    if (interrupt.signal.aborted) {
      n.fail(`interrupted during "${current}"; tearing down`);
      code = 130;
    } else {
      n.write('\n');
      n.ok('the tour is done: every step ran the real CLI through the real tunnel.');
      if (keep) {
        const shell = userShell(process.env.SHELL);
        const files = writeActivateFiles(ws, cli, 'operator');
        const second = writeActivateFiles(ws, cli, 'second');
        n.write(`\nThe demo stays up. Paste this line into your ${shell} to explore it as ${DEMO_OPERATOR}: opsctl on PATH, this demo's context, TAB completion (try: opsctl flags get <TAB>):\n\n`);
        n.write(`  source ${shellQuote(files[shell])}\n\n`);
        n.say(`(Another shell: ${ACTIVATE_SHELLS.filter((s) => s !== shell).map((s) => `source ${shellQuote(files[s])}`).join(' or ')}.)`);
        if (!sidecar) {
          n.write(`\nTo be ${ws.second.name}, a second admin with his own key and config, paste this into a second terminal: the two-person approval of README "Approvals and dry-run" (${DEMO_OPERATOR}$ opsctl migrate down --to 0001-create-orders --yes, then ${ws.second.name}$ opsctl approvals approve ID):\n\n`);
          n.write(`  source ${shellQuote(second[shell])}\n\n`);
        }
        n.say(`Public API: http://${service.public.host}:${service.public.port}/${sidecar ? 'items' : 'orders'}. Press Ctrl-C here to tear everything down.`);
        if (!interrupt.signal.aborted) await waitForSignal();
      } else {
        n.say('Run npm run demo -- --keep to leave it running and explore it yourself (TAB completes flag and task names).');
      }
    }
  } catch (e) {
    code = interrupt.signal.aborted ? 130 : 1;
    const message = e instanceof StepFailedError || e instanceof Error ? e.message : String(e);
    n.fail(`${interrupt.signal.aborted ? 'interrupted' : 'failed'} during "${current}": ${message}`);
    for (const [file, what] of ws && code === 1 ? [[ws.serviceLog, 'the demo service'], [path.join(ws.dir, 'opsctl-port.log'), 'opsctl-port'], [path.join(ws.dir, 'shop.log'), 'the shop']] : []) {
      if (!fs.existsSync(file!)) continue;
      const tail = fs.readFileSync(file!, 'utf8').trim().split('\n').slice(-8).join('\n');
      if (tail) process.stderr.write(`last lines of ${what}'s log:\n${tail}\n`);
    }
  } finally {
    for (const s of servers.reverse()) await s.close().catch(() => undefined);
    await service?.stop().catch(() => undefined);
    ws?.remove();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (code !== 130) n.say('Torn down: no process left running, temp dir removed.');
  return code;
}

runDemo(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  },
);
