import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, tempDir } from './testing/cli';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--dashboard-keep', () => {
  it('keeps the page up after the run, with the results written and printed first, until Ctrl-C', async () => {
    const out = join(dir, 'run');
    const { child, match, exited, output } = await startCli(
      ['run', '--workers', '2', '--steps', '6', '--samples', '2000', '--test-samples', '200', '--out', out, '--quiet', '--dashboard', '0', '--dashboard-keep'],
      /the page stays up at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+) until Ctrl-C/,
    );
    try {
      expect(existsSync(join(out, 'summary.json'))).toBe(true);
      expect(output()).toMatch(/6\/6 steps/);
      const page = await fetch(match[1]!);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      // Still up a while later: nothing ends it but a signal.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await fetch(match[1]!)).status).toBe(200);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
