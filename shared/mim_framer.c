#include "mim_framer.h"

#include "mim_error.h"

#include <string.h>

/* A body buffer larger than this is released once its frame has been handed out, so a
 * connection that once received a 64 KiB frame does not keep 64 KiB while it sits idle. */
#define MIM_FRAMER_KEEP_CAP 4096

static uint32_t clamp_max(size_t max_len)
{
    if (max_len < 1)
        return 1;
    if (max_len > MIM_FRAME_MAX)
        return MIM_FRAME_MAX;
    return (uint32_t)max_len;
}

void mim_framer_init(mim_framer *f, size_t max_len)
{
    memset(f, 0, sizeof(*f));
    mim_buf_init(&f->body);
    f->max_len = clamp_max(max_len);
}

void mim_framer_set_max(mim_framer *f, size_t max_len)
{
    f->max_len = clamp_max(max_len);
}

void mim_framer_free(mim_framer *f)
{
    mim_buf_wipe_free(&f->body);
    f->in_body = 0;
    f->hdr_have = 0;
    f->body_len = 0;
}

void mim_framer_release(mim_framer *f)
{
    if (mim_framer_idle(f) && f->body.data != NULL)
        mim_buf_wipe_free(&f->body);
}

int mim_framer_idle(const mim_framer *f)
{
    return !f->in_body && f->hdr_have == 0;
}

void mim_frame_header(uint8_t out[MIM_FRAME_HEADER_LEN], size_t len)
{
    out[0] = (uint8_t)((len >> 8) & 0xff);
    out[1] = (uint8_t)(len & 0xff);
}

/* Back to the header state. The body bytes stay in storage: the frame just returned may point
 * at them until the next call. */
static void frame_done(mim_framer *f)
{
    f->in_body = 0;
    f->hdr_have = 0;
    f->body_len = 0;
    f->body.len = 0;
}

int mim_framer_feed(mim_framer *f, const uint8_t *in, size_t len, size_t *consumed,
                    const uint8_t **frame, size_t *frame_len)
{
    size_t pos = 0;
    int rc;

    *consumed = 0;
    *frame = NULL;
    *frame_len = 0;

    /* The previous frame's bytes are no longer promised to anyone: drop big storage now. */
    if (!f->in_body && f->body.cap > MIM_FRAMER_KEEP_CAP)
        mim_buf_wipe_free(&f->body);

    while (pos < len) {
        if (!f->in_body) {
            while (f->hdr_have < MIM_FRAME_HEADER_LEN && pos < len)
                f->hdr[f->hdr_have++] = in[pos++];
            if (f->hdr_have < MIM_FRAME_HEADER_LEN)
                break;
            f->body_len = ((uint32_t)f->hdr[0] << 8) | f->hdr[1];
            /* Judge the length before allocating anything: a hostile prefix costs nothing. */
            if (f->body_len == 0) {
                *consumed = pos;
                return MIM_EFRAME_EMPTY;
            }
            if (f->body_len > f->max_len) {
                *consumed = pos;
                return MIM_EFRAME_TOO_BIG;
            }
            f->in_body = 1;
            f->body.len = 0;
            continue;
        }

        size_t avail = len - pos;
        if (f->body.len == 0 && avail >= f->body_len) {
            /* The whole body is in this input and nothing is buffered: hand out a view into
             * the input rather than copying it. */
            *frame = in + pos;
            *frame_len = f->body_len;
            *consumed = pos + f->body_len;
            frame_done(f);
            return MIM_FRAMER_FRAME;
        }

        if (f->body.len == 0) {
            /* One reservation for the whole announced body; later pieces never reallocate. */
            rc = mim_buf_reserve(&f->body, f->body_len);
            if (rc < 0) {
                *consumed = pos;
                return rc;
            }
        }
        size_t take = f->body_len - f->body.len;
        if (take > avail)
            take = avail;
        memcpy(f->body.data + f->body.len, in + pos, take);
        f->body.len += take;
        pos += take;

        if (f->body.len == f->body_len) {
            *frame = f->body.data;
            *frame_len = f->body_len;
            *consumed = pos;
            frame_done(f);
            return MIM_FRAMER_FRAME;
        }
    }
    *consumed = pos;
    return MIM_FRAMER_NEED;
}
