/** The blob record, upload sessions and maintenance leases, as Kysely sees them (see schema.ts). */
import type { BigInt } from './schema.js';

export interface BlobsTable {
  digest: string;
  size: BigInt;
  state: string;
  ref_gen: BigInt;
  created_at: string;
  touched_at: string;
}

export interface MaintenanceLeasesTable {
  name: string;
  holder: string;
  expires_at: string;
}

export interface UploadSessionsTable {
  id: string;
  created_by: string;
  size: BigInt;
  part_size: BigInt;
  part_count: number;
  sha256: string | null;
  backend_ref: string;
  status: string;
  digest: string | null;
  created_at: string;
  expires_at: string;
  completed_at: string | null;
  /** When a completion began (it holds the session open for a while). */
  completing_at: string | null;
}

export interface UploadPartsTable {
  upload_id: string;
  number: number;
  size: BigInt;
  /** Null for a part checked by its CRC-32 alone. */
  sha256: string | null;
  /** 8 hex digits; null for parts recorded before migration 10. */
  crc32: string | null;
  etag: string;
  received_at: string;
}
