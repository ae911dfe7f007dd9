/* The key log (shared/mim_keylog.c, docs/KEYLOG.md): the line of the worked example (the
 * presence handshake of PROTOCOL.md 13, with its fixed keys) byte for byte as the document shows
 * it, H recomputed from the public bytes alone, the parser's refusals, and the file: created
 * 0600 whatever the umask, one line per connection, and refused when it is a symbolic link, not
 * a regular file, not ours or not 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mim_test.h"
#include "fixed_identity.h"
#include "protocol_doc.h"

#include "mim_codec.h"
#include "mim_crypto.h"
#include "mim_error.h"
#include "mim_keylog.h"

#include <fcntl.h>

typedef struct handshake {
    uint8_t msg1[MIM_NOISE_MAX_MSG], msg2[MIM_NOISE_MAX_MSG], msg3[MIM_NOISE_MAX_MSG];
    size_t len1, len2, len3;
    mim_keylog_entry en;
} handshake;

/* PROTOCOL.md 13.2: alice (seed 01, static 02, ephemeral 03) logs in to the server (11, 12, 13). */
static void example_handshake(handshake *hs)
{
    uint8_t e_sk[MIM_KEY_LEN], pl[MIM_NOISE_MAX_MSG];
    mim_identity *alice, *server;
    mim_noise ini, resp;
    mim_noise_cipher c1, c2;
    mim_buf payload = {0};
    size_t plen;

    alice = fixed_identity(0x01, 0x02);
    server = fixed_identity(0x11, 0x12);
    const char *pro = MIM_NOISE_PROLOGUE_PRESENCE;
    assert_int_equal(mim_noise_init(&ini, 1, pro, strlen(pro), alice->dh_sk), 0);
    assert_int_equal(mim_noise_init(&resp, 0, pro, strlen(pro), server->dh_sk), 0);
    memset(e_sk, 0x03, sizeof(e_sk));
    mim_noise_set_ephemeral(&ini, e_sk);
    memset(e_sk, 0x13, sizeof(e_sk));
    mim_noise_set_ephemeral(&resp, e_sk);
    assert_int_equal(mim_noise_write(&ini, NULL, 0, hs->msg1, MIM_NOISE_MAX_MSG, &hs->len1), 0);
    assert_int_equal(mim_noise_read(&resp, hs->msg1, hs->len1, pl, sizeof(pl), &plen), 0);
    assert_int_equal(
        mim_handshake_payload_encode(server->sign_pk, server->static_sig, "", &payload), 0);
    assert_int_equal(
        mim_noise_write(&resp, payload.data, payload.len, hs->msg2, MIM_NOISE_MAX_MSG, &hs->len2),
        0);
    assert_int_equal(mim_noise_read(&ini, hs->msg2, hs->len2, pl, sizeof(pl), &plen), 0);
    mim_buf_reset(&payload);
    assert_int_equal(
        mim_handshake_payload_encode(alice->sign_pk, alice->static_sig, "alice", &payload), 0);
    assert_int_equal(
        mim_noise_write(&ini, payload.data, payload.len, hs->msg3, MIM_NOISE_MAX_MSG, &hs->len3),
        0);
    assert_int_equal(mim_noise_read(&resp, hs->msg3, hs->len3, pl, sizeof(pl), &plen), 0);
    memcpy(hs->en.e, hs->msg1, MIM_KEY_LEN); /* the initiator's e, as the channel logs it */
    memcpy(hs->en.h, mim_noise_handshake_hash(&ini), MIM_HASH_LEN);
    assert_int_equal(mim_noise_split(&ini, &c1, &c2), 0);
    memcpy(hs->en.k1, c1.k, MIM_KEY_LEN);
    memcpy(hs->en.k2, c2.k, MIM_KEY_LEN);
    mim_noise_wipe(&ini);
    mim_noise_wipe(&resp);
    mim_buf_free(&payload);
    mim_identity_free(alice);
    mim_identity_free(server);
}

/* The line of the code block after <!-- keylog:example --> in docs/KEYLOG.md (malloc'd). */
static char *doc_example_line(void)
{
    char *doc = read_docs_file("KEYLOG.md"), *line, *p, *eol;

    p = strstr(doc, "<!-- keylog:example -->\n```text\n");
    assert_non_null(p);
    p = strchr(strchr(p, '\n') + 1, '\n') + 1;
    eol = strchr(p, '\n');
    assert_non_null(eol);
    line = strndup(p, (size_t)(eol - p) + 1); /* with its '\n', as in the file */
    free(doc);
    return line;
}

