/**
 * src/protocol is the one home of the response shapes and name patterns both
 * sides use (docs/architecture.md): neither the CLI nor the server declares
 * its own job, flag, migration-plan or audit record shape (with the
 * approval, grant and notify members the port writes) or flag/task name
 * pattern again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAME_RE, NAME_PATTERN, STANDARD_ENDPOINTS } from '../../src/protocol/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const DECLARATIONS = [
  /\b(interface|type)\s+JobView\b\s*[={]/,
  /\b(interface|type)\s+JobProgress\b\s*[={]/,
  /\b(interface|type)\s+JobEvent\b\s*[={]/,
  /\btype\s+JobState\s*=/,
  /\b(interface|type)\s+FlagView\b\s*[={]/,
  /\b(interface|type)\s+MigrationPlan\b\s*[={]/,
  /\b(interface|type)\s+MigrationStatus\b\s*[={]/,
  /A-Za-z0-9_\.-\]\{1,64\}/,
  // The audit records: the port writes them, the CLI's audit tail and verify read them
  // (a declaration, not an import's `type X`).
  ...['AuditRecord', 'AuditApprovalNote', 'AuditSigner', 'AuditGrantNote', 'AuditNotifyEvent', 'AuditOutcome', 'AuditSystemRecordType']
    .map((n) => new RegExp(`\\binterface\\s+${n}\\b|\\btype\\s+${n}\\s*[=<]`)),
];

test('job, flag, migration and audit record shapes and the name pattern are declared only in src/protocol', () => {
  const files = [...sources(path.join(root, 'src/cli')), ...sources(path.join(root, 'src/server'))];
  assert.ok(files.length > 50, `found the sources (${files.length})`);
  const found: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const re of DECLARATIONS) if (re.test(text)) found.push(`${path.relative(root, file)}: ${re.source}`);
  }
  assert.deepEqual(found, [], 'declare it once in src/protocol and import it');
});

test('the catalog checks flag and task names with the same pattern the server enforces', () => {
  const name = (id: string) => (STANDARD_ENDPOINTS.find((e) => e.id === id)?.params.properties as Record<string, { pattern?: string }> | undefined)?.name?.pattern;
  assert.equal(name('flags.get'), NAME_PATTERN, 'flags.get');
  assert.equal(name('tasks.run'), NAME_PATTERN, 'tasks.run');
  assert.equal(NAME_RE.test('maintenance_mode'), true, 'a flag name');
  assert.equal(NAME_RE.test('bad name'), false, 'no spaces');
  assert.equal(NAME_RE.test('x'.repeat(65)), false, 'at most 64');
});
