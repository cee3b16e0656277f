// Lint for the whole repository: @eslint/js and typescript-eslint's
// recommended rules, without type information (a type-aware run took far
// longer than the typecheck it would duplicate; `tsc -p tsconfig.test.json`
// already runs in npm test). An eslint-disable comment must say why
// (`-- reason`), which reportUnusedDisableDirectives and the
// eslint-comments rule below enforce.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'completions/**', 'man/**', 'coverage/**', '.ab/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', clearImmediate: 'readonly',
        URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        structuredClone: 'readonly', queueMicrotask: 'readonly', fetch: 'readonly', performance: 'readonly', NodeJS: 'readonly',
      },
    },
    rules: {
      // Unused names starting with _ are deliberate (destructuring away, signature shape).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' }],
      // Tests and bench cast parsed JSON freely; the typecheck covers the rest.
      '@typescript-eslint/no-explicit-any': 'off',
      // `let x = fallback; try { x = risky() } catch { … }` is how this code
      // says "a default unless this works"; the rule calls the default useless.
      'no-useless-assignment': 'off',
      // A variable read by a callback before its one assignment must stay
      // `let`: as a const it would throw in the temporal dead zone.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The binary's shim is CommonJS (bin/package.json): no ES module loader at start-up.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests assert on terminal output, so their regular expressions match ESC
    // and other control characters on purpose.
    files: ['test/**'],
    rules: { 'no-control-regex': 'off' },
  },
);
