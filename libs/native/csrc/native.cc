// shardlab's native compute: OpenBLAS sgemm, convolutions (direct loops for thin layers, direct_conv.h; im2col /
// col2im + sgemm for wide ones), max-pool and the element-wise work of large activations.
// TypeScript (libs/model/src/native-kernels.ts) registers these as TensorFlow.js kernels; everything here
// is a pure function of its typed-array arguments, writes only into the output array it is given, and runs
// on the calling (Node main) thread. Layouts are TensorFlow's: row-major matrices, NHWC images, HWIO filters.
#include <napi.h>
#include <cblas.h>

#include "deform.h"
#include "direct_conv.h"

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>
#include <limits>
#include <vector>

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}

namespace {

// Scratch for the im2col matrix, reused across calls (Node calls us from one thread).
std::vector<float> scratch;

float* Scratch(size_t n) {
  if (scratch.size() < n) scratch.resize(n);
  return scratch.data();
}

// Kept im2col matrices: a forward conv can leave im2col(x) in a slot, and the filter gradient of the same x then
// reuses it instead of building it again. Which slot holds which tensor's matrix is tracked by the caller
// (native-kernels.ts), which knows tensor identities; here a slot is just a buffer.
constexpr int kSlots = 4;
std::vector<float> slots[kSlots];

// The im2col buffer for `slot` (0..kSlots-1), or the shared scratch for any other value.
float* Cols(long slot, size_t n) {
  std::vector<float>& v = slot >= 0 && slot < kSlots ? slots[slot] : scratch;
  if (v.size() < n) v.resize(n);
  return v.data();
}

// An optional integer argument (the slot): -1 when absent, null or undefined.
long OptionalSlot(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) return -1;
  return info[i].As<Napi::Number>().Int64Value();
}

bool Fail(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// A Float32Array argument with at least `need` elements.
bool F32(const Napi::CallbackInfo& info, size_t i, size_t need, float** out, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    std::string m = std::string(name) + " must be a Float32Array";
    return Fail(info.Env(), m.c_str());
  }
  auto a = info[i].As<Napi::Float32Array>();
  if (a.ElementLength() < need) {
    std::string m = std::string(name) + " is too short: need " + std::to_string(need) + ", got " + std::to_string(a.ElementLength());
    return Fail(info.Env(), m.c_str());
  }
  *out = a.Data();
  return true;
}

// Integer arguments info[from .. from+n-1], each >= 0.
bool Ints(const Napi::CallbackInfo& info, size_t from, size_t n, long* out) {
  for (size_t k = 0; k < n; k++) {
    if (!info[from + k].IsNumber()) return Fail(info.Env(), "expected an integer argument");
    long v = info[from + k].As<Napi::Number>().Int64Value();
    if (v < 0) return Fail(info.Env(), "integer arguments must be >= 0");
    out[k] = v;
  }
  return true;
}

// C[m,n] = op(A) op(B) (+ C when accumulate), row-major; op(A) is [m,k], op(B) is [k,n].
// sgemm(transA, transB, m, n, k, A, B, C, accumulate)
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 9) {
    Fail(env, "sgemm(transA, transB, m, n, k, a, b, c, accumulate)");
    return env.Undefined();
  }
  bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
  long d[3];
  if (!Ints(info, 2, 3, d)) return env.Undefined();
  long m = d[0], n = d[1], k = d[2];
  float *a, *b, *c;
  if (!F32(info, 5, size_t(m * k), &a, "a") || !F32(info, 6, size_t(k * n), &b, "b") || !F32(info, 7, size_t(m * n), &c, "c")) return env.Undefined();
  float beta = info[8].ToBoolean() ? 1.0f : 0.0f;
  if (m == 0 || n == 0) return env.Undefined();
  if (k == 0) {
    if (beta == 0.0f) std::fill(c, c + m * n, 0.0f);
    return env.Undefined();
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k), 1.0f, a,
              int(ta ? m : k), b, int(tb ? k : n), beta, c, int(n));
  return env.Undefined();
}

// The geometry of one NHWC convolution, as tfjs's computeConv2DInfo describes it.
struct Conv {
  long n, h, w, c;        // input
  long kh, kw, f;         // filter [kh, kw, c, f]
  long sh, sw, dh, dw;    // strides, dilations
  long top, left;         // padding before
  long oh, ow;            // output
  long Rows() const { return n * oh * ow; }
  long Cols() const { return kh * kw * c; }
};

