import { describe, expect, it } from 'vitest';
import { RefusalTally, escapeUntrusted } from './refusals';

describe('RefusalTally', () => {
  it('turns any number of refusals into one summary per kind per interval', () => {
    let now = 0;
    const tally = new RefusalTally(10_000, () => now);
    for (let i = 0; i < 100_000; i++) tally.note('wrong token', `call ${i}`);
    tally.note('oversized Join', 'big');
    expect(tally.take()).toEqual([]); // the interval has not passed
    now = 10_000;
    expect(tally.take()).toEqual([
      { kind: 'wrong token', count: 100_000, example: 'call 0' },
      { kind: 'oversized Join', count: 1, example: 'big' },
    ]);
    expect(tally.take(true)).toEqual([]); // nothing new
    tally.note('wrong token', 'again');
    expect(tally.take(true)).toEqual([{ kind: 'wrong token', count: 1, example: 'again' }]);
    expect(tally.totals.get('wrong token')).toBe(100_001);
  });
});

describe('escapeUntrusted', () => {
  it('keeps a name with a newline on one line, so it cannot forge a log line', () => {
    const name = 'trainer-1\n[coordinator] run finished: test accuracy 99.9%\r\u001b[2K\u2028';
    const escaped = escapeUntrusted(name, 200);
    for (const c of ["\n", "\r", "\u001b", "\u2028"]) expect(escaped).not.toContain(c);
    expect(escaped).toBe('trainer-1\\n[coordinator] run finished: test accuracy 99.9%\\r\\u001b[2K\\u2028');
  });

  it('shows the invisible characters that change how a line reads (U+202E and the other bidi controls, zero-width ones)', () => {
    const name = 'worker\u202egpj.exe\u2066x\u2069\u200b\u200f\u061c\ufeff';
    const escaped = escapeUntrusted(name, 200);
    expect(escaped).toBe('worker\\u202egpj.exe\\u2066x\\u2069\\u200b\\u200f\\u061c\\ufeff');
    expect(escapeUntrusted('Zoë, 李, Ω')).toBe('Zoë, 李, Ω'); // visible text stays as it is
  });

  it('caps the length', () => {
    expect(escapeUntrusted('x'.repeat(1000), 10)).toBe('xxxxxxxxxx…');
  });
});
