import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from './node-flags';

const ROOT = join(__dirname, '..', '..', '..');

describe('NODE_FLAGS', () => {
  it('are the flags of the shardlab command (the shebang of bin/shardlab.js)', () => {
    const shebang = readFileSync(join(__dirname, '..', 'bin', 'shardlab.js'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });

  it('are the flags of npm start and npm run bench', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const name of ['start', 'bench']) expect(scripts[name]).toContain(`node ${NODE_FLAGS.join(' ')} apps/cli/dist/main.js`);
  });
});