// Three arrays, then the geometry in the order n h w c kh kw f sh sw dh dw top left oh ow.
bool ReadConv(const Napi::CallbackInfo& info, const char* usage, Conv* g) {
  if (info.Length() < 18) return Fail(info.Env(), usage);
  long v[15];
  if (!Ints(info, 3, 15, v)) return false;
  *g = Conv{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (g->sh == 0 || g->sw == 0 || g->dh == 0 || g->dw == 0) return Fail(info.Env(), "strides and dilations must be >= 1");
  return true;
}

// The output columns xo whose input column xo * sw + j * dw - left lies inside the image, for filter column j: [*lo, *hi).
inline void ValidOutputColumns(const Conv& g, long j, long* lo, long* hi) {
  const long offset = j * g.dw - g.left;  // input column of xo = 0
  *lo = offset >= 0 ? 0 : (-offset + g.sw - 1) / g.sw;
  *hi = offset >= g.w ? 0 : std::min(g.ow, (g.w - offset + g.sw - 1) / g.sw);
  if (*hi < *lo) *hi = *lo;
}

// The runs of the transposed im2col matrix, for Im2colT and its adjoint: for every row k = (i, j, channel) of
// colsT and every output row (b, y), visit(run, inside, pixel, lo, hi, step), where colsT[run + xo] (xo < ow)
// is the run; inside says whether input row iy lies in the image; then, for lo <= xo < hi, the run's entry xo
// meets input element pixel + xo * step, and the others meet the padding.
template <typename Visit>
void ForEachRunT(const Conv& g, Visit visit) {
  const long R = g.Rows(), C = g.c;
  for (long i = 0; i < g.kh; i++)
    for (long j = 0; j < g.kw; j++) {
      long lo, hi;
      ValidOutputColumns(g, j, &lo, &hi);
      const long offset = j * g.dw - g.left;
      for (long ch = 0; ch < C; ch++) {
        const long row = ((i * g.kw + j) * C + ch) * R;
        for (long b = 0; b < g.n; b++)
          for (long y = 0; y < g.oh; y++) {
            const long iy = y * g.sh + i * g.dh - g.top;
            const bool inside = iy >= 0 && iy < g.h;
            visit(row + (b * g.oh + y) * g.ow, inside, ((b * g.h + iy) * g.w + offset) * C + ch, lo, hi, g.sw * C);
          }
      }
    }
}

// The im2col matrix, transposed: colsT[K, Rows], where row k = (i, j, channel) (the HWIO filter's row order)
// holds, for every output pixel (b, y, xo), the input value that filter tap meets there (0 in the padding).
// Built this way each row is filled in runs of `ow` consecutive output pixels reading one input row: long
// branch-free loops, where the untransposed matrix is built in runs of kw * c values (5 for a 5x5 filter on
// one channel), which cost ~5 ns each. sgemm takes the transpose as a flag.
void Im2colT(const float* x, const Conv& g, float* colsT) {
  ForEachRunT(g, [&](long run, bool inside, long pixel, long lo, long hi, long step) {
    float* d = colsT + run;
    long xo = 0;
    if (inside) {
      for (; xo < lo; xo++) d[xo] = 0.0f;
      for (; xo < hi; xo++) d[xo] = x[pixel + xo * step];
    }
    for (; xo < g.ow; xo++) d[xo] = 0.0f;
  });
}

// The adjoint of Im2colT: dx = 0, then every entry of colsT is added back to the input pixel it came from.
void Col2imT(const float* colsT, const Conv& g, float* dx) {
  std::fill(dx, dx + g.n * g.h * g.w * g.c, 0.0f);
  ForEachRunT(g, [&](long run, bool inside, long pixel, long lo, long hi, long step) {
    if (!inside) return;
    const float* d = colsT + run;
    for (long xo = lo; xo < hi; xo++) dx[pixel + xo * step] += d[xo];
  });
}

// The filter columns j of window column xo that fall inside the image: [*lo, *hi).
inline void ValidColumns(const Conv& g, long xo, long* lo, long* hi) {
  long first = xo * g.sw - g.left;  // input column of j = 0
  *lo = 0;
  *hi = g.kw;
  while (*lo < g.kw && first + *lo * g.dw < 0) (*lo)++;
  while (*hi > *lo && first + (*hi - 1) * g.dw >= g.w) (*hi)--;
}

// cols[Rows, Cols]: row (b, y, x) holds the receptive field of output pixel (y, x) of image b,
// ordered (i, j, channel) like the HWIO filter flattened to [kh * kw * c, f]; padding reads as 0.
// With dilation 1 the in-image part of a filter row is one contiguous run of the input, copied as a block.
void Im2col(const float* x, const Conv& g, float* cols) {
  const long K = g.Cols(), C = g.c, rowLen = g.kw * C;
  for (long b = 0; b < g.n; b++)
    for (long y = 0; y < g.oh; y++)
      for (long xo = 0; xo < g.ow; xo++) {
        float* row = cols + ((b * g.oh + y) * g.ow + xo) * K;
        long lo, hi;
        ValidColumns(g, xo, &lo, &hi);
        long first = xo * g.sw - g.left;
        for (long i = 0; i < g.kh; i++) {
          long iy = y * g.sh + i * g.dh - g.top;
          float* dst = row + i * rowLen;
          if (iy < 0 || iy >= g.h || lo >= hi) {
            std::fill(dst, dst + rowLen, 0.0f);
            continue;
          }
          const float* src = x + ((b * g.h + iy) * g.w + first) * C;
          std::fill(dst, dst + lo * C, 0.0f);
          if (g.dw == 1) {
            std::memcpy(dst + lo * C, src + lo * C, sizeof(float) * (hi - lo) * C);
          } else {
            for (long j = lo; j < hi; j++) std::memcpy(dst + j * C, src + j * g.dw * C, sizeof(float) * C);
          }
          std::fill(dst + hi * C, dst + rowLen, 0.0f);
        }
      }
}

// The adjoint of Im2col: dx = 0, then every column entry is added back to the input pixel it came from.
void Col2im(const float* cols, const Conv& g, float* dx) {
  const long K = g.Cols(), C = g.c, rowLen = g.kw * C;
  std::fill(dx, dx + g.n * g.h * g.w * C, 0.0f);
  for (long b = 0; b < g.n; b++)
    for (long y = 0; y < g.oh; y++)
      for (long xo = 0; xo < g.ow; xo++) {
        const float* row = cols + ((b * g.oh + y) * g.ow + xo) * K;
        long lo, hi;
        ValidColumns(g, xo, &lo, &hi);
        long first = xo * g.sw - g.left;
        for (long i = 0; i < g.kh; i++) {
          long iy = y * g.sh + i * g.dh - g.top;
          if (iy < 0 || iy >= g.h) continue;
          const float* src = row + i * rowLen;
          float* dst = dx + ((b * g.h + iy) * g.w + first) * C;
          if (g.dw == 1) {
            for (long e = lo * C; e < hi * C; e++) dst[e] += src[e];
          } else {
            for (long j = lo; j < hi; j++)
              for (long ch = 0; ch < C; ch++) dst[j * g.dw * C + ch] += src[j * C + ch];
          }
        }
      }
}

// The direct convolution's input: x with its padding written out as zeros, xp[n, hp, wp, c] with
// xp[b, r, q] = x[b, r - top, q - left], exactly as large as the output's windows reach.
shardlab::DirectGeometry PadForDirect(const float* x, const Conv& g, std::vector<float>& xp) {
  const long hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1, wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  xp.assign(size_t(g.n * hp * wp * g.c), 0.0f);
  const long q0 = std::min(wp, g.left), q1 = std::min(wp, g.left + g.w);  // columns of xp inside the image
  for (long b = 0; b < g.n; b++)
    for (long r = 0; r < hp; r++) {
      const long iy = r - g.top;
      if (iy < 0 || iy >= g.h || q1 <= q0) continue;
      std::memcpy(xp.data() + ((b * hp + r) * wp + q0) * g.c, x + ((b * g.h + iy) * g.w + q0 - g.left) * g.c, sizeof(float) * size_t((q1 - q0) * g.c));
    }
  return {g.n, hp, wp, g.c, g.kh, g.kw, g.f, g.sh, g.sw, g.dh, g.dw, g.oh, g.ow};
}

// The input gradient as a direct convolution: dy scattered into a zero image at the places its pixels' windows
// started (strides apart, shifted by the padding), then convolved with stride 1 by the filter turned by 180
// degrees with its channel axes swapped: dx[b, r, q, ch] = sum of dy[b, y, x, o] * w[i, j, ch, o] over the
// (y, x, i, j) with y * sh + i * dh - top = r and x * sw + j * dw - left = q.
void DirectInputGrad(const float* dy, const float* filter, const Conv& g, float* dx) {
  static std::vector<float> scattered, turned;
  const long hp = g.h + (g.kh - 1) * g.dh, wp = g.w + (g.kw - 1) * g.dw;
  scattered.assign(size_t(g.n * hp * wp * g.f), 0.0f);
  for (long b = 0; b < g.n; b++)
    for (long y = 0; y < g.oh; y++) {
      const long r = y * g.sh + (g.kh - 1) * g.dh - g.top;
      if (r < 0 || r >= hp) continue;
      for (long x = 0; x < g.ow; x++) {
        const long q = x * g.sw + (g.kw - 1) * g.dw - g.left;
        if (q < 0 || q >= wp) continue;
        std::memcpy(scattered.data() + ((b * hp + r) * wp + q) * g.f, dy + ((b * g.oh + y) * g.ow + x) * g.f, sizeof(float) * size_t(g.f));
      }
    }
  turned.resize(size_t(g.kh * g.kw * g.f * g.c));
  for (long i = 0; i < g.kh; i++)
    for (long j = 0; j < g.kw; j++)
      for (long ch = 0; ch < g.c; ch++)
        for (long o = 0; o < g.f; o++)
          turned[size_t((((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.f + o) * g.c + ch)] = filter[((i * g.kw + j) * g.c + ch) * g.f + o];
  shardlab::DirectConv(scattered.data(), turned.data(), nullptr, false, {g.n, hp, wp, g.f, g.kh, g.kw, g.c, 1, 1, g.dh, g.dw, g.h, g.w}, dx);
}

// The padded input of the last direct convolution (reused across calls).
std::vector<float> padded;

const bool kDirect = shardlab::DirectConvSupported();

// Whether a convolution with this many output channels (input channels, for the input gradient) runs directly.
inline bool Direct(long channels) { return kDirect && channels <= shardlab::kMaxDirectChannels; }

// Which lowering a convolution uses: direct (direct_conv.h) up to kMaxDirectChannels output channels; above,
// im2col + sgemm (the measurements above were taken on it, before the CNN's layers moved to the direct loops):
// the transposed one (Im2colT) when a filter row spans fewer than 16 values
// (kw * c: 5 for the first 5x5 layer on one channel), where the untransposed matrix would be built in tiny runs;
// the untransposed one otherwise, where its runs are long and sgemm is faster on it (measured on the CNN's second
// layer, 5x5x8: forward 0.70 ms untransposed vs 1.07 ms transposed, input gradient 0.65 vs 1.48 ms).
inline bool Transposed(const Conv& g) { return g.kw * g.c < 16; }

// conv2d(x, filter, out, ...geometry[, bias, relu, slot]): out[n, oh, ow, f] = im2col(x) [Rows, K] x filter [K, f],
// then + bias[f] (a Float32Array of f values, or null) and max(0, .) when relu is true. With a slot (0..3),
// im2col(x) stays in that slot for conv2dBackpropFilter.
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Conv g;
  if (!ReadConv(info, "conv2d(x, filter, out, geometry x15)", &g)) return env.Undefined();
  float *x, *filter, *out;
  if (!F32(info, 0, size_t(g.n * g.h * g.w * g.c), &x, "x") || !F32(info, 1, size_t(g.Cols() * g.f), &filter, "filter") ||
      !F32(info, 2, size_t(g.Rows() * g.f), &out, "out"))
    return env.Undefined();
  if (g.Rows() == 0 || g.f == 0) return env.Undefined();
  float* bias = nullptr;
  if (info.Length() > 18 && !info[18].IsNull() && !info[18].IsUndefined() && !F32(info, 18, size_t(g.f), &bias, "bias")) return env.Undefined();
  bool relu = info.Length() > 19 && info[19].ToBoolean();
  if (Direct(g.f)) {
    const shardlab::DirectGeometry d = PadForDirect(x, g, padded);
    shardlab::DirectConv(padded.data(), filter, bias, relu, d, out);
    return env.Undefined();
  }
  float* cols = Cols(OptionalSlot(info, 20), size_t(g.Rows() * g.Cols()));
  if (Transposed(g)) {
    Im2colT(x, g, cols);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(g.Rows()), int(g.f), int(g.Cols()), 1.0f, cols, int(g.Rows()), filter,
                int(g.f), 0.0f, out, int(g.f));
  } else {
    Im2col(x, g, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(g.Rows()), int(g.f), int(g.Cols()), 1.0f, cols, int(g.Cols()), filter,
                int(g.f), 0.0f, out, int(g.f));
  }
  if (bias || relu) {
    for (long r = 0; r < g.Rows(); r++) {
      float* o = out + r * g.f;
      if (bias)
        for (long k = 0; k < g.f; k++) o[k] += bias[k];
      if (relu)
        for (long k = 0; k < g.f; k++) o[k] = o[k] > 0.0f ? o[k] : 0.0f;
    }
  }
  return env.Undefined();
}

// conv2dBackpropFilter(x, dy, dw, ...geometry[, slot, reuse]): dw [K, f] = im2col(x)^T [K, Rows] x dy [Rows, f].
// With reuse, the slot already holds im2col(x) for this geometry (left there by conv2d), so it is not rebuilt.
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Conv g;
  if (!ReadConv(info, "conv2dBackpropFilter(x, dy, dw, geometry x15)", &g)) return env.Undefined();
  float *x, *dy, *dw;
  if (!F32(info, 0, size_t(g.n * g.h * g.w * g.c), &x, "x") || !F32(info, 1, size_t(g.Rows() * g.f), &dy, "dy") ||
      !F32(info, 2, size_t(g.Cols() * g.f), &dw, "dw"))
    return env.Undefined();
  if (g.Rows() == 0) {
    std::fill(dw, dw + g.Cols() * g.f, 0.0f);
    return env.Undefined();
  }
  if (Direct(g.f)) {
    const shardlab::DirectGeometry d = PadForDirect(x, g, padded);
    shardlab::DirectFilterGrad(padded.data(), dy, d, dw);
    return env.Undefined();
  }
  const long slot = OptionalSlot(info, 18);
  const bool reuse = slot >= 0 && slot < kSlots && info.Length() > 19 && info[19].ToBoolean() &&
                     slots[slot].size() >= size_t(g.Rows() * g.Cols());
  float* cols = Cols(slot, size_t(g.Rows() * g.Cols()));
  if (Transposed(g)) {
    if (!reuse) Im2colT(x, g, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(g.Cols()), int(g.f), int(g.Rows()), 1.0f, cols, int(g.Rows()), dy, int(g.f),
                0.0f, dw, int(g.f));
  } else {
    if (!reuse) Im2col(x, g, cols);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(g.Cols()), int(g.f), int(g.Rows()), 1.0f, cols, int(g.Cols()), dy, int(g.f),
                0.0f, dw, int(g.f));
  }
  return env.Undefined();
}

