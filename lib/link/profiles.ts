// Named link profiles: the coalescing budget and keepalive as one choice (README, "Bytes
// on the link", has what each costs in bytes and latency).
export interface LinkProfile { coalesceMs: number; keepaliveS: number }

export const LINK_PROFILES: Record<string, LinkProfile> = {
  // Paid by the byte: a forwarded frame waits up to 5 s for company (~5 share a message at
  // 1 forwarded frame/s), and an idle link pings every 5 min instead of every 30 s.
  metered: { coalesceMs: 5000, keepaliveS: 300 },
};
