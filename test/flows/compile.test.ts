/**
 * Compiler tests: the Box fixture compiles into a frozen, cached tree, and every kind of compile error is reported
 * with a location naming the connector file, the flow, the card and the field, plus a useful message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlugboardError } from '../../src/core/errors.ts';
import { compileConnectorFlows } from '../../src/flows/compile.ts';
import type { CardDef, FlowDefinition } from '../../src/flows/schema.ts';
import { AUTHPING, BOX_FLOWS, FILE, HTTP_HELPER, REVOKE, action, clone } from './fixtures.ts';

const compile = (flows: unknown, maxCallDepth?: number) =>
  compileConnectorFlows(flows, { file: FILE, connectorKey: 'box', ...(maxCallDepth === undefined ? {} : { maxCallDepth }) });

/** Compile, expect FLOW_COMPILE_FAILED, return its details. */
function failures(flows: unknown, maxCallDepth?: number): { path: string; message: string }[] {
  try {
    compile(flows, maxCallDepth);
  } catch (error) {
    assert.ok(error instanceof PlugboardError, `expected a PlugboardError, got ${String(error)}`);
    assert.equal(error.code, 'FLOW_COMPILE_FAILED');
    assert.ok(error.details !== undefined && error.details.length > 0);
    assert.match(error.message, /do not compile/);
    return error.details;
  }
  assert.fail('expected the flows not to compile');
}

function expectError(flows: unknown, path: string, message: RegExp, maxCallDepth?: number): void {
  const details = failures(flows, maxCallDepth);
  const hit = details.find((detail) => detail.path === path && message.test(detail.message));
  assert.ok(hit, `no detail at ${path} matching ${message}; got:\n${details.map((d) => `${d.path}: ${d.message}`).join('\n')}`);
}

function revokeWith(mutate: (flow: FlowDefinition) => void): FlowDefinition[] {
  const flows = clone(BOX_FLOWS);
  mutate(flows[1]);
  return flows;
}

const tryCards = (flow: FlowDefinition) => (flow.cards[0] as Extract<CardDef, { type: 'ifError' }>).try;
const callCard = (flow: FlowDefinition) => tryCards(flow)[0] as Extract<CardDef, { type: 'callFlow' }>;

describe('compileConnectorFlows: the happy path', () => {
  it('compiles the Box fixture into frozen trees with the system flows found by kind', () => {
    const compiled = compile(BOX_FLOWS);
    assert.deepEqual(Object.keys(compiled.flows), ['httpHelper', '_revoke', '_authping']);
    assert.equal(compiled.revoke?.name, '_revoke');
    assert.equal(compiled.authping?.name, '_authping');
    assert.ok(Object.isFrozen(compiled));
    assert.ok(Object.isFrozen(compiled.flows._revoke.cards[0]));
    assert.throws(() => {
      (compiled.flows._revoke.cards as unknown as unknown[]).push({ kind: "return" });
    }, TypeError);
    assert.equal(compiled.flows._revoke.cards[0].kind, 'ifError');
    assert.equal(compiled.flows._revoke.location, `${FILE}#flows[_revoke]`);
  });

  it('caches by identity and by content', () => {
    const first = compile(BOX_FLOWS);
    assert.equal(compile(BOX_FLOWS), first);
    assert.equal(compile(clone(BOX_FLOWS)), first, 'an equal definition reuses the compiled tree');
    const other = compileConnectorFlows(BOX_FLOWS, { file: 'connectors/other.yaml', connectorKey: 'other' });
    assert.notEqual(other, first, 'another file or connector key compiles separately');
  });

  it('accepts a connector with no flows at all', () => {
    const compiled = compile([]);
    assert.equal(compiled.revoke, null);
    assert.equal(compiled.authping, null);
  });
});

