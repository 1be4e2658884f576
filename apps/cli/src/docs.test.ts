import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverrides } from '@shardlab/experiment';
import { commandUsage } from './main';

/*
 * The docs cannot drift from the CLI: every `shardlab <command> --flag` written in the README and docs/ names a
 * command and flags that command's --help lists, every key=value is a setting, every `npm run X` a script of
 * package.json, and every relative link a file (and heading) that exists.
 */
const ROOT = resolve(__dirname, '../../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'deploy/compose.yaml', 'deploy/k8s/README.md', 'experiments/smoke.yaml'];
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Mention {
  where: string;
  command: string;
  args: string[];
}

/** Every `shardlab WORD args...` on a line, up to a comment, a pipe, a closing backtick or the end of the line. */
function mentions(file: string): Mention[] {
  const out: Mention[] = [];
  text(file)
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/(?:^|[\s`(])(?:npx\s+)?shardlab\s+([a-z][a-z-]*)([^`#|;&)]*)/g)) {
        out.push({ where: `${file}:${i + 1}`, command: m[1]!, args: m[2]!.trim().split(/\s+/).filter(Boolean) });
      }
    });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('the docs agree with the CLI', () => {
  const all = DOCS.flatMap(mentions);

  it('finds the commands the docs show', () => {
    expect(all.filter((m) => commandUsage(m.command)).length).toBeGreaterThan(30);
  });

  it('every flag written after a command is one of its options, every key=value a setting', () => {
    const wrong: string[] = [];
    for (const m of all) {
      const usage = commandUsage(m.command);
      if (!usage) {
        // Prose ("shardlab runs ...") is fine; a flag after a word that is no command is a renamed command.
        if (m.args[0]?.startsWith('--')) wrong.push(`${m.where}: no command "${m.command}"`);
        continue;
      }
      for (const arg of m.args) {
        if (arg.startsWith('--')) {
          const flag = arg.split('=')[0]!.replace(/[.,:;]+$/, '');
          if (flag === '--help' || flag === '--') continue;
          if (!new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}([\\s\\[=,]|$)`, 'm').test(usage)) wrong.push(`${m.where}: shardlab ${m.command} has no option ${flag}`);
        } else if (/^[A-Za-z][A-Za-z0-9-]*=/.test(arg) && (m.command === 'run' || m.command === 'sweep')) {
          try {
            parseOverrides([arg], m.command === 'run');
          } catch (err) {
            wrong.push(`${m.where}: ${(err as Error).message}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every npm script the docs name exists', () => {
    const scripts = Object.keys((JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts);
    const wrong = DOCS.flatMap((file) => [...text(file).matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]!).filter((s) => !scripts.includes(s)).map((s) => `${file}: npm run ${s}`));
    expect(wrong).toEqual([]);
  });

  it('every relative link leads to a file, and to a heading in it', () => {
    const wrong: string[] = [];
    for (const file of DOCS.filter((f) => f.endsWith('.md'))) {
      for (const m of text(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const linked = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
        if (!existsSync(linked)) {
          wrong.push(`${file}: ${target}: no such file`);
          continue;
        }
        if (anchor && linked.endsWith('.md')) {
          const headings = [...readFileSync(linked, 'utf8').matchAll(/^#+ (.*)$/gm)].map((h) => slug(h[1]!));
          if (!headings.includes(anchor)) wrong.push(`${file}: ${target}: no heading #${anchor}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