static void test_worked_example(void **state)
{
    char line[MIM_KEYLOG_LINE_LEN + 1], *shown = doc_example_line();
    uint8_t h[MIM_HASH_LEN];
    mim_keylog_entry back;
    handshake hs;

    (void)state;
    example_handshake(&hs);
    mim_keylog_format(&hs.en, line);
    EXPECT_INT(strlen(line), MIM_KEYLOG_LINE_LEN);
    if (strcmp(line, shown) != 0)
        fail_msg("docs/KEYLOG.md's example drifted from the code:\n  shows    %s  expected %s",
                 shown, line);
    free(shown);
    EXPECT_INT(mim_keylog_parse(line, MIM_KEYLOG_LINE_LEN - 1, &back), 0);
    assert_memory_equal(&back, &hs.en, sizeof(back));
    /* H from the public bytes alone; the other prologue gives another value (the kind). */
    EXPECT_INT(mim_keylog_handshake_hash(MIM_NOISE_PROLOGUE_PRESENCE, hs.msg1, hs.len1, hs.msg2,
                                         hs.len2, hs.msg3, hs.len3, h),
               0);
    assert_memory_equal(h, hs.en.h, MIM_HASH_LEN);
    EXPECT_INT(mim_keylog_handshake_hash(MIM_NOISE_PROLOGUE_PEER, hs.msg1, hs.len1, hs.msg2,
                                         hs.len2, hs.msg3, hs.len3, h),
               0);
    assert_memory_not_equal(h, hs.en.h, MIM_HASH_LEN);
    EXPECT_INT(mim_keylog_handshake_hash(MIM_NOISE_PROLOGUE_PEER, hs.msg1, 31, hs.msg2, hs.len2,
                                         hs.msg3, hs.len3, h),
               MIM_EINVAL);
}

static void test_parse(void **state)
{
    char line[MIM_KEYLOG_LINE_LEN + 2], bad[MIM_KEYLOG_LINE_LEN + 2];
    mim_keylog_entry en, out;
    const size_t n = MIM_KEYLOG_LINE_LEN - 1; /* without '\n' */

    (void)state;
    for (size_t i = 0; i < sizeof(en); i++)
        ((uint8_t *)&en)[i] = (uint8_t)(i * 37 + 11);
    mim_keylog_format(&en, line);
    EXPECT_INT(mim_keylog_parse(line, n, &out), 0);
    assert_memory_equal(&out, &en, sizeof(en));
    memcpy(bad, line, n);
    bad[n] = '\r'; /* a file edited on Windows */
    EXPECT_INT(mim_keylog_parse(bad, n + 1, &out), 0);
    /* Skipped: empty, comment, another label (a later version's line). */
    EXPECT_INT(mim_keylog_parse("", 0, &out), 1);
    EXPECT_INT(mim_keylog_parse("# keys", 6, &out), 1);
    EXPECT_INT(mim_keylog_parse("MIM_SESSION2 00", 15, &out), 1);
    EXPECT_INT(mim_keylog_parse("CLIENT_RANDOM 00 11", 19, &out), 1);
    /* Refused: every deviation from the format in a MIM_SESSION line. */
    EXPECT_INT(mim_keylog_parse(line, n - 1, &out), MIM_EINVAL); /* a digit short */
    EXPECT_INT(mim_keylog_parse("MIM_SESSION", 11, &out), MIM_EINVAL);
    memcpy(bad, line, n);
    bad[20] = 'A'; /* uppercase hex */
    EXPECT_INT(mim_keylog_parse(bad, n, &out), MIM_EINVAL);
    memcpy(bad, line, n);
    bad[11 + 65] = 'x'; /* the second separator */
    EXPECT_INT(mim_keylog_parse(bad, n, &out), MIM_EINVAL);
    memcpy(bad, line, n);
    bad[n] = ' '; /* trailing space */
    EXPECT_INT(mim_keylog_parse(bad, n + 1, &out), MIM_EINVAL);
}

static void temp_path(char *path, size_t len, const char *leaf)
{
    snprintf(path, len, "%s/keylog-%d-%s", MIM_TEST_TMP, (int)getpid(), leaf);
    unlink(path);
}

