// A small --flag value parser shared by the subcommands (node:util parseArgs with the
// one behaviour we want everywhere: a clear message on an unknown flag).
import { parseArgs as nodeParseArgs, ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseArgs<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return nodeParseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage}`);
  }
}
