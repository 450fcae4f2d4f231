// Named link profiles: the coalescing budget and keepalive as one choice (README, "Bytes
// on the link", has what each costs in bytes and latency).
import { DEFAULT_COALESCE_MS } from './edge-link-types';

export interface LinkProfile { coalesceMs: number; keepaliveS: number }

export const LINK_PROFILES: Record<string, LinkProfile> = {
  // Paid by the byte: a forwarded frame waits up to 5 s for company (~5 share a message at
  // 1 forwarded frame/s), and an idle link pings every 5 min instead of every 30 s.
  metered: { coalesceMs: 5000, keepaliveS: 300 },
};

/** The coalescing budget a split-link field asks for: blank (or a flow made before the
 *  field) gets the default; anything but a whole number of ms is reported and gets it too. */
export function coalesceOf(field: string | undefined, warn: (message: string) => void): number {
  if (field === undefined || field.trim() === '') return DEFAULT_COALESCE_MS;
  const ms = Number(field);
  if (Number.isInteger(ms) && ms >= 0) return ms;
  warn(`coalescing budget "${field}" is not a whole number of ms: using ${DEFAULT_COALESCE_MS}`);
  return DEFAULT_COALESCE_MS;
}
