# Writes the CLI's version header with the current git commit; run at every build (the header
# changes, and the CLI recompiles, only when the commit does). -DSRC=<repo> -DOUT=<version.h>
# -DVERSION=<x.y.z>
execute_process(COMMAND git -C ${SRC} rev-parse --short HEAD OUTPUT_VARIABLE sha
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT sha)
  set(sha unknown)
endif()
execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no OUTPUT_VARIABLE dirty
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(dirty)
  set(sha "${sha}-dirty")
endif()
file(WRITE ${OUT}.tmp "#pragma once\n#define WGLLM_VERSION \"${VERSION}\"\n#define WGLLM_GIT_SHA \"${sha}\"\n#define WGLLM_VERSION_STRING WGLLM_VERSION \" (\" WGLLM_GIT_SHA \")\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
