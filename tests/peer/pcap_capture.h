/* A packet capture for the end-to-end tests: tcpdump on lo writing a pcap file (it needs root or
 * CAP_NET_RAW; tools/install-deps installs tcpdump), and a reader that walks the file's records
 * and counts the TCP payload on given ports. Functions fail the running cmocka test on a miss. */
#ifndef MIM_TEST_PCAP_CAPTURE_H
#define MIM_TEST_PCAP_CAPTURE_H

#include "peer_env.h"

#include <stddef.h>
#include <sys/types.h>

/* One running tcpdump. */
typedef struct capture {
    char path[PE_PATH_MAX + 16];
    pid_t pid;
    int err_fd;     /* tcpdump's stderr */
    char err[4096]; /* what it wrote there */
    size_t elen;
} capture;

/* What cap_read_file found in a capture. */
typedef struct pcap_stats {
    size_t packets;
    size_t caplen;       /* bytes of packet data */
    size_t chat_payload; /* TCP payload bytes to or from one of the chat ports */
    size_t chat_packets;
} pcap_stats;

/* Starts tcpdump on lo with `filter`, writing to path, and waits for its "listening on". Fails
 * the test when it cannot capture. */
void cap_start(capture *c, const char *path, const char *filter);
/* SIGINT, then tcpdump must exit 0 (bounded); c->err then holds its stats. */
void cap_stop(capture *c);
/* Kills tcpdump if it still runs and closes its stderr (idempotent). */
void cap_cleanup(capture *c);

/* Reads the whole capture at path into *data (malloc'd, *size bytes) and walks its records into
 * *st, counting the TCP payload to or from ports[0..nports). Fails the test on a file that is not
 * an Ethernet pcap. */
void cap_read_file(const char *path, unsigned char **data, size_t *size, const int *ports,
                   size_t nports, pcap_stats *st);
/* Does needle occur in the len bytes at d? */
int cap_contains(const unsigned char *d, size_t len, const char *needle);

#endif
