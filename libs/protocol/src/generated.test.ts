import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOADER_OPTIONS_JSON, PROTO_FILE, loadProto, loaderOptions } from './proto';

const REPO = resolve(__dirname, '../../..');
const GENERATED = join(__dirname, 'generated');
const TOOL = join(REPO, 'tools/gen-proto-types.mjs');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1).replace(/\\/g, '/'))
    .sort();
}

describe('generated proto types', () => {
  it('are up to date with shardlab.proto and loader-options.json', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'shardlab-gen-check-'));
    try {
      const out = join(scratch, 'generated');
      execFileSync(process.execPath, [TOOL, '--out-dir', out], { cwd: REPO, stdio: 'pipe' });
      const fresh = listFiles(out);
      const committed = existsSync(GENERATED) ? listFiles(GENERATED) : [];
      const stale: string[] = [];
      for (const f of fresh) {
        if (!committed.includes(f)) stale.push(`${f} (missing)`);
        else if (!readFileSync(join(out, f)).equals(readFileSync(join(GENERATED, f)))) stale.push(`${f} (differs)`);
      }
      for (const f of committed) if (!fresh.includes(f)) stale.push(`${f} (no longer generated)`);
      expect(fresh.length).toBeGreaterThan(0);
      if (stale.length > 0) {
        throw new Error(
          `generated types are stale: run npm run gen:proto\n  libs/protocol/src/generated/${stale.join('\n  libs/protocol/src/generated/')}`,
        );
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('proto loading', () => {
  it('finds the proto file from the package location', () => {
    expect(PROTO_FILE).toBe(join(REPO, 'proto/shardlab/v1/shardlab.proto'));
    expect(existsSync(PROTO_FILE)).toBe(true);
  });

  it('maps the shared option names to what proto-loader wants', () => {
    expect(LOADER_OPTIONS_JSON).toEqual({ keepCase: false, longs: 'String', enums: 'String', defaults: true, oneofs: true });
    const opts = loaderOptions();
    expect(opts.longs).toBe(String);
    expect(opts.enums).toBe(String);
    expect(() => loaderOptions({ ...LOADER_OPTIONS_JSON, longs: 'Long' as 'String' })).toThrow('longs must be "String" or "Number"');
  });

  it('decodes with camelCase fields and proto3 defaults, as the generated types say', () => {
    const { packageDefinition, proto } = loadProto();
    expect(loadProto().proto).toBe(proto); // parsed once
    const method = proto.shardlab.v1.Coordinator.service.PushGradient;
    const wire = method.requestSerialize({ runId: 'r', worker: 2 });
    const msg = method.requestDeserialize(wire);
    expect(msg).toEqual({
      runId: 'r',
      worker: 2,
      step: 0,
      samples: 0,
      loss: 0,
      gradient: null,
      paramChecksum: '',
      computeMs: 0,
      buffers: null,
      gradNorm: 0,
      reduceMs: 0,
      params: null,
      error: '',
      loopDelayMs: 0,
      resend: false,
      optimizerState: Buffer.alloc(0),
      discarded: 0,
      retry: false,
    });
    expect(Object.keys(packageDefinition)).toContain('shardlab.v1.Coordinator');
    expect(Object.keys(packageDefinition)).toContain('shardlab.v1.Peer');
  });
});
