// GGUF reader/writer: exact round trip of every metadata type and several tensor types, clean
// errors for truncation at every header byte and for random byte flips, and exact messages for
// specific malformed files.
#include "format/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/error.h"
#include "util/rng.h"

namespace wgllm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("wgllm_gguf_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& v : b) v = uint8_t(rng.below(256));
  return b;
}

GgufValue val(GgufValueType t, decltype(GgufValue::v) v) {
  GgufValue g;
  g.type = t;
  g.v = std::move(v);
  return g;
}

// Valid quantized bytes for a shape: quantize random normal data.
std::vector<uint8_t> quantized(TensorType t, int64_t row, int64_t rows, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(row));
  std::vector<uint8_t> out(row_bytes(t, row) * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : x) v = rng.normal();
    quantize_row(t, x.data(), out.data() + size_t(r) * row_bytes(t, row), row);
  }
  return out;
}

struct Fixture {
  std::vector<uint8_t> f32, q4k, q8, f16, bf16;
  GgufWriter writer;
  Fixture() {
    f32 = random_bytes(4 * 7, 1);  // 1-D F32 of 7 elements (any bytes are valid F32 data)
    q4k = quantized(TensorType::Q4_K, 512, 3, 2);
    q8 = quantized(TensorType::Q8_0, 64, 5, 3);
    f16 = random_bytes(2 * 6 * 5 * 2, 4);
    bf16 = random_bytes(2 * 9, 5);
    auto& w = writer;
    w.set_string("general.architecture", "llama");
    w.set_string("general.name", "t\xc3\xa9st \"model\"\n");
    w.set_u32("llama.block_count", 3);
    w.set_i32("neg", -123456);
    w.set_u64("big", 0xfedcba9876543210ull);
    w.set_f32("llama.rope.freq_base", 500000.0f);
    w.set_bool("flag", true);
    w.set("u8", val(GgufValueType::U8, uint64_t(250)));
    w.set("i8", val(GgufValueType::I8, int64_t(-7)));
    w.set("u16", val(GgufValueType::U16, uint64_t(65000)));
    w.set("i16", val(GgufValueType::I16, int64_t(-32000)));
    w.set("i64", val(GgufValueType::I64, int64_t(-(int64_t(1) << 50))));
    w.set("f64", val(GgufValueType::F64, 3.141592653589793));
    w.set_string_array("tokenizer.ggml.tokens", {"<s>", "", "hello", "\xe2\x96\x81world"});
    w.set_f32_array("scores", {0.5f, -1.25f, 3e-8f});
    w.set_i32_array("types", {1, -2, 3});
    GgufValue::Array inner1{GgufValueType::U16, {val(GgufValueType::U16, uint64_t(1)), val(GgufValueType::U16, uint64_t(2))}};
    GgufValue::Array inner2{GgufValueType::U16, {}};
    w.set("nested", val(GgufValueType::ARRAY, GgufValue::Array{GgufValueType::ARRAY,
                                                               {val(GgufValueType::ARRAY, inner1), val(GgufValueType::ARRAY, inner2)}}));
    w.set("bools", val(GgufValueType::ARRAY, GgufValue::Array{GgufValueType::BOOL,
                                                              {val(GgufValueType::BOOL, false), val(GgufValueType::BOOL, true)}}));
    w.add_tensor("norm.weight", TensorType::F32, {7}, f32);
    w.add_tensor("blk.0.attn_q.weight", TensorType::Q4_K, {512, 3}, q4k);
    w.add_tensor("q8", TensorType::Q8_0, {64, 5}, q8);
    const auto f16_copy = f16;
    w.add_tensor("lazy.f16", TensorType::F16, {6, 5, 2},
                 std::function<void(uint8_t*)>([f16_copy](uint8_t* dst) { std::memcpy(dst, f16_copy.data(), f16_copy.size()); }));
    w.add_tensor("bf16", TensorType::BF16, {9, 1, 1, 1}, bf16);
  }
};

