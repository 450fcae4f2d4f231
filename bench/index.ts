/**
 * Benchmark dispatcher: `node dist/bench/index.js <name> [--json] [args...]` loads
 * bench/<name>.js, awaits its `run(args)` and prints the result as JSON (one line with
 * --json, indented otherwise). A result with `ok: false` sets exit code 1.
 * To add a benchmark, export `run(args: string[]): Promise<unknown>` from bench/<name>.ts
 * and list it here.
 */
type Bench = { run(args: string[]): Promise<unknown> };

const BENCHES: Record<string, () => Bench> = {
  codec: () => require('./codec'),
  faults: () => require('./faults'),
  fuzz: () => require('./fuzz'),
  hostile: () => require('./hostile'),
  link: () => require('./link'),
  pipeline: () => require('./pipeline'),
  sparse: () => require('./sparse'),
  rate: () => require('./rate'),
  units: () => require('./units'),
  'image-input': () => require('./image-input'),
  exits: () => require('./exits'),
  edge: () => require('./edge'),
  'edge-memory': () => require('./edge-memory'),
};

/** Runs one benchmark and prints its result; resolves to the process exit code. */
export async function dispatch(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : BENCHES[name];
  if (!load) {
    console.error(`usage: node dist/bench/index.js <${Object.keys(BENCHES).join('|')}> [--json] [args...]`);
    return 2;
  }
  const json = rest.includes('--json');
  const result = await load().run(rest.filter((a) => a !== '--json'));
  console.log(JSON.stringify(result, null, json ? undefined : 2));
  return (result as { ok?: unknown })?.ok === false ? 1 : 0;
}

dispatch(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  },
);
