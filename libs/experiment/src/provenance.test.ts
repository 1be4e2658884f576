import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { provenance } from './provenance';

describe('provenance', () => {
  it('names the version, the commit of this checkout, the command line without node, and the host', () => {
    const p = provenance(['/usr/bin/node', 'shardlab', 'run', '--steps', '5']);
    expect(p.shardlab).toMatch(/^\d+\.\d+\.\d+/);
    expect(p.command).toEqual(['shardlab', 'run', '--steps', '5']);
    expect(p.node).toBe(process.version);
    expect(p.host.length).toBeGreaterThan(0);
    // The tests run from a git checkout (a fresh clone in CI): the commit is HEAD's, marked when the tree differs.
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(p.commit).toMatch(new RegExp(`^${head}(\\+changes)?$`));
  });
});
