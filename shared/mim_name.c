/* The name rule and confusable skeletons (see mim_name.h): the only file that includes ICU.
 *
 * The character classes come from ICU's Unicode data rather than from ranges written by hand,
 * so the rule covers every invisible or formatting character Unicode knows, not only the ones
 * someone thought of (U+00AD, U+034F, U+3164, U+FE0F, the tag characters, ...). */
#include "mim_name.h"
#include "mim_error.h"

#include <pthread.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

/* UTS #39 5.4: more nonspacing marks in a row than any script needs stack into an unreadable
 * ("Zalgo") or misleading name. */
#define MAX_MARKS_IN_A_ROW 4
/* mim_name_nfc's bound on its input, in UTF-16 units: a longer string is no name anyway. NFC
 * output is at most three times its input. */
#define NFC_IN_MAX  (4 * MIM_NAME_MAX_BYTES)
#define NFC_OUT_MAX (3 * NFC_IN_MAX)

/* Opened once per process (pthread_once) and kept: the login storm checks a name per login.
 * The NFC normaliser is ICU's own singleton (never closed); the spoof checker, needed only by
 * the server's registry, is opened on its first use. Both are safe to share between threads. */
static pthread_once_t nfc_once = PTHREAD_ONCE_INIT;
static pthread_once_t spoof_once = PTHREAD_ONCE_INIT;
static const UNormalizer2 *nfc;
static USpoofChecker *spoof;

static void nfc_open(void)
{
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *n = unorm2_getNFCInstance(&err);
    nfc = U_SUCCESS(err) ? n : NULL;
}

static void spoof_open(void)
{
    UErrorCode err = U_ZERO_ERROR;
    USpoofChecker *sc = uspoof_open(&err);
    spoof = U_SUCCESS(err) ? sc : NULL;
}

static const UNormalizer2 *nfc_get(void)
{
    pthread_once(&nfc_once, nfc_open);
    return nfc;
}

/* Characters no name may contain: they are invisible, change how the text around them is laid
 * out, or mean nothing yet (so no font can show them the same way everywhere). */
static int refused_char(UChar32 c)
{
    switch (u_charType(c)) {
    case U_CONTROL_CHAR:        /* Cc: C0, DEL, C1 */
    case U_FORMAT_CHAR:         /* Cf: soft hyphen, zero-width, bidi marks, tags, ... */
    case U_PRIVATE_USE_CHAR:    /* Co: looks like whatever a font wants */
    case U_UNASSIGNED:          /* Cn: unassigned and noncharacters */
    case U_SURROGATE:           /* Cs: cannot come out of valid UTF-8, kept for clarity */
    case U_LINE_SEPARATOR:      /* Zl */
    case U_PARAGRAPH_SEPARATOR: /* Zp */
        return 1;
    case U_SPACE_SEPARATOR: /* Zs: only the plain space; NBSP & co. look like it */
        return c != 0x20;
    default:
        break;
    }
    /* Default-ignorable characters outside Cf (U+034F, U+3164 and the other Hangul fillers,
     * variation selectors), the bidi controls, deprecated characters (UTS #39 refuses them),
     * and U+2800 BRAILLE PATTERN BLANK, which is a symbol by category but shows as a space. */
    return c == 0x2800 || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
           u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL) || u_hasBinaryProperty(c, UCHAR_DEPRECATED);
}

/* The checks of one character at position `chars` (1-based); *marks counts the nonspacing marks
 * just before it. MIM_NAME_FAULT_NONE or a fault. */
