// The cloud's answer to a features frame, as tail-infer shapes it, for tests that play
// the cloud on a bare CloudLink.
import { decodeFrame, encodeFrame } from '../../lib/wire';

/** A result frame for the features frame `payload`, with class `index`. */
export function resultFor(payload: Buffer, index = 1): Buffer {
  const f = decodeFrame(payload);
  return encodeFrame({ ...f, kind: 'result', shape: [], payload: undefined, body: { index, label: 'x', confidence: 0.5, source: 'cloud' } });
}
