/**
 * V8 flags every shardlab process runs with: the trainers embedded mode starts (embedded.ts), and the
 * `shardlab` command itself through the shebang of bin/shardlab.js (which must say the same; a test checks).
 *
 * --initial-heap-size=64 (MB): a floor under the old generation's allocation limit. A trainer's JS heap is
 * small (~10 MB) but it churns through large ArrayBuffers every step (gRPC frames, ring chunks, batches),
 * which V8 counts against that limit; with the limit sized from the tiny live heap, V8 ran a full
 * mark-compact every few steps. Measured on 2 cores (4-worker ring all-reduce of 109k floats, 300 rounds):
 * 20.2 ms and 8.6 ms CPU per round per worker without the floor, 9.6 ms and 3.9 ms with it; 4 trainers end
 * to end went from 17-22 to 26 steps/s. It costs at most 64 MB of address space per process.
 */
export const NODE_FLAGS: readonly string[] = ['--initial-heap-size=64'];
