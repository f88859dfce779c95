// Uniform parameter structs shared by C++ and WGSL from one definition.
//
// A kernel's parameters are one C++ struct of 4-byte scalars that lists its fields once more
// with their WGSL names (the member pointers give type and offset):
//
//   struct MatvecParams {
//     uint32_t rows, cols;
//     float scale;
//     static constexpr auto fields = std::make_tuple(
//         param("rows", &MatvecParams::rows), param("cols", &MatvecParams::cols),
//         param("scale", &MatvecParams::scale));
//   };
//
// wgsl_struct<MatvecParams>("Params") then emits `struct Params { rows: u32, cols: u32,
// scale: f32 }` for the kernel's source, and check_params_layout() proves (at pipeline
// creation) that every field sits where WGSL's uniform layout puts it: no positional vectors
// that can silently drift from the shader.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>

#include "util/error.h"

namespace wgllm::gpu {

template <typename S, typename T>
struct ParamField {
  const char* name;
  T S::*member;
};

template <typename S, typename T>
constexpr ParamField<S, T> param(const char* name, T S::*member) {
  static_assert(std::is_same_v<T, uint32_t> || std::is_same_v<T, int32_t> || std::is_same_v<T, float>,
                "uniform parameters are u32, i32 or f32 scalars");
  return {name, member};
}

template <typename T>
constexpr const char* wgsl_scalar() {
  if constexpr (std::is_same_v<T, uint32_t>) return "u32";
  else if constexpr (std::is_same_v<T, int32_t>) return "i32";
  else return "f32";
}

// Offset of a member, from a member pointer, without offsetof's restrictions.
template <typename S, typename T>
size_t member_offset(T S::*member) {
  alignas(S) static unsigned char storage[sizeof(S)] = {};
  const S* s = reinterpret_cast<const S*>(storage);
  return size_t(reinterpret_cast<const unsigned char*>(&(s->*member)) - storage);
}

// The WGSL declaration of S's fields, on one line (so WGSL line numbers stay those of the file).
template <typename S>
std::string wgsl_struct(const std::string& wgsl_name) {
  std::string out = "struct " + wgsl_name + " {";
  std::apply([&](auto... f) { ((out += cat(" ", f.name, ": ", wgsl_scalar<std::remove_reference_t<decltype(std::declval<S>().*(f.member))>>(), ",")), ...); },
             S::fields);
  out += " }";
  return out;
}

// WGSL packs 4-byte scalars in declaration order at 4-byte steps; the C++ struct must match.
template <typename S>
void check_params_layout(const char* struct_name) {
  static_assert(std::is_trivially_copyable_v<S>);
  size_t expected = 0;
  std::apply([&](auto... f) {
    ((member_offset(f.member) == expected ? void(expected += 4)
                                          : fail("uniform struct ", struct_name, ": field '", f.name,
                                                 "' is at byte ", member_offset(f.member), ", WGSL puts it at ", expected)),
     ...);
  }, S::fields);
  if (sizeof(S) != expected)
    fail("uniform struct ", struct_name, " has ", sizeof(S), " bytes but its WGSL fields cover ", expected,
         " (a field is missing from `fields`)");
}

}  // namespace wgllm::gpu
