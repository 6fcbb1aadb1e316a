// `npm run lint`: ESLint's and typescript-eslint's recommended rules over everything written by hand
// (src, suites, test, scripts, bin, examples). The non-type-checked preset: it builds no TypeScript
// program, so lint takes seconds on the 2-core CI machine; `tsc` already checks the types.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals for the plain JavaScript files (bin, scripts, examples). TypeScript files get them
// from @types/node, and typescript-eslint turns no-undef off there.
const nodeGlobals = Object.fromEntries(
  (
    'AbortController AbortSignal Buffer URL URLSearchParams TextDecoder TextEncoder clearImmediate clearInterval clearTimeout ' +
    'console fetch performance process queueMicrotask setImmediate setInterval setTimeout structuredClone'
  )
    .split(' ')
    .map((name) => [name, 'readonly']),
);

export default defineConfig(
  // Built output, installed packages, built images, run reports: nothing written by hand.
  { ignores: ['dist/', '**/node_modules/', 'fixtures/out/', 'reports/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // Serial-console, ssh-audit and XML text is cleaned with regexes that match control characters on purpose (ANSI escapes, XML 1.0's forbidden characters).
      'no-control-regex': 'off',
      // A leading underscore marks a binding left unused on purpose (a rest sibling dropped from a copy, a parameter a signature requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The Standard Schema interface is copied as the spec publishes it, a declared namespace included, so any library's schema fits.
    files: ['src/suite-api/standard-schema.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: nodeGlobals },
  },
);
