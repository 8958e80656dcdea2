/**
 * Groups many small writes into one: callers add an item and get a promise that settles when the batch holding it is
 * flushed, at most `delayMs` after the batch's first item or as soon as it holds `max` items. Both job backends use it
 * to mark completed jobs with one statement per batch instead of one per job.
 */
export class WriteBatcher<T> {
  private items: T[] = [];
  private settle: { resolve(): void; reject(error: unknown): void } | null = null;
  private done: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushFn: (items: T[]) => Promise<void>;
  private readonly max: number;
  private readonly delayMs: number;

  constructor(flush: (items: T[]) => Promise<void>, options: { max: number; delayMs: number }) {
    this.flushFn = flush;
    this.max = options.max;
    this.delayMs = options.delayMs;
  }

  add(item: T): Promise<void> {
    if (this.done === null) {
      this.done = new Promise<void>((resolve, reject) => {
        this.settle = { resolve, reject };
      });
      this.timer = setTimeout(() => this.flush(), this.delayMs);
    }
    const done = this.done;
    this.items.push(item);
    if (this.items.length >= this.max) this.flush();
    return done;
  }

  private flush(): void {
    clearTimeout(this.timer);
    const items = this.items;
    const settle = this.settle;
    this.items = [];
    this.settle = null;
    this.done = null;
    if (settle === null || items.length === 0) return;
    this.flushFn(items).then(() => settle.resolve(), (error: unknown) => settle.reject(error));
  }
}
