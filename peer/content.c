/* Descriptions of content this version cannot show (see content.h). */
#include "content.h"
#include "core.h"
#include "mim_codec.h"

#include <stdio.h>
#include <string.h>

const char *content_type_name(int type, char *buf, size_t len)
{
    switch (type) {
    case MIM__CONTENT_TYPE__CONTENT_TEXT:
        return "text";
    case MIM__CONTENT_TYPE__CONTENT_IMAGE:
        return "image";
    case MIM__CONTENT_TYPE__CONTENT_FILE:
        return "file";
    case MIM_CORE_CONTENT_KEY_CHANGE: /* a local history entry, never on the wire */
        return "key_change";
    default:
        snprintf(buf, len, "type-%d", type);
        return buf;
    }
}

int content_is_shown(const Mim__ChatMessage *m)
{
    return m->type == MIM__CONTENT_TYPE__CONTENT_TEXT || m->chunk == NULL || m->chunk->index == 0;
}

void content_describe(const Mim__ChatMessage *m, char *out, size_t len)
{
    /* Room for the longest file name and media type the codec lets through: a cut here would
     * land inside the line, where mim_utf8_cut cannot mend it (and an invalid UTF-8 line would
     * reach the JSON API as an empty text). */
    char tbuf[16], what[MIM_FILE_NAME_MAX + MIM_MEDIA_TYPE_MAX + 64] = "";
    const char *type = content_type_name((int)m->type, tbuf, sizeof(tbuf));
    const Mim__Chunk *k = m->chunk;

    if (len == 0)
        return;
    if (k != NULL) {
        int n = 0;
        if (k->file_name[0] != '\0')
            n = snprintf(what, sizeof(what), " \"%s\"", k->file_name);
        if (n >= 0 && (size_t)n < sizeof(what))
            snprintf(what + n, sizeof(what) - (size_t)n, " (%s%s%u part%s)",
                     k->media_type[0] != '\0' ? k->media_type : "",
                     k->media_type[0] != '\0' ? ", " : "", k->count, k->count == 1 ? "" : "s");
    }
    snprintf(out, len, "[%s%s: not supported by this version of mim]%s%s", type, what,
             m->text[0] != '\0' ? " " : "", m->text);
    mim_utf8_cut(out);
}

int content_describe_stored(const void *body, size_t body_len, int type, char *out, size_t len)
{
    Mim__ChatMessage *m = mim_chat_message_unpack(body, body_len);
    char tbuf[16];
    int shown = 1;

    if (m != NULL) {
        content_describe(m, out, len);
        shown = content_is_shown(m);
        mim_chat_message_free(m);
    } else {
        snprintf(out, len, "[%s: not supported by this version of mim]",
                 content_type_name(type, tbuf, sizeof(tbuf)));
    }
    return shown;
}
