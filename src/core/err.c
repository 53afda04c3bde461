#include "core/err.h"

const char *ss_strerror(enum ss_err err)
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
  case SS_ETIMEDOUT: return "timed out";
  default: return "unknown error";
  }
}

const char *ss_reason_name(enum ss_reason r)
{
  switch (r) {
  case SS_R_AUTH: return "auth";
  case SS_R_CONNECTION: return "connection";
  case SS_R_TIMEOUT: return "timeout";
  case SS_R_RATE_LIMITED: return "rate_limited";
  case SS_R_NOT_CONFIGURED: return "not_configured";
  case SS_R_PROTOCOL: return "protocol";
  case SS_R_DISK: return "disk";
  case SS_R_INTERNAL: return "internal";
  default: return "";
  }
}

enum ss_reason ss_reason_of(enum ss_err err)
{
  switch (err) {
  case SS_OK: return SS_R_NONE;
  case SS_ENET: return SS_R_CONNECTION;
  case SS_ETIMEDOUT: return SS_R_TIMEOUT;
  case SS_EBUSY: return SS_R_RATE_LIMITED;
  case SS_EPROTO:
  case SS_ETOOBIG: return SS_R_PROTOCOL;
  case SS_EIO: return SS_R_DISK;
  case SS_ESTATE: return SS_R_AUTH;
  default: return SS_R_INTERNAL;
  }
}
