/* Fuzz target for the JSON API's line handler (peer/json_api.c): fuzzer-chosen bytes arrive as
 * if read from stdin (split into lines, over-long lines skipped, a last line without newline),
 * and every command runs against a STUB core defined here -- no store, no network -- whose
 * answers (success or each MIM_CORE_E* refusal) the input chooses, so every answer path of every
 * command is reached. The stub also plays back the core's events for a send batch (on_queued,
 * or on_send_failed when the "commit" fails), as the real core does at mim_core_batch_end.
 *
 * Invariant: stdout (redirected to a temporary file) holds only lines that are each one JSON
 * object with a string "event" -- whatever the input, a front end reading the API never sees
 * a broken line. json_api.c is included whole (its other files beside it) so its static line reader
 * can be driven without a test seam in production code; this target links neither the core nor the
 * TUI.
 *
 * Input: byte 0 picks the stub's answers (low 3 bits: the return code; bit 3: history has
 * items); the rest is stdin, fed in pieces cut at the bytes' values of byte 1. */
#include "../../peer/json_api.c"

#include "fuzz.h"
#include "mim_search_query.h"

#include <jansson.h>

static uint8_t stub_mode;
static json_api *stub_ja; /* the events' ud, as the real core's */
static mim_msg_id batch_ids[64];
static char batch_to[64][64];
static size_t batch_n;
static int batch_open;

static int stub_rc(void)
{
    static const int rcs[16] = {0,
                                MIM_CORE_EUNKNOWN_PEER,
                                MIM_CORE_ETEXT,
                                MIM_CORE_EBAD_NAME,
                                MIM_CORE_ESTORE,
                                MIM_CORE_EBAD_VALUE,
                                MIM_CORE_ENOTHING,
                                MIM_CORE_EFINGERPRINT,
                                0,
                                MIM_CORE_ESELF,
                                MIM_CORE_EEMPTY,
                                MIM_CORE_ETOO_LONG,
                                MIM_CORE_EUNSEEN,
                                0,
                                0,
                                0};
    /* Bit 3 picks the second half, the codes of issue 13; 0 still comes most often. */
    return rcs[stub_mode & 7 ? (stub_mode & 7) | (stub_mode & 8) : 0];
}

void mim_core_batch_begin(mim_core *c)
{
    (void)c;
    FUZZ_CHECK(!batch_open); /* json_api never nests batches */
    batch_open = 1;
    batch_n = 0;
}

void mim_core_batch_end(mim_core *c)
{
    const mim_core_events *ev = json_api_core_events();

    (void)c;
    FUZZ_CHECK(batch_open);
    batch_open = 0;
    for (size_t i = 0; i < batch_n; i++) {
        if (stub_mode & 0x10)
            ev->on_send_failed(stub_ja, batch_to[i], &batch_ids[i]);
        else
            ev->on_queued(stub_ja, batch_to[i], &batch_ids[i]);
    }
    batch_n = 0;
}

int mim_core_send(mim_core *c, const char *to, const char *text, mim_msg_id *id)
{
    static uint32_t counter;

    (void)c, (void)text;
    FUZZ_CHECK(batch_open); /* the JSON API sends inside a batch only */
    if (stub_rc() != 0)
        return stub_rc();
    memset(id, 0, sizeof(*id));
    memcpy(id, &counter, sizeof(counter));
    counter++;
    if (batch_n < 64) {
        batch_ids[batch_n] = *id;
        snprintf(batch_to[batch_n], sizeof(batch_to[batch_n]), "%s", to);
        batch_n++;
    }
    return 0;
}

void mim_core_who(mim_core *c, void (*cb)(void *arg, const mim_core_peer_info *p), void *arg)
{
    mim_core_peer_info p = {.name = "bob",
                            .addr = "127.0.0.1",
                            .port = 4243,
                            .fingerprint = "ab:cd",
                            .status = MIM_CORE_AVAILABLE,
                            .text = "hi"};
    (void)c;
    cb(arg, &p);
}

