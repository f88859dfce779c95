// `wgllm tokenize`: prints the token ids of a text as one JSON array, using the tokenizer of a
// GGUF file (a vocabulary-only GGUF is enough) or of a Hugging Face tokenizer.json.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/command.h"
#include "model/demo_model.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace wgllm::cli {
namespace {

struct TokenizeOptions {
  std::string model, file, text;
  bool add_special = false;
};

void run_tokenize(const TokenizeOptions& o) {
  const bool json = o.model.size() >= 5 && o.model.compare(o.model.size() - 5, 5, ".json") == 0;
  std::string config;  // tokenizer_config.json beside a tokenizer.json: BOS/EOS and add_bos_token
  if (json) {
    auto beside = std::filesystem::path(o.model).parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(beside)) config = beside.string();
  }
  Tokenizer tok(json ? tokenizer_data_from_hf_json(o.model, config) : tokenizer_data_from_gguf(*GgufFile::open(o.model)));
  std::string text = o.text;
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) fail(o.file, ": cannot open");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string out = "[";
  for (int32_t id : tok.encode(text, o.add_special)) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  std::printf("%s]\n", out.c_str());
}

}  // namespace

static Command tokenize_command("tokenize", "Print the token ids of a text as a JSON array", [](CLI::App& sub) {
  auto o = std::make_shared<TokenizeOptions>();
  sub.add_option("-m,--model", o->model,
                 "GGUF file (only tokenizer.* keys are read) or tokenizer.json (default: the built-in demo model)");
  sub.add_flag("--add-special", o->add_special, "Add BOS/EOS where the vocabulary asks for them");
  auto* file = sub.add_option("--file", o->file, "Read the text from this file");
  sub.add_option("text", o->text, "Text to tokenize")->excludes(file);
  sub.callback([o] {
    if (o->file.empty() && o->text.empty()) fail("tokenize: give a TEXT or --file F");
    o->model = model_or_demo(o->model);
    run_tokenize(*o);
  });
});

}  // namespace wgllm::cli
