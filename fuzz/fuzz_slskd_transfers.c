/*
 * fuzz_slskd_transfers.c - libFuzzer target: slskd's transfer list reply
 * (slskd_transfers_parse in src/clients/slskd.c, GET
 * /api/v0/transfers/downloads), with its flag strings, timestamps with and
 * without 'Z' and TimeSpans.
 *
 * All or nothing: on an error the list is empty and the message is set;
 * on success every transfer has its strings and a phase.
 */
#include <string.h>

#include "clients/slskd.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct slskd_transfers t;
  char err[SLSKD_ERROR_MAX] = "";
  int rc = slskd_transfers_parse((const char *)data, size, &t, err,
                                 sizeof err);
  if (rc != SS_OK) {
    FUZZ_CHECK(t.n == 0 && err[0]);
  } else {
    for (size_t i = 0; i < t.n; i++) {
      const struct slskd_transfer *x = &t.v[i];
      FUZZ_CHECK(x->username && x->filename && x->state_text);
      FUZZ_CHECK(strlen(x->id) < SLSKD_ID_MAX);
      enum slskd_phase ph = slskd_phase_of(x->state);
      FUZZ_CHECK(ph >= SLSKD_PHASE_QUEUED && ph <= SLSKD_PHASE_FAILED);
      FUZZ_CHECK(slskd_failure_text(x->state) != NULL);
      char dir[64], base[64];
      fs_split_peer_path(x->filename, dir, sizeof dir, base, sizeof base);
      FUZZ_CHECK(!strchr(dir, '/') && !strchr(dir, '\\'));
      FUZZ_CHECK(!strchr(base, '/') && !strchr(base, '\\'));
    }
  }
  slskd_transfers_free(&t);
  return 0;
}
