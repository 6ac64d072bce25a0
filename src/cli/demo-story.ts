/**
 * `modelgate demo`: seeds an empty registry with a small, realistic story, through the SDK
 * only, so that a first look at the web UI shows what the registry is for: four models, a
 * dozen versions with metrics and lineage, production promotions approved by someone other
 * than their author, one rejected over a dataset later found biased, a rollback with its
 * reason, a pending request in the approvals inbox, and a webhook with its delivery log.
 */
import { ApiError, ModelgateClient, type CreateVersion, type Role } from '../sdk/client.js';
import { CliError } from './cli-error.js';

export interface DemoResult {
  users: { username: string; role: Role; token: string }[];
  models: string[];
  steps: string[];
}

const PEOPLE: { username: string; role: Role }[] = [
  { username: 'dana', role: 'contributor' }, // data scientist, fraud team
  { username: 'sam', role: 'contributor' }, // ML engineer, credit team
  { username: 'rita', role: 'approver' }, // model risk officer
  { username: 'omar', role: 'approver' }, // head of data science
  { username: 'vic', role: 'viewer' }, // internal auditor
];

export async function seedDemo(admin: ModelgateClient, url: string): Promise<DemoResult> {
  const existing = await admin.listModels({ page_size: 1, include_archived: true });
  if (existing.models.length > 0) {
    throw new CliError('REGISTRY_NOT_EMPTY', 'the demo seeds an empty registry only; this one already has models (start a server with a fresh --data-dir)');
  }
  const steps: string[] = [];
  const users: DemoResult['users'] = [];
  const as: Record<string, ModelgateClient> = {};
  for (const person of PEOPLE) {
    try {
      await admin.createUser(person);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'USER_EXISTS')) throw err;
    }
    const { token } = await admin.createToken({ username: person.username, name: 'demo' });
    as[person.username] = new ModelgateClient({ url, token });
    users.push({ ...person, token });
  }
  const { dana, sam, rita, omar } = as as Record<'dana' | 'sam' | 'rita' | 'omar', ModelgateClient>;

  // --- a CI hook. Where ci.example.com does not resolve, the hook aims at this registry's own
  // /hooks/ci path instead (when the server allows its host), which answers 404: either way
  // the delivery log shows attempts and retries.
  const events = ['promotion.*', 'rollback.applied', 'version.created'];
  const refusals: string[] = [];
  for (const target of ['https://ci.example.com/hooks/modelgate', `${url.replace(/\/+$/, '')}/hooks/ci`]) {
    try {
      await admin.createWebhook({ url: target, events });
      steps.push(`webhook to ${new URL(target).host} subscribed to promotions and rollbacks`);
      refusals.length = 0;
      break;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'VALIDATION_FAILED')) throw err;
      refusals.push(`webhook to ${new URL(target).host} skipped: ${err.message}`);
    }
  }
  steps.push(...refusals);

  const files = async (client: ModelgateClient, name: string, seed: number) => {
    const weights = new Uint8Array(4096 + seed * 512).map((_, i) => (i * 31 + seed * 7) % 251);
    const config = new TextEncoder().encode(JSON.stringify({ model: name, threshold: 0.5 + seed / 100 }, null, 2));
    const w = await client.uploadBlob(weights);
    const c = await client.uploadBlob(config);
    return [{ path: 'model/model.onnx', digest: w.digest, size: w.size }, { path: 'model/config.json', digest: c.digest, size: c.size }];
  };
  const version = async (client: ModelgateClient, model: string, seed: number, body: CreateVersion) => {
    const created = await client.createVersion(model, { files: await files(client, model, seed), ...body });
    steps.push(`${model} v${created.version} registered by ${created.created_by}`);
    return created.version;
  };
  const ship = async (requester: ModelgateClient, approver: ModelgateClient, model: string, v: number, reason: string, comment: string) => {
    const p = await requester.promote(model, v, { target: 'production', reason });
    await approver.approve(p.id, comment);
    steps.push(`${model} v${v} approved for production`);
  };

  // --- fraud-scorer: two releases, then the second is rolled back.
  await dana.createModel({
    name: 'fraud-scorer', description: 'Scores card transactions for fraud in real time; transactions above the threshold go to manual review.',
    tags: { team: 'risk', pii: 'yes' }, owner: 'dana', risk_tier: 'high', responsible: ['dana', 'rita'],
    intended_use: 'Ranking card-not-present transactions for manual review.', restrictions: 'Not for credit decisions or automated account closure.',
  });
  const fraudCard = (v: string, auc: string, notes: string) => `# fraud-scorer ${v}

Gradient-boosted trees over 212 transaction features.

## Evaluation
| slice | AUC |
| --- | --- |
| all | ${auc} |
| EU cardholders | ${notes} |

## Limitations
- Trained on card-not-present traffic only.
- Scores drift after large merchant onboarding; watch **psi** weekly.
`;
  const signature = { inputs: [{ name: 'amount', type: 'double' }, { name: 'merchant_category', type: 'string' }, { name: 'country', type: 'string' }], outputs: [{ name: 'fraud_probability', type: 'double' }] };
  const fraudCode = { repo: 'git@git.example.com:risk/fraud-scorer.git', path: 'train.py' };
  const f1 = await version(dana, 'fraud-scorer', 1, {
    metrics: { auc: 0.912, precision: 0.81, recall: 0.74, latency_p99_ms: 11 }, params: { learning_rate: '0.05', max_depth: '6', n_estimators: '300' },
    model_card: fraudCard('v1', '0.912', '0.905'), signature, description: 'First governed release.',
    lineage: {
      datasets: [{ name: 'card-transactions', version: '2026-08', role: 'train', uri: 's3://risk-data/card-transactions/2026-08/' }, { name: 'chargebacks', version: '2026-08', role: 'validation' }],
      code: { ...fraudCode, commit: 'a1b2c3d4e5f6' }, run: { id: 'run-101', experiment: 'fraud-gbm' }, parents: [],
    },
  });
  await ship(dana, rita, 'fraud-scorer', f1, 'beats the rules engine on the July holdout', 'holdout report and card reviewed');
  const f2 = await version(dana, 'fraud-scorer', 2, {
    metrics: { auc: 0.941, precision: 0.84, recall: 0.79, latency_p99_ms: 14 }, params: { learning_rate: '0.03', max_depth: '8', n_estimators: '500' },
    model_card: fraudCard('v2', '0.941', '0.938'), signature, description: 'Retrained on October data with deeper trees.',
    lineage: {
      datasets: [{ name: 'card-transactions', version: '2026-10', role: 'train', uri: 's3://risk-data/card-transactions/2026-10/' }, { name: 'chargebacks', version: '2026-10', role: 'validation' }],
      code: { ...fraudCode, commit: 'b7e8f9a0c1d2' }, run: { id: 'run-118', experiment: 'fraud-gbm' }, parents: [{ model: 'fraud-scorer', version: f1, relation: 'fine_tuned_from' }],
    },
  });
  await ship(dana, omar, 'fraud-scorer', f2, '+0.03 AUC on the October holdout', 'looks good; watch EU volumes');
  const f3 = await version(dana, 'fraud-scorer', 3, {
    metrics: { auc: 0.944, precision: 0.85, recall: 0.78, latency_p99_ms: 15 }, params: { learning_rate: '0.03', max_depth: '8', n_estimators: '650' },
    model_card: fraudCard('v3', '0.944', 'not yet measured'), signature, description: 'More trees; waiting for an EU re-evaluation.',
    lineage: {
      datasets: [{ name: 'card-transactions', version: '2026-10', role: 'train' }],
      code: { ...fraudCode, commit: 'c3d4e5f6a7b8' }, run: { id: 'run-124', experiment: 'fraud-gbm' }, parents: [{ model: 'fraud-scorer', version: f2, relation: 'fine_tuned_from' }],
    },
  });
  await dana.promote('fraud-scorer', f3, { target: 'staging', reason: 'shadow traffic next to v2' });
  await dana.setAlias('fraud-scorer', 'shadow', f3);
  steps.push(`fraud-scorer v${f3} in staging, alias @shadow`);
  await rita.rollback('fraud-scorer', {
    reason: 'card-transactions@2026-10 under-samples EU cardholders; v2 flags 3x more EU transactions than v1',
  });
  steps.push(`fraud-scorer production rolled back from v${f2} to v${f1}`);

  // --- credit-limit: stricter policy; the second version is rejected for its training data.
  await sam.createModel({
    name: 'credit-limit', description: 'Suggests a credit limit for new card applicants; a human underwriter decides.',
    tags: { team: 'credit', regulated: 'yes' }, owner: 'sam', risk_tier: 'critical', responsible: ['sam', 'rita'],
    intended_use: 'Decision support for underwriters.', restrictions: 'Never the sole basis of a decision (EU AI Act, high risk).',
  });
  await admin.setModelPolicy('credit-limit', {
    targets: { production: { approvals_required: 1, approver_roles: ['approver', 'admin'], separation_of_duties: true, gates: ['metrics.fairness_gap <= 0.05', 'lineage.datasets', 'lineage.code', 'model_card'] } },
  });
  const creditCard = (gap: string) => `# credit-limit\n\nMonotonic gradient boosting on bureau and application features.\n\n## Fairness\nLargest approval-rate gap across age bands: **${gap}** (policy limit 0.05).\n`;
  const creditCode = { repo: 'git@git.example.com:credit/limits.git', path: 'pipelines/train.py' };
  const c1 = await version(sam, 'credit-limit', 3, {
    metrics: { auc: 0.871, fairness_gap: 0.031, calibration_error: 0.018 }, params: { monotone: 'true', max_depth: '5', l2: '1.0' },
    model_card: creditCard('0.031'), signature: { inputs: [{ name: 'income', type: 'double' }, { name: 'bureau_score', type: 'long' }], outputs: [{ name: 'limit', type: 'double' }] },
    lineage: { datasets: [{ name: 'loan-applications', version: '2026-06', role: 'train' }], code: { ...creditCode, commit: '0f1e2d3c4b5a' }, run: { id: 'run-77' }, parents: [] },
  });
  await ship(sam, rita, 'credit-limit', c1, 'validated by model risk in Q3', 'validation report MR-2026-31 attached');
  const c2 = await version(sam, 'credit-limit', 4, {
    metrics: { auc: 0.889, fairness_gap: 0.044, calibration_error: 0.015 }, params: { monotone: 'true', max_depth: '6', l2: '0.5' },
    model_card: creditCard('0.044'),
    lineage: { datasets: [{ name: 'loan-applications', version: '2026-09', role: 'train' }], code: { ...creditCode, commit: '9a8b7c6d5e4f' }, run: { id: 'run-91' }, parents: [{ model: 'credit-limit', version: c1, relation: 'fine_tuned_from' }] },
  });
  const rejected = await sam.promote('credit-limit', c2, { target: 'production', reason: '+0.02 AUC, fairness within policy' });
  await rita.reject(rejected.id, 'loan-applications@2026-09 under-represents applicants over 60; the fairness gap is measured on the same skewed sample');
  steps.push(`credit-limit v${c2} rejected for production`);

  // --- credit-limit-eu: distilled from the version built on the biased data (impact finds it).
  await sam.createModel({ name: 'credit-limit-eu', description: 'A smaller credit-limit model for the EU edge service.', tags: { team: 'credit', region: 'eu' }, owner: 'sam', risk_tier: 'high' });
  const e1 = await version(sam, 'credit-limit-eu', 5, {
    metrics: { auc: 0.874, fairness_gap: 0.047, latency_p99_ms: 3 }, params: { max_depth: '4', distillation_temperature: '2.0' },
    lineage: { datasets: [{ name: 'loan-applications', version: '2026-09', role: 'train' }], code: { ...creditCode, commit: '9a8b7c6d5e4f', path: 'pipelines/distill.py' }, run: { id: 'run-93' }, parents: [{ model: 'credit-limit', version: c2, relation: 'distilled_from' }] },
  });
  await sam.promote('credit-limit-eu', e1, { target: 'staging', reason: 'edge latency tests' });

  // --- churn-predictor: one in production, the next one waiting in the approvals inbox.
  await dana.createModel({ name: 'churn-predictor', description: 'Weekly churn risk per subscriber for the retention team.', tags: { team: 'growth' }, owner: 'dana', risk_tier: 'medium' });
  const churnLineage = (month: string, commit: string, run: string) => ({
    datasets: [{ name: 'subscriber-activity', version: month, role: 'train' }], code: { repo: 'git@git.example.com:growth/churn.git', commit }, run: { id: run }, parents: [],
  });
  const h1 = await version(dana, 'churn-predictor', 6, { metrics: { auc: 0.802, lift_at_10: 3.1 }, params: { model: 'logistic', c: '0.5' }, lineage: churnLineage('2026-07', '5e6f7a8b9c0d', 'run-55') });
  await ship(dana, omar, 'churn-predictor', h1, 'baseline for the retention campaign', 'fine for a campaign model');
  const h2 = await version(dana, 'churn-predictor', 7, {
    metrics: { auc: 0.834, lift_at_10: 3.6 }, params: { model: 'gbm', learning_rate: '0.1', max_depth: '4' }, lineage: churnLineage('2026-10', '6f7a8b9c0d1e', 'run-61'),
    model_card: '# churn-predictor v2\n\nSwitches from logistic regression to boosting; lift at 10% goes from 3.1 to 3.6.\n',
  });
  await dana.promote('churn-predictor', h2, { target: 'production', reason: 'better lift for the November campaign' });
  steps.push(`churn-predictor v${h2} waiting for approval`);

  return { users, models: ['fraud-scorer', 'credit-limit', 'credit-limit-eu', 'churn-predictor'], steps };
}
