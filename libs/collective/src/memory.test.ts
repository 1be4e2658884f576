import { describe, expect, it } from 'vitest';
import { Mailbox } from './memory';

describe('Mailbox', () => {
  it('after end: what arrived can still be taken; waits and takes of anything else fail with the reason', async () => {
    const box = new Mailbox();
    box.deliver('s1/c0', Float32Array.of(1));
    const pending = box.take('s1/c1');
    box.end(new Error('the stream from worker 2 ended'));
    await expect(pending).rejects.toThrow('the stream from worker 2 ended');
    await expect(box.take('s1/c0')).resolves.toEqual(Float32Array.of(1));
    await expect(box.take('s2/c0')).rejects.toThrow('the stream from worker 2 ended');
  });

  it('after fail: everything fails, even what arrived', async () => {
    const box = new Mailbox();
    box.deliver('k', Float32Array.of(1));
    box.fail(new Error('stopped'));
    await expect(box.take('k')).rejects.toThrow('stopped');
  });
});
