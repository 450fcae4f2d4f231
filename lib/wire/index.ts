export { crc32c } from './crc32c';
export { WireError } from './errors';
export type { WireErrorCode } from './errors';
export { decodeFrame, encodeFrame } from './frame';
export type { FrameInput } from './frame';
export { DEFAULT_FRAME_LIMITS, FRAME_KINDS, KIND_CODE, MIN_FRAME_BYTES, WIRE_VERSION } from './layout';
export type { Frame, FrameKind, FrameLimits, JsonObject } from './layout';
export { jsonPayload, readBirth, readDeath, readResult } from './payload';
export type { BirthBody, DeathBody, ResultBody } from './payload';
