/**
 * How worker contributions become one update:
 *   sync-sgd  every step each worker sends its mean gradient; the average goes through the optimizer;
 *   fedavg    each worker runs --local-steps optimizer steps on its own copy, then parameters are
 *             averaged weighted by samples (McMahan et al. 2017);
 *   fedprox   fedavg plus a proximal term (--prox-mu / 2) * ||w - w_round_start||^2 in the local loss (Li et al. 2020).
 */
export type AggregationName = 'sync-sgd' | 'fedavg' | 'fedprox';
export const AGGREGATION_NAMES: readonly AggregationName[] = ['sync-sgd', 'fedavg', 'fedprox'];
