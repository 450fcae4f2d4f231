#!/usr/bin/env node
// The split-dnn command line: one entry, subcommands in their own modules so that
// `split-dnn eval` does not load Node-RED and `split-dnn start` does not load the evaluator.
const commands: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  start: { summary: 'run Node-RED with the split-DNN flows (edge, cloud or all-in-one)', load: () => import('./cmd-start') },
  split: { summary: 'cut your own ONNX model at a tensor into an 8-bit calibrated bundle (--list for the candidates)', load: () => import('./cmd-split') },
  eval: { summary: 'measure a bundle from its ONNX files: accuracy, exits, bytes per frame', load: () => import('./cmd-eval') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: split-dnn <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nsplit-dnn <command> --help for its options`;
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`split-dnn: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).main(rest);
}

main().then((code) => { process.exitCode = code; }, (err: Error) => {
  console.error(`split-dnn: ${err.message}`);
  process.exitCode = 1;
});