describe('compileConnectorFlows: shape errors from the schema', () => {
  it('names an unknown card type with a did-you-mean, located by card id', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[2] as { type: string }).type = 'objectConstrct';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[manual].type`, /unknown card type 'objectConstrct'; did you mean 'objectConstruct'\?/);
  });

  it('names a card without a type', () => {
    const flows = [action([{ id: 'x', values: {} } as unknown as CardDef])];
    expectError(flows, `${FILE}#flows[act].cards[x].type`, /needs a 'type'/);
  });

  it('rejects a misspelled card field (strict objects)', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as unknown as Record<string, unknown>).comparision = 'equal';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check]`, /comparision/);
  });

  it('rejects a missing required field', () => {
    const flows = [action([{ id: 'get', type: 'http', method: 'GET' } as unknown as CardDef])];
    expectError(flows, `${FILE}#flows[act].cards[get].url`, /./);
  });

  it('rejects an unknown comparison with a suggestion', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { comparison: string }).comparison = 'equals';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].comparison`, /did you mean 'equal'/);
  });

  it('rejects an unknown value type', () => {
    const flows = revokeWith((flow) => {
      (flow.outputs as Record<string, string>).revoked = 'bool';
    });
    expectError(flows, `${FILE}#flows[_revoke].outputs.revoked`, /unknown type "bool"/);
  });

  it('rejects an unknown flow kind and a non-array', () => {
    expectError([{ ...clone(HTTP_HELPER), kind: 'helpr' }], `${FILE}#flows[httpHelper].kind`, /unknown flow kind/);
    const details = failures({ flows: [] });
    assert.equal(details[0].path, `${FILE}#flows`);
  });

  it('rejects card ids that are not identifiers', () => {
    expectError([action([{ id: 'my card', type: 'assign', values: {} }])], `${FILE}#flows[act].cards[my card].id`, /letters, digits/);
  });
});

describe('compileConnectorFlows: references', () => {
  it('reports a misspelled auth field with a did-you-mean', () => {
    const flows = revokeWith((flow) => {
      callCard(flow).inputs!.connection = { $ref: 'auth.acessToken' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].try[call].inputs.connection`, /no field 'acessToken'; did you mean 'accessToken'/);
  });

  it('reports a misspelled card reference', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { a: unknown }).a = { $ref: 'attemp.status_code' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].a`, /did you mean 'attempt'/);
  });

  it('reports a misspelled output of a card', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { a: unknown }).a = { $ref: 'attempt.statuscode' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].a`, /no output 'statuscode'; did you mean 'status_code'/);
  });

  it('refuses a reference to a card inside a branch from outside it', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { a: unknown }).a = { $ref: 'call.status_code' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].a`, /does not run before this point on every path/);
  });

  it('refuses a reference to a later card', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { a: unknown }).a = { $ref: 'response.serviceResponse' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].a`, /does not run before this point/);
  });

  it('refuses error.* outside a catch branch and unknown error fields inside one', () => {
    const outside = revokeWith((flow) => {
      (flow.cards[1] as { a: unknown }).a = { $ref: 'error.message' };
    });
    expectError(outside, `${FILE}#flows[_revoke].cards[check].a`, /only available inside an If Error catch branch/);
    const unknownField = revokeWith((flow) => {
      (flow.cards[0] as Extract<CardDef, { type: 'ifError' }>).outputs!.message.catch = { $ref: 'error.mesage' };
    });
    expectError(unknownField, `${FILE}#flows[_revoke].cards[attempt].outputs.message.catch`, /did you mean 'message'/);
  });

  it('refuses a try-branch card referenced from the catch mapping', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[0] as Extract<CardDef, { type: 'ifError' }>).outputs!.status_code.catch = { $ref: 'call.status_code' };
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].outputs.status_code.catch`, /does not run before this point/);
  });

  it('reports an undeclared flow input', () => {
    const flows = [clone(HTTP_HELPER)];
    (flows[0].cards[2] as { method: unknown }).method = { $ref: 'input.request_methd' };
    expectError(flows, `${FILE}#flows[httpHelper].cards[request].method`, /no input 'request_methd'; did you mean 'request_method'/);
  });

  it('reports malformed references and templates', () => {
    expectError([action([{ id: 'a', type: 'assign', values: { x: { $ref: 'a..b' } } }])], `${FILE}#flows[act].cards[a].values.x`, /not a reference/);
    expectError([action([{ id: 'a', type: 'assign', values: { x: { $ref: 'input.x', other: 1 } } }])], `${FILE}#flows[act].cards[a].values.x`, /exactly one key/);
    expectError([action([{ id: 't', type: 'textCompose', template: 'Hello {{ nobody.name }}' }])], `${FILE}#flows[act].cards[t].template`, /unknown reference 'nobody.name'/);
    expectError([action([{ id: 't', type: 'textCompose', template: 'Hello {{ auth.accessToken' }])], `${FILE}#flows[act].cards[t].template`, /unbalanced/);
  });

  it('refuses a path inside a text value', () => {
    expectError([action([{ id: 'a', type: 'assign', values: { x: { $ref: 'auth.accessToken.length' } } }])], `${FILE}#flows[act].cards[a].values.x`, /path inside a text value/);
  });
});

