// One model on one backend serving requests one at a time (batch 1). A worker thread owns the
// Backend (opened, used and freed on that thread) and takes jobs from a bounded FIFO queue; the
// HTTP threads submit jobs and collect their text as it is produced. Consecutive requests share
// the KV cache of their common token prefix (a chat's earlier turns are not fed again).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reference/backend.h"
#include "reference/sampler.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace wgllm::server {

// Finds stop strings in streamed text: push() returns the text that can be sent now, holding
// back a tail that might be the start of a stop string; once one is found, the text before it
// is returned and `hit` set.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  std::string push(const std::string& piece, bool* hit);
  std::string finish() { return std::exchange(held_, {}); }  // the held tail, at the end of generation

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

// One request's generation. The HTTP thread fills the inputs, submits it, then take()s text.
class Job {
 public:
  std::vector<int> prompt;  // token ids, BOS included
  SamplerParams sampling;
  int max_tokens = 16;
  std::vector<std::string> stop;

  // Text produced since the last call (whole UTF-8 characters, stop strings withheld), waiting
  // up to `timeout` for some; *done is set once the job is over and all its text taken.
  std::string take(std::chrono::milliseconds timeout, bool* done);
  bool cancelled() const { return cancelled_; }
  bool over();  // finished (its text may still be untaken)

  // Valid once done:
  std::string finish_reason;  // "stop" (end-of-generation token or stop string), "length", "cancelled"
  std::string error;          // what went wrong in the backend, else empty
  int prompt_tokens = 0, completion_tokens = 0;

 private:
  friend class Engine;
  void append(const std::string& text);
  void finish(const std::string& reason);
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string text_;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
};

struct EngineOptions {
  std::string model_path;
  std::string backend = "webgpu";
  int context = 4096;  // KV cache capacity in tokens (capped by the model's)
  int queue = 16;      // jobs that may wait while one runs; submit() refuses more
};

struct EngineStats {
  int running = 0, waiting = 0;
  uint64_t completed = 0, cancelled = 0, rejected = 0, generated_tokens = 0;
};

class Engine {
 public:
  // Loads the tokenizer here and the model on the worker thread; throws Error when either fails.
  explicit Engine(const EngineOptions& options);
  ~Engine();  // shutdown()

  const Tokenizer& tokenizer() const { return tokenizer_; }
  int context() const { return context_; }
  const std::string& backend_name() const { return backend_name_; }
  const EngineOptions& options() const { return options_; }

  // A conversation rendered in the model's chat template with the assistant's turn opened, or a
  // plain prompt, as token ids (BOS added where the vocabulary says so).
  std::vector<int> encode_chat(const std::vector<ChatMessage>& messages) const;
  std::vector<int> encode_prompt(const std::string& text) const;

  // Queues the job; false (and counted as rejected) when `queue` jobs already wait.
  bool submit(const std::shared_ptr<Job>& job);
  // A waiting job leaves the queue at once; the running one stops after its current token.
  void cancel(const std::shared_ptr<Job>& job);
  EngineStats stats() const;
  // Cancels every job, waiting or running, and stops the worker (idempotent).
  void shutdown();

 private:
  void work();  // the worker thread: opens the backend, then runs jobs until shutdown
  std::string run(Job& job);  // generates; returns the finish reason

  EngineOptions options_;
  Tokenizer tokenizer_;
  ChatFamily chat_family_;
  std::string eos_text_;
  std::vector<int> eog_ids_;
  std::unique_ptr<Backend> backend_;  // used on the worker thread only
  std::vector<int> cached_;           // the tokens whose keys and values the backend holds
  int context_ = 0;
  std::string backend_name_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> waiting_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  bool loaded_ = false;  // the worker has opened the backend, or failed to (load_error_)
  std::exception_ptr load_error_;
  EngineStats counts_;
  std::thread worker_;
};

}  // namespace wgllm::server