// conv2dBackpropInput(dy, filter, dx, ...geometry): dcols [Rows, K] = dy [Rows, f] x filter^T [f, K]; dx = col2im(dcols)
// (or the transposed forms, see Transposed).
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Conv g;
  if (!ReadConv(info, "conv2dBackpropInput(dy, filter, dx, geometry x15)", &g)) return env.Undefined();
  float *dy, *filter, *dx;
  if (!F32(info, 0, size_t(g.Rows() * g.f), &dy, "dy") || !F32(info, 1, size_t(g.Cols() * g.f), &filter, "filter") ||
      !F32(info, 2, size_t(g.n * g.h * g.w * g.c), &dx, "dx"))
    return env.Undefined();
  if (Direct(g.c)) {
    DirectInputGrad(dy, filter, g, dx);
    return env.Undefined();
  }
  float* cols = Scratch(size_t(g.Rows() * g.Cols()));
  const bool t = Transposed(g);
  if (g.Rows() > 0 && g.Cols() > 0) {
    if (g.f == 0) std::fill(cols, cols + g.Rows() * g.Cols(), 0.0f);
    else if (t)  // dcolsT [K, Rows] = filter [K, f] x dy^T [f, Rows]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(g.Cols()), int(g.Rows()), int(g.f), 1.0f, filter, int(g.f), dy, int(g.f),
                  0.0f, cols, int(g.Rows()));
    else  // dcols [Rows, K] = dy [Rows, f] x filter^T [f, K]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(g.Rows()), int(g.Cols()), int(g.f), 1.0f, dy, int(g.f), filter, int(g.f),
                  0.0f, cols, int(g.Cols()));
  }
  if (t) Col2imT(cols, g, dx);
  else Col2im(cols, g, dx);
  return env.Undefined();
}

