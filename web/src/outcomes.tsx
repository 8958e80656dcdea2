/**
 * Result panels for the connection tests: an authping result (working, message, service response) and a revocation
 * outcome (revoked, the service response status and body; the connector's manual-step text and unregister URL as a
 * warning only when the provider did not revoke, otherwise a quiet link to check by hand). Both
 * come straight from the API; service bodies pass through the display-side redaction before they are shown.
 */
import { ExternalLink, JsonView, Pill } from './components.tsx';
import { messageText } from './model.ts';
import type { AuthpingResult, RevokeOutcome, ServiceResponse } from './model.ts';
import { href } from './router.ts';

function ServiceResponseView({ response }: { response: ServiceResponse | undefined }) {
  if (response === undefined || ((response.statusCode === null || response.statusCode === undefined) && (response.body === null || response.body === undefined))) {
    return <p className="muted small">No call was made to the provider.</p>;
  }
  return (
    <div className="service-response">
      <p>
        Service response status: <strong data-testid="service-status">{response.statusCode ?? '—'}</strong>
      </p>
      {response.body !== undefined ? (
        <details open>
          <summary>Service response body</summary>
          <JsonView value={response.body} label="Service response body" />
        </details>
      ) : null}
    </div>
  );
}

export function AuthpingView({ result }: { result: AuthpingResult }) {
  const executionId = result.executionId ?? undefined;
  return (
    <div className="outcome" role="status" data-testid="authping-result">
      <h4>
        Authping:{' '}
        {result.working === null ? (
          <Pill tone="neutral">no authping flow</Pill>
        ) : result.working ? (
          <Pill tone="good">working</Pill>
        ) : (
          <Pill tone="bad">not working</Pill>
        )}
        {result.refreshed === true ? <Pill tone="neutral">token refreshed first</Pill> : null}
      </h4>
      {result.message !== undefined && result.message !== '' ? <p className="authping-message">{result.message}</p> : null}
      {result.serviceResponse !== undefined && result.serviceResponse !== null ? <ServiceResponseView response={result.serviceResponse} /> : null}
      {executionId !== undefined ? (
        <p className="small">
          <a href={href(['executions', executionId])}>View the execution</a>
        </p>
      ) : null}
    </div>
  );
}

export function RevokeOutcomeView({ outcome, title }: { outcome: RevokeOutcome; title: string }) {
  const message = messageText(outcome.message);
  return (
    <div className="outcome" role="status" data-testid="revoke-result">
      <h4>
        {title}: {outcome.revoked ? <Pill tone="good">revoked</Pill> : <Pill tone="bad">not revoked</Pill>}
        {outcome.verified === true ? <Pill tone="good">verified</Pill> : null}
        {outcome.pending === true ? <Pill tone="warn">still running in the background</Pill> : null}
      </h4>
      {outcome.revoked ? (
        <>
          <p className="notice notice-good revoke-success">
            {outcome.verified === true ? 'The provider revoked the access, and a check confirmed the token no longer works.' : 'The provider revoked the access.'}
          </p>
          {message.unregisterURL !== undefined ? (
            <p className="muted small revoke-check">
              Check by hand: <ExternalLink url={message.unregisterURL} />
            </p>
          ) : null}
        </>
      ) : outcome.pending === true ? (
        <p className="notice revoke-pending">The call to the provider is still running; the connection&apos;s events show how it ends.</p>
      ) : (
        <div className="notice notice-warn revoke-manual">
          <p>
            <strong>Manual step: </strong>
            {message.text ?? 'The provider did not confirm the revocation; remove the access by hand.'}
          </p>
          {message.unregisterURL !== undefined ? (
            <p>
              Remove the access by hand: <ExternalLink url={message.unregisterURL} />
            </p>
          ) : null}
        </div>
      )}
      <ServiceResponseView response={outcome.serviceResponse} />
      {outcome.executionId !== undefined ? (
        <p className="small">
          <a href={href(['executions', outcome.executionId])}>View the execution</a>
        </p>
      ) : null}
    </div>
  );
}
