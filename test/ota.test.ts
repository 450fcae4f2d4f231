// Signing, offers and the chunked download without Node-RED or a broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPublicKey, verifyBundleSignature, SignatureError, keyId } from '../lib/ota/signing';
import { buildOffer, parseOffer, OfferError, ChunkRequest } from '../lib/ota/offer';
import { Download } from '../lib/ota/download';
import { tempDir } from './support/paths';
import { makeVersion, newKey, flipByte } from './support/ota-bundles';

test('signature: the pinned key verifies; another key, an edited manifest or no signature are refused', async () => {
  const key = newKey();
  const dir = await makeVersion('7.0.0-sig', key);
  const pub = readPublicKey(key.publicPem);
  assert.equal((await verifyBundleSignature(dir, pub)).keyId, keyId(pub));
  const other = newKey();
  await assert.rejects(verifyBundleSignature(dir, readPublicKey(other.publicPem)), (e: SignatureError) => e.code === 'WRONG_KEY');
  fs.appendFileSync(path.join(dir, 'manifest.json'), ' ');
  await assert.rejects(verifyBundleSignature(dir, pub), (e: SignatureError) => e.code === 'BAD_SIGNATURE');
  fs.rmSync(path.join(dir, 'signature.json'));
  await assert.rejects(verifyBundleSignature(dir, pub), (e: SignatureError) => e.code === 'NO_SIGNATURE');
  assert.throws(() => readPublicKey('not a key'), (e: SignatureError) => e.code === 'BAD_KEY');
});

test('offer: built from a signed bundle, and a hostile offer is refused with a clear reason', async () => {
  const dir = await makeVersion('7.0.1-offer', newKey());
  const offer = await buildOffer(dir);
  assert.deepEqual(offer.files.slice(0, 2).map((f) => f.path), ['manifest.json', 'signature.json']);
  assert.deepEqual(parseOffer(JSON.stringify(offer)).files, offer.files);
  const bad = (change: object) => () => parseOffer(JSON.stringify({ ...offer, ...change }));
  assert.throws(bad({ files: [...offer.files, { path: '../../etc/passwd', size: 1, sha256: 'a'.repeat(64) }] }), OfferError);
  assert.throws(bad({ files: [...offer.files, { path: '/etc/passwd', size: 1, sha256: 'a'.repeat(64) }] }), /not a plain relative path/);
  assert.throws(bad({ modelId: 'NOT-HEX' }), /modelId/);
  assert.throws(bad({ chunkSize: 10 }), /chunkSize/);
  assert.throws(() => parseOffer('{'), /not JSON/);
});

test('download: chunks out of order and lost ones still give the exact files; a wrong byte in transit restarts that file', async () => {
  const src = await makeVersion('7.0.2-dl', newKey());
  const offer = await buildOffer(src, { chunkSize: 16 * 1024 });
  const staging = tempDir('staging');
  let n = 0;
  let corruptOnce = true;
  const dl: Download = new Download(offer, staging, {
    request(req: ChunkRequest) {
      n++;
      if (n % 7 === 0) return; // lost: the stall timer asks again
      let data = fs.readFileSync(path.join(src, req.file)).subarray(req.offset, req.offset + req.length);
      if (req.file === 'head.onnx' && corruptOnce && req.offset > 0) { corruptOnce = false; data = Buffer.from(data); data[0] ^= 1; }
      setTimeout(() => dl.receive({ modelId: req.modelId, file: req.file, offset: req.offset }, data), n % 3); // reordered
    },
  }, { window: 6, retryMs: 200 });
  // The stall timer is unref'd (a link keeps a real process alive); here nothing else would.
  const alive = setInterval(() => undefined, 1000);
  await dl.run().finally(() => clearInterval(alive));
  for (const f of offer.files) assert.deepEqual(fs.readFileSync(path.join(staging, f.path)), fs.readFileSync(path.join(src, f.path)), f.path);
  const p = dl.progress();
  assert.equal(p.restartedFiles, 1);
  assert.ok(p.retries > 0);
  assert.equal(p.bytes, p.total);
  // The tamper helper really changes bytes (the flow tests rely on it).
  flipByte(src, 'head.onnx');
  assert.notDeepEqual(fs.readFileSync(path.join(src, 'head.onnx')), fs.readFileSync(path.join(staging, 'head.onnx')));
});
