// The benchmarks' command-line flags: `--name value`, looked up by name.

/** The value after `--name`, or undefined when the flag is absent. */
export function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}