TEST(Gguf, RoundTripEveryMetadataTypeAndTensor) {
  Fixture fx;
  const std::string path = temp_path("roundtrip.gguf");
  fx.writer.write(path);
  const auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_string("general.name"), "t\xc3\xa9st \"model\"\n");
  EXPECT_EQ(f->get_u64("llama.block_count"), 3u);
  EXPECT_EQ(f->get_i64("neg"), -123456);
  EXPECT_EQ(f->get_u64("big"), 0xfedcba9876543210ull);
  EXPECT_EQ(f->get_f64("llama.rope.freq_base"), 500000.0);
  EXPECT_TRUE(f->get_bool("flag"));
  EXPECT_EQ(f->get_u64("u8"), 250u);
  EXPECT_EQ(f->get_i64("i8"), -7);
  EXPECT_EQ(f->get_u64("u16"), 65000u);
  EXPECT_EQ(f->get_i64("i16"), -32000);
  EXPECT_EQ(f->get_i64("i64"), -(int64_t(1) << 50));
  EXPECT_EQ(f->get_f64("f64"), 3.141592653589793);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"<s>", "", "hello", "\xe2\x96\x81world"}));
  EXPECT_EQ(f->get_f64_array("scores"), (std::vector<double>{0.5, -1.25, double(3e-8f)}));
  EXPECT_EQ(f->get_i64_array("types"), (std::vector<int64_t>{1, -2, 3}));
  const auto& nested = std::get<GgufValue::Array>(f->find("nested")->v);
  ASSERT_EQ(nested.items.size(), 2u);
  const auto& in1 = std::get<GgufValue::Array>(nested.items[0].v);
  EXPECT_EQ(in1.type, GgufValueType::U16);
  EXPECT_EQ(std::get<uint64_t>(in1.items[1].v), 2u);
  EXPECT_TRUE(std::get<GgufValue::Array>(nested.items[1].v).items.empty());
  EXPECT_EQ(f->find("i8")->type, GgufValueType::I8);
  EXPECT_EQ(f->find("u16")->type, GgufValueType::U16);
  EXPECT_EQ(f->keys_in_file_order().front(), "general.architecture");
  EXPECT_EQ(f->keys_in_file_order().size(), 18u);
  // Defaults and type errors.
  EXPECT_EQ(f->get_u64("absent", 42), 42u);
  try {
    f->get_u64("general.name");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'general.name' is string, expected a non-negative integer"), std::string::npos);
  }
  try {
    f->get_string("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": missing metadata key 'nope'");
  }

  ASSERT_EQ(f->tensors().size(), 5u);
  auto check = [&](const std::string& name, TensorType type, std::vector<int64_t> shape, const std::vector<uint8_t>& bytes) {
    const GgufTensor& t = f->tensor(name);
    EXPECT_EQ(t.type, type) << name;
    EXPECT_EQ(t.shape, shape) << name;
    EXPECT_EQ(t.size, bytes.size()) << name;
    EXPECT_EQ(t.offset % 32, 0u) << name;
    EXPECT_EQ(std::vector<uint8_t>(t.data, t.data + t.size), bytes) << name;
  };
  check("norm.weight", TensorType::F32, {7}, fx.f32);
  check("blk.0.attn_q.weight", TensorType::Q4_K, {512, 3}, fx.q4k);
  check("q8", TensorType::Q8_0, {64, 5}, fx.q8);
  check("lazy.f16", TensorType::F16, {6, 5, 2}, fx.f16);
  check("bf16", TensorType::BF16, {9, 1, 1, 1}, fx.bf16);
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight").n_rows(), 3);
  EXPECT_EQ(f->find_tensor("missing"), nullptr);
  EXPECT_THROW(f->tensor("missing"), Error);
  std::filesystem::remove(path);
}

// TensorBytes: natively a view into the map (no copy); with `data` null, as in the browser where
// only the header is in memory, a copy of the same bytes read from the file at file_offset.
TEST(Gguf, TensorBytesViewOrReadFromTheFile) {
  Fixture fx;
  const std::string path = temp_path("bytes.gguf");
  fx.writer.write(path);
  const auto f = GgufFile::open(path);
  const GgufTensor& t = f->tensor("q8");
  const uint64_t rb = row_bytes(t.type, 64);
  const TensorBytes view(t, 2 * rb, 3 * rb);
  EXPECT_EQ(view.data(), t.data + 2 * rb);
  GgufTensor unmapped = t;
  unmapped.data = nullptr;
  const TensorBytes read(unmapped, 2 * rb, 3 * rb);
  EXPECT_NE(read.data(), view.data());
  EXPECT_EQ(std::vector<uint8_t>(read.data(), read.data() + 3 * rb),
            std::vector<uint8_t>(fx.q8.begin() + 2 * rb, fx.q8.begin() + 5 * rb));
  try {
    TensorBytes(t, 4 * rb, 2 * rb);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), cat("tensor 'q8': bytes [", 4 * rb, ", ", 6 * rb, ") are outside its ",
                                         5 * rb, " bytes"));
  }
  std::filesystem::remove(path);
}

TEST(Gguf, CustomAlignmentAndNoTensors) {
  GgufWriter w;
  w.set_u32("general.alignment", 64);
  w.add_tensor("a", TensorType::F32, {3}, random_bytes(12, 9));
  w.add_tensor("b", TensorType::F32, {5}, random_bytes(20, 10));
  const std::string path = temp_path("align.gguf");
  w.write(path);
  const auto f = GgufFile::open(path);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->tensor("b").offset, 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);

  GgufWriter empty;
  empty.set_string("k", "v");
  empty.write(path);
  const auto g = GgufFile::open(path);
  EXPECT_TRUE(g->tensors().empty());
  EXPECT_EQ(g->get_string("k"), "v");
  std::filesystem::remove(path);
}

