import { useState, type FormEvent } from 'react';
import type { Delivery } from '../../../src/sdk/client.js';
import { ErrorNote, Loading, Pager, usePager } from '../components/ui.js';
import { ago, when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, paths } from '../router.js';
import { can, useSession } from '../session.js';

export function Webhooks({ selected }: { selected?: string }) {
  useTitle('Webhooks');
  const { client, user } = useSession();
  const hooks = useAsync(() => client.listWebhooks(), []);
  return (
    <section>
      <h1>Webhooks</h1>
      {can(user, 'contributor') && <CreateWebhook onDone={hooks.reload} />}
      <ErrorNote error={hooks.error} />
      {hooks.loading && !hooks.data && <Loading what="webhooks" />}
      {hooks.data && hooks.data.length === 0 && <p className="muted">No webhooks you can see.</p>}
      {hooks.data && hooks.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Webhooks</caption>
            <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Model</th><th scope="col">Active</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {hooks.data.map((h) => (
                <tr key={h.id} className={h.id === selected ? 'changed' : undefined}>
                  <th scope="row" className="break"><Link to={paths.webhook(h.id)} aria-current={h.id === selected ? 'true' : undefined}>{h.url}</Link></th>
                  <td>{h.events.map((e) => <code key={e} className="tag">{e}</code>)}</td>
                  <td>{h.model ?? 'all'}</td>
                  <td>{h.active ? 'yes' : 'paused'}</td>
                  <td title={when(h.created_at)}>{ago(h.created_at)} by {h.created_by}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && <Deliveries id={selected} />}
    </section>
  );
}

function Deliveries({ id }: { id: string }) {
  const { client } = useSession();
  const [status, setStatus] = useState<'' | Delivery['status']>('');
  const pager = usePager(`${id}:${status}`);
  const deliveries = useAsync(() => client.listDeliveries(id, { status: status || undefined, page_size: 25, page_token: pager.token }), [id, status, pager.token]);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const redeliver = async (deliveryId?: string) => {
    setError(null);
    try {
      const r = await client.redeliver(id, deliveryId);
      setNote(`${r.requeued} deliver${r.requeued === 1 ? 'y' : 'ies'} queued again.`);
      deliveries.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <h2>Delivery log</h2>
      <div className="filters">
        <div>
          <label htmlFor="d-status">Status</label>
          <select id="d-status" value={status} onChange={(e) => setStatus(e.target.value as Delivery['status'] | '')}>
            <option value="">any</option><option value="pending">pending</option><option value="delivered">delivered</option><option value="failed">failed</option>
          </select>
        </div>
        <div><button type="button" onClick={() => redeliver()}>Redeliver all failed</button></div>
      </div>
      <ErrorNote error={error ?? deliveries.error} />
      {note && <p className="note note-ok" role="status">{note}</p>}
      {deliveries.loading && !deliveries.data && <Loading what="deliveries" />}
      {deliveries.data && (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Deliveries</caption>
              <thead><tr><th scope="col">Event</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col" className="num">Attempts</th><th scope="col">Last answer</th><th scope="col">Created</th><th scope="col">Attempt log</th></tr></thead>
              <tbody>
                {deliveries.data.deliveries.map((d) => (
                  <tr key={d.id}>
                    <td><code>{d.event_type}</code> #{d.sequence ?? '—'}</td>
                    <td className="break">{d.subject}</td>
                    <td><span className={`badge delivery-${d.status}`}>{d.status}</span></td>
                    <td className="num">{d.attempts}</td>
                    <td className="break">{d.last_status ?? '—'}{d.last_error ? ` ${d.last_error}` : ''}</td>
                    <td title={when(d.created_at)}>{ago(d.created_at)}</td>
                    <td>
                      <details>
                        <summary>{d.attempt_log.length} attempt(s)</summary>
                        <ol className="small">{d.attempt_log.map((a) => <li key={a.attempt}>{when(a.at)}: {a.status ?? 'no answer'} in {a.latency_ms} ms{a.error ? ` — ${a.error}` : ''}</li>)}</ol>
                        {d.status === 'failed' && <button type="button" onClick={() => redeliver(d.id)}>Redeliver</button>}
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {deliveries.data.deliveries.length === 0 && <p className="muted">No deliveries yet.</p>}
          <Pager pager={pager} nextToken={deliveries.data.next_page_token} label="Deliveries" />
        </>
      )}
    </>
  );
}

function CreateWebhook({ onDone }: { onDone(): void }) {
  const { client } = useSession();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('promotion.*, rollback.applied');
  const [model, setModel] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const created = await client.createWebhook({ url, events: events.split(',').map((x) => x.trim()).filter(Boolean), model: model.trim() || undefined });
      setSecret(created.secret);
      setUrl('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details className="card action">
      <summary>Add a webhook</summary>
      <form onSubmit={submit}>
        <label htmlFor="w-url">URL</label>
        <input id="w-url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
        <label htmlFor="w-events">Events (comma separated; * wildcards)</label>
        <input id="w-events" required value={events} onChange={(e) => setEvents(e.target.value)} />
        <label htmlFor="w-model">Only this model (optional; required unless you are an admin)</label>
        <input id="w-model" value={model} onChange={(e) => setModel(e.target.value)} />
        <button type="submit" className="primary">Add webhook</button>
      </form>
      <ErrorNote error={error} title="The webhook was refused" />
      {secret && <p className="note note-ok" role="status">Signing secret (shown once, copy it now): <code className="break">{secret}</code></p>}
    </details>
  );
}
