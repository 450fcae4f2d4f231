// A reader for the subset of .proto (proto2) that onnx.proto uses: packages, nested
// messages and enums, optional/repeated fields, oneof, [packed = true] and reserved.
// It yields the field tables lib/split/proto-codec.ts encodes and decodes by.

export type ScalarType = 'double' | 'float' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'bool' | 'string' | 'bytes' | 'fixed32' | 'fixed64';

export interface FieldSpec {
  /** camelCase, as the decoded objects name it. */
  name: string;
  number: number;
  repeated: boolean;
  packed: boolean;
  /** A scalar, 'enum', or the full name of a message type. */
  type: ScalarType | 'enum' | { message: string };
}

export interface MessageSpec {
  name: string;
  fields: FieldSpec[];
  byNumber: Map<number, FieldSpec>;
}

export type Schema = Map<string, MessageSpec>;

const SCALARS = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'bool', 'string', 'bytes', 'fixed32', 'fixed64']);
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

interface RawField { name: string; number: number; repeated: boolean; packed: boolean; typeName: string; scope: string[] }

/** Parses the schema text; message names are full (e.g. "onnx.TypeProto.Tensor"). */
export function parseProto(text: string): Schema {
  const tokens = text
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .match(/"[^"]*"|[A-Za-z_][\w.]*|0x[0-9a-fA-F]+|-?\d+|[{}=;[\],<>()]/g) ?? [];
  let at = 0;
  const next = () => tokens[at++];
  const skipStatement = () => { while (at < tokens.length && tokens[at] !== ';') at++; at++; };
  const skipBlock = () => { let depth = 0; do { const t = next(); if (t === '{') depth++; else if (t === '}') depth--; } while (depth > 0 && at < tokens.length); };

  let pkg: string[] = [];
  const messages = new Map<string, RawField[]>();
  const enums = new Set<string>();

  function body(scope: string[], into: RawField[] | null): void {
    while (at < tokens.length) {
      const t = next();
      if (t === '}') return;
      if (t === ';') continue;
      if (t === 'message') { const name = next(); next(); const fields: RawField[] = []; messages.set([...scope, name].join('.'), fields); body([...scope, name], fields); }
      else if (t === 'enum') { enums.add([...scope, next()].join('.')); skipBlock(); }
      else if (t === 'oneof') { next(); next(); body(scope, into); }
      else if (t === 'package') { pkg = next().split('.'); skipStatement(); scope.push(...pkg); }
      else if (t === 'syntax' || t === 'option' || t === 'reserved' || t === 'import' || t === 'extensions') skipStatement();
      else if (into) {
        const label = t === 'optional' || t === 'repeated' || t === 'required' ? t : null;
        const typeName = label ? next() : t;
        const name = next();
        if (next() !== '=') throw new Error(`onnx.proto: expected "=" after field ${name}`);
        const number = Number(next());
        let packed = false;
        if (tokens[at] === '[') {
          while (tokens[at] !== ']') { if (tokens[at] === 'packed' && tokens[at + 2] === 'true') packed = true; at++; }
          at++;
        }
        skipStatement();
        into.push({ name: camel(name), number, repeated: label === 'repeated', packed, typeName, scope: [...scope] });
      } else throw new Error(`onnx.proto: unexpected "${t}" outside a message`);
    }
  }
  body([], null);

  const resolve = (typeName: string, scope: string[]): string | null => {
    for (let i = scope.length; i >= 0; i--) {
      const full = [...scope.slice(0, i), typeName].join('.');
      if (messages.has(full) || enums.has(full)) return full;
    }
    return null;
  };
  const schema: Schema = new Map();
  for (const [name, raw] of messages) {
    const fields = raw.map((f): FieldSpec => {
      let type: FieldSpec['type'];
      if (SCALARS.has(f.typeName)) type = f.typeName as ScalarType;
      else {
        const full = resolve(f.typeName, f.scope);
        if (!full) throw new Error(`onnx.proto: unknown type ${f.typeName} in ${name}`);
        type = enums.has(full) ? 'enum' : { message: full };
      }
      return { name: f.name, number: f.number, repeated: f.repeated, packed: f.packed, type };
    });
    fields.sort((a, b) => a.number - b.number); // the order protoc's serializers write
    schema.set(name, { name, fields, byNumber: new Map(fields.map((f) => [f.number, f])) });
  }
  return schema;
}