int mim_core_history(mim_core *c, const char *with, size_t limit,
                     void (*cb)(void *arg, const mim_core_history_item *m), void *arg)
{
    (void)c;
    FUZZ_CHECK(limit >= 1 && limit <= MIM_CORE_HISTORY_MAX);
    if (stub_rc() != 0)
        return stub_rc();
    for (int i = 0; (stub_mode & 8) && i < 3; i++) {
        /* The name the command gave comes back as sender and text: any bytes at all. */
        mim_core_history_item m = {.ts_ms = i == 2 ? INT64_MIN : i,
                                   .from = with,
                                   .to = i ? "me" : NULL,
                                   .text = with,
                                   .state = (mim_core_msg_state)i,
                                   .content_type = i * 7};
        cb(arg, &m);
    }
    return 0;
}

/* The query's expression and the name come back as text and snippet (any bytes at all), with
 * marks anywhere in the snippet, as the real core's never are: the JSON must hold anyway. */
int mim_core_search(mim_core *c, const struct mim_search_query *q, const char *with, size_t limit,
                    void (*cb)(void *arg, const mim_core_search_item *it), void *arg)
{
    (void)c;
    FUZZ_CHECK(q != NULL && q->nterms > 0 && limit >= 1 && limit <= MIM_CORE_SEARCH_MAX);
    if (stub_rc() != 0)
        return stub_rc();
    for (size_t i = 0; (stub_mode & 8) && i < 3; i++) {
        size_t n = strlen(q->expr);
        mim_core_search_item it = {.ts_ms = (int64_t)i,
                                   .from = with,
                                   .to = "me",
                                   .peer = with,
                                   .text = q->expr,
                                   .snippet = q->expr,
                                   .nmarks = i};
        for (size_t m = 0; m < i; m++)
            it.marks[m].start = m * n / 3, it.marks[m].end = n;
        cb(arg, &it);
    }
    return 0;
}

/* Issue 16: a room's search answers as a search with the room's name does. */
int mim_core_search_room(mim_core *c, const struct mim_search_query *q, const char *room,
                         size_t limit, void (*cb)(void *arg, const mim_core_search_item *it),
                         void *arg)
{
    FUZZ_CHECK(room != NULL);
    return mim_core_search(c, q, room, limit, cb, arg);
}

int mim_core_status(mim_core *c, mim_core_user_status status, const char *text)
{
    (void)c, (void)status, (void)text;
    return stub_rc();
}

int mim_core_verify(mim_core *c, const char *with, char out[MIM_CORE_SAFETY_NUMBER_LEN],
                    int *new_key)
{
    (void)c, (void)with;
    *new_key = (stub_mode & 0x20) != 0;
    snprintf(out, MIM_CORE_SAFETY_NUMBER_LEN, "%s", "12345 67890");
    return stub_rc();
}

int mim_core_trust(mim_core *c, const char *with, const char *fingerprint)
{
    (void)c, (void)with, (void)fingerprint;
    return stub_rc();
}

int mim_core_verified(mim_core *c, const char *with, int value)
{
    (void)c, (void)with, (void)value;
    return stub_rc();
}

int mim_core_trust_server(mim_core *c, const char *fingerprint)
{
    (void)c, (void)fingerprint;
    return stub_rc();
}

int mim_core_close_chat(mim_core *c, const char *with)
{
    (void)c, (void)with;
    return stub_rc();
}

int mim_core_contacts(mim_core *c, void (*cb)(void *arg, const mim_core_contact_info *ci),
                      void *arg)
{
    (void)c;
    if (stub_rc() != 0)
        return stub_rc();
    for (int i = 0; (stub_mode & 8) && i < 2; i++) {
        mim_core_contact_info ci = {.name = i ? "bob" : "\xff",
                                    .fingerprint = "",
                                    .pending_fingerprint = "",
                                    .status_text = i ? "" : "\xfe",
                                    .unread = (size_t)i * 3,
                                    .online = i,
                                    .blocked = !i};
        cb(arg, &ci);
    }
    return 0;
}

