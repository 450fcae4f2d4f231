/** Why a frame was refused. Every failure of decodeFrame/encodeFrame is one of these. */
export type WireErrorCode =
  | 'BAD_INPUT' // not a Uint8Array
  | 'BAD_LIMITS' // the caller's limits are not positive integers
  | 'TRUNCATED' // a field runs past the end of the bytes present
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_KIND'
  | 'BAD_FLAGS' // reserved flag bits set
  | 'BAD_FIELD' // encode only: an integer field out of its wire range
  | 'BAD_MODEL_ID' // encode only: model id is not 16 hex characters
  | 'BAD_TIMESTAMP' // above 2^53 - 1 ms, so not exact as a JS number
  | 'BAD_GATEWAY_ID' // length 0 or > 64, or a byte outside [A-Za-z0-9._-]
  | 'BAD_SHAPE' // ndim/dims not allowed for this kind
  | 'OVER_CAP' // a declared size above the configured cap
  | 'BAD_PAYLOAD' // payload does not fit its kind (ack not empty, JSON not an object, ...)
  | 'TRAILING_BYTES' // bytes after the CRC
  | 'BAD_CRC';

export class WireError extends Error {
  override readonly name = 'WireError';
  /** Which check failed. */
  readonly code: WireErrorCode;
  /** The frame field the check was about, e.g. 'gatewayId', 'payloadLength', 'crc'. */
  readonly field: string;

  constructor(code: WireErrorCode, field: string, detail: string) {
    super(`${code} at ${field}: ${detail}`);
    this.code = code;
    this.field = field;
  }
}
