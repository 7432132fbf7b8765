/* version.c - the git commit, regenerated at every build (cmake/gitversion.cmake). */
#include "comp/version.h"

#include "comp_git.h"

const char *comp_git_commit(void) { return COMP_GIT_COMMIT_STR; }
