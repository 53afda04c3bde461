#include "core/err.h"

const char *ss_strerror(int err)
{
  switch (err) {
  case SS_OK: return "ok";
  case SS_EINVAL: return "invalid input";
  case SS_ETOOBIG: return "too large";
  case SS_ENOTFOUND: return "not found";
  case SS_EIO: return "i/o error";
  case SS_EDB: return "database error";
  case SS_ENET: return "network error";
  case SS_EBUSY: return "busy";
  case SS_ESTATE: return "not allowed in this state";
  case SS_ECANCELED: return "canceled";
  case SS_EPROTO: return "malformed reply";
  case SS_EKILLED: return "helper process failed";
  default: return "unknown error";
  }
}
