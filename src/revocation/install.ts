/**
 * Plugs revocation into the application context: defines the `revocation.revoke` and `erasure.run` jobs before the
 * job queue starts, and runs a recovery sweep at start and every few minutes that re-enqueues revocations and erasure
 * requests orphaned by a crash. `PLUGBOARD_ERASURE_HASH_EXTERNAL_IDS=on` stores erasure subjects hashed.
 */
import type { AppContext } from '../context.ts';
import { installRevocationService } from './service.ts';

const RECOVERY_INTERVAL_MS = 5 * 60_000;

export async function install(ctx: AppContext): Promise<void> {
  const hash = (process.env.PLUGBOARD_ERASURE_HASH_EXTERNAL_IDS ?? '').trim().toLowerCase();
  const service = installRevocationService(ctx, { hashExternalIds: ['on', 'true', '1', 'yes'].includes(hash) });
  service.defineJobs();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const sweep = (): void => {
    running = service.recover().catch((error: unknown) => ctx.log.error({ err: error }, 'revocation recovery sweep failed; retrying at the next interval'));
  };
  ctx.services.add({
    name: 'revocation-recovery',
    start() {
      sweep();
      timer = setInterval(sweep, RECOVERY_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  });
}
