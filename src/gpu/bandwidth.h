// Measured memory bandwidth of the adapter: the denominator of the benchmark's roofline share.
#pragma once
#include <cstdint>

#include "gpu/context.h"

namespace wgllm::gpu {

struct BandwidthResult {
  uint64_t buffer_bytes = 0;  // size of the buffer streamed
  double copy_gbs = 0;        // buffer-to-buffer copy: (bytes read + bytes written) / time
  double read_gbs = 0;        // a plain read kernel: bytes read / time
  // Dispatches as a decode step issues them: many in one pass, each depending on the last.
  double dispatch_us = 0;       // one tiny dispatch (one workgroup) after another: the fixed cost each
  uint64_t chunk_bytes = 0;     // the read kernel over consecutive chunks of this size, one dispatch each
  double chunk_read_gbs = 0;    // ... bytes read / time: what ramp-up and drain leave of read_gbs
  double best_gbs() const { return copy_gbs > read_gbs ? copy_gbs : read_gbs; }
};

// Streams a buffer (default: 512 MiB on a GPU, 32 MiB on a CPU adapter) several times after a
// warm-up and reports the median of the repetitions; then times chains of dependent dispatches.
BandwidthResult measure_bandwidth(Context& ctx, uint64_t bytes = 0, int repetitions = 5);

}  // namespace wgllm::gpu
