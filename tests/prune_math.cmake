# prune_math: the pruning numerics (src/prune_math.c) against an independent numpy/scipy oracle.
# oracle.py writes fixtures + expected results into a temp dir and runs test_prune_math on it.
add_executable(test_prune_math ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_prune_math.c)
target_link_libraries(test_prune_math PRIVATE comp_core)
target_compile_options(test_prune_math PRIVATE ${COMP_WARN})
target_include_directories(test_prune_math PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/common)
comp_add_script(prune_math unit ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/prune_math/oracle.py
                $<TARGET_FILE:test_prune_math>)
set_tests_properties(prune_math PROPERTIES TIMEOUT 300)
