/** Colours shared by the report (Node) and the pages' browser code. */

/** Tableau 10: distinct hues for up to ten arms (or ten families of arms). */
export const ARM_PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

/** ColorBrewer Set2 then Dark2: one colour per class (the label histograms, per-class curves). */
export const CLASS_COLORS = ['#66c2a5', '#fc8d62', '#8da0cb', '#e78ac3', '#a6d854', '#ffd92f', '#e5c494', '#b3b3b3', '#1b9e77', '#d95f02'];
