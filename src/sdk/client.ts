/**
 * The typed modelgate client. The CLI, the web UI and the integration tests all use it, and
 * it uses nothing but the HTTP API. Failures throw ApiError with the server's stable code.
 */
import type {
  Alert, AlertRule, AuditEntry, AuditVerification, Blob, BlobVerifyReport, GcReport, UploadPart, UploadSession, CloudEvent, CreateModel, Dataset, Delivery, Deployment, Observation, ReproduceSpec, DossierDocument, Impact, InventoryEntry, LineageGraph, CreateVersion, Holding, Model, ModelPolicy, Page, PolicyDocument, Promotion,
  Resolved, RiskTier, Role, RollbackResult, Stage, Token, UpdateModel, User, Version, Webhook,
} from './types.js';

import { checkedStream, streamHashing } from './digest.js';
import { ApiError, Transport, counting, enc, nonEmpty, partChecksum, sha256Hex, single, type StreamedBody } from './transport.js';

export * from './types.js';
export { ApiError, type ClientOptions, type StreamedBody } from './transport.js';

export class ModelgateClient extends Transport {
  // --- identity
  whoami(): Promise<User> { return this.request('GET', '/api/v1/whoami'); }
  createUser(body: { username: string; role: Role }): Promise<User> { return this.request('POST', '/api/v1/users', { body }); }
  updateUser(username: string, body: { role?: Role; groups?: string[] }): Promise<User> {
    return this.request('PATCH', `/api/v1/users/${enc(username)}`, { body });
  }
  async listUsers(): Promise<User[]> { return (await this.request<{ users: User[] }>('GET', '/api/v1/users')).users; }
  createToken(body: { name: string; username?: string }): Promise<Token & { token: string }> { return this.request('POST', '/api/v1/tokens', { body }); }
  async listTokens(username?: string): Promise<Token[]> {
    return (await this.request<{ tokens: Token[] }>('GET', '/api/v1/tokens', { query: { username } })).tokens;
  }
  revokeToken(id: string): Promise<Token> { return this.request('DELETE', `/api/v1/tokens/${enc(id)}`); }

  // --- models
  createModel(body: CreateModel): Promise<Model> { return this.request('POST', '/api/v1/models', { body }); }
  getModel(name: string): Promise<Model> { return this.request('GET', `/api/v1/models/${enc(name)}`); }
  listModels(query: Page & { name_prefix?: string; tag?: string[]; risk_tier?: RiskTier; stage?: Stage; include_archived?: boolean; sort?: 'name' | 'created_at' | 'updated_at'; order?: 'asc' | 'desc' } = {}):
    Promise<{ models: Model[]; next_page_token: string | null }> {
    return this.request('GET', '/api/v1/models', { query });
  }
  updateModel(name: string, body: UpdateModel): Promise<Model> { return this.request('PATCH', `/api/v1/models/${enc(name)}`, { body }); }
  renameModel(name: string, newName: string): Promise<Model> {
    return this.request('POST', `/api/v1/models/${enc(name)}/rename`, { body: { new_name: newName } });
  }
  archiveModel(name: string): Promise<Model> { return this.request('POST', `/api/v1/models/${enc(name)}/archive`); }

  // --- versions
  createVersion(model: string, body: CreateVersion): Promise<Version> {
    return this.request('POST', `/api/v1/models/${enc(model)}/versions`, { body });
  }
  getVersion(model: string, version: number): Promise<Version> {
    return this.request('GET', `/api/v1/models/${enc(model)}/versions/${version}`);
  }
  listVersions(model: string, query: Page & { stage?: Stage; tag?: string[]; filter?: string[]; created_after?: string; order?: 'asc' | 'desc' } = {}):
    Promise<{ versions: Version[]; next_page_token: string | null }> {
    return this.request('GET', `/api/v1/models/${enc(model)}/versions`, { query });
  }
  updateVersion(model: string, version: number, body: { description?: string; tags?: Record<string, string | null>; model_card?: string | null }): Promise<Version> {
    return this.request('PATCH', `/api/v1/models/${enc(model)}/versions/${version}`, { body });
  }
  deleteVersion(model: string, version: number): Promise<void> {
    return this.request('DELETE', `/api/v1/models/${enc(model)}/versions/${version}`);
  }

