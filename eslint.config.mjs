import nx from '@nx/eslint-plugin';

/**
 * Module boundaries, checked by `nx run-many -t lint`:
 *   type:lib  may import only type:lib       (libraries never reach into apps)
 *   type:app  may import only type:lib       (coordinator, trainer: thin wiring around libs)
 *   type:cli  may import type:app, type:lib  (the `shardlab` binary dispatches to the apps)
 *   type:e2e  may import anything            (tests of the whole system; nothing imports them)
 */
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/src/generated/**', '**/vitest.config.mts'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:app', 'type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:cli', 'type:app', 'type:lib'] },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
