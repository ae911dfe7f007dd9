/* The server's signed broadcaster list (issue 16): parsed from --broadcasters, signed at start,
 * sent after the table to peers that ask (broadcasters.c). */
#ifndef MIM_PRESENCE_BROADCASTERS_H
#define MIM_PRESENCE_BROADCASTERS_H

#include "mim_codec.h"
#include "mim_crypto.h"

#include <stddef.h>
#include <stdint.h>

typedef struct presence_broadcasters {
    int restricted; /* 0: anyone may broadcast (no --broadcasters) */
    char **names;   /* restricted: n names in NFC, strictly ascending byte order; owned */
    size_t n;
    uint64_t issued_ms;         /* the server's wall clock when it signed */
    uint8_t sig[MIM_SIG_BYTES]; /* over mim_broadcaster_list_signed's bytes */
} presence_broadcasters;

/* --broadcasters a,b (arg; NULL: absent) into b: names put in NFC, checked, sorted, each once.
 * 0, or -1 with the reason in err (b is empty then). */
int presence_broadcasters_parse(const char *arg, presence_broadcasters *b, char *err,
                                size_t errlen);
/* Signs b now with the server's identity key. 0 or a negative code. */
int presence_broadcasters_sign(presence_broadcasters *b, const mim_identity *id);
/* Makes m the BroadcasterList of b (views over b, which must outlive m). */
void presence_broadcasters_msg(const presence_broadcasters *b, Mim__PresenceMsg *m,
                               Mim__BroadcasterList *body);
void presence_broadcasters_free(presence_broadcasters *b);

#endif
