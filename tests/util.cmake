# util: process utilities (src/util.c) - the node memory budget of comp prune's preflight on fake
# /proc and /sys trees, and size parsing.
comp_add_unit(test_membudget ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_membudget.c)
target_include_directories(test_membudget PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/common)
