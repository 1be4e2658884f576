import type { PeerLink } from './collective';

/**
 * The sends of one reduction: the first failure is kept and rejects every receive from then on (a waiting
 * one included), so a dead peer ends the reduction at once instead of leaving it waiting.
 */
export class Sends {
  private readonly pending: Promise<void>[] = [];
  private failed: ((err: Error) => void) | null = null;
  private readonly failure: Promise<never>;

  constructor(private readonly link: PeerLink) {
    this.failure = new Promise<never>((_, reject) => (this.failed = reject));
    this.failure.catch(() => undefined);
  }

  send(to: number, key: string, data: Float32Array): void {
    this.pending.push(
      this.link.send(to, key, data).catch((err: unknown) => {
        this.failed?.(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }),
    );
  }

  receive(from: number, key: string): Promise<Float32Array> {
    return Promise.race([this.link.receive(from, key), this.failure]);
  }

  settled(): Promise<unknown> {
    return Promise.all(this.pending);
  }

  /** After a failure: the remaining sends may still reject; nobody awaits them any more. */
  abandon(): void {
    for (const p of this.pending) p.catch(() => undefined);
  }
}
