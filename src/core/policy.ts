/**
 * Policies: per target (a stage or a protected `@alias`), how many approvals from which roles
 * (and optionally which groups), whether separation of duties holds, and the gates a version
 * must pass before it may even be requested. Gates are strings: `metrics.auc >= 0.9`,
 * `lineage.datasets`, `lineage.code`, `model_card`, `signature`, `tags.<key>`.
 */
import { ModelgateError } from './errors.js';
import { compareMetric, parseMetricFilter } from './filters.js';
import { checkAliasName } from './names.js';
import { presentRule } from './present.js';
import { Roles, type GateCheck, type Role, type TargetRule, type Version } from './types.js';

/** One target's rule. `approverGroups`, when non-empty, also limits who may approve. */
export type TargetPolicy = TargetRule;

/** A policy document: target → rule. Keys are `staging`, `production`, `archived` or `@<alias>`. */
export type Policy = Record<string, TargetPolicy>;

/** What a server starts with: staging is free, production needs one independent approval. */
export const DEFAULT_POLICY: Policy = {
  staging: { approvalsRequired: 0, approverRoles: ['approver', 'admin'], approverGroups: [], separationOfDuties: false, gates: [] },
  production: { approvalsRequired: 1, approverRoles: ['approver', 'admin'], approverGroups: [], separationOfDuties: true, gates: [] },
  archived: { approvalsRequired: 0, approverRoles: ['approver', 'admin'], approverGroups: [], separationOfDuties: false, gates: [] },
};

/**
 * How a model's own rules would weaken the server default, if they would: each entry names
 * a target and what it loosens. Owners may only tighten; an admin may also loosen.
 */
export function weakenings(serverDefault: Policy, model: Policy): string[] {
  const found: string[] = [];
  for (const [target, base] of Object.entries(serverDefault)) {
    const own = model[target];
    if (!own) continue;
    if (own.approvalsRequired < base.approvalsRequired) found.push(`${target}: ${own.approvalsRequired} approvals where the default needs ${base.approvalsRequired}`);
    if (base.approvalsRequired > 0) {
      const extra = own.approverRoles.filter((r) => !base.approverRoles.includes(r));
      if (extra.length > 0) found.push(`${target}: lets ${extra.join(', ')} approve`);
      if (base.approverGroups.length > 0 && (own.approverGroups.length === 0 || own.approverGroups.some((g) => !base.approverGroups.includes(g)))) {
        found.push(`${target}: widens approver groups beyond ${base.approverGroups.join(', ')}`);
      }
    }
    if (base.separationOfDuties && !own.separationOfDuties) found.push(`${target}: turns separation of duties off`);
    const dropped = base.gates.filter((g) => !own.gates.includes(g));
    if (dropped.length > 0) found.push(`${target}: drops gates ${dropped.join('; ')}`);
  }
  return found;
}

/** The rule for a target not named by any policy: recorded as a promotion, applied at once. */
export const OPEN_TARGET: TargetPolicy = { approvalsRequired: 0, approverRoles: ['approver', 'admin'], approverGroups: [], separationOfDuties: false, gates: [] };

/** The model's own rules win target by target; the server default fills in the rest. */
export function effectivePolicy(serverDefault: Policy, model: Policy | null): Policy {
  return { ...serverDefault, ...(model ?? {}) };
}

export function ruleFor(policy: Policy, target: string): TargetPolicy {
  return policy[target] ?? OPEN_TARGET;
}

export function isProtectedAlias(policy: Policy, alias: string): boolean {
  return policy[`@${alias}`] !== undefined;
}

/** Parses and validates a policy document in its wire form (snake_case). */
export function parsePolicy(document: unknown): Policy {
  const doc = document as { targets?: unknown };
  if (typeof doc !== 'object' || doc === null || typeof doc.targets !== 'object' || doc.targets === null || Array.isArray(doc.targets)) {
    throw invalid('a policy is {"targets": {"<target>": {...}}}');
  }
  const policy: Policy = {};
  for (const [target, raw] of Object.entries(doc.targets as Record<string, unknown>)) {
    if (target.startsWith('@')) checkAliasName(target.slice(1));
    else if (!['staging', 'production', 'archived'].includes(target)) throw invalid(`target ${JSON.stringify(target)} must be staging, production, archived or @<alias>`);
    policy[target] = parseRule(target, raw);
  }
  return policy;
}

