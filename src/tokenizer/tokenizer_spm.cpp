// SentencePiece tokenizer.model (a serialized sentencepiece.ModelProto) -> TokenizerData.
// Only the fields a tokenizer needs are read, with a minimal protobuf wire-format reader:
//   ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
//   SentencePiece   1: piece (string)   2: score (float)   3: type (enum, default NORMAL = 1)
//   TrainerSpec     3: model_type (UNIGRAM 1, BPE 2, WORD 3, CHAR 4)   35: byte_fallback
//                   40: unk_id (default 0)   41: bos_id (1)   42: eos_id (2)   43: pad_id (-1)
//   NormalizerSpec  1: name   3: add_dummy_prefix (true)   4: remove_extra_whitespaces (true)
// SentencePiece's piece types number NORMAL..BYTE exactly as GGUF token types do.
#include <cstring>
#include <fstream>
#include <iterator>

#include "tokenizer/tokenizer_data.h"
#include "util/error.h"

namespace wgllm {
namespace {

// One protobuf message: a cursor over its bytes. Errors name the file.
struct ProtoReader {
  const std::string& path;
  const uint8_t* p;
  const uint8_t* end;

  bool done() const { return p >= end; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) fail(path, ": truncated protobuf varint (not a SentencePiece model?)");
      const uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(path, ": protobuf varint longer than 10 bytes (not a SentencePiece model?)");
  }
  // A length-delimited field's bytes.
  ProtoReader sub() {
    const uint64_t n = varint();
    if (n > uint64_t(end - p)) fail(path, ": protobuf field of ", n, " bytes runs past the end (truncated file?)");
    ProtoReader r{path, p, p + n};
    p += n;
    return r;
  }
  float fixed32_float() {
    if (end - p < 4) fail(path, ": truncated protobuf fixed32 field");
    float f;
    std::memcpy(&f, p, 4);
    p += 4;
    return f;
  }
  // Skips a field of the given wire type.
  void skip(uint32_t wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: if (end - p < 8) fail(path, ": truncated protobuf fixed64 field"); p += 8; break;
      case 2: sub(); break;
      case 5: if (end - p < 4) fail(path, ": truncated protobuf fixed32 field"); p += 4; break;
      default: fail(path, ": protobuf wire type ", wire, " is not supported (not a SentencePiece model?)");
    }
  }
  // Calls f(field, wire) for every field; f returns false for fields it did not consume.
  template <typename F>
  void fields(F&& f) {
    while (!done()) {
      const uint64_t key = varint();
      const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
      if (field == 0) fail(path, ": protobuf field number 0 (not a SentencePiece model?)");
      if (!f(field, wire)) skip(wire);
    }
  }
};

}  // namespace

TokenizerData tokenizer_data_from_spm_model(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
  ProtoReader model{path, begin, begin + bytes.size()};

  TokenizerData d;
  d.model = TokenizerModel::Llama;
  d.pre = "default";
  int64_t model_type = 1, unk = 0, bos = 1, eos = 2, pad = -1;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true;
  std::string normalizer = "nmt_nfkc";
  model.fields([&](uint32_t field, uint32_t wire) {
    if (wire != 2) return false;
    if (field == 1) {  // SentencePiece
      ProtoReader piece = model.sub();
      std::string text;
      float score = 0.f;
      int64_t type = 1;
      piece.fields([&](uint32_t f, uint32_t w) {
        if (f == 1 && w == 2) {
          ProtoReader s = piece.sub();
          text.assign(reinterpret_cast<const char*>(s.p), size_t(s.end - s.p));
        } else if (f == 2 && w == 5) {
          score = piece.fixed32_float();
        } else if (f == 3 && w == 0) {
          type = int64_t(piece.varint());
        } else {
          return false;
        }
        return true;
      });
      if (type < 1 || type > 6) fail(path, ": piece ", d.n_vocab(), " ('", text, "') has unknown type ", type);
      d.tokens.push_back(std::move(text));
      d.scores.push_back(score);
      d.types.push_back(TokenType(type));
    } else if (field == 2) {  // TrainerSpec
      ProtoReader spec = model.sub();
      spec.fields([&](uint32_t f, uint32_t w) {
        if (w != 0) return false;
        // int32 fields are sign-extended to 64 bits on the wire (pad_id = -1).
        const auto v = int64_t(int32_t(uint32_t(spec.varint())));
        if (f == 3) model_type = v;
        else if (f == 40) unk = v;
        else if (f == 41) bos = v;
        else if (f == 42) eos = v;
        else if (f == 43) pad = v;
        return true;
      });
    } else if (field == 3) {  // NormalizerSpec
      ProtoReader spec = model.sub();
      spec.fields([&](uint32_t f, uint32_t w) {
        if (f == 1 && w == 2) {
          ProtoReader s = spec.sub();
          normalizer.assign(reinterpret_cast<const char*>(s.p), size_t(s.end - s.p));
        } else if (f == 3 && w == 0) {
          add_dummy_prefix = spec.varint() != 0;
        } else if (f == 4 && w == 0) {
          remove_extra_whitespaces = spec.varint() != 0;
        } else {
          return false;
        }
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
  if (d.tokens.empty()) fail(path, ": no pieces (not a SentencePiece model?)");
  if (model_type != 1 && model_type != 2)
    fail(path, ": SentencePiece model_type ", model_type, " is not supported (unigram or BPE)");

  const int64_t n = d.n_vocab();
  auto id = [&](int64_t v) { return v >= 0 && v < n ? int32_t(v) : -1; };
  d.unk_id = id(unk), d.bos_id = id(bos), d.eos_id = id(eos), d.pad_id = id(pad);
  d.add_bos = d.bos_id >= 0;  // SentencePiece models (Llama-2, Mistral, Gemma) start with BOS
  d.add_eos = false;
  d.add_space_prefix = add_dummy_prefix;
  if (warnings) {
    // What llama.cpp (and this engine) do not reproduce: the normalizer's rewriting, whitespace
    // folding and unigram's Viterbi search (pieces merge greedily by score instead).
    if (normalizer != "identity")
      warnings->push_back(cat(path, ": normalizer '", normalizer,
                              "' is not applied (train with --normalization_rule_name=identity)"));
    if (remove_extra_whitespaces)
      warnings->push_back(cat(path, ": remove_extra_whitespaces is not applied (train with --remove_extra_whitespaces=false)"));
    if (model_type == 1)
      warnings->push_back(cat(path, ": unigram model: pieces merge by score as in llama.cpp, which can differ from "
                                    "SentencePiece's segmentation (train with --model_type=bpe)"));
  }
  return d;
}

}  // namespace wgllm
