comp_add_script(tokenizer_vs_hf_js tokenizer ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/test_vs_hf_js.py)
comp_add_script(tokenizer_spm tokenizer ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/test_spm.py)
