#include "util/fp16.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/rng.h"

namespace wgllm {

TEST(Fp16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << "half bits " << h;
  }
}

TEST(Fp16, RoundsToNearestHalf) {
  Rng rng(7);
  for (int i = 0; i < 100000; ++i) {
    const float x = rng.normal() * 100.0f;
    const float y = f16_to_f32(f32_to_f16(x));
    // The neighbours of y are at least as far from x as y is.
    const uint16_t hy = f32_to_f16(x);
    const float up = f16_to_f32(uint16_t(hy + 1)), down = f16_to_f32(uint16_t(hy - 1));
    ASSERT_LE(std::fabs(y - x), std::fabs(up - x)) << x;
    ASSERT_LE(std::fabs(y - x), std::fabs(down - x)) << x;
  }
}

TEST(Bf16, RoundTripAndRounding) {
  Rng rng(9);
  for (int i = 0; i < 100000; ++i) {
    const float x = rng.normal();
    const float y = bf16_to_f32(f32_to_bf16(x));
    ASSERT_LE(std::fabs(y - x), std::fabs(x) * (1.0f / 256.0f)) << x;
    ASSERT_EQ(f32_to_bf16(y), f32_to_bf16(x));
  }
}

}  // namespace wgllm
