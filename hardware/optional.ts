// The board nodes' libraries are optional dependencies: an install where serialport cannot
// build (no prebuild for the platform) still gets every other node. They load on first use.
import type * as Five from 'johnny-five';

export class MissingDependencyError extends Error {
  constructor(readonly module: string) {
    super(`${module} is not installed (an optional dependency of the board nodes); run "npm install ${module}" in the Node-RED user directory`);
    this.name = 'MissingDependencyError';
  }
}

/** require() of an optional dependency, with an error that says how to get it. */
export function optionalModule<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(`'${name}'`)) {
      throw new MissingDependencyError(name);
    }
    throw e;
  }
}

export const johnnyFive = (): typeof Five => optionalModule<typeof Five>('johnny-five');
