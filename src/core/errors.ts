/**
 * The one catalog of stable error codes. Codes are part of the public contract: scripts
 * branch on them, so they are never renamed. Core knows no HTTP; the server maps each code
 * to a status in one table (server/error-status.ts).
 */
export const ErrorCodes = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'INVALID_NAME',
  'INVALID_PATH',
  'INVALID_FILTER',
  'INVALID_PAGE_TOKEN',
  'INVALID_REF',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'ROLE_REQUIRED',
  'NOT_FOUND',
  'MODEL_NOT_FOUND',
  'VERSION_NOT_FOUND',
  'ALIAS_NOT_FOUND',
  'BLOB_NOT_FOUND',
  'USER_NOT_FOUND',
  'TOKEN_NOT_FOUND',
  'PROMOTION_NOT_FOUND',
  'UPLOAD_NOT_FOUND',
  'MODEL_EXISTS',
  'USER_EXISTS',
  'CONFLICT',
  'MODEL_ARCHIVED',
  'MODEL_IN_PRODUCTION',
  'ALREADY_IN_STAGE',
  'VERSION_NOT_READY',
  'VERSION_IMMUTABLE',
  'VERSION_NOT_DELETABLE',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'PAYLOAD_TOO_LARGE',
  'RANGE_NOT_SATISFIABLE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UPLOAD_NOT_OPEN',
  'UPLOAD_INCOMPLETE',
  'PART_SIZE_MISMATCH',
  'PART_DIGEST_MISMATCH',
  'STORAGE_QUOTA_EXCEEDED',
  'RULE_VIOLATION',
  'INVALID_POLICY',
  'POLICY_WEAKENS_DEFAULT',
  'GATE_FAILED',
  'APPROVAL_REQUIRED',
  'SELF_APPROVAL_FORBIDDEN',
  'APPROVER_NOT_ELIGIBLE',
  'ALREADY_APPROVED',
  'PROMOTION_NOT_PENDING',
  'PROMOTION_PENDING',
  'PROMOTION_STALE',
  'ROLLBACK_NOT_APPROVED',
  'NOTHING_TO_ROLL_BACK',
  'NOT_APPROVED_FOR_PRODUCTION',
  'RATE_LIMITED',
  'INTERNAL',
  'UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** Every failure core reports to its callers. `details` is safe to show to the client. */
export class ModelgateError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ModelgateError';
    this.code = code;
    this.details = details;
  }
}

export function isModelgateError(err: unknown): err is ModelgateError {
  return err instanceof ModelgateError;
}

