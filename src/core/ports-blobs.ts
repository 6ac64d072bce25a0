/**
 * Ports for artifact bytes: the blob store (a local directory or S3), the database's record
 * of which blobs exist, and resumable upload sessions. Part of core's contract with its
 * adapters, split from ports.ts by subject.
 */

export interface BlobInfo {
  digest: string;
  size: number;
}

/** The bytes of a blob as a stream, or a URL the client may fetch them from directly. */
export type BlobSource = AsyncIterable<Uint8Array>;

/**
 * Called once the bytes are verified and durable, before they become visible under their
 * digest: the service records the blob in the database here, so that garbage collection
 * (which deletes the record before the bytes) can never race a blob into existence unrecorded.
 */
export type ClaimBlob = (info: BlobInfo) => Promise<void>;

/** Where the store keeps an open upload session's parts. */
export interface UploadHandle {
  id: string;
  size: number;
  partSize: number;
  /** Backend state: the S3 multipart upload id; empty for the directory store. */
  backendRef: string;
}

export interface StoredPart {
  size: number;
  /** sha256 hex of the part's bytes, computed as they arrived; null when not asked for. */
  sha256: string | null;
  /** CRC-32 (IEEE, as zlib and S3 compute it) of the part's bytes, 8 hex digits. */
  crc32: string;
  /** The backend's tag for the part (S3 ETag); empty for the directory store. */
  etag: string;
}

/**
 * Content-addressed bytes. `put` streams the body to temporary storage while hashing it and
 * makes it visible under its digest only once it is complete and durable: a reader never
 * sees a partial blob. Identical bytes are stored once. Upload sessions take a blob in parts,
 * in any order, and assemble it only after its whole digest is checked.
 */
export interface BlobStore {
  /** `fs` or `s3`, for reports. */
  readonly kind: string;
  /** Where the bytes live, for start-up logs (no credentials). */
  readonly location: string;
  /** The smallest part (but the last) a session may use on this backend. */
  readonly minPartSize: number;
  init(): Promise<void>;
  /** `size`: how many bytes the body says it has (a Content-Length), when it says so; the body decides. */
  put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number; size?: number; claim: ClaimBlob }): Promise<BlobInfo>;
  stat(digest: string): Promise<BlobInfo | null>;
  /** Reads bytes [start, end] inclusive, or the whole blob. Null if the blob does not exist. */
  read(digest: string, range?: { start: number; end: number }): Promise<BlobSource | null>;
  /** A time-limited URL the client may download from directly, or null to stream through the server. */
  downloadUrl(digest: string): Promise<string | null>;
  /** Removes the bytes; removing a blob that is not there is not an error. */
  delete(digest: string): Promise<void>;
  /** Every stored blob (for garbage collection and verification), with when it was written. */
  list(): AsyncIterable<BlobInfo & { modifiedAt: Date }>;

  /** Prepares storage for a session; returns the backend reference to keep with it. */
  startUpload(id: string, size: number, partSize: number): Promise<string>;
  /**
   * Stores part `number` (1-based); the body must be exactly `expectedSize` bytes. Computes
   * its CRC-32, and its sha256 too unless `sha256` is false.
   */
  putPart(upload: UploadHandle, number: number, expectedSize: number, body: AsyncIterable<Uint8Array>, options?: { sha256: boolean }): Promise<StoredPart>;
  /** Assembles the parts, checks the whole digest, claims and publishes the blob. */
  completeUpload(upload: UploadHandle, parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo>;
  /** Throws away a session's parts; idempotent. */
  abortUpload(upload: UploadHandle): Promise<void>;
  /** Removes temporary files that interrupted single-shot uploads left, older than `before`. */
  cleanTemp(before: Date): Promise<{ files: number; bytes: number }>;
  /** Session storage the store holds (ids), so sessions the database forgot can be cleaned up. */
  listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }>;
}

export interface BlobRecord {
  digest: string;
  size: number;
  /** `present`, or `deleting` while garbage collection removes the bytes. */
  state: 'present' | 'deleting';
  /** Bumped whenever something claims or references the blob: collection checks it has not moved. */
  refGen: number;
  createdAt: string;
  /** When it was last uploaded or referenced: collection leaves recently touched blobs alone. */
  touchedAt: string;
}

