/** The model inventory: every model with the fields a model-risk inventory must hold, filtered and paged. */
import { requireRole } from '../access.js';
import type { CoreDeps } from '../core-deps.js';
import { errors } from '../errors.js';
import { validationOverdue } from '../inventory.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import { RiskTiers, type Actor, type Model, type RiskTier } from '../types.js';

export interface InventoryRow {
  model: Model;
  productionVersion: number | null;
  productionSince: string | null;
  overdue: boolean;
}

export interface InventoryQuery {
  riskTier?: string;
  overdue?: boolean;
  inProduction?: boolean;
  includeArchived?: boolean;
  pageSize?: number;
  pageToken?: string;
}

export class InventoryService {
  constructor(private readonly deps: CoreDeps) {}

  async list(actor: Actor, input: InventoryQuery): Promise<{ rows: InventoryRow[]; nextPageToken: string | null }> {
    requireRole(actor, 'viewer', 'reading the inventory');
    if (input.riskTier !== undefined && !(RiskTiers as readonly string[]).includes(input.riskTier)) {
      throw errors.validation(`risk_tier must be one of ${RiskTiers.join(', ')}`);
    }
    const today = this.deps.clock.now().slice(0, 10);
    const limit = input.pageSize ?? 100;
    const shape = { r: input.riskTier ?? null, o: !!input.overdue, p: !!input.inProduction, a: !!input.includeArchived };
    let after: { key: string; id: string } | undefined;
    if (input.pageToken) {
      after = decodeCursor(input.pageToken, shape);
    }
    const repos = this.deps.uow.read;
    const models = await repos.models.list({
      riskTier: input.riskTier as RiskTier | undefined, validationDueBefore: input.overdue ? today : undefined,
      inProduction: input.inProduction, includeArchived: !!input.includeArchived, sort: 'name', descending: false, after, limit: limit + 1,
    });
    const page = models.slice(0, limit);
    const rows: InventoryRow[] = [];
    for (const model of page) {
      const [current] = await repos.holdings.list(model.id, 'production', 1);
      const live = current && current.endedAt === null ? current : null;
      rows.push({ model, productionVersion: live?.version ?? null, productionSince: live?.startedAt ?? null, overdue: validationOverdue(model, today) });
    }
    const last = page[page.length - 1];
    return { rows, nextPageToken: models.length > limit && last ? encodePageToken(shape, { key: last.name, id: last.id }) : null };
  }
}

export function presentInventoryRow(row: InventoryRow) {
  const m = row.model;
  return {
    model: m.name, owner: m.owner, responsible: m.responsible, risk_tier: m.riskTier, intended_use: m.intendedUse,
    restrictions: m.restrictions, validation_status: m.validationStatus, last_validated_at: m.lastValidatedAt,
    next_validation_due: m.nextValidationDue, validation_overdue: row.overdue, validity_period: m.validityPeriod,
    policy_exceptions: m.policyExceptions, production_version: row.productionVersion, production_since: row.productionSince,
    archived: m.archived,
  };
}

/** One CSV row per model; lists are joined with `; `. RFC 4180 quoting. */
export const INVENTORY_CSV_COLUMNS = [
  'model', 'owner', 'responsible', 'risk_tier', 'intended_use', 'restrictions', 'validation_status', 'last_validated_at',
  'next_validation_due', 'validation_overdue', 'validity_period', 'policy_exceptions', 'production_version', 'production_since', 'archived',
] as const;

export function inventoryCsvRow(row: InventoryRow): string {
  const r = presentInventoryRow(row) as Record<string, unknown>;
  return INVENTORY_CSV_COLUMNS.map((c) => {
    const v = r[c];
    const text = v === null || v === undefined ? '' : Array.isArray(v)
      ? v.map((x) => (typeof x === 'string' ? x : (x as { description: string }).description)).join('; ')
      : String(v);
    // A leading = + - @ would be run as a formula by spreadsheets: neutralise it.
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  }).join(',');
}
