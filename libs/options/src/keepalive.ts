import type { OptionSpec } from './options';

/** HTTP/2 keepalive of every gRPC connection, in seconds (why these values: libs/protocol options.ts). */
export interface Keepalive {
  /** Seconds between pings on a connection (--keepalive-time). */
  time: number;
  /** Seconds to wait for a ping's acknowledgement before dropping the connection (--keepalive-timeout). */
  timeout: number;
}

export const DEFAULT_KEEPALIVE: Readonly<Keepalive> = { time: 30, timeout: 10 };

/** The keepalive settings, shared by run, coordinator and trainer (each side pings the other). */
export const KEEPALIVE_OPTIONS: readonly OptionSpec[] = [
  { key: 'keepaliveTime', type: 'number', default: DEFAULT_KEEPALIVE.time, min: 0.1, max: 86400, help: 'seconds between HTTP/2 keepalive pings on every gRPC connection (a vanished peer is noticed after this plus --keepalive-timeout)' },
  { key: 'keepaliveTimeout', type: 'number', default: DEFAULT_KEEPALIVE.timeout, min: 0.1, max: 86400, help: 'seconds a keepalive ping may go unanswered before its connection is dropped (a trainer then reconnects)' },
];
