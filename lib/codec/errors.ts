/** Why the codec refused its input. Every failure of the codec functions is one of these. */
export type CodecErrorCode =
  | 'BAD_INPUT' // wrong argument type
  | 'BAD_LIMITS'
  | 'BAD_QUANT' // step not finite > 0, or min/max not int32 with min <= max
  | 'BAD_CLAMP' // clamp range not 1..65536 symbols
  | 'BAD_TABLE' // precision, offset or counts invalid
  | 'BAD_SHAPE' // dims not positive integers, or disagree with the symbols / tables
  | 'OVER_CAP' // shape product above maxSymbols
  | 'SYMBOL_OUT_OF_RANGE' // a symbol outside the clamp range
  | 'BAD_STREAM' // empty stream, or a leading zero byte (non-canonical state)
  | 'NONCANONICAL_ESCAPE' // an escape that codes a symbol the table has
  | 'TRAILING_BYTES' // bytes left after the last symbol
  | 'BAD_FINAL_STATE'; // the state did not return to its initial value

export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;

  constructor(code: CodecErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}