// Max-pool geometry: n h w c, window kh kw, strides sh sw, padding top left, output oh ow.
struct Pool {
  long n, h, w, c, kh, kw, sh, sw, top, left, oh, ow;
};

// For every output element, the input index of its window's first strict maximum in row-major window order
// (-1 when the window has no number greater than -inf), the way tfjs's cpu backend picks it; NaN never wins.
template <typename Visit>
void ForEachPoolMax(const float* x, const Pool& p, Visit visit) {
  for (long b = 0; b < p.n; b++)
    for (long yr = 0; yr < p.oh; yr++) {
      long r0 = yr * p.sh - p.top, r1 = std::min(p.h, r0 + p.kh);
      for (long yc = 0; yc < p.ow; yc++) {
        long c0 = yc * p.sw - p.left, c1 = std::min(p.w, c0 + p.kw);
        long o = ((b * p.oh + yr) * p.ow + yc) * p.c;
        for (long d = 0; d < p.c; d++) {
          float best = -std::numeric_limits<float>::infinity();
          long at = -1;
          for (long r = std::max(0L, r0); r < r1; r++)
            for (long cc = std::max(0L, c0); cc < c1; cc++) {
              long i = ((b * p.h + r) * p.w + cc) * p.c + d;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          visit(o + d, at);
        }
      }
    }
}

bool ReadPool(const Napi::CallbackInfo& info, const char* usage, Pool* p) {
  if (info.Length() < 15) return Fail(info.Env(), usage);
  long v[12];
  if (!Ints(info, 3, 12, v)) return false;
  *p = Pool{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  return true;
}

// maxPool(x, out, unused, ...pool geometry): out = the window maxima (-inf for a window without numbers).
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Pool p;
  if (!ReadPool(info, "maxPool(x, out, null, geometry x12)", &p)) return env.Undefined();
  float *x, *out;
  if (!F32(info, 0, size_t(p.n * p.h * p.w * p.c), &x, "x") || !F32(info, 1, size_t(p.n * p.oh * p.ow * p.c), &out, "out")) return env.Undefined();
  ForEachPoolMax(x, p, [&](long o, long at) { out[o] = at >= 0 ? x[at] : -std::numeric_limits<float>::infinity(); });
  return env.Undefined();
}

// maxPoolGrad(x, dy, dx, ...pool geometry): dx = 0, then each dy is added at its window's maximum.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  Pool p;
  if (!ReadPool(info, "maxPoolGrad(x, dy, dx, geometry x12)", &p)) return env.Undefined();
  float *x, *dy, *dx;
  if (!F32(info, 0, size_t(p.n * p.h * p.w * p.c), &x, "x") || !F32(info, 1, size_t(p.n * p.oh * p.ow * p.c), &dy, "dy") ||
      !F32(info, 2, size_t(p.n * p.h * p.w * p.c), &dx, "dx"))
    return env.Undefined();
  std::fill(dx, dx + p.n * p.h * p.w * p.c, 0.0f);
  ForEachPoolMax(x, p, [&](long o, long at) {
    if (at >= 0) dx[at] += dy[o];
  });
  return env.Undefined();
}