  // --- stages, aliases, resolve
  promote(model: string, version: number, body: { target: string; reason: string }): Promise<Promotion> {
    return this.request('POST', `/api/v1/models/${enc(model)}/versions/${version}/promotions`, { body });
  }
  /** `waiting_for: 'me'` is the approvals inbox: pending promotions the caller may approve now. */
  listPromotions(query: Page & { status?: Promotion['status']; model?: string; target?: string; waiting_for?: 'me' } = {}): Promise<{ promotions: Promotion[]; next_page_token: string | null }> {
    return this.request('GET', '/api/v1/promotions', { query });
  }
  /** A promotion; for production, `comparison` sets the candidate's metrics beside the live version's recent observations. */
  getPromotion(id: string): Promise<Promotion & { comparison: { candidate: { version: number; metrics: Record<string, number> }; production: null | { version: number; metrics: Record<string, number>; degraded: boolean; recent_observations: Observation[] } } }> {
    return this.request('GET', `/api/v1/promotions/${enc(id)}`);
  }
  approve(id: string, comment?: string): Promise<Promotion> {
    return this.request('POST', `/api/v1/promotions/${enc(id)}/approve`, { body: comment === undefined ? {} : { comment } });
  }
  reject(id: string, comment: string): Promise<Promotion> {
    return this.request('POST', `/api/v1/promotions/${enc(id)}/reject`, { body: { comment } });
  }
  cancelPromotion(id: string, comment?: string): Promise<Promotion> {
    return this.request('POST', `/api/v1/promotions/${enc(id)}/cancel`, { body: comment === undefined ? {} : { comment } });
  }
  rollback(model: string, body: { reason: string; target?: string; version?: number }): Promise<RollbackResult> {
    return this.request('POST', `/api/v1/models/${enc(model)}/rollback`, { body });
  }
  history(model: string, query: Page & { target?: string } = {}): Promise<{ history: Holding[]; next_page_token: string | null }> {
    return this.request('GET', `/api/v1/models/${enc(model)}/history`, { query });
  }

  // --- policies
  getDefaultPolicy(): Promise<PolicyDocument> { return this.request('GET', '/api/v1/policy'); }
  setDefaultPolicy(policy: PolicyDocument): Promise<PolicyDocument> { return this.request('PUT', '/api/v1/policy', { body: policy }); }
  getModelPolicy(model: string): Promise<ModelPolicy> { return this.request('GET', `/api/v1/models/${enc(model)}/policy`); }
  setModelPolicy(model: string, policy: PolicyDocument): Promise<ModelPolicy> {
    return this.request('PUT', `/api/v1/models/${enc(model)}/policy`, { body: policy });
  }
  setAlias(model: string, alias: string, version: number): Promise<Version> {
    return this.request('PUT', `/api/v1/models/${enc(model)}/aliases/${enc(alias)}`, { body: { version } });
  }
  deleteAlias(model: string, alias: string): Promise<void> {
    return this.request('DELETE', `/api/v1/models/${enc(model)}/aliases/${enc(alias)}`);
  }
  /** Resolves a ref. With `etag`, returns null when nothing changed since (304). */
  async resolve(model: string, ref: string, etag?: string): Promise<{ resolved: Resolved; etag: string } | null> {
    const response = await this.send('GET', `/api/v1/models/${enc(model)}/resolve`, { query: { ref }, headers: etag ? { 'if-none-match': etag } : {} });
    if (response.status === 304) return null;
    const resolved = (await this.parse(response)) as Resolved;
    return { resolved, etag: response.headers.get('etag') ?? '' };
  }

