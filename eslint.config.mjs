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
            // The trainer side never reaches into the coordinator side, and the coordinator side never into the
            // trainer app: what both need (the replica, a worker's step, options, data, model, wire) is side:shared.
            { sourceTag: 'side:trainer', onlyDependOnLibsWithTags: ['side:shared'] },
            { sourceTag: 'side:coordinator', onlyDependOnLibsWithTags: ['side:coordinator', 'side:shared'] },
            { sourceTag: 'side:shared', onlyDependOnLibsWithTags: ['side:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];

/**
 * For libraries other than libs/protocol: gRPC is transport, and stays in the wire-contract lib and the apps
 * (thin shells). Every other lib works on domain types and typed arrays, testable without a network.
 */
export const libConfig = [
  {
    files: ['**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: '@grpc/grpc-js', message: 'gRPC belongs in libs/protocol and the apps; libs speak domain types.' }] }],
    },
  },
];
