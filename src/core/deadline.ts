/**
 * Waiting on work for a bounded time: shutdown steps (services, the HTTP server, running jobs, a database connection)
 * must not wait for ever on something that hangs.
 */

/**
 * Whether `work` settles within `ms`: true once it resolves, false when the time is up first (the work itself goes
 * on). A rejection within the time is passed on. The timer is cleared either way, so it never holds the process open.
 */
export async function endsWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true as const), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
