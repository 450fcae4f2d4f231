// Every node's editor strings live in its locales/en-US catalog, as Node-RED's i18n wants:
// the edit template holds data-i18n keys only, the definition's labels go through this._(),
// the help sits in locales/en-US/<type>.html, and each key the editor or the runtime asks
// for exists (a missing key shows up in the editor as the bare key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './support/paths';

const TYPES = Object.keys(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))['node-red'].nodes) as string[];
const read = (...p: string[]) => fs.readFileSync(path.join(REPO, 'nodes', ...p), 'utf8');
// Message ids with a namespace, `node-red-contrib-split-dnn/<set>:<key>`, that any node's runtime may use.
const ALL_RUNTIME = fs.readdirSync(path.join(REPO, 'nodes'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => read(f)).join('\n');
const qualified = (type: string) => [...ALL_RUNTIME.matchAll(new RegExp(`node-red-contrib-split-dnn/${type}:(${type}\\.[A-Za-z0-9_.]+)`, 'g'))].map((m) => m[1]);

type Catalog = { [k: string]: string | string[] | Catalog };
function lookup(cat: Catalog, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Catalog)[k] : undefined), cat);
}
function leaves(o: unknown, prefix = ''): string[] {
  if (typeof o === 'string') return [prefix];
  return Object.entries(o as Catalog).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}
/** Keys used as `this._('x.y')` / `RED._('x.y')` / a status message id; a trailing dot marks a prefix completed at run time. */
function usedKeys(text: string, type: string): string[] {
  const re = new RegExp(`['"\`](${type}\\.[A-Za-z0-9_.]+)['"\`]`, 'g');
  return [...text.matchAll(re)].map((m) => m[1]);
}

for (const type of TYPES) {
  test(`${type}: editor strings, labels and help come from locales/en-US`, () => {
    const html = read(type, `${type}.html`);
    const catalog = JSON.parse(read(type, 'locales', 'en-US', `${type}.json`)) as Catalog;
    assert.deepEqual(Object.keys(catalog), [type], 'one namespace, named after the type');
    const help = read(type, 'locales', 'en-US', `${type}.html`);
    assert.match(help, new RegExp(`^<script type="text/html" data-help-name="${type}">\\s*<p>`), 'help starts with the palette tooltip paragraph');
    assert.doesNotMatch(html, /data-help-name/, 'no second help in the node file');
    // Help links to the docs go where Node-RED serves this module's resources/ (the build copies docs/ there).
    for (const [, doc] of help.matchAll(/href="resources\/node-red-contrib-split-dnn\/docs\/([^"]+)"/g)) {
      assert.ok(fs.existsSync(path.join(REPO, 'docs', doc)), `docs/${doc} exists`);
    }
    assert.doesNotMatch(help, /<code>docs\/[^<]*<\/code>(?!<\/a>)/, 'a docs/ reference is a link');

    assert.equal(typeof lookup(catalog, `${type}.paletteLabel`), 'string');
    assert.match(html, new RegExp(`paletteLabel: function \\(\\) \\{ return this\\._\\('${type}\\.paletteLabel'\\); \\}`));

    // The edit template: nothing but markup once tags and data-i18n'd elements are gone.
    const template = html.match(/<script type="text\/html" data-template-name="[^"]+">([\s\S]*?)<\/script>/)![1];
    const bare = template.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ').trim();
    assert.equal(bare, '', `untranslated text in the template: ${bare.slice(0, 80)}`);
    assert.doesNotMatch(template, /\splaceholder="/, 'placeholders via data-i18n="[placeholder]…"');
    const definition = html.match(/<script type="text\/javascript">([\s\S]*?)<\/script>/)![1];
    assert.doesNotMatch(definition, /(?:Labels?|label):\s*(?:\[\s*)?'/, 'labels are computed with this._(), not literals');

    const i18nKeys = [...template.matchAll(/data-i18n="(?:\[\w+\])?([^"]+)"/g)].map((m) => m[1]);
    assert.ok(i18nKeys.length > 0);
    const runtime = fs.readdirSync(path.join(REPO, 'nodes', type)).filter((f) => f.endsWith('.ts')).map((f) => read(type, f)).join('\n')
      .replace(/needsPermission\('[^']*'\)/g, ''); // admin permissions look like keys but are not
    const used = new Set([...i18nKeys, ...usedKeys(definition, type), ...usedKeys(runtime, type), ...qualified(type)]);
    for (const key of used) {
      const value = lookup(catalog, key.replace(/\.$/, ''));
      if (key.endsWith('.')) assert.equal(typeof value, 'object', `${key}… is a group in the catalog`);
      else assert.equal(typeof value, 'string', `${key} is in the catalog`);
    }
    // And the other way: no string in the catalog that nothing asks for.
    for (const leaf of leaves(catalog)) {
      const asked = used.has(leaf) || [...used].some((k) => k.endsWith('.') && leaf.startsWith(k));
      assert.ok(asked, `${leaf} is used by the editor or the runtime`);
    }
  });
}
