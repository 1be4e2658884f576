/**
 * Refused requests, counted by kind and summarised as at most one metrics event per kind per interval:
 * an outsider hammering the port must not be able to grow metrics.jsonl (or the log) by a line a request.
 */
export interface RefusalSummary {
  kind: string;
  count: number;
  /** The first refusal's message of the interval (already escaped by whoever noted it). */
  example: string;
}

export class RefusalTally {
  private pending = new Map<string, RefusalSummary>();
  private lastFlush: number;
  /** Every refusal since the start, by kind (for the summary). */
  readonly totals = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastFlush = now();
  }

  note(kind: string, message: string): void {
    const entry = this.pending.get(kind);
    if (entry) entry.count++;
    else this.pending.set(kind, { kind, count: 1, example: message });
    this.totals.set(kind, (this.totals.get(kind) ?? 0) + 1);
  }

  /** The summaries due: every kind counted since the last take, once `intervalMs` has passed (or when forced). */
  take(force = false): RefusalSummary[] {
    if (this.pending.size === 0 || (!force && this.now() - this.lastFlush < this.intervalMs)) return [];
    const out = [...this.pending.values()];
    this.pending = new Map();
    this.lastFlush = this.now();
    return out;
  }
}

/**
 * Untrusted text made safe for one log line: control characters escaped, and the invisible ones that change how
 * a line reads (bidirectional overrides and isolates such as U+202E, zero-width characters, the BOM), length
 * capped.
 */
export function escapeUntrusted(text: string, max = 80): string {
  const escaped = JSON.stringify(text.length > max ? text.slice(0, max) + '…' : text).slice(1, -1);
  return escaped.replace(/[\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
