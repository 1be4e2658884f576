// See deform.h. Bit-identical to deformImage in libs/data/src/deformed.ts: every operation is an IEEE double
// operation in the TypeScript's order, with no reassociation and no contraction into fused multiply-adds (which
// would round once instead of twice: binding.gyp builds with -ffp-contract=off); float32 only where the
// TypeScript reads or writes a Float32Array.
#include "deform.h"

#include <vector>

namespace shardlab {

namespace {
constexpr int kPad = 2;  // deformed.ts's PAD
}

void DeformImages(const uint8_t* src, const float* bank, int side, const double* draws, size_t n, float* out) {
  const int P = side + 2 * kPad;
  const size_t area = size_t(side) * side;
  std::vector<uint8_t> scratch(size_t(P) * P, 0);
  // restrict: the byte buffer would otherwise alias every store to out, and be reloaded after each.
  uint8_t* __restrict padded = scratch.data();
  const double centre = double(side - 1) / 2;
  const double hi = double(side + kPad);
  const double inv255 = 1.0 / 255;
  for (size_t r = 0; r < n; r++) {
    const double* w = draws + r * kDrawValues;
    const uint8_t* image = src + size_t(w[0]);
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) padded[size_t(y + kPad) * P + kPad + x] = image[size_t(y) * side + x];
    const double a = w[1], b = w[2], c = w[3], d = w[4], tx = w[5], ty = w[6];
    const float* __restrict fu = bank + size_t(w[7]) * area;
    const double cu = w[8];
    const float* __restrict fv = bank + size_t(w[9]) * area;
    const double cv = w[10];
    float* __restrict o = out + r * area;
    size_t p = 0;
    for (int y = 0; y < side; y++) {
      const double oy = double(y) - centre;
      double ax = a * -centre + b * oy + centre + tx + kPad;
      double ay = c * -centre + d * oy + centre + ty + kPad;
      for (int x = 0; x < side; x++, p++, ax += a, ay += c) {
        double sx = ax + cu * double(fu[p]);
        double sy = ay + cv * double(fv[p]);
        sx = sx < 0 ? 0 : sx > hi ? hi : sx;
        sy = sy < 0 ? 0 : sy > hi ? hi : sy;
        const int x0 = int(sx);
        const int y0 = int(sy);
        const double fx = sx - x0;
        const double fy = sy - y0;
        const size_t i = size_t(y0) * P + x0;
        const double p00 = padded[i];
        const double p10 = padded[i + P];
        const double top = p00 + fx * (double(padded[i + 1]) - p00);
        const double bottom = p10 + fx * (double(padded[i + P + 1]) - p10);
        o[p] = float((top + fy * (bottom - top)) * inv255);
      }
    }
  }
}

}  // namespace shardlab
