/* Protobuf codec for mim's wire messages, with validation after decoding.
 *
 * protobuf-c only checks that bytes parse; these functions then check what mim needs before
 * anything acts on a message: exactly one oneof arm set and allowed in that direction, keys of
 * exactly 32 bytes, signatures of 64, names and texts within their limits and valid UTF-8,
 * ports in range, enums known. A decoded message is owned by the caller and freed with the
 * matching *_free function. */
#ifndef MIM_CODEC_H
#define MIM_CODEC_H

#include "handshake.pb-c.h"
#include "peer.pb-c.h"
#include "presence.pb-c.h"
#include "cluster.pb-c.h"
#include "mim_buf.h"
#include "mim_limits.h" /* MIM_NAME_MAX_CHARS, MIM_NAME_MAX_BYTES */
#include "mim_name.h"   /* mim_name_valid: the name rule */

#include <stddef.h>
#include <stdint.h>

#define MIM_STATUS_TEXT_MAX  128 /* bytes of UTF-8 */
#define MIM_ERROR_TEXT_MAX   256 /* bytes of UTF-8 */
#define MIM_PROTOCOL_VERSION 1
#define MIM_MSG_ID_LEN       16    /* a chat message id */
#define MIM_CHAT_TEXT_MAX    4096  /* bytes of UTF-8 in one text message */
#define MIM_ACK_MAX_IDS      1024  /* ids in one Ack */
#define MIM_RECEIPT_MAX_IDS  1024  /* ids in one Receipt */
#define MIM_CHUNK_DATA_MAX   60000 /* bytes of data in one Chunk (images, files) */
#define MIM_MEDIA_TYPE_MAX   127   /* bytes of a Chunk's media_type */
#define MIM_FILE_NAME_MAX    255   /* bytes of a Chunk's file_name */

/* Which side sent a presence batch: decides which messages are allowed in it. */
enum mim_direction {
    MIM_FROM_PEER = 0,   /* peer -> server: login, status_set, ping, pong, logout */
    MIM_FROM_SERVER = 1, /* server -> peer: table, add, del, status, ping, pong, error */
};

/* mim_name_valid(), the name rule, is in mim_name.h (the door to ICU), included above. */
/* 1 when s (len bytes) is valid UTF-8 of at most max bytes with no control characters at all,
 * not even newline or tab (status and error texts are single-line), and none of the invisible
 * formatting characters refused in names. Else 0. */
int mim_text_valid(const char *s, size_t len, size_t max);

/* ---- handshake payload ---- */

/* Encodes into out (appends). 0 or MIM_ENOMEM. */
int mim_handshake_payload_encode(const uint8_t identity_pk[32], const uint8_t static_sig[64],
                                 const char *name, mim_buf *out);
/* HandshakePayload.features: what else a peer understands (0 from older versions). */
#define MIM_FEATURE_RECEIPTS 1u /* PeerMsg Receipt and Typing (issue 13) */
/* The same with features (MIM_FEATURE_* bits; 0 is left out of the encoding). */
int mim_handshake_payload_encode_features(const uint8_t identity_pk[32],
                                          const uint8_t static_sig[64], const char *name,
                                          uint32_t features, mim_buf *out);
/* What the name in a handshake payload must be. */
enum {
    MIM_HS_NAME_EMPTY = 0, /* the server's payload: no name */
    MIM_HS_NAME_VALID = 1, /* a peer's name, checked with mim_name_valid */
    MIM_HS_NAME_ANY = 2,   /* at most MIM_NAME_MAX_BYTES bytes; the caller checks it, so it can
                            * answer an invalid name with an error the user sees */
};
/* Decodes and validates. name_mode is one of MIM_HS_NAME_*.
 * Returns 0 and *out, or MIM_EDECODE with a reason in err (errlen bytes, may be NULL). */
int mim_handshake_payload_decode(const uint8_t *p, size_t len, int name_mode,
                                 Mim__HandshakePayload **out, char *err, size_t errlen);
void mim_handshake_payload_free(Mim__HandshakePayload *m);

/* ---- presence ---- */

