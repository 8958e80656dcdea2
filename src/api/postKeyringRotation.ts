/**
 * `POST /keyring/rotate`: key rotation without downtime. Adds a data-key version that seals new secrets once every
 * process has loaded it (PLUGBOARD_KEY_ACTIVATION_DELAY_MS), then the re-encryption task moves old rows onto it and
 * retires old versions nobody uses any more. Platform administrators only (`plugboard keys rotate`).
 */
import { addKeyVersion } from '../store/keyring.ts';
import { reencryptionService } from '../store/reencryption.ts';
import { reloadKeyring } from '../context.ts';
import { defineRoute } from './route.ts';
import { KeyVersionSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'POST',
  url: '/keyring/rotate',
  auth: 'org',
  permission: 'platform:admin',
  summary: 'Rotate the data key (old rows are re-encrypted in the background)',
  tags: ['keyring'],
  schema: { response: { 201: KeyVersionSchema } },
  async handler({ ctx }, reply) {
    const added = await addKeyVersion(ctx.store.db, ctx.masterKeys.keys[0], ctx.config.keyActivationDelayMs);
    await reloadKeyring(ctx);
    const service = reencryptionService(ctx);
    if (service !== undefined) {
      const timer = setTimeout(() => void service.trigger(), ctx.config.keyActivationDelayMs + 50);
      timer.unref();
    }
    ctx.log.info({ version: added.version, activatesAt: added.activatesAt }, 'data key rotated');
    reply.code(201);
    return { ...added, current: ctx.keyring.current().version === added.version };
  },
});
