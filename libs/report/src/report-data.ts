/*
 * What report.html embeds as JSON: built by html-data.ts (Node), drawn by src/browser/report.page.ts.
 * Types only, so that the browser code can import them without Node's modules.
 */

/** label-histogram.json: per worker, how many samples of each class it was handed. */
export interface LabelHistogram {
  classNames: string[];
  perWorker: number[][];
  /** [step][worker][class]: what each worker's batch held in the first steps (runs made since it was recorded). */
  firstSteps?: number[][][];
}

/** A curve over steps, mean over seeds with the lowest and highest seed at each step. */
export interface Band {
  x: number[];
  mean: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  /** Steps per bucket after thinning (1 = every step); each bucket keeps its lowest and highest point. */
  bucket: number;
}

/** One seed's own curve (thinned like the bands). */
export interface SeedCurve {
  seed: number;
  x: number[];
  y: (number | null)[];
}

export interface ArmChartData {
  name: string;
  settings: string;
  /** The arm's family: its name up to the first - or _ (seq-cyclic-r1 -> seq); groups the arm filter. */
  family: string;
  /** Line and swatch colour (#rrggbb) and dash pattern ([] = solid), see armStyles. */
  color: string;
  dash: number[];
  /** Seeds whose curves are shown (completed runs; all runs if none completed). */
  seeds: number[];
  loss: Band | null;
  /** Per worker, the loss of that worker's batch (mean over seeds), on `workerLossX`. */
  workerLoss: (number | null)[][];
  workerLossX: number[];
  accuracy: Band | null;
  /** Each seed's loss and test accuracy, beside the mean and band. */
  seedLoss: SeedCurve[];
  seedAccuracy: SeedCurve[];
  /** Per class, test accuracy at each evaluation (mean over seeds), on `perClassX`. */
  perClassX: number[];
  perClassCurves: (number | null)[][];
  cosine: Band | null;
  divergence: Band | null;
  /** Final per-class test accuracy, mean and std over the completed seeds. */
  perClassMean: (number | null)[];
  perClassStd: (number | null)[];
  histogram: (LabelHistogram & { seed: number }) | null;
}

export interface ReportData {
  title: string;
  description: string;
  dataset: string;
  date: string;
  seeds: number[];
  target: number | null;
  reference: string | null;
  base: string;
  classNames: string[];
  arms: ArmChartData[];
  table: { header: string[]; rows: string[][]; rightAligned: boolean[]; notes: string[] };
  runs: { arm: string; seed: number; status: string; cells: string[] }[];
  runHeader: string[];
  failed: { arm: string; seed: number; error: string }[];
}

