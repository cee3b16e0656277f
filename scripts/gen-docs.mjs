// Regenerates the files derived from the command tree and the catalog:
// completions/ (what `opsctl completion <shell>` prints), man/opsctl.1, the
// endpoint reference in README.md, and schema/opsctl-port.schema.json (what
// `opsctl-port schema` prints). Builds first (dist/ is what it reads).
//   node scripts/gen-docs.mjs            write them
//   node scripts/gen-docs.mjs --check    exit 1 and name the files that drifted
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

if (!process.argv.includes('--no-build')) {
  const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--quiet'], { stdio: 'inherit', cwd: root });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const { generateDocs } = await import(pathToFileURL(path.join(root, 'dist/src/cli/man/generate-docs.js')).href);
const files = await generateDocs(root);
const { schemaText } = await import(pathToFileURL(path.join(root, 'dist/src/sidecar/main.js')).href);
files['schema/opsctl-port.schema.json'] = schemaText();
const drifted = [];
for (const [rel, content] of Object.entries(files)) {
  const file = path.join(root, rel);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === content) continue;
  drifted.push(rel);
  if (!check) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}
if (check) {
  if (drifted.length) {
    process.stderr.write(`gen-docs: out of date: ${drifted.join(', ')} (run node scripts/gen-docs.mjs)\n`);
    process.exit(1);
  }
  process.stderr.write('gen-docs: all generated files are up to date\n');
} else {
  process.stderr.write(drifted.length ? `gen-docs: wrote ${drifted.join(', ')}\n` : 'gen-docs: nothing changed\n');
}
