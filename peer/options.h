/* mim's command line: its options, their checks and messages, and --help. */
#ifndef MIM_PEER_OPTIONS_H
#define MIM_PEER_OPTIONS_H

#include <stdint.h>

#include "mim_limits.h"

/* The largest --auto-accept and --max-file-size: 1 PiB. */
#define PEER_FILE_SIZE_LIMIT (1ll << 50)

typedef struct peer_options {
    const char *name;            /* --name in NFC: valid (mim_name_valid) */
    const char *server;          /* --server HOST[:PORT], or NULL: found by LAN discovery */
    const char *data_dir;        /* --data-dir, or the default for the name: always set */
    uint16_t listen_port;        /* 0: any free port */
    uint16_t advertise_port;     /* 0: the listen port */
    uint32_t keepalive_ms;       /* 0: the core's default */
    uint32_t max_table;          /* --max-table: 0: the presence client's default */
    int64_t quota_messages;      /* per sender per 24 h: 0 the core's default, -1 no limit */
    int64_t quota_bytes;         /* the same, in bytes */
    int json;                    /* --json: the JSON-lines API, else the terminal interface */
    const char *key_log;         /* --key-log FILE, or NULL (then MIM_KEYLOG_FILE, if set) */
    int bell;                    /* --bell: an enum tui_bell_mode (tui_attention.h); 0: all */
    int notify_off;              /* --notify off: no desktop notifications */
    int receipts;                /* --receipts: 1 on, 0 off, -1 as kept in the store */
    uint32_t auto_away_ms;       /* --auto-away (default 10 minutes); 0: never */
    char default_data_dir[4096]; /* data_dir, when no --data-dir was given */
    char name_nfc[4 * MIM_NAME_MAX_BYTES + 1]; /* name, when --name was not in NFC */
    char login_name[MIM_NAME_MAX_BYTES + 1];   /* name, when no --name: the login name */

    /* Issue 15, files. --download-dir (absolute), or NULL: the core's default. */
    const char *download_dir;
    /* --auto-accept: -1 the core's default, 0 never; --max-file-size: 0 the core's default. */
    int64_t auto_accept_bytes, max_file_size;
    /* download_dir, when it was given relative. */
    char download_dir_abs[4096];
} peer_options;

/* Parses argv into o (and sets the log level and --trace as asked). Returns MIM_CLI_RUN when
 * the program should go on, else its exit code: 0 after --help or --version (written on
 * stdout), 2 after a usage error (said on stderr). */
int peer_options_parse(int argc, char **argv, peer_options *o);
/* Issue 17: the same, for mim-gtk (a window of its own: no terminal needed on stdin/stdout). */
int peer_options_parse_window(int argc, char **argv, peer_options *o);

#endif
