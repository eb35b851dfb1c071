// Lint rules, including the import direction of DESIGN.md: domain <- store <- adapters <- root.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Relative imports may leave the folder only towards the sibling folders named in `allowed`. */
const only = (allowed, message) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ regex: `^\\.\\./(?!(${allowed.join('|')})/)`, message }] },
  ],
});
const forbid = (groups, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
});

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
    files: ['server/domain/**'],
    rules: forbid(['../**'], 'the domain imports nothing outside server/domain'),
  },
  {
    files: ['server/net/**'],
    rules: forbid(
      ['../**'],
      'server/net is shared by every listener: it imports nothing outside it',
    ),
  },
  { files: ['server/store/**'], rules: only(['domain'], 'the store imports only the domain') },
  { files: ['server/media/**'], rules: only(['domain'], 'media imports only the domain') },
  {
    files: ['server/render/**'],
    rules: only(['domain', 'media'], 'render imports only the domain and media'),
  },
  {
    files: ['server/smtp-in/**', 'server/mail/**'],
    rules: forbid(
      [
        '../cli/**',
        '../demo/**',
        '../server.ts',
        '../http/**',
        '../../imap/**',
        '../../exchange/**',
      ],
      'adapters import domain and store, never other adapters or the root',
    ),
  },
  { files: ['server/config/**'], rules: only(['domain'], 'config imports only the domain') },
  {
    files: ['server/flows/**', 'server/prompts/**'],
    rules: forbid(
      [
        '../sip/**',
        '../rtp/**',
        '../http/**',
        '../telephony/**',
        '../../sip/**',
        '../../rtp/**',
        '../../http/**',
        '../../telephony/**',
        '../cli/**',
        '../../cli/**',
      ],
      'call flows and prompts never import SIP, RTP, HTTP, telephony or the CLI',
    ),
  },
  {
    files: ['server/sip/**'],
    rules: forbid(
      ['../**'],
      'the SIP stack is protocol only: it imports nothing outside server/sip',
    ),
  },
  { files: ['server/rtp/**'], rules: only(['media'], 'RTP imports only server/media') },
  {
    files: ['server/telephony/**'],
    rules: only(
      ['domain', 'sip', 'rtp', 'flows', 'prompts', 'media'],
      'telephony joins SIP, RTP and call flows; it never imports other adapters or the root',
    ),
  },
  {
    files: ['server/http/**'],
    rules: forbid(
      ['../cli/**', '../demo/**', '../server.ts', '../../imap/**', '../../exchange/**'],
      'adapters import domain and store, never other adapters or the root',
    ),
  },
  {
    files: ['imap/**'],
    rules: forbid(
      ['../server/http/**', '../server/cli/**', '../server/server.ts', '../exchange/**'],
      'adapters import domain and store, never other adapters or the root',
    ),
  },
  {
    files: ['exchange/**'],
    rules: forbid(
      ['../server/http/**', '../server/cli/**', '../server/server.ts', '../imap/**'],
      'adapters import domain and store, never other adapters or the root',
    ),
  },
);
