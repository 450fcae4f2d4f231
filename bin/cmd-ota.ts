// `split-dnn keygen`, `split-dnn sign-bundle` and `split-dnn publish-bundle`: what an
// operator runs to sign a bundle and roll it out over MQTT (docs/fleet.md).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from './args';
import { generateSigningKey, readPrivateKey, signBundle } from '../lib/ota/signing';
import { loadBundle } from '../lib/model/bundle';
import { BundlePublisher } from '../lib/ota/publisher';
import { offerBytes } from '../lib/ota/offer';

const KEYGEN = `usage: split-dnn keygen --out DIR [--name NAME]

Writes an ed25519 key pair for signing bundles: DIR/NAME.key (private, mode 0600: keep it
off the gateways) and DIR/NAME.pub (pin it on every gateway: SPLIT_DNN_OTA_PUBLIC_KEY).`;

const SIGN = `usage: split-dnn sign-bundle --key KEY.key --bundle DIR

Checks every file of the bundle against its manifest, then writes DIR/signature.json:
the ed25519 signature of manifest.json (which holds every file's sha256).`;

const PUBLISH = `usage: split-dnn publish-bundle --bundle DIR --broker URL (--gateway ID | --group NAME)... [options]

Offers a signed bundle (a retained offer on split/<gateway>/ota/offer or split/~<group>/ota/offer),
serves its chunks to the gateways that ask, and prints their reports until every named
gateway has committed it (or --wait-for lists who to wait for; groups name no one).

  --gateway ID         offer to this gateway (repeat or comma-separate)
  --group NAME         offer to every runtime in this group (tails first, then gateways)
  --mqtt-version 4|5   (default 5)
  --chunk-size BYTES   (default 65536)
  --max-rate BYTES/S   cap on bytes served per second (default: none)
  --url URL            offer the files from this HTTP base URL instead of MQTT chunks
  --wait-for IDS       gateways to wait for (default: the --gateway ones)
  --timeout S          give up waiting after S seconds (default 600)
  --keep               leave the offer retained (gateways that come up later take it)`;

const list = (v: unknown): string[] => ([] as string[]).concat((v as string[] | string | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

export const keygen = {
  async main(argv: string[]): Promise<number> {
    const args = parseArgs(argv, { out: { type: 'string' }, name: { type: 'string', default: 'split-dnn-signing' } }, KEYGEN);
    if (args.help) { console.log(KEYGEN); return 0; }
    if (!args.out) throw new Error(`--out is required\n\n${KEYGEN}`);
    const k = generateSigningKey();
    await fs.mkdir(args.out, { recursive: true });
    const priv = path.join(args.out, `${args.name}.key`);
    const pub = path.join(args.out, `${args.name}.pub`);
    await fs.writeFile(priv, k.privatePem, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'EEXIST' ? `${priv} exists: not overwriting a signing key` : err.message);
    });
    await fs.writeFile(pub, k.publicPem);
    console.log(`key ${k.keyId}: private ${priv}, public ${pub}`);
    return 0;
  },
};

export const sign = {
  async main(argv: string[]): Promise<number> {
    const args = parseArgs(argv, { key: { type: 'string' }, bundle: { type: 'string' } }, SIGN);
    if (args.help) { console.log(SIGN); return 0; }
    if (!args.key || !args.bundle) throw new Error(`--key and --bundle are required\n\n${SIGN}`);
    const bundle = await loadBundle(args.bundle); // never sign files that do not match their manifest
    const sig = await signBundle(bundle.dir, readPrivateKey(await fs.readFile(args.key)));
    console.log(`signed ${bundle.manifest.name} ${bundle.manifest.version} (model ${bundle.modelId}) with key ${sig.keyId}`);
    return 0;
  },
};

export const publish = {
  async main(argv: string[]): Promise<number> {
    const args = parseArgs(argv, {
      bundle: { type: 'string' }, broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      gateway: { type: 'string', multiple: true }, group: { type: 'string', multiple: true },
      'mqtt-version': { type: 'string', default: '5' }, 'chunk-size': { type: 'string' }, 'max-rate': { type: 'string' },
      url: { type: 'string' }, 'wait-for': { type: 'string' }, timeout: { type: 'string', default: '600' }, keep: { type: 'boolean', default: false },
    }, PUBLISH);
    if (args.help) { console.log(PUBLISH); return 0; }
    if (!args.bundle) throw new Error(`--bundle is required\n\n${PUBLISH}`);
    const gateways = list(args.gateway);
    const pub = await BundlePublisher.open({
      settings: { url: String(args.broker), protocolVersion: args['mqtt-version'] === '4' ? 4 : 5, username: process.env.SPLIT_DNN_MQTT_USERNAME, password: process.env.SPLIT_DNN_MQTT_PASSWORD },
      bundleDir: args.bundle, gateways, groups: list(args.group),
      chunkSize: args['chunk-size'] ? Number(args['chunk-size']) : undefined, maxBytesPerSec: Number(args['max-rate']) || 0, url: args.url,
    });
    console.log(`offered ${pub.offer.name} ${pub.offer.version} (model ${pub.offer.modelId}, ${offerBytes(pub.offer)} bytes in ${pub.offer.files.length} files)`);
    pub.on('report', (r) => console.log(`${r.gateway}: ${r.state}${r.reason ? ` (${r.step}: ${r.reason})` : ''}`));
    const waitFor = args['wait-for'] ? list(args['wait-for']) : gateways;
    let code = 0;
    try {
      if (waitFor.length) {
        const done = await pub.waitFor(waitFor, ['committed', 'current', 'added', 'refused', 'rolled-back'], Number(args.timeout) * 1000);
        code = done.every((r) => ['committed', 'current', 'added'].includes(r.state)) ? 0 : 1;
      }
    } finally {
      if (!args.keep) await pub.withdraw();
      await pub.close();
    }
    return code;
  },
};
