#!/usr/bin/env node
// The split-dnn command line: one entry, subcommands in their own modules so that
// `split-dnn eval` does not load Node-RED and `split-dnn start` does not load the evaluator.
const commands: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  start: { summary: 'run Node-RED with the split-DNN flows (edge, cloud or all-in-one)', load: () => import('./cmd-start') },
  split: { summary: 'cut your own ONNX model at a tensor into an 8-bit calibrated bundle (--list for the candidates)', load: () => import('./cmd-split') },
  'train-units': { summary: 'train learned bottleneck units and an early exit for a split bundle from unlabeled images', load: () => import('./cmd-train-units') },
  eval: { summary: 'measure a bundle from its ONNX files: accuracy, exits, bytes per frame', load: () => import('./cmd-eval') },
  keygen: { summary: 'make an ed25519 key pair for signing bundles', load: () => import('./cmd-ota').then((m) => m.keygen) },
  'sign-bundle': { summary: 'sign a bundle folder (signature.json) for over-the-air updates', load: () => import('./cmd-ota').then((m) => m.sign) },
  'publish-bundle': { summary: 'offer a signed bundle to gateways or groups over MQTT and follow the roll-out', load: () => import('./cmd-ota').then((m) => m.publish) },
  'install-service': { summary: 'write a systemd unit that runs a gateway or tail as a self-healing service', load: () => import('./cmd-install-service') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(15)} ${c.summary}`);
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
