/* comp/version.h - what built this program: the version and the git commit of the source tree at
 * build time ("<hash>-dirty" with uncommitted changes), for provenance in archives and JSON. */
#ifndef COMP_VERSION_H
#define COMP_VERSION_H

const char *comp_git_commit(void);

#endif
