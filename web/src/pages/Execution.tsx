/**
 * One execution, card by card: each card's type, where it sits in its flow, timing, inputs, outputs and error, in
 * the order it ran, with helper flows' cards indented under the Call Flow that ran them. History is redacted by the
 * server (vault values become `[redacted]`); the viewer redacts secret-looking keys once more.
 */
import { api } from '../api.ts';
import { Async, JsonView, PageHeader, Pill, Row, Time, useApi } from '../components.tsx';
import type { Execution, ExecutionCard } from '../model.ts';
import { href } from '../router.ts';
import { executionTone } from './Executions.tsx';

function CardRun({ card, index, rootFlow }: { card: ExecutionCard; index: number; rootFlow: string }) {
  const name = card.cardId ?? card.card ?? `card ${index + 1}`;
  const failed = card.error !== undefined && card.error !== null;
  return (
    <li className={`card execution-card depth-${Math.min(Math.max(card.depth ?? 0, 0), 4)}`}>
      <div className="connection-head">
        <h3>
          <span className="muted">{(card.seq ?? index) + 1}.</span> <code>{name}</code>{' '}
          {card.type !== undefined ? <span className="muted small">{card.type}</span> : null}
        </h3>
        <Pill tone={failed ? 'bad' : 'good'}>{failed ? 'error' : 'ok'}</Pill>
        {card.durationMs !== undefined ? <span className="muted small">{card.durationMs} ms</span> : null}
      </div>
      <p className="muted small">
        {card.flow !== undefined && card.flow !== rootFlow ? (
          <>
            in helper <code>{card.flow}</code> ·{' '}
          </>
        ) : null}
        {card.card !== undefined ? <code>{card.card}</code> : null}
      </p>
      <div className="io">
        <div>
          <h4>Inputs</h4>
          {card.inputs !== undefined ? <JsonView value={card.inputs} label={`Inputs of ${name}`} /> : <p className="muted small">None recorded.</p>}
        </div>
        <div>
          <h4>Outputs</h4>
          {card.outputs !== undefined ? <JsonView value={card.outputs} label={`Outputs of ${name}`} /> : <p className="muted small">None recorded.</p>}
        </div>
      </div>
      {failed ? (
        <div className="error-panel">
          <h4>Error</h4>
          <JsonView value={card.error} label={`Error of ${name}`} />
        </div>
      ) : null}
    </li>
  );
}

export function ExecutionPage({ executionId }: { executionId: string }) {
  const state = useApi((signal) => api.get<Execution>(`/executions/${encodeURIComponent(executionId)}`, undefined, signal), [executionId]);
  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['executions'])}>Executions</a> / <code>{executionId}</code>
      </p>
      <Async state={state} loadingLabel="Loading execution">
        {(execution) => {
          const cards = [...(execution.cards ?? [])].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
          const connector = execution.connectorKey;
          return (
            <>
              <PageHeader title={`Execution of ${execution.flow}`}>
                <Pill tone={executionTone(execution.status)}>{execution.status}</Pill>
              </PageHeader>
              <div className="card">
                <dl className="facts">
                  <Row label="Id">
                    <code>{execution.id}</code>
                  </Row>
                  <Row label="Connector">{connector !== undefined ? <a href={href(['connectors', connector])}>{connector}</a> : undefined}</Row>
                  <Row label="Flow kind">{execution.flowKind}</Row>
                  <Row label="Trigger">{execution.trigger ?? undefined}</Row>
                  <Row label="Connection">
                    {execution.connectionId !== undefined && execution.connectionId !== null ? <a href={href(['connections', execution.connectionId])}>{execution.connectionId}</a> : undefined}
                  </Row>
                  <Row label="Started">
                    <Time value={execution.startedAt} />
                  </Row>
                  <Row label="Finished">
                    <Time value={execution.finishedAt} />
                  </Row>
                  <Row label="Duration">{execution.durationMs !== undefined ? `${execution.durationMs} ms` : undefined}</Row>
                  <Row label="Cards executed">{execution.cardsExecuted !== undefined ? String(execution.cardsExecuted) : undefined}</Row>
                </dl>
                <div className="io">
                  <div>
                    <h4>Flow inputs</h4>
                    <JsonView value={execution.inputs ?? {}} label="Flow inputs" />
                  </div>
                  <div>
                    <h4>Flow outputs</h4>
                    <JsonView value={execution.outputs ?? null} label="Flow outputs" />
                  </div>
                </div>
                {execution.error !== undefined && execution.error !== null ? (
                  <div className="error-panel">
                    <h4>Error</h4>
                    <JsonView value={execution.error} />
                  </div>
                ) : null}
              </div>
              <h2>Cards</h2>
              {cards.length === 0 ? (
                <p className="empty">
                  {execution.saveData === false
                    ? 'This flow does not save the data that passes through it, so no card was recorded.'
                    : 'No card was recorded for this run.'}
                </p>
              ) : (
                <ol className="execution-cards" aria-label="Cards in the order they ran">
                  {cards.map((card, index) => (
                    <CardRun key={card.seq ?? index} card={card} index={index} rootFlow={execution.flow} />
                  ))}
                </ol>
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}
