import { useState, type FormEvent } from 'react';
import { ErrorNote, Json, Loading, Pager, usePager } from '../components/ui.js';
import { when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { navigate, paths, useLocation } from '../router.js';
import { useSession } from '../session.js';

const FIELDS = [['resource', 'Resource (e.g. models/fraud-scorer)'], ['actor', 'Actor'], ['action', 'Action (e.g. promotion.approved)'], ['since', 'Since (ISO time)']] as const;

export function Audit() {
  useTitle('Audit log');
  const { client } = useSession();
  const { search } = useLocation();
  const filters = Object.fromEntries(FIELDS.map(([k]) => [k, search.get(k) ?? ''])) as Record<(typeof FIELDS)[number][0], string>;
  const [draft, setDraft] = useState(filters);
  const key = JSON.stringify(filters);
  const pager = usePager(key);
  const verify = useAsync(() => client.verifyAudit(), []);
  const entries = useAsync(() => client.listAudit({
    resource: filters.resource || undefined, actor: filters.actor || undefined, action: filters.action || undefined,
    since: filters.since || undefined, page_size: 50, page_token: pager.token,
  }), [key, pager.token]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(draft).filter(([, v]) => v.trim()).map(([k, v]) => [k, v.trim()]));
    navigate(paths.audit(q.toString()), true);
  };
  const v = verify.data;
  return (
    <section>
      <h1>Audit log</h1>
      {verify.error ? <ErrorNote error={verify.error} title="Could not verify the chain" /> : !v ? <Loading what="the chain check" /> : v.ok ? (
        <div className="note note-ok" role="status">
          <strong>Chain verified.</strong> All {v.entries} entries hash-link correctly; head <code className="break">{v.head_hash.slice(0, 16)}…</code>
        </div>
      ) : (
        <div className="note note-error" role="alert">
          <strong>Chain BROKEN at entry {v.first_bad_seq}.</strong> {v.problem} Entries from there on cannot be trusted; investigate before relying on this log.
        </div>
      )}
      <form className="filters" onSubmit={submit} aria-label="Filter audit entries">
        {FIELDS.map(([k, label]) => (
          <div key={k}>
            <label htmlFor={`a-${k}`}>{label}</label>
            <input id={`a-${k}`} value={draft[k]} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
          </div>
        ))}
        <div><button type="submit" className="primary">Filter</button></div>
      </form>
      <ErrorNote error={entries.error} />
      {entries.loading && !entries.data && <Loading what="audit entries" />}
      {entries.data && (
        <>
          <div className="table-wrap">
            <table className="audit">
              <caption className="sr-only">Audit entries, newest first</caption>
              <thead><tr><th scope="col" className="num">Seq</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Change</th></tr></thead>
              <tbody>
                {entries.data.entries.map((e) => (
                  <tr key={e.seq}>
                    <td className="num">{e.seq}</td>
                    <td><time dateTime={e.time}>{when(e.time)}</time></td>
                    <td>{e.actor}</td>
                    <td><code>{e.action}</code></td>
                    <td className="break">{e.resource}</td>
                    <td><details><summary>{summary(e.changes)}</summary><Json value={e.changes} label={`Change of entry ${e.seq}`} /><p className="small muted break">hash {e.hash}</p></details></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {entries.data.entries.length === 0 && <p className="muted">No entries match.</p>}
          <Pager pager={pager} nextToken={entries.data.next_page_token} label="Audit" />
        </>
      )}
    </section>
  );
}

/** One line of what changed: the reason or comment if there is one, else the changed fields. */
function summary(changes: unknown): string {
  if (!changes || typeof changes !== 'object') return 'details';
  const c = changes as Record<string, unknown>;
  for (const k of ['reason', 'comment', 'decision_comment']) if (typeof c[k] === 'string' && c[k]) return `“${String(c[k]).slice(0, 80)}”`;
  const keys = Object.keys(c);
  return keys.length ? keys.slice(0, 4).join(', ') + (keys.length > 4 ? '…' : '') : 'details';
}
