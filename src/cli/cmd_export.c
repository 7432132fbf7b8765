/* cmd_export.c - `comp export A.h5 --out DIR`: a pruning archive as a Hugging Face checkpoint. */
#include <mpi.h>
#include <stdio.h>

#include "args.h"
#include "cli.h"
#include "comp/archive.h"
#include "comp/dist.h"
#include "comp/log.h"

int comp_cmd_export(int argc, char **argv)
{
  const char *archive = NULL, *out = NULL;
  int         force = 0, quiet = 0;
  comp_opt    opts[] = {
         {"archive", COMP_OPT_STR, &archive, "A.h5", "the pruning archive (or give it as the first argument)"},
         {"out", COMP_OPT_STR, &out, "DIR", "output directory (required; must not exist or be empty)"},
         {"force", COMP_OPT_FLAG, &force, NULL, "replace a non-empty DIR (a flat directory of files only)"},
         {"quiet", COMP_OPT_FLAG, &quiet, NULL, "no messages on stderr"},
  };
  if (argc > 1 && argv[1][0] != '-') { /* positional archive: `comp export A.h5 --out DIR` */
    archive = argv[1];
    argv[1] = argv[0];
    argc--, argv++;
  }
  int rc = comp_args_parse(
      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), "comp export A.h5 --out DIR [--force]",
      "Writes the pruned model of a comp archive as a Hugging Face checkpoint in the architecture it was\n"
      "pruned from: config.json (layer count updated, float32), model.safetensors (F32, layers renumbered,\n"
      "every dense at full width with zeros in the pruned input columns and the refitted scales folded\n"
      "in), and the tokenizer files of the source model directory if it still exists. The directory is\n"
      "written under a temporary name and renamed when complete. One process does the work.");
  if (rc) return rc == 1 ? 0 : 2;
  if (quiet) comp_log_init(comp_log_rank(), 1);
  comp_status s      = COMP_OK;
  int         copied = 0;
  if (!archive)
    s = comp_error_set(COMP_ERR_ARG, "no archive given (comp export A.h5 --out DIR)");
  else if (!out)
    s = comp_error_set(COMP_ERR_ARG, "--out is required");
  else if (comp_log_rank() == 0)
    s = comp_archive_export_hf(archive, out, force != 0, &copied);
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  if (s) {
    comp_cli_error("export", comp_error_message());
    return 1;
  }
  comp_log("export: %s -> %s (%d tokenizer/generation/code file(s) copied from the source model%s)", archive, out,
           copied, copied ? "" : "; pass --tokenizer when using it");
  return 0;
}
