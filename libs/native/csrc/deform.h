// Deformed images (libs/data deformed.ts): the per-pixel loop of deformImage, for a batch, in C++.
#pragma once
#include <cstddef>
#include <cstdint>

namespace shardlab {

// Values per image in `draws`: from (byte offset of the base image in src), a, b, c, d, tx, ty, ju, cu, jv, cv.
constexpr int kDrawValues = 11;

// For each of n images: out[r * side^2 ..] = the base image at src[from ..] (side x side bytes) sampled bilinearly
// at A (p - centre) + centre + t + (cu F[ju](p), cv F[jv](p)), times 1/255; F[j] = bank[j * side^2 ..]. The same
// double arithmetic, in the same order, as deformImage in deformed.ts, so the same bytes.
// simd: four pixels at a time with AVX2 where the CPU has it (the same bytes; false forces the scalar loop).
void DeformImages(const uint8_t* src, const float* bank, int side, const double* draws, size_t n, float* out, bool simd = true);

// Whether this CPU takes DeformImages' AVX2 path.
bool DeformHasSimd();

}  // namespace shardlab
