/**
 * Every migration, listed statically. Kysely applies them in the order of their names, so
 * names are `<date>-<nn>-<what>`: adding one means adding a file and a line here.
 */
import type { Migration } from 'kysely';
import * as initial from './2026-11-26-01-initial.js';
import * as governance from './2026-11-26-02-governance.js';
import * as webhooks from './2026-11-26-03-webhooks.js';
import * as lineage from './2026-11-26-04-lineage.js';
import * as deployments from './2026-11-26-05-deployments.js';
import * as tracking from './2026-11-26-06-tracking.js';
import * as uploads from './2026-11-26-07-uploads.js';
import * as lineageSources from './2026-11-27-08-lineage-sources.js';
import * as uploadCompletion from './2026-11-27-09-upload-completion.js';
import * as partCrc32 from './2026-11-27-10-part-crc32.js';
import * as releasedVersions from './2026-11-27-11-released-versions.js';

export const migrations: Record<string, Migration> = {
  '2026-11-26-01-initial': initial,
  '2026-11-26-02-governance': governance,
  '2026-11-26-03-webhooks': webhooks,
  '2026-11-26-04-lineage': lineage,
  '2026-11-26-05-deployments': deployments,
  '2026-11-26-06-tracking': tracking,
  '2026-11-26-07-uploads': uploads,
  '2026-11-27-08-lineage-sources': lineageSources,
  '2026-11-27-09-upload-completion': uploadCompletion,
  '2026-11-27-10-part-crc32': partCrc32,
  '2026-11-27-11-released-versions': releasedVersions,
};