/* Issue 14: the answer now (as without a directory server) with hostile text, or an error. */
int mim_core_directory(mim_core *c)
{
    const mim_core_events *ev = json_api_core_events();
    mim_core_directory_entry e[2] = {{.name = "\xff\x01", .fingerprint = "", .online = 1},
                                     {.name = "bob", .fingerprint = "ab", .last_seen_ms = 5}};
    mim_msg_id id = {{0}};

    (void)c;
    if (stub_rc() != 0)
        return stub_rc();
    ev->on_directory(stub_ja, e, (stub_mode & 8) ? 2 : 0, (stub_mode & 0x10) != 0);
    ev->on_lookup_failed(stub_ja, "bob", &id,
                         (stub_mode & 0x20) ? MIM_CORE_LOOKUP_NO_ANSWER
                                            : MIM_CORE_LOOKUP_NOT_REGISTERED);
    return 0;
}

int mim_core_login(mim_core *c)
{
    (void)c;
    return stub_rc();
}

int mim_core_logout(mim_core *c)
{
    (void)c;
    return stub_rc();
}

int mim_core_typing(mim_core *c, const char *with, int typing)
{
    (void)c, (void)with, (void)typing;
    return stub_rc();
}

int mim_core_set_receipts(mim_core *c, int on)
{
    (void)c, (void)on;
    return stub_rc();
}

int mim_core_block(mim_core *c, const char *name, int blocked)
{
    (void)c, (void)name, (void)blocked;
    return stub_rc();
}

void mim_core_input(mim_core *c)
{
    (void)c;
}

int mim_core_mark_read(mim_core *c, const char *with)
{
    (void)c, (void)with;
    return stub_rc();
}

void mim_core_quit(mim_core *c, int exit_code)
{
    (void)c, (void)exit_code;
}

/* ---- files (json_cmd_files.c): the answers and, from `files`, every file event ---------- */

/* A file command's answer: stub_rc's, or (bit 5) the file codes. */
static int stub_file_rc(int code)
{
    return (stub_mode & 0x20) ? code : stub_rc();
}

int mim_core_send_file(mim_core *c, const char *to, const char *path, mim_msg_id *id)
{
    const mim_core_events *ev = json_api_core_events();
    int rc = stub_file_rc((stub_mode & 1) ? MIM_CORE_ENO_FILE : MIM_CORE_ETOO_BIG);

    (void)c, (void)path;
    FUZZ_CHECK(!batch_open); /* not inside a send batch (core.h) */
    if (rc != 0)
        return rc;
    memset(id, 0x5a, sizeof(*id));
    ev->on_queued(stub_ja, to, id); /* from inside the call, as the real core */
    return 0;
}

int mim_core_accept_file(mim_core *c, const mim_msg_id *id)
{
    (void)c, (void)id;
    return stub_file_rc(MIM_CORE_ENO_TRANSFER);
}

int mim_core_reject_file(mim_core *c, const mim_msg_id *id)
{
    return mim_core_accept_file(c, id);
}

int mim_core_files(mim_core *c, void (*cb)(void *arg, const mim_core_file_info *f), void *arg)
{
    const mim_core_events *ev = json_api_core_events();
    int rc = stub_file_rc(0);

    (void)c;
    if (rc != 0)
        return rc;
    for (int i = 0; (stub_mode & 8) && i < 2; i++) {
        mim_core_file_info f = {.with = i ? "bob" : "\xff",
                                .dir = (mim_core_file_dir)i,
                                .state = (mim_core_file_state)(stub_mode >> 5),
                                .name = i ? "cat.png" : "\xfe\x01",
                                .path = "/tmp/x",
                                .size = i ? 100 : -1,
                                .bytes = 7,
                                .nfiles = 1,
                                .media_type = i ? "image/png" : "",
                                .sha256 = "",
                                .error = i ? "" : "\xc0",
                                .rate = 1e300};
        cb(arg, &f);
        /* Every file event, with the same strings (the output must stay JSON). */
        ev->on_file_offer(stub_ja, &f, i);
        ev->on_file_progress(stub_ja, &f);
        ev->on_file_done(stub_ja, &f);
        ev->on_file_failed(stub_ja, &f);
        ev->on_file_paused(stub_ja, &f);
    }
    return 0;
}

