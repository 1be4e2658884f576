#include "direct_conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace shardlab {
namespace {

// Eight floats: one AVX register, or two SSE registers where the function was compiled without AVX.
typedef float v8 __attribute__((vector_size(32)));
constexpr long kLanes = 8;

// The loops are written for 16 AVX registers (x86-64-v3: AVX2 + FMA), and everything up to DirectConvSupported() is
// compiled for that target whatever the build machine's default; DirectConvSupported() says whether the CPU running
// them has it, and the caller uses im2col + sgemm where not. (Compiled for baseline SSE the same loops spill their
// accumulators and run 10x slower than im2col + sgemm, so there is no baseline build of them.)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11  // GCC 11 named x86-64-v3
#define SHARDLAB_DIRECT 1
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#else
#define SHARDLAB_DIRECT 0
#endif
#define SHARDLAB_INLINE __attribute__((always_inline)) inline

SHARDLAB_INLINE v8 Load(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

SHARDLAB_INLINE void Store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

SHARDLAB_INLINE v8 Splat(float s) { return v8{s, s, s, s, s, s, s, s}; }

// Stores the first n (1..8) lanes.
SHARDLAB_INLINE void StoreFirst(float* p, v8 v, long n) {
  if (n >= kLanes) return Store(p, v);
  float t[kLanes];
  Store(t, v);
  std::memcpy(p, t, sizeof(float) * size_t(n));
}

// The filter taps t = (i, j, ch) in HWIO order, as offsets from a window's first input value in xp.
void TapOffsets(const DirectGeometry& g, std::vector<long>& off) {
  off.clear();
  for (long i = 0; i < g.kh; i++)
    for (long j = 0; j < g.kw; j++)
      for (long ch = 0; ch < g.c; ch++) off.push_back((i * g.dh * g.wp + j * g.dw) * g.c + ch);
}

// For every output pixel (b, y, x), in order, the index in xp of its window's first input value.
void WindowOrigins(const DirectGeometry& g, std::vector<long>& origins) {
  origins.clear();
  for (long b = 0; b < g.n; b++)
    for (long y = 0; y < g.oh; y++)
      for (long x = 0; x < g.ow; x++) origins.push_back(((b * g.hp + y * g.sh) * g.wp + x * g.sw) * g.c);
}

// Output pixels p0 .. p0+P-1 (in (b, y, x) order, so a block may span rows), all f channels held in P x V
// registers; w8 is the filter with each row padded to V * 8 channels (zeros), bias8 likewise. Each tap's V weight
// vectors are loaded once for the P pixels.
template <int V, int P>
SHARDLAB_INLINE void ForwardPixels(const float* xp, const float* w8, const float* bias8, bool relu, const long* off, long taps,
                                   const long* origins, long p0, long f, float* out) {
  v8 acc[P][V];
  for (int v = 0; v < V; v++)
    for (int p = 0; p < P; p++) acc[p][v] = Load(bias8 + v * kLanes);
  const float* in[P];
  for (int p = 0; p < P; p++) in[p] = xp + origins[p0 + p];
  for (long t = 0; t < taps; t++) {
    v8 wv[V];
    for (int v = 0; v < V; v++) wv[v] = Load(w8 + (t * V + v) * kLanes);
    const long o = off[t];
    for (int p = 0; p < P; p++) {
      const v8 s = Splat(in[p][o]);
      for (int v = 0; v < V; v++) acc[p][v] += s * wv[v];
    }
  }
  for (int p = 0; p < P; p++)
    for (int v = 0; v < V; v++) {
      v8 r = acc[p][v];
      if (relu) r = r > v8{} ? r : v8{};
      StoreFirst(out + (p0 + p) * f + v * kLanes, r, f - v * kLanes);
    }
}

// P pixels per block, so that P x V accumulators and V weight vectors fit the 16 AVX registers; blocks run over the
// whole output, so only its last pixels (fewer than P) go one by one, where a single accumulator chain waits on
// the latency of each FMA.
template <int V, int P>
SHARDLAB_INLINE void Forward(const float* xp, const float* w8, const float* bias8, bool relu, const long* off, const long* origins, const DirectGeometry& g,
                             float* out) {
  const long taps = g.kh * g.kw * g.c, pixels = g.n * g.oh * g.ow;
  long p = 0;
  for (; p + P <= pixels; p += P) ForwardPixels<V, P>(xp, w8, bias8, relu, off, taps, origins, p, g.f, out);
  for (; p < pixels; p++) ForwardPixels<V, 1>(xp, w8, bias8, relu, off, taps, origins, p, g.f, out);
}

void ForwardDispatch(const float* xp, const float* w8, const float* bias8, bool relu, const long* off, const long* origins, const DirectGeometry& g, float* out) {
  switch ((g.f + kLanes - 1) / kLanes) {
    case 1: return Forward<1, 8>(xp, w8, bias8, relu, off, origins, g, out);
    case 2: return Forward<2, 4>(xp, w8, bias8, relu, off, origins, g, out);
    case 3: return Forward<3, 3>(xp, w8, bias8, relu, off, origins, g, out);
    default: return Forward<4, 2>(xp, w8, bias8, relu, off, origins, g, out);
  }
}

// Q filter taps t0 .. t0+Q-1, all f channels, summed over the output pixels [p0, p1) (one image) into Q x V
// registers, then added to dacc (double, [Q][V * 8]). dy8 holds V * 8 values per pixel.
template <int V, int Q>
SHARDLAB_INLINE void FilterGradTaps(const float* xp, const float* dy8, const long* off, const long* origins, long p0, long p1, long t0, double* dacc) {
  v8 acc[Q][V];
  for (int q = 0; q < Q; q++)
    for (int v = 0; v < V; v++) acc[q][v] = v8{};
  long o[Q];
  for (int q = 0; q < Q; q++) o[q] = off[t0 + q];
  const long stride = V * kLanes;
  const float* d = dy8 + p0 * stride;
  for (long p = p0; p < p1; p++, d += stride) {
    v8 dv[V];
    for (int v = 0; v < V; v++) dv[v] = Load(d + v * kLanes);
    const float* in = xp + origins[p];
    for (int q = 0; q < Q; q++) {
      const v8 s = Splat(in[o[q]]);
      for (int v = 0; v < V; v++) acc[q][v] += s * dv[v];
    }
  }
  for (int q = 0; q < Q; q++)
    for (int v = 0; v < V; v++) {
      float t[kLanes];
      Store(t, acc[q][v]);
      double* a = dacc + (t0 + q) * stride + v * kLanes;
      for (long l = 0; l < kLanes; l++) a[l] += t[l];
    }
}

template <int V, int Q>
SHARDLAB_INLINE void FilterGrad(const float* xp, const float* dy8, const long* off, const long* origins, const DirectGeometry& g, double* dacc) {
  const long taps = g.kh * g.kw * g.c, perImage = g.oh * g.ow;
  // Image by image: one image's input and dy (10-50 KB for the CNN) stay in L1 across all the taps' passes.
  for (long b = 0; b < g.n; b++) {
    const long p0 = b * perImage, p1 = p0 + perImage;
    long t = 0;
    for (; t + Q <= taps; t += Q) FilterGradTaps<V, Q>(xp, dy8, off, origins, p0, p1, t, dacc);
    for (; t < taps; t++) FilterGradTaps<V, 1>(xp, dy8, off, origins, p0, p1, t, dacc);
  }
}

void FilterGradDispatch(const float* xp, const float* dy8, const long* off, const long* origins, const DirectGeometry& g, double* dacc) {
  switch ((g.f + kLanes - 1) / kLanes) {
    case 1: return FilterGrad<1, 8>(xp, dy8, off, origins, g, dacc);
    case 2: return FilterGrad<2, 4>(xp, dy8, off, origins, g, dacc);
    case 3: return FilterGrad<3, 3>(xp, dy8, off, origins, g, dacc);
    default: return FilterGrad<4, 2>(xp, dy8, off, origins, g, dacc);
  }
}

// Reused across calls (Node calls the addon from one thread).
std::vector<float> paddedFilter, paddedBias, paddedDy;
std::vector<double> doubleSums;
std::vector<long> tapOffsets, windowOrigins;

// `rows` rows of `f` values, each padded with zeros to `width` (a multiple of 8).
const float* PadRows(const float* src, long rows, long f, long width, std::vector<float>& buffer) {
  buffer.assign(size_t(rows * width), 0.0f);
  for (long r = 0; r < rows; r++) std::memcpy(buffer.data() + r * width, src + r * f, sizeof(float) * size_t(f));
  return buffer.data();
}

}  // namespace

void DirectConv(const float* xp, const float* w, const float* bias, bool relu, const DirectGeometry& g, float* out) {
  if (g.n == 0 || g.oh == 0 || g.ow == 0 || g.f == 0) return;
  const long width = (g.f + kLanes - 1) / kLanes * kLanes;
  const float* w8 = PadRows(w, g.kh * g.kw * g.c, g.f, width, paddedFilter);
  paddedBias.assign(size_t(width), 0.0f);
  if (bias) std::memcpy(paddedBias.data(), bias, sizeof(float) * size_t(g.f));
  TapOffsets(g, tapOffsets);
  WindowOrigins(g, windowOrigins);
  ForwardDispatch(xp, w8, paddedBias.data(), relu, tapOffsets.data(), windowOrigins.data(), g, out);
}

void DirectFilterGrad(const float* xp, const float* dy, const DirectGeometry& g, float* dw) {
  const long taps = g.kh * g.kw * g.c;
  if (g.f == 0) return;
  const long width = (g.f + kLanes - 1) / kLanes * kLanes;
  const float* dy8 = width == g.f ? dy : PadRows(dy, g.n * g.oh * g.ow, g.f, width, paddedDy);
  doubleSums.assign(size_t(taps * width), 0.0);
  TapOffsets(g, tapOffsets);
  WindowOrigins(g, windowOrigins);
  FilterGradDispatch(xp, dy8, tapOffsets.data(), windowOrigins.data(), g, doubleSums.data());
  for (long t = 0; t < taps; t++)
    for (long o = 0; o < g.f; o++) dw[t * g.f + o] = float(doubleSums[size_t(t * width + o)]);
}

}  // namespace shardlab

#if SHARDLAB_DIRECT
#pragma GCC pop_options
#endif

namespace shardlab {

bool DirectConvSupported() {
#if SHARDLAB_DIRECT
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3");
#else
  return false;
#endif
}

}  // namespace shardlab
