/* What every seed writer (the fuzz_make_corpus* programs) shares: where the corpora go, writing
 * one seed file, and counting what failed, so that each program holds only its seeds. */
#ifndef MIM_SEED_FILE_H
#define MIM_SEED_FILE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Takes the corpus root from argv[1], or default_root; creates it. 0, or -1 (said on stderr).
 * max_bytes > 0: a seed bigger than that is counted as a failure (seeds should stay small so
 * that fuzzing starts fast); 0: no limit. */
int seed_begin(int argc, char **argv, const char *default_root, size_t max_bytes);
const char *seed_root(void);
/* Writes <root>/<target>/<name> (the target's folder made when missing). A failure is said on
 * stderr and counted. */
void write_seed(const char *target, const char *name, const void *p, size_t n);
/* Packs any protobuf-c message and writes it; `cut` drops that many bytes from the end to make
 * a truncated (malformed) seed. */
void write_msg(const char *target, const char *name, const ProtobufCMessage *m, size_t cut);
/* The program's exit code: 0 when nothing failed (then "<what> written under <root>" is said on
 * stdout), else 1. */
int seed_end(const char *what);

#endif
