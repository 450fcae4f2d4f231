// The byte-level pieces of compact answers: unsigned LEB128 varints, u16 and f32 little
// endian. The reader checks every length against the bytes present, so a short or forged
// body is a typed error and never an out-of-range read.

export class AnswerError extends Error {
  constructor(message: string) { super(message); this.name = 'AnswerError'; }
}

export class AnswerWriter {
  private readonly bytes: number[] = [];

  varint(v: number): this {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw new AnswerError(`varint ${v} is not an integer in 0..2^32-1`);
    let x = v;
    while (x >= 0x80) { this.bytes.push((x % 0x80) | 0x80); x = Math.floor(x / 0x80); }
    this.bytes.push(x);
    return this;
  }

  /** A fraction in [0, 1] as round(p · 65535). */
  unit16(p: number): this {
    const v = Math.round(Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0)) * 0xffff);
    this.bytes.push(v & 0xff, v >> 8);
    return this;
  }

  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes.push(...b);
    return this;
  }

  finish(): Uint8Array { return Uint8Array.from(this.bytes); }
}

export class AnswerReader {
  private at = 0;
  constructor(private readonly body: Uint8Array, private readonly what: string) {}

  private need(n: number): void {
    if (this.at + n > this.body.length) throw new AnswerError(`${this.what} answer ends after ${this.body.length} bytes, needs ${this.at + n}`);
  }

  varint(): number {
    let v = 0;
    for (let shift = 0, i = 0; ; shift += 7, i++) {
      if (i === 5) throw new AnswerError(`${this.what} answer: varint longer than 5 bytes`);
      this.need(1);
      const b = this.body[this.at++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (v > 0xffffffff) throw new AnswerError(`${this.what} answer: varint ${v} above 2^32-1`);
    return v;
  }

  /** A class index, refused unless below `classes` (0: no list to check against). */
  classIndex(classes: number): number {
    const index = this.varint();
    if (classes > 0 && index >= classes) throw new AnswerError(`${this.what} answer: class ${index} is not one of the ${classes} classes`);
    return index;
  }

  /** A count of items that each take at least `minBytes`: refused before anything is allocated for it. */
  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.body.length - this.at) throw new AnswerError(`${this.what} answer claims ${n} items, only ${this.body.length - this.at} bytes follow`);
    return n;
  }

  unit16(): number {
    this.need(2);
    const v = this.body[this.at] | (this.body[this.at + 1] << 8);
    this.at += 2;
    return v / 0xffff;
  }

  f32(): number {
    this.need(4);
    const v = new DataView(this.body.buffer, this.body.byteOffset + this.at, 4).getFloat32(0, true);
    this.at += 4;
    return v;
  }

  end(): void {
    if (this.at !== this.body.length) throw new AnswerError(`${this.what} answer has ${this.body.length - this.at} bytes after its end`);
  }
}