  // --- blobs
  /**
   * Uploads bytes as a stream. `onProgress` sees the bytes sent so far. With `sha256` the
   * server refuses the upload unless the bytes hash to it. `size`, the stream's length when
   * known, lets the server refuse an upload over a quota before it starts, and take it for
   * less CPU; a stream of another length then fails.
   */
  uploadBlob(body: AsyncIterable<Uint8Array> | Uint8Array, options: { sha256?: string; size?: number; onProgress?: (sent: number) => void } = {}): Promise<Blob> {
    const stream = nonEmpty(body instanceof Uint8Array ? single(body) : body);
    const counted = options.onProgress ? counting(stream, options.onProgress) : stream;
    return this.request('POST', '/api/v1/blobs', {
      query: { sha256: options.sha256 },
      raw: counted,
      rawLength: body instanceof Uint8Array ? body.length : options.size,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
  /**
   * Starts a resumable upload of `size` bytes. With `sha256` (recommended) the server hands
   * back the caller's open session for the same bytes, so a rerun resumes where it stopped.
   */
  startUpload(body: { size: number; sha256?: string; part_size?: number }): Promise<UploadSession> {
    return this.request('POST', '/api/v1/uploads', { body });
  }
  getUpload(id: string): Promise<UploadSession> { return this.request('GET', `/api/v1/uploads/${enc(id)}`); }
  /**
   * Sends part `number` (1-based). With `sha256` (hex) or `crc32` (8 hex digits) the server
   * refuses bytes that do not match; with `crc32` alone it skips the part's sha256.
   */
  uploadPart(id: string, number: number, body: AsyncIterable<Uint8Array> | Uint8Array, options: { sha256?: string; crc32?: string } = {}): Promise<UploadPart> {
    return this.request('PUT', `/api/v1/uploads/${enc(id)}/parts/${number}`, {
      query: { sha256: options.sha256, crc32: options.crc32 },
      raw: nonEmpty(body instanceof Uint8Array ? single(body) : body),
      rawLength: body instanceof Uint8Array ? body.length : undefined,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
  completeUpload(id: string): Promise<Blob & { upload_id: string }> { return this.request('POST', `/api/v1/uploads/${enc(id)}/complete`); }
  abortUpload(id: string): Promise<void> { return this.request('DELETE', `/api/v1/uploads/${enc(id)}`); }

  /**
   * Uploads `size` bytes in parts, `parallel` at a time, resuming the caller's open session for
   * the same sha256. `readPart(start, end, into)` returns the bytes [start, end); it may read
   * them into `into`, a buffer of the part size that the same sender hands it each time, and
   * return a view of it. Each part is sent with its own checksum (CRC-32 in Node, sha256 in a
   * browser or to a server too old for CRC-32), and the server checks the whole digest before
   * the blob exists.
   */
  async uploadResumable(input: {
    size: number;
    sha256: string;
    readPart: (start: number, end: number, into: Uint8Array) => Promise<Uint8Array>;
    parallel?: number;
    partSize?: number;
    /** Called with bytes the server already had (on resume), then with each part's bytes as it lands. */
    onProgress?: (bytes: number, resumed: boolean) => void;
  }): Promise<Blob> {
    const session = await this.startUpload({ size: input.size, sha256: input.sha256, part_size: input.partSize });
    for (const part of session.parts) input.onProgress?.(part.size, true);
    const queue = [...session.missing_parts];
    const worker = async () => {
      // One buffer per sender, reused for every part it sends: no garbage per part.
      let into: Uint8Array | undefined;
      for (let number = queue.shift(); number !== undefined; number = queue.shift()) {
        const start = (number - 1) * session.part_size;
        const end = Math.min(input.size, start + session.part_size);
        into ??= new Uint8Array(Math.min(session.part_size, input.size));
        const bytes = await input.readPart(start, end, into);
        await sendPart(number, bytes);
        input.onProgress?.(bytes.length, false);
      }
    };
    // A server from before parts could be checked by CRC-32 refuses the parameter (400, before
    // it reads the body): from then on this upload checks its parts by sha256.
    let crc32Refused = false;
    const sendPart = async (number: number, bytes: Uint8Array) => {
      const checksum = crc32Refused ? { sha256: await sha256Hex(bytes) } : await partChecksum(bytes);
      try {
        await this.uploadPart(session.upload_id, number, bytes, checksum);
      } catch (err) {
        if (!('crc32' in checksum) || !(err instanceof ApiError) || err.status !== 400 || err.code !== 'VALIDATION_FAILED') throw err;
        crc32Refused = true;
        await this.uploadPart(session.upload_id, number, bytes, { sha256: await sha256Hex(bytes) });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, input.parallel ?? 4) }, worker));
    const blob = await this.completeUpload(session.upload_id);
    return { digest: blob.digest, size: blob.size };
  }

  /** Collects garbage now (admin): unreferenced blobs past the grace period, expired sessions, temp files. */
  collectGarbage(body: { dry_run?: boolean; grace_seconds?: number } = {}): Promise<GcReport> {
    return this.request('POST', '/api/v1/admin/gc', { body });
  }
  /** Rehashes every referenced blob (or one model's) and reports any missing or corrupt. */
  verifyBlobs(model?: string): Promise<BlobVerifyReport> {
    return this.request('GET', '/api/v1/admin/verify-blobs', { query: { model } });
  }

  /** Whether a blob is stored, and its size (a HEAD request: no bytes move). */
  async blobInfo(digest: string): Promise<Blob> {
    const response = await this.send('HEAD', `/api/v1/blobs/${enc(digest)}`);
    if (response.status === 404) throw new ApiError(404, 'BLOB_NOT_FOUND', `no blob with digest ${digest}`);
    if (!response.ok) throw new ApiError(response.status, `HTTP_${response.status}`, response.statusText);
    return { digest, size: Number(response.headers.get('content-length') ?? 0) };
  }

  /** Downloads a blob and checks the bytes against its digest before returning them. */
  async downloadBlob(digest: string): Promise<Uint8Array> {
    const response = await this.send('GET', `/api/v1/blobs/${enc(digest)}`);
    if (!response.ok) await this.parse(response);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = `sha256:${await sha256Hex(bytes)}`;
    if (actual !== digest) throw new ApiError(0, 'DIGEST_MISMATCH', `downloaded bytes hash to ${actual}, not ${digest}`);
    return bytes;
  }
  /** The raw download response, for streaming large blobs (the caller checks the digest). */
  openBlob(digest: string, range?: { start: number; end?: number }): Promise<Response> {
    return this.send('GET', `/api/v1/blobs/${enc(digest)}`, { headers: rangeHeader(range) });
  }

  /**
   * A blob's bytes as they arrive, the cheapest way the runtime has (in Node, Node's own stream:
   * see Transport.receive), for large downloads; the caller checks the digest. An answer other
   * than 2xx throws ApiError; a redirect to a presigned URL is followed.
   */
  readBlob(digest: string, range?: { start: number; end?: number }): Promise<StreamedBody> {
    return this.receive(`/api/v1/blobs/${enc(digest)}`, rangeHeader(range));
  }

  /**
   * A whole blob's bytes as they arrive, checked: they are hashed as they go by (a large blob
   * on a worker thread, so receiving and hashing run on two cores) and the stream throws
   * ApiError `DIGEST_MISMATCH` at its end if they are not the blob's. The bytes are handed on
   * before that check: keep them where that error can throw them away. Node only (Web Crypto
   * cannot hash a stream).
   */
  async readVerifiedBlob(digest: string): Promise<StreamedBody> {
    streamHashing(); // UNSUPPORTED outside Node, before anything is asked of the server
    const answer = await this.readBlob(digest);
    const length = Number(answer.headers.get('content-length') ?? Number.NaN);
    return { ...answer, body: checkedStream(answer.body, digest, Number.isSafeInteger(length) ? length : undefined) };
  }

  // --- webhooks and events
  /** Subscribes a URL; the returned `secret` (whsec_...) is shown this once. */
  createWebhook(body: { url: string; events: string[]; secret?: string; model?: string; active?: boolean }): Promise<Webhook & { secret: string }> {
    return this.request('POST', '/api/v1/webhooks', { body });
  }
  async listWebhooks(): Promise<Webhook[]> { return (await this.request<{ webhooks: Webhook[] }>('GET', '/api/v1/webhooks')).webhooks; }
  getWebhook(id: string): Promise<Webhook> { return this.request('GET', `/api/v1/webhooks/${enc(id)}`); }
  updateWebhook(id: string, body: { url?: string; events?: string[]; secret?: string; active?: boolean }): Promise<Webhook> {
    return this.request('PATCH', `/api/v1/webhooks/${enc(id)}`, { body });
  }
  deleteWebhook(id: string): Promise<void> { return this.request('DELETE', `/api/v1/webhooks/${enc(id)}`); }
  listDeliveries(id: string, query: Page & { status?: Delivery['status'] } = {}): Promise<{ deliveries: Delivery[]; next_page_token: string | null }> {
    return this.request('GET', `/api/v1/webhooks/${enc(id)}/deliveries`, { query });
  }
  redeliver(id: string, deliveryId?: string): Promise<{ requeued: number }> {
    return this.request('POST', deliveryId === undefined
      ? `/api/v1/webhooks/${enc(id)}/redeliver`
      : `/api/v1/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`);
  }
  testWebhook(id: string): Promise<{ delivery_id: string; event_id: string }> { return this.request('POST', `/api/v1/webhooks/${enc(id)}/test`); }
  listEvents(query: { after?: number; limit?: number } = {}): Promise<{ events: CloudEvent[]; next_after: number }> {
    return this.request('GET', '/api/v1/events', { query });
  }
  /**
   * Follows the live event stream (Server-Sent Events), resuming after `after` (an event
   * sequence) or, without it, starting from now. Stops when `signal` aborts.
   */
  async *streamEvents(options: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<CloudEvent> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.after !== undefined) headers['last-event-id'] = String(options.after);
    const response = await this.send('GET', '/api/v1/events', { headers, signal: options.signal });
    if (!response.ok || !response.body) await this.parse(response);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) yield JSON.parse(data) as CloudEvent;
        }
      }
    } catch (err) {
      if (!options.signal?.aborted) throw err;
    }
  }

  // --- lineage, inventory, evidence
  createDataset(body: { name: string; version: string; uri?: string; digest?: string; size?: number; description?: string; schema?: unknown; tags?: Record<string, string> }): Promise<Dataset> {
    return this.request('POST', '/api/v1/datasets', { body });
  }
  listDatasets(query: Page & { name_prefix?: string } = {}): Promise<{ datasets: Dataset[]; next_page_token: string | null }> {
    return this.request('GET', '/api/v1/datasets', { query });
  }
  async datasetVersions(name: string): Promise<Dataset[]> {
    return (await this.request<{ versions: Dataset[] }>('GET', `/api/v1/datasets/${enc(name)}`)).versions;
  }
  getDataset(name: string, version: string): Promise<Dataset> { return this.request('GET', `/api/v1/datasets/${enc(name)}/versions/${enc(version)}`); }
  lineage(model: string, version: number, depth?: number): Promise<LineageGraph> {
    return this.request('GET', `/api/v1/models/${enc(model)}/versions/${version}/lineage`, { query: { depth } });
  }
  /** Exactly one of: `dataset` (name or name@version), `commit`, `parent` (model@version). */
  impact(query: { dataset?: string; commit?: string; parent?: string }): Promise<Impact> {
    return this.request('GET', '/api/v1/impact', { query });
  }
  inventory(query: Page & { risk_tier?: string; overdue?: boolean; in_production?: boolean; include_archived?: boolean } = {}):
    Promise<{ models: InventoryEntry[]; next_page_token: string | null }> {
    return this.request('GET', '/api/v1/inventory', { query });
  }
  async inventoryCsv(query: { risk_tier?: string; overdue?: boolean; in_production?: boolean; include_archived?: boolean } = {}): Promise<string> {
    const response = await this.send('GET', '/api/v1/inventory', { query: { ...query, format: 'csv' } });
    if (!response.ok) await this.parse(response);
    return response.text();
  }
  dossier(model: string, version: number): Promise<DossierDocument> {
    return this.request('GET', `/api/v1/models/${enc(model)}/versions/${version}/dossier`);
  }
  async dossierText(model: string, version: number, format: 'markdown' | 'html'): Promise<string> {
    const response = await this.send('GET', `/api/v1/models/${enc(model)}/versions/${version}/dossier`, { query: { format } });
    if (!response.ok) await this.parse(response);
    return response.text();
  }

  // --- deployments and production feedback
  setEnvironment(name: string, body: { production: boolean; require_approved?: boolean; description?: string }): Promise<{ name: string; production: boolean; require_approved: boolean }> {
    return this.request('PUT', `/api/v1/environments/${enc(name)}`, { body });
  }
  recordDeployment(model: string, body: { environment: string; target: string; version: number; status: Deployment['status']; replicas?: number | null; traffic_share?: number | null; source?: string; note?: string }): Promise<Deployment> {
    return this.request('POST', `/api/v1/models/${enc(model)}/deployments`, { body });
  }
  updateDeployment(id: string, body: { status?: Deployment['status']; version?: number; replicas?: number | null; traffic_share?: number | null; note?: string }): Promise<Deployment> {
    return this.request('PATCH', `/api/v1/deployments/${enc(id)}`, { body });
  }
  async listDeployments(query: { model?: string; environment?: string; active?: boolean; limit?: number } = {}): Promise<Deployment[]> {
    return (await this.request<{ deployments: Deployment[] }>('GET', '/api/v1/deployments', { query })).deployments;
  }
  deploymentHistory(id: string): Promise<{ deployment: Omit<Deployment, 'drift'>; changes: { at: string; actor: string; status: string; replicas: number | null; traffic_share: number | null; note: string }[] }> {
    return this.request('GET', `/api/v1/deployments/${enc(id)}/history`);
  }
  observe(model: string, version: number, body: { metric: string; value: number; window_start: string; window_end: string; source: string; deployment_id?: string }): Promise<Observation & { alerts_raised: Alert[] }> {
    return this.request('POST', `/api/v1/models/${enc(model)}/versions/${version}/observations`, { body });
  }
  async observations(model: string, version: number, limit?: number): Promise<Observation[]> {
    return (await this.request<{ observations: Observation[] }>('GET', `/api/v1/models/${enc(model)}/versions/${version}/observations`, { query: { limit } })).observations;
  }
  /** `rule` is `<metric> <op> <number>`, e.g. `psi > 0.2`; it fires after `windows` consecutive breaking windows. */
  createAlertRule(model: string, rule: string, windows?: number): Promise<AlertRule> {
    return this.request('POST', `/api/v1/models/${enc(model)}/alert-rules`, { body: { rule, windows } });
  }
  async alertRules(model: string): Promise<AlertRule[]> { return (await this.request<{ rules: AlertRule[] }>('GET', `/api/v1/models/${enc(model)}/alert-rules`)).rules; }
  deleteAlertRule(model: string, id: string): Promise<void> { return this.request('DELETE', `/api/v1/models/${enc(model)}/alert-rules/${enc(id)}`); }
  async alerts(query: { model?: string; open?: boolean; limit?: number } = {}): Promise<Alert[]> {
    return (await this.request<{ alerts: Alert[] }>('GET', '/api/v1/alerts', { query })).alerts;
  }
  resolveAlert(id: string, comment: string): Promise<{ id: string; version: number; raised_at: string; resolved_at: string | null }> {
    return this.request('POST', `/api/v1/alerts/${enc(id)}/resolve`, { body: { comment } });
  }
  reproduceSpec(model: string, version: number): Promise<ReproduceSpec> {
    return this.request('GET', `/api/v1/models/${enc(model)}/versions/${version}/reproduce`);
  }

  // --- audit
  listAudit(query: Page & { resource?: string; actor?: string; action?: string; since?: string; until?: string } = {}):
    Promise<{ entries: AuditEntry[]; next_page_token: string | null }> {
    return this.request('GET', '/api/v1/audit', { query });
  }
  verifyAudit(): Promise<AuditVerification> { return this.request('GET', '/api/v1/audit/verify'); }
  async exportAudit(): Promise<AuditEntry[]> {
    const response = await this.send('GET', '/api/v1/audit/export');
    if (!response.ok) await this.parse(response);
    const text = await response.text();
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEntry);
  }
  /** The raw JSON Lines export, for streaming to a file. */
  openAuditExport(): Promise<Response> { return this.send('GET', '/api/v1/audit/export'); }
}

function rangeHeader(range?: { start: number; end?: number }): Record<string, string> {
  return range ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {};
}

