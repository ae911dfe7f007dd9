/* What the file-transfer end-to-end tests (test_files_e2e*.c, issue 15) share: files and folders
 * made on disk and compared, and the JSON steps of a transfer (send_file, the offer, its
 * acceptance, progress, file_done) on `mim --json` processes (mim_proc.h).
 *
 * The step functions fail the running cmocka test on a miss, like mp_expect; the file functions
 * return what they found. */
#ifndef MIM_TEST_FILES_E2E_H
#define MIM_TEST_FILES_E2E_H

#include "mim_proc.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FE_MIB        (1024 * 1024)
#define FE_ID_LEN     64     /* room for a message id's hex */
#define FE_DONE_MS    120000 /* a transfer of tens of MiB, under ASan, on a loaded machine */
#define FE_HEX_SHA256 65

/* ---- files on disk --------------------------------------------------------------------------- */

/* Writes n pseudo-random bytes (xorshift from seed: incompressible, reproducible) to a new or
 * truncated file at path: 0 or -1. */
int fe_write_random(const char *path, size_t n, uint32_t seed);
/* Makes dir and nfiles small files in it (0 to 5000 bytes each, a few of them empty), spread over
 * nested sub-folders: 0 or -1. */
int fe_make_folder(const char *dir, int nfiles);
/* 1 when the regular files at a and b hold the same bytes. */
int fe_same_file(const char *a, const char *b);
/* 1 when the trees at a and b hold the same regular files under the same relative paths, and
 * nothing else; *nfiles gets the number of files compared. */
int fe_same_tree(const char *a, const char *b, int *nfiles);
/* The SHA-256 of the file at path as 64 lowercase hex digits: 0 or -1. */
int fe_sha256_hex(const char *path, char out[FE_HEX_SHA256]);

/* ---- the steps of a transfer ------------------------------------------------------------ */

/* The integer field key of ev, or -1 (absent or not an integer). */
int64_t fe_int(const json_t *ev, const char *key);
/* a sends the file or folder at path to `to` (send_file, tagged tag): waits for its `queued`
 * (or `sent`) answer and copies the message id to id. Returns the index of a's first event
 * after the command. */
size_t fe_send_file(mp *a, const char *to, const char *path, const char *tag, char id[FE_ID_LEN]);
/* Waits for b's file_offer of id at index >= from; sends accept_file unless it says
 * "accepted": true. Returns the offer. */
json_t *fe_accept(mp *b, size_t from, const char *id);
/* Waits (FE_DONE_MS at most) for file_done of id on p at index >= from: the event. A
 * file_failed of id on the way fails the test with its error. */
json_t *fe_expect_done(mp *p, size_t from, const char *id);
/* Waits at most timeout_ms until p reports file_progress of id with bytes >= at_least: those
 * bytes, or -1 (the time is up, or the transfer ended). */
int64_t fe_wait_progress(mp *p, size_t from, const char *id, int64_t at_least, int timeout_ms);
/* The bytes of p's last file_progress of id at index >= from, or -1. */
int64_t fe_last_progress(const mp *p, size_t from, const char *id);
/* The checks of a done transfer: b's file_done names a file (or folder) byte-identical to src,
 * the same size, and (a file) the SHA-256 of src; a's file_done is there too, with b's
 * sha256 (the receiver tells it back). */
void fe_check_received(const json_t *done_a, const json_t *done_b, const char *src, int folder);

#endif
