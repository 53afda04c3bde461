/*
 * settings_doc.c - the settings table and the command-line options as
 * documents: the commented default INI file (installed as
 * /etc/soulspotd/soulspotd.ini) and the man page soulspotd(8).  Both are
 * written at build time by tools/gen_docs.c, so neither can drift from
 * SETTINGS_TABLE (settings.h) or CLI_OPTIONS (cli.h).  Pure writers: any
 * thread, no state.
 */
#include "config/settings_internal.h"

#include <stdio.h>
#include <string.h>

#include "config/cli.h"
#include "core/err.h"

const struct cli_option cli_options[CLI__COUNT] = {
#define CLI_OPTION_ROW(id, name, arg, help) {name, arg, help},
  CLI_OPTIONS(CLI_OPTION_ROW)
#undef CLI_OPTION_ROW
};

/* Length of the section part of a key ("server" of "server.listen"). */
static size_t section_len(const char *key) { return strcspn(key, "."); }

static bool same_section(const char *a, const char *b)
{
  size_t n = section_len(a);
  return n == section_len(b) && !strncmp(a, b, n);
}

/* The value given for key in overrides ("key=value", NULL-terminated). */
static const char *override_of(const char *const *overrides, const char *key)
{
  size_t n = strlen(key);
  for (size_t i = 0; overrides && overrides[i]; i++)
    if (!strncmp(overrides[i], key, n) && overrides[i][n] == '=')
      return overrides[i] + n + 1;
  return NULL;
}

/* ---- INI ---- */

/* Writes text as "# " comment lines of at most INI_COMMENT_WIDTH columns
 * (inih reads lines of at most 198 bytes), breaking after a space, ',' or
 * '|'; a longer run without a break point stays whole. */
#define INI_COMMENT_WIDTH 78
static void ini_comment(FILE *out, const char *text)
{
  const char *p = text;
  while (*p) {
    size_t room = INI_COMMENT_WIDTH - 2, len = strlen(p), cut = len;
    if (len > room) {
      cut = 0;
      for (size_t i = 0; i < room; i++)
        if (p[i] == ' ' || p[i] == ',' || p[i] == '|')
          cut = i + 1;
      if (cut == 0)
        cut = strcspn(p, " ,|") + 1;
    }
    size_t shown = cut;
    while (shown > 0 && p[shown - 1] == ' ')
      shown--;
    fprintf(out, "# %.*s\n", (int)shown, p);
    p += cut;
    while (*p == ' ')
      p++;
  }
}

static void ini_setting(FILE *out, enum setting_id id, const char *value)
{
  const struct setting_def *d = &settings_defs[id];
  char type[SETTINGS_MSG_MAX], env[SETTINGS_KEY_MAX];
  char line[SETTINGS_MSG_MAX + SETTING_STR_MAX + SETTINGS_KEY_MAX + 160];
  settings__describe_type(d, type, sizeof type);
  settings__env_name(id, env, sizeof env);
  fputc('\n', out);
  ini_comment(out, d->help);
  snprintf(line, sizeof line, "%s; default: %s; environment: %s%s%s", type,
           d->def[0] ? d->def : "(empty)", env,
           d->flags & SF_RUNTIME ? "; also on the settings page" : "",
           d->flags & SF_SECRET ? "; secret: keep this file private "
                                  "(0640 root:soulspotd)"
                                : "");
  ini_comment(out, line);
  const char *v = value ? value : d->def;
  fprintf(out, "%s%s =%s%s\n", value ? "" : ";",
          d->key + section_len(d->key) + 1, v[0] ? " " : "", v);
}

