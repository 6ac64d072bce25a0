/**
 * Model-inventory fields, as model-risk rules (SR 11-7) and the EU AI Act expect an inventory
 * to hold them: who answers for the model, its validation status and dates, how long a
 * validation holds, and the policy exceptions granted to it.
 */
import { errors } from './errors.js';
import type { InventoryFields } from './ports.js';
import { ValidationStatuses, type Model, type PolicyException, type ValidationStatus } from './types.js';

export interface InventoryInput {
  responsible?: string[];
  validationStatus?: string;
  lastValidatedAt?: string | null;
  nextValidationDue?: string | null;
  validityPeriod?: string | null;
  policyExceptions?: PolicyException[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/;

export function checkInventory(input: InventoryInput): Partial<InventoryFields> {
  const out: Partial<InventoryFields> = {};
  if (input.responsible !== undefined) {
    if (input.responsible.length > 20 || input.responsible.some((p) => p.trim() === '' || p.length > 200)) {
      throw errors.validation('responsible lists up to 20 people, each 1-200 characters');
    }
    out.responsible = input.responsible;
  }
  if (input.validationStatus !== undefined) {
    if (!(ValidationStatuses as readonly string[]).includes(input.validationStatus)) {
      throw errors.validation(`validation_status must be one of ${ValidationStatuses.join(', ')}`);
    }
    out.validationStatus = input.validationStatus as ValidationStatus;
  }
  if (input.lastValidatedAt !== undefined) out.lastValidatedAt = date(input.lastValidatedAt, 'last_validated_at');
  if (input.nextValidationDue !== undefined) out.nextValidationDue = date(input.nextValidationDue, 'next_validation_due');
  if (input.validityPeriod !== undefined) {
    if (input.validityPeriod !== null && !DURATION.test(input.validityPeriod)) {
      throw errors.validation('validity_period is an ISO-8601 duration such as P1Y or P6M');
    }
    out.validityPeriod = input.validityPeriod;
  }
  if (input.policyExceptions !== undefined) {
    if (input.policyExceptions.length > 50) throw errors.validation('at most 50 policy exceptions');
    for (const e of input.policyExceptions) {
      if (e.description.trim() === '' || e.description.length > 2000) throw errors.validation('a policy exception needs a description of 1-2000 characters');
      if (e.expires !== undefined) date(e.expires, 'policy_exceptions[].expires');
    }
    out.policyExceptions = input.policyExceptions;
  }
  return out;
}

function date(value: string | null, field: string): string | null {
  if (value === null) return null;
  if (!DATE.test(value) || Number.isNaN(Date.parse(value))) throw errors.validation(`${field} must be a date, YYYY-MM-DD`, { [field]: value });
  return value;
}

/** Overdue: the next validation is due before `today` (YYYY-MM-DD), or a validated model has no due date. */
export function validationOverdue(model: Model, today: string): boolean {
  return model.nextValidationDue !== null && model.nextValidationDue < today;
}

export const DEFAULT_INVENTORY: InventoryFields = {
  responsible: [], validationStatus: 'not_validated', lastValidatedAt: null, nextValidationDue: null, validityPeriod: null, policyExceptions: [],
};
