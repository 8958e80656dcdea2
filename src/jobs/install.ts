/**
 * Plugs the job queue into the application context: the queue (built in `createContext` from the store dialect) is
 * started with the other services, after every area has defined its jobs, and stopped gracefully within the shutdown
 * bound: running handlers get the remaining time, then their jobs are handed back for the next process.
 */
import type { AppContext } from '../context.ts';

export async function install(ctx: AppContext): Promise<void> {
  ctx.services.add({
    name: 'jobs',
    start: () => ctx.jobs.start(),
    stop: (deadlineMs: number) => ctx.jobs.stop({ timeoutMs: Math.max(0, deadlineMs - 250) }),
  });
}
