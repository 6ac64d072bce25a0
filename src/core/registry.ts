/** The registry: every service, built over one set of ports. The server and tests start here. */
import type { CoreDeps } from './core-deps.js';
import { AliasService } from './services/alias-service.js';
import { AuditService } from './services/audit-service.js';
import { BlobMaintenance } from './services/blob-maintenance.js';
import { BlobService } from './services/blob-service.js';
import { DatasetService } from './services/dataset-service.js';
import { DeploymentService } from './services/deployment-service.js';
import { FeedbackService } from './services/feedback-service.js';
import { DossierService } from './services/dossier-service.js';
import { EventService } from './services/event-service.js';
import { IdentityService } from './services/identity-service.js';
import { InventoryService } from './services/inventory-service.js';
import { LineageService } from './services/lineage-service.js';
import { ModelService } from './services/model-service.js';
import { PolicyService } from './services/policy-service.js';
import { PromotionService } from './services/promotion-service.js';
import { ResolveService } from './services/resolve-service.js';
import { RollbackService } from './services/rollback-service.js';
import { TrackingService } from './services/tracking-service.js';
import { VersionService } from './services/version-service.js';
import { WebhookService } from './services/webhook-service.js';
import type { WebhookSender } from './ports.js';

export class Registry {
  readonly models: ModelService;
  readonly versions: VersionService;
  readonly aliases: AliasService;
  readonly promotions: PromotionService;
  readonly policies: PolicyService;
  readonly rollbacks: RollbackService;
  readonly resolver: ResolveService;
  readonly audit: AuditService;
  readonly identity: IdentityService;
  readonly blobs: BlobService;
  readonly blobMaintenance: BlobMaintenance;
  readonly webhooks: WebhookService;
  readonly events: EventService;
  readonly datasets: DatasetService;
  readonly lineage: LineageService;
  readonly inventory: InventoryService;
  readonly dossiers: DossierService;
  readonly deployments: DeploymentService;
  readonly feedback: FeedbackService;
  readonly tracking: TrackingService;

  constructor(readonly deps: CoreDeps, sender: WebhookSender) {
    this.models = new ModelService(deps);
    this.versions = new VersionService(deps);
    this.aliases = new AliasService(deps);
    this.promotions = new PromotionService(deps);
    this.policies = new PolicyService(deps);
    this.rollbacks = new RollbackService(deps);
    this.resolver = new ResolveService(deps);
    this.audit = new AuditService(deps);
    this.identity = new IdentityService(deps);
    this.blobs = new BlobService(deps);
    this.blobMaintenance = new BlobMaintenance(deps);
    this.webhooks = new WebhookService(deps, sender);
    this.events = new EventService(deps);
    this.datasets = new DatasetService(deps);
    this.lineage = new LineageService(deps);
    this.inventory = new InventoryService(deps);
    this.dossiers = new DossierService(deps);
    this.deployments = new DeploymentService(deps);
    this.feedback = new FeedbackService(deps);
    this.tracking = new TrackingService(deps);
  }
}
