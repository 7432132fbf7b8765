# forward pass vs golden PyTorch outputs
comp_add_unit(test_forward_golden ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_forward_golden.c)
target_include_directories(test_forward_golden PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/common)
target_compile_definitions(test_forward_golden PRIVATE COMP_SRC_DIR="${CMAKE_SOURCE_DIR}")
