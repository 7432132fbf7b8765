# end-to-end: real models from ../shared/data against golden references, under mpiexec 1/2/3
comp_add_script(e2e_eval e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_eval.py)
comp_add_script(e2e_bad_inputs e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_bad_inputs.py)
comp_add_script(e2e_dtypes e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_dtypes.py)
comp_add_script(e2e_default_model e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_default_model.py)
comp_add_script(e2e_arch_variants e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_arch_variants.py)
comp_add_script(e2e_prune e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_prune.py)
comp_add_script(e2e_prune_oracle e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_prune_oracle.py)
comp_add_script(e2e_resume mpi ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_resume.py)
