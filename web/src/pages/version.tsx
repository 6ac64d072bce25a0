import { useState, type FormEvent } from 'react';
import type { FileEntry, Promotion } from '../../../src/sdk/client.js';
import { Markdown } from '../components/markdown.js';
import { ErrorNote, Json, KeyValues, Loading, StageBadge, Tags } from '../components/ui.js';
import { bytes, metric, shortDigest, when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, paths } from '../router.js';
import { can, useSession } from '../session.js';
import { Checks } from './approvals.js';

export function VersionPage({ name, version }: { name: string; version: number }) {
  useTitle(`${name} v${version}`);
  const { client, user } = useSession();
  const v = useAsync(() => client.getVersion(name, version), [name, version]);
  if (v.error) return <section><h1>{name} · version {version}</h1><ErrorNote error={v.error} /></section>;
  if (!v.data) return <Loading what="the version" />;
  const d = v.data;
  const lineage = d.lineage;
  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> / <Link to={paths.model(name)}>{name}</Link> /</p>
      <h1 className="break">{name} · version {version}</h1>
      <p className="meta">
        <StageBadge stage={d.stage} /> {d.aliases.map((a) => <span key={a} className="tag">@{a}</span>)}
        {d.degraded && <span className="badge warn">degraded since {when(d.degraded_at)}</span>}
        {' '}status {d.status} · created by {d.created_by} on {when(d.created_at)}
      </p>
      <p className="digest">digest <code>{d.digest}</code></p>
      {d.description && <p className="lead">{d.description}</p>}
      <p>
        <Link to={paths.lineage(name, version)}>Lineage graph</Link> · <Link to={paths.history(name)}>Timeline</Link> · <Link to={paths.audit(`resource=${encodeURIComponent(`models/${name}/versions/${version}`)}`)}>Audit entries</Link>
      </p>

      {can(user, 'contributor') && <RequestPromotion name={name} version={version} onDone={v.reload} />}

      <div className="columns">
        <div>
          <h2>Metrics</h2>
          <KeyValues caption="Metrics" empty="No metrics recorded." entries={Object.entries(d.metrics).map(([k, x]) => [k, <span className="num">{metric(x)}</span>])} />
        </div>
        <div>
          <h2>Params</h2>
          <KeyValues caption="Params" empty="No params recorded." entries={Object.entries(d.params).map(([k, x]) => [k, <code className="break">{x}</code>])} />
        </div>
      </div>
      <h2>Tags</h2>
      <Tags tags={d.tags} />

      <h2>Files</h2>
      {d.source_uri && <p>Bytes live at <code className="break">{d.source_uri}</code>.</p>}
      {d.files.length === 0 ? <p className="muted">No files stored.</p> : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Files of version {version}</caption>
            <thead><tr><th scope="col">Path</th><th scope="col" className="num">Size</th><th scope="col">Digest</th><th scope="col"><span className="sr-only">Download</span></th></tr></thead>
            <tbody>{d.files.map((f) => <FileRow key={f.path} file={f} />)}</tbody>
          </table>
        </div>
      )}

      <h2>Signature</h2>
      {d.signature ? <Signature value={d.signature} /> : <p className="muted">No signature recorded.</p>}

      <h2>Model card</h2>
      {d.model_card ? <div className="card"><Markdown text={d.model_card} /></div> : <p className="muted">No model card.</p>}

      <h2>Lineage</h2>
      <ul className="plain">
        {lineage.datasets.map((ds) => (
          <li key={`${ds.name}@${ds.version}`}>
            dataset <Link to={paths.impact(`dataset=${encodeURIComponent(`${ds.name}@${ds.version}`)}`)}>{ds.name}@{ds.version}</Link> ({ds.role})
          </li>
        ))}
        {lineage.code && <li>code <code className="break">{lineage.code.repo}</code> at <code>{lineage.code.commit}</code>{lineage.code.dirty ? ' (dirty)' : ''}</li>}
        {lineage.run && <li>run {lineage.run.url ? <a href={lineage.run.url} rel="noreferrer noopener">{lineage.run.id}</a> : lineage.run.id}</li>}
        {lineage.parents.map((p) => <li key={`${p.model}@${p.version}`}>{p.relation?.replace(/_/g, ' ') ?? 'derived from'} <Link to={paths.version(p.model, p.version)}>{p.model} v{p.version}</Link></li>)}
        {!lineage.datasets.length && !lineage.code && !lineage.run && !lineage.parents.length && <li className="muted">No lineage declared.</li>}
      </ul>
    </section>
  );
}

