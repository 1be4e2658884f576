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
];

export interface LiveFeed {
  hub: DashboardHub;
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
  return { hub, close: () => dashboard.close() };
}
