#!/usr/bin/env -S node --initial-heap-size=64
// The flags after `node` are src/node-flags.ts's NODE_FLAGS (why: there); node-flags.test.ts keeps them equal.
// The compiled CLI lives in ../dist (built by `npm ci` through the root `prepare` script, or `npm run build`).
require('../dist/main.js').cli();
