// The controller runtime's public surface, for reconcilers and entrypoints.
export { Manager, type ControllerSpec, type ManagerOptions, type ReconcileContext, type ReconcileOutcome, type WatchSpec, type Selection, type LeaderElectionConfig } from './manager.ts';
export { Informer, type InformerHandler, type InformerOptions } from './informer.ts';
export { CacheIndex } from './cache-index.ts';
export { generationChanged, type Predicate } from './predicates.ts';
export { WorkQueue, type WorkQueueListener, type WorkQueueOptions } from './workqueue.ts';
export { LeaderElector, type LeaderElectionOptions } from './leader-election.ts';
export { applyObject, applyStatus, type ApplyOptions } from './apply.ts';
export { setCondition, mergeConditions, findCondition, isConditionTrue, removeCondition, type Condition, type ConditionInput } from './conditions.ts';
export { addFinalizer, removeFinalizer, hasFinalizer, isBeingDeleted } from './finalizers.ts';
export { controllerReference, controllerOf, withControllerReference, refersToKind } from './owner.ts';
export { EventRecorder, type EventType, type EventRecorderOptions } from './events.ts';
export { RuntimeMetrics, type ReconcileResult } from './metrics.ts';
export { ProbeServer, type ProbeServerOptions } from './server.ts';
export { KubeClient, ApiError, isStatus, type RequestOptions, type WatchEvent } from './rest.ts';
export { CORE_KINDS, apiVersionOf, collectionPath, objectPath, keyOf, splitKey, type KindDescriptor, type KubeObject, type ObjectMeta, type OwnerReference } from './resource.ts';
export { realClock, ManualClock, sleep, type Clock } from './clock.ts';
