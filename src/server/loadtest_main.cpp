// wgllm_loadtest: drives a running `wgllm serve` (see loadtest.h); exits 1 when any request
// failed (429s excepted).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "server/loadtest.h"

int main(int argc, char** argv) {
  wgllm::server::LoadOptions o;
  CLI::App app("Load test for wgllm serve: N concurrent streaming clients for a fixed time");
  app.add_option("--host", o.host, "Server address")->capture_default_str();
  app.add_option("--port", o.port, "Server port")->capture_default_str();
  app.add_option("--api-key", o.api_key, "API key, if the server needs one");
  app.add_option("-c,--clients", o.clients, "Concurrent clients")->capture_default_str();
  app.add_option("-t,--seconds", o.seconds, "How long to keep sending")->capture_default_str();
  app.add_option("-n,--max-tokens", o.max_tokens, "max_tokens of each request")->capture_default_str();
  app.add_option("--pid", o.server_pid, "Server process whose RSS to report");
  CLI11_PARSE(app, argc, argv);
  const wgllm::server::LoadReport r = wgllm::server::run_load(o);
  std::printf("%s", r.text().c_str());
  return r.failures == 0 && r.requests > 0 ? 0 : 1;
}
