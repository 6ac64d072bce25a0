import { useState, type ReactNode } from 'react';
import { ApiError, type Stage } from '../../../src/sdk/client.js';

const HEADLINES: Record<string, string> = {
  SELF_APPROVAL_FORBIDDEN: 'Refused by separation of duties',
  APPROVER_NOT_ELIGIBLE: 'You are not an eligible approver for this promotion',
  ROLE_REQUIRED: 'Your role does not allow this',
  GATE_FAILED: 'The policy gates are not met',
  PROMOTION_STALE: 'This promotion went stale',
  UNAUTHENTICATED: 'Not signed in',
};

/** An API error as a user reads it: what happened in words, the stable code for support. */
export function ErrorNote({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const headline = title ?? (api && HEADLINES[api.code]) ?? 'Something went wrong';
  const failed = api?.code === 'GATE_FAILED' ? gateFailures(api.details) : [];
  return (
    <div className="note note-error" role="alert">
      <strong>{headline}</strong>
      <p>{api ? api.message : String((error as Error)?.message ?? error)}</p>
      {failed.length > 0 && <ul>{failed.map((f) => <li key={f}>{f}</li>)}</ul>}
      {api && <p className="muted small">code <code>{api.code}</code>{api.requestId ? <> · request <code>{api.requestId}</code></> : null}</p>}
    </div>
  );
}

function gateFailures(details: unknown): string[] {
  const checks = (details as { checks?: { passed: boolean; message: string }[] } | null)?.checks;
  return Array.isArray(checks) ? checks.filter((c) => !c.passed).map((c) => c.message) : [];
}

export function Loading({ what }: { what: string }) {
  return <p className="muted" role="status">Loading {what}…</p>;
}

export function StageBadge({ stage }: { stage: Stage | string }) {
  return <span className={`badge stage-${stage}`}>{stage}</span>;
}

export function Tags({ tags }: { tags: Record<string, string> }) {
  const entries = Object.entries(tags);
  if (entries.length === 0) return <span className="muted">—</span>;
  return <ul className="tags" aria-label="tags">{entries.map(([k, v]) => <li key={k} className="tag">{v ? `${k}=${v}` : k}</li>)}</ul>;
}

export function KeyValues({ entries, empty, caption }: { entries: [string, ReactNode][]; empty: string; caption: string }) {
  if (entries.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="kv">
      <caption className="sr-only">{caption}</caption>
      <tbody>{entries.map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{v}</td></tr>)}</tbody>
    </table>
  );
}

/** Server-side paging: keeps the tokens of the pages seen, so Previous works without offsets. */
export function usePager(resetKey: string): { token: string | undefined; page: number; next(token: string): void; prev(): void } {
  const [state, setState] = useState<{ key: string; tokens: (string | undefined)[] }>({ key: resetKey, tokens: [undefined] });
  const tokens = state.key === resetKey ? state.tokens : [undefined];
  if (state.key !== resetKey) setState({ key: resetKey, tokens });
  return {
    token: tokens[tokens.length - 1],
    page: tokens.length,
    next: (token) => setState({ key: resetKey, tokens: [...tokens, token] }),
    prev: () => setState({ key: resetKey, tokens: tokens.slice(0, -1) }),
  };
}

export function Pager({ pager, nextToken, label }: { pager: ReturnType<typeof usePager>; nextToken: string | null | undefined; label: string }) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={pager.prev} disabled={pager.page <= 1}>← Previous</button>
      <span aria-live="polite">Page {pager.page}</span>
      <button type="button" onClick={() => nextToken && pager.next(nextToken)} disabled={!nextToken}>Next →</button>
    </nav>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return <pre className="json" aria-label={label} tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>;
}
