/**
 * The typed contract of the flow execution endpoints (`GET /executions`, `GET /executions/{id}`,
 * `POST /instances/{id}/flows/{name}/run`), shared by the route files, the CLI and the console. Execution history is
 * stored redacted: every vault value appears as `[redacted]`.
 */
import { z } from 'zod';

const IsoInstant = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as 2026-01-31T12:00:00Z' });

export const RecordedErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const ExecutionSummarySchema = z.object({
  id: z.string(),
  connectionId: z.string().nullable(),
  connectorKey: z.string(),
  flow: z.string(),
  flowKind: z.string(),
  status: z.enum(['succeeded', 'failed']),
  trigger: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  cardsExecuted: z.number(),
  saveData: z.boolean().describe('Whether inputs, outputs and card records were saved (the flow\'s "save all data" flag).'),
  error: RecordedErrorSchema.nullable(),
});
export type ExecutionSummaryView = z.output<typeof ExecutionSummarySchema>;

export const CardRecordSchema = z.object({
  seq: z.number(),
  flow: z.string(),
  card: z.string().describe('Where the card is in its flow, e.g. cards[attempt].try[call]'),
  cardId: z.string().nullable(),
  type: z.string(),
  depth: z.number(),
  startedAt: z.string(),
  durationMs: z.number(),
  inputs: z.unknown(),
  outputs: z.unknown(),
  error: RecordedErrorSchema.nullable(),
});

export const ExecutionDetailSchema = ExecutionSummarySchema.extend({
  inputs: z.unknown(),
  outputs: z.unknown(),
  context: z.record(z.string(), z.string()),
  cards: z.array(CardRecordSchema),
});
export type ExecutionDetailView = z.output<typeof ExecutionDetailSchema>;

export const ListExecutionsQuerySchema = z.strictObject({
  connectionId: z.string().min(1).max(100).optional(),
  flow: z.string().min(1).max(100).optional(),
  status: z.enum(['succeeded', 'failed'], { error: 'expected succeeded or failed' }).optional(),
  from: IsoInstant.optional().describe('Inclusive lower bound of startedAt'),
  to: IsoInstant.optional().describe('Exclusive upper bound of startedAt'),
  limit: z.coerce.number({ error: 'expected a number from 1 to 200' }).int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(500).optional(),
});

export const ExecutionListSchema = z.object({ executions: z.array(ExecutionSummarySchema), nextCursor: z.string().nullable() });

export const ExecutionIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });

export const FlowRunParamsSchema = z.strictObject({
  id: z.string().min(1).max(100),
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a flow name: letters, digits and _'),
});

export const FlowRunBodySchema = z
  .strictObject({ inputs: z.record(z.string(), z.unknown()).default({}) })
  .default({ inputs: {} });

export const FlowRunResultSchema = z.object({
  executionId: z.string(),
  status: z.enum(['succeeded', 'failed']),
  outputs: z.record(z.string(), z.unknown()).nullable().describe('The flow outputs, with vault values shown as [redacted]; null when it failed.'),
  error: RecordedErrorSchema.nullable(),
  historySaved: z.boolean(),
});
export type FlowRunResultView = z.output<typeof FlowRunResultSchema>;
