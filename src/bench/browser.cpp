#include "bench/browser.h"

#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "bench/writers.h"
#include "util/error.h"

#ifndef WGLLM_SOURCE_DIR
#define WGLLM_SOURCE_DIR "."
#endif

namespace wgllm::bench {
namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// A static server on 127.0.0.1 (a secure context for WebGPU) for the bundle at / and each model
// file's folder at /m<i>/, running on its own thread until destroyed.
class LocalServer {
 public:
  LocalServer(const std::string& bundle, const std::vector<std::string>& model_dirs) {
    if (!server_.set_mount_point("/", bundle)) fail("cannot serve the web bundle ", bundle);
    for (size_t i = 0; i < model_dirs.size(); ++i) server_.set_mount_point(cat("/m", i, "/"), model_dirs[i]);
    server_.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
    server_.set_file_extension_and_mimetype_mapping("gguf", "application/octet-stream");
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) fail("cannot open a local HTTP port on 127.0.0.1 for the browser");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LocalServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return cat("http://127.0.0.1:", port_, "/"); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::string bundle_dir(const BrowserBenchOptions& b) {
  std::string dir = b.bundle_dir;
  if (dir.empty())
    if (const char* env = std::getenv("WGLLM_WEB_BUNDLE"); env && *env) dir = env;
  if (dir.empty()) dir = std::string(WGLLM_SOURCE_DIR) + "/build-web/web";
  if (!fs::exists(fs::path(dir) / "wgllm.wasm") || !fs::exists(fs::path(dir) / "bench.html"))
    fail("no web bundle in ", dir, " (wgllm.wasm and bench.html): build it with scripts/build-web, or point "
         "$WGLLM_WEB_BUNDLE at one");
  return dir;
}

// The browser's report for one model file: Node runs bench_driver.mjs, which writes the JSON.
Report run_page(const BenchOptions& o, const BrowserBenchOptions& b, const std::string& page, const std::string& model_url,
                const std::vector<int>& prompts, int gen) {
  const std::string driver = std::string(WGLLM_SOURCE_DIR) + "/web/playwright/bench_driver.mjs";
  if (!fs::exists(driver)) fail("the browser driver ", driver, " is missing");
  char tmpl[] = "/tmp/wgllm-browser-XXXXXX";
  if (!::mkdtemp(tmpl)) fail("cannot create a temporary folder");
  const std::string out = std::string(tmpl) + "/report.json";
  const std::string cmd = cat("node ", shell_quote(driver), " --page ", shell_quote(page + "bench.html"), " --model ",
                              shell_quote(model_url), " --prompts ", join(prompts), " --gen ", gen, " --reps ", o.reps,
                              " --out ", shell_quote(out), " --timeout-s ", int(b.timeout_s));
  if (o.progress) std::fprintf(stderr, "bench: running the benchmark page in headless %s\n", b.browser.c_str());
  const int status = std::system(cmd.c_str());
  if (status != 0 || !fs::exists(out)) {
    fs::remove_all(tmpl);
    fail("the browser benchmark failed (", cmd, " exited with status ", WIFEXITED(status) ? WEXITSTATUS(status) : status,
         "); is npm's playwright-core installed (scripts/setup) and Chromium at /usr/bin/chromium?");
  }
  Report r = read_report(out);
  fs::remove_all(tmpl);
  return r;
}

}  // namespace

std::vector<std::string> browser_overhead_notes(const Report& m, int first_browser_adapter) {
  std::vector<std::string> notes;
  for (const BenchRow& b : m.rows) {
    if (b.adapter < first_browser_adapter) continue;
    for (const BenchRow& n : m.rows) {
      if (n.adapter < 0 || n.adapter >= first_browser_adapter || n.model_file != b.model_file ||
          n.prompt_tokens != b.prompt_tokens || n.gen_tokens != b.gen_tokens)
        continue;
      auto ratio = [](double x, double y) { return y > 0 ? format_number(x / y) : std::string("-"); };
      notes.push_back(cat("browser/native, ", b.model, " prompt ", b.prompt_tokens, " gen ", b.gen_tokens, " (",
                          adapter_name(m, b), " vs ", adapter_name(m, n), "): decode tok/s x",
                          ratio(b.decode_tok_s.median, n.decode_tok_s.median), ", prefill tok/s x",
                          ratio(b.prefill_tok_s.median, n.prefill_tok_s.median), ", TTFT x",
                          ratio(b.ttft_ms.median, n.ttft_ms.median)));
    }
  }
  return notes;
}

Report run_browser_benchmarks(const BenchOptions& o, const BrowserBenchOptions& b, Report native) {
  if (b.browser != "chromium") fail("--browser '", b.browser, "': only chromium is supported");
  const std::string bundle = bundle_dir(b);
  // The native run's models, each once, in order: same files, same lengths.
  std::vector<const BenchRow*> models;
  for (const BenchRow& r : native.rows) {
    bool seen = false;
    for (const BenchRow* m : models) seen = seen || m->model_file == r.model_file;
    if (!seen) models.push_back(&r);
  }
  if (models.empty()) fail("--browser: the native run produced no rows to compare with");
  std::vector<std::string> dirs;
  for (const BenchRow* m : models) dirs.push_back(fs::absolute(m->model_file).parent_path().string());
  LocalServer server(bundle, dirs);

  const int first_browser_adapter = int(native.adapters.size());
  std::vector<BenchRow> browser_rows;
  for (size_t i = 0; i < models.size(); ++i) {
    const BenchRow& m = *models[i];
    const std::string url = cat(server.url(), "m", i, "/", fs::path(m.model_file).filename().string());
    Report r = run_page(o, b, server.url(), url, native.prompt_lengths, native.gen_tokens);
    const int offset = int(native.adapters.size());
    for (AdapterRecord a : r.adapters) {
      a.device = cat(a.device, " in ", r.browser.empty() ? b.browser : r.browser);
      native.adapters.push_back(a);
    }
    for (BenchRow row : r.rows) {
      row.adapter += offset;
      row.model = m.model, row.preset = m.preset, row.model_file = m.model_file, row.quant = m.quant;
      browser_rows.push_back(std::move(row));
    }
    if (native.browser.empty()) native.browser = r.browser;
  }
  for (BenchRow& row : browser_rows) native.rows.push_back(std::move(row));
  for (const std::string& n : browser_overhead_notes(native, first_browser_adapter)) native.notes.push_back(n);
  return native;
}

}  // namespace wgllm::bench
