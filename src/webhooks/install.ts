/**
 * Plugs webhook delivery into the application context: defines the delivery job on the job queue and registers the
 * outbox scanner as a service (a timer that scans the events table after the cursor; one scan at a time per process,
 * several processes may scan at once because delivery rows are unique per webhook and event). The receiver target
 * policy is strict unless the operator set the loud PLUGBOARD_WEBHOOKS_ALLOW_PRIVATE_TARGETS opt-in.
 */
import type { AppContext } from '../context.ts';
import { DEFAULT_DELIVERY_SETTINGS, DELIVERY_JOB, deliverOnce, scanOutbox, type DeliveryJobData, type DeliverySettings } from './delivery.ts';

/** How often the outbox is scanned. */
export const OUTBOX_POLL_MS = 500;

export async function install(ctx: AppContext): Promise<void> {
  const settings: DeliverySettings = { ...DEFAULT_DELIVERY_SETTINGS, policy: { allowPrivateTargets: ctx.config.webhooks.allowPrivateTargets } };
  ctx.jobs.define<DeliveryJobData>(DELIVERY_JOB, (data, job) => deliverOnce(ctx, settings, data, job), {
    concurrency: 10,
    maxAttempts: settings.maxAttempts,
    backoff: { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs },
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let scanning = false;
  const tick = () => {
    if (scanning) return;
    scanning = true;
    running = (async () => {
      try {
        // Drain in batches while full batches keep coming, then wait for the next tick.
        while ((await scanOutbox(ctx, settings)) === settings.batchSize) {
          if (ctx.shuttingDown) break;
        }
      } catch (error) {
        ctx.log.error({ err: error }, 'webhook outbox scan failed; retrying on the next tick');
      } finally {
        scanning = false;
      }
    })();
  };
  ctx.services.add({
    name: 'webhook-outbox',
    start() {
      timer = setInterval(tick, OUTBOX_POLL_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  });
}
