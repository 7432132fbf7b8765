# masksolve: every mask-solve back-end compiled in (comp/masksolve.h: lapack, scalapack, petsc) against
# the lapack one on Eq. 5 problems from real dense inputs (../shared/data models), under mpiexec with
# 1, 2 and 3 ranks; with 2 ranks also on the 1x2 and 2x1 ScaLAPACK grids (3 ranks: the 1x3 default).
add_executable(test_masksolve ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_masksolve.c)
target_link_libraries(test_masksolve PRIVATE comp_core)
target_compile_options(test_masksolve PRIVATE ${COMP_WARN})
target_include_directories(test_masksolve PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/common)

# comp_add_masksolve(name ranks [GRID RxC])
function(comp_add_masksolve name ranks)
  cmake_parse_arguments(MS "" "GRID" "" ${ARGN})
  comp_add_script(${name} mpi ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${MPIEXEC_PREFLAGS}
                  $<TARGET_FILE:test_masksolve> ${MPIEXEC_POSTFLAGS} ${COMP_SHARED})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
  if(MS_GRID)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT "COMP_SCALAPACK_GRID=${MS_GRID}")
  endif()
endfunction()

comp_add_masksolve(masksolve_np1 1)
comp_add_masksolve(masksolve_np2 2)
comp_add_masksolve(masksolve_np3 3)
comp_add_masksolve(masksolve_np2_grid1x2 2 GRID 1x2)
comp_add_masksolve(masksolve_np2_grid2x1 2 GRID 2x1)
