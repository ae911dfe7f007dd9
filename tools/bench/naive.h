/* The naive plaintext protocol shared by naive_server.c and load_naive.c: fixed 100-byte
 * blocks, no encryption, no authentication.
 *   byte 0      'L' login (client -> server), 'A' a peer is online (server -> client),
 *               'S' status (client -> server, then server -> every client),
 *               'E' end of the table (server -> the newcomer, after one 'A' per peer online)
 *   bytes 1-31  the peer's name, NUL-padded
 *   bytes 32-47 for 'S': the status sequence number in decimal, NUL-padded
 *   the rest    zero */
#ifndef MIM_BENCH_NAIVE_H
#define MIM_BENCH_NAIVE_H

#define NAIVE_BLOCK    100
#define NAIVE_LOGIN    'L'
#define NAIVE_ADD      'A'
#define NAIVE_STATUS   'S'
#define NAIVE_END      'E'
#define NAIVE_NAME_OFF 1
#define NAIVE_NAME_MAX 31
#define NAIVE_SEQ_OFF  32

#endif
