// Runs every test under test/ with node:test. Tests use real system parts
// (sshd, gnome-keyring, tmux, shells); under CI=true a missing one is a
// failure, never a silent skip. The whole run happens inside a private D-Bus
// session with an unlocked gnome-keyring so keychain tests hit a real Secret
// Service without touching the developer's own keychain.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const ci = process.env.CI === 'true' || process.env.CI === '1';

const which = (bin) => {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && fs.existsSync(path.join(dir, bin))) return path.join(dir, bin);
  }
  return null;
};

const required = ['sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add', 'ssh', 'dbus-run-session', 'gnome-keyring-daemon', 'tmux', 'bash', 'zsh', 'fish', 'groff'];
const missing = required.filter((b) => !which(b));
if (missing.length) {
  const msg = `test: missing system tools: ${missing.join(', ')} (run .ci/run, or apt-get install openssh-server gnome-keyring dbus tmux zsh fish groff)`;
  if (ci) { process.stderr.write(msg + '\n'); process.exit(1); }
  process.stderr.write(msg + ' — tests that need them will skip (outside CI only)\n');
}

if (!process.env.OPSCTL_TEST_KEYRING && which('dbus-run-session') && which('gnome-keyring-daemon')) {
  const inner = 'eval "$(printf opsctl-test | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; export OPSCTL_TEST_KEYRING=1; exec "$0" "$@"';
  // A throwaway keyring directory: the run never touches (or depends on the
  // password of) the developer's own login keyring.
  const dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-test-keyring-'));
  const r = spawnSync('dbus-run-session', ['--', 'bash', '-c', inner, process.execPath, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, XDG_DATA_HOME: dataHome },
  });
  fs.rmSync(dataHome, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}

const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const p = path.join(dir, e.name);
  if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'helpers' ? [] : walk(p);
  return e.name.endsWith('.test.ts') ? [p] : [];
});
let files = walk(path.join(root, 'test')).sort();
const filters = args.filter((a) => !a.startsWith('-'));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (!files.length) { process.stderr.write('test: no test files matched\n'); process.exit(1); }

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...args.filter((a) => a.startsWith('-')), ...files], { stdio: 'inherit', cwd: root, env: { ...process.env, OPSCTL_ROOT: root } });
process.exit(r.status ?? 1);
