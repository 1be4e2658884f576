import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
// Importing the wasm package registers the 'wasm' backend with tfjs-core as a side effect.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadNative } from '@shardlab/native';
import { registerWasmKernels } from './conv-grad';
import { NATIVE_BACKEND, registerNativeBackend } from './native-kernels';

export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = Object.freeze([
  'auto',
  'tensorflow',
  'native',
  'wasm',
  'cpu',
] as const);
/** The order 'auto' tries them in: fastest first. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'native', 'wasm', 'cpu'];
/** What --backend says in every command's --help. */
export const BACKEND_HELP = 'TensorFlow.js backend; auto = tensorflow, else native (OpenBLAS), else wasm, else cpu';

/** An explicitly requested backend cannot be used; the message is a single line meant for CLI output. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

// Inside vitest the source runs as an ESM-like module where a bare `require` may be missing,
// so fall back to a require rooted at the working directory (the workspace root in practice).
const nodeRequire: NodeJS.Require =
  typeof require === 'function' ? require : createRequire(path.join(process.cwd(), 'index.js'));

// Held in a variable so neither TypeScript nor a bundler tries to resolve the optional package.
const TFJS_NODE = '@tensorflow/tfjs-node';

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

/** Result of trying tfjs-node, remembered because a failed native load is not retried by Node anyway. */
let tfjsNodeStatus: { ok: true } | { ok: false; reason: string } | undefined;

function loadTfjsNode(): { ok: true } | { ok: false; reason: string } {
  if (tfjsNodeStatus) return tfjsNodeStatus;
  try {
    nodeRequire(TFJS_NODE);
    // tfjs-node registers 'tensorflow' on the tfjs-core it resolves; if that is a different copy
    // of tfjs-core than ours, the backend would be invisible to every tensor we create.
    tfjsNodeStatus = tf.findBackendFactory('tensorflow')
      ? { ok: true }
      : { ok: false, reason: `${TFJS_NODE} loaded but registered against a different @tensorflow/tfjs-core copy` };
  } catch (err) {
    const code = (err as { code?: string }).code;
    tfjsNodeStatus = {
      ok: false,
      reason:
        code === 'MODULE_NOT_FOUND'
          ? `${TFJS_NODE} is not installed`
          : `${TFJS_NODE} is installed but failed to load: ${firstLine(err)}`,
    };
  }
  return tfjsNodeStatus;
}

let wasmPathsSet = false;

/**
 * In Node the wasm backend otherwise looks for its .wasm binaries next to whatever script
 * loaded it, which breaks under bundlers and test runners; point it at the package's dist folder.
 */
function configureWasmPaths(): void {
  if (wasmPathsSet) return;
  const dist = path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  // Node has wasm SIMD but no wasm threads, so tfjs picks -simd.wasm; the plain one is the fallback.
  for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
    if (!fs.existsSync(path.join(dist, file))) {
      throw new BackendError(`wasm backend unavailable: ${file} missing in ${dist}`);
    }
  }
  setWasmPaths(dist + path.sep);
  wasmPathsSet = true;
}

async function activate(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  switch (name) {
    case 'tensorflow': {
      const status = loadTfjsNode();
      if (!status.ok) throw new BackendError(`tensorflow backend unavailable: ${status.reason}`);
      break;
    }
    case 'native': {
      const native = loadNative();
      if (!native.ok) throw new BackendError(`native backend unavailable: ${native.reason}`);
      registerNativeBackend(native.addon);
      break;
    }
    case 'wasm':
      configureWasmPaths();
      // The kernels wasm lacks for training a CNN (Conv2DBackpropFilter); idempotent.
      registerWasmKernels();
      break;
    case 'cpu':
      break;
  }
  // setBackend resolves false (after logging a warning) when the backend fails to initialise.
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendError(`${name} backend failed to initialise: ${firstLine(err)}`);
  }
  if (!ok) throw new BackendError(`${name} backend failed to initialise`);
  await tf.ready();
  if (name === 'cpu' || name === NATIVE_BACKEND) {
    // The cpu backend (native is one) prints a banner recommending tfjs-node on first use; we already
    // chose the fastest backend available and say which, so the banner only clutters the output.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
}

/** What 'auto' resolved to the first time, so later 'auto' calls come back to the same backend. */
let autoResolved: BackendName | undefined;
// Calls are serialised: two overlapping setBackend calls would leave the active backend undefined.
let pending: Promise<unknown> = Promise.resolve();

async function select(choice: BackendChoice): Promise<BackendName> {
  if (choice !== 'auto') {
    await activate(choice);
    return choice;
  }
  if (autoResolved) {
    await activate(autoResolved);
    return autoResolved;
  }
  for (const candidate of AUTO_ORDER) {
    try {
      await activate(candidate);
      autoResolved = candidate;
      return candidate;
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
    }
  }
  throw new BackendError(`no TensorFlow.js backend could be initialised (tried ${AUTO_ORDER.join(', ')})`);
}

/**
 * Threads OpenBLAS may use in this process (native backend). One by default: shardlab's parallelism comes
 * from trainer processes, and two BLAS threads per trainer on a 2-core machine only fight each other.
 * Throws BackendError when the native backend is unavailable.
 */
export function setBlasThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new BackendError(`BLAS threads must be an integer >= 1, got ${threads}`);
  const native = loadNative();
  if (!native.ok) throw new BackendError(`native backend unavailable: ${native.reason}`);
  native.addon.setThreads(threads);
}

/**
 * Why the native backend cannot be used here, or null when it can. For the one line a process prints at start
 * when 'auto' settles for something slower.
 */
export function nativeUnavailableReason(): string | null {
  const native = loadNative();
  return native.ok ? null : native.reason;
}

let unavailableSaid = false;

/**
 * The backend in use, for a log line: its name, and the first time a process settles below native, why native
 * is not used (said once, not on every run of a sweep).
 */
export function describeBackend(name: BackendName): string {
  const why = (name === 'wasm' || name === 'cpu') && !unavailableSaid ? nativeUnavailableReason() : null;
  if (!why) return name;
  unavailableSaid = true;
  return `${name} (native backend unavailable: ${why})`;
}

/**
 * 'auto': tensorflow if @tensorflow/tfjs-node loads, else native if the OpenBLAS addon was built, else wasm,
 * else cpu. An explicit choice that is
 * unavailable throws BackendError with a one-line reason. Returns the backend actually in use.
 * Idempotent, and switching between backends within one process is supported: tensors created on
 * one backend are moved by tfjs the first time they are used on another.
 */
export function initBackend(choice: BackendChoice): Promise<BackendName> {
  if (!BACKEND_CHOICES.includes(choice)) {
    return Promise.reject(
      new BackendError(`unknown backend '${String(choice)}' (expected one of ${BACKEND_CHOICES.join(', ')})`),
    );
  }
  const result = pending.then(() => select(choice));
  pending = result.catch(() => undefined);
  return result;
}
