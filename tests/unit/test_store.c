/* mim_store: the presence name registry on a real SQLite file in a fresh temporary directory.
 * The file is inspected from outside (mode, header bytes) so the test needs no <sqlite3.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim_error.h"
#include "mim_limits.h"
#include "mim_store_registry.h"
#include "mim_test.h"

static const uint8_t key_a[32] = {0xa1, 0xa2, 0xa3, [31] = 0xaf};
static const uint8_t key_b[32] = {0xb1, 0xb2, 0xb3, [31] = 0xbf};

static int setup(void **state)
{
    return mim_test_store_setup(state, "store", "presence.db");
}

static int teardown(void **state)
{
    return mim_test_store_teardown(state);
}

static mim_store *open_ok(const struct store_fixture *f)
{
    return mim_test_store_open(f, MIM_STORE_PRESENCE);
}

/* Reads `n` bytes at `off` of the database file (the header is at offset 0). */
static void read_file_bytes(const char *path, off_t off, uint8_t *out, size_t n)
{
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, out, n, off), (ssize_t)n);
    close(fd);
}

static void test_open_creates_private_file_at_current_version(void **state)
{
    struct store_fixture *f = *state;
    mode_t old = umask(0); /* the mode must not depend on the caller's umask */
    char p[700];
    struct stat sb;
    mim_store *st = open_ok(f);

    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(mim_store_schema_version(st), 3); /* migration 3: issue 14 */
    assert_int_equal(mim_store_name_count(st), 0);

    /* After a write the -wal and -shm files exist; they must be as private as the database. */
    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    path_with_suffix(p, sizeof(p), f, "-wal");
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    path_with_suffix(p, sizeof(p), f, "-shm");
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);

    mim_store_close(st);
    umask(old);
}

static void test_claim_outcomes(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);

    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1001), MIM_NAME_SAME_KEY);
    assert_int_equal(mim_store_name_claim(st, "alice", key_b, 1002), MIM_ETAKEN);
    /* Names are exact byte strings: another spelling is another name. */
    assert_int_equal(mim_store_name_claim(st, "Alice", key_b, 1003), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_count(st), 2);
    mim_store_close(st);
}

/* The read-only look (issue 18: the cluster's hint) answers as a claim would, and writes
 * nothing: an unknown name stays free. */
static void test_owner_reads_only(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);

    assert_int_equal(mim_store_name_owner(st, "alice", key_a), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_count(st), 0);
    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_owner(st, "alice", key_a), MIM_NAME_SAME_KEY);
    assert_int_equal(mim_store_name_owner(st, "alice", key_b), MIM_ETAKEN);
    assert_int_equal(mim_store_name_owner(NULL, "alice", key_a), MIM_EINVAL);
    assert_int_equal(mim_store_name_count(st), 1);
    mim_store_close(st);
}

/* A new name whose UTS #39 skeleton is a registered name's is refused, whoever asks, and the
 * registry says which name it imitates; the owner of the first keeps it. */
static void test_lookalike_refused(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);
    char like[MIM_NAME_MAX_BYTES + 1];

    assert_int_equal(mim_store_name_claim(st, "bob", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(st,
                                          "b\xd0\xbe"
                                          "b",
                                          key_b, 1001),
                     MIM_NAME_LOOKALIKE); /* Cyrillic o */
    assert_int_equal(mim_store_name_claim(st,
                                          "b\xd0\xbe"
                                          "b",
                                          key_a, 1001),
                     MIM_NAME_LOOKALIKE); /* the owner of "bob" too: it would fool the others */
    assert_int_equal(mim_store_name_lookalike(st,
                                              "b\xd0\xbe"
                                              "b",
                                              like, sizeof(like)),
                     0);
    assert_string_equal(like, "bob");
    assert_int_equal(mim_store_name_lookalike(st, "bob", like, sizeof(like)), MIM_ENOENT);
    assert_int_equal(mim_store_name_claim(st, "paypal", key_b, 1002), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(st, "p\xd0\xb0ypal", key_a, 1003), MIM_NAME_LOOKALIKE);
    /* Refused means nothing written; the first owners are untouched; case still counts. */
    assert_int_equal(mim_store_name_count(st), 2);
    assert_int_equal(mim_store_name_claim(st, "bob", key_a, 1004), MIM_NAME_SAME_KEY);
    assert_int_equal(mim_store_name_claim(st, "Bob", key_b, 1005), MIM_NAME_REGISTERED);
    /* Once the first is freed, the look-alike is free to take. */
    assert_int_equal(mim_store_name_free(st, "bob"), 0);
    assert_int_equal(mim_store_name_claim(st,
                                          "b\xd0\xbe"
                                          "b",
                                          key_b, 1006),
                     MIM_NAME_REGISTERED);
    mim_store_close(st);
}

static void test_names_persist_across_reopen(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);

    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(st, "bob", key_b, 1000), MIM_NAME_REGISTERED);
    mim_store_close(st);

    st = open_ok(f);
    assert_int_equal(mim_store_schema_version(st), 3); /* migration 3: issue 14 */
    assert_int_equal(mim_store_name_count(st), 2);
    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 2000), MIM_NAME_SAME_KEY);
    assert_int_equal(mim_store_name_claim(st, "alice", key_b, 2000), MIM_ETAKEN);
    assert_int_equal(mim_store_name_claim(st, "bob", key_b, 2000), MIM_NAME_SAME_KEY);
    mim_store_close(st);
}

