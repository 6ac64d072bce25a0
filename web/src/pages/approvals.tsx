import { useState } from 'react';
import type { GateCheck, Promotion } from '../../../src/sdk/client.js';
import { ErrorNote, Loading, Pager, usePager } from '../components/ui.js';
import { ago, metric, when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, navigate, paths, useLocation } from '../router.js';
import { can, useSession } from '../session.js';

const VIEWS = [
  ['mine', 'Waiting for me'],
  ['pending', 'All pending'],
  ['applied', 'Applied'],
  ['rejected', 'Rejected'],
  ['cancelled', 'Cancelled'],
] as const;
type View = (typeof VIEWS)[number][0];

export function Approvals() {
  useTitle('Approvals');
  const { client, user } = useSession();
  const { search } = useLocation();
  const approver = can(user, 'approver');
  const view = (search.get('view') as View | null) ?? (approver ? 'mine' : 'pending');
  const pager = usePager(view);
  const list = useAsync(() => client.listPromotions({
    status: view === 'mine' ? 'pending' : view, waiting_for: view === 'mine' ? 'me' : undefined, page_size: 20, page_token: pager.token,
  }), [view, pager.token]);
  return (
    <section>
      <h1>Approvals</h1>
      <div role="tablist" aria-label="Which promotions" className="tabs">
        {VIEWS.filter(([v]) => v !== 'mine' || approver).map(([v, label]) => (
          <button key={v} role="tab" type="button" aria-selected={view === v} onClick={() => navigate(`/approvals?view=${v}`, true)}>{label}</button>
        ))}
      </div>
      <div role="tabpanel">
        <ErrorNote error={list.error} />
        {list.loading && !list.data && <Loading what="promotions" />}
        {list.data?.promotions.length === 0 && <p className="muted">Nothing here{view === 'mine' ? ': no promotion is waiting for your approval' : ''}.</p>}
        <ul className="cards">
          {list.data?.promotions.map((p) => <li key={p.id}><PromotionCard promotion={p} /></li>)}
        </ul>
        <Pager pager={pager} nextToken={list.data?.next_page_token} label="Promotions" />
      </div>
    </section>
  );
}

/** One promotion; a decision updates the card in place, so its outcome stays in view. */
function PromotionCard({ promotion }: { promotion: Promotion }) {
  const { client, user } = useSession();
  const [p, setP] = useState(promotion);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rule = p.policy;
  const act = async (what: 'approve' | 'reject') => {
    setBusy(true);
    setError(null);
    try {
      const after = what === 'approve' ? await client.approve(p.id, comment || undefined) : await client.reject(p.id, comment);
      setDone(what === 'approve'
        ? (after.status === 'applied' ? `Approved: version ${p.version} is now ${p.target}.` : after.status === 'cancelled' ? `Not applied: ${after.decision_comment}` : `Approved; ${after.approvals.length} of ${after.policy?.approvals_required ?? 1} approvals so far.`)
        : `Rejected: version ${p.version} will not go to ${p.target}.`);
      setP(after);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const id = `promotion-${p.id}`;
  return (
    <article className="card promotion" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="break">
        <Link to={paths.model(p.model)}>{p.model}</Link> <Link to={paths.version(p.model, p.version)}>version {p.version}</Link> → {p.target}
        {' '}<span className={`badge status-${p.status}`}>{p.status}</span>
      </h2>
      <p>Requested by <strong>{p.requested_by}</strong> <span title={when(p.created_at)}>{ago(p.created_at)}</span>: “{p.reason}”</p>
      {rule && (
        <p className="small">
          Policy: {rule.approvals_required} approval(s) from {rule.approver_roles.join(' or ')}{rule.approver_groups.length ? ` in ${rule.approver_groups.join(', ')}` : ''}
          {rule.separation_of_duties ? '; separation of duties: the version’s creator and the requester may not approve' : ''}.
        </p>
      )}
      <Checks checks={p.checks} />
      {p.status === 'pending' && p.target === 'production' && <AgainstProduction id={p.id} />}
      {p.approvals.length > 0 && (
        <ul className="plain small">{p.approvals.map((a) => <li key={a.username}>✓ approved by {a.username} ({a.role}) {ago(a.at)}{a.comment ? `: “${a.comment}”` : ''}</li>)}</ul>
      )}
      {p.decided_by && <p className="small">Decided by {p.decided_by} {p.decided_at ? ago(p.decided_at) : ''}{p.decision_comment ? `: “${p.decision_comment}”` : ''}</p>}
      {p.status === 'pending' && can(user, 'approver') && !done && (
        <div className="decide">
          <label htmlFor={`${id}-comment`}>Comment (required to reject)</label>
          <textarea id={`${id}-comment`} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
          <div className="row">
            <button type="button" className="primary" disabled={busy} onClick={() => act('approve')}>Approve</button>
            <button type="button" className="danger" disabled={busy || comment.trim() === ''} onClick={() => act('reject')}>Reject</button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
      {done && <p className="note note-ok" role="status">{done}</p>}
    </article>
  );
}

/** The candidate's metrics beside the version live now and what production has observed of it. */
function AgainstProduction({ id }: { id: string }) {
  const { client } = useSession();
  const detail = useAsync(() => client.getPromotion(id), [id]);
  const c = detail.data?.comparison;
  if (!c) return null;
  if (!c.production) return <p className="small">Nothing is in production yet: this would be the first release.</p>;
  const live = c.production;
  const keys = [...new Set([...Object.keys(c.candidate.metrics), ...Object.keys(live.metrics)])].sort();
  return (
    <details className="small">
      <summary>Against version {live.version}, in production now{live.degraded ? ' (degraded)' : ''}</summary>
      <table className="kv">
        <caption className="sr-only">Candidate against production</caption>
        <thead><tr><th scope="col">Metric</th><th scope="col" className="num">v{c.candidate.version} (candidate)</th><th scope="col" className="num">v{live.version} (live)</th></tr></thead>
        <tbody>{keys.map((k) => <tr key={k}><th scope="row">{k}</th><td className="num">{metric(c.candidate.metrics[k])}</td><td className="num">{metric(live.metrics[k])}</td></tr>)}</tbody>
      </table>
      {live.recent_observations.length > 0 && (
        <p>Observed in production: {live.recent_observations.slice(0, 5).map((o) => `${o.metric} ${metric(o.value)} (${o.source})`).join('; ')}</p>
      )}
    </details>
  );
}

export function Checks({ checks }: { checks: GateCheck[] }) {
  if (checks.length === 0) return <p className="small muted">No gates for this target.</p>;
  return (
    <ul className="checks" aria-label="Gate results">
      {checks.map((c) => (
        <li key={c.gate} className={c.passed ? 'pass' : 'fail'}>
          <span aria-hidden="true">{c.passed ? '✓' : '✗'}</span> <span className="sr-only">{c.passed ? 'passed' : 'failed'}:</span> <code>{c.gate}</code> — {c.message}
        </li>
      ))}
    </ul>
  );
}
