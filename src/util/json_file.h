// Reads a JSON file, failing with an error that names the file (cannot open / invalid JSON).
#pragma once
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "util/error.h"

namespace wgllm {

// `hint` follows "cannot open" in the error, e.g. " (is this a Hugging Face model folder?)".
inline nlohmann::json read_json_file(const std::string& path, const char* hint = "") {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open", hint);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": invalid JSON: ", e.what());
  }
}

}  // namespace wgllm
