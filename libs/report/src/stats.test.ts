import { describe, expect, it } from 'vitest';
import { lossSwing, mean, std } from './stats';
import { formatTable } from './table';

describe('stats', () => {
  it('mean and population std', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(Number.isNaN(mean([]))).toBe(true);
  });

  it('loss swing looks only at the last window', () => {
    const flat = Array.from({ length: 100 }, () => 0.5);
    const oscillating = Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : 0));
    expect(lossSwing(flat, 20)).toBe(0);
    expect(lossSwing(oscillating, 20)).toBeCloseTo(0.5, 12);
    expect(lossSwing([...oscillating, ...flat], 20)).toBe(0);
  });
});

describe('formatTable', () => {
  it('aligns columns, numbers to the right', () => {
    const t = formatTable(['name', 'acc'], [['iid', '91.2'], ['label-per-node', '9.5']]).split('\n');
    expect(t[0]).toBe('name'.padEnd(14) + '  ' + ' acc');
    expect(t[2]).toBe('iid'.padEnd(14) + '  ' + '91.2');
    expect(t[3]).toBe('label-per-node' + '  ' + ' 9.5');
  });
});
