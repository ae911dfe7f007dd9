/* mim-presence's command line: its options, their checks and messages, and --help. */
#ifndef MIM_PRESENCE_OPTIONS_H
#define MIM_PRESENCE_OPTIONS_H

#include "server.h"

typedef struct presence_options {
    presence_config cfg;         /* the server's settings; cfg.data_dir is always set */
    const char *free_name;       /* --free-name NAME: release it from the registry, then exit */
    const char *key_log;         /* --key-log FILE, or NULL (then MIM_KEYLOG_FILE, if set) */
    char default_data_dir[4096]; /* cfg.data_dir, when no --data-dir was given */
} presence_options;

/* Parses argv into o. Returns MIM_CLI_RUN when the program should go on, else its exit code: 0
 * after --help or --version (written on stdout), 2 after a usage error (said on stderr). */
int presence_options_parse(int argc, char **argv, presence_options *o);

#endif