/* A new file is 0600 even under a umask that would leave it open, and holds exactly the lines. */
static void test_file(void **state)
{
    char path[512], line[MIM_KEYLOG_LINE_LEN + 1], *text;
    mim_keylog_entry en;
    struct stat st;
    mode_t old;

    (void)state;
    temp_path(path, sizeof(path), "new");
    memset(&en, 0x5a, sizeof(en));
    mim_keylog_write(&en); /* off: nothing, nowhere */
    assert_false(mim_keylog_enabled());
    old = umask(0);
    EXPECT_INT(mim_keylog_open(path), 0);
    umask(old);
    assert_true(mim_keylog_enabled());
    EXPECT_INT(mim_keylog_open(path), MIM_EEXIST); /* one per process */
    assert_int_equal(stat(path, &st), 0);
    EXPECT_INT(st.st_mode & 07777, 0600);
    mim_keylog_write(&en);
    mim_keylog_write(&en);
    mim_keylog_close();
    assert_false(mim_keylog_enabled());
    text = mim_test_read_file(path);
    mim_keylog_format(&en, line);
    EXPECT_INT(strlen(text), 2 * MIM_KEYLOG_LINE_LEN);
    assert_memory_equal(text, line, MIM_KEYLOG_LINE_LEN);
    assert_memory_equal(text + MIM_KEYLOG_LINE_LEN, line, MIM_KEYLOG_LINE_LEN);
    free(text);
    /* An existing 0600 file of ours is appended to. */
    EXPECT_INT(mim_keylog_open(path), 0);
    mim_keylog_write(&en);
    mim_keylog_close();
    assert_int_equal(stat(path, &st), 0);
    EXPECT_INT(st.st_size, 3 * MIM_KEYLOG_LINE_LEN);
    unlink(path);
}

static void test_refusals(void **state)
{
    char path[512], target[512];
    int fd;

    (void)state;
    temp_path(target, sizeof(target), "target");
    fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    temp_path(path, sizeof(path), "link");
    assert_int_equal(symlink(target, path), 0);
    EXPECT_INT(mim_keylog_open(path), MIM_EPERM); /* a symlink, even to a good file */
    unlink(path);
    assert_int_equal(chmod(target, 0644), 0);
    EXPECT_INT(mim_keylog_open(target), MIM_EPERM); /* others could read it */
    assert_int_equal(chmod(target, 0640), 0);
    EXPECT_INT(mim_keylog_open(target), MIM_EPERM);
    assert_int_equal(chmod(target, 0600), 0);
    if (geteuid() == 0) { /* another user's file: only root can make one here */
        assert_int_equal(chown(target, 65534, 65534), 0);
        EXPECT_INT(mim_keylog_open(target), MIM_EPERM);
    }
    unlink(target);
    EXPECT_INT(mim_keylog_open("/dev/null"), MIM_EPERM); /* not a regular file */
    EXPECT_INT(mim_keylog_open(MIM_TEST_TMP), MIM_EIO);  /* a directory: cannot be opened */
    assert_false(mim_keylog_enabled());
}

/* --key-log wins over MIM_KEYLOG_FILE; an empty MIM_KEYLOG_FILE is off; a refusal is -1. */
static void test_start(void **state)
{
    char env_path[512], opt_path[512];
    struct stat st;

    (void)state;
    temp_path(env_path, sizeof(env_path), "env");
    temp_path(opt_path, sizeof(opt_path), "opt");
    setenv(MIM_KEYLOG_ENV, "", 1);
    EXPECT_INT(mim_keylog_start("test", NULL), 0);
    assert_false(mim_keylog_enabled());
    setenv(MIM_KEYLOG_ENV, env_path, 1);
    EXPECT_INT(mim_keylog_start("test", opt_path), 0);
    mim_keylog_close();
    assert_int_equal(stat(opt_path, &st), 0);
    assert_int_not_equal(stat(env_path, &st), 0);
    EXPECT_INT(mim_keylog_start("test", NULL), 0);
    assert_true(mim_keylog_enabled());
    mim_keylog_close();
    assert_int_equal(stat(env_path, &st), 0);
    assert_int_equal(chmod(env_path, 0644), 0);
    EXPECT_INT(mim_keylog_start("test", NULL), -1);
    assert_false(mim_keylog_enabled());
    unsetenv(MIM_KEYLOG_ENV);
    unlink(env_path);
    unlink(opt_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_file),           cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_start),
    };
    if (mim_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
