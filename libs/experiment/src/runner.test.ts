import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE } from './checkpoint';
import { clearPreviousRun } from './runner';

describe('clearPreviousRun', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("removes an earlier run's TensorBoard event files and checkpoint, and nothing else", () => {
    const out = mkdtempSync(join(tmpdir(), 'shardlab-clear-'));
    dirs.push(out);
    for (const name of ['events.out.tfevents.1796158670.vm', 'events.out.tfevents.1796158681.vm', CHECKPOINT_FILE, 'config.json', 'notes.txt']) writeFileSync(join(out, name), 'x');
    clearPreviousRun(out);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'notes.txt']);
  });

  it('is fine with a directory that does not exist yet', () => {
    expect(() => clearPreviousRun(join(tmpdir(), 'shardlab-clear-nonexistent-dir'))).not.toThrow();
  });
});
