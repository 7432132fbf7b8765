# sanitize: the pipeline end to end under ASan + UBSan, only in a -DCOMP_SANITIZE=ON build
# (tools/run.sh runs `ctest -L "unit|sanitize"` there).
if(COMP_SANITIZE)
  comp_add_script(sanitized_pipeline sanitize sh ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/test_sanitized_run.sh)
endif()