// Element-wise kernels for the big activations of a CNN step, where plain JS loops cost ~1 ms per step. Each
// matches the JS kernel it replaces bit for bit: a float product is the correctly rounded product (the exact
// product of two floats fits a double), and sums accumulate in double in the same order.

// mul(a, b, out): out[i] = a[i] * b[i] over out's length.
Napi::Value Mul(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 3 || !info[2].IsTypedArray()) return Fail(env, "mul(a, b, out)"), env.Undefined();
  size_t n = info[2].As<Napi::TypedArray>().ElementLength();
  float *a, *b, *out;
  if (!F32(info, 0, n, &a, "a") || !F32(info, 1, n, &b, "b") || !F32(info, 2, n, &out, "out")) return env.Undefined();
  for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
  return env.Undefined();
}

// deformImages(src, bank, side, draws, out, simd = true): deformed images (deform.h), one per kDrawValues values
// of draws; simd false takes the scalar loop (the same bytes: the tests compare the two).
Napi::Value DeformImages(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[2].IsNumber() || !info[3].IsTypedArray()) return Fail(env, "deformImages(src, bank, side, draws, out)"), env.Undefined();
  auto src = info[0].As<Napi::TypedArray>();
  auto draws = info[3].As<Napi::TypedArray>();
  if (src.TypedArrayType() != napi_uint8_array) return Fail(env, "src must be a Uint8Array"), env.Undefined();
  if (draws.TypedArrayType() != napi_float64_array) return Fail(env, "draws must be a Float64Array"), env.Undefined();
  const int side = info[2].As<Napi::Number>().Int32Value();
  const size_t area = size_t(side) * side;
  const size_t n = draws.ElementLength() / shardlab::kDrawValues;
  const double* w = draws.As<Napi::Float64Array>().Data();
  const size_t bankSize = info[1].IsTypedArray() ? info[1].As<Napi::TypedArray>().ElementLength() : 0;
  // Every index the kernel will follow is checked here: a bad draw is a TypeError, never a read out of bounds.
  for (size_t r = 0; r < n; r++) {
    const double* d = w + r * shardlab::kDrawValues;
    const bool ok = d[0] >= 0 && size_t(d[0]) + area <= src.ElementLength() && d[7] >= 0 && (size_t(d[7]) + 1) * area <= bankSize && d[9] >= 0 && (size_t(d[9]) + 1) * area <= bankSize;
    if (!ok || side < 1) return Fail(env, "deformImages: a draw points outside src or the bank"), env.Undefined();
  }
  float *bank, *out;
  if (!F32(info, 1, bankSize, &bank, "bank") || !F32(info, 4, n * area, &out, "out")) return env.Undefined();
  const bool simd = info.Length() < 6 || !info[5].IsBoolean() || info[5].As<Napi::Boolean>().Value();
  shardlab::DeformImages(src.As<Napi::Uint8Array>().Data(), bank, side, w, n, out, simd);
  return env.Undefined();
}

