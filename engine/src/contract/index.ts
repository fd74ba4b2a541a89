export { formatDuration } from "./formatDuration.js";
export { RUN_MIME_TYPE, RUN_STATUSES, RUN_VIEW_VERSION, isTerminalRunStatus, isTerminalStepStatus } from "./runView.js";
export type {
  DataNodeView, EdgeView, MetricPoint, MetricView, OutputPreview, OutputView, ParameterValue, ReusedFrom,
  RunStatus, RunView, StepKind, StepStatus, StepView,
} from "./runView.js";
export {
  MAX_PARAMETER_BYTES, checkAssignments, inferParameterValue, parameterNameProblem, parameterValueProblem, parseAssignments, readParameterValue,
} from "./parameters.js";
export type { DeclaredParameter, ParameterType, ParsedParameters } from "./parameters.js";
export { STATUS_TABLE } from "./statusTable.js";
export type { StatusStyle } from "./statusTable.js";
export { shortRunId } from "./shortRunId.js";
export { formatMetric, formatMetricValue } from "./formatMetric.js";
export { detailLine, fitText, statusLine, statusWord, untranslated } from "./stepText.js";
export type { Translate } from "./stepText.js";
export { DATA_NODE_HEIGHT, NODE_HEIGHT, NODE_WIDTH, dataNodeId, runGraphShape } from "./runGraphShape.js";
export type { GraphShape, ShapeEdge, ShapeNode } from "./runGraphShape.js";
export { layoutRunGraph } from "./layoutRunGraph.js";
export type { PlacedEdge, PlacedNode, Point, RunGraphLayout } from "./layoutRunGraph.js";
export { renderDataNode, renderRunGraph, renderStepNode } from "./renderRunGraph.js";
export type { RenderRunGraphOptions } from "./renderRunGraph.js";
export { escapeXml, SVG_NS, svgToDom, svgToString } from "./svgTree.js";
export type { ElementLike, SvgNode } from "./svgTree.js";
export { EXPERIMENT_PATTERN, NAME_PATTERN, NAME_RULE, STEP_NAME_PATTERN, STEP_NAME_RULE, VERSION_PATTERN, VERSION_RULE, nameProblem, versionProblem } from "./names.js";
export { PUBLISH_COMM_TARGET, describePublished } from "./publishComm.js";
export type { PublishCommReply, PublishCommRequest } from "./publishComm.js";
export { MIME_BUNDLE, RUN_HANDLE, isRunHandle, notifySubmission, observeSubmissions } from "./runHandle.js";
export type { RunHandle } from "./runHandle.js";
export { EXPECTED_FAILURE, FAILURE_CODES, isExpectedFailure, readErrorReply } from "./expectedFailure.js";
export type { FailureCode } from "./expectedFailure.js";
