# Run at every build (target comp_git): writes OUT = '#define COMP_GIT_COMMIT_STR "<hash>[-dirty]"'
# only when it changed, so the commit recorded in archives and --json output is the one built.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE c OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE d OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT c)
  set(c "unknown")
elseif(d)
  set(c "${c}-dirty")
endif()
set(txt "#define COMP_GIT_COMMIT_STR \"${c}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL txt)
  file(WRITE ${OUT} "${txt}")
endif()
