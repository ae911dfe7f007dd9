/* What the seed writer's files share (make_corpus.c, make_corpus_front.c): one executable,
 * fuzz_make_corpus, that writes the seed corpora. */
#ifndef MIM_MAKE_CORPUS_H
#define MIM_MAKE_CORPUS_H

#include "seed_file.h" /* write_seed, write_msg */

#include <stddef.h>
#include <stdint.h>

/* A seed of prefix (plen bytes: what a stub answers with) then text (make_corpus_front.c). */
void text_seed(const char *target, const char *name, const char *prefix, size_t plen,
               const char *text);
/* The front ends' seeds: the JSON API's lines and the TUI's pastes (make_corpus_front.c). */
void front_end_seeds(void);

#endif
