// A gateway that takes updates, as its own process (so a test can SIGKILL it mid-download):
// node-red-node-test-helper with a split-model, a split-link and a split-ota, printing
// every update report as one JSON line. argv: broker URL, user dir, bundle dir, public key file.
import * as fs from 'node:fs';
import { helper, startRed, ALL_NODES } from './red';

const [url, userDir, bundle, keyFile] = process.argv.slice(2);

async function main(): Promise<void> {
  await startRed();
  helper.settings({ userDir, splitDnn: { otaPublicKey: fs.readFileSync(keyFile, 'utf8') } });
  await helper.load(ALL_NODES, [
    { id: 'f1', type: 'tab' },
    { id: 'model', type: 'split-model', bundle, workers: '1' },
    { id: 'link', type: 'split-link', broker: url, protocol: '4', gateway: 'gw-kill', group: '', outboxDir: '' },
    { id: 'ota', type: 'split-ota', z: 'f1', model: 'model', link: 'link', role: 'gateway', groups: '', probationAnswers: '20', probationSeconds: '1', maxErrors: '3', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
  ], {});
  const model = helper.getNode('model') as unknown as { runtime: Promise<{ modelId: string }> };
  console.log(JSON.stringify({ ready: (await model.runtime).modelId }));
  (helper.getNode('out') as unknown as NodeJS.EventEmitter).on('input', (msg: { payload: unknown }) => console.log(JSON.stringify({ report: msg.payload })));
}

main().catch((err) => { console.error(err); process.exit(1); });