function FileRow({ file }: { file: FileEntry }) {
  const { client } = useSession();
  const [state, setState] = useState<{ busy: boolean; error: unknown; done: boolean }>({ busy: false, error: null, done: false });
  const download = async () => {
    setState({ busy: true, error: null, done: false });
    try {
      // The SDK checks the bytes against the digest before handing them over.
      const data = await client.downloadBlob(file.digest);
      const url = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>]));
      const a = document.createElement('a');
      a.href = url;
      a.download = file.path.split('/').pop() || 'download';
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ busy: false, error: null, done: true });
    } catch (error) {
      setState({ busy: false, error, done: false });
    }
  };
  return (
    <tr>
      <th scope="row" className="break">{file.path}</th>
      <td className="num">{bytes(file.size)}</td>
      <td><code title={file.digest}>{shortDigest(file.digest)}</code></td>
      <td>
        <button type="button" onClick={download} disabled={state.busy} aria-label={`Download ${file.path}`}>{state.busy ? 'Downloading…' : 'Download'}</button>
        {state.done && <span className="ok small" role="status"> digest verified</span>}
        <ErrorNote error={state.error} title="Download failed" />
      </td>
    </tr>
  );
}

function RequestPromotion({ name, version, onDone }: { name: string; version: number; onDone(): void }) {
  const { client } = useSession();
  const [target, setTarget] = useState('production');
  const [alias, setAlias] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<Promotion | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    try {
      setResult(await client.promote(name, version, { target: target === '@' ? `@${alias.trim()}` : target, reason }));
      setReason('');
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <details className="card action">
      <summary>Request a promotion</summary>
      <form onSubmit={submit}>
        <div className="row">
          <div>
            <label htmlFor="p-target">Target</label>
            <select id="p-target" value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="staging">staging</option>
              <option value="production">production</option>
              <option value="archived">archived</option>
              <option value="@">an alias…</option>
            </select>
          </div>
          {target === '@' && (
            <div>
              <label htmlFor="p-alias">Alias</label>
              <input id="p-alias" value={alias} onChange={(e) => setAlias(e.target.value)} required />
            </div>
          )}
        </div>
        <label htmlFor="p-reason">Reason</label>
        <textarea id="p-reason" value={reason} onChange={(e) => setReason(e.target.value)} required rows={2} />
        <button type="submit" className="primary">Request promotion</button>
      </form>
      <ErrorNote error={error} title="The request was refused" />
      {result && (
        <div className="note note-ok" role="status">
          <strong>Promotion {result.status === 'applied' ? 'applied' : 'requested'}</strong>: version {result.version} → {result.target} ({result.status}).
          {result.status === 'pending' && <> It needs {result.policy?.approvals_required ?? 1} approval(s); it is in the <Link to={paths.approvals()}>approvals inbox</Link>.</>}
          <Checks checks={result.checks} />
        </div>
      )}
    </details>
  );
}

type Field = { name?: unknown; type?: unknown; shape?: unknown };

/** An `{inputs, outputs}` signature as two small tables; anything else as JSON. */
function Signature({ value }: { value: unknown }) {
  const sig = value as { inputs?: unknown; outputs?: unknown };
  const fields = (list: unknown) => (Array.isArray(list) && list.every((f) => f && typeof f === 'object') ? (list as Field[]) : null);
  const inputs = fields(sig.inputs);
  const outputs = fields(sig.outputs);
  if (!inputs || !outputs) return <Json value={value} label="Signature" />;
  const table = (caption: string, list: Field[]) => (
    <table className="kv">
      <caption>{caption}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Type</th></tr></thead>
      <tbody>{list.map((f, i) => <tr key={i}><th scope="row" className="break">{String(f.name ?? `#${i}`)}</th><td><code>{String(f.type ?? '?')}{f.shape ? ` ${JSON.stringify(f.shape)}` : ''}</code></td></tr>)}</tbody>
    </table>
  );
  return <div className="columns">{table('Inputs', inputs)}{table('Outputs', outputs)}</div>;
}