/* 1 when a message with this oneof arm may be sent in direction dir, else 0. */
int mim_presence_allowed(Mim__PresenceMsg__BodyCase body, enum mim_direction dir);
/* Validates one presence message as sent in direction dir. 0 or MIM_EDECODE + reason. */
int mim_presence_msg_validate(const Mim__PresenceMsg *m, enum mim_direction dir, char *err,
                              size_t errlen);
/* Decodes a transport plaintext (a PresenceBatch) and validates every message in it. An empty
 * batch is malformed. 0 and *out, or MIM_EDECODE + reason. */
int mim_presence_batch_decode(const uint8_t *p, size_t len, enum mim_direction dir,
                              Mim__PresenceBatch **out, char *err, size_t errlen);
void mim_presence_batch_free(Mim__PresenceBatch *b);

/* Appends one message to `out` as an element of a PresenceBatch (field 1 tag, length, bytes),
 * so a batch is built by appending elements: encode a broadcast once, append its bytes to
 * many batches. 0 or MIM_ENOMEM. */
int mim_presence_batch_append(mim_buf *out, const Mim__PresenceMsg *m);

/* Fills `info` (a Mim__PresenceMsg body piece) views over caller-owned data: no allocation. */
void mim_peer_info_init(Mim__PeerInfo *info, const char *name, const uint8_t *addr, size_t addr_len,
                        uint16_t port, const uint8_t identity_pk[32], int status,
                        const char *status_text);

/* Makes m a Pong answering a Ping's nonce; its body is `pong`, the caller's: no allocation. */
void mim_presence_pong_init(Mim__PresenceMsg *m, Mim__Pong *pong, uint64_t nonce);

/* Makes m a Login (docs/PROTOCOL.md 7.1) of `name` listening on `port`, with the identity key, its
 * signature over the static key, the login signature the caller made (mim_login_sign over
 * this handshake's hash) and the MIM_LOGIN_FEATURE_* bits the peer understands (0: none, as an
 * older peer). Views over the caller's data, which must outlive m: no allocation. */
void mim_login_init(Mim__PresenceMsg *m, Mim__Login *login, const char *name, uint16_t port,
                    const uint8_t identity_pk[32], const uint8_t static_sig[64],
                    const uint8_t login_sig[64], uint32_t features);

/* ---- the online table, as a newcomer gets it ---- */

#define MIM_TABLE_CHUNK_MAX_PEERS 1024 /* docs/PROTOCOL.md: at most this many entries a chunk */

/* One TableChunk, written as a PresenceBatch element (PresenceMsg{table}) straight into the
 * caller's memory: no array of PeerInfo and no intermediate copy, so a login storm (a table of
 * up to n entries for each newcomer) leaves no big transient allocation behind. The caller walks
 * its entries twice, filling a PeerInfo view of each (mim_peer_info_init):
 *   sizing:  mim_table_chunk_init; mim_table_chunk_count for each entry until it returns 0 (the
 *            chunk is full: that entry opens the next one) or the entries run out; then
 *            mim_table_chunk_len gives the element's exact length;
 *   writing: mim_table_chunk_start at that much room, mim_table_chunk_put for each entry
 *            counted, in the same order, then mim_table_chunk_end.
 * Chunks are sized by their encoded bytes, so each fits one frame whatever the names, addresses
 * and status texts. */
typedef struct mim_table_chunk {
    size_t body_max;  /* bytes of PeerInfo elements that fit beside the wrapping */
    size_t body;      /* bytes of the PeerInfo elements counted */
    size_t peers;     /* entries counted */
    size_t len;       /* the whole element, once sized */
    int last;         /* the table's last chunk: TableChunk.last is written */
    uint8_t *p, *end; /* writing: the next byte and the element's end; p NULL after an overflow */
} mim_table_chunk;

/* Starts sizing a chunk whose element must fit in max_len bytes (a frame's plaintext). */
void mim_table_chunk_init(mim_table_chunk *c, size_t max_len);
/* Counts one more entry into the chunk: 1, or 0 when the chunk is full (it holds
 * MIM_TABLE_CHUNK_MAX_PEERS entries, or the entry's bytes do not fit) and nothing was counted. */
