/*
 * cli.h - the command-line options of soulspotd, declared once.
 *
 * CLI_OPTIONS below is read by main.c (getopt table and --help) and by the
 * man page writer (settings_write_man, settings_doc.c), so the two never
 * disagree.  Plain data: any thread.
 */
#ifndef SS_CLI_H
#define SS_CLI_H

/* X(ID, name, argument or NULL, help) */
#define CLI_OPTIONS(X)                                                        \
  X(LISTEN, "listen", "HOST:PORT",                                            \
    "bind address (default 127.0.0.1:8765; port 0 picks a free port)")        \
  X(DATA_DIR, "data-dir", "DIR", "folder for the database (default ./data)")  \
  X(CONFIG, "config", "FILE",                                                 \
    "INI file with settings (sections = key prefixes)")                       \
  X(SET_PASSWORD, "set-password", NULL,                                       \
    "read a login password from standard input, store it (Argon2id) and "     \
    "exit")                                                                   \
  X(HELP, "help", NULL, "this text")                                          \
  X(VERSION, "version", NULL, "print the version")

struct cli_option {
  const char *name; /* without the leading "--" */
  const char *arg;  /* NULL: a flag without argument */
  const char *help;
};

enum cli_option_id {
#define CLI_OPTION_ENUM_ENTRY(id, ...) CLI_##id,
  CLI_OPTIONS(CLI_OPTION_ENUM_ENTRY)
#undef CLI_OPTION_ENUM_ENTRY
    CLI__COUNT
};

/* Indexed by enum cli_option_id; defined in settings_doc.c. */
extern const struct cli_option cli_options[CLI__COUNT];

#endif
