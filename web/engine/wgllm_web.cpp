// The engine's one entry point for the browser (compiled by scripts/build-web into wgllm.wasm):
//
//   wgllm_call(command, args_json) -> malloc'd JSON text ({"error": "..."} on failure)
//
// commands: "open" {path, max_context}     loads a GGUF on the browser's WebGPU adapter
//           "generate" {prompt | messages, n_predict, temp, top_k, top_p, seed}
//                                           streams pieces to JavaScript (wgllm_on_token) and
//                                           stops early when the page asks (wgllm_stop_requested)
//           "bench" {models, prompt_lengths, gen_tokens, reps, seed, browser}
//                                           the same benchmark as `wgllm bench`: a wgllm-bench/1
//                                           report with the browser's name and version
//           "close" {}                      frees the model and its GPU buffers
// The worker (web/worker.js) calls it through ccall with {async: true}: every GPU wait yields to
// the browser's event loop (ASYNCIFY), so the worker keeps receiving messages (stop) meanwhile.
#include <emscripten.h>
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/runner.h"
#include "format/gguf.h"
#include "reference/generator.h"
#include "runtime/webgpu_backend.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

#ifndef WGLLM_WEB_VERSION
#define WGLLM_WEB_VERSION "0.1.0"
#define WGLLM_WEB_SHA "unknown"
#endif

// JavaScript hooks the worker defines (web/worker.js sets Module.onToken and Module.stopRequested).
EM_JS(void, wgllm_on_token, (int id, const char* piece, int len), {
  if (Module.onToken) Module.onToken(id, UTF8ToString(piece, len));
});
EM_JS(int, wgllm_stop_requested, (), { return Module.stopRequested && Module.stopRequested() ? 1 : 0; });

