// wgllm: run and benchmark LLMs on WebGPU. Subcommands live in cmd_*.cpp beside this file.
#include <cstdio>
#include <exception>

#include "cli/command.h"
#include "cli/version.h"
#include "util/error.h"

namespace wgllm::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

Command::Command(std::string name, std::string help, std::function<void(CLI::App&)> setup) {
  command_registry().push_back({std::move(name), std::move(help), std::move(setup)});
}

}  // namespace wgllm::cli

int main(int argc, char** argv) {
  using namespace wgllm::cli;
  CLI::App app{"wgllm: large language models on WebGPU, and the benchmark that shows how fast they run"};
  app.require_subcommand(1);
  app.set_version_flag("--version", WGLLM_VERSION_STRING);
  for (auto& entry : command_registry()) entry.setup(*app.add_subcommand(entry.name, entry.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const wgllm::Error& e) {
    std::fprintf(stderr, "wgllm: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wgllm: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
