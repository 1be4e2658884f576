import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

const SMOKE = resolve(__dirname, '../../../experiments/smoke.yaml');

describe('shardlab sweep', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every arm x seed, writes results and report, and resumes without rerunning', async () => {
    const out = join(dir, 'smoke');
    const first = await runCli(['sweep', SMOKE, '--out', out, '--quiet'], 240_000);
    expect(first.code, first.stderr).toBe(0);
    for (const f of ['results.csv', 'results.md', 'report.html', 'iid/seed-1/summary.json', 'seq-cyclic-r1/seed-1/metrics.jsonl', 'iid/seed-1/snapshots']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    // The non-reference arm records weight divergence from the iid run with the same seed.
    const evals = readFileSync(join(out, 'seq-cyclic-r1/seed-1/metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"kind":"eval"'));
    expect(evals.length).toBeGreaterThan(0);
    for (const e of evals) expect(JSON.parse(e).weightDivergence).toBeGreaterThan(0);
    const summaryTime = statSync(join(out, 'iid/seed-1/summary.json')).mtimeMs;
    const again = await runCli(['sweep', SMOKE, '--out', out, '--quiet'], 120_000);
    expect(again.code, again.stderr).toBe(0);
    expect(statSync(join(out, 'iid/seed-1/summary.json')).mtimeMs).toBe(summaryTime);
  }, 300_000);

  it('takes key=value, --steps, --arms and --seeds; stops on changed settings before running anything; redoes or keeps on request; continues a stopped run from its checkpoint', async () => {
    const out = join(dir, 'narrow');
    const file = join(dir, 'narrow.yaml');
    writeFileSync(
      file,
      'name: narrow\nbase: { dataset: synthetic, samples: 800, testSamples: 200, features: 16, numClasses: 4, hidden: [8], workers: 2, batchSize: 16, steps: 12, evalEvery: 4, collective: relay, checkpointEvery: 5 }\n' +
        'seeds: [1, 2]\nreference: iid\narms:\n  - { name: iid, strategy: iid }\n  - { name: lpn, strategy: label-per-node }\n',
    );
    const config = (run: string) => JSON.parse(readFileSync(join(out, run, 'config.json'), 'utf8'));
    const first = await runCli(['sweep', file, 'lr=0.2', '--arms', 'lpn', '--seeds', '2', '--out', out, '--quiet'], 120_000);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(out, 'iid'))).toBe(false);
    expect(existsSync(join(out, 'lpn/seed-1'))).toBe(false);
    expect(config('lpn/seed-2')).toMatchObject({ lr: 0.2, steps: 12, seed: 2, strategy: 'label-per-node' });
    const finished = statSync(join(out, 'lpn/seed-2/summary.json')).mtimeMs;

    // The same settings: kept, silently. Other settings: nothing runs, and the message names the run and the settings.
    const same = await runCli(['sweep', file, 'lr=0.2', '--arms', 'lpn', '--seeds', '2', '--out', out, '--quiet'], 120_000);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/other settings/);
    const changed = await runCli(['sweep', file, '--steps', '8', '--arms', 'lpn', '--seeds', '2', '--out', out, '--quiet'], 120_000);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/1 finished run\(s\) were made with other settings/);
    expect(changed.stderr).toMatch(/lpn\/seed-2: steps: 12 -> 8; lr: 0\.2 -> 0\.05/);
    expect(changed.stderr).toMatch(/--on-change redo/);
    expect(statSync(join(out, 'lpn/seed-2/summary.json')).mtimeMs).toBe(finished);
    const kept = await runCli(['sweep', file, '--steps', '8', '--arms', 'lpn', '--seeds', '2', '--out', out, '--quiet', '--on-change', 'keep'], 120_000);
    expect(kept.code, kept.stderr).toBe(0);
    expect(config('lpn/seed-2').steps).toBe(12);
    const redone = await runCli(['sweep', file, '--steps', '8', '--arms', 'lpn', '--seeds', '2', '--out', out, '--quiet', '--on-change', 'redo'], 120_000);
    expect(redone.code, redone.stderr).toBe(0);
    expect(config('lpn/seed-2')).toMatchObject({ lr: 0.05, steps: 8 });

    // A run stopped after its step-10 checkpoint (its summary not yet written) continues from it and ends on the same weights.
    const whole = await runCli(['sweep', file, '--arms', 'iid', '--seeds', '1', '--out', out, '--quiet'], 120_000);
    expect(whole.code, whole.stderr).toBe(0);
    const weights = readFileSync(join(out, 'iid/seed-1/model/weights.bin'));
    rmSync(join(out, 'iid/seed-1/summary.json'));
    rmSync(join(out, 'iid/seed-1/model'), { recursive: true });
    const resumed = await runCli(['sweep', file, '--arms', 'iid', '--seeds', '1', '--out', out, '--quiet'], 120_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/iid seed 1 stopped part-way; continuing from .*checkpoint\.bin/);
    expect(readFileSync(join(out, 'iid/seed-1/model/weights.bin')).equals(weights)).toBe(true);
    const steps = readFileSync(join(out, 'iid/seed-1/metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"kind":"step"'));
    expect(steps).toHaveLength(12);
  }, 300_000);

  it('names the flag of a bad narrowing or override', async () => {
    const cases: [string[], RegExp][] = [
      [['--arms', 'idd'], /--arms: .*smoke\.yaml has no arm "idd" \(did you mean "iid"\?\)/],
      [['--seeds', '1,1'], /--seeds\[1\]: duplicate seed 1/],
      [['seed=3'], /seed=3: the seeds of a sweep come from its seeds list/],
      [['stesp=3'], /stesp=3: unknown setting \(did you mean "steps"\?\)/],
      [['workers=0'], /workers=0: must be an integer from 1/],
      [['--steps', '5', 'steps=6'], /steps=6: steps is also given as --steps/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['sweep', SMOKE, ...args, '--out', join(dir, 'never')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('names the file and key of a bad experiment file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nseeds: [1]\narms:\n  - { name: a, strategy: iid }\n  - { name: b, strategy: nonsense }\n');
    const r = await runCli(['sweep', bad, '--out', join(dir, 'bad')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.yaml: arms\[1\]\.strategy: unknown value "nonsense"; allowed: iid/);
  });
});

describe('shardlab sweep --cluster', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves each run in turn to trainers started once with --rejoin; a run with fewer workers leaves one waiting; they leave when the sweep is over', async () => {
    const file = join(dir, 'cluster.yaml');
    writeFileSync(
      file,
      'name: cluster\nbase: { dataset: synthetic, samples: 800, testSamples: 200, features: 16, numClasses: 4, hidden: [8], workers: 2, batchSize: 16, steps: 10, evalEvery: 5 }\n' +
        'seeds: [1]\narms:\n  - { name: lpn, strategy: label-per-node }\n  - { name: single, strategy: stratified, workers: 1, batchSize: 32 }\n  - { name: iid, strategy: iid }\n',
    );
    // A fixed port, as a cluster's trainers dial it: one the system just gave out as free.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const token = 'a-run-token-for-this-sweep-0123456789';
    const env = { ...process.env, SHARDLAB_TOKEN: token };
    const out = join(dir, 'out');
    const trainers = [0, 1].map((i) => runCli(['trainer', '--coordinator', `127.0.0.1:${port}`, '--rejoin', '--connect-timeout', '15', '--name', `t${i}`], 240_000, env));
    const sweep = await runCli(['sweep', file, '--cluster', '--port', String(port), '--out', out, '--quiet'], 240_000, env);
    expect(sweep.code, sweep.stderr).toBe(0);
    const rows = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(4);
    const summary = (arm: string) => JSON.parse(readFileSync(join(out, arm, 'seed-1', 'summary.json'), 'utf8'));
    expect([summary('lpn').status, summary('single').status, summary('iid').status]).toEqual(['completed', 'completed', 'completed']);
    expect(summary('lpn').trainerBackends).toHaveLength(2);
    expect(summary('single').trainerBackends).toHaveLength(1);
    // Both trainers took part in the last run, so the one left out of `single` came back for it.
    expect(summary('iid').trainerBackends).toHaveLength(2);
    for (const t of await Promise.all(trainers)) {
      expect(t.code, t.stderr).toBe(0);
      expect(t.stderr).toMatch(/no coordinator at 127\.0\.0\.1:\d+ within 15 s after \d run\(s\): done/);
    }
  }, 300_000);

  it('refuses --host and --port without --cluster, and port 0 with it', async () => {
    const bad = await runCli(['sweep', SMOKE, '--port', '5000', '--out', join(dir, 'bad')], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port applies only to a sweep on a cluster (--cluster)');
    const zero = await runCli(['sweep', SMOKE, '--cluster', '--port', '0', '--out', join(dir, 'bad')], 60_000);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--port: a sweep on a cluster needs a fixed port');
  }, 120_000);
});
