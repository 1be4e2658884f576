import type { MetricsRecord } from './records';
import type { RunSummary } from './summary';

/*
 * The live feed: what a running command tells its watchers (the dashboard) about its runs. One
 * schema, imported by the writer (DashboardHub in @shardlab/dashboard, fed by the step engine
 * through RunObserver) and by the reader (the dashboard page, src/browser/dashboard.page.ts).
 */

/** What a run is before and after it starts: which arm and seed, where its files go, how far it got. */
export interface LiveRun {
  /** Unique within the feed: the run directory relative to the command's --out (or the arm). */
  id: string;
  arm: string;
  seed: number;
  status: 'planned' | 'running' | 'completed' | 'failed';
  /** Known once running. */
  workers: number | null;
  steps: number | null;
  classNames: string[];
  /** Final test accuracy and error, once ended. */
  finalTestAccuracy: number | null;
  error: string | null;
}

/** The feed's events, as sent in the event stream (event name = `type`, data = the JSON of the rest). */
export type LiveEvent =
  | { type: 'hello'; title: string; command: string; runs: LiveRun[] }
  | { type: 'run'; run: LiveRun }
  | { type: 'record'; run: string; record: MetricsRecord };

/** What the step engine tells an observer of one run (the runner calls it; the dashboard hub implements it). */
export interface RunObserver {
  started(info: { workers: number; steps: number; classNames: readonly string[] }): void;
  record(record: MetricsRecord): void;
  ended(summary: Pick<RunSummary, 'status' | 'error' | 'finalTestAccuracy'>): void;
}