/* ---- rooms (json_cmd_rooms.c, issue 16): the answers, and from `rooms` every room event ---- */

/* A room command's answer: stub_rc's, or (bit 5) the room codes -124..-129. */
static int stub_room_rc(void)
{
    return (stub_mode & 0x20) ? MIM_CORE_ENO_ROOM - (int)((stub_mode >> 6) % 6) : stub_rc();
}

static void stub_room_events(const char *name)
{
    static const char *const names[] = {"alice", "\xff", "bob"};
    const mim_core_events *ev = json_api_core_events();
    mim_core_room_info r = {.id = "00112233445566778899aabbccddeeff",
                            .name = name,
                            .members = names,
                            .nmembers = 3,
                            .admins = names,
                            .nadmins = 1,
                            .epoch = 3,
                            .member = (stub_mode & 1) != 0};
    mim_core_msg_meta meta = {.room_id = r.id, .room_name = name, .broadcast = stub_mode & 3};
    mim_core_fanout_delivery d = {.to = "bob",
                                  .kind = 1 + (stub_mode & 1),
                                  .room_id = r.id,
                                  .room_name = name,
                                  .delivered = 1,
                                  .total = 2};
    mim_msg_id id;

    memset(&id, 0x3c, sizeof(id));
    d.id = &id;
    ev->on_room(stub_ja, &r);
    ev->on_message(stub_ja, "bob", &id, 1, name, &meta);
    ev->on_fanout_delivered(stub_ja, &d);
}

int mim_core_room_create(mim_core *c, const char *name, const char *const *members, size_t n,
                         char id_out[MIM_MSG_ID_HEX_LEN])
{
    int rc = stub_room_rc();

    (void)c, (void)members, (void)n, (void)id_out;
    if (rc == 0)
        stub_room_events(name); /* from inside, as the real core */
    return rc;
}

int mim_core_room_send(mim_core *c, const char *room, const char *text, mim_msg_id *id)
{
    (void)c, (void)room, (void)text;
    memset(id, 0x4b, sizeof(*id));
    return stub_room_rc();
}

int mim_core_room_add(mim_core *c, const char *room, const char *name)
{
    (void)c, (void)room, (void)name;
    return stub_room_rc();
}

int mim_core_room_remove(mim_core *c, const char *room, const char *name)
{
    return mim_core_room_add(c, room, name);
}

int mim_core_room_admin(mim_core *c, const char *room, const char *name)
{
    return mim_core_room_add(c, room, name);
}

int mim_core_room_leave(mim_core *c, const char *room)
{
    return mim_core_room_add(c, room, "");
}

int mim_core_rooms(mim_core *c, void (*cb)(void *arg, const mim_core_room_info *r), void *arg)
{
    static const char *const names[] = {"alice"};
    mim_core_room_info r = {.id = "00112233445566778899aabbccddeeff",
                            .name = "\xc3",
                            .members = names,
                            .nmembers = 1,
                            .epoch = 1};
    int rc = stub_room_rc();

    (void)c;
    if (rc == 0)
        cb(arg, &r);
    return rc;
}

int mim_core_room_history(mim_core *c, const char *room, size_t limit,
                          void (*cb)(void *arg, const mim_core_history_item *m), void *arg)
{
    return mim_core_history(c, room, limit, cb, arg);
}