int mim_table_chunk_count(mim_table_chunk *c, const Mim__PeerInfo *info);
/* Ends the sizing; last = 1 when the entries counted end the table. Returns the element's
 * length in bytes, the room mim_table_chunk_start needs. */
size_t mim_table_chunk_len(mim_table_chunk *c, int last);
/* Writes the element's wrapping at dst, which has mim_table_chunk_len() bytes of room. */
void mim_table_chunk_start(mim_table_chunk *c, uint8_t *dst);
/* Writes the next entry counted. One that would not fit the room is not written, nor is any
 * after it: mim_table_chunk_end then fails. */
void mim_table_chunk_put(mim_table_chunk *c, const Mim__PeerInfo *info);
/* Ends the element. 0 when exactly its length was written, MIM_EOVERFLOW when the entries put
 * were not those counted (nothing was written past the room; the element is unusable). */
int mim_table_chunk_end(mim_table_chunk *c);

/* ---- peer to peer ---- */

/* 1 when s (len bytes) is 1..MIM_CHAT_TEXT_MAX bytes of valid UTF-8 whose only control
 * characters are newline and tab (no escape sequences, no C1). Bidi and other formatting marks
 * are allowed in chat text (right-to-left languages need them); a user interface must still
 * render them safely. */
int mim_chat_text_valid(const char *s, size_t len);
/* Cuts s (NUL-terminated UTF-8 that snprintf may have cut short) back to its last whole
 * character, so that a bounded text never ends inside one (the peer's codec refuses such text,
 * and JSON cannot carry it). */
void mim_utf8_cut(char *s);
/* One character of s (len bytes, *i < len) at s[*i], advancing *i past it: the code point, or
 * -1 for an invalid sequence (cut short, overlong, a surrogate, past U+10FFFF; *i is then not
 * moved). The one UTF-8 decoder of the checks above, for other checks of peers' text (file
 * names: peer/file_name.c). */
long mim_utf8_next(const char *s, size_t len, size_t *i);
/* 1 for a character mim_text_valid refuses: C0 and C1 controls, DEL, zero-width and bidi
 * formatting, line and paragraph separators, BOM. */
int mim_text_forbidden_char(long cp);
/* Validates one peer message: chat (16-byte id, sender a valid name; CONTENT_TEXT with valid
 * chat text and no chunk; any other content type but UNSPECIFIED -- images, files, types of
 * later versions -- with an optional caption that is valid chat text and an optional Chunk
 * within its limits), ack (1..MIM_ACK_MAX_IDS ids of 16 bytes), close, ping, pong. 0 or
 * MIM_EDECODE. */
int mim_peer_msg_validate(const Mim__PeerMsg *m, char *err, size_t errlen);
/* Decodes a peer transport plaintext (a PeerBatch, not empty) and validates every message. */
int mim_peer_batch_decode(const uint8_t *p, size_t len, Mim__PeerBatch **out, char *err,
                          size_t errlen);
void mim_peer_batch_free(Mim__PeerBatch *b);
/* Appends one message to `out` as an element of a PeerBatch (as mim_presence_batch_append). */
int mim_peer_batch_append(mim_buf *out, const Mim__PeerMsg *m);
/* A ChatMessage as bytes, as the peer stores a message it cannot show (for a later version to
 * read): *out is malloc'd (at least 1 byte; the caller frees it), *out_len its length. 0, or
 * MIM_ENOMEM (*out NULL). */
int mim_chat_message_pack(const Mim__ChatMessage *m, uint8_t **out, size_t *out_len);
/* Reads back what mim_chat_message_pack wrote; NULL when it does not parse. Not validated
 * again (it was, when it arrived). Free it with mim_chat_message_free. */
Mim__ChatMessage *mim_chat_message_unpack(const uint8_t *p, size_t len);
void mim_chat_message_free(Mim__ChatMessage *m); /* NULL is fine */

/* ---- issue 14: the directory and the sealed mailbox (mim_codec_mail.c) ---- */

