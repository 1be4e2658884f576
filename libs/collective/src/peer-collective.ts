import type { Collective, PeerAlgorithm, PeerLink } from './collective';
import { doublingSum, halvingDoublingAverage } from './halving-doubling';
import { ringAverage, ringSum, type RingOptions } from './ring';

/**
 * A Collective over a PeerLink: ring all-reduce or halving-doubling for averages (the `algorithm`), ring or
 * doubling all-gather for small sums. An average is computed in a buffer the collective keeps, so the array
 * it returns is valid until the next average(); an average started while another is in flight gets a buffer
 * of its own.
 */
export class PeerCollective implements Collective {
  private scratch: Float32Array | null = null;
  private scratchInUse = false;

  constructor(
    readonly rank: number,
    readonly world: number,
    private readonly link: PeerLink,
    readonly algorithm: PeerAlgorithm = 'ring',
    private readonly options: RingOptions = {},
  ) {}

  average(values: Float32Array, weight: number, step: number): Promise<Float32Array> {
    const ownScratch = this.scratchInUse ? undefined : this.claimScratch(values.length + 1);
    const tag = `${step}/avg`;
    const result =
      this.algorithm === 'halving-doubling'
        ? halvingDoublingAverage(values, weight, this.rank, this.world, this.link, tag, ownScratch)
        : ringAverage(values, weight, this.rank, this.world, this.link, tag, this.options, ownScratch);
    return ownScratch ? result.finally(() => (this.scratchInUse = false)) : result;
  }

  sum(values: Float64Array, step: number, tag: number): Promise<Float64Array> {
    return this.algorithm === 'halving-doubling'
      ? doublingSum(values, this.rank, this.world, this.link, `${step}/${tag}`)
      : ringSum(values, this.rank, this.world, this.link, `${step}/${tag}`);
  }

  private claimScratch(length: number): Float32Array {
    if (this.scratch?.length !== length) this.scratch = new Float32Array(length);
    this.scratchInUse = true;
    return this.scratch;
  }
}
