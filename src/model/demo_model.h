// The built-in demo model: a 12.6M-parameter Llama trained on the King James Bible
// (training/demo/, docs/demo-model.md), shipped in models/ so that a first `wgllm run` needs no
// download. Commands use it when no -m is given.
#pragma once
#include <string>

namespace wgllm {

inline constexpr const char* kDemoModelFile = "demo-kjv-12m-f16.gguf";

// The demo model's path: $WGLLM_DEMO_MODEL if set, else models/<kDemoModelFile> beside the
// executable's folder (build/wgllm -> models/, an install's bin/ -> share/wgllm/models/), else the
// source tree's models/ folder. Raises an Error naming every place looked in when none exists.
std::string demo_model_path();

// `model` if given, else the demo model (saying so on stderr).
std::string model_or_demo(const std::string& model);

}  // namespace wgllm
