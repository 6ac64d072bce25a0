/**
 * Request and response schemas shared by the routes. They validate input, drive response
 * serialisation, and are the source of the OpenAPI document.
 */
import { Type, type TSchema } from 'typebox';

export const Name = Type.String({ minLength: 1, maxLength: 128, description: 'A model name: 1-128 of A-Z a-z 0-9 . _ -' });
export const TagMap = Type.Record(Type.String(), Type.String(), { maxProperties: 200 });
export const TagPatch = Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), {
  description: 'Merged into the current tags; null removes a tag.',
  maxProperties: 200,
});
export const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });
export const RiskTier = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]);
export const Stage = Type.Union([Type.Literal('development'), Type.Literal('staging'), Type.Literal('production'), Type.Literal('archived')]);
export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('contributor'), Type.Literal('approver'), Type.Literal('admin')]);
export const PageSize = Type.Integer({ minimum: 1, maximum: 1000 });
export const PageToken = Type.String({ maxLength: 1024 });
export const Text = (max: number) => Type.String({ maxLength: max });

export const ErrorReply = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Unknown(),
    request_id: Type.Union([Type.String(), Type.Null()]),
  }),
});

export const ModelReply = Type.Object({
  name: Type.String(),
  description: Type.String(),
  tags: TagMap,
  owner: Type.String(),
  intended_use: Type.String(),
  restrictions: Type.String(),
  risk_tier: Type.Union([RiskTier, Type.Null()]),
  responsible: Type.Array(Type.String()),
  validation_status: Type.String(),
  last_validated_at: Type.Union([Type.String(), Type.Null()]),
  next_validation_due: Type.Union([Type.String(), Type.Null()]),
  validity_period: Type.Union([Type.String(), Type.Null()]),
  policy_exceptions: Type.Array(Type.Object({ description: Type.String(), granted_by: Type.Optional(Type.String()), expires: Type.Optional(Type.String()) })),
  archived: Type.Boolean(),
  former_names: Type.Array(Type.String()),
  created_by: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const FileEntry = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 1024 }),
  digest: Digest,
  size: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });

export const DatasetRef = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  version: Type.String({ minLength: 1, maxLength: 128 }),
  uri: Type.Optional(Type.String({ maxLength: 2048 })),
  digest: Type.Optional(Digest),
  role: Type.String({ maxLength: 32 }),
}, { additionalProperties: false });

