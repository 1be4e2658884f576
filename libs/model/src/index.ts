export { BACKEND_CHOICES, BackendError, initBackend, type BackendChoice, type BackendName } from './backend';
export { initParams, paramCount, paramShapes, type ModelSpec, type ParamShape } from './spec';
export { Mlp, type EvaluationResult, type GradientResult } from './mlp';
export { fileLoadHandler, loadParams, saveLayersModel } from './saved-model';
export { timeGradientStep, type GradientTiming, type TimeGradientOptions } from './bench';
