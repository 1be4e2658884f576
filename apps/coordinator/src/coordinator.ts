import { resolveCollective, runExperiment, type ExperimentConfig, type RunOutcome, type Security, type TrainingSession } from '@shardlab/experiment';
import { RunSecret, serverCredentials } from '@shardlab/protocol';
import { ProgressLine, formatDuration, type RunObserver } from '@shardlab/report';
import { serveSession } from './server';

export interface CoordinatorOptions {
  host: string;
  port: number;
  out: string;
  /** The run token and TLS material; none: plaintext, no token (loopback only, see checkExposure). */
  security?: Security;
  /** Called once listening, with the address trainers should dial. */
  onListening?: (address: string, session: TrainingSession) => void;
  quiet?: boolean;
  saveSnapshots?: boolean;
  reference?: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** Watches the run (the live dashboard). */
  observer?: RunObserver;
  /** The trainers are started on this host by shardlab itself (embedded runs): --collective auto may average among them (halving-doubling or ring). */
  trainersHere?: boolean;
}

/** Serves one experiment over gRPC, with a live progress line, and writes its files. */
export async function runCoordinator(experiment: ExperimentConfig, opts: CoordinatorOptions): Promise<RunOutcome> {
  const progress = new ProgressLine();
  const log = (line: string) => {
    if (opts.quiet) return;
    progress.clear();
    process.stderr.write(`[coordinator] ${line}\n`);
  };
  const config = resolveCollective(experiment, opts.trainersHere ?? false);
  if (experiment.collective === 'auto') log(`--collective auto: averaging by ${config.collective}`);
  const stopHandlers: (() => void)[] = [];
  try {
    return await runExperiment(config, {
      out: opts.out,
      saveSnapshots: opts.saveSnapshots,
      reference: opts.reference,
      resume: opts.resume,
      observer: opts.observer,
      serve: (session) =>
        serveSession(session, opts.host, opts.port, {
          secret: opts.security?.token ? new RunSecret(opts.security.token) : null,
          credentials: serverCredentials(opts.security?.tls ?? null),
          keepalive: { time: config.keepaliveTime, timeout: config.keepaliveTimeout },
        }),
      onListening: (address, session) => {
        log(`listening on ${address}; waiting for ${config.workers} trainer(s); writing to ${opts.out}`);
        // Ctrl-C or `docker stop`: stop the run at a step boundary (a checkpoint written under relay, trainers told,
        // summary.json written) instead of dying mid-write. `once`: a second signal ends the process the default way.
        for (const signal of ['SIGINT', 'SIGTERM'] as const) {
          const stop = () => session.stop(`stopped by ${signal}`);
          process.once(signal, stop);
          stopHandlers.push(() => process.off(signal, stop));
        }
        opts.onListening?.(address, session);
      },
      onProgress: (p) => {
        if (opts.quiet) return;
        const eta = p.stepsPerSecond > 0 ? (p.steps - p.step) / p.stepsPerSecond : NaN;
        const acc = p.testAccuracy === null ? '-' : (100 * p.testAccuracy).toFixed(1) + '%';
        progress.update(
          `[${config.strategy}] step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  test acc ${acc}  ${p.stepsPerSecond.toFixed(1)} steps/s  ETA ${formatDuration(eta)}`,
          p.step === p.steps,
        );
      },
      log,
    });
  } finally {
    for (const off of stopHandlers) off();
  }
}
