/**
 * The evidence dossier of one version: what an auditor receives. It assembles the model's
 * inventory record, the version (card, metrics, params, signature, files), its full upstream
 * lineage, every promotion with its gate results and approvals, its stage and alias history,
 * and every audit entry about it, with the verification result of the whole chain.
 */
import { requireRole } from '../access.js';
import { verifyChain } from '../audit-chain.js';
import type { CoreDeps } from '../core-deps.js';
import { presentAuditEntry, presentHolding, presentModel, presentPromotion, presentVersion } from '../present.js';
import type { Repositories } from '../ports.js';
import type { Actor, AuditEntry, Promotion } from '../types.js';
import { LineageService } from './lineage-service.js';
import { requireModel, requireVersion } from './lookup.js';

export type Dossier = Awaited<ReturnType<DossierService['build']>>;

export class DossierService {
  private readonly lineage: LineageService;

  constructor(private readonly deps: CoreDeps) {
    this.lineage = new LineageService(deps);
  }

  async build(actor: Actor, modelName: string, number: number) {
    requireRole(actor, 'viewer', 'reading a dossier');
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    const version = await requireVersion(repos, model, number);
    const promotions = await promotionsOf(repos, model.id, number);
    const names = [model.name, ...model.formerNames];
    const resources = [
      ...names.map((n) => `models/${n}/versions/${number}`),
      ...promotions.flatMap((p) => names.map((n) => `models/${n}/promotions/${p.id}`)),
    ];
    const audit: AuditEntry[] = [];
    for (const resource of resources) audit.push(...(await allAudit(repos, resource)));
    audit.sort((a, b) => a.seq - b.seq);
    const chain = await verifyChain(repos.journal);
    return {
      generated_at: this.deps.clock.now(),
      generated_by: actor.username,
      model: presentModel(model),
      version: presentVersion(version),
      lineage: await this.lineage.upstream(model.name, number, 50),
      reproduce: await this.lineage.reproduceSpec(model.name, number),
      promotions: promotions.map(presentPromotion),
      history: (await repos.holdings.forVersion(model.id, number)).map(presentHolding),
      audit: {
        entries: audit.map(presentAuditEntry),
        chain: { ok: chain.ok, entries: chain.entries, head_hash: chain.headHash, first_bad_seq: chain.firstBadSeq, problem: chain.problem },
      },
    };
  }
}

async function promotionsOf(repos: Repositories, modelId: string, version: number): Promise<Promotion[]> {
  const out: Promotion[] = [];
  let after: { key: string; id: string } | undefined;
  for (;;) {
    const page = await repos.promotions.list({ modelId, afterCreated: after, limit: 500 });
    out.push(...page.filter((p) => p.version === version));
    if (page.length < 500) break;
    const last = page[page.length - 1]!;
    after = { key: last.createdAt, id: last.id };
  }
  return out.reverse();
}

async function allAudit(repos: Repositories, resource: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let afterSeq: number | undefined;
  for (;;) {
    const page = await repos.journal.listAudit({ resource, afterSeq, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}
