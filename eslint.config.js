// Lint rules, including the import direction of DESIGN.md: domain <- store <- adapters <- root.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersRule } from './scripts/eslint-layers.js';

const STORE_BOUNDARY =
  'only server/store/ (and its own tests) may reach SQLite or the store files: use openStore and the ports of server/domain/ports.ts';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'web/dist/', 'test/artifacts/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-control-regex': 'off',
    },
  },
  {
    // Each folder imports only what its README's table allows (scripts/eslint-layers.js).
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { voicegate: { rules: { layers: layersRule } } },
    rules: { 'voicegate/layers': 'error' },
  },
  {
    // The store boundary (server/store/README.md): outside the store, storage is reached only
    // through openStore's interfaces, so a second back end can take the embedded one's place.
    // The store's own tests and benchmarks look behind it (and the PostgreSQL test clusters).
    files: ['**/*.ts'],
    ignores: ['server/store/**', 'test/store/**', 'test/bench/**', 'test/helpers/postgres.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:sqlite', message: STORE_BOUNDARY },
            { name: 'pg', message: STORE_BOUNDARY },
          ],
          patterns: [{ regex: '(^|/)store/(?!open-store\\.ts$).+$', message: STORE_BOUNDARY }],
        },
      ],
    },
  },
);
