/**
 * `GET /health`: liveness. Answers 200 as long as the process serves HTTP; it touches nothing else, so a slow store
 * never makes an orchestrator kill a live process.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';

export default defineRoute({
  method: 'GET',
  url: '/health',
  auth: 'none',
  summary: 'Liveness: the process is serving HTTP',
  tags: ['system'],
  schema: { response: { 200: z.object({ status: z.literal('ok') }) } },
  async handler() {
    return { status: 'ok' as const };
  },
});
