/**
 * The code blocks of the repository's Markdown, as a reader copies them.
 * A TypeScript block is a complete program, unless the HTML comment on the
 * line above its fence says otherwise:
 *   <!-- snippet: continues the program above -->   it goes on from the
 *       previous program of the same file (checked as that program plus it);
 *   <!-- snippet: continues README.md -->   it goes on from the first
 *       program of README.md (the server program);
 *   <!-- snippet: outline -->   an outline of options with "…" in it, not
 *       meant to be copied as is (never allowed in README.md).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** What the comment above the fence says: 'outline', 'continues above', 'continues FILE', or undefined. */
  marker: string | undefined;
}

/** Every fenced block of a Markdown file (path relative to root). */
export function codeBlocks(root: string, file: string): CodeBlock[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const above = /^<!-- snippet: (.+?) -->$/.exec(lines[start - 1] ?? '');
    const m = above?.[1];
    const marker = m === undefined ? undefined : m === 'outline' ? 'outline' : m === 'continues the program above' ? 'continues above' : m.startsWith('continues ') ? m : `unknown: ${m}`;
    blocks.push({ file, line: start + 1, lang: open[1]!, code: body.join('\n') + '\n', marker });
  }
  return blocks;
}

export interface TsProgram {
  /** Where it comes from, for messages: FILE:LINE (and what it continues). */
  name: string;
  /** The program: the blocks it is made of, in order. */
  source: string;
  /** The block that makes it (the last one). */
  block: CodeBlock;
  /** A complete program on its own (not a continuation). */
  standalone: boolean;
}

/**
 * The TypeScript programs of a set of Markdown files: each complete block,
 * and each continuation joined to what it continues. Outlines are returned
 * apart. Throws on an unknown marker or a continuation with nothing before it.
 */
export function tsPrograms(root: string, files: string[]): { programs: TsProgram[]; outlines: CodeBlock[] } {
  const programs: TsProgram[] = [];
  const outlines: CodeBlock[] = [];
  const firstOf = new Map<string, TsProgram>();
  const pending: Array<{ block: CodeBlock; target: string }> = [];
  for (const file of files) {
    let previous: TsProgram | undefined;
    for (const block of codeBlocks(root, file).filter((b) => b.lang === 'ts' || b.lang === 'typescript')) {
      if (block.marker?.startsWith('unknown')) throw new Error(`${file}:${block.line}: ${block.marker}`);
      if (block.marker === 'outline') {
        outlines.push(block);
        continue;
      }
      if (block.marker === 'continues above') {
        if (!previous) throw new Error(`${file}:${block.line} continues a program, but there is none above it`);
        previous = { name: `${file}:${block.line} (after ${previous.name})`, source: `${previous.source}\n${block.code}`, block, standalone: false };
        programs.push(previous);
        continue;
      }
      if (block.marker?.startsWith('continues ')) {
        pending.push({ block, target: block.marker.slice('continues '.length) });
        continue;
      }
      previous = { name: `${file}:${block.line}`, source: block.code, block, standalone: true };
      programs.push(previous);
      if (!firstOf.has(file)) firstOf.set(file, previous);
    }
  }
  for (const { block, target } of pending) {
    const base = firstOf.get(target);
    if (!base) throw new Error(`${block.file}:${block.line} continues ${target}, which has no program`);
    programs.push({ name: `${block.file}:${block.line} (after ${base.name})`, source: `${base.source}\n${block.code}`, block, standalone: false });
  }
  return { programs, outlines };
}

/** The Markdown a newcomer reads: the README, the server module's README, docs/ and the demo service's README. */
export function docFiles(root: string): string[] {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', 'src/server/README.md', ...docs, 'examples/demo-service/README.md'].filter((f) => fs.existsSync(path.join(root, f)));
}

/** The strictest settings a service is likely to use, and no skipLibCheck: our .d.ts must hold up. */
export const STRICT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitOverride: true,
    skipLibCheck: false,
    outDir: 'out',
    rootDir: 'src',
  },
};
