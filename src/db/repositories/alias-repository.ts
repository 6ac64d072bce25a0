import type { Kysely } from 'kysely';
import type { AliasRecord, AliasRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

export class KyselyAliasRepository implements AliasRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(modelId: string, alias: string): Promise<AliasRecord | null> {
    const row = await this.db.selectFrom('aliases').select(['alias', 'version'])
      .where('model_id', '=', modelId).where('alias', '=', alias).executeTakeFirst();
    return row ? { alias: row.alias, version: Number(row.version) } : null;
  }

  async set(modelId: string, alias: string, version: number, updatedAt: string): Promise<void> {
    await this.db.insertInto('aliases').values({ model_id: modelId, alias, version, updated_at: updatedAt })
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version, updated_at: updatedAt }))
      .execute();
  }

  async delete(modelId: string, alias: string): Promise<void> {
    await this.db.deleteFrom('aliases').where('model_id', '=', modelId).where('alias', '=', alias).execute();
  }

  async forVersion(modelId: string, version: number): Promise<string[]> {
    const rows = await this.db.selectFrom('aliases').select('alias')
      .where('model_id', '=', modelId).where('version', '=', version).orderBy('alias').execute();
    return rows.map((r) => r.alias);
  }

  async all(modelId: string): Promise<AliasRecord[]> {
    const rows = await this.db.selectFrom('aliases').select(['alias', 'version']).where('model_id', '=', modelId).orderBy('alias').execute();
    return rows.map((r) => ({ alias: r.alias, version: Number(r.version) }));
  }

  async ofModels(modelIds: string[]): Promise<(AliasRecord & { modelId: string })[]> {
    const out: (AliasRecord & { modelId: string })[] = [];
    for (let i = 0; i < modelIds.length; i += 500) {
      const rows = await this.db.selectFrom('aliases').select(['model_id', 'alias', 'version'])
        .where('model_id', 'in', modelIds.slice(i, i + 500)).orderBy('alias').execute();
      for (const r of rows) out.push({ modelId: r.model_id, alias: r.alias, version: Number(r.version) });
    }
    return out;
  }
}
