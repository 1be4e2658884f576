import { AGGREGATION_NAMES, COMBINE_NAMES, checkCombine, type AggregationName, type CombineName, type OptimizerName, type RobustRule } from '@shardlab/aggregation';
import { collectiveNeeds, isPowerOfTwo, type CollectiveName } from '@shardlab/collective';
import { createModel, type Model, type ModelSpec } from '@shardlab/model';
import { BUFFERS_RULES, type BuffersRule } from './buffers';
import type { JoinReply__Output } from '@shardlab/protocol';
import { aggregationRule, type AggregationRule } from './aggregation-rules';
import { FaultPlan, parseFault } from './faults';
import { Replica } from './replica';
import { modelFromWire, restoreFromWire } from './wire-specs';
import { WorkerError, type WorkerModel } from './worker-loop';

/** Everything a worker builds from the coordinator's join reply before its first step. */
export interface WorkerSetup {
  spec: ModelSpec;
  model: WorkerModel & { dispose(): void };
  replica: Replica;
  rule: AggregationRule;
  syncBatchNorm: boolean;
  /** What happens to the buffers (BatchNorm running statistics) across workers after each step. */
  buffersRule: BuffersRule;
  faults: FaultPlan;
  /** A robust --combine the collective among the workers computes (shared memory); null for the mean, and under relay (the coordinator combines). */
  robust: RobustRule | null;
  /** 0, or the step a resumed run or a replacement starts at (the replica then holds the coordinator's state). */
  startStep: number;
}

/**
 * A worker's bootstrap: from the join reply to the model, replica, update rule and fault plan it trains with, and
 * the coordinator's state when it starts after step 0. Throws WorkerError naming what in the reply is wrong; a
 * process or a thread wraps it in its own shell.
 */
export async function bootstrapWorker(joined: JoinReply__Output, collective: CollectiveName): Promise<WorkerSetup> {
  let built: ReturnType<typeof modelFromWire>;
  try {
    built = modelFromWire(joined.model!);
  } catch (err) {
    throw new WorkerError(`the coordinator's model: ${(err as Error).message}`);
  }
  const { spec, syncBatchNorm } = built;
  const opt = joined.optimizer!;
  const optimizer = { name: opt.name as OptimizerName, lr: opt.lr, momentum: opt.momentum, beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon };
  const replica = new Replica(spec, optimizer);
  const aggregation = joined.aggregation as AggregationName;
  if (!AGGREGATION_NAMES.includes(aggregation)) throw new WorkerError(`the coordinator asks for aggregation ${JSON.stringify(joined.aggregation)}, which this trainer does not know`);
  if (collective === 'halving-doubling' && !isPowerOfTwo(joined.workers)) {
    throw new WorkerError(`the coordinator asks for halving-doubling among ${joined.workers} workers; it needs a power of two (1, 2, 4, 8, ...)`);
  }
  const rule = aggregationRule(aggregation, { optimizer, proxMu: joined.proxMu });
  const robust = robustRule(joined, collective);
  let faults: FaultPlan;
  try {
    faults = new FaultPlan(joined.faults.map(parseFault), joined.worker, spec.initSeed);
  } catch (err) {
    throw new WorkerError(`the coordinator's faults: ${(err as Error).message}`);
  }
  const buffersRule = (joined.buffersRule || 'local') as BuffersRule;
  if (!BUFFERS_RULES.includes(buffersRule)) throw new WorkerError(`the coordinator asks for --buffers ${JSON.stringify(joined.buffersRule)}, which this trainer does not know`);
  let model: Model;
  try {
    model = await createModel(spec);
  } catch (err) {
    // A loaded model this backend cannot train (its trial step names the layer and the backends that can).
    throw new WorkerError(`the coordinator's model: ${(err as Error).message}`);
  }
  const startStep = joined.startStep;
  if (startStep > 0) {
    // A resumed run or a replacement: this replica continues from the coordinator's state, bit for bit.
    try {
      restoreFromWire(joined, replica, model);
    } catch (err) {
      model.dispose();
      throw new WorkerError(`the coordinator's state at step ${startStep}: ${(err as Error).message}`);
    }
  }
  return { spec, model, replica, rule, syncBatchNorm, buffersRule, faults, robust, startStep };
}

/** The join reply's --combine, when this worker's collective must compute it; refused where the collective cannot. */
function robustRule(joined: JoinReply__Output, collective: CollectiveName): RobustRule | null {
  // An older coordinator's reply has no rule: the mean.
  const name = (joined.combine || 'mean') as CombineName;
  if (!COMBINE_NAMES.includes(name)) throw new WorkerError(`the coordinator asks to combine by ${JSON.stringify(joined.combine)}, which this trainer does not know`);
  const needs = collectiveNeeds(collective);
  if (name === 'mean' || needs.coordinatorAverages) return null;
  if (!needs.robustRules) throw new WorkerError(`the coordinator asks for --combine ${name} under the ${collective}, which only ever holds partial sums`);
  const rule: RobustRule = { name, trim: joined.trim, krumF: joined.krumF };
  try {
    checkCombine(name, joined.workers, rule);
  } catch (err) {
    throw new WorkerError(`the coordinator's --combine: ${(err as Error).message}`);
  }
  return rule;
}
