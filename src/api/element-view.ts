/**
 * How a resolved connector is shown through the API (`GET /elements`, `GET /elements/{key}`): its identity, auth type,
 * configuration fields, revocation provenance, flow names and whether the organization's OAuth app is set. Nothing in
 * a definition is secret; the OAuth app contributes only its client id.
 */
import type { ConnectorEntry } from '../connectors/registry.ts';
import type { OAuthAppInfo } from '../store/connectors.ts';
import type { ElementSummary } from './contracts/elements.ts';

export function elementSummary(entry: ConnectorEntry, oauthApp: OAuthAppInfo | undefined): ElementSummary {
  const def = entry.definition;
  const revocation = def.revocation === undefined
    ? null
    : {
      style: def.revocation.style, confirmed: def.revocation.confirmed, source: def.revocation.source,
      ...(def.revocation.statement === undefined ? {} : { statement: def.revocation.statement }),
    };
  return {
    key: entry.key,
    name: def.name,
    description: def.description,
    origin: entry.origin,
    version: entry.version,
    authType: def.auth.type,
    baseUrl: def.baseUrl,
    configuration: def.configuration.map((field) => ({
      key: field.key, label: field.label, required: field.required,
      ...(field.default === undefined ? {} : { default: field.default }),
      ...(field.description === undefined ? {} : { description: field.description }),
    })),
    unregisterUrl: def.unregisterUrl,
    revocation,
    flows: {
      names: def.flows.map((flow) => flow.name),
      authping: def.flows.some((flow) => flow.kind === 'authping'),
      revoke: def.flows.some((flow) => flow.kind === 'revoke'),
    },
    oauthApp: oauthApp === undefined ? null : { clientId: oauthApp.clientId, updatedAt: oauthApp.updatedAt },
  };
}
