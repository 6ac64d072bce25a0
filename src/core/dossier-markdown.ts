/** The dossier for people: Markdown, and HTML built from the same sections with everything escaped. */
import type { Dossier } from './services/dossier-service.js';

type Table = { headers: string[]; rows: unknown[][] };
type Section = { title: string; text?: string; fields?: [string, unknown][]; table?: Table; pre?: string };

function sections(d: Dossier): Section[] {
  const v = d.version;
  const m = d.model;
  return [
    {
      title: 'Model', fields: [
        ['name', m.name], ['owner', m.owner], ['responsible', m.responsible.join(', ')], ['risk tier', m.risk_tier],
        ['intended use', m.intended_use], ['restrictions on use', m.restrictions], ['validation status', m.validation_status],
        ['last validated', m.last_validated_at], ['next validation due', m.next_validation_due], ['validity period', m.validity_period],
        ['policy exceptions', m.policy_exceptions.map((e) => e.description).join('; ')],
      ],
    },
    {
      title: `Version ${v.version}`, fields: [
        ['digest', v.digest], ['stage', v.stage], ['aliases', v.aliases.join(', ')], ['created', `${v.created_at} by ${v.created_by}`],
        ['description', v.description], ['source', v.source_uri],
      ],
    },
    { title: 'Metrics', table: { headers: ['metric', 'value'], rows: Object.entries(v.metrics) } },
    { title: 'Parameters', table: { headers: ['param', 'value'], rows: Object.entries(v.params) } },
    { title: 'Files', table: { headers: ['path', 'size', 'sha256'], rows: v.files.map((f) => [f.path, f.size, f.digest]) } },
    { title: 'Signature', pre: v.signature === null ? 'none recorded' : JSON.stringify(v.signature, null, 2) },
    { title: 'Model card', text: v.model_card ?? '_No model card._' },
    {
      title: 'Lineage', table: {
        headers: ['from', 'relation', 'to'],
        rows: d.lineage.edges.map((e) => [e.from, e.kind, e.to]),
      },
    },
    {
      title: 'Reproducibility', text: d.reproduce.reproducible ? 'Everything needed to rebuild this version is recorded.' : `Missing: ${d.reproduce.missing.join('; ')}.`,
      pre: JSON.stringify({ code: d.reproduce.code, datasets: d.reproduce.datasets, params: d.reproduce.params, environment: d.reproduce.environment }, null, 2),
    },
    {
      title: 'Promotions', table: {
        headers: ['requested', 'by', 'target', 'status', 'gates', 'approvals', 'decided'],
        rows: d.promotions.map((p) => [
          p.created_at, p.requested_by, p.target, p.status,
          p.checks.map((c) => `${c.passed ? 'pass' : 'FAIL'} ${c.gate} (${JSON.stringify(c.observed)})`).join('; ') || 'none',
          p.approvals.map((a) => `${a.username} (${a.role}) ${a.at}${a.comment ? `: ${a.comment}` : ''}`).join('; ') || 'none',
          p.decided_at ? `${p.decided_at} by ${p.decided_by}${p.decision_comment ? `: ${p.decision_comment}` : ''}` : '',
        ]),
      },
    },
    {
      title: 'Stage and alias history', table: {
        headers: ['target', 'from', 'until', 'via', 'requested by', 'approved by', 'reason'],
        rows: d.history.map((h) => [h.target, h.started_at, h.ended_at ?? 'now', h.via, h.actor, h.approved_by.join(', '), h.reason]),
      },
    },
    {
      title: 'Audit trail', text: `Chain verification: ${d.audit.chain.ok ? `verified (${d.audit.chain.entries} entries, head ${d.audit.chain.head_hash})` : `BROKEN at entry ${d.audit.chain.first_bad_seq}: ${d.audit.chain.problem}`}`,
      table: {
        headers: ['seq', 'time', 'actor', 'action', 'resource', 'hash'],
        rows: d.audit.entries.map((e) => [e.seq, e.time, e.actor, e.action, e.resource, e.hash.slice(0, 16)]),
      },
    },
  ];
}

const cell = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v));

export function dossierMarkdown(d: Dossier): string {
  const md = (v: unknown) => cell(v).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const out = [`# Evidence dossier: ${d.model.name} version ${d.version.version}`, '', `Generated ${d.generated_at} by ${d.generated_by}.`, ''];
  for (const s of sections(d)) {
    out.push(`## ${s.title}`, '');
    if (s.text) out.push(s.text, '');
    if (s.fields) out.push(...s.fields.map(([k, v]) => `- **${k}**: ${md(v)}`), '');
    if (s.pre) out.push('```json', s.pre, '```', '');
    if (s.table) {
      if (s.table.rows.length === 0) out.push('_None._', '');
      else out.push(`| ${s.table.headers.join(' | ')} |`, `|${s.table.headers.map(() => '---').join('|')}|`, ...s.table.rows.map((r) => `| ${r.map(md).join(' | ')} |`), '');
    }
  }
  return out.join('\n');
}

export function dossierHtml(d: Dossier): string {
  const esc = (v: unknown) => cell(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const body: string[] = [`<h1>Evidence dossier: ${esc(d.model.name)} version ${esc(d.version.version)}</h1>`, `<p>Generated ${esc(d.generated_at)} by ${esc(d.generated_by)}.</p>`];
  for (const s of sections(d)) {
    body.push(`<h2>${esc(s.title)}</h2>`);
    // The model card is shown as written: Markdown source, never interpreted as HTML.
    if (s.text) body.push(`<pre class="text">${esc(s.text)}</pre>`);
    if (s.fields) body.push('<dl>', ...s.fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`), '</dl>');
    if (s.pre) body.push(`<pre>${esc(s.pre)}</pre>`);
    if (s.table) {
      body.push(s.table.rows.length === 0 ? '<p><em>None.</em></p>' : `<table><thead><tr>${s.table.headers.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${s.table.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dossier: ${esc(d.model.name)} v${esc(d.version.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111}table{border-collapse:collapse;width:100%;margin-bottom:1rem}th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}pre{white-space:pre-wrap;background:#f4f4f4;padding:.75rem}dt{font-weight:600}dd{margin:0 0 .5rem 0}</style>
</head><body>${body.join('\n')}</body></html>`;
}
