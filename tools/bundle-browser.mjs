#!/usr/bin/env node
/*
 * Bundles the browser code of libs/report (src/browser/*.page.ts: report.html's script and the live
 * dashboard's) with Chart.js into one IIFE each, libs/report/dist/browser/<name>.js. The pages inline
 * these files, so a report opens offline and the dashboard fetches nothing but its event stream.
 * Run by `npm run prepare` (so by `npm ci`) and by the vitest setups that need fresh bundles.
 */
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'libs/report/src/browser');
const out = join(root, 'libs/report/dist/browser');

export function bundleBrowser() {
  const pages = readdirSync(source).filter((f) => f.endsWith('.page.ts'));
  mkdirSync(out, { recursive: true });
  for (const page of pages) {
    const outfile = join(out, page.replace(/\.page\.ts$/, '.js'));
    const { outputFiles } = buildSync({
      entryPoints: [join(source, page)],
      outfile,
      write: false,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      legalComments: 'inline',
      logLevel: 'error',
    });
    // Written aside then renamed: test projects bundle in parallel, and a reader never sees half a file.
    const tmp = `${outfile}.${process.pid}.tmp`;
    writeFileSync(tmp, outputFiles[0].contents);
    renameSync(tmp, outfile);
  }
  return pages.map((p) => join(out, p.replace(/\.page\.ts$/, '.js')));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) bundleBrowser();

/** As a vitest globalSetup: tests of the pages always see bundles of the current source. */
export function setup() {
  bundleBrowser();
}
