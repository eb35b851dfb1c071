// Lint rules, including the import direction of DESIGN.md: domain <- store <- adapters <- root.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersRule } from './scripts/eslint-layers.js';

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
);
