#!/usr/bin/env node
// `npm ci` runs this (the package's install script). It builds build/Release/shardlab_native.node with
// node-gyp when OpenBLAS is installed (Debian: libopenblas-dev), and otherwise leaves a one-line reason in
// build/status.json for the loader to report at start. It never fails the install: a machine without
// OpenBLAS still runs shardlab on wasm. Set SHARDLAB_NATIVE=0 to skip the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build');
const INSTALL_HINT = 'install the Debian package libopenblas-dev, then run npm ci (or npm rebuild @shardlab/native)';

function record(status) {
  // Not built now: an addon left by an earlier build (OpenBLAS since removed) must not be loaded.
  if (!status.built) fs.rmSync(path.join(buildDir, 'Release'), { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(path.join(buildDir, 'status.json'), JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + '\n');
  console.log(`@shardlab/native: ${status.built ? 'built with OpenBLAS' : `not built: ${status.reason}`}`);
}

const exists = (p) => fs.existsSync(p);
const INCLUDE_DIRS = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/include/openblas', '/usr/local/include'];
const LIB_DIRS = ['/usr/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/local/lib'];

function main() {
  if (process.env.SHARDLAB_NATIVE === '0') return record({ built: false, reason: 'skipped (SHARDLAB_NATIVE=0 at install)' });
  const header = INCLUDE_DIRS.map((d) => path.join(d, 'cblas.h')).find(exists);
  const lib = LIB_DIRS.map((d) => path.join(d, 'libopenblas.so')).find(exists);
  if (!header || !lib) {
    return record({ built: false, reason: `OpenBLAS development files not found (${!header ? 'cblas.h' : 'libopenblas.so'} missing): ${INSTALL_HINT}` });
  }
  // npm hands its own bundled node-gyp to install scripts; outside npm, fall back to one on the path.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, JOBS: '2' } });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`.trim().split('\n').slice(-12).join('\n');
    process.stderr.write(`@shardlab/native: node-gyp rebuild failed:\n${tail}\n`);
    const firstError = tail.split('\n').find((l) => /error/i.test(l)) ?? tail.split('\n').at(-1);
    return record({ built: false, reason: `the build failed (node-gyp rebuild in libs/native): ${firstError}` });
  }
  record({ built: true, reason: '', header, lib });
}

main();
