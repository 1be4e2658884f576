export { BACKEND_CHOICES, BACKEND_HELP, BackendError, describeBackend, initBackend, nativeUnavailableReason, setBlasThreads, type BackendChoice, type BackendName } from './backend';
export {
  DEFAULT_CNN_FILTERS,
  DEFAULT_GROUPS,
  DEFAULT_KERNEL_SIZE,
  MODEL_KINDS,
  NORM_KINDS,
  bufferCount,
  bufferShapes,
  initBuffers,
  initParams,
  paramCount,
  paramShapes,
  shapeSize,
  validateSpec,
  type LayersSource,
  type ModelKind,
  type ModelSpec,
  type NormKind,
  type ParamShape,
} from './spec';
export { Mlp } from './mlp';
export { Cnn } from './cnn';
export { createModel } from './model';
export { LayersModel, LayersModelError, layersSpec, loadLayersSource } from './layers';
export { combineEvaluations } from './ops';
export { type AllReduce, type EvaluationResult, type GradientResult, type Model } from './types';
export { registerWasmKernels } from './conv-grad';
export { fileLoadHandler, loadParams, saveLayersModel, saveNetwork } from './saved-model';
export { timeGradientStep, type GradientTiming, type TimeGradientOptions } from './bench';
