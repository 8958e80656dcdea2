/**
 * The JSON Schema of a connector definition, generated from the Zod schema so editors (the YAML language server via
 * the `$schema` header) validate the same shape the loader does. Cross-field rules (URL security, placeholders, system
 * flow kinds) stay in the loader; the JSON Schema covers structure, types, enums and defaults.
 */

import { z } from 'zod';
import { ConnectorDefinitionSchema } from './schema.ts';

export function connectorJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConnectorDefinitionSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    ...schema,
    title: 'Plugboard connector definition',
    description: 'One third-party API: identity, base URL, auth, credential placement, revocation provenance and flows.',
  };
}

/** The committed file's exact text: stable key order, two-space indent, trailing newline. */
export function connectorJsonSchemaText(): string {
  return `${JSON.stringify(connectorJsonSchema(), null, 2)}\n`;
}