TEST(Gguf, WriterRejectsBadTensors) {
  GgufWriter w;
  w.add_tensor("x", TensorType::F32, {4}, random_bytes(16, 1));
  EXPECT_THROW(w.add_tensor("x", TensorType::F32, {4}, random_bytes(16, 1)), Error);
  try {
    w.add_tensor("y", TensorType::Q4_0, {33, 2}, std::vector<uint8_t>(100));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'y': row length 33 is not a multiple of the Q4_0 block size 32"),
              std::string::npos);
  }
  try {
    w.add_tensor("z", TensorType::F16, {4}, std::vector<uint8_t>(7));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "GGUF writer: tensor 'z' has 7 bytes, its shape and type need 8");
  }
  // A throwing fill leaves no file behind (and no temporary).
  w.add_tensor("lazy", TensorType::F32, {2}, std::function<void(uint8_t*)>([](uint8_t*) { fail("boom"); }));
  const std::string path = temp_path("nofile.gguf");
  EXPECT_THROW(w.write(path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(std::filesystem::path(path).filename().string()), std::string::npos);
}

// The header region (everything before the data section), truncated at every byte, and the data
// region at several points: each must be a clean Error, never a crash (this runs under ASan).
TEST(Gguf, TruncationAnywhereIsACleanError) {
  Fixture fx;
  const std::string path = temp_path("full.gguf"), cut = temp_path("cut.gguf");
  fx.writer.write(path);
  const auto bytes = read_bytes(path);
  const auto full = GgufFile::open(path);
  const size_t data_start = full->data_offset();
  size_t data_end = 0;  // the last tensor byte; only alignment padding follows it
  for (const auto& t : full->tensors()) data_end = std::max(data_end, size_t(data_start + t.offset + t.size));
  std::vector<size_t> cuts;
  for (size_t n = 0; n < data_start; ++n) cuts.push_back(n);
  for (size_t n = data_start; n < data_end; n += 97) cuts.push_back(n);
  cuts.push_back(data_end - 1);
  for (size_t n : cuts) {
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
    try {
      GgufFile::open(cut);
      ADD_FAILURE() << "truncated at " << n << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(cut + ": ", 0), 0u) << e.what();
    }
  }
  std::filesystem::remove(path);
  std::filesystem::remove(cut);
}

TEST(Gguf, RandomByteFlipsNeverCrash) {
  Fixture fx;
  const std::string path = temp_path("flip_src.gguf"), flip = temp_path("flip.gguf");
  fx.writer.write(path);
  const auto bytes = read_bytes(path);
  const size_t data_start = GgufFile::open(path)->data_offset();
  Rng rng(2024);
  int errors = 0, parsed = 0;
  for (int trial = 0; trial < 400; ++trial) {
    auto b = bytes;
    const int flips = 1 + int(rng.below(3));
    for (int i = 0; i < flips; ++i) b[rng.below(data_start)] ^= uint8_t(1 + rng.below(255));
    write_bytes(flip, b);
    try {
      const auto f = GgufFile::open(flip);
      for (const auto& t : f->tensors()) {  // a valid parse must describe in-bounds data
        ASSERT_LE(f->data_offset() + t.offset + t.size, f->file_size()) << t.name;
      }
      ++parsed;
    } catch (const Error& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).rfind(flip + ": ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed, 0);  // flips inside string contents leave a valid file
  std::filesystem::remove(path);
  std::filesystem::remove(flip);
}

// ---- hand-made malformed files -----------------------------------------------------------------

struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const size_t at = b.size();
    b.resize(at + sizeof(T));
    std::memcpy(b.data() + at, &v, sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return put<uint32_t>(0x46554747).put(version).put(n_tensors).put(n_kv);
  }
  Bytes& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(uint32_t(dims.size()));
    for (auto d : dims) put(d);
    return put(type).put(offset);
  }
  Bytes& pad(size_t to) {
    b.resize((b.size() + to - 1) / to * to, 0);
    return *this;
  }
};