enum ss_err settings_write_ini(FILE *out, const char *const *overrides,
                               char *err, size_t errlen)
{
  for (size_t i = 0; overrides && overrides[i]; i++) {
    char key[SETTINGS_KEY_MAX], canon[SETTING_STR_MAX];
    size_t klen = strcspn(overrides[i], "=");
    snprintf(key, sizeof key, "%.*s", (int)klen, overrides[i]);
    int id = settings_lookup(key);
    if (id < 0 || !overrides[i][klen])
      return settings__fail(err, errlen, "%s: not KEY=VALUE of a setting",
                            overrides[i]);
    if (settings_validate((enum setting_id)id, overrides[i] + klen + 1, canon,
                          err, errlen) != SS_OK)
      return SS_EINVAL;
  }
  fputs("# soulspotd.ini - settings of soulspotd(8)\n"
        "#\n"
        "# Written from the daemon's settings table: every setting is listed "
        "with its\n"
        "# meaning, type and default, commented out.  Remove the leading ';' "
        "to set one.\n"
        "# Precedence, lowest first: default, this file, the environment "
        "(SOULSPOT_*),\n"
        "# command-line flags.  Settings marked \"also on the settings "
        "page\" can be\n"
        "# changed while running; a value saved there wins over this file.\n",
        out);
  /* Sections in order of first appearance, their keys in table order. */
  for (int i = 0; i < S__COUNT; i++) {
    const char *key = settings_defs[i].key;
    bool seen = false;
    for (int j = 0; j < i && !seen; j++)
      seen = same_section(settings_defs[j].key, key);
    if (seen)
      continue;
    fprintf(out, "\n[%.*s]\n", (int)section_len(key), key);
    for (int j = i; j < S__COUNT; j++)
      if (same_section(settings_defs[j].key, key))
        ini_setting(out, (enum setting_id)j,
                    override_of(overrides, settings_defs[j].key));
  }
  return ferror(out) ? SS_EIO : SS_OK;
}

/* ---- man page ---- */

/* Text for roff: backslashes escaped, minus signs as \-, and a line that
 * would start with '.' or '\'' protected by \&.  With breaks, a line may
 * also break after ',', '/' and '|' (long defaults, choices, paths). */
static void roff_text(FILE *out, const char *s, bool breaks)
{
  if (*s == '.' || *s == '\'')
    fputs("\\&", out);
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\e", out);
    else if (*s == '-')
      fputs("\\-", out);
    else if (*s == '\n' && (s[1] == '.' || s[1] == '\''))
      fputs("\n\\&", out);
    else
      fputc(*s, out);
    if (breaks && (*s == ',' || *s == '/' || *s == '|'))
      fputs("\\:", out);
  }
}

static void roff(FILE *out, const char *s) { roff_text(out, s, false); }

static void man_options(FILE *out)
{
  fputs(".SH OPTIONS\n", out);
  for (int i = 0; i < CLI__COUNT; i++) {
    const struct cli_option *o = &cli_options[i];
    fputs(o->arg ? ".TP\n.BI \"\\-\\-" : ".TP\n.B \\-\\-", out);
    roff(out, o->name);
    if (o->arg) {
      fputs(" \" ", out);
      roff(out, o->arg);
    }
    fputc('\n', out);
    roff(out, o->help);
    fputs(".\n", out);
  }
}

static void man_settings(FILE *out)
{
  fputs(".SH SETTINGS\n"
        "Every setting has a key\n.IR section . name ,\n"
        "set in the INI file given with\n.B \\-\\-config\n"
        "(under\n.BI [ section ]\nas\n.IB name \" = \" value\\fR),\n"
        "or in the environment variable shown.\n"
        "Precedence, lowest first: default, INI file, environment, "
        "command\\-line flags.\n"
        "Settings marked\n.I runtime\n"
        "can also be changed while running, on the settings page or with\n"
        ".BR \"PATCH /api/settings\" ;\n"
        "a value saved there is stored in the database and wins over the "
        "file.\n"
        ".I Secret\nvalues are never logged, shown or returned.\n",
        out);
  for (int i = 0; i < S__COUNT; i++) {
    const struct setting_def *d = &settings_defs[i];
    char type[SETTINGS_MSG_MAX], env[SETTINGS_KEY_MAX];
    settings__describe_type(d, type, sizeof type);
    settings__env_name((enum setting_id)i, env, sizeof env);
    fputs(".TP\n.B ", out);
    roff(out, d->key);
    fputs("\n", out);
    roff(out, d->help);
    fputs(".\n.br\nType: ", out);
    roff_text(out, type, true);
    fputs(d->flags & SF_RUNTIME ? ", runtime" : "", out);
    fputs(d->flags & SF_SECRET ? ", secret" : "", out);
    fputs(". Default: ", out);
    if (d->def[0]) {
      fputs("\\fB", out);
      roff_text(out, d->def, true);
      fputs("\\fR.\n", out);
    } else {
      fputs("empty.\n", out);
    }
    fputs(".br\nEnvironment: \\fB", out);
    roff(out, env);
    fputs("\\fR.\n", out);
  }
}

