/* One run of mim-decode (see decode.h). */
#include "decode.h"

#include <pcap/pcap.h>

int decode_run(const decode_options *o, FILE *out)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *hdr;
    const u_char *data;
    pcap_t *p;
    size_t n = 0;
    int rc;

    if ((p = pcap_open_offline(o->capture, err)) == NULL) {
        fprintf(stderr, "mim-decode: %s: cannot read the capture: %s\n", o->capture, err);
        return 1;
    }
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1)
        n++;
    if (rc == PCAP_ERROR)
        fprintf(stderr, "mim-decode: %s: %s\n", o->capture, pcap_geterr(p));
    fprintf(out, "%zu packets (decoding: not yet)\n", n);
    pcap_close(p);
    return rc == PCAP_ERROR ? 1 : 0;
}