describe('compileConnectorFlows: types', () => {
  it('reports a type mismatch on a card field', () => {
    const flows = [action([{ id: 'get', type: 'http', url: 42, method: 'GET' }])];
    expectError(flows, `${FILE}#flows[act].cards[get].url`, /type mismatch: expected text, got number/);
  });

  it('reports a Call Flow input of the wrong type', () => {
    const flows = revokeWith((flow) => {
      callCard(flow).inputs!.relative_url = 12;
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].try[call].inputs.relative_url`, /expected text, got number/);
  });

  it('reports Assign If branches that do not match the declared output type', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[1] as { ifTrue: unknown }).ifTrue = 'yes';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[check].ifTrue`, /expected boolean, got text/);
  });

  it('reports If Error mappings whose branches disagree', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[0] as Extract<CardDef, { type: 'ifError' }>).outputs!.status_code.catch = 'none';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].outputs.status_code`, /try value is number but the catch value is text/);
  });

  it('reports a Return value of the wrong type', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[4] as { values: Record<string, unknown> }).values.revoked = 'true';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[4].values.revoked`, /expected boolean, got text/);
  });

  it('reports in/notIn against something that is not a list', () => {
    const flows = [action([{ id: 'c', type: 'continueIf', a: 1, comparison: 'in', b: 5 }])];
    expectError(flows, `${FILE}#flows[act].cards[c].b`, /compares against a list/);
  });

  it('requires value b for a comparison', () => {
    expectError([action([{ id: 'c', type: 'continueIf', a: 1, comparison: 'equal' }])], `${FILE}#flows[act].cards[c].b`, /needs a value b/);
  });
});

describe('compileConnectorFlows: Call Flow', () => {
  it('reports a missing required helper input', () => {
    const flows = revokeWith((flow) => {
      delete callCard(flow).inputs!.relative_url;
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].try[call].inputs`, /missing required input 'relative_url'/);
  });

  it('reports an unknown helper input with a suggestion', () => {
    const flows = revokeWith((flow) => {
      callCard(flow).inputs!.relative_ur = '/x';
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[attempt].try[call].inputs.relative_ur`, /did you mean 'relative_url'/);
  });

  it('reports outputs that do not match the helper', () => {
    const missing = revokeWith((flow) => {
      delete callCard(flow).outputs!.headers;
    });
    expectError(missing, `${FILE}#flows[_revoke].cards[attempt].try[call].outputs`, /missing 'headers'/);
    const wrongType = revokeWith((flow) => {
      callCard(flow).outputs!.status_code = 'text';
    });
    expectError(wrongType, `${FILE}#flows[_revoke].cards[attempt].try[call].outputs.status_code`, /'status_code' is number there, not text/);
    const extra = revokeWith((flow) => {
      callCard(flow).outputs!.statusCode = 'number';
    });
    expectError(extra, `${FILE}#flows[_revoke].cards[attempt].try[call].outputs.statusCode`, /has no output 'statusCode'; did you mean 'status_code'/);
  });

  it('reports an unknown flow and a call to a non-helper flow', () => {
    const unknown = revokeWith((flow) => {
      callCard(flow).flow = 'httpHelpr';
    });
    expectError(unknown, `${FILE}#flows[_revoke].cards[attempt].try[call].flow`, /no flow named 'httpHelpr'.*did you mean 'httpHelper'/);
    const system = revokeWith((flow) => {
      callCard(flow).flow = '_authping';
    });
    expectError(system, `${FILE}#flows[_revoke].cards[attempt].try[call].flow`, /only call helper flows; '_authping' is of kind authping/);
  });

  it('reports recursion through helpers', () => {
    const a: FlowDefinition = { name: 'a', kind: 'helper', cards: [{ id: 'toB', type: 'callFlow', flow: 'b' }] };
    const b: FlowDefinition = { name: 'b', kind: 'helper', cards: [{ id: 'toA', type: 'callFlow', flow: 'a' }] };
    expectError([a, b], `${FILE}#flows[b].cards[toA].flow`, /recursion: a -> b -> a/);
    const self: FlowDefinition = { name: 'loop', kind: 'helper', cards: [{ id: 'again', type: 'callFlow', flow: 'loop' }] };
    expectError([self], `${FILE}#flows[loop].cards[again].flow`, /recursion: loop -> loop/);
  });

  it('reports a call chain deeper than the limit', () => {
    const chain: FlowDefinition[] = [];
    for (let i = 0; i < 5; i++) {
      chain.push({ name: `h${i}`, kind: 'helper', cards: i === 4 ? [] : [{ id: 'next', type: 'callFlow', flow: `h${i + 1}` }] });
    }
    assert.doesNotThrow(() => compile(chain, 4));
    expectError(chain, `${FILE}#flows[h0].cards[next].flow`, /4 calls deep, more than the limit of 3/, 3);
  });
});

