// Small helpers shared by the op launchers of this folder (norm, rope, attention, elementwise,
// sampling): variant defines for the WGSL templates and the size checks every constructor does.
#pragma once
#include <map>
#include <string>

#include "kernels/kernel_context.h"
#include "util/error.h"

namespace wgllm::kernels {

// Defines every templated kernel of these families takes:
//   ENABLE   the `enable` directives of the chosen variant (only those: a module that names an
//            extension the device lacks does not compile);
//   SG/NOSG  line prefixes: "" keeps a line, "//" comments it out, so a .wgsl file holds both
//            the subgroup and the workgroup-memory variant of a reduction;
//   SG_ARGS  the subgroup builtins appended to an entry point's parameters (lane, sgs).
inline std::map<std::string, std::string> variant_defines(const KernelContext& kc, bool f16) {
  const bool sg = kc.use_subgroups;
  std::string enable = sg ? "enable subgroups;" : "";
  if (f16) enable += " enable f16;";
  return {{"ENABLE", enable},
          {"SG", sg ? "" : "//"},
          {"NOSG", sg ? "//" : ""},
          {"SG_ARGS", sg ? ", @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32" : ""}};
}

inline void require_bytes(const char* op, const gpu::Buffer& b, uint64_t bytes) {
  if (b.size() < bytes) fail(op, ": buffer '", b.label(), "' holds ", b.size(), " bytes, needs ", bytes);
}

inline void require_tokens(const char* op, const StepShape& shape, uint32_t max_tokens) {
  if (shape.n_tokens == 0 || shape.n_tokens > max_tokens)
    fail(op, ": step of ", shape.n_tokens, " tokens, the op was built for 1..", max_tokens);
}

}  // namespace wgllm::kernels
