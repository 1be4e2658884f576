/**
 * Fault injection: what to do to which worker from which step, as an experiment setting, so a sweep can put
 * "label-per-node, worker 2 killed at step 100" beside the clean run. The coordinator sends the run's faults
 * to every trainer at Join; each trainer applies those naming its own worker index (so they work the same
 * in embedded runs and in clusters). Written `KIND:WORKER@STEP[:ARG]`:
 *   kill:2@100        worker 2 dies at the start of step 100 (SIGKILL: no goodbye, like a crashed host)
 *   pause:2@100:20    worker 2 freezes for 20 s at step 100 (like SIGSTOP: no progress, no answers)
 *   slow:2@0:50       from step 0 on, worker 2 takes 50 ms longer every step (a straggler)
 *   drop:2@100:0.1    from step 100 on, worker 2 silently drops each of its pushes with probability 0.1
 * and the poisoners, whose reports are valid messages, so no check of the protocol can tell them apart:
 *   flip:2@0:10       from step 0 on, worker 2 sends -10 times its contribution (a sign-flipping attacker)
 *   scale:2@0:10      from step 0 on, worker 2 sends 10 times its contribution (a boosting attacker: the right
 *                     direction, an outsized step)
 *   noise:2@0:1       from step 0 on, worker 2 sends Gaussian noise of standard deviation 1 in place of its
 *                     contribution (a random, Byzantine attacker), drawn from (seed, worker, step) so reruns agree
 */
export type FaultKind = 'kill' | 'pause' | 'slow' | 'drop' | PoisonKind;
export type PoisonKind = 'flip' | 'scale' | 'noise';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'slow', 'drop', 'flip', 'scale', 'noise'];

/** What a poisoner sends in place of its contribution. */
export interface Poison {
  kind: PoisonKind;
  /** flip, scale: the factor; noise: the standard deviation. */
  arg: number;
}

export interface Fault {
  kind: FaultKind;
  worker: number;
  step: number;
  /** pause: seconds; slow: milliseconds per step; drop: probability; flip, scale: the factor; noise: the standard deviation; kill: unused (0). */
  arg: number;
}

const FORMAT = /^(kill|pause|slow|drop|flip|scale|noise):(\d{1,6})@(\d{1,9})(?::([0-9.]+))?$/;

/** Parses one fault; the Error names what is wrong in the user's words. */
export function parseFault(text: string): Fault {
  const m = FORMAT.exec(text.trim());
  if (!m) throw new Error(`fault ${JSON.stringify(text)}: expected KIND:WORKER@STEP[:ARG] with KIND one of ${FAULT_KINDS.join(', ')} (e.g. kill:2@100, pause:2@100:20, slow:2@0:50, drop:2@100:0.1, flip:2@0:10, scale:2@0:10, noise:2@0:1)`);
  const kind = m[1] as FaultKind;
  const arg = m[4] === undefined ? NaN : Number(m[4]);
  const fault = { kind, worker: Number(m[2]), step: Number(m[3]), arg: kind === 'kill' ? 0 : arg };
  if (kind === 'kill' && m[4] !== undefined) throw new Error(`fault ${JSON.stringify(text)}: kill takes no argument`);
  if (kind === 'pause' && !(arg > 0 && arg <= 86_400)) throw new Error(`fault ${JSON.stringify(text)}: pause needs seconds, e.g. pause:2@100:20`);
  if (kind === 'slow' && !(arg > 0 && arg <= 3_600_000)) throw new Error(`fault ${JSON.stringify(text)}: slow needs milliseconds per step, e.g. slow:2@0:50`);
  if (kind === 'drop' && !(arg > 0 && arg <= 1)) throw new Error(`fault ${JSON.stringify(text)}: drop needs a probability in (0, 1], e.g. drop:2@100:0.1`);
  if (kind === 'flip' && !(arg > 0 && arg <= 1e6)) throw new Error(`fault ${JSON.stringify(text)}: flip needs the factor its contribution is sent times (negated), e.g. flip:2@0:10`);
  if (kind === 'scale' && !(arg > 0 && arg <= 1e6)) throw new Error(`fault ${JSON.stringify(text)}: scale needs the factor its contribution is sent times, e.g. scale:2@0:10`);
  if (kind === 'noise' && !(arg > 0 && arg <= 1e6)) throw new Error(`fault ${JSON.stringify(text)}: noise needs the standard deviation of what it sends, e.g. noise:2@0:1`);
  return fault;
}

export function formatFault(f: Fault): string {
  return `${f.kind}:${f.worker}@${f.step}${f.kind === 'kill' ? '' : `:${f.arg}`}`;
}

/** What a worker does at a step because of its faults. */
export interface FaultAction {
  kill: boolean;
  /** Freeze this long before computing (ms). */
  pauseMs: number;
  /** Extra time this step takes (ms). */
  delayMs: number;
  /** Do not send this step's push. */
  drop: boolean;
  /** What to send in place of this step's contribution (null: the contribution as it is). */
  poison: Poison | null;
}

/**
 * One worker's faults, step by step. Pure: the drop decisions come from a counter-based hash of
 * (seed, worker, step), so a run with the same settings drops the same pushes.
 */
export class FaultPlan {
  private readonly mine: Fault[];

  constructor(
    faults: readonly Fault[],
    readonly worker: number,
    private readonly seed: number,
  ) {
    this.mine = faults.filter((f) => f.worker === worker);
  }

  get empty(): boolean {
    return this.mine.length === 0;
  }

  /** This worker's faults as written, e.g. "slow:1@0:50, kill:1@100" (empty: none). */
  describe(): string {
    return this.mine.map(formatFault).join(', ');
  }

  at(step: number): FaultAction {
    const action: FaultAction = { kill: false, pauseMs: 0, delayMs: 0, drop: false, poison: null };
    for (const f of this.mine) {
      if (f.kind === 'kill' && step === f.step) action.kill = true;
      if (f.kind === 'pause' && step === f.step) action.pauseMs += f.arg * 1000;
      if (f.kind === 'slow' && step >= f.step) action.delayMs += f.arg;
      if (f.kind === 'drop' && step >= f.step && unitHash(this.seed, this.worker, step) < f.arg) action.drop = true;
      if ((f.kind === 'flip' || f.kind === 'scale' || f.kind === 'noise') && step >= f.step) action.poison = { kind: f.kind, arg: f.arg };
    }
    return action;
  }

  /** What this worker sends at `step` in place of `contribution` under `poison`. */
  poisoned(contribution: Float32Array, poison: Poison, step: number): Float32Array {
    const { kind, arg } = poison;
    if (kind === 'flip') return contribution.map((v) => -arg * v);
    if (kind === 'scale') return contribution.map((v) => arg * v);
    // Box-Muller over two counter-based uniforms per value: the same noise for the same (seed, worker, step).
    const out = new Float32Array(contribution.length);
    const base = unitHash(this.seed, this.worker, step) * 4294967296;
    for (let i = 0; i < out.length; i++) {
      const u = 1 - unitHash(base, 2 * i, step);
      const v = unitHash(base, 2 * i + 1, step);
      out[i] = arg * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    return out;
  }
}

/** A number in [0, 1) from (seed, worker, step): murmur3's finaliser over the three. */
function unitHash(seed: number, worker: number, step: number): number {
  let h = (seed ^ Math.imul(worker + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
