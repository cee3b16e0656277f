/**
 * man/opsctl.1 and the README's generated parts: regenerated == committed,
 * clean under groff -ww, every command and option of the tree present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { manPage, MAN_FILE, generateDocs } from '../../src/cli/man/generate-docs.js';
import { buildProgram } from '../../src/cli/program.js';
import { allCommands, commandModel } from '../../src/cli/completion/tree.js';
import { roffText } from '../../src/cli/man/roff.js';
import { EXIT_CODE_DESCRIPTIONS } from '../../src/protocol/exit-codes.js';
import { STANDARD_ENDPOINTS } from '../../src/protocol/catalog.js';
import { roleText } from '../../src/cli/commands/endpoints/role-text.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const committed = () => fs.readFileSync(path.join(ROOT, MAN_FILE), 'utf8');
const ci = process.env.CI === 'true' || process.env.CI === '1';

function tree() {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
  return commandModel(buildProgram(io).program);
}

test('the committed man page is what the command tree renders', () => {
  assert.equal(committed(), manPage(), `${MAN_FILE} drifted from the command tree: run node scripts/gen-docs.mjs`);
});

test('groff -man -ww finds nothing to warn about', (t) => {
  if (spawnSync('groff', ['--version'], { stdio: 'ignore' }).error) {
    if (ci) throw new Error('CI: groff is not installed');
    t.skip('groff is not installed');
    return;
  }
  const r = spawnSync('groff', ['-man', '-ww', '-z', path.join(ROOT, MAN_FILE)], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout + r.stderr, '', 'groff warnings');
  // And it renders to text that a reader can search.
  const text = spawnSync('groff', ['-man', '-Tutf8', '-P', '-cbou', path.join(ROOT, MAN_FILE)], { encoding: 'utf8' }).stdout;
  assert.match(text, /opsctl migrate up/);
  assert.match(text, /OPSCTL_CONTEXT/);
});

test('the page has every section, command, option, environment variable and exit status', () => {
  const page = committed();
  for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'GLOBAL OPTIONS', 'ENVIRONMENT', 'FILES', 'EXIT STATUS', 'SECURITY', 'EXAMPLES', 'SEE ALSO']) {
    assert.match(page, new RegExp(`^\\.SH ${s}$`, 'm'), `section ${s}`);
  }
  const root = tree();
  const commands = allCommands(root);
  assert.ok(commands.length >= 40, `only ${commands.length} commands in the tree`);
  for (const c of commands) {
    const header = `.SS "${roffText(`opsctl ${c.path.join(' ')}`)}"`;
    const at = page.indexOf(`${header}\n`);
    assert.ok(at >= 0, `command ${c.path.join(' ')} missing`);
    const next = page.indexOf('\n.SS ', at + 1);
    const section = page.slice(at, next < 0 ? undefined : next);
    for (const o of c.options) {
      if (o.long === '--help') continue;
      assert.ok(section.includes(`\\fB${roffText(o.long ?? o.short!)}\\fR`), `option ${o.long} of ${c.path.join(' ')} missing`);
    }
  }
  for (const o of root.options) if (o.long !== '--help') assert.ok(page.includes(`\\fB${roffText(o.long!)}\\fR`), `global ${o.long}`);
  for (const v of ['OPSCTL_CONFIG', 'OPSCTL_CONTEXT', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'SSH_AUTH_SOCK', 'NO_COLOR']) {
    assert.match(page, new RegExp(`^\\.TP\\n\\\\fB${v}\\\\fR$`, 'm'), `environment ${v}`);
  }
  for (const { code } of EXIT_CODE_DESCRIPTIONS) assert.match(page, new RegExp(`^\\.TP\\n\\\\fB${code}\\\\fR$`, 'm'), `exit status ${code}`);
});

test('README: the two commands at the very top, exit codes, and the endpoint reference generated from the catalog', async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(
    readme.startsWith(
      '# opsctl\n\nA secure **internal port** for operational control of a service, and the CLI\nthat reaches it through SSH bastions.\n\n```sh\n' +
        'npm install && npm run demo     # the whole thing, on an embedded bastion and demo service\n' +
        'npm install && npm test         # every test, against real sshd, HTTP, SQLite, keychain, pty, shells\n```\n',
    ),
    'README must open with the two starting commands',
  );
  const docs = await generateDocs(ROOT);
  assert.equal(readme, docs['README.md'], 'README endpoint reference drifted from STANDARD_ENDPOINTS: run node scripts/gen-docs.mjs');
  for (const e of STANDARD_ENDPOINTS) assert.ok(readme.includes(`| \`${e.id}\` | \`${e.method} ${e.path}\` | ${roleText(e)} |`), e.id);
  for (const { code } of EXIT_CODE_DESCRIPTIONS) assert.match(readme, new RegExp(`^\\| ${code} \\| `, 'm'), `exit code ${code} in README`);
});
