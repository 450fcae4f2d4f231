// `npm pack` as a user's install sees it, less the build (dist/ is built: npm test builds
// first): prepack's npm-shrinkwrap.json, the pack, postpack's clean-up.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO } from './paths';

/** Packs the repository into `dir`; returns the tarball's path. */
export function packTarball(dir: string): string {
  const shrinkwrap = (...args: string[]) => execFileSync(process.execPath, [path.join(REPO, 'scripts', 'shrinkwrap.js'), ...args]);
  shrinkwrap();
  try {
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop()!;
    return path.join(dir, name);
  } finally { shrinkwrap('--remove'); }
}
