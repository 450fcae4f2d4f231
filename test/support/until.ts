/** Polls `cond` until it holds; throws after `ms` (for state that changes asynchronously). */
export async function until(cond: () => boolean, ms = 10_000, everyMs = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
