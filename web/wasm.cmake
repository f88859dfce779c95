# The browser build (scripts/build-web runs this through emcmake): the engine's libraries, unchanged,
# over the browser's WebGPU (src/gpu/webgpu_browser.cpp), and one wasm module (web/engine) that the
# worker drives. No tests, no CLI. Included from the top CMakeLists.txt when EMSCRIPTEN is set.
set(WGLLM_TESTS OFF)
include(cmake/wgllm.cmake)

# Stand-ins for the host packages: no threads in this build; nlohmann_json is header-only, and
# Emscripten's toolchain does not look in the host's /usr/include, so its headers are copied.
add_library(Threads::Threads INTERFACE IMPORTED)
find_path(WGLLM_NLOHMANN_DIR nlohmann/json.hpp PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
file(COPY ${WGLLM_NLOHMANN_DIR}/nlohmann DESTINATION ${CMAKE_BINARY_DIR}/host-include)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
target_include_directories(nlohmann_json::nlohmann_json INTERFACE ${CMAKE_BINARY_DIR}/host-include)

# C++ exceptions carry every user-facing error (wgllm::Error) to the page.
add_compile_options(-fexceptions)

add_subdirectory(src/util)
add_subdirectory(src/gpu)
add_subdirectory(src/kernels)
add_subdirectory(src/format)
add_subdirectory(src/model)
add_subdirectory(src/tokenizer)
add_subdirectory(src/reference)
add_subdirectory(src/runtime)
add_subdirectory(src/bench)

execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} rev-parse --short HEAD OUTPUT_VARIABLE WGLLM_WEB_SHA
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
add_executable(wgllm_web web/engine/wgllm_web.cpp)
target_link_libraries(wgllm_web PRIVATE wgllm_bench wgllm_runtime wgllm_tokenizer nlohmann_json::nlohmann_json)
target_compile_definitions(wgllm_web PRIVATE WGLLM_WEB_VERSION="${PROJECT_VERSION}" WGLLM_WEB_SHA="${WGLLM_WEB_SHA}")
set_target_properties(wgllm_web PROPERTIES OUTPUT_NAME wgllm SUFFIX .js RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/web)
target_link_options(wgllm_web PRIVATE
  -fexceptions
  -sASYNCIFY=1                 # GPU waits await JavaScript promises (no JSPI in Emscripten 3.1.6)
  -sASYNCIFY_STACK_SIZE=262144
  -sALLOW_MEMORY_GROWTH=1
  -sMAXIMUM_MEMORY=4GB
  -sTOTAL_STACK=4MB
  -sMODULARIZE=1
  -sEXPORT_NAME=createWgllm
  -sENVIRONMENT=web,worker
  -sEXPORTED_FUNCTIONS=_wgllm_call,_free,_malloc
  -sEXPORTED_RUNTIME_METHODS=ccall,FS,UTF8ToString
  -lworkerfs.js)
