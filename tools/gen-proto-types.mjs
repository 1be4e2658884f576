#!/usr/bin/env node
// Regenerates the TypeScript types of the wire contract (libs/protocol/src/generated/)
// from proto/shardlab/v1/shardlab.proto with @grpc/proto-loader's proto-loader-gen-types.
//
//   npm run gen:proto                      # rewrite libs/protocol/src/generated
//   node tools/gen-proto-types.mjs --out-dir /tmp/x   # generate elsewhere (the staleness test)
//
// The decoding flags (keepCase, longs, enums, defaults, oneofs) are read from
// libs/protocol/src/loader-options.json, the same file the runtime loader uses: the generated
// types describe exactly the objects @grpc/proto-loader hands to handlers only if both agree.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROTO_DIR = join(ROOT, 'proto');
// Relative to PROTO_DIR: the generated files then name it this way, independent of checkout path.
const PROTO_FILE = 'shardlab/v1/shardlab.proto';
const OPTIONS_FILE = join(ROOT, 'libs/protocol/src/loader-options.json');
const DEFAULT_OUT = join(ROOT, 'libs/protocol/src/generated');

function parseArgs(argv) {
  let outDir = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out-dir' || a === '-O') outDir = resolve(argv[++i] ?? fail(`${a} needs a directory`));
    else if (a.startsWith('--out-dir=')) outDir = resolve(a.slice('--out-dir='.length));
    else if (a === '--help' || a === '-h') {
      console.log('usage: node tools/gen-proto-types.mjs [--out-dir DIR]');
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  return { outDir };
}

function fail(message) {
  console.error(`gen-proto-types: ${message}`);
  process.exit(1);
}

/** loader-options.json -> proto-loader-gen-types flags, e.g. { longs: "String" } -> --longs=String. */
function optionFlags(options) {
  const flags = [];
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'boolean' || typeof value === 'string') flags.push(`--${key}=${value}`);
    else fail(`${relative(ROOT, OPTIONS_FILE)}: option ${key} has unsupported value ${JSON.stringify(value)}`);
  }
  return flags;
}

/** Every file under dir is a generated .ts file (or dir is absent): safe to replace wholesale. */
function looksGenerated(dir) {
  if (!existsSync(dir)) return true;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).every((e) => e.isDirectory() || e.name.endsWith('.ts'));
}

const { outDir } = parseArgs(process.argv.slice(2));
const options = JSON.parse(readFileSync(OPTIONS_FILE, 'utf8'));
const require = createRequire(import.meta.url);
const loaderPkg = require.resolve('@grpc/proto-loader/package.json');
const bin = join(dirname(loaderPkg), JSON.parse(readFileSync(loaderPkg, 'utf8')).bin['proto-loader-gen-types']);

if (!looksGenerated(outDir)) fail(`${outDir} holds files that are not generated .ts files; refusing to overwrite it`);

// Generate into a scratch directory and swap it in, so a failed run never leaves a
// half-written tree and messages removed from the proto leave no orphan files behind.
// (Into a subdirectory: mkdtemp's own directory is mode 0700, the generator's is not.)
const scratch = mkdtempSync(join(tmpdir(), 'shardlab-gen-'));
const fresh = join(scratch, 'generated');
try {
  const args = [
    bin,
    ...optionFlags(options),
    '--grpcLib=@grpc/grpc-js',
    // Carry the proto's comments (the contract's documentation) into the editor tooltips.
    '--includeComments',
    // Relative to cwd (ROOT) on purpose: the generator writes the resolved proto path into
    // every file ("// Original file: ..."); an absolute one would make the output depend on
    // where the repository is checked out.
    '--includeDirs',
    relative(ROOT, PROTO_DIR),
    '--outDir',
    fresh,
    PROTO_FILE,
  ];
  const res = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) fail(`proto-loader-gen-types exited with ${res.status ?? res.signal}`);
  rmSync(outDir, { recursive: true, force: true });
  try {
    renameSync(fresh, outDir);
  } catch {
    // Across file systems (tmpdir on another mount) rename fails: copy instead.
    cpSync(fresh, outDir, { recursive: true });
  }
  console.log(`gen-proto-types: wrote ${relative(process.cwd(), outDir) || '.'}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
