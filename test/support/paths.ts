// Where tests find the repository's files from dist/test (compiled) or test/ (source).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []));
// SPLIT_DNN_TEST_BUNDLE points the suite at another bundle (a --quick training run, say).
export const BUNDLE = process.env.SPLIT_DNN_TEST_BUNDLE ?? path.join(REPO, 'models', 'fmnist-cnn');
export const DIST = path.join(REPO, 'dist');

/** A temporary folder removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of the shipped bundle that a test may alter. */
export function copyBundle(): string {
  const dir = tempDir('bundle');
  fs.cpSync(BUNDLE, dir, { recursive: true });
  return dir;
}