void settings_write_man(FILE *out, const char *version)
{
  fputs(".\\\" soulspotd.8 - written by tools/gen_docs from the settings "
        "table; do not edit.\n",
        out);
  fputs(".TH SOULSPOTD 8 \"\" \"soulspotd ", out);
  roff(out, version);
  fputs("\" \"System Administration\"\n"
        ".SH NAME\n"
        "soulspotd \\- self\\-hosted music automation daemon "
        "(Spotify, slskd, local library)\n"
        ".SH SYNOPSIS\n"
        ".B soulspotd\n"
        ".RI [ OPTIONS ]\n"
        ".SH DESCRIPTION\n"
        ".B soulspotd\n"
        "keeps a Spotify login fresh, mirrors the Spotify library, searches "
        "and follows downloads in slskd, imports them into a local music "
        "library, automates new and missing releases and quality upgrades, "
        "cleans orphaned temporary files and finds duplicates.\n"
        "It serves a web interface and a JSON API on\n"
        ".B http://127.0.0.1:8765\n"
        "by default and keeps everything in one SQLite database in the data "
        "folder.\n"
        ".PP\n"
        "Requests from this machine need no login; any other address needs "
        "a password, set with\n"
        ".BR \"soulspotd \\-\\-set\\-password\" ,\n"
        "or an API key (settings page, Security tab).\n",
        out);
  man_options(out);
  man_settings(out);
  fputs(".SH FILES\n"
        ".TP\n.I /etc/soulspotd/soulspotd.ini\n"
        "The settings file of the packaged service: every setting with its "
        "default, commented out.\n"
        ".TP\n.IR DATA_DIR /soulspotd.db\n"
        "The database (SQLite, with its\n.I \\-wal\nand\n.I \\-shm\n"
        "files), mode 0600: settings saved while running, the Spotify "
        "login, the API key and password hash, the library index, "
        "downloads and worker history.\n"
        ".TP\n.IR DATA_DIR /soulspotd.port\n"
        "The port the server listens on, written once it listens "
        "(useful with port 0).\n"
        ".TP\n.IR DATA_DIR /quarantine/\n"
        "Resolved duplicates, unless\n.B library.quarantine_path\n"
        "says otherwise.\n"
        ".TP\n.I /var/lib/soulspotd\n"
        "The data folder of the packaged service.\n"
        ".TP\n.I /usr/lib/systemd/system/soulspotd.service\n"
        "The systemd unit: Type=notify with a watchdog, and a sandbox that "
        "may write only the data folder; add the library and download "
        "folders with\n"
        ".BR \"systemctl edit soulspotd\" \" (ReadWritePaths=).\"\n"
        ".SH ENVIRONMENT\n"
        ".TP\n.B SOULSPOT_\\fIKEY\\fP\n"
        "Any setting, by its key in upper case with dots as underscores "
        "(see SETTINGS).\n"
        ".TP\n.B NOTIFY_SOCKET\n"
        "Set by systemd for Type=notify services: soulspotd reports\n"
        ".B READY=1\n"
        "once it listens,\n.B STATUS=\n"
        "lines with the state of its workers, and\n.B STOPPING=1\n"
        "when it stops.  Unset: nothing is sent.\n"
        ".TP\n.B WATCHDOG_USEC\n"
        "Set by systemd from WatchdogSec=: soulspotd sends\n.B WATCHDOG=1\n"
        "every half period, but only while every worker thread's heartbeat "
        "is fresh, so a hung worker gets the service restarted.\n"
        ".SH SIGNALS\n"
        ".TP\n.BR SIGTERM \", \" SIGINT\n"
        "Stop: the server stops accepting requests, then the service prober "
        "and every worker stop at a safe point, then the database is "
        "closed; exit status 0.\n"
        ".TP\n.B SIGPIPE\n"
        "Ignored.\n"
        ".SH EXIT STATUS\n"
        ".TP\n.B 0\nClean stop, or\n.BR \\-\\-help / \\-\\-version .\n"
        ".TP\n.B 1\n"
        "Runtime failure: cannot listen, cannot open the database, cannot "
        "start the workers.\n"
        ".TP\n.B 2\n"
        "Bad usage: an unknown flag, a bad config file or value, a "
        "non\\-loopback address without a password, a password that breaks "
        "a rule.\n"
        ".SH SEE ALSO\n"
        ".BR systemd.service (5),\n"
        ".BR systemd.exec (5),\n"
        ".BR sd_notify (3)\n",
        out);
}
