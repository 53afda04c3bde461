/*
 * fuzz_slskd_search.c - libFuzzer target: slskd's search, enqueue and
 * application replies (slskd_responses_parse, slskd_search_parse,
 * slskd_enqueue_parse, slskd_app_parse in src/clients/slskd.c).
 *
 * The first byte picks the parser, the rest is the reply body.  Checks:
 * an error leaves a message; parsed files have a lower-case extension of
 * at most 15 bytes and no negative sizes are invented.
 */
#include <ctype.h>
#include <string.h>

#include "clients/slskd.h"
#include "core/err.h"
#include "fuzz.h"

static void responses(const char *body, size_t len)
{
  struct slskd_responses r;
  char err[SLSKD_ERROR_MAX] = "";
  if (slskd_responses_parse(body, len, &r, err, sizeof err) != SS_OK) {
    FUZZ_CHECK(err[0]);
  } else {
    for (size_t i = 0; i < r.n; i++) {
      FUZZ_CHECK(r.v[i].username != NULL);
      for (size_t k = 0; k < r.v[i].n_files; k++) {
        const struct slskd_file *f = &r.v[i].files[k];
        FUZZ_CHECK(f->filename && strlen(f->ext) < sizeof f->ext);
        for (const char *p = f->ext; *p; p++)
          FUZZ_CHECK(!isupper((unsigned char)*p));
      }
    }
  }
  slskd_responses_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!size)
    return 0;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  char err[SLSKD_ERROR_MAX] = "";
  switch (data[0] % 4) {
  case 0: responses(body, len); break;
  case 1: {
    struct slskd_search s;
    if (slskd_search_parse(body, len, &s, err, sizeof err) != SS_OK)
      FUZZ_CHECK(err[0]);
    else
      FUZZ_CHECK(strlen(s.id) < SLSKD_ID_MAX);
    break;
  }
  case 2: {
    struct slskd_enqueue_reply r;
    if (slskd_enqueue_parse(body, len, &r, err, sizeof err) != SS_OK)
      FUZZ_CHECK(err[0]);
    else
      for (size_t i = 0; i < r.n_enqueued; i++)
        FUZZ_CHECK(r.enqueued[i].filename != NULL);
    slskd_enqueue_reply_free(&r);
    break;
  }
  default: {
    struct slskd_app a;
    if (slskd_app_parse(body, len, &a, err, sizeof err) != SS_OK)
      FUZZ_CHECK(err[0]);
    else
      FUZZ_CHECK(strlen(a.version) < sizeof a.version);
    break;
  }
  }
  return 0;
}
