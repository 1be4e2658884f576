import * as tf from '@tensorflow/tfjs';

/**
 * Convolution gradients built from forward convolutions, and the kernels the wasm backend lacks.
 *
 * tfjs-backend-wasm 4.22 ships Conv2D, FusedConv2D, Conv2DBackpropInput, MaxPool(Grad) and AvgPool(Grad), but
 * no Conv2DBackpropFilter (tensorflow/tfjs#8474), so the gradient of any conv2d with respect to its filter
 * throws "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'". registerWasmKernels() adds it.
 */

/**
 * dL/dfilter of `conv2d(x, filter, strides, pad)` (NHWC, dilation 1) from x and dy = dL/doutput, written as one
 * forward convolution so that it runs on XNNPACK's SIMD conv kernel on wasm:
 *
 *   dW[i, j, c, f] = sum_{n, p, q} xpad[n, p*sh + i, q*sw + j, c] * dy[n, p, q, f]
 *
 * is a 'valid', stride-1 convolution of xpad transposed to [C, H, W, N] (channels as batch, batch as channels)
 * with dy transposed to [OH, OW, N, F] as the filter, dilated by the forward strides; its [C, kh, kw, F] output
 * transposed back is dW. xpad is x padded as the forward conv pads it, then padded or cropped at the bottom/right
 * so that exactly kh x kw output positions exist. Measured on one core for [32,14,14,8] * [5,5,8,16] 'same':
 * 2.4 ms here, 24-27 ms with im2col + matMul or with the native Conv3DBackpropFilterV2, 2.4 s on the cpu backend.
 * Call inside tidy (intermediates are left to it).
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: tf.Conv2DBackpropFilterAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  const [kh, kw, inC, outC] = filterShape;
  const [n, h, w, c] = x.shape;
  const [dyN, outH, outW, dyC] = dy.shape;
  if (c !== inC || dyC !== outC || dyN !== n || outH !== info.outHeight || outW !== info.outWidth) {
    throw new Error(
      `conv2dFilterGrad: x ${JSON.stringify(x.shape)} and dy ${JSON.stringify(dy.shape)} do not fit filter ${JSON.stringify(filterShape)}`,
    );
  }
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  // Rows/columns of the padded input that the kh x kw output positions reach; the forward padding may
  // include more (unused) rows, and inputs may extend beyond the last window, so bottom/right may crop.
  const bottom = kh + (outH - 1) * sh - top - h;
  const right = kw + (outW - 1) * sw - left - w;
  let xp: tf.Tensor4D = x;
  if (bottom < 0 || right < 0) xp = tf.slice(xp, [0, 0, 0, 0], [n, h + Math.min(0, bottom), w + Math.min(0, right), c]);
  if (top > 0 || left > 0 || bottom > 0 || right > 0) {
    xp = tf.pad(xp, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
  }
  const out = tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, 'valid', 'NHWC', [sh, sw]);
  return tf.transpose(out, [1, 2, 0, 3]);
}

/**
 * dL/dx of a stride-1 'same' conv2d(x, filter) (NHWC): the correlation of dy with the filter rotated by 180
 * degrees and its in/out channels swapped, padded by the forward padding mirrored (bottom/right amounts on
 * top/left). A forward conv on XNNPACK: on wasm, for dy [32,14,14,16] and a 5x5x8x16 filter, 2-3 ms against
 * 15 ms for the shipped Conv2DBackpropInput kernel (at batch 128: 7.5 ms against 62 ms).
 * Call inside tidy.
 */
export function conv2dSameInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const top = Math.floor((kh - 1) / 2);
  const left = Math.floor((kw - 1) / 2);
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
  return tf.conv2d(dy, rotated, 1, [[0, 0], [kh - 1 - top, top], [kw - 1 - left, left], [0, 0]]);
}

function asTensor(info: tf.TensorInfo): tf.Tensor {
  // Ops pass Tensors; a backend-internal caller may pass a bare TensorInfo, which needs a (scoped) wrapper.
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Conv2DBackpropFilter for the wasm backend via conv2dFilterGrad. A kernel may run tf ops: the engine turns the
 * gradient tape off while a kernel runs (kernelDepth > 0), and a Tensor returned by a kernelFunc is used as the
 * kernel's output as is. Everything else it creates must be freed inside, hence the tidy (the engine's leak check
 * under IS_TEST counts data ids created by the kernel minus its outputs).
 */
const conv2dBackpropFilterWasm: tf.KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error("Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only");
  return tf.tidy(() =>
    conv2dFilterGrad(asTensor(inputs.x!) as tf.Tensor4D, asTensor(inputs.dy!) as tf.Tensor4D, filterShape, strides, pad, dimRoundingMode),
  );
};

const WASM_KERNELS: readonly tf.KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm },
];

/** Names of the kernels this module registered, so repeated calls are cheap and silent. */
const registered = new Set<string>();

/**
 * Registers the kernels the wasm backend is missing for training conv nets (today only Conv2DBackpropFilter).
 * Idempotent; a kernel that is already registered for wasm (by a later tfjs release or by someone else) is left
 * alone. Called by initBackend('wasm') and by the Cnn constructor. Returns the names registered by this module.
 */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) {
    if (registered.has(config.kernelName) || tf.getKernel(config.kernelName, config.backendName)) continue;
    tf.registerKernel(config);
    registered.add(config.kernelName);
  }
  return [...registered];
}
