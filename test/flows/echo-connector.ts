/**
 * A private connector for the execution endpoint and CLI tests: custom API-key auth, a `whoami` action whose HTTP card
 * calls a local echo server (private targets opted in, for the test only), a `broken` action that always fails, and
 * a trivial `_authping`. The echo server answers with the API key header it saw and the JSON body it got.
 */
import { createServer, type Server } from 'node:http';

export function echoConnector(base: string): Record<string, unknown> {
  return {
    key: 'echoer',
    name: 'Echoer',
    baseUrl: base,
    auth: { type: 'custom', apply: { in: 'header', name: 'X-Api-Key' } },
    dangerouslyAllowInsecureTargets: { plainHttp: true, privateNetwork: true },
    flows: [
      {
        name: 'whoami',
        kind: 'action',
        saveData: true,
        inputs: { who: { type: 'text', required: true } },
        outputs: { status: 'number', body: 'any', leak: 'text' },
        cards: [
          {
            id: 'call',
            type: 'http',
            url: { $template: '{{ auth.baseUrl }}/me' },
            method: 'POST',
            headers: { 'X-Api-Key': { $ref: 'auth.apiKey' } },
            body: { who: { $ref: 'input.who' } },
          },
          { type: 'return', values: { status: { $ref: 'call.statusCode' }, body: { $ref: 'call.body' }, leak: { $template: 'key={{ auth.apiKey }}' } } },
        ],
      },
      { name: 'broken', kind: 'action', cards: [{ id: 'stop', type: 'returnError', message: 'this flow always fails' }] },
      {
        name: '_authping',
        kind: 'authping',
        outputs: { working: 'boolean', message: 'text', serviceResponse: 'object' },
        cards: [{ type: 'return', values: { working: true, message: 'ok', serviceResponse: { statusCode: 200, body: null } } }],
      },
    ],
  };
}

export async function startEchoServer(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sawKey: req.headers['x-api-key'], body: JSON.parse(body || 'null') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
