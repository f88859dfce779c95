// `wgllm version`: the engine version (also `wgllm --version`).
#include <cstdio>

#include "cli/command.h"
#include "cli/version.h"

namespace wgllm::cli {
static Command version_command("version", "Print the engine version", [](CLI::App& sub) {
  sub.callback([] { std::printf("wgllm %s\n", WGLLM_VERSION_STRING); });
});
}  // namespace wgllm::cli
