import type { LiveEvent, LiveRun, MetricsRecord, RunObserver } from '@shardlab/report';

/*
 * The feed of one command's runs (run, compare, sweep or coordinator): the step engine reports into
 * it through RunObserver, watchers subscribe to it. A watcher that arrives mid-run first gets the
 * history (every run, then its records), then the live events. Pure in-memory state, no I/O: the
 * HTTP server (server.ts) is a thin shell around it.
 */

/** Step records kept per run for late watchers; beyond it the history keeps every 2nd, 4th, ... step. */
export const HISTORY_STEPS = 4000;

/** A watcher: gets every event from subscription on. Returns false when it cannot keep up (it is then dropped). */
export type Watcher = (event: LiveEvent) => boolean;

interface RunState {
  run: LiveRun;
  records: MetricsRecord[];
  stepsKept: number;
  stepsSeen: number;
  /** Every stride-th step record enters the history. */
  stride: number;
}

export class DashboardHub {
  private readonly runs = new Map<string, RunState>();
  private readonly watchers = new Set<Watcher>();

  constructor(
    readonly title: string,
    readonly command: string,
  ) {}

  /** Announces a run before it starts (a sweep's plan), or returns the one already known. */
  plan(id: string, arm: string, seed: number, status: LiveRun['status'] = 'planned'): LiveRun {
    const known = this.runs.get(id);
    if (known) return known.run;
    const run: LiveRun = { id, arm, seed, status, workers: null, steps: null, classNames: [], finalTestAccuracy: null, error: null };
    this.runs.set(id, { run, records: [], stepsKept: 0, stepsSeen: 0, stride: 1 });
    this.broadcast({ type: 'run', run });
    return run;
  }

  /** Marks a planned run as already done (a resumed sweep keeps its completed runs). */
  finished(id: string, outcome: { status: 'completed' | 'failed'; finalTestAccuracy: number | null; error: string | null }): void {
    const state = this.runs.get(id);
    if (!state) return;
    Object.assign(state.run, outcome);
    this.broadcast({ type: 'run', run: state.run });
  }

  /** What the step engine of run `id` reports into. */
  observer(id: string, arm: string, seed: number): RunObserver {
    this.plan(id, arm, seed);
    const state = this.runs.get(id)!;
    return {
      started: (info) => {
        Object.assign(state.run, { status: 'running', workers: info.workers, steps: info.steps, classNames: [...info.classNames] });
        // A rerun under the same id (resume) starts its history again.
        state.records = [];
        state.stepsKept = state.stepsSeen = 0;
        state.stride = 1;
        this.broadcast({ type: 'run', run: state.run });
      },
      record: (record) => {
        this.keep(state, record);
        this.broadcast({ type: 'record', run: state.run.id, record });
      },
      ended: (summary) => {
        Object.assign(state.run, { status: summary.status, finalTestAccuracy: summary.finalTestAccuracy, error: summary.error });
        this.broadcast({ type: 'run', run: state.run });
      },
    };
  }

  private keep(state: RunState, record: MetricsRecord): void {
    if (record.kind !== 'step') {
      state.records.push(record);
      return;
    }
    if (state.stepsSeen++ % state.stride !== 0) return;
    state.records.push(record);
    if (++state.stepsKept <= HISTORY_STEPS) return;
    // Halve the kept steps (every other one goes, the first stays), and keep half as many from now on.
    let k = 0;
    state.records = state.records.filter((r) => r.kind !== 'step' || k++ % 2 === 0);
    state.stepsKept = k - Math.floor(k / 2);
    state.stride *= 2;
  }

  /** The events a new watcher needs to catch up: hello (every run), then each run's kept records. */
  history(): LiveEvent[] {
    const states = [...this.runs.values()];
    return [
      { type: 'hello', title: this.title, command: this.command, runs: states.map((s) => s.run) },
      ...states.flatMap((s) => s.records.map((record): LiveEvent => ({ type: 'record', run: s.run.id, record }))),
    ];
  }

  /** Sends the history, then every event; returns the unsubscribe function. */
  subscribe(watcher: Watcher): () => void {
    for (const event of this.history()) {
      if (!watcher(event)) return () => undefined;
    }
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  private broadcast(event: LiveEvent): void {
    for (const w of this.watchers) if (!w(event)) this.watchers.delete(w);
  }
}
