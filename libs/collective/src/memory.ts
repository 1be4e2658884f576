import type { PeerLink } from './collective';

/**
 * W links in one process: what worker i sends to worker j is delivered to j's mailbox for i (copied at send
 * time, as a network would). For tests of the algorithms and of everything built on a Collective.
 */
export function memoryLinks(world: number): PeerLink[] {
  const mailboxes = Array.from({ length: world }, () => Array.from({ length: world }, () => new Mailbox()));
  return Array.from({ length: world }, (_, rank) => ({
    send: async (to: number, key: string, data: Float32Array) => mailboxes[to]![rank]!.deliver(key, data.slice()),
    receive: (from: number, key: string) => mailboxes[rank]![from]!.take(key),
  }));
}

/**
 * Chunks by key, in either order: a chunk that arrives before anyone waits for it is kept until taken; a
 * wait that starts first is resolved on arrival. The receiving half of a PeerLink, one per sender.
 */
export class Mailbox {
  private readonly arrived = new Map<string, Float32Array>();
  private readonly waiting = new Map<string, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  /** Set when the sender is gone: what arrived can still be taken, nothing else will come. */
  private ended: Error | null = null;

  deliver(key: string, data: Float32Array): void {
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w.resolve(data);
    } else this.arrived.set(key, data);
  }

  take(key: string, timeoutMs?: number, onTimeout?: () => Error): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const data = this.arrived.get(key);
    if (data) {
      this.arrived.delete(key);
      return Promise.resolve(data);
    }
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiting.delete(key);
          reject(onTimeout ? onTimeout() : new Error(`nothing arrived for ${key} within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref?.();
      }
      this.waiting.set(key, {
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /**
   * The sender is gone (its stream ended): waits for what has not arrived fail now and later, with `err`;
   * what arrived before can still be taken (a neighbour that finished the last step ends its stream early).
   */
  end(err: Error): void {
    this.ended = err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Fails every wait, now and later (the link is closed or the run stopped). */
  fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.arrived.clear();
  }
}
