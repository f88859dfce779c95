#include "server/engine.h"

#include <algorithm>
#include <cstdio>

#include "format/gguf.h"
#include "reference/generator.h"
#include "tokenizer/tokenizer_data.h"
#include "util/error.h"

namespace wgllm::server {

std::string StopMatcher::push(const std::string& piece, bool* hit) {
  held_ += piece;
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    *hit = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold the longest tail that begins some stop string. Stop strings are valid UTF-8, so the tail
  // starts on a character boundary.
  size_t keep = 0;
  for (const std::string& s : stops_)
    for (size_t k = std::min(s.size() - 1, held_.size()); k > keep; k--)
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string Job::take(std::chrono::milliseconds timeout, bool* done) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !text_.empty() || done_; });
  *done = done_;
  return std::exchange(text_, {});
}

bool Job::over() {
  std::lock_guard lock(mutex_);
  return done_;
}

void Job::append(const std::string& text) {
  if (text.empty()) return;
  std::lock_guard lock(mutex_);
  text_ += text;
  cv_.notify_all();
}

void Job::finish(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (finish_reason.empty()) finish_reason = reason;
  done_ = true;
  cv_.notify_all();
}

Engine::Engine(const EngineOptions& options)
    : options_(options), tokenizer_(tokenizer_data_from_gguf(*GgufFile::open(options.model_path))) {
  if (options.queue < 0) fail("--queue must be 0 or more, got ", options.queue);
  // The template is recognised once here, so an unknown one warns once, not on every request.
  bool known = false;
  chat_family_ = detect_chat_family(tokenizer_.data().chat_template, &known);
  if (!known)
    std::fprintf(stderr, "wgllm: warning: %s chat template in %s; chat requests use ChatML\n",
                 tokenizer_.data().chat_template.empty() ? "no" : "unrecognised", options.model_path.c_str());
  eos_text_ = tokenizer_.eos() >= 0 ? tokenizer_.token_bytes(tokenizer_.eos()) : "</s>";
  for (int id = 0; id < tokenizer_.n_vocab(); id++)
    if (tokenizer_.is_eog(id)) eog_ids_.push_back(id);
  worker_ = std::thread([this] { work(); });
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return loaded_; });
  if (load_error_) {
    lock.unlock();
    worker_.join();
    std::rethrow_exception(load_error_);
  }
}

Engine::~Engine() { shutdown(); }

std::vector<int> Engine::encode_chat(const std::vector<ChatMessage>& messages) const {
  const std::vector<int32_t> ids = tokenizer_.encode(render_chat(chat_family_, messages, true, eos_text_), true);
  return {ids.begin(), ids.end()};
}

std::vector<int> Engine::encode_prompt(const std::string& text) const {
  const std::vector<int32_t> ids = tokenizer_.encode(text, true);
  return {ids.begin(), ids.end()};
}

bool Engine::submit(const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mutex_);
  // `queue` jobs may wait besides the running one (a submitted job waits until the worker takes it).
  if (stopping_ || int(waiting_.size()) + (running_ ? 1 : 0) >= options_.queue + 1) {
    counts_.rejected++;
    return false;
  }
  waiting_.push_back(job);
  cv_.notify_all();
  return true;
}

void Engine::cancel(const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mutex_);
  if (job->cancelled_.exchange(true)) return;
  auto it = std::find(waiting_.begin(), waiting_.end(), job);
  if (it != waiting_.end()) {
    waiting_.erase(it);
    counts_.cancelled++;
    job->finish("cancelled");
  } else if (job == running_ && !job->over()) {
    counts_.cancelled++;  // the worker sees the flag after the current token
  }
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s = counts_;
  s.running = running_ ? 1 : 0;
  s.waiting = int(waiting_.size());
  return s;
}

void Engine::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& job : waiting_) {
      job->cancelled_ = true;
      job->finish("cancelled");
    }
    counts_.cancelled += waiting_.size();
    waiting_.clear();
    if (running_ && !running_->cancelled_.exchange(true)) counts_.cancelled++;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

void Engine::work() {
  std::exception_ptr error;
  try {
    BackendOptions o;
    o.max_context = options_.context;
    backend_ = open_backend(options_.backend, options_.model_path, o);
    context_ = backend_->max_context();
    backend_name_ = backend_->name();
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    loaded_ = true;
    load_error_ = error;
    cv_.notify_all();
  }
  if (error) return;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      running_.reset();
      cv_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (stopping_) break;
      running_ = waiting_.front();
      waiting_.pop_front();
    }
    const std::string reason = run(*running_);
    // The counts change with the job's end, so a client that has its answer sees them.
    std::lock_guard lock(mutex_);
    if (reason != "cancelled") counts_.completed++;
    counts_.generated_tokens += uint64_t(running_->completion_tokens);
    running_->finish(reason);
  }
  backend_.reset();  // freed on the thread that made it
}

std::string Engine::run(Job& job) {
  const std::vector<int>& ids = job.prompt;
  job.prompt_tokens = int(ids.size());
  try {
    // Reuse the cached prefix. Not with a repetition penalty: the sampler would see only the
    // fed tokens as history, and the reply would differ from an uncached run.
    size_t common = 0;
    if (job.sampling.repeat_penalty == 1.0f)
      while (common < cached_.size() && common < ids.size() && cached_[common] == ids[common]) ++common;
    if (common == ids.size() && common > 0) --common;  // at least one token must run to get the next logits
    backend_->rewind(int(common));
    cached_.resize(common);
    const std::vector<int> delta(ids.begin() + long(common), ids.end());

    Sampler sampler(job.sampling);
    GenerateOptions gen;
    gen.max_tokens = job.max_tokens;
    gen.stop_tokens = eog_ids_;
    TokenStreamDecoder stream(tokenizer_);
    StopMatcher stops(job.stop);
    bool hit = false;
    std::vector<int> generated;
    const GenerationStats st = generate(*backend_, sampler, delta, gen, [&](int token) {
      generated.push_back(token);
      job.append(stops.push(stream.push(token), &hit));
      return !hit && !job.cancelled();
    });
    if (!hit) job.append(stops.push(stream.finish(), &hit));
    if (!hit) job.append(stops.finish());
    job.completion_tokens = int(generated.size());
    cached_ = ids;  // plus the generated tokens that were fed back (all but the last)
    cached_.insert(cached_.end(), generated.begin(), generated.begin() + long(backend_->n_past() - int(ids.size())));
    return job.cancelled() ? "cancelled" : hit || st.stopped_by_token ? "stop" : "length";
  } catch (const std::exception& e) {
    backend_->reset();
    cached_.clear();
    job.error = e.what();
    return "error";
  }
}

}  // namespace wgllm::server