/* The server's HandshakePayload.features bit: it answers the arms lookup .. mail_taken. */
#define MIM_FEATURE_MAILBOX 2u
/* Login.features bit 0: the peer understands those arms; the server sends them only then. */
#define MIM_LOGIN_FEATURE_MAILBOX 1u
#define MIM_DIRECTORY_PAGE_MAX    256 /* entries in one DirectoryPage: any 256 fit a frame */
#define MIM_MAIL_SEALED_MAX                                                                        \
    60000                            /* bytes of a sealed letter on the wire (a server's           \
                                      * --mailbox-blob-max is at most this) */
#define MIM_MAIL_TAKEN_MAX_SEQS 1024 /* seqs in one MailTaken */

/* 1 when body c is one of issue 14's arms and may be sent in direction dir; 0 otherwise (also
 * for every other arm: mim_presence_allowed asks this last). */
int mim_presence_mail_allowed(Mim__PresenceMsg__BodyCase c, enum mim_direction dir);
/* 1 when body c is one of issue 14's arms (11-18), whichever direction. */
int mim_presence_is_mail_arm(Mim__PresenceMsg__BodyCase c);
/* Validates one of issue 14's arms (the direction is checked already): names valid (a Lookup's
 * and LookupResult's name: UTF-8 text of 1..MIM_NAME_MAX_BYTES, the server puts it in NFC),
 * ids of 16 bytes, keys of 32, sealed letters of 1..MIM_MAIL_SEALED_MAX bytes, a DirectoryPage
 * of at most MIM_DIRECTORY_PAGE_MAX entries in strictly ascending byte order and none when
 * refused, DepositResult known, seqs not 0, 1..MIM_MAIL_TAKEN_MAX_SEQS of them. Any other arm is
 * "unknown message". 0 or MIM_EDECODE + reason. */
int mim_presence_mail_validate(const Mim__PresenceMsg *m, char *err, size_t errlen);

/* The bytes mim_presence_batch_append appends for m (tag, length and message). */
size_t mim_presence_element_len(const Mim__PresenceMsg *m);

/* Builders: each makes m the arm named, its body the caller's `body`, over the caller's data,
 * which must outlive m: no allocation (as mim_login_init). */
/* A DirectoryEntry view (not a message of its own). */
void mim_directory_entry_init(Mim__DirectoryEntry *e, const char *name,
                              const uint8_t identity_pk[32], int online, uint64_t last_seen_ms);
void mim_lookup_init(Mim__PresenceMsg *m, Mim__Lookup *body, const char *name);
/* entry NULL: the name is not registered. */
void mim_lookup_result_init(Mim__PresenceMsg *m, Mim__LookupResult *body, const char *name,
                            Mim__DirectoryEntry *entry);
/* after "" (or NULL): from the start; limit 0: the server's page size. */
void mim_directory_list_init(Mim__PresenceMsg *m, Mim__DirectoryList *body, const char *after,
                             uint32_t limit);
/* entries: n pointers (n <= MIM_DIRECTORY_PAGE_MAX), in ascending byte order of name. */
void mim_directory_page_init(Mim__PresenceMsg *m, Mim__DirectoryPage *body,
                             Mim__DirectoryEntry **entries, size_t n, int last, int refused);
void mim_deposit_init(Mim__PresenceMsg *m, Mim__Deposit *body, const char *to,
                      const uint8_t id[MIM_MSG_ID_LEN], const uint8_t *sealed, size_t sealed_len);
void mim_deposit_ack_init(Mim__PresenceMsg *m, Mim__DepositAck *body, const char *to,
                          const uint8_t id[MIM_MSG_ID_LEN], Mim__DepositResult result,
                          uint64_t expires_in_ms, uint64_t retry_after_ms);
void mim_mail_item_init(Mim__PresenceMsg *m, Mim__MailItem *body, uint64_t seq, const char *from,
                        const uint8_t from_pk[32], const uint8_t id[MIM_MSG_ID_LEN],
                        const uint8_t *sealed, size_t sealed_len, uint64_t deposited_ms);
/* seqs: n of them (1..MIM_MAIL_TAKEN_MAX_SEQS), not 0. */
void mim_mail_taken_init(Mim__PresenceMsg *m, Mim__MailTaken *body, uint64_t *seqs, size_t n);
/* A word for a DepositResult, for logs and messages ("ok", "unknown name", ...). */
const char *mim_deposit_result_str(Mim__DepositResult r);

