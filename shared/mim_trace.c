/* Text rendering of protobuf messages for --trace (see mim_trace.h). */
#include "mim_trace.h"

#include "mim_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int trace_on;

void mim_trace_enable(int on)
{
    trace_on = on != 0;
}

int mim_trace_enabled(void)
{
    return trace_on;
}

/* A bounded string builder: once full, it stays full and the result ends in "...". */
typedef struct sb {
    char *p;
    size_t len, cap; /* cap counts the NUL */
    int cut;
} sb;

static void put(sb *b, const char *s, size_t n)
{
    if (b->cut)
        return;
    if (b->len + n + 4 > b->cap) { /* room for "..." and the NUL */
        n = b->cap > b->len + 4 ? b->cap - b->len - 4 : 0;
        b->cut = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    if (b->cut) {
        memcpy(b->p + b->len, "...", 3);
        b->len += 3;
    }
    b->p[b->len] = '\0';
}

static void puts_(sb *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(sb *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A quoted string: printable ASCII and UTF-8 sequences as they are, every control byte (C0,
 * DEL, and the C1 range's 0xC2 0x80..0x9F) escaped. */
static void put_string(sb *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    puts_(b, "\"");
    for (size_t i = 0; u[i] != '\0'; i++) {
        if (u[i] == '"' || u[i] == '\\')
            putf(b, "\\%c", u[i]);
        else if (u[i] == '\n')
            puts_(b, "\\n");
        else if (u[i] == '\t')
            puts_(b, "\\t");
        else if (u[i] < 0x20 || u[i] == 0x7f)
            putf(b, "\\x%02x", u[i]);
        else if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
            putf(b, "\\u%04x", u[i + 1]);
            i++;
        } else
            put(b, (const char *)&u[i], 1);
    }
    puts_(b, "\"");
}

static void put_bytes(sb *b, const ProtobufCBinaryData *d)
{
    size_t n = d->len < 16 ? d->len : 16;

    for (size_t i = 0; i < n; i++)
        putf(b, "%02x", d->data[i]);
    putf(b, "%s(%zu bytes)", d->len > n ? "..." : "", d->len);
}

static void put_message(sb *b, const ProtobufCMessage *m);

/* One value of field f stored at p. */
static void put_value(sb *b, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        putf(b, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        putf(b, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        putf(b, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        putf(b, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        putf(b, "%g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        putf(b, "%g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        puts_(b, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
        if (ev != NULL)
            puts_(b, ev->name);
        else
            putf(b, "%d", v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        put_string(b, *(char *const *)p != NULL ? *(char *const *)p : "");
        break;
    case PROTOBUF_C_TYPE_BYTES:
        put_bytes(b, (const ProtobufCBinaryData *)p);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        put_message(b, *(ProtobufCMessage *const *)p);
        break;
    }
}

static size_t value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

/* Is a singular (proto3) value its default, so left out as the wire leaves it out? */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    default: {
        static const uint8_t zero[8];
        return memcmp(p, zero, value_size(f->type)) == 0;
    }
    }
}

static void put_message(sb *b, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d;
    int first = 1;

    if (m == NULL) {
        puts_(b, "null");
        return;
    }
    d = m->descriptor;
    puts_(b, d->short_name);
    puts_(b, "{");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        const void *p = base + f->offset;

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue; /* another arm, or none */
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(const size_t *)(base + f->quantifier_offset) == 0)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                continue; /* proto2 has_ flag */
        } else if (is_default(f, p)) {
            continue;
        }
        if (!first)
            puts_(b, ", ");
        first = 0;
        puts_(b, f->name);
        puts_(b, ": ");
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)p;
            size_t step = value_size(f->type);
            puts_(b, "[");
            for (size_t k = 0; k < n && !b->cut; k++) {
                if (k > 0)
                    puts_(b, ", ");
                put_value(b, f, arr + k * step);
            }
            puts_(b, "]");
        } else {
            put_value(b, f, p);
        }
    }
    puts_(b, "}");
}

void mim_trace_render(const ProtobufCMessage *m, char *out, size_t len)
{
    sb b = {out, 0, len, 0};

    if (len == 0)
        return;
    out[0] = '\0';
    if (len < 8) {
        b.cut = 1;
        return;
    }
    put_message(&b, m);
}

void mim_trace(const char *from, const char *to, const ProtobufCMessage *m)
{
    char line[MIM_TRACE_MAX];

    if (!trace_on)
        return;
    mim_trace_render(m, line, sizeof(line));
    mim_log(MIM_LOG_INFO, "trace %s -> %s: %s", from, to, line);
}
