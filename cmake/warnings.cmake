# Warnings for the project's own targets. Generated code (protobuf/gRPC) is built without them.
# -Wnull-dereference is left out: at -O2 it fires on inlined nlohmann-json internals (false positives).
add_library(zoned_warnings INTERFACE)
target_compile_options(zoned_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Wmisleading-indentation)
# GCC-only warnings (clang, used by the fuzz preset, does not know them).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(zoned_warnings INTERFACE -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wuseless-cast)
endif()
if(ZONED_WERROR)
  target_compile_options(zoned_warnings INTERFACE -Werror)
endif()

if(ZONED_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Fuzz builds: coverage for libFuzzer plus ASan/UBSan, on the code under test and the fuzzers.
if(ZONED_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ZONED_FUZZ needs clang (libFuzzer); use the fuzz preset")
  endif()
  set(ZONED_FUZZ_SANITIZERS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
endif()
