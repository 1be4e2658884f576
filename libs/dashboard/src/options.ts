import { resolveOptions, type OptionSpec } from '@shardlab/options';
import { DashboardHub } from './hub';
import { startDashboard, type Dashboard } from './server';

/** The flags of every command that drives runs (run, compare, sweep, coordinator). */
export const DASHBOARD_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'dashboard',
    type: 'int',
    bare: 8080,
    min: 0,
    max: 65535,
    valueHint: 'PORT',
    help: 'serve a live dashboard of the runs on PORT (0 = any free port); open the URL it prints',
  },
  { key: 'dashboardHost', type: 'string', default: '127.0.0.1', help: 'address the dashboard listens on (0.0.0.0: other hosts; its URL carries a token all the same)' },
  { key: 'dashboardKeep', type: 'bool', default: false, help: 'keep the dashboard up once the runs are over, until Ctrl-C (the results are written and printed first)' },
];

export interface LiveFeed {
  hub: DashboardHub;
  /** With --dashboard-keep: says the page stays up, and returns once Ctrl-C (or SIGTERM) comes; else at once. */
  linger(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the dashboard when --dashboard was given (values as parsed, keys of DASHBOARD_OPTIONS) and says
 * where it is on `say`; null without the flag.
 */
export async function openDashboard(values: Record<string, unknown>, title: string, command: string, say: (line: string) => void): Promise<LiveFeed | null> {
  const resolved = resolveOptions(values, DASHBOARD_OPTIONS);
  if (resolved['dashboard'] === undefined) return null;
  const hub = new DashboardHub(title, command);
  const host = resolved['dashboardHost'] as string;
  const dashboard: Dashboard = await startDashboard({ hub, host, port: resolved['dashboard'] as number });
  say(`dashboard: ${dashboard.url}${host === '127.0.0.1' || host === 'localhost' ? '' : ' (plain HTTP: the token travels in clear on this network)'}`);
  const keep = resolved['dashboardKeep'] === true;
  const linger = async (): Promise<void> => {
    if (!keep) return;
    say(`dashboard: the runs are over; the page stays up at ${dashboard.url} until Ctrl-C`);
    await new Promise<void>((resolve) => {
      const done = () => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  };
  return { hub, linger, close: () => dashboard.close() };
}