static void test_free_releases_name(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);

    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_free(st, "alice"), 0);
    assert_int_equal(mim_store_name_count(st), 0);
    assert_int_equal(mim_store_name_claim(st, "alice", key_b, 1001), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1002), MIM_ETAKEN);

    assert_int_equal(mim_store_name_free(st, "nobody"), MIM_ENOENT);
    assert_int_equal(mim_store_name_free(st, "alice"), 0);
    assert_int_equal(mim_store_name_free(st, "alice"), MIM_ENOENT);
    mim_store_close(st);
}

static void test_count(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = open_ok(f);
    char name[32];
    uint8_t key[32] = {0};
    int i;

    for (i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        key[0] = (uint8_t)i;
        assert_int_equal(mim_store_name_claim(st, name, key, 1000 + i), MIM_NAME_REGISTERED);
        assert_int_equal(mim_store_name_count(st), i + 1);
    }
    assert_int_equal(mim_store_name_free(st, "user7"), 0);
    assert_int_equal(mim_store_name_count(st), 49);
    mim_store_close(st);
}

/* An admin command and the server use the file at the same time. */
static void test_two_handles_share_the_registry(void **state)
{
    struct store_fixture *f = *state;
    mim_store *server = open_ok(f);
    mim_store *admin = open_ok(f);

    assert_int_equal(mim_store_name_claim(server, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_claim(admin, "alice", key_b, 1001), MIM_ETAKEN);
    assert_int_equal(mim_store_name_free(admin, "alice"), 0);
    assert_int_equal(mim_store_name_claim(server, "alice", key_b, 1002), MIM_NAME_REGISTERED);
    assert_int_equal(mim_store_name_count(admin), 1);
    mim_store_close(admin);
    mim_store_close(server);
}

static void test_newer_schema_refused(void **state)
{
    struct store_fixture *f = *state;
    /* user_version is the big-endian 32-bit integer at offset 60 of the database header. */
    static const uint8_t v99[4] = {0, 0, 0, 99};
    mim_store *st = open_ok(f);
    int fd;

    mim_store_close(st); /* the last close checkpoints the WAL: the header is in the file */
    fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, v99, sizeof(v99), 60), (ssize_t)sizeof(v99));
    close(fd);

    st = (mim_store *)&st; /* must be reset to NULL on failure */
    assert_int_equal(mim_store_open(f->path, MIM_STORE_PRESENCE, &st), MIM_EINVAL);
    assert_null(st);
}

/* A store of another kind (or another program's SQLite file) is not mistaken for this one. */
static void test_foreign_application_id_refused(void **state)
{
    struct store_fixture *f = *state;
    /* application_id is the big-endian 32-bit integer at offset 68 of the database header. */
    static const uint8_t other[4] = {'m', 'i', 'm', 'x'};
    mim_store *st = open_ok(f);
    int fd;

    mim_store_close(st);
    fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, other, sizeof(other), 68), (ssize_t)sizeof(other));
    close(fd);
    assert_int_equal(mim_store_open(f->path, MIM_STORE_PRESENCE, &st), MIM_EINVAL);
    assert_null(st);
}

static void test_journal_mode_is_wal(void **state)
{
    struct store_fixture *f = *state;
    char wal[700];
    uint8_t versions[2];
    struct stat sb;
    mim_store *st = open_ok(f);

    assert_int_equal(mim_store_name_claim(st, "alice", key_a, 1000), MIM_NAME_REGISTERED);
    path_with_suffix(wal, sizeof(wal), f, "-wal");
    assert_int_equal(stat(wal, &sb), 0);
    mim_store_close(st);

    /* Header bytes 18 and 19 (file format write / read version) are 2 in WAL mode, 1 in the
     * rollback-journal modes. */
    read_file_bytes(f->path, 18, versions, sizeof(versions));
    assert_int_equal(versions[0], 2);
    assert_int_equal(versions[1], 2);
}

static void test_not_a_database_refused(void **state)
{
    struct store_fixture *f = *state;
    static const char junk[] = "this is not an SQLite database, just some text that is long "
                               "enough to fill a header of one hundred bytes or so...........";
    mim_store *st = NULL;
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    assert_int_equal(mim_store_open(f->path, MIM_STORE_PRESENCE, &st), MIM_EDB);
    assert_null(st);
}

static void test_bad_arguments(void **state)
{
    struct store_fixture *f = *state;
    mim_store *st = NULL;

    assert_int_equal(mim_store_open(NULL, MIM_STORE_PRESENCE, &st), MIM_EINVAL);
    assert_int_equal(mim_store_open(f->path, (enum mim_store_kind)42, &st), MIM_EINVAL);
    assert_null(st);
    assert_int_equal(access(f->path, F_OK), -1); /* refused before anything was created */

    st = open_ok(f);
    assert_int_equal(mim_store_name_claim(st, NULL, key_a, 0), MIM_EINVAL);
    assert_int_equal(mim_store_name_free(st, NULL), MIM_EINVAL);
    mim_store_close(st);
    mim_store_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_private_file_at_current_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_claim_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_reads_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookalike_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_persist_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_releases_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_share_the_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_application_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_mode_is_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
