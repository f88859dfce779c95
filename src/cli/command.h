// The CLI's command registry: each `cmd_<name>.cpp` in this folder registers one subcommand by
// defining a static `Command` object; main() builds the CLI11 app from the registry.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace wgllm::cli {

struct Command {
  // setup() adds the subcommand's options to `sub` and sets its callback.
  Command(std::string name, std::string help, std::function<void(CLI::App& sub)> setup);
};

struct CommandEntry {
  std::string name, help;
  std::function<void(CLI::App&)> setup;
};
std::vector<CommandEntry>& command_registry();

}  // namespace wgllm::cli
