/**
 * One execution, card by card: each card's type, status, timing, inputs, outputs and error, in the order it ran.
 * History is redacted by the server (vault values become `[redacted]`); the viewer redacts secret-looking keys again.
 */
import { api } from '../api.ts';
import { Async, JsonView, PageHeader, Pill, Row, Time, useApi } from '../components.tsx';
import { elementKeyOf } from '../model.ts';
import type { Execution, ExecutionCard } from '../model.ts';
import { href } from '../router.ts';
import { executionTone } from './Executions.tsx';

function CardRun({ card, index }: { card: ExecutionCard; index: number }) {
  const name = card.card ?? card.id ?? card.path ?? `card ${index + 1}`;
  return (
    <li className="card execution-card">
      <div className="connection-head">
        <h3>
          <span className="muted">{index + 1}.</span> <code>{name}</code> {card.type !== undefined ? <span className="muted small">{card.type}</span> : null}
        </h3>
        {card.status !== undefined ? <Pill tone={executionTone(card.status)}>{card.status}</Pill> : null}
        {card.durationMs !== undefined ? <span className="muted small">{card.durationMs} ms</span> : null}
      </div>
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
      {card.error !== undefined && card.error !== null ? (
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
          const cards = execution.cards ?? execution.steps ?? [];
          return (
            <>
              <PageHeader title={`Execution of ${execution.flow ?? execution.flowName ?? 'a flow'}`}>
                <Pill tone={executionTone(execution.status)}>{execution.status}</Pill>
              </PageHeader>
              <div className="card">
                <dl className="facts">
                  <Row label="Id">
                    <code>{execution.id}</code>
                  </Row>
                  <Row label="Connector">{execution.element !== undefined || execution.elementKey !== undefined ? elementKeyOf(execution.element, execution.elementKey) : undefined}</Row>
                  <Row label="Connection">{execution.instanceId !== undefined && execution.instanceId !== null ? <a href={href(['connections', execution.instanceId])}>{execution.instanceId}</a> : undefined}</Row>
                  <Row label="Started">
                    <Time value={execution.startedAt} />
                  </Row>
                  <Row label="Finished">
                    <Time value={execution.finishedAt} />
                  </Row>
                  <Row label="Duration">{execution.durationMs !== undefined ? `${execution.durationMs} ms` : undefined}</Row>
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
                <p className="empty">No card data was saved for this run (the flow does not save all data that passes through it).</p>
              ) : (
                <ol className="execution-cards" aria-label="Cards in the order they ran">
                  {cards.map((card, index) => (
                    <CardRun key={index} card={card} index={index} />
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
