// A Map that keeps its newest `max` keys. Evicting the oldest through `keys().next()` looks
// O(1) but is not: V8 leaves a hole for every deleted entry until the table is rebuilt, and
// the iterator walks the holes from the front, so a full 8,192-entry cache paid ~33 µs per
// insert (bench: `npm run bench -- hostile`). Here the insertion order lives in a queue.

export class BoundedMap<K, V> extends Map<K, V> {
  private queue: K[] = [];
  private head = 0;

  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!super.has(key)) {
      this.queue.push(key);
      while (super.size >= this.max && this.head < this.queue.length) {
        const old = this.queue[this.head++];
        super.delete(old);
      }
      // Keys deleted by the caller stay queued until their turn; compact now and then.
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    return super.set(key, value);
  }

  override clear(): void {
    super.clear();
    this.queue = [];
    this.head = 0;
  }
}
