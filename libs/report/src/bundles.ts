import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bundled browser code of a page (src/browser/<name>.page.ts with Chart.js, made by
 * tools/bundle-browser.mjs during `npm ci` / `npm run prepare`). Spelled via ../dist so that it names
 * the same file whether this module runs from dist/ or from src/ (tests).
 */
export function browserBundle(name: 'report' | 'dashboard'): string {
  const path = join(__dirname, '..', 'dist', 'browser', `${name}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: build the browser bundles with 'npm run prepare' (or 'node tools/bundle-browser.mjs')`);
  return readFileSync(path, 'utf8');
}

/** Text that is safe inside <script>: no `</script` or `<!--` can end or confuse the element. */
export function scriptSafe(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
