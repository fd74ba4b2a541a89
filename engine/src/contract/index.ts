export { formatDuration } from "./formatDuration.js";
export { RUN_MIME_TYPE, RUN_VIEW_VERSION, isTerminalRunStatus, isTerminalStepStatus } from "./runView.js";
export type {
  EdgeView, MetricPoint, MetricView, OutputPreview, OutputView, ParameterValue, ReusedFrom,
  RunStatus, RunView, StepKind, StepStatus, StepView,
} from "./runView.js";