/** Factories keep messages consistent wherever the same failure is raised. */
export const errors = {
  validation: (message: string, details?: Record<string, unknown>) =>
    new ModelgateError('VALIDATION_FAILED', message, details),
  invalidName: (kind: string, name: string, rule: string) =>
    new ModelgateError('INVALID_NAME', `invalid ${kind} name ${JSON.stringify(name)}: ${rule}`, { kind, name }),
  invalidPath: (path: string, rule: string) =>
    new ModelgateError('INVALID_PATH', `invalid file path ${JSON.stringify(path)}: ${rule}`, { path }),
  invalidFilter: (filter: string, rule: string) =>
    new ModelgateError('INVALID_FILTER', `invalid filter ${JSON.stringify(filter)}: ${rule}`, { filter }),
  invalidPageToken: () => new ModelgateError('INVALID_PAGE_TOKEN', 'page_token is not one this server issued for this query'),
  invalidRef: (ref: string) =>
    new ModelgateError('INVALID_REF', `invalid ref ${JSON.stringify(ref)}: use production, staging, @<alias> or a version number`, { ref }),
  unauthenticated: (message = 'a valid bearer token is required') => new ModelgateError('UNAUTHENTICATED', message),
  forbidden: (message: string) => new ModelgateError('FORBIDDEN', message),
  roleRequired: (needed: string, have: string, action: string) =>
    new ModelgateError('ROLE_REQUIRED', `${action} needs role ${needed} or higher; you have ${have}`, { required_role: needed, role: have }),
  modelNotFound: (name: string) => new ModelgateError('MODEL_NOT_FOUND', `model ${JSON.stringify(name)} does not exist`, { model: name }),
  versionNotFound: (model: string, version: number | string) =>
    new ModelgateError('VERSION_NOT_FOUND', `model ${JSON.stringify(model)} has no version ${version}`, { model, version }),
  aliasNotFound: (model: string, alias: string) =>
    new ModelgateError('ALIAS_NOT_FOUND', `model ${JSON.stringify(model)} has no alias ${JSON.stringify(alias)}`, { model, alias }),
  blobNotFound: (digest: string) => new ModelgateError('BLOB_NOT_FOUND', `no blob with digest ${digest}`, { digest }),
  userNotFound: (username: string) => new ModelgateError('USER_NOT_FOUND', `user ${JSON.stringify(username)} does not exist`, { username }),
  tokenNotFound: (id: string) => new ModelgateError('TOKEN_NOT_FOUND', `token ${id} does not exist`, { token_id: id }),
  promotionNotFound: (id: string) => new ModelgateError('PROMOTION_NOT_FOUND', `promotion ${id} does not exist`, { promotion_id: id }),
  modelExists: (name: string, reason = 'already exists') =>
    new ModelgateError('MODEL_EXISTS', `model ${JSON.stringify(name)} ${reason}`, { model: name }),
  userExists: (username: string) => new ModelgateError('USER_EXISTS', `user ${JSON.stringify(username)} already exists`, { username }),
  conflict: (message: string, details?: Record<string, unknown>) => new ModelgateError('CONFLICT', message, details),
  modelArchived: (name: string) =>
    new ModelgateError('MODEL_ARCHIVED', `model ${JSON.stringify(name)} is archived and takes no changes`, { model: name }),
  digestMismatch: (expected: string, actual: string) =>
    new ModelgateError('DIGEST_MISMATCH', `content digest ${actual} does not match the declared ${expected}`, { expected, actual }),
  sizeMismatch: (path: string, expected: number, actual: number) =>
    new ModelgateError('SIZE_MISMATCH', `file ${JSON.stringify(path)} declares ${expected} bytes but the blob has ${actual}`, { path, expected, actual }),
  tooLarge: (limit: number) => new ModelgateError('PAYLOAD_TOO_LARGE', `body exceeds the limit of ${limit} bytes`, { limit }),
  blobTooLarge: (size: number, limit: number) =>
    new ModelgateError('PAYLOAD_TOO_LARGE', `a blob of ${size} bytes exceeds the largest this registry takes, ${limit} bytes`, { size, limit }),
  quotaExceeded: (size: number, used: number, limit: number) =>
    new ModelgateError('STORAGE_QUOTA_EXCEEDED', `storing ${size} more bytes would exceed the store's quota of ${limit} bytes (${used} in use or reserved)`, { size, used, limit }),
  uploadNotFound: (id: string) => new ModelgateError('UPLOAD_NOT_FOUND', `upload session ${id} does not exist`, { upload_id: id }),
  uploadNotOpen: (id: string, status: string) =>
    new ModelgateError('UPLOAD_NOT_OPEN', `upload session ${id} is ${status} and takes no more parts`, { upload_id: id, status }),
  uploadCompleting: (id: string) =>
    new ModelgateError('UPLOAD_NOT_OPEN', `upload session ${id} is being completed; abort it only if the completion fails`, { upload_id: id, status: 'completing' }),
  uploadIncomplete: (id: string, missing: number[]) =>
    new ModelgateError('UPLOAD_INCOMPLETE', `upload session ${id} is missing ${missing.length} part(s): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}`, { upload_id: id, missing_parts: missing.slice(0, 1000) }),
  partSize: (part: number, expected: number, actual?: number) =>
    new ModelgateError('PART_SIZE_MISMATCH', actual === undefined
      ? `part ${part} must be exactly ${expected} bytes and more arrived`
      : `part ${part} must be exactly ${expected} bytes, ${actual} arrived`, { part, expected, ...(actual === undefined ? {} : { actual }) }),
  partDigest: (part: number, algorithm: 'sha256' | 'crc32', expected: string, actual: string) =>
    new ModelgateError('PART_DIGEST_MISMATCH', `part ${part}'s ${algorithm} is ${actual}, not the declared ${expected}; send the part again`, { part, algorithm, expected, actual }),
};
