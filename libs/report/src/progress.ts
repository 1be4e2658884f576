/**
 * A live progress line: redrawn in place on a terminal, printed every few seconds
 * (and at the end) when output goes to a file or a CI log.
 */
export class ProgressLine {
  private lastPrint = 0;
  private drawn = false;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 5000,
  ) {}

  update(text: string, final = false): void {
    const now = Date.now();
    if (this.stream.isTTY) {
      this.stream.write('\r\x1b[2K' + text + (final ? '\n' : ''));
      this.drawn = !final;
    } else if (final || now - this.lastPrint >= this.intervalMs) {
      this.stream.write(text + '\n');
      this.lastPrint = now;
    }
  }

  /** Ends a redrawn line before other output. */
  clear(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - 60 * m)).padStart(2, '0')}s`;
}
