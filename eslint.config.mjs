import fs from 'node:fs';
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/LAYERS.md, as boundaries elements. Order matters: a file belongs to the
 * first element whose pattern matches it (so firmware/foundation before firmware/).
 */
const LAYERS = [
  { type: 'foundation', pattern: 'firmware/foundation/**', partialMatch: false },
  { type: 'storage', pattern: 'storage/**', partialMatch: false },
  { type: 'led', pattern: 'led/**', partialMatch: false },
  { type: 'controller', pattern: 'ble/controller/**', partialMatch: false },
  { type: 'ble', pattern: 'ble/**', partialMatch: false },
  { type: 'drivers', pattern: 'firmware/pi/**', partialMatch: false },
  { type: 'edges', pattern: 'firmware/{api,panel}/**', partialMatch: false },
  { type: 'mqtt', pattern: 'firmware/mqtt/**', partialMatch: false },
  { type: 'osdp-edge', pattern: 'firmware/osdp/**', partialMatch: false },
  { type: 'profiles', pattern: 'firmware/profiles/**', partialMatch: false },
  { type: 'testkit', pattern: 'firmware/testkit/**', partialMatch: false },
  { type: 'firmware', pattern: 'firmware/**', partialMatch: false },
  { type: 'osdp', pattern: 'osdp/**', partialMatch: false },
  { type: 'devtools', pattern: 'scripts/dev/**', partialMatch: false },
  { type: 'cli', pattern: 'scripts/**', partialMatch: false },
];

/** Who may import whom: every arrow points down (docs/LAYERS.md draws the same table). */
const BELOW_PROFILES = [
  'mqtt',
  'edges',
  'osdp-edge',
  'osdp',
  'ble',
  'controller',
  'drivers',
  'firmware',
  'storage',
  'led',
  'foundation',
];
const ARROWS = {
  foundation: [],
  storage: ['foundation'],
  led: ['foundation'],
  controller: ['foundation'],
  firmware: ['storage', 'led', 'foundation'],
  ble: ['controller', 'firmware', 'foundation'],
  drivers: ['firmware', 'led', 'storage', 'foundation'],
  edges: ['firmware', 'storage', 'led', 'foundation'],
  // The MQTT link runs the host API's own routes and schemas for its commands.
  mqtt: ['edges', 'firmware', 'storage', 'led', 'foundation'],
  osdp: ['foundation'],
  'osdp-edge': ['osdp', 'firmware', 'storage', 'led', 'foundation'],
  profiles: BELOW_PROFILES,
  testkit: ['profiles', ...BELOW_PROFILES],
  cli: ['profiles', ...BELOW_PROFILES],
  devtools: ['cli', 'profiles', ...BELOW_PROFILES],
};

/** The folders of our own code (not test/): a new top-level family is added here once. */
const SOURCE_DIRS = ['firmware', 'storage', 'led', 'ble', 'osdp', 'scripts'];

/**
 * The one arrow into scripts/dev/ from what ships: the CLI entry imports the dev tools' table
 * (names and summaries, for --help) and nothing else there; the shipped commands none of it.
 */
const DEV_TABLE = { from: 'scripts/cli.ts', to: 'scripts/dev/tools.ts' };

/** What ships may not load a devDependency (a production install does not have them). */
const DEV_DEPENDENCIES = Object.keys(
  JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8')).devDependencies,
);

/** Matches a devDependency or a file inside one, as an esquery regular expression. */
const DEV_DEPENDENCY_PATTERN = `/^(${DEV_DEPENDENCIES.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})($|\\/)/`;

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: SOURCE_DIRS.map((dir) => `${dir}/**/*.ts`),
    plugins: { boundaries },
    settings: {
      'boundaries/elements': LAYERS,
      'boundaries/files': [
        { category: 'cli-entry', pattern: DEV_TABLE.from },
        { category: 'devtools-table', pattern: DEV_TABLE.to },
      ],
      'boundaries/include': SOURCE_DIRS.map((dir) => `${dir}/**`),
      'import/resolver': { typescript: { project: './tsconfig.json' }, node: true },
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            ...Object.entries(ARROWS).map(([from, to]) => ({
              from: { element: { type: from } },
              allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
            })),
            {
              from: { element: { type: 'cli' }, file: { categories: 'cli-entry' } },
              allow: {
                to: { element: { type: 'devtools' }, file: { categories: 'devtools-table' } },
              },
            },
          ],
        },
      ],
    },
  },
  {
    files: SOURCE_DIRS.map((dir) => `${dir}/**/*.ts`),
    // The dev tools may use them (they run in a checkout); their table is loaded everywhere.
    ignores: ['scripts/dev/**', `!${DEV_TABLE.to}`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: DEV_DEPENDENCIES.map((name) => ({
            name,
            message: 'a devDependency: shipped code runs without it (npm install --omit=dev)',
            allowTypeImports: true,
          })),
        },
      ],
      // The same names loaded on use: import('x') and require('x') escape the rule above.
      'no-restricted-syntax': [
        'error',
        ...[
          'ImportExpression > Literal.source',
          "CallExpression[callee.name='require'] > Literal",
        ].map((node) => ({
          selector: `${node}[value=${DEV_DEPENDENCY_PATTERN}]`,
          message: 'a devDependency: shipped code runs without it (npm install --omit=dev)',
        })),
      ],
    },
  },
);
