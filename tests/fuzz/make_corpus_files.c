/* Writes the seed corpora of the file-transfer fuzz targets under tests/fuzz/corpus/:
 *  - media/: a tiny image of every kind the sniffer knows (tests/unit/media_samples.c), each
 *    also cut short inside its header, and a few files that only start like one;
 *  - file_name/: hostile names and manifest paths (escapes, absolute paths, controls, overlong
 *    UTF-8, a bidi override, device names, 300 bytes) and a few good ones.
 *
 *   fuzz_make_corpus_files [CORPUS_DIR]     (default: the source tree's tests/fuzz/corpus)
 *
 * Deterministic; not a test: run it by hand after changing the samples and commit the result. */
#include "media_samples.h"
#include "seed_file.h"

#include <stdio.h>
#include <string.h>

#ifndef MIM_FUZZ_CORPUS_DIR
#define MIM_FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

/* The whole sample, and the sample cut at `cut` bytes (inside its header). */
static void media_seed(const char *name, const uint8_t *p, size_t n, size_t cut)
{
    char cut_name[64];

    write_seed("media", name, p, n);
    snprintf(cut_name, sizeof(cut_name), "%s_cut", name);
    write_seed("media", cut_name, p, cut < n ? cut : n);
}

static void media_seeds(void)
{
    uint8_t b[MEDIA_SAMPLE_MAX];

    media_seed("png", b, media_sample_png(b, 3, 2), 20);
    media_seed("gif", b, media_sample_gif(b, 2, 3), 8);
    media_seed("jpeg", b, media_sample_jpeg(b, 16, 8), 100);
    media_seed("webp_vp8", b, media_sample_webp_vp8(b, 640, 480), 26);
    media_seed("webp_vp8l", b, media_sample_webp_vp8l(b, 7, 5), 22);
    media_seed("webp_vp8x", b, media_sample_webp_vp8x(b, 1000, 1), 27);
    write_seed("media", "jpeg_lying_length", "\xff\xd8\xff\xe1\xff\xff\x00\x00", 8);
    write_seed("media", "jpeg_zero_length", "\xff\xd8\xff\xe1\x00\x00\xff\xc0", 8);
    write_seed("media", "riff_wave", "RIFF\x24\x00\x00\x00WAVEfmt ", 16);
    write_seed("media", "text", "hello", 5);
}

static void name_seeds(void)
{
    static const char *const names[][2] = {
        {"plain", "report.pdf"},
        {"escape", "../../etc/passwd"},
        {"absolute", "/abs"},
        {"inner_escape", "a/../../b"},
        {"control", "\x01"},
        {"hidden", ".hidden"},
        {"dotdot", ".."},
        {"overlong_slash", "\xc0\xaf"},
        {"rtl_override", "evil\xe2\x80\xaetxt.exe"},
        {"device", "CON"},
        {"device_ext", "com1.txt"},
        {"backslash", "a\\..\\b"},
        {"nested_ok", ".git/objects/ab/cdef"},
        {"utf8_ok", "\xe6\x97\xa5\xe6\x9c\xac/\xe8\xaa\x9e.txt"},
        {"trailing_dots", "name. . "},
        {"escape_sequence", "x\x1b[2J"},
    };
    char long_name[301];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        write_seed("file_name", names[i][0], names[i][1], strlen(names[i][1]));
    write_seed("file_name", "empty", "", 0);
    write_seed("file_name", "nul_inside", "a\0b", 3);
    memset(long_name, 'n', 300);
    memcpy(long_name + 296, ".pdf", 4);
    write_seed("file_name", "300_bytes", long_name, 300);
}

int main(int argc, char **argv)
{
    if (seed_begin(argc, argv, MIM_FUZZ_CORPUS_DIR, 0) != 0)
        return 1;
    media_seeds();
    name_seeds();
    return seed_end("media and file name seeds");
}