// readRows(fd, positions, rowBytes, out): row i of out (rowBytes bytes) is read from the file at positions[i],
// with pread, one system call a row and no trip back to JS between rows (libs/data row-file.ts: a batch of 128
// rows read by sample id). Returns the rows read whole: fewer than asked when the file ended first.
Napi::Value ReadRows(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber() || !info[3].IsTypedArray()) return Fail(env, "readRows(fd, positions, rowBytes, out)"), env.Undefined();
  auto positions = info[1].As<Napi::TypedArray>();
  auto out = info[3].As<Napi::TypedArray>();
  if (positions.TypedArrayType() != napi_float64_array) return Fail(env, "positions must be a Float64Array"), env.Undefined();
  if (out.TypedArrayType() != napi_uint8_array) return Fail(env, "out must be a Uint8Array"), env.Undefined();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int64_t rowBytes = info[2].As<Napi::Number>().Int64Value();
  const size_t n = positions.ElementLength();
  if (rowBytes < 1 || out.ElementLength() < n * size_t(rowBytes)) return Fail(env, "readRows: out holds fewer than positions.length rows"), env.Undefined();
  const double* at = positions.As<Napi::Float64Array>().Data();
  uint8_t* dst = out.As<Napi::Uint8Array>().Data();
  for (size_t i = 0; i < n; i++) {
    if (!(at[i] >= 0) || at[i] > 9007199254740991.0) return Fail(env, "readRows: a position is not a byte offset"), env.Undefined();
    int64_t done = 0;
    while (done < rowBytes) {
      const ssize_t r = pread(fd, dst + i * rowBytes + done, size_t(rowBytes - done), off_t(int64_t(at[i]) + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        Napi::Error::New(env, std::string("readRows: ") + std::strerror(errno)).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (r == 0) return Napi::Number::New(env, double(i));
      done += r;
    }
  }
  return Napi::Number::New(env, double(n));
}

// lookupBytes(src, table, out): out[i] = table[src[i]] over out's length (uint8 features scaled by a 256-entry
// table of float32: the very values the JS loop gives).
Napi::Value LookupBytes(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[2].IsTypedArray()) return Fail(env, "lookupBytes(src, table, out)"), env.Undefined();
  auto src = info[0].As<Napi::TypedArray>();
  if (src.TypedArrayType() != napi_uint8_array) return Fail(env, "src must be a Uint8Array"), env.Undefined();
  const size_t n = info[2].As<Napi::TypedArray>().ElementLength();
  if (src.ElementLength() < n) return Fail(env, "lookupBytes: src is shorter than out"), env.Undefined();
  float *table, *out;
  if (!F32(info, 1, 256, &table, "table") || !F32(info, 2, n, &out, "out")) return env.Undefined();
  const uint8_t* s = src.As<Napi::Uint8Array>().Data();
  for (size_t i = 0; i < n; i++) out[i] = table[s[i]];
  return env.Undefined();
}

