/** Datasets as first-class records: name and version, where they live, their digest and schema. */
import { requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { checkDigest, checkTags } from '../names.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import type { Dataset, Tags } from '../types.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

export function checkDatasetName(name: string): string {
  if (!NAME.test(name)) throw errors.invalidName('dataset', name, 'a letter or digit, then up to 127 of A-Z a-z 0-9 . _ -');
  return name;
}

export function checkDatasetVersion(version: string): string {
  if (!VERSION.test(version)) throw errors.invalidName('dataset version', version, 'a letter or digit, then up to 127 of A-Z a-z 0-9 . _ : + -');
  return version;
}

export function presentDataset(d: Dataset) {
  return {
    name: d.name, version: d.version, uri: d.uri, digest: d.digest, size: d.size, description: d.description,
    schema: d.schema ?? null, tags: d.tags, created_by: d.createdBy, created_at: d.createdAt,
  };
}

export interface CreateDatasetInput {
  name: string;
  version: string;
  uri?: string;
  digest?: string;
  size?: number;
  description?: string;
  schema?: unknown;
  tags?: Tags;
}

export class DatasetService {
  constructor(private readonly deps: CoreDeps) {}

  async create(ctx: RequestContext, input: CreateDatasetInput): Promise<Dataset> {
    requireRole(ctx.actor, 'contributor', 'registering a dataset');
    checkDatasetName(input.name);
    checkDatasetVersion(input.version);
    if (input.digest !== undefined) checkDigest(input.digest);
    const tags = checkTags(input.tags ?? {});
    return change(this.deps, ctx, async (repos, log) => {
      if (await repos.datasets.find(input.name, input.version)) {
        throw new ModelgateError('CONFLICT', `dataset ${input.name}@${input.version} is already registered; dataset versions are immutable`,
          { dataset: `${input.name}@${input.version}` });
      }
      const dataset: Dataset = {
        id: this.deps.ids.uuid(), name: input.name, version: input.version, uri: input.uri ?? null, digest: input.digest ?? null,
        size: input.size ?? null, description: input.description ?? '', schema: input.schema ?? null, tags,
        createdBy: ctx.actor.username, createdAt: this.deps.clock.now(),
      };
      await repos.datasets.insert(dataset);
      log.record({
        action: 'dataset.created', resource: `datasets/${dataset.name}/versions/${dataset.version}`, subject: '',
        changes: { name: dataset.name, version: dataset.version, uri: dataset.uri, digest: dataset.digest }, data: { dataset: presentDataset(dataset) },
      });
      return dataset;
    });
  }

  async get(name: string, version: string): Promise<Dataset> {
    const found = await this.deps.uow.read.datasets.find(name, version);
    if (!found) throw new ModelgateError('NOT_FOUND', `dataset ${name}@${version} is not registered`, { dataset: `${name}@${version}` });
    return found;
  }

  async versions(name: string): Promise<Dataset[]> {
    const found = await this.deps.uow.read.datasets.byName(name);
    if (found.length === 0) throw new ModelgateError('NOT_FOUND', `dataset ${name} is not registered`, { dataset: name });
    return found;
  }

  async list(input: { namePrefix?: string; pageSize?: number; pageToken?: string }): Promise<{ datasets: Dataset[]; nextPageToken: string | null }> {
    const limit = input.pageSize ?? 100;
    const shape = { p: input.namePrefix ?? null };
    let after: { key: string; id: string } | undefined;
    if (input.pageToken) {
      after = decodeCursor(input.pageToken, shape);
    }
    const rows = await this.deps.uow.read.datasets.list({ namePrefix: input.namePrefix, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { datasets: page, nextPageToken: rows.length > limit && last ? encodePageToken(shape, { key: last.name, id: last.id }) : null };
  }
}