/** The database's record of stored blobs: what quotas count and what collection walks. */
export interface BlobRecordRepository {
  /**
   * Records a blob as present (or bumps its generation if it is). Returns false, changing
   * nothing, while the blob is being collected.
   */
  claim(digest: string, size: number, at: string): Promise<boolean>;
  /** Bumps the generation of each blob; returns the digests that are not present. */
  reference(digests: string[], at: string): Promise<string[]>;
  get(digest: string): Promise<BlobRecord | null>;
  /** Bytes of present blobs plus the declared sizes of open upload sessions. */
  committedBytes(): Promise<number>;
  /** Present blobs untouched since `before` that no live version or run artifact references. */
  unreferenced(before: string, limit: number): Promise<BlobRecord[]>;
  /**
   * Marks a blob `deleting` if its generation is still `refGen`, it was not touched since
   * `before`, and nothing references it.
   */
  markDeleting(digest: string, refGen: number, before: string): Promise<boolean>;
  /** Records bytes found with no record as `deleting`; false if a record appeared meanwhile. */
  adoptForDeletion(digest: string, size: number, at: string): Promise<boolean>;
  /** Takes (or renews) a named lease until `until`, unless another holder's is still valid. */
  takeLease(name: string, holder: string, now: string, until: string): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  deleting(limit: number): Promise<BlobRecord[]>;
  remove(digest: string): Promise<void>;
  /** Which of these digests have a record (any state). */
  known(digests: string[]): Promise<Set<string>>;
  /** Digests referenced by the given model's versions (all models when omitted), with sizes. */
  referenced(modelId?: string): Promise<Array<{ digest: string; size: number; path: string; versionId: string | null }>>;
}

export type UploadStatus = 'open' | 'completed' | 'aborted' | 'expired';

export interface UploadSession {
  id: string;
  createdBy: string;
  size: number;
  partSize: number;
  partCount: number;
  /** The declared digest of the whole blob (`sha256:<hex>`), if the client gave one. */
  sha256: string | null;
  backendRef: string;
  status: UploadStatus;
  digest: string | null;
  createdAt: string;
  expiresAt: string;
  completedAt: string | null;
}

export interface UploadPart {
  number: number;
  size: number;
  /** Null for a part checked by its CRC-32 alone. */
  sha256: string | null;
  /** Null for a part recorded before parts had one. */
  crc32: string | null;
  etag: string;
  receivedAt: string;
}

export interface UploadRepository {
  insert(session: UploadSession): Promise<void>;
  get(id: string): Promise<UploadSession | null>;
  /** The creator's open session for the same declared digest and size, to resume. */
  findOpen(createdBy: string, sha256: string, size: number, now: string): Promise<UploadSession | null>;
  /**
   * Marks a completion under way and holds the open session until `holdUntil` (expiry only
   * moves later); false when the session is closed or expired by `now`.
   */
  beginCompletion(id: string, now: string, holdUntil: string): Promise<boolean>;
  /** Marks the completion that began at `began` as over (it failed): an abort may go ahead. */
  endCompletion(id: string, began: string): Promise<void>;
  /**
   * Closes an open session; false when it was not open, or `when` does not hold: `expiredBy`
   * closes it only if it expired by then, `idleSince` only if no completion began after then.
   */
  close(id: string, status: Exclude<UploadStatus, 'open'>, at: string, when?: { digest?: string; expiredBy?: string; idleSince?: string }): Promise<boolean>;
  putPart(uploadId: string, part: UploadPart): Promise<void>;
  /** Forgets a part (before its bytes are rewritten). */
  deletePart(uploadId: string, number: number): Promise<void>;
  parts(uploadId: string): Promise<UploadPart[]>;
  /** One part, without reading the others (a session may have 10,000). */
  part(uploadId: string, number: number): Promise<UploadPart | null>;
  /** Open sessions past their expiry. */
  expired(now: string, limit: number): Promise<UploadSession[]>;
  /** Whether a session with this id exists in any state. */
  exists(ids: string[]): Promise<Set<string>>;
}
