/**
 * The per-provider concurrency limit of revocations inside one process. Batched erasure revocations and single
 * revocation jobs draw from the same gate, so however many batches run at once, no provider sees more than `limit`
 * revocation calls in flight from this process. Waiters are served in arrival order.
 */
export class ProviderGate {
  private readonly limit: number;
  private readonly active = new Map<string, number>();
  private readonly queues = new Map<string, Array<() => void>>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`the per-provider limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Calls currently in flight for a provider. */
  inFlight(provider: string): number {
    return this.active.get(provider) ?? 0;
  }

  private async acquire(provider: string): Promise<void> {
    const count = this.active.get(provider) ?? 0;
    if (count < this.limit) {
      this.active.set(provider, count + 1);
      return;
    }
    await new Promise<void>((resolve) => {
      let queue = this.queues.get(provider);
      if (queue === undefined) {
        queue = [];
        this.queues.set(provider, queue);
      }
      // The slot is handed over by release(): the count stays the same.
      queue.push(resolve);
    });
  }

  private release(provider: string): void {
    const queue = this.queues.get(provider);
    const next = queue?.shift();
    if (next !== undefined) {
      if (queue !== undefined && queue.length === 0) this.queues.delete(provider);
      next();
      return;
    }
    const left = (this.active.get(provider) ?? 1) - 1;
    if (left <= 0) this.active.delete(provider);
    else this.active.set(provider, left);
  }

  /** Runs `fn` once the provider has a free slot, and frees the slot when it settles. */
  async run<T>(provider: string, fn: () => Promise<T>): Promise<T> {
    await this.acquire(provider);
    try {
      return await fn();
    } finally {
      this.release(provider);
    }
  }
}