describe('compileConnectorFlows: system flows and reserved names', () => {
  it('allows at most one revoke and one authping flow', () => {
    const second = { ...clone(REVOKE), name: 'revokeAgain' };
    expectError([...clone(BOX_FLOWS), second], `${FILE}#flows[revokeAgain].kind`, /at most one revoke flow; '_revoke' is already one/);
    const secondPing = { ...clone(AUTHPING), name: 'pingAgain' };
    expectError([...clone(BOX_FLOWS), secondPing], `${FILE}#flows[pingAgain].kind`, /at most one authping flow/);
  });

  it('reserves _revoke and _authping for their kinds, and _ names for system flows', () => {
    expectError([{ ...clone(REVOKE), kind: 'action' }, clone(HTTP_HELPER)], `${FILE}#flows[_revoke].kind`, /reserved for the revoke system flow/);
    expectError([action([], {}, { name: '_private' })], `${FILE}#flows[_private].name`, /reserved for system flows/);
    expectError([{ ...clone(HTTP_HELPER), kind: 'action' }], `${FILE}#flows[httpHelper].kind`, /kind must be helper/);
  });

  it('requires the system outputs and no inputs', () => {
    const flows = revokeWith((flow) => {
      delete (flow.outputs as Record<string, string>).revoked;
      flow.inputs = { token: 'text' };
    });
    expectError(flows, `${FILE}#flows[_revoke].outputs`, /must declare output 'revoked' of type boolean/);
    expectError(flows, `${FILE}#flows[_revoke].inputs`, /takes no inputs/);
    const wrong = revokeWith((flow) => {
      (flow.outputs as Record<string, string>).message = 'text';
    });
    expectError(wrong, `${FILE}#flows[_revoke].outputs.message`, /must be object, not text/);
  });

  it('reserves input, auth and error as card ids, and refuses duplicate ids and flow names', () => {
    expectError([action([{ id: 'auth', type: 'assign', values: {} }])], `${FILE}#flows[act].cards[auth].id`, /reserved/);
    expectError(
      [action([{ id: 'x', type: 'assign', values: {} }, { id: 'x', type: 'assign', values: {} }])],
      `${FILE}#flows[act].cards[x].id`,
      /used twice/,
    );
    expectError([clone(HTTP_HELPER), clone(HTTP_HELPER)], `${FILE}#flows[httpHelper].name`, /used twice/);
  });
});

describe('compileConnectorFlows: Return', () => {
  it('reports a Return that misses a declared output', () => {
    const flows = revokeWith((flow) => {
      delete (flow.cards[4] as { values: Record<string, unknown> }).values.serviceResponse;
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[4].values`, /misses output 'serviceResponse' \(object\) declared by flow '_revoke'/);
  });

  it('reports a Return value that is not a declared output', () => {
    const flows = revokeWith((flow) => {
      (flow.cards[4] as { values: Record<string, unknown> }).values.revokd = true;
    });
    expectError(flows, `${FILE}#flows[_revoke].cards[4].values.revokd`, /did you mean 'revoked'/);
  });

  it('reports a flow with outputs but no Return, and cards after a Return', () => {
    expectError([action([{ id: 'a', type: 'assign', values: { x: 1 } }], { x: 'number' })], `${FILE}#flows[act].cards`, /no Return card/);
    expectError(
      [action([{ type: 'return', values: {} }, { id: 'late', type: 'assign', values: {} }])],
      `${FILE}#flows[act].cards[late]`,
      /can never run/,
    );
  });

  it('checks a Return inside an If Error branch against the If Error outputs', () => {
    const flows = [
      action([
        {
          id: 'guard',
          type: 'ifError',
          try: [{ type: 'return', values: { status: 1, extra: 2 } }],
          outputs: { status: { try: 0 } },
        },
      ]),
    ];
    expectError(flows, `${FILE}#flows[act].cards[guard].try[0].values.extra`, /not an output of the enclosing If Error/);
  });

  it('collects several errors in one pass', () => {
    const flows = revokeWith((flow) => {
      callCard(flow).inputs!.connection = { $ref: 'auth.acessToken' };
      (flow.cards[1] as { a: unknown }).a = { $ref: 'attemp.status_code' };
    });
    assert.ok(failures(flows).length >= 2);
  });
});
