# archive: the HDF5 pruning archive (parallel write under mpiexec 1/2/3, read back as a model,
# export to a Hugging Face checkpoint, info). make_archive plays the pruning driver.
add_executable(archive_make ${CMAKE_CURRENT_SOURCE_DIR}/archive/make_archive.c)
target_link_libraries(archive_make PRIVATE comp_core)
target_compile_options(archive_make PRIVATE ${COMP_WARN})
comp_add_script(archive_e2e e2e ${COMP_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/archive/test_archive.py
                $<TARGET_FILE:archive_make>)
