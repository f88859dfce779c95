// `wgllm run -m MODEL -p PROMPT [-n N] [sampling options] [--backend webgpu|cpu]`: generates text.
// Only the generated text goes to stdout (streamed as whole UTF-8 characters); stats go to stderr.
#include <atomic>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/option_checks.h"
#include "cli/gpu_options.h"
#include "cli/sampling_options.h"
#include "format/gguf.h"
#include "model/demo_model.h"
#include "reference/backend.h"
#include "reference/generator.h"
#include "runtime/webgpu_backend.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

std::atomic<bool> g_interrupted{false};

struct RunArgs {
  std::string model, prompt, backend = "webgpu";
  int n_predict = 128;
  int context = 0;  // 0: prompt + n_predict
  gpu::ContextOptions gpu;
  bool chat = false;
  SamplerParams sampling;
};

void run(const RunArgs& a) {
  Tokenizer tokenizer(tokenizer_data_from_gguf(*GgufFile::open(a.model)));
  std::string text = a.prompt;
  if (a.chat) {
    const std::string eos = tokenizer.eos() >= 0 ? tokenizer.token_bytes(tokenizer.eos()) : "</s>";
    text = apply_chat_template(tokenizer.data().chat_template, {{"user", a.prompt}}, true, eos);
  }
  const std::vector<int32_t> ids32 = tokenizer.encode(text, true);
  const std::vector<int> prompt(ids32.begin(), ids32.end());
  if (prompt.empty()) fail("the prompt encodes to no tokens");

  BackendOptions options;
  options.max_context = a.context > 0 ? a.context : int(prompt.size()) + a.n_predict;
  runtime::register_webgpu_backend(a.gpu);
  std::unique_ptr<Backend> backend = open_backend(a.backend, a.model, options);
  if (int(prompt.size()) >= backend->max_context())
    fail("the prompt has ", prompt.size(), " tokens; the context holds ", backend->max_context());

  Sampler sampler(a.sampling);
  GenerateOptions gen;
  gen.max_tokens = a.n_predict;
  for (int id = 0; id < tokenizer.n_vocab(); id++)
    if (tokenizer.is_eog(id)) gen.stop_tokens.push_back(id);
  TokenStreamDecoder stream(tokenizer);
  // Ctrl-C stops generation after the current token; the text so far and the stats still print.
  g_interrupted = false;
  auto previous = std::signal(SIGINT, [](int) { g_interrupted = true; });
  const GenerationStats st = generate(*backend, sampler, prompt, gen, [&](int token) {
    const std::string piece = stream.push(token);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return !g_interrupted.load();
  });
  std::signal(SIGINT, previous);
  const std::string rest = stream.finish();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::printf("\n");
  std::fflush(stdout);
  const std::string stop = st.stopped_by_token     ? " (end of generation token)"
                           : g_interrupted          ? " (interrupted)"
                           : st.stopped_by_context ? cat(" (the context of ", backend->max_context(), " tokens is full; --ctx raises it)")
                                                    : "";
  std::fprintf(stderr, "\n[%s] prompt: %d tokens in %.3f s (%.1f tok/s) | generated: %d tokens, %.1f tok/s%s\n",
               backend->name().c_str(), st.prompt_tokens, st.prefill_seconds,
               st.prompt_tokens / std::max(st.prefill_seconds, 1e-9), st.generated_tokens,
               st.generated_tokens > 1 ? (st.generated_tokens - 1) / std::max(st.decode_seconds, 1e-9) : 0.0,
               stop.c_str());
  std::fprintf(stderr, "[%s] TTFT %.1f ms | prefill %.1f tok/s | decode %.1f tok/s", backend->name().c_str(),
               1e3 * st.prefill_seconds, st.prompt_tokens / std::max(st.prefill_seconds, 1e-9),
               st.generated_tokens > 1 ? (st.generated_tokens - 1) / std::max(st.decode_seconds, 1e-9) : 0.0);
  if (auto* gpu_backend = dynamic_cast<runtime::WebGpuBackend*>(backend.get()))
    std::fprintf(stderr, " | peak GPU memory %.1f MiB | load %.2f s | %s", double(gpu_backend->context().peak_bytes()) / (1 << 20),
                 gpu_backend->model().load_seconds(), gpu_backend->context().adapter().device.c_str());
  std::fprintf(stderr, "\n");
  if (auto* gpu_backend = dynamic_cast<runtime::WebGpuBackend*>(backend.get()); gpu_backend && std::getenv("WGLLM_TIMING"))
    std::fprintf(stderr, "[webgpu] %s\n", gpu_backend->model().decode_timing().c_str());
  if (auto* gpu_backend = dynamic_cast<runtime::WebGpuBackend*>(backend.get()); gpu_backend && gpu_backend->context().profiling())
    std::fprintf(stderr, "%s", gpu_backend->model().profile().table().c_str());
}

Command run_command("run", "Generate text from a prompt", [](CLI::App& sub) {
  auto a = std::make_shared<RunArgs>();
  sub.add_option("-m,--model", a->model, "GGUF model (default: the built-in demo model)");
  sub.add_option("-p,--prompt", a->prompt, "Prompt text")->required();
  sub.add_option("-n,--n-predict", a->n_predict, "Tokens to generate")->capture_default_str()->check(in_range(1));
  sub.add_flag("--chat", a->chat, "Wrap the prompt in the model's chat template as a user turn");
  add_sampling_options(sub, a->sampling);
  sub.add_option("--ctx", a->context, "KV cache size in tokens (default: prompt + n-predict)")->check(in_range(1));
  sub.add_option("--backend", a->backend, "Backend: webgpu or cpu (the reference)")->capture_default_str();
  add_gpu_options(sub, a->gpu);
  sub.callback([a] {
    a->model = model_or_demo(a->model);
    run(*a);
  });
});

}  // namespace
}  // namespace wgllm::cli