namespace wgllm::web {
namespace {

using json = nlohmann::json;

struct Loaded {
  std::string path;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<runtime::WebGpuBackend> backend;
};
std::unique_ptr<Loaded> g_model;

// dlmalloc's footprint (bytes taken from the WebAssembly memory) now, and its peak so far. The
// load reports the peak's growth so the browser test can check that weights stream through the
// heap one tensor at a time instead of the whole file landing in it.
size_t heap_footprint() {
  const struct mallinfo mi = mallinfo();
  return size_t(mi.arena) + size_t(mi.hblkhd);
}
size_t heap_peak() { return size_t(mallinfo().usmblks); }

json open_model(const json& a) {
  g_model.reset();  // frees the previous model's GPU buffers first
  const size_t heap0 = heap_footprint();
  auto m = std::make_unique<Loaded>();
  m->path = a.at("path").get<std::string>();
  const auto t0 = std::chrono::steady_clock::now();
  m->tokenizer = std::make_unique<Tokenizer>(tokenizer_data_from_gguf(*GgufFile::open(m->path)));
  BackendOptions bo;
  bo.max_context = a.value("max_context", 2048);
  runtime::GpuTransformerOptions mo;
  mo.progress = false;
  m->backend = std::make_unique<runtime::WebGpuBackend>(m->path, bo, gpu::ContextOptions{}, mo);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const ModelConfig& c = m->backend->config();
  const gpu::Context& ctx = m->backend->context();
  json out = {
      {"arch", c.arch ? c.arch->gguf_name : ""},
      {"layers", c.n_layers},
      {"vocab", c.vocab_size},
      {"max_context", m->backend->max_context()},
      {"chat_template", !m->tokenizer->data().chat_template.empty()},
      {"adapter", ctx.adapter().device},
      {"shader_f16", ctx.features().shader_f16},
      {"subgroups", ctx.features().subgroups},
      {"gpu_bytes", ctx.bytes_in_use()},
      {"load_s", m->backend->model().load_seconds()},
      {"load_wall_s", wall},
      {"heap_peak_growth_bytes", heap_peak() - heap0},
      {"wasm_memory_bytes", size_t(__builtin_wasm_memory_size(0)) * 65536},
  };
  g_model = std::move(m);
  return out;
}

json generate_text(const json& a) {
  if (!g_model) fail("no model is loaded: open a GGUF file first");
  Loaded& m = *g_model;
  const Tokenizer& tok = *m.tokenizer;
  std::string text = a.value("prompt", "");
  if (a.contains("messages")) {
    std::vector<ChatMessage> messages;
    for (const json& msg : a.at("messages")) messages.push_back({msg.at("role"), msg.at("content")});
    const std::string eos = tok.eos() >= 0 ? tok.token_bytes(tok.eos()) : "</s>";
    text = apply_chat_template(tok.data().chat_template, messages, true, eos);
  }
  const std::vector<int32_t> ids32 = tok.encode(text, true);
  const std::vector<int> prompt(ids32.begin(), ids32.end());
  if (prompt.empty()) fail("the prompt encodes to no tokens");
  const int n_predict = a.value("n_predict", 128);
  if (int(prompt.size()) >= m.backend->max_context())
    fail("the prompt has ", prompt.size(), " tokens; the context holds ", m.backend->max_context());

  SamplerParams sp;
  sp.temperature = a.value("temp", sp.temperature);
  sp.top_k = a.value("top_k", sp.top_k);
  sp.top_p = a.value("top_p", sp.top_p);
  sp.seed = a.value("seed", sp.seed);
  Sampler sampler(sp);
  GenerateOptions gen;
  gen.max_tokens = std::min(n_predict, m.backend->max_context() - int(prompt.size()));
  for (int id = 0; id < tok.n_vocab(); id++)
    if (tok.is_eog(id)) gen.stop_tokens.push_back(id);

  m.backend->reset();  // each request feeds the whole conversation (the page keeps the history)
  TokenStreamDecoder stream(tok);
  std::vector<int> tokens;
  bool stopped = false;
  const GenerationStats st = generate(*m.backend, sampler, prompt, gen, [&](int token) {
    tokens.push_back(token);
    const std::string piece = stream.push(token);
    wgllm_on_token(token, piece.data(), int(piece.size()));
    stopped = wgllm_stop_requested() != 0;
    return !stopped;
  });
  const std::string rest = stream.finish();
  if (!rest.empty()) wgllm_on_token(-1, rest.data(), int(rest.size()));
  const double decode_tok_s = st.generated_tokens > 1 ? (st.generated_tokens - 1) / std::max(st.decode_seconds, 1e-9) : 0;
  return {
      {"prompt_tokens", st.prompt_tokens},
      {"generated_tokens", st.generated_tokens},
      {"tokens", tokens},
      {"ttft_ms", 1e3 * st.prefill_seconds},
      {"prefill_tok_s", st.prompt_tokens / std::max(st.prefill_seconds, 1e-9)},
      {"decode_tok_s", decode_tok_s},
      {"stopped", stopped},
      {"end_of_generation", st.stopped_by_token},
      {"peak_gpu_bytes", m.backend->context().peak_bytes()},
  };
}

json bench(const json& a) {
  g_model.reset();  // the benchmark loads its own copy; free the GPU memory first
  bench::BenchOptions o;
  o.matrix.models = a.at("models").get<std::vector<std::string>>();
  o.matrix.prompt_lengths = a.value("prompt_lengths", std::vector<int>{});
  o.matrix.gen_tokens = a.value("gen_tokens", 0);
  o.reps = a.value("reps", 3);
  o.seed = a.value("seed", uint64_t(1234));
  o.progress = true;  // progress lines go to the console
  o.engine_version = WGLLM_WEB_VERSION;
  o.git_sha = WGLLM_WEB_SHA;
  bench::Report r = bench::run_benchmarks(o);
  r.browser = a.value("browser", "");
  if (!a.value("os", "").empty()) r.os_name = a.value("os", "");  // uname says only "Emscripten"
  return bench::to_json(r);
}

char* reply(const json& j) {
  const std::string s = j.dump();
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace
}  // namespace wgllm::web

extern "C" EMSCRIPTEN_KEEPALIVE char* wgllm_call(const char* command, const char* args_json) {
  using namespace wgllm::web;
  try {
    const json a = json::parse(args_json ? args_json : "{}");
    const std::string c = command;
    if (c == "open") return reply(open_model(a));
    if (c == "generate") return reply(generate_text(a));
    if (c == "bench") return reply(bench(a));
    if (c == "close") {
      g_model.reset();
      return reply(json::object());
    }
    return reply({{"error", "unknown command '" + c + "'"}});
  } catch (const std::bad_alloc&) {
    return reply({{"error", "not enough memory: the WebAssembly heap (at most 4 GiB, and what the browser grants this "
                            "tab) could not hold the model file, which this version reads into it whole; use a "
                            "smaller model, or close other tabs"}});
  } catch (const std::exception& e) {
    return reply({{"error", e.what()}});
  }
}
