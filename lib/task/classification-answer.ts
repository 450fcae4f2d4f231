// The classification answer body (CONTRACT.md): unsigned LEB128 class index, then the
// confidence as u16 LE round(p · 65535). Labels stay in the manifest.
import { AnswerReader, AnswerWriter } from './answer-bytes';

export interface ClassAnswer { index: number; confidence: number }

export function encodeClassAnswer(a: ClassAnswer): Uint8Array {
  return new AnswerWriter().varint(a.index).unit16(a.confidence).finish();
}

export function decodeClassAnswer(body: Uint8Array, classes: number): ClassAnswer {
  const r = new AnswerReader(body, 'classification');
  const index = r.classIndex(classes);
  const confidence = r.unit16();
  r.end();
  return { index, confidence };
}