// step(x, out, alpha): out[i] = 1 where x[i] > 0, alpha elsewhere, NaN where x[i] is NaN.
Napi::Value Step(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 3 || !info[1].IsTypedArray() || !info[2].IsNumber()) return Fail(env, "step(x, out, alpha)"), env.Undefined();
  size_t n = info[1].As<Napi::TypedArray>().ElementLength();
  float *x, *out;
  if (!F32(info, 0, n, &x, "x") || !F32(info, 1, n, &out, "out")) return env.Undefined();
  const float alpha = float(info[2].As<Napi::Number>().DoubleValue());
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    out[i] = v > 0.0f ? 1.0f : (v != v ? v : alpha);
  }
  return env.Undefined();
}

// sumRows(x, rows, cols, out): out[c] = sum over r of x[r * cols + c], accumulated in double in row order.
// sumWithinRows(x, rows, cols, out): out[r] = sum over c of x[r * cols + c], accumulated in double.
Napi::Value SumRows(const Napi::CallbackInfo& info, bool within) {
  auto env = info.Env();
  long v[2];
  if (info.Length() < 4 || !Ints(info, 1, 2, v)) return Fail(env, "sum(x, rows, cols, out)"), env.Undefined();
  const long rows = v[0], cols = v[1];
  float *x, *out;
  if (!F32(info, 0, size_t(rows * cols), &x, "x") || !F32(info, 3, size_t(within ? rows : cols), &out, "out")) return env.Undefined();
  if (within) {
    for (long r = 0; r < rows; r++) {
      double t = 0;
      for (const float *p = x + r * cols, *end = p + cols; p < end; p++) t += *p;
      out[r] = float(t);
    }
  } else {
    std::vector<double> acc(size_t(cols), 0.0);
    for (long r = 0; r < rows; r++) {
      const float* row = x + r * cols;
      for (long c = 0; c < cols; c++) acc[size_t(c)] += row[c];
    }
    for (long c = 0; c < cols; c++) out[c] = float(acc[size_t(c)]);
  }
  return env.Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  long n;
  if (!Ints(info, 0, 1, &n)) return info.Env().Undefined();
  if (n < 1) {
    Fail(info.Env(), "threads must be >= 1");
    return info.Env().Undefined();
  }
  openblas_set_num_threads(int(n));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), openblas_get_num_threads()); }

Napi::Value Config(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), openblas_get_config()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // One BLAS thread per process unless told otherwise: shardlab's parallelism comes from trainer processes.
  openblas_set_num_threads(1);
#ifdef M_MMAP_THRESHOLD
  // A training step allocates the same large arrays every step (activations, gradients: 0.1-5 MB). glibc serves
  // those above 128 KiB with fresh mmaps and returns them on free, so every step faults the pages in again
  // (measured: 40-100 us for one 440 KB array). Served from the heap and kept there, they are reused instead,
  // as PyTorch's caching allocator does. This only changes where malloc takes memory from, never what a
  // computation returns.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("mul", Napi::Function::New(env, Mul));
  exports.Set("step", Napi::Function::New(env, Step));
  exports.Set("readRows", Napi::Function::New(env, ReadRows));
  exports.Set("lookupBytes", Napi::Function::New(env, LookupBytes));
  exports.Set("deformImages", Napi::Function::New(env, DeformImages));
  exports.Set("sumRows", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return SumRows(info, false); }));
  exports.Set("sumWithinRows", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return SumRows(info, true); }));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("config", Napi::Function::New(env, Config));
  return exports;
}

}  // namespace

NODE_API_MODULE(shardlab_native, Init)
