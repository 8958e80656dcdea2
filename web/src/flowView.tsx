/**
 * Renders a connector flow as a readable list of cards, the way the flow builder shows them: each card's display
 * name, its id, and a one-line summary of what it does, with If Error's Try and If Error branches nested. Values are
 * shown as written in the definition (literals or `$ref`/`$template` references); definitions hold no secrets.
 */
import type { ReactNode } from 'react';
import type { Flow, FlowCard } from './model.ts';

const CARD_NAMES: Record<string, string> = {
  http: 'HTTP Raw Request',
  callFlow: 'Call Flow',
  ifError: 'If Error',
  assign: 'Assign',
  assignIf: 'Assign If',
  continueIf: 'Continue If',
  objectConstruct: 'Object Construct',
  objectGet: 'Object Get',
  textCompose: 'Text Compose',
  jsonParse: 'JSON Parse',
  jsonStringify: 'JSON Stringify',
  return: 'Return',
  returnError: 'Return Error',
};

const KIND_LABELS: Record<string, string> = {
  action: 'Action',
  helper: 'Helper',
  authping: 'System: authping',
  revoke: 'System: revoke',
};

/** A value from a definition as short text: references as `→ path`, templates in quotes, objects by their keys. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$ref === 'string') return `→ ${record.$ref}`;
    if (typeof record.$template === 'string') return `“${record.$template}”`;
    const keys = Object.keys(record);
    if (keys.length === 0) return '{}';
    return `{ ${keys.map((key) => `${key}: ${describeValue(record[key])}`).join(', ')} }`;
  }
  return String(value);
}

function keysOf(value: unknown): string {
  if (value === null || typeof value !== 'object') return '';
  return Object.keys(value as Record<string, unknown>).join(', ');
}

function summary(card: FlowCard): ReactNode {
  switch (card.type) {
    case 'http':
      return `${typeof card.method === 'string' ? card.method : card.method === undefined ? 'GET' : describeValue(card.method)} ${describeValue(card.url)}`;
    case 'callFlow':
      return `calls ${String(card.flow)}${card.inputs !== undefined ? ` with ${keysOf(card.inputs)}` : ''}`;
    case 'assign':
      return `sets ${keysOf(card.values)}`;
    case 'assignIf':
      return `${String(card.output ?? 'result')} = ${describeValue(card.a)} ${String(card.comparison)} ${describeValue(card.b)} ? ${describeValue(card.ifTrue)} : ${describeValue(card.ifFalse)}`;
    case 'continueIf':
      return `continues if ${describeValue(card.a)} ${String(card.comparison)} ${describeValue(card.b)}`;
    case 'objectConstruct':
      return `${String(card.output ?? 'object')} = { ${keysOf(card.values)} }`;
    case 'objectGet':
      return `${String(card.output ?? 'value')} = ${describeValue(card.object)} at ${String(card.path)}`;
    case 'textCompose':
      return `${String(card.output ?? 'text')} = ${describeValue(card.template)}`;
    case 'jsonParse':
      return `parses ${describeValue(card.text)}`;
    case 'jsonStringify':
      return `stringifies ${describeValue(card.value)}`;
    case 'return':
      return `returns ${keysOf(card.values)}`;
    case 'returnError':
      return `fails with ${describeValue(card.message)}`;
    case 'ifError':
      return `outputs ${keysOf(card.outputs)}`;
    default:
      return null;
  }
}

export function CardList({ cards, label }: { cards: FlowCard[]; label: string }) {
  if (cards.length === 0) return <p className="muted small">No cards.</p>;
  return (
    <ol className="card-list" aria-label={label}>
      {cards.map((card, index) => (
        <li key={card.id ?? index} className={`flow-card flow-card-${card.type}`}>
          <div className="flow-card-head">
            <span className="flow-card-type">{CARD_NAMES[card.type] ?? card.type}</span>
            {card.id !== undefined ? <code className="muted small">{card.id}</code> : null}
          </div>
          <p className="flow-card-summary">{summary(card)}</p>
          {card.type === 'ifError' ? (
            <div className="flow-branches">
              <div>
                <h5>Try</h5>
                <CardList cards={Array.isArray(card.try) ? (card.try as FlowCard[]) : []} label={`${label}, ${card.id ?? 'If Error'} try`} />
              </div>
              <div>
                <h5>If Error</h5>
                <CardList cards={Array.isArray(card.catch) ? (card.catch as FlowCard[]) : []} label={`${label}, ${card.id ?? 'If Error'} if error`} />
              </div>
            </div>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function FlowView({ flow }: { flow: Flow }) {
  const outputs = flow.outputs !== undefined ? Object.entries(flow.outputs) : [];
  const inputs = flow.inputs !== undefined ? Object.keys(flow.inputs) : [];
  return (
    <article className="card flow" aria-labelledby={`flow-${flow.name}`}>
      <header className="flow-head">
        <h3 id={`flow-${flow.name}`}>
          <code>{flow.name}</code>
        </h3>
        <span className="pill pill-neutral">{KIND_LABELS[flow.kind] ?? flow.kind}</span>
        {flow.saveData === true ? <span className="pill pill-neutral">saves data</span> : null}
      </header>
      {flow.description !== undefined ? <p>{flow.description}</p> : null}
      <p className="muted small">
        Inputs: {inputs.length === 0 ? 'none' : inputs.join(', ')} · Outputs:{' '}
        {outputs.length === 0 ? 'none' : outputs.map(([name, type]) => `${name} (${typeof type === 'string' ? type : 'object'})`).join(', ')}
      </p>
      <CardList cards={flow.cards ?? []} label={`Cards of ${flow.name}`} />
    </article>
  );
}
