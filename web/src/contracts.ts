/**
 * Compile-time conformance of the console's view of the API with the server's own contracts (`src/api/contracts`,
 * the Zod schemas that validate and serialise every response). Nothing here runs or ships: `tsc --noEmit` fails when
 * a response shape the console reads changes on the server (a field renamed, retyped, or made nullable) without the
 * console following. Type-only imports, so no server code or Zod reaches the browser bundle.
 */
import type { z } from 'zod';
import type { Instance as ServerInstance, InstanceListSchema } from '../../src/api/contracts/instances.ts';
import type { ElementListSchema, ElementSummary } from '../../src/api/contracts/elements.ts';
import type { ErasureListSchema, ErasureReceiptBody, RevokeOutcomeBody } from '../../src/api/contracts/revocation.ts';
import type { DeliveryListSchema, WebhookListSchema } from '../../src/api/contracts/webhooks.ts';
import type { ExecutionDetailView, ExecutionListSchema } from '../../src/api/contracts/executions.ts';
import type { EventSchema } from '../../src/api/getEvents.ts';
import type { default as authpingRoute } from '../../src/api/postInstanceAuthping.ts';
import type { AuthpingResult, Element, ErasureReceipt, ErasureSummary, Execution, Instance, PlatformEvent, RevokeOutcome, Webhook, WebhookDelivery } from './model.ts';

/** Resolves to `true` only when `Server` can be used where the console expects `Console`. */
type Conforms<Server, Console> = [Server] extends [Console] ? true : false;
type Check<T extends true> = T;

type AuthpingBody = z.output<(typeof authpingRoute)['schema']['response'][200]>;

export type ContractChecks = [
  Check<Conforms<ServerInstance, Instance>>,
  Check<Conforms<z.output<typeof InstanceListSchema>['instances'][number], Instance>>,
  Check<Conforms<ElementSummary, Element>>,
  Check<Conforms<z.output<typeof ElementListSchema>['elements'][number], Element>>,
  Check<Conforms<RevokeOutcomeBody, RevokeOutcome>>,
  Check<Conforms<ErasureReceiptBody, ErasureReceipt>>,
  Check<Conforms<z.output<typeof ErasureListSchema>['items'][number], ErasureSummary>>,
  Check<Conforms<z.output<typeof WebhookListSchema>['webhooks'][number], Webhook>>,
  Check<Conforms<z.output<typeof DeliveryListSchema>['deliveries'][number], WebhookDelivery>>,
  Check<Conforms<z.output<typeof ExecutionListSchema>['executions'][number], Execution>>,
  Check<Conforms<ExecutionDetailView, Execution>>,
  Check<Conforms<z.output<typeof EventSchema>, PlatformEvent>>,
  Check<Conforms<AuthpingBody, AuthpingResult>>,
];
