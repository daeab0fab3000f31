# vg_sub_build(WHAT SOURCE_DIR BUILD_DIR): configures and builds a separate
# CMake project from a -P check script (the freestanding monitor, the monitor
# image), with the generator and C++ compiler the caller passed as VG_GENERATOR
# and VG_CXX_COMPILER. Stops the script with WHAT and the tool's output on failure.
function(vg_sub_build what source_dir build_dir)
  set(configure_args -S ${source_dir} -B ${build_dir} -DVG_ROOT=${VG_ROOT})
  if(VG_GENERATOR)
    list(APPEND configure_args -G ${VG_GENERATOR})
  endif()
  if(VG_CXX_COMPILER)
    list(APPEND configure_args -DCMAKE_CXX_COMPILER=${VG_CXX_COMPILER})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} ${configure_args}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} configure failed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build_dir} -j2
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} build failed:\n${out}")
  endif()
endfunction()
