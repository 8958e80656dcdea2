/**
 * Writes `connectors/connector.schema.json` from the Zod connector schema. Run `node scripts/connector-schema.ts`
 * after changing `src/connectors/schema.ts`; a test fails while the committed file is stale.
 */

import { writeFile } from 'node:fs/promises';
import { connectorJsonSchemaText } from '../src/connectors/json-schema.ts';

const target = new URL('../connectors/connector.schema.json', import.meta.url);
await writeFile(target, connectorJsonSchemaText());
process.stdout.write('wrote connectors/connector.schema.json\n');