/* ---- the sealed letter (issue 14): mim_codec_letter.c ---- */

/* Encodes a letter into out (appends). 0 or MIM_ENOMEM. */
int mim_letter_encode(const Mim__MailLetter *l, mim_buf *out);
/* Decodes and validates a letter (the plaintext of a sealed blob: bytes the server cannot
 * alter, but any registered sender can write): canonical; from and to valid names; from_pk and
 * to_pk 32 bytes; a body: a chat as mim_peer_msg_validate checks it, or a receipt of 1..1024
 * ids of 16 bytes and no refused. 0 and *out (mim_letter_free), or MIM_EDECODE with a reason. */
int mim_letter_decode(const uint8_t *p, size_t len, Mim__MailLetter **out, char *err,
                      size_t errlen);
void mim_letter_free(Mim__MailLetter *l); /* NULL is fine */
/* ---- files, folders and images (issue 15): mim_codec_file.c -------------------------------- */

#define MIM_FEATURE_FILES 4u /* bit 2: FileOffer, and this peer serves bulk connections */
#define MIM_FEATURE_BULK  8u /* bit 3: set only by the dialler of a bulk connection */
/* bit 4: checks offers whose chunk hashes are the SHA-256 chain (FileOffer.hash_scheme 1); a
 * peer with FILES but not this one is of the first version and is offered BLAKE2b hashes */
#define MIM_FEATURE_FILE_CHAIN 16u

#define MIM_FILE_NAME_BYTES   255 /* FileOffer.name */
#define MIM_FILE_MAX_SIZE     ((uint64_t)1 << 62)
#define MIM_FILE_MAX_FILES    100000 /* FileOffer.file_count */
#define MIM_FILE_CHUNK_MIN    (64u << 10)
#define MIM_FILE_CHUNK_MAX    (16u << 20)
#define MIM_FILE_CHUNK_SIZE   (1u << 20) /* what this version offers */
#define MIM_FILE_HASH_LEN     32         /* a chunk's hash, root, manifest_hash */
#define MIM_FILE_PIECE_MAX    65024      /* FileData.data, FileHashes.hashes */
#define MIM_FILE_RANGES_MAX   1024       /* FileRequest.ranges */
#define MIM_FILE_MANIFEST_MAX 1024       /* FileManifest.entries */
#define MIM_FILE_PATH_MAX     4096       /* FileEntry.path */
#define MIM_FILE_ERROR_MAX    256        /* FileEnd.error */

/* A ChatMessage's FileOffer: name, size, counts, chunk size, hash lengths, media type. 0 or
 * MIM_EDECODE + reason. */
int mim_file_offer_check(const Mim__FileOffer *o, char *err, size_t errlen);
/* Chunks of a stream of size bytes cut at chunk_size (chunk_size > 0). */
uint64_t mim_file_chunk_count(uint64_t size, uint32_t chunk_size);
/* Decodes one bulk-connection frame's plaintext (a BulkMsg) and checks it: exactly one body;
 * ids of 16 bytes; ranges 1..MIM_FILE_RANGES_MAX, increasing, not overlapping, no count 0, none
 * with a reject; manifest entries 1..MIM_FILE_MANIFEST_MAX with paths of 1..MIM_FILE_PATH_MAX
 * bytes; hashes a non-zero multiple of 32 up to MIM_FILE_PIECE_MAX; data 1..MIM_FILE_PIECE_MAX
 * bytes below MIM_FILE_MAX_SIZE; an end's code known, error text, sha256 of 32 bytes for DONE.
 * What depends on the transfer (offsets inside it, hashes matching) is the engine's. 0 and
 * *out (mim_bulk_msg_free), or MIM_EDECODE + reason. */
int mim_bulk_msg_decode(const uint8_t *p, size_t len, Mim__BulkMsg **out, char *err, size_t errlen);
void mim_bulk_msg_free(Mim__BulkMsg *m);
/* Packs m into out (reset first). 0, or MIM_ENOMEM. */
int mim_bulk_msg_pack(const Mim__BulkMsg *m, mim_buf *out);
/* One manifest entry as manifest_hash hashes it (FileManifest's comment): appends to out. 0 or
 * MIM_ENOMEM. */
