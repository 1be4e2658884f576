// See deform.h. Bit-identical to deformImage in libs/data/src/deformed.ts: every operation is an IEEE double
// operation in the TypeScript's order, with no reassociation and no contraction into fused multiply-adds (which
// would round once instead of twice: binding.gyp builds with -ffp-contract=off, and the AVX2 path below spells out
// its multiplies and adds); float32 only where the TypeScript reads or writes a Float32Array. A SIMD lane is an
// IEEE double like any other, so four pixels at a time give the same bytes as one at a time.
#include "deform.h"

#include <immintrin.h>

#include <vector>

namespace shardlab {

namespace {

constexpr int kPad = 2;  // deformed.ts's PAD

// One image's geometry and draws, as both paths read them.
struct Image {
  const double* w;  // its kDrawValues draws
  const float* fu;  // the elastic fields it picks
  const float* fv;
};

// The affine part of the source point along row y, in padded coordinates: x = 0's value, then + (a, c) per pixel,
// accumulated one pixel after another exactly as the TypeScript does.
inline void RowStart(const double* w, int y, double centre, double* ax, double* ay) {
  const double oy = double(y) - centre;
  *ax = w[1] * -centre + w[2] * oy + centre + w[5] + kPad;
  *ay = w[3] * -centre + w[4] * oy + centre + w[6] + kPad;
}

// One output pixel from its affine source point (ax, ay) and field values; `padded` holds the image in a zero
// border, as bytes or as doubles (the same values).
template <typename Pixel>
inline float Sample(const Pixel* padded, int P, double hi, double ax, double ay, double cu, float fu, double cv, float fv) {
  double sx = ax + cu * double(fu);
  double sy = ay + cv * double(fv);
  sx = sx < 0 ? 0 : sx > hi ? hi : sx;
  sy = sy < 0 ? 0 : sy > hi ? hi : sy;
  const int x0 = int(sx);
  const int y0 = int(sy);
  const double fx = sx - x0;
  const double fy = sy - y0;
  const size_t i = size_t(y0) * P + x0;
  const double p00 = double(padded[i]);
  const double p10 = double(padded[i + P]);
  const double top = p00 + fx * (double(padded[i + 1]) - p00);
  const double bottom = p10 + fx * (double(padded[i + P + 1]) - p10);
  return float((top + fy * (bottom - top)) * (1.0 / 255));
}

void DeformScalar(const uint8_t* src, const float* bank, int side, const double* draws, size_t n, float* out) {
  const int P = side + 2 * kPad;
  const size_t area = size_t(side) * side;
  std::vector<uint8_t> scratch(size_t(P) * P, 0);
  // restrict: the byte buffer would otherwise alias every store to out, and be reloaded after each.
  uint8_t* __restrict padded = scratch.data();
  const double centre = double(side - 1) / 2;
  const double hi = double(side + kPad);
  for (size_t r = 0; r < n; r++) {
    const double* w = draws + r * kDrawValues;
    const uint8_t* image = src + size_t(w[0]);
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) padded[size_t(y + kPad) * P + kPad + x] = image[size_t(y) * side + x];
    const float* __restrict fu = bank + size_t(w[7]) * area;
    const float* __restrict fv = bank + size_t(w[9]) * area;
    float* __restrict o = out + r * area;
    size_t p = 0;
    for (int y = 0; y < side; y++) {
      double ax, ay;
      RowStart(w, y, centre, &ax, &ay);
      for (int x = 0; x < side; x++, p++, ax += w[1], ay += w[3]) o[p] = Sample(padded, P, hi, ax, ay, w[8], fu[p], w[10], fv[p]);
    }
  }
}

// Four pixels per iteration: the source points, clamps and weights in __m256d, the four neighbours read from the
// padded image held as doubles (AVX2 has no byte loads per lane; two 128-bit loads a lane beat four gathers, ~1.3x).
__attribute__((target("avx2"))) void DeformAvx2(const uint8_t* src, const float* bank, int side, const double* draws, size_t n, float* out) {
  const int P = side + 2 * kPad;
  const size_t area = size_t(side) * side;
  std::vector<double> scratch(size_t(P) * P, 0.0);  // the farthest gather, i + P + 1 at a point clamped to hi, is its last
  double* __restrict padded = scratch.data();
  std::vector<double> rowAx(side), rowAy(side);
  const double centre = double(side - 1) / 2;
  const double hi = double(side + kPad);
  const __m256d zero = _mm256_setzero_pd(), vhi = _mm256_set1_pd(hi), inv255 = _mm256_set1_pd(1.0 / 255);
  const __m128i vP = _mm_set1_epi32(P);
  for (size_t r = 0; r < n; r++) {
    const double* w = draws + r * kDrawValues;
    const uint8_t* image = src + size_t(w[0]);
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) padded[size_t(y + kPad) * P + kPad + x] = double(image[size_t(y) * side + x]);
    const float* __restrict fu = bank + size_t(w[7]) * area;
    const float* __restrict fv = bank + size_t(w[9]) * area;
    float* __restrict o = out + r * area;
    const __m256d cu = _mm256_set1_pd(w[8]), cv = _mm256_set1_pd(w[10]);
    size_t p = 0;
    for (int y = 0; y < side; y++) {
      double ax, ay;
      RowStart(w, y, centre, &ax, &ay);
      for (int x = 0; x < side; x++, ax += w[1], ay += w[3]) rowAx[x] = ax, rowAy[x] = ay;
      int x = 0;
      for (; x + 4 <= side; x += 4, p += 4) {
        __m256d sx = _mm256_add_pd(_mm256_loadu_pd(&rowAx[x]), _mm256_mul_pd(cu, _mm256_cvtps_pd(_mm_loadu_ps(fu + p))));
        __m256d sy = _mm256_add_pd(_mm256_loadu_pd(&rowAy[x]), _mm256_mul_pd(cv, _mm256_cvtps_pd(_mm_loadu_ps(fv + p))));
        // sx < 0 ? 0 : sx > hi ? hi : sx, as blends of the same comparisons.
        sx = _mm256_blendv_pd(_mm256_blendv_pd(sx, vhi, _mm256_cmp_pd(sx, vhi, _CMP_GT_OQ)), zero, _mm256_cmp_pd(sx, zero, _CMP_LT_OQ));
        sy = _mm256_blendv_pd(_mm256_blendv_pd(sy, vhi, _mm256_cmp_pd(sy, vhi, _CMP_GT_OQ)), zero, _mm256_cmp_pd(sy, zero, _CMP_LT_OQ));
        const __m128i x0 = _mm256_cvttpd_epi32(sx);
        const __m128i y0 = _mm256_cvttpd_epi32(sy);
        const __m256d fx = _mm256_sub_pd(sx, _mm256_cvtepi32_pd(x0));
        const __m256d fy = _mm256_sub_pd(sy, _mm256_cvtepi32_pd(y0));
        const __m128i i = _mm_add_epi32(_mm_mullo_epi32(y0, vP), x0);
        // The four neighbours of a lane are two pairs of adjacent doubles: two 128-bit loads a lane, transposed.
        alignas(16) int at[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(at), i);
        const __m256d upper02 = _mm256_set_m128d(_mm_loadu_pd(padded + at[2]), _mm_loadu_pd(padded + at[0]));
        const __m256d upper13 = _mm256_set_m128d(_mm_loadu_pd(padded + at[3]), _mm_loadu_pd(padded + at[1]));
        const __m256d lower02 = _mm256_set_m128d(_mm_loadu_pd(padded + at[2] + P), _mm_loadu_pd(padded + at[0] + P));
        const __m256d lower13 = _mm256_set_m128d(_mm_loadu_pd(padded + at[3] + P), _mm_loadu_pd(padded + at[1] + P));
        const __m256d p00 = _mm256_unpacklo_pd(upper02, upper13);
        const __m256d p01 = _mm256_unpackhi_pd(upper02, upper13);
        const __m256d p10 = _mm256_unpacklo_pd(lower02, lower13);
        const __m256d p11 = _mm256_unpackhi_pd(lower02, lower13);
        const __m256d top = _mm256_add_pd(p00, _mm256_mul_pd(fx, _mm256_sub_pd(p01, p00)));
        const __m256d bottom = _mm256_add_pd(p10, _mm256_mul_pd(fx, _mm256_sub_pd(p11, p10)));
        const __m256d v = _mm256_mul_pd(_mm256_add_pd(top, _mm256_mul_pd(fy, _mm256_sub_pd(bottom, top))), inv255);
        _mm_storeu_ps(o + p, _mm256_cvtpd_ps(v));
      }
      for (; x < side; x++, p++) o[p] = Sample(padded, P, hi, rowAx[x], rowAy[x], w[8], fu[p], w[10], fv[p]);
    }
  }
}

}  // namespace

bool DeformHasSimd() { return __builtin_cpu_supports("avx2"); }

void DeformImages(const uint8_t* src, const float* bank, int side, const double* draws, size_t n, float* out, bool simd) {
  if (simd && DeformHasSimd())
    DeformAvx2(src, bank, side, draws, n, out);
  else
    DeformScalar(src, bank, side, draws, n, out);
}

}  // namespace shardlab
