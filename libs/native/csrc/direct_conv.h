// Direct convolution for thin layers: the CNN's 1->8 and 8->16 channel 5x5 layers, where the im2col matrix is as
// wide as the filter (25 or 200 columns) but the product is only 8 or 16 columns wide. sgemm then spends most of
// its time on packing and the 2.5-5 MB matrix itself, and a direct loop that keeps a few output pixels' channels
// in vector registers does the same arithmetic without the matrix (measured in docs/benchmark.md).
#pragma once

namespace shardlab {

// Whether this CPU runs the direct loops (x86-64 with AVX2 and FMA); where not, the caller uses im2col + sgemm.
bool DirectConvSupported();

// Up to this many output channels a convolution (and its filter gradient) runs directly; wider ones are products
// wide enough for sgemm to be efficient on the im2col matrix.
constexpr long kMaxDirectChannels = 32;

// A convolution over an input that is already padded: xp[n, hp, wp, c] holds zeros where the padding is, so
//   out[b, y, x, o] = sum over (i, j, ch) of xp[b, y * sh + i * dh, x * sw + j * dw, ch] * w[i, j, ch, o].
struct DirectGeometry {
  long n, hp, wp, c;  // padded input
  long kh, kw, f;     // filter [kh, kw, c, f], f <= kMaxDirectChannels
  long sh, sw, dh, dw;
  long oh, ow;  // output
};

// out[n, oh, ow, f] = conv(xp, w), + bias[f] when bias is not null, then max(0, .) when relu (NaN -> 0).
void DirectConv(const float* xp, const float* w, const float* bias, bool relu, const DirectGeometry& g, float* out);

// dw[kh, kw, c, f] = the sum over output pixels (b, y, x) of each filter tap's input value times dy[b, y, x, f].
// Sums run in float over one image and in double across images.
void DirectFilterGrad(const float* xp, const float* dy, const DirectGeometry& g, float* dw);

}  // namespace shardlab