std::string open_error(const Bytes& file, const std::string& name = "bad.gguf") {
  const std::string path = temp_path(name);
  write_bytes(path, file.b);
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "no error";
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(GgufMalformed, MessagesNameTheCulprit) {
  const std::string p = temp_path("bad.gguf");
  EXPECT_EQ(open_error(Bytes{{'G', 'G', 'M', 'L', 3, 0, 0, 0}}), p + ": not a GGUF file (starts with 'GGML', expected 'GGUF')");
  EXPECT_EQ(open_error(Bytes().header(1, 0, 0)), p + ": GGUF version 1 is not supported (only 2 and 3)");
  EXPECT_EQ(open_error(Bytes().header(7, 0, 0)), p + ": unknown GGUF version 7 (only 2 and 3 are supported)");
  EXPECT_HAS(open_error(Bytes().header(0x03000000, 0, 0)), "byte-swapped");
  EXPECT_HAS(open_error(Bytes().header(3, uint64_t(1) << 40, 0)), "tensor count 1099511627776 exceeds the limit");
  EXPECT_HAS(open_error(Bytes().header(3, 0, uint64_t(1) << 62)), "metadata key count");
  // String length beyond the file.
  EXPECT_HAS(open_error(Bytes().header(3, 0, 1).put<uint64_t>(1000).put<uint32_t>(0)),
             "metadata key #0: key of 1000 bytes at offset 32 runs past the end of the file");
  // Absurd array count: refused before any allocation.
  EXPECT_HAS(open_error(Bytes().header(3, 0, 1).str("tok").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t(1) << 60)),
             "metadata key 'tok': array of 1152921504606846976 items exceeds the limit");
  EXPECT_HAS(open_error(Bytes().header(3, 0, 1).str("tok").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1000)),
             "metadata key 'tok': array of 1000 items runs past the end of the file");
  EXPECT_HAS(open_error(Bytes().header(3, 0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0)),
             "metadata key 'k': unknown metadata value type 13");
  EXPECT_HAS(open_error(Bytes().header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1)),
             "metadata key 'k': duplicate key");
  EXPECT_HAS(open_error(Bytes().header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24)),
             "'general.alignment' is 24 (must be a power of two");
  {  // deeply nested arrays
    Bytes b;
    b.header(3, 0, 1).str("deep").put<uint32_t>(9);
    for (int i = 0; i < 20; ++i) b.put<uint32_t>(9).put<uint64_t>(1);
    EXPECT_HAS(open_error(b), "metadata key 'deep': arrays nested deeper than 8");
  }
}

TEST(GgufMalformed, TensorErrors) {
  auto one = [](const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data_bytes) {
    Bytes b;
    b.header(3, 1, 0).tensor(name, std::move(dims), type, offset).pad(32);
    b.b.resize(b.b.size() + data_bytes, 0x5a);
    return open_error(b);
  };
  EXPECT_HAS(one("blk.3.ffn_up.weight", {256, 4}, 12, 0, 100),
             "tensor 'blk.3.ffn_up.weight' (576 bytes at data offset 0) runs past the end of the file (100 bytes of tensor data)");
  EXPECT_HAS(one("w", {256, 2}, 10, 0, 256), "tensor 'w': unsupported tensor type 10 (Q2_K); supported: F32, F16, Q4_0");
  EXPECT_HAS(one("w", {32, 2}, 77, 0, 64), "tensor 'w': unsupported tensor type 77 (unknown)");
  EXPECT_HAS(one("w5", {2, 2, 2, 2, 2}, 0, 0, 128), "tensor 'w5': has 5 dimensions (1 to 4 supported)");
  EXPECT_HAS(one("w0", {4, 0}, 0, 0, 64), "tensor 'w0': dimension 1 is 0 (must be positive)");
  EXPECT_HAS(one("wn", {4, uint64_t(-3)}, 0, 0, 64), "tensor 'wn': dimension 1 is -3 (must be positive)");
  EXPECT_HAS(one("wo", {uint64_t(1) << 40, uint64_t(1) << 40}, 0, 0, 64), "tensor 'wo': element count overflows 64 bits");
  EXPECT_HAS(one("wr", {48, 2}, 8, 0, 128), "tensor 'wr': row length 48 is not a multiple of the Q8_0 block size 32");
  EXPECT_HAS(one("wa", {4}, 0, 8, 64), "tensor 'wa': data offset 8 is not a multiple of the alignment 32");
  EXPECT_HAS(one("wb", {4}, 0, uint64_t(-32), 64), "tensor 'wb' (16 bytes at data offset 18446744073709551584) runs past the end");
  {
    Bytes b;
    b.header(3, 2, 0).tensor("dup", {4}, 0, 0).tensor("dup", {4}, 0, 32).pad(32);
    b.b.resize(b.b.size() + 64);
    EXPECT_HAS(open_error(b), "tensor 'dup': duplicate tensor name");
  }
  {  // v2 files parse like v3
    Bytes b;
    b.header(2, 1, 0).tensor("v2", {4}, 0, 0).pad(32);
    b.put<float>(1).put<float>(2).put<float>(3).put<float>(4);
    const std::string path = temp_path("v2.gguf");
    write_bytes(path, b.b);
    const auto f = GgufFile::open(path);
    EXPECT_EQ(f->version(), 2u);
    float v[4];
    std::memcpy(v, f->tensor("v2").data, 16);
    EXPECT_EQ(v[3], 4.0f);
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace wgllm