static int check_char(UChar32 c, int32_t chars, int *marks, uint32_t *cp)
{
    if (refused_char(c)) {
        if (cp != NULL)
            *cp = (uint32_t)c;
        return MIM_NAME_FAULT_CHAR;
    }
    if (chars == 1 && (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0)
        return MIM_NAME_FAULT_FIRST_MARK;
    *marks = u_charType(c) == U_NON_SPACING_MARK ? *marks + 1 : 0;
    return *marks > MAX_MARKS_IN_A_ROW ? MIM_NAME_FAULT_MARKS : MIM_NAME_FAULT_NONE;
}

int mim_name_check(const char *s, size_t len, uint32_t *cp)
{
    UChar u16[2 * MIM_NAME_MAX_CHARS]; /* the name in UTF-16, for the NFC check */
    int32_t i = 0, n16 = 0, chars = 0;
    int marks = 0, ascii = 1, fault;
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *n;

    if (s == NULL || len == 0 || len > MIM_NAME_MAX_BYTES)
        return MIM_NAME_FAULT_LENGTH;
    while (i < (int32_t)len) {
        UChar32 c;
        U8_NEXT(s, i, (int32_t)len, c); /* strict: overlong forms and surrogates give c < 0 */
        if (c < 0)
            return MIM_NAME_FAULT_UTF8;
        if (++chars > MIM_NAME_MAX_CHARS)
            return MIM_NAME_FAULT_LENGTH;
        if ((fault = check_char(c, chars, &marks, cp)) != MIM_NAME_FAULT_NONE)
            return fault;
        ascii &= c < 0x80;
        U16_APPEND_UNSAFE(u16, n16, c);
    }
    if (s[0] == ' ' || s[len - 1] == ' ')
        return MIM_NAME_FAULT_EDGE_SPACE;
    if (ascii)
        return MIM_NAME_FAULT_NONE; /* ASCII is always in NFC: most names skip ICU's normaliser */
    /* No normaliser (ICU's data missing) refuses rather than lets an unchecked name through. */
    if ((n = nfc_get()) == NULL || !unorm2_isNormalized(n, u16, n16, &err) || U_FAILURE(err))
        return MIM_NAME_FAULT_NOT_NFC;
    return MIM_NAME_FAULT_NONE;
}

int mim_name_valid(const char *s, size_t len)
{
    return mim_name_check(s, len, NULL) == MIM_NAME_FAULT_NONE;
}

const char *mim_name_fault_str(int fault)
{
    switch (fault) {
    case MIM_NAME_FAULT_NONE:
        return "a valid name";
    case MIM_NAME_FAULT_LENGTH:
        return "not 1 to 32 characters";
    case MIM_NAME_FAULT_UTF8:
        return "not valid UTF-8";
    case MIM_NAME_FAULT_CHAR:
        return "contains a control, invisible, bidi, private-use or unassigned character";
    case MIM_NAME_FAULT_EDGE_SPACE:
        return "starts or ends with a space";
    case MIM_NAME_FAULT_FIRST_MARK:
        return "starts with a combining mark";
    case MIM_NAME_FAULT_MARKS:
        return "has more than 4 combining marks in a row";
    case MIM_NAME_FAULT_NOT_NFC:
        return "not in Unicode normalization form C (NFC)";
    default:
        return "not a valid name";
    }
}

/* MIM_E* for an ICU status. */
static int icu_error(UErrorCode err)
{
    if (err == U_BUFFER_OVERFLOW_ERROR || err == U_STRING_NOT_TERMINATED_WARNING)
        return MIM_EOVERFLOW;
    if (err == U_INVALID_CHAR_FOUND || err == U_ILLEGAL_CHAR_FOUND)
        return MIM_EINVAL;
    return U_FAILURE(err) ? MIM_EIO : 0;
}

int mim_name_nfc(const char *in, char *out, size_t cap)
{
    UChar src[NFC_IN_MAX], dst[NFC_OUT_MAX];
    int32_t nsrc = 0, ndst, nout = 0;
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *n = nfc_get();

    if (in == NULL || out == NULL || cap == 0 || cap > INT32_MAX)
        return MIM_EINVAL;
    if (n == NULL)
        return MIM_EIO;
    u_strFromUTF8(src, NFC_IN_MAX, &nsrc, in, -1, &err);
    if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING)
        return icu_error(err);
    ndst = unorm2_normalize(n, src, nsrc, dst, NFC_OUT_MAX, &err);
    if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING)
        return icu_error(err);
    u_strToUTF8(out, (int32_t)cap, &nout, dst, ndst, &err);
    return icu_error(err); /* a full buffer without room for the NUL is an overflow too */
}

int mim_name_skeleton(const char *name, size_t len, char *out, size_t cap)
{
    UErrorCode err = U_ZERO_ERROR;

    if (name == NULL || out == NULL || cap == 0 || cap > INT32_MAX || len > MIM_NAME_MAX_BYTES)
        return MIM_EINVAL;
    pthread_once(&spoof_once, spoof_open);
    if (spoof == NULL)
        return MIM_EIO;
    uspoof_getSkeletonUTF8(spoof, 0, name, (int32_t)len, out, (int32_t)cap, &err);
    return icu_error(err);
}
