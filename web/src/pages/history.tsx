import { useState, type FormEvent } from 'react';
import { ErrorNote, Loading, Pager, usePager } from '../components/ui.js';
import { ago, when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, paths } from '../router.js';
import { can, useSession } from '../session.js';

export function History({ name }: { name: string }) {
  useTitle(`${name} timeline`);
  const { client, user } = useSession();
  const [target, setTarget] = useState('');
  const pager = usePager(`${name}:${target}`);
  const history = useAsync(() => client.history(name, { target: target || undefined, page_size: 50, page_token: pager.token }), [name, target, pager.token]);
  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> / <Link to={paths.model(name)}>{name}</Link> /</p>
      <h1 className="break">{name}: stage and alias timeline</h1>
      {can(user, 'approver') && <Rollback name={name} onDone={history.reload} />}
      <div className="filters">
        <div>
          <label htmlFor="h-target">Show</label>
          <select id="h-target" value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">every stage and alias</option>
            <option value="production">production</option>
            <option value="staging">staging</option>
          </select>
        </div>
      </div>
      <ErrorNote error={history.error} />
      {history.loading && !history.data && <Loading what="the timeline" />}
      {history.data?.history.length === 0 && <p className="muted">Nothing has held a stage or alias yet.</p>}
      <ol className="timeline" aria-label="Timeline, newest first">
        {history.data?.history.map((h, i) => (
          <li key={i} className={`via-${h.via}${h.ended_at ? '' : ' current'}`}>
            <p className="when"><time dateTime={h.started_at}>{when(h.started_at)}</time> <span className="muted">({ago(h.started_at)})</span></p>
            <p>
              <strong><Link to={paths.version(name, h.version)}>version {h.version}</Link></strong> {h.ended_at ? 'held' : 'holds'} <strong>{h.target}</strong>
              {h.ended_at ? <> until {when(h.ended_at)}</> : <span className="badge stage-production"> now</span>}
            </p>
            <p className="small">
              via <strong>{h.via}</strong> by {h.actor}{h.approved_by.length ? `, approved by ${h.approved_by.join(', ')}` : ''}
              {h.reason ? <> — “{h.reason}”</> : null}
            </p>
          </li>
        ))}
      </ol>
      <Pager pager={pager} nextToken={history.data?.next_page_token} label="Timeline" />
    </section>
  );
}

function Rollback({ name, onDone }: { name: string; onDone(): void }) {
  const { client } = useSession();
  const [reason, setReason] = useState('');
  const [version, setVersion] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (!confirm(`Roll back ${name} production${version ? ` to version ${version}` : ''}? This takes effect at once.`)) return;
    try {
      const r = await client.rollback(name, { reason, target: 'production', version: version ? Number(version) : undefined });
      setDone(`Rolled ${name} production back from version ${r.from_version ?? '—'} to version ${r.to_version}.`);
      setReason('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details className="card action">
      <summary>Roll back production</summary>
      <form onSubmit={submit}>
        <p className="small">Production goes back to the latest earlier version that was approved for it, or the one you name, with no new approval. The reason goes into the audit log.</p>
        <div className="row">
          <div>
            <label htmlFor="r-version">Version (optional)</label>
            <input id="r-version" inputMode="numeric" pattern="[0-9]*" value={version} onChange={(e) => setVersion(e.target.value)} size={6} />
          </div>
        </div>
        <label htmlFor="r-reason">Reason</label>
        <textarea id="r-reason" rows={2} required value={reason} onChange={(e) => setReason(e.target.value)} />
        <button type="submit" className="danger">Roll back</button>
      </form>
      <ErrorNote error={error} title="Rollback refused" />
      {done && <p className="note note-ok" role="status">{done}</p>}
    </details>
  );
}