/* ---- issue 16: broadcast (json_cmd_broadcast.c) ---- */

/* The broadcast commands' own refusals, or stub_rc()'s. */
static int stub_bcast_rc(void)
{
    static const int rcs[] = {MIM_CORE_ENOT_BROADCASTER, MIM_CORE_ENOBODY, MIM_CORE_ENOT_IMPORTANT,
                              MIM_CORE_ENOTHING};
    return (stub_mode & 0x20) ? rcs[stub_mode & 3] : stub_rc();
}

int mim_core_broadcast(mim_core *c, const char *text, int important, mim_msg_id *id,
                       uint32_t *copies)
{
    const mim_core_events *ev = json_api_core_events();
    int rc = stub_bcast_rc();

    (void)c, (void)text, (void)important;
    if (rc != 0)
        return rc;
    memset(id, 0xbc, sizeof(*id));
    *copies = 2;
    ev->on_queued(stub_ja, "bob", id); /* from inside the call, as the real core */
    ev->on_broadcast_ack(stub_ja, (stub_mode & 8) ? "\xff" : "bob", id);
    return 0;
}

int mim_core_ack_broadcast(mim_core *c, const mim_msg_id *id)
{
    (void)c, (void)id;
    return stub_bcast_rc();
}

int mim_core_broadcast_status(mim_core *c, const mim_msg_id *id,
                              void (*cb)(void *arg, const char *name, int acked), void *arg)
{
    int rc = stub_bcast_rc();

    (void)c, (void)id;
    if (rc != 0)
        return rc;
    cb(arg, "bob", 1);
    cb(arg, (stub_mode & 8) ? "\xfe" : "carol", 0);
    return 0;
}

/* core.c's, which this target does not link (it would bring the real commands). */
void mim_msg_id_hex(const mim_msg_id *id, char out[MIM_MSG_ID_HEX_LEN])
{
    for (size_t i = 0; i < sizeof(id->bytes); i++)
        snprintf(out + 2 * i, 3, "%02x", id->bytes[i]);
}

/* ---- the harness ----------------------------------------------------------------------------- */

static FILE *out_file;

static void check_output(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    fflush(stdout);
    rewind(out_file);
    while ((n = getline(&line, &cap, out_file)) > 0) {
        json_error_t err;
        json_t *ev;

        FUZZ_CHECK(line[n - 1] == '\n'); /* every answer is a whole line */
        ev = json_loadb(line, (size_t)n - 1, 0, &err);
        FUZZ_CHECK(json_is_object(ev));
        FUZZ_CHECK(json_is_string(json_object_get(ev, "event")));
        json_decref(ev);
    }
    free(line);
    FUZZ_CHECK(ftruncate(fileno(out_file), 0) == 0);
    rewind(out_file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_api *ja;
    size_t piece;

    if (out_file == NULL) {
        /* The API writes to stdout: keep it, to check it, and off the fuzzer's terminal. */
        FUZZ_CHECK((out_file = tmpfile()) != NULL);
        FUZZ_CHECK(dup2(fileno(out_file), STDOUT_FILENO) >= 0);
        mim_log_set_level(MIM_LOG_ERROR);
    }
    if (size < 2)
        return 0;
    stub_mode = data[0];
    piece = 1 + data[1];
    data += 2, size -= 2;
    FUZZ_CHECK((ja = json_api_new(NULL, NULL, NULL)) != NULL);
    stub_ja = ja;
    ja->core = (mim_core *)&stub_mode; /* never dereferenced: the stub ignores it */
    ja->reading = 1;
    /* The bytes come in reads of `piece` bytes, as from a pipe: lines span reads. */
    for (size_t off = 0; off < size && ja->reading; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        feed(ja, (const char *)data + off, n);
    }
    at_eof(ja);
    FUZZ_CHECK(!batch_open); /* every batch was ended */
    json_api_free(ja);
    check_output();
    return 0;
}