int mim_file_manifest_entry_encode(const char *path, size_t path_len, uint64_t size, mim_buf *out);

/* ---- the cluster bus (issue 18, mim_codec_cluster.c) ---- */
#define MIM_CLUSTER_SERVER_ID_MAX 64 /* bytes of [A-Za-z0-9_-] */
#define MIM_CLUSTER_BOOT_ID_LEN   16
#define MIM_CLUSTER_EVENTS_MAX    1024 /* events in one ClusterEvents, peers in one table chunk */
#define MIM_CLUSTER_MSG_MAX       (1 << 20) /* bytes of one bus message (NATS' default payload) */
int mim_cluster_server_id_valid(const char *id);
/* Decodes and checks one bus message (docs/PROTOCOL.md, "The cluster bus"): a valid server id
 * and boot id, one known body, at most MIM_CLUSTER_EVENTS_MAX events or peers, each PeerInfo and
 * StatusUpdate valid as from a server. 0 (free *out with mim_cluster_msg_free) or MIM_EDECODE
 * with the reason in err. */
int mim_cluster_msg_decode(const uint8_t *p, size_t len, Mim__ClusterMsg **out, char *err,
                           size_t errlen);
void mim_cluster_msg_free(Mim__ClusterMsg *m); /* NULL is fine */
/* Packs m into out (replacing its contents). 0 or MIM_ENOMEM. */
int mim_cluster_msg_pack(const Mim__ClusterMsg *m, mim_buf *out);

/* ---- the shared mailbox's letter (issue 18, mim_codec_mailjs.c) ---- */
/* A letter as the cluster's JetStream stream keeps it: a MailItem with seq 0 (the stream's
 * sequence is its seq). Packs into out (replacing its contents): 0 or MIM_ENOMEM. */
int mim_mail_letter_pack(const char *from, const uint8_t from_pk[32],
                         const uint8_t id[MIM_MSG_ID_LEN], const uint8_t *sealed, size_t sealed_len,
                         uint64_t deposited_ms, mim_buf *out);
/* Decodes a letter read from the stream at sequence seq (network input) and checks it by the
 * rules of a server's MailItem, with seq as its seq. 0 and *out (mim_mail_letter_free), or
 * MIM_EDECODE with the reason in err. */
int mim_mail_letter_decode(const uint8_t *p, size_t len, uint64_t seq, Mim__MailItem **out,
                           char *err, size_t errlen);
void mim_mail_letter_free(Mim__MailItem *it); /* NULL is fine */

/* ---- rooms (issue 16): mim_codec_room.c ----------------------------------------------------- */

#define MIM_ROOM_ID_LEN      16
#define MIM_ROOM_HASH_LEN    32   /* a change's hash: BLAKE2b-256 */
#define MIM_ROOM_MEMBERS_MAX 100  /* members of one room */
#define MIM_ROOM_NAME_MAX    64   /* bytes of a room's display name */
#define MIM_ROOM_CHANGE_MAX  4096 /* bytes of one packed RoomChange (100 members fit) */

/* A ChatMessage's room fields: RoomRef with a 16-byte id and an epoch >= 1; a membership
 * change (CONTENT_ROOM_CHANGE) has its RoomChange (mim_room_change_check), the same room and
 * epoch in its RoomRef, and no text; any other type no change. 0 or MIM_EDECODE + reason
 * (mim_peer_msg_validate calls it for every chat message). */
int mim_room_chat_check(const Mim__ChatMessage *c, char *err, size_t errlen);
/* One RoomChange's shape, without its signature's check (the log's, which knows the keys):
 * room 16 bytes; op known; author a valid name; signature 64 bytes; CREATE: epoch 1, no prev,
 * a display name (1..MIM_ROOM_NAME_MAX bytes of chat text, one line), 1..MIM_ROOM_MEMBERS_MAX
 * members with distinct valid names and 32-byte keys, the first the author; else: epoch >= 2,
 * prev 32 bytes, no display name, exactly one member, with a key for ADD and none otherwise,
 * the author for LEAVE. 0 or MIM_EDECODE + reason. */
