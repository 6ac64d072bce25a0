import type { Version } from '../../../src/sdk/client.js';
import { MetricChart } from '../components/chart.js';
import { ErrorNote, Loading, StageBadge } from '../components/ui.js';
import { metric } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, paths, useLocation } from '../router.js';
import { useSession } from '../session.js';

export function Compare({ name }: { name: string }) {
  useTitle(`Compare ${name}`);
  const { client } = useSession();
  const { search } = useLocation();
  const wanted = [...new Set(search.getAll('v').map(Number).filter((n) => Number.isInteger(n) && n > 0))].slice(0, 8);
  const versions = useAsync(() => Promise.all(wanted.map((v) => client.getVersion(name, v))), [name, wanted.join(',')]);
  const head = <><p className="crumbs"><Link to="/models">Models</Link> / <Link to={paths.model(name)}>{name}</Link> /</p><h1 className="break">Compare {name}: {wanted.map((v) => `v${v}`).join(', ')}</h1></>;
  if (wanted.length < 2) return <section>{head}<p>Pick two or more versions on the <Link to={paths.model(name)}>model page</Link>.</p></section>;
  if (versions.error) return <section>{head}<ErrorNote error={versions.error} /></section>;
  if (!versions.data) return <section>{head}<Loading what="versions" /></section>;
  const list = versions.data;
  const metricKeys = union(list.map((v) => Object.keys(v.metrics)));
  const paramKeys = union(list.map((v) => Object.keys(v.params)));
  const base = list[0]!;
  return (
    <section>
      {head}
      <h2>Metrics</h2>
      {metricKeys.length === 0 ? <p className="muted">None of these versions has metrics.</p> : (
        <>
          <MetricChart keys={metricKeys} versions={list.map((v) => ({ label: `v${v.version}`, metrics: v.metrics }))} />
          <div className="table-wrap">
            <table>
              <caption>Metrics side by side; the change is against version {base.version}</caption>
              <thead><tr><th scope="col">Metric</th>{list.map((v) => <th key={v.version} scope="col" className="num">v{v.version} <StageBadge stage={v.stage} /></th>)}</tr></thead>
              <tbody>
                {metricKeys.map((k) => (
                  <tr key={k}>
                    <th scope="row" className="break">{k}</th>
                    {list.map((v) => <td key={v.version} className="num">{metric(v.metrics[k])}{v !== base && <Delta a={base.metrics[k]} b={v.metrics[k]} />}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h2>Params</h2>
      <ParamsDiff list={list} keys={paramKeys} />
    </section>
  );
}

function Delta({ a, b }: { a: number | undefined; b: number | undefined }) {
  if (a === undefined || b === undefined || a === b) return null;
  const d = b - a;
  return <span className="delta"> ({d > 0 ? '+' : '−'}{metric(Math.abs(d))})</span>;
}

function ParamsDiff({ list, keys }: { list: Version[]; keys: string[] }) {
  if (keys.length === 0) return <p className="muted">None of these versions has params.</p>;
  const differs = (k: string) => new Set(list.map((v) => v.params[k] ?? '\u0000')).size > 1;
  const changed = keys.filter(differs);
  return (
    <>
      <p>{changed.length} of {keys.length} params differ{changed.length ? `: ${changed.join(', ')}` : ''}.</p>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Params side by side</caption>
          <thead><tr><th scope="col">Param</th>{list.map((v) => <th key={v.version} scope="col">v{v.version}</th>)}<th scope="col">Same?</th></tr></thead>
          <tbody>
            {[...changed, ...keys.filter((k) => !differs(k))].map((k) => (
              <tr key={k} className={differs(k) ? 'changed' : undefined}>
                <th scope="row" className="break">{k}</th>
                {list.map((v) => <td key={v.version} className="break">{v.params[k] ?? <span className="muted">(unset)</span>}</td>)}
                <td>{differs(k) ? <strong>differs</strong> : 'same'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}
