/**
 * pipebook: the pipeline DSL and engine, everything a notebook or script imports. The REST server
 * is `pipebook/server`: express, ws and the routes load only where a server is started.
 */
export { Workspace, CONFIG_FILE, DEFAULT_DATASTORE } from "./workspace/Workspace.js";
export { Datastore, type UploadOptions, type AnyDatastore, type AzureBlobContainerOptions, type TransferProgress } from "./datastores/Datastore.js";
export { AzureBlobDatastore } from "./datastores/AzureBlobDatastore.js";
export type { DatastoreConfig, LocalDatastoreConfig, AzureBlobDatastoreConfig } from "./dsl/datastoreConfig.js";
export { DataReference, PipelineData, OutputFileDatasetConfig, type OutputDelivery, type StepData } from "./dsl/data.js";
export { Dataset, FileDataset, TabularDataset, DatasetInput, type DatasetPath, type RegisterOptions } from "./dsl/Dataset.js";
export { DatasetProfile, type ColumnProfile } from "./datasets/DatasetProfile.js";
export type { DatasetDefinition, DatasetVersion, TableTransform, FilterOp } from "./datasets/DatasetDefinition.js";
export { PipelineParameter, type ParameterType } from "./dsl/PipelineParameter.js";
export { Environment, RunConfiguration, type EnvironmentSpec, type PackageSource } from "./dsl/Environment.js";
export {
  PipelineStep, ScriptStep, PythonScriptStep, NodeScriptStep, CommandStep,
  type CommonStepOptions, type ScriptStepOptions, type CommandStepOptions, type StepArgument,
} from "./dsl/steps.js";
export { Module, ModuleVersion, type PublishScriptOptions, type PublishShellOptions } from "./dsl/Module.js";
export { ModuleStep, type ModuleStepOptions } from "./dsl/ModuleStep.js";
export type { ModuleDefinition, ModuleRecord, ModuleState, ModuleVersionRecord } from "./store/ModuleStore.js";
export { DataTransferStep, type DataTransferStepOptions } from "./dsl/DataTransferStep.js";
export { Pipeline } from "./dsl/Pipeline.js";
export { Experiment } from "./dsl/Experiment.js";
export { PipelineRun, type SubmitOptions } from "./runner/PipelineRun.js";
export type { SubmittedRun } from "./runner/SubmittedRun.js";
export { RemoteRun } from "./remote/RemoteRun.js";
export { RemoteError, type RemoteFailure } from "./remote/RemoteError.js";
export type { UploadReport } from "./remote/submitToServer.js";
export { BlobClient, type TransferProgress as BlobTransferProgress, type TransferResult as BlobTransferResult, type BlobClientOptions } from "./blobs/BlobClient.js";
export { BlobTransferError, type BlobTransferFailure } from "./blobs/BlobTransferError.js";
export type { RunEvent } from "./runner/RunEvent.js";
export { formatEvent } from "./runner/printEvent.js";
export { observeSubmissions } from "./contract/runHandle.js";
export { buildRunView } from "./runner/buildRunView.js";
export type { PipelineSpec, StepSpec, ArgumentSpec, DataSpec } from "./spec/PipelineSpec.js";
export { toPipelineSpec, fromPipelineSpec } from "./spec/specCodec.js";
export { recoverOrphanedRuns } from "./runner/recoverOrphanedRuns.js";
export { isAlive } from "./compute/processIdentity.js";
export { PipebookError, type PipebookErrorCode } from "./errors/PipebookError.js";
export type { Decision, StepRef } from "./explain/Decision.js";
export { explainDecision, summarizeDecision } from "./explain/formatDecision.js";
export type { KeyComponents } from "./fingerprint/KeyComponents.js";
export type { KeyChange } from "./fingerprint/diffKeys.js";
export { ComputeTarget } from "./dsl/ComputeTarget.js";
export type { ComputeTargetConfig, DockerTargetConfig, SlurmTargetConfig } from "./dsl/workspaceConfigSchema.js";
export type { Compute, Capacity, JobIO, LaunchOutcome, RunningHandle, StepRequirements } from "./compute/Compute.js";
export type { StepJob, JobArg, JobInput, JobProgram, InputLayout, Resources, ResolvedEnvironment } from "./compute/StepJob.js";
export { LocalCompute } from "./compute/LocalCompute.js";
export type { RunRow, StepRunRow, OutputRow, MetricRow, GitInfo } from "./store/RunStore.js";
// The contract, less the run graph's layout and drawing (runGraphShape, layoutRunGraph,
// renderRunGraph, svgTree): those are `pipebook/contract`'s, where the page, the kernel and the
// extension import them; here they would load dagre into every pipeline file and `pipebook run`.
export { formatDuration } from "./contract/formatDuration.js";
export { RUN_MIME_TYPE, RUN_STATUSES, RUN_VIEW_VERSION, isTerminalRunStatus, isTerminalStepStatus } from "./contract/runView.js";
export type {
  DataNodeView, EdgeView, MetricPoint, MetricView, OutputPreview, OutputView, ParameterValue, ReusedFrom,
  RunStatus, RunView, StepKind, StepStatus, StepView,
} from "./contract/runView.js";
export {
  MAX_PARAMETER_BYTES, checkAssignments, inferParameterValue, parameterNameProblem, parameterValueProblem, parseAssignments, readParameterValue,
} from "./contract/parameters.js";
export type { DeclaredParameter, ParsedParameters } from "./contract/parameters.js";
export { STATUS_TABLE } from "./contract/statusTable.js";
export type { StatusStyle } from "./contract/statusTable.js";
export { shortRunId } from "./contract/shortRunId.js";
export { formatMetric, formatMetricValue } from "./contract/formatMetric.js";
export { detailLine, fitText, statusLine, statusWord, untranslated } from "./contract/stepText.js";
export type { Translate } from "./contract/stepText.js";
export { EXPERIMENT_PATTERN, NAME_PATTERN, NAME_RULE, VERSION_PATTERN, VERSION_RULE, nameProblem, versionProblem } from "./contract/names.js";
export { PUBLISH_COMM_TARGET, describePublished } from "./contract/publishComm.js";
export type { PublishCommReply, PublishCommRequest } from "./contract/publishComm.js";
export { MIME_BUNDLE, RUN_HANDLE, isRunHandle, notifySubmission } from "./contract/runHandle.js";
export type { RunHandle } from "./contract/runHandle.js";
export { EXPECTED_FAILURE, isExpectedFailure } from "./contract/expectedFailure.js";
export { PublishedPipeline, type PublishOptions, type PublishedSubmitOptions } from "./publish/PublishedPipeline.js";
export { PipelineEndpoint, type EndpointSubmitOptions } from "./publish/PipelineEndpoint.js";
export { RecordedRun } from "./publish/RecordedRun.js";
export { Schedule, type ScheduleOptions } from "./schedules/Schedule.js";
export type { ScheduleTarget, ScheduleTrigger, ScheduleEvent, ScheduleEventKind } from "./store/ScheduleStore.js";
export { ApiTokens, SCOPES, type Scope, type TokenInfo } from "./auth/ApiTokens.js";
export { PublishError, type PublishFailure } from "./publish/PublishError.js";