function parseRule(target: string, raw: unknown): TargetPolicy {
  const r = raw as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw invalid(`${target}: a rule is an object`);
  const known = ['approvals_required', 'approver_roles', 'approver_groups', 'separation_of_duties', 'gates'];
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw invalid(`${target}: unknown field ${JSON.stringify(unknown[0])}`);
  const approvals = r.approvals_required ?? 0;
  if (typeof approvals !== 'number' || !Number.isInteger(approvals) || approvals < 0 || approvals > 10) {
    throw invalid(`${target}.approvals_required must be an integer from 0 to 10`);
  }
  const roles = r.approver_roles ?? ['approver', 'admin'];
  if (!Array.isArray(roles) || roles.some((role) => !(Roles as readonly unknown[]).includes(role)) || roles.includes('viewer')) {
    throw invalid(`${target}.approver_roles must list roles from contributor, approver, admin`);
  }
  if (approvals > 0 && roles.length === 0) throw invalid(`${target}.approver_roles cannot be empty when approvals are required`);
  const groups = r.approver_groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(g))) {
    throw invalid(`${target}.approver_groups must be group names`);
  }
  const sod = r.separation_of_duties ?? target === 'production';
  if (typeof sod !== 'boolean') throw invalid(`${target}.separation_of_duties must be true or false`);
  const gates = r.gates ?? [];
  if (!Array.isArray(gates) || gates.length > 50 || gates.some((g) => typeof g !== 'string')) throw invalid(`${target}.gates must be a list of strings`);
  for (const gate of gates as string[]) checkGate(target, gate);
  return { approvalsRequired: approvals, approverRoles: [...new Set(roles as Role[])], approverGroups: groups as string[], separationOfDuties: sod, gates: gates as string[] };
}

export function presentPolicy(policy: Policy) {
  return { targets: Object.fromEntries(Object.entries(policy).map(([target, rule]) => [target, presentRule(rule)])) };
}

const PRESENCE_GATES = ['lineage.datasets', 'lineage.code', 'model_card', 'signature'];

function checkGate(target: string, gate: string): void {
  if (PRESENCE_GATES.includes(gate)) return;
  if (/^tags\.[A-Za-z0-9._:/-]{1,128}$/.test(gate)) return;
  if (gate.startsWith('metrics.')) {
    try {
      parseMetricFilter(gate);
      return;
    } catch (err) {
      throw invalid(`${target}: gate ${JSON.stringify(gate)}: ${(err as Error).message}`);
    }
  }
  throw invalid(`${target}: unknown gate ${JSON.stringify(gate)}; use metrics.<name> <op> <number>, lineage.datasets, lineage.code, model_card, signature or tags.<key>`);
}

/** A gate's outcome; `observed` is what the gate saw on the version, so a failure explains itself. */
export type GateResult = GateCheck;

/** Evaluates every gate of a rule against a version. */
export function evaluateGates(rule: TargetPolicy, version: Version): GateResult[] {
  return rule.gates.map((gate) => evaluateGate(gate, version));
}

function evaluateGate(gate: string, version: Version): GateResult {
  const result = (passed: boolean, observed: unknown, message: string): GateResult => ({ gate, passed, observed, message });
  if (gate === 'lineage.datasets') {
    const train = version.lineage.datasets.filter((d) => d.role === 'train');
    return result(train.length > 0, train.map((d) => `${d.name}@${d.version}`), train.length > 0 ? 'has a training dataset' : 'no training dataset in lineage');
  }
  if (gate === 'lineage.code') {
    const commit = version.lineage.code?.commit ?? null;
    return result(commit !== null, commit, commit ? `code commit ${commit}` : 'no code commit in lineage');
  }
  if (gate === 'model_card') {
    const present = (version.modelCard ?? '').trim() !== '';
    return result(present, present ? `${version.modelCard!.length} characters` : null, present ? 'model card present' : 'no model card');
  }
  if (gate === 'signature') {
    const present = version.signature !== null && version.signature !== undefined;
    return result(present, present ? 'present' : null, present ? 'signature present' : 'no signature');
  }
  if (gate.startsWith('tags.')) {
    const key = gate.slice('tags.'.length);
    const value = version.tags[key];
    return result(value !== undefined, value ?? null, value !== undefined ? `tag ${key}=${value}` : `tag ${key} is not set`);
  }
  const condition = parseMetricFilter(gate);
  const value = version.metrics[condition.name];
  if (value === undefined) return result(false, null, `metric ${condition.name} is not recorded`);
  const passed = compareMetric(value, condition.op, condition.value);
  return result(passed, value, `${condition.name} is ${value}${passed ? '' : `, needs ${condition.op} ${condition.value}`}`);
}


function invalid(message: string): ModelgateError {
  return new ModelgateError('INVALID_POLICY', message);
}