export const LineageInput = Type.Object({
  datasets: Type.Optional(Type.Array(DatasetRef, { maxItems: 1000 })),
  code: Type.Optional(Type.Object({
    repo: Type.String({ minLength: 1, maxLength: 2048 }),
    commit: Type.String({ minLength: 1, maxLength: 128 }),
    path: Type.Optional(Type.String({ maxLength: 1024 })),
    dirty: Type.Optional(Type.Boolean({ description: 'uncommitted changes were present when it was trained' })),
  }, { additionalProperties: false })),
  run: Type.Optional(Type.Object({
    id: Type.String({ minLength: 1, maxLength: 256 }),
    url: Type.Optional(Type.String({ maxLength: 2048 })),
    experiment: Type.Optional(Type.String({ maxLength: 256 })),
  }, { additionalProperties: false })),
  parents: Type.Optional(Type.Array(Type.Object({
    model: Name,
    version: Type.Integer({ minimum: 1, maximum: 2147483647 }),
    relation: Type.Optional(Type.Union([Type.Literal('fine_tuned_from'), Type.Literal('distilled_from'), Type.Literal('derived_from')])),
  }, { additionalProperties: false }), { maxItems: 100 })),
  environment: Type.Optional(Type.Object({
    framework: Type.Optional(Type.String({ maxLength: 128 })),
    python: Type.Optional(Type.String({ maxLength: 64 })),
    libraries: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 128 }))),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export const LineageReply = Type.Object({
  datasets: Type.Array(Type.Object({
    name: Type.String(), version: Type.String(), uri: Type.Optional(Type.String()), digest: Type.Optional(Type.String()), role: Type.String(),
  })),
  code: Type.Union([Type.Object({ repo: Type.String(), commit: Type.String(), path: Type.Optional(Type.String()), dirty: Type.Optional(Type.Boolean()) }), Type.Null()]),
  run: Type.Union([Type.Object({ id: Type.String(), url: Type.Optional(Type.String()), experiment: Type.Optional(Type.String()) }), Type.Null()]),
  parents: Type.Array(Type.Object({ model: Type.String(), version: Type.Integer(), relation: Type.Optional(Type.String()) })),
  environment: Type.Optional(Type.Union([Type.Object({
    framework: Type.Optional(Type.String()), python: Type.Optional(Type.String()), libraries: Type.Optional(Type.Record(Type.String(), Type.String())),
  }), Type.Null()])),
});

export const VersionReply = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  digest: Type.String(),
  status: Type.String(),
  stage: Stage,
  aliases: Type.Array(Type.String()),
  files: Type.Array(Type.Object({ path: Type.String(), digest: Type.String(), size: Type.Integer() })),
  source_uri: Type.Union([Type.String(), Type.Null()]),
  metrics: Type.Record(Type.String(), Type.Number()),
  params: TagMap,
  tags: TagMap,
  description: Type.String(),
  model_card: Type.Union([Type.String(), Type.Null()]),
  signature: Type.Unknown(),
  lineage: LineageReply,
  degraded: Type.Boolean(),
  degraded_at: Type.Union([Type.String(), Type.Null()]),
  created_by: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const RuleReply = Type.Object({
  approvals_required: Type.Integer(),
  approver_roles: Type.Array(Type.String()),
  approver_groups: Type.Array(Type.String()),
  separation_of_duties: Type.Boolean(),
  gates: Type.Array(Type.String()),
});

export const PromotionReply = Type.Object({
  id: Type.String(),
  model: Type.String(),
  version: Type.Integer(),
  target: Type.String(),
  reason: Type.String(),
  status: Type.String(),
  requested_by: Type.String(),
  created_at: Type.String(),
  decided_at: Type.Union([Type.String(), Type.Null()]),
  checks: Type.Array(Type.Object({ gate: Type.String(), passed: Type.Boolean(), observed: Type.Unknown(), message: Type.String() })),
  approvals: Type.Array(Type.Object({ username: Type.String(), role: Type.String(), comment: Type.String(), at: Type.String() })),
  policy: Type.Union([RuleReply, Type.Null()]),
  from_stage: Type.String(),
  target_holder: Type.Union([Type.Integer(), Type.Null()]),
  decided_by: Type.Union([Type.String(), Type.Null()]),
  decision_comment: Type.Union([Type.String(), Type.Null()]),
});

export const PolicyDocument = Type.Object({
  targets: Type.Record(Type.String(), RuleReply),
});

export const HoldingReply = Type.Object({
  target: Type.String(), version: Type.Integer(), started_at: Type.String(), ended_at: Type.Union([Type.String(), Type.Null()]),
  via: Type.String(), promotion_id: Type.Union([Type.String(), Type.Null()]), actor: Type.String(), reason: Type.String(),
  approved_by: Type.Array(Type.String()),
});

export const UserReply = Type.Object({
  username: Type.String(), role: Type.String(), groups: Type.Array(Type.String()), created_at: Type.String(), created_by: Type.String(),
});

export const TokenReply = Type.Object({
  id: Type.String(), username: Type.String(), name: Type.String(), prefix: Type.String(),
  created_at: Type.String(), revoked_at: Type.Union([Type.String(), Type.Null()]),
});

export const AuditEntryReply = Type.Object({
  seq: Type.Integer(), time: Type.String(), actor: Type.String(), action: Type.String(), resource: Type.String(),
  changes: Type.Unknown(), request_id: Type.Union([Type.String(), Type.Null()]), prev_hash: Type.String(), hash: Type.String(),
});

export const NextPageToken = Type.Union([Type.String(), Type.Null()]);

/** Adds the shared error reply to a route's responses, so every failure is documented. */
export function replies<T extends Record<number, TSchema>>(ok: T) {
  return { ...ok, '4xx': ErrorReply, '5xx': ErrorReply };
}

/** The inventory fields accepted when a model is created or edited. */
export const InventoryInputFields = {
  responsible: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20 })),
  validation_status: Type.Optional(Type.Union(['not_validated', 'in_progress', 'validated', 'conditionally_validated'].map((v) => Type.Literal(v)))),
  last_validated_at: Type.Optional(Type.Union([Type.String({ maxLength: 10 }), Type.Null()])),
  next_validation_due: Type.Optional(Type.Union([Type.String({ maxLength: 10 }), Type.Null()])),
  validity_period: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  policy_exceptions: Type.Optional(Type.Array(Type.Object({
    description: Type.String({ minLength: 1, maxLength: 2000 }),
    granted_by: Type.Optional(Type.String({ maxLength: 200 })),
    expires: Type.Optional(Type.String({ maxLength: 10 })),
  }, { additionalProperties: false }), { maxItems: 50 })),
};

/** The inventory fields of a request body, in core's camelCase. */
export function inventoryInput(b: {
  responsible?: string[]; validation_status?: string; last_validated_at?: string | null; next_validation_due?: string | null;
  validity_period?: string | null; policy_exceptions?: { description: string; granted_by?: string; expires?: string }[];
}) {
  return {
    responsible: b.responsible, validationStatus: b.validation_status, lastValidatedAt: b.last_validated_at,
    nextValidationDue: b.next_validation_due, validityPeriod: b.validity_period, policyExceptions: b.policy_exceptions,
  };
}
