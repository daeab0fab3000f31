if(VMPLGUARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(VMPLGUARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VMPLGUARD_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# vg_fuzzer(NAME SOURCES... LIBS ...): a libFuzzer target, only with VMPLGUARD_FUZZ.
function(vg_fuzzer name)
  cmake_parse_arguments(FZ "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT VMPLGUARD_FUZZ)
    return()
  endif()
  add_executable(${name} ${FZ_SOURCES})
  target_link_libraries(${name} PRIVATE ${FZ_LIBS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

# vg_fuzz_seeds(NAME FILES...): the seed corpus of fuzz target NAME, copied at
# build time into ${CMAKE_BINARY_DIR}/fuzz_corpus/NAME, where tools/test finds
# it. Seeds are made from the test fixtures (custom commands produce FILES), so
# they follow the fixtures and are never checked in. Only with VMPLGUARD_FUZZ.
function(vg_fuzz_seeds name)
  if(NOT VMPLGUARD_FUZZ)
    return()
  endif()
  cmake_parse_arguments(FS "" "" "FILES" ${ARGN})
  set(dir ${CMAKE_BINARY_DIR}/fuzz_corpus/${name})
  add_custom_target(${name}_seeds ALL
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_COMMAND} -E copy ${FS_FILES} ${dir}
    DEPENDS ${FS_FILES}
    VERBATIM)
endfunction()
