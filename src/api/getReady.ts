/**
 * `GET /ready`: readiness. 200 when the store answers and every migration on disk is applied; 503 NOT_READY
 * otherwise (or SHUTTING_DOWN while draining), so a load balancer routes traffic only to instances that can serve it.
 */
import { z } from 'zod';
import { PlugboardError } from '../core/errors.ts';
import { defineRoute } from './route.ts';
import { errorBodySchema } from './error-body.ts';

export default defineRoute({
  method: 'GET',
  url: '/ready',
  auth: 'none',
  summary: 'Readiness: the store is reachable and migrations are applied',
  tags: ['system'],
  schema: {
    response: {
      200: z.object({ status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']), migrations: z.number().int() }),
      503: errorBodySchema,
    },
  },
  async handler({ ctx }) {
    try {
      await ctx.store.ping();
    } catch (cause) {
      throw new PlugboardError('NOT_READY', `The ${ctx.store.dialect} store does not answer`, { cause });
    }
    const pending = await ctx.store.pendingMigrations();
    if (pending.length > 0) throw new PlugboardError('NOT_READY', `Migrations not applied yet: ${pending.join(', ')}`);
    const applied = await ctx.store.db.selectFrom('plugboard_migrations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return { status: 'ready' as const, store: ctx.store.dialect, migrations: Number(applied?.n ?? 0) };
  },
});