int mim_room_change_check(const Mim__RoomChange *ch, char *err, size_t errlen);
/* The bytes a change's signature signs (docs/PROTOCOL.md, "Rooms"), appended to out. 0 or
 * MIM_ENOMEM. */
int mim_room_change_signed_bytes(const Mim__RoomChange *ch, mim_buf *out);
/* Decodes one packed RoomChange (a stored log entry, a fuzz input): unpacks, requires the
 * canonical encoding and mim_room_change_check. 0 and *out (mim_room_change_free), or
 * MIM_EDECODE + reason. */
int mim_room_change_decode(const uint8_t *p, size_t len, Mim__RoomChange **out, char *err,
                           size_t errlen);
void mim_room_change_free(Mim__RoomChange *ch);
/* Packs ch into a new buffer (*out, free()). 0 or MIM_ENOMEM. */
int mim_room_change_pack(const Mim__RoomChange *ch, uint8_t **out, size_t *out_len);

/* ---- issue 16, broadcast to everyone: mim_codec_bcast.c ------------------------------------ */

#define MIM_FEATURE_BROADCAST                                                                      \
    32u /* HandshakePayload bit 5: BroadcastAck, ChatMessage.broadcast                             \
         */
/* Login.features bit 5: the peer takes the BroadcasterList (arm 19); the server sends it only
 * then (the same bit as the handshake's, apart from issue 14's bit 0 and issue 18's). */
#define MIM_LOGIN_FEATURE_BROADCASTERS 32u
#define MIM_BROADCASTERS_MAX           256 /* names in a BroadcasterList (they fit a frame) */
#define MIM_SIG_BYTES                  64  /* an Ed25519 signature (mim_crypto.h's MIM_SIG_LEN) */
/* ChatMessage.broadcast */
#define MIM_BROADCAST_NONE      0u
#define MIM_BROADCAST_PLAIN     1u /* to everyone online */
#define MIM_BROADCAST_IMPORTANT 2u /* to everyone online; the receivers acknowledge it */

/* A BroadcasterList: issue time set, 64-byte signature, no names when not restricted, else
 * 1..MIM_BROADCASTERS_MAX valid names in strictly ascending byte order. The signature is the
 * receiver's to check (against its pin of the server's key). 0 or MIM_EDECODE + reason. */
int mim_broadcaster_list_check(const Mim__BroadcasterList *l, char *err, size_t errlen);
/* Appends to out the bytes the server signs: "mim-broadcasters-v1" || issued_ms (8 bytes
 * big-endian) || restricted (1 byte) || per name its length (1 byte) and its bytes. 0,
 * MIM_EINVAL (a name over MIM_NAME_MAX_BYTES) or MIM_ENOMEM. */
int mim_broadcaster_list_signed(uint64_t issued_ms, int restricted, const char *const *names,
                                size_t n, mim_buf *out);
/* Makes m a BroadcasterList over the caller's names and signature (no allocation). */
void mim_broadcaster_list_init(Mim__PresenceMsg *m, Mim__BroadcasterList *body, uint64_t issued_ms,
                               int restricted, char **names, size_t n,
                               const uint8_t sig[MIM_SIG_BYTES]);
/* A BroadcastAck: 1..MIM_ACK_MAX_IDS ids in all, each of 16 bytes. 0 or MIM_EDECODE. */
int mim_broadcast_ack_check(const Mim__BroadcastAck *a, char *err, size_t errlen);
/* ChatMessage.broadcast: 0..2; a broadcast is text and no room's. 0 or MIM_EDECODE. */
int mim_chat_broadcast_check(const Mim__ChatMessage *c, char *err, size_t errlen);
/* Makes m a BroadcastAck over the caller's ids (no allocation). */
void mim_broadcast_ack_init(Mim__PeerMsg *m, Mim__BroadcastAck *body, ProtobufCBinaryData *read,
                            size_t nread, ProtobufCBinaryData *confirmed, size_t nconfirmed);

#endif
