/**
 * Registers the periodic health checker as a service when the configuration enables it. Rounds are chained with a
 * jittered timer (never overlapping in one process); stop waits for the round in progress.
 */
import type { AppContext } from '../context.ts';
import { jitteredDelay, runHealthRound, type HealthSettings } from './checker.ts';

export async function install(ctx: AppContext): Promise<void> {
  const config = ctx.config.health;
  if (!config.enabled) return;
  const settings: HealthSettings = {
    intervalMs: config.intervalMs,
    idleMs: config.idleMs,
    refreshFailureLimit: config.refreshFailureLimit,
    maxPerRound: 500,
    concurrency: 4,
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runHealthRound(ctx, settings)
        .then((report) => {
          if (report.refreshed + report.pinged + report.failed > 0) ctx.log.info(report, 'connection health round');
        })
        .catch((error: unknown) => ctx.log.error({ err: error }, 'connection health round failed'))
        .finally(schedule);
    }, jitteredDelay(settings.intervalMs));
    timer.unref();
  };
  ctx.services.add({
    name: 'connection-health',
    start: schedule,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  });
}
