// `wgllm chat -m MODEL`: an interactive, multi-turn conversation in the model's chat template.
// Each turn renders the whole conversation, keeps the KV cache of the part already fed (the
// longest common token prefix) and feeds only the rest. Reads user turns from stdin, one per line
// ("/reset" starts over, end of input quits); the reply streams to stdout, stats to stderr.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/gpu_options.h"
#include "cli/option_checks.h"
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

std::atomic<bool> g_stop{false};

struct ChatArgs {
  std::string model, system, backend = "webgpu";
  int n_predict = 256;
  int context = 4096;
  SamplerParams sampling;
  gpu::ContextOptions gpu;
};

void chat(const ChatArgs& a) {
  Tokenizer tokenizer(tokenizer_data_from_gguf(*GgufFile::open(a.model)));
  const std::string eos = tokenizer.eos() >= 0 ? tokenizer.token_bytes(tokenizer.eos()) : "</s>";
  runtime::register_webgpu_backend(a.gpu);
  BackendOptions options;
  options.max_context = a.context;
  std::unique_ptr<Backend> backend = open_backend(a.backend, a.model, options);
  Sampler sampler(a.sampling);
  GenerateOptions gen;
  gen.max_tokens = a.n_predict;
  for (int id = 0; id < tokenizer.n_vocab(); id++)
    if (tokenizer.is_eog(id)) gen.stop_tokens.push_back(id);

  std::vector<ChatMessage> messages;
  if (!a.system.empty()) messages.push_back({"system", a.system});
  std::vector<int> cached;  // the tokens whose keys and values the backend holds, in order
  std::string line;
  std::fprintf(stderr, "chat with %s on the %s backend; /reset starts over, Ctrl-D quits\n> ", a.model.c_str(),
               backend->name().c_str());
  while (std::getline(std::cin, line)) {
    if (line == "/reset") {
      messages.resize(a.system.empty() ? 0 : 1);
      cached.clear();
      backend->reset();
      std::fprintf(stderr, "(conversation reset)\n> ");
      continue;
    }
    if (line.empty()) {
      std::fprintf(stderr, "> ");
      continue;
    }
    messages.push_back({"user", line});
    const std::string text = apply_chat_template(tokenizer.data().chat_template, messages, true, eos);
    const std::vector<int32_t> ids32 = tokenizer.encode(text, true);
    const std::vector<int> ids(ids32.begin(), ids32.end());
    if (int(ids.size()) + 1 >= backend->max_context()) {
      // The turn is refused, not the session: what was said so far stays, and /reset frees it.
      messages.pop_back();
      std::fprintf(stderr, "(with that message the conversation is %zu tokens; the context holds %d: /reset, or restart with a larger --ctx)\n> ",
                   ids.size(), backend->max_context());
      continue;
    }
    size_t common = 0;
    while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
    if (common == ids.size()) --common;  // at least one token must run to get the next logits
    backend->rewind(int(common));
    const std::vector<int> delta(ids.begin() + long(common), ids.end());

    std::string reply;
    std::vector<int> generated;
    TokenStreamDecoder stream(tokenizer);
    g_stop = false;
    auto previous = std::signal(SIGINT, [](int) { g_stop = true; });
    const GenerationStats st = generate(*backend, sampler, delta, gen, [&](int token) {
      generated.push_back(token);
      const std::string piece = stream.push(token);
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return !g_stop.load() && backend->n_past() + 1 < backend->max_context();
    });
    std::signal(SIGINT, previous);
    const std::string rest = stream.finish();
    reply += rest;
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    messages.push_back({"assistant", reply});
    cached = ids;  // plus the generated tokens that were fed back (all but the last)
    cached.insert(cached.end(), generated.begin(), generated.begin() + long(backend->n_past() - int(ids.size())));
    std::fprintf(stderr, "[%s] reused %zu cached tokens, fed %zu | TTFT %.1f ms | %d tokens, %.1f tok/s\n> ",
                 backend->name().c_str(), common, delta.size(), 1e3 * st.prefill_seconds, st.generated_tokens,
                 st.generated_tokens > 1 ? (st.generated_tokens - 1) / std::max(st.decode_seconds, 1e-9) : 0.0);
  }
  std::fprintf(stderr, "\n");
}

Command chat_command("chat", "Talk with a model, turn by turn, in its chat template", [](CLI::App& sub) {
  auto a = std::make_shared<ChatArgs>();
  SamplerParams& s = a->sampling;
  s.temperature = 0.7f;
  sub.add_option("-m,--model", a->model, "GGUF model (default: the built-in demo model)");
  sub.add_option("--system", a->system, "System message");
  sub.add_option("-n,--n-predict", a->n_predict, "Most tokens per reply")->capture_default_str()->check(in_range(1));
  sub.add_option("--ctx", a->context, "KV cache size in tokens")->capture_default_str()->check(in_range(1));
  add_sampling_options(sub, s);
  sub.add_option("--backend", a->backend, "Backend: webgpu or cpu (the reference)")->capture_default_str();
  add_gpu_options(sub, a->gpu);
  sub.callback([a] {
    a->model = model_or_demo(a->model);
    chat(*a);
  });
});

}  // namespace
}  // namespace wgllm::cli
