# house style: clang-format (.clang-format at the top level)
comp_add_script(style_clang_format style sh ${CMAKE_CURRENT_SOURCE_DIR}/style/check_format.sh)
